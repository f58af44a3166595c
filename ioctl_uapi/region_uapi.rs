// SPDX-License-Identifier: GPL-2.0

//! The user ABI of the Region System: the Rust mirror of `region.h`.
//!
//! Plain `core` Rust with no kernel dependency: the module includes this file through `#[path]`,
//! user-space crates through the `region-uapi` crate. The host test `abi_matches_header` compiles
//! `region.h` with a C compiler and fails if any size, field offset or ioctl number differs from
//! what is written here. Field meanings are documented once, in `region.h`.

/// The ioctl type byte of the Region System.
pub const REGION_IOC_MAGIC: u32 = 0xBE;

/// The ABI version this file describes.
pub const REGION_ABI_VERSION: u32 = 1;

/// The path of the control device.
pub const REGION_DEVICE_PATH: &str = "/dev/region";

/// `struct region_device_info`: what the module is attached to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionDeviceInfo {
    /// In: must be 0.
    pub flags: u32,
    /// Out: `REGION_ABI_VERSION` of the running module.
    pub abi_version: u32,
    /// Out: usable bytes of the persistent memory device.
    pub device_size: u64,
    /// Out: the granule of mappings and dirty tracking, in bytes.
    pub page_size: u32,
    /// Out: zero.
    pub reserved32: u32,
    /// Out: zero.
    pub reserved: [u64; 5],
}

/// Reports the ABI version and the device's geometry.
pub const REGION_IOC_DEVICE_INFO: u32 = ioc::iowr::<RegionDeviceInfo>(REGION_IOC_MAGIC, 0x00);

/// The ioctl number encoding of `<asm-generic/ioctl.h>` (x86, arm64, riscv: 2 direction bits,
/// 14 size bits, 8 type bits, 8 number bits).
pub mod ioc {
    const NRBITS: u32 = 8;
    const TYPEBITS: u32 = 8;
    const SIZEBITS: u32 = 14;
    const NRSHIFT: u32 = 0;
    const TYPESHIFT: u32 = NRSHIFT + NRBITS;
    const SIZESHIFT: u32 = TYPESHIFT + TYPEBITS;
    const DIRSHIFT: u32 = SIZESHIFT + SIZEBITS;
    const WRITE: u32 = 1;
    const READ: u32 = 2;

    /// `_IOC(dir, type, nr, size)`; a size that does not fit the 14-bit field fails to compile.
    pub const fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
        assert!(size < (1 << SIZEBITS));
        (dir << DIRSHIFT) | (ty << TYPESHIFT) | (nr << NRSHIFT) | ((size as u32) << SIZESHIFT)
    }

    /// `_IO(type, nr)`.
    pub const fn io(ty: u32, nr: u32) -> u32 {
        ioc(0, ty, nr, 0)
    }

    /// `_IOR(type, nr, T)`.
    pub const fn ior<T>(ty: u32, nr: u32) -> u32 {
        ioc(READ, ty, nr, core::mem::size_of::<T>())
    }

    /// `_IOW(type, nr, T)`.
    pub const fn iow<T>(ty: u32, nr: u32) -> u32 {
        ioc(WRITE, ty, nr, core::mem::size_of::<T>())
    }

    /// `_IOWR(type, nr, T)`.
    pub const fn iowr<T>(ty: u32, nr: u32) -> u32 {
        ioc(READ | WRITE, ty, nr, core::mem::size_of::<T>())
    }
}
