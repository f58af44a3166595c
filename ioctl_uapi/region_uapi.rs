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

/// Bytes of a name field: 1-63 name bytes without `/` or NUL, then NUL padding.
pub const REGION_NAME_MAX: usize = 64;

/// Extents one region can have.
pub const REGION_MAX_EXTENTS: usize = 12;

/// `region_open_args.flags`: open for reading and writing.
pub const REGION_OPEN_WRITE: u32 = 0x1;

/// All-zero values of the structures that hold a name field (`[u8; 64]` has no `Default`).
macro_rules! zero_default {
    ($($t:ty),*) => {$(
        impl Default for $t {
            fn default() -> Self {
                // SAFETY: a `repr(C)` structure of integers and arrays of integers: all zeros is a
                // valid value.
                unsafe { core::mem::zeroed() }
            }
        }
    )*};
}

zero_default!(
    RegionCreateArgs,
    RegionOpenArgs,
    RegionNameArgs,
    RegionStat,
    RegionResizeArgs,
    RegionLayout
);

/// `struct region_create_args`: a new region, all zeros.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionCreateArgs {
    /// In: the name.
    pub name: [u8; REGION_NAME_MAX],
    /// In: bytes, rounded up to pages.
    pub size: u64,
    /// In: permission bits.
    pub mode: u32,
    /// In: 0.
    pub flags: u32,
    /// Zero.
    pub reserved: [u64; 4],
}

/// `struct region_open_args`: a file descriptor for a region.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionOpenArgs {
    /// In: the name.
    pub name: [u8; REGION_NAME_MAX],
    /// In: `REGION_OPEN_WRITE` or 0.
    pub flags: u32,
    /// Zero.
    pub reserved32: u32,
    /// Zero.
    pub reserved: [u64; 3],
}

/// `struct region_name_args`: the region to delete.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionNameArgs {
    /// In: the name.
    pub name: [u8; REGION_NAME_MAX],
    /// Zero.
    pub reserved: [u64; 2],
}

/// `flags` of [`RegionStat`]: a media error (poisoned memory, a bad block) damaged the region; it
/// cannot be opened, only deleted.
pub const REGION_STAT_DAMAGED: u32 = 1;

/// `struct region_stat`: one region.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionStat {
    /// The name.
    pub name: [u8; REGION_NAME_MAX],
    /// Bytes.
    pub size: u64,
    /// The epoch stores go to.
    pub epoch: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Permission bits.
    pub mode: u32,
    /// Region table entry.
    pub index: u32,
    /// Extents in use.
    pub nr_extents: u32,
    /// File descriptors open on it.
    pub open_files: u32,
    /// Out: `REGION_STAT_DAMAGED` when a media error damaged the region.
    pub flags: u32,
    /// Zero.
    pub reserved32: u32,
    /// Zero.
    pub reserved: [u64; 3],
}

/// `struct region_list_args`: every region.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionListArgs {
    /// In: user address of an array of `RegionStat`.
    pub entries: u64,
    /// In: elements of that array.
    pub capacity: u32,
    /// Out: regions that exist.
    pub count: u32,
    /// Zero.
    pub reserved: [u64; 2],
}

/// `struct region_resize_args`: a new size for a region.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionResizeArgs {
    /// In: the name.
    pub name: [u8; REGION_NAME_MAX],
    /// In: bytes, rounded up to pages.
    pub size: u64,
    /// Zero.
    pub reserved: [u64; 3],
}

/// `struct region_extent`: a run of device pages.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionExtent {
    /// First device page.
    pub start: u64,
    /// Pages.
    pub pages: u64,
}

/// `struct region_layout`: the on-PM layout of the device and of one region.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionLayout {
    /// In: a region's name, or empty for the device only.
    pub name: [u8; REGION_NAME_MAX],
    /// Out: pages of the device as formatted.
    pub device_pages: u64,
    /// Out: first page of the region table.
    pub table_start: u64,
    /// Out: pages of the region table.
    pub table_pages: u64,
    /// Out: first page of the undo headers.
    pub undo_header_start: u64,
    /// Out: pages of undo headers.
    pub undo_header_pages: u64,
    /// Out: first undo data page.
    pub undo_data_start: u64,
    /// Out: first page of the data area.
    pub data_start: u64,
    /// Out: pages of the data area.
    pub data_pages: u64,
    /// Out: free pages of the data area.
    pub free_pages: u64,
    /// Out: region table entries.
    pub table_entries: u32,
    /// Out: undo slots.
    pub undo_slots: u32,
    /// Out: regions that exist.
    pub regions: u32,
    /// Out: extents of the named region.
    pub nr_extents: u32,
    /// Out: the named region's extents.
    pub extents: [RegionExtent; REGION_MAX_EXTENTS],
    /// Out: undo slots the regions of one owner may hold at once.
    pub undo_share: u32,
    /// Zero.
    pub reserved32: u32,
    /// Zero.
    pub reserved: [u64; 3],
}

/// `struct region_counters`: totals since attach.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionCounters {
    /// Cache lines written back to PM.
    pub lines_written_back: u64,
    /// Store fences.
    pub fences: u64,
    /// Regions created.
    pub regions_created: u64,
    /// Regions deleted.
    pub regions_deleted: u64,
    /// Page faults on region mappings.
    pub faults: u64,
    /// PMSYNCs that committed an epoch.
    pub pmsyncs: u64,
    /// Dirty region pages written back by PMSYNC.
    pub pages_written_back: u64,
    /// Pages saved to undo slots by first writes.
    pub undo_pages: u64,
    /// Unmap calls of PMSYNC, each a TLB shootdown round.
    pub unmap_rounds: u64,
    /// Mappings (in all processes) whose page table entries PMSYNC removed: only those that
    /// took a writable mapping of a page in the epoch.
    pub mappings_unmapped: u64,
    /// `REGION_IOC_WRITE` calls that wrote.
    pub logged_writes: u64,
    /// Committed lines saved to line records by `REGION_IOC_WRITE`.
    pub lines_logged: u64,
    /// Cache lines written to PM with non-temporal stores.
    pub lines_nt: u64,
    /// Zero.
    pub reserved: [u64; 3],
}

/// `struct region_write_range`: one range of `REGION_IOC_WRITE`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionWriteRange {
    /// Where in the region the bytes go.
    pub offset: u64,
    /// User address of the new bytes.
    pub addr: u64,
    /// Bytes.
    pub len: u64,
}

/// Most ranges of one `REGION_IOC_WRITE`.
pub const REGION_WRITE_MAX_RANGES: u32 = 256;
/// Most bytes, over all ranges, of one `REGION_IOC_WRITE`.
pub const REGION_WRITE_MAX_BYTES: u64 = 1 << 20;
/// `REGION_IOC_WRITE` flag: commit the region after the bytes are written.
pub const REGION_WRITE_COMMIT: u32 = 0x1;

/// `struct region_write_args`: `REGION_IOC_WRITE`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionWriteArgs {
    /// In: user address of `count` [`RegionWriteRange`]s.
    pub ranges: u64,
    /// In: 1 ..= [`REGION_WRITE_MAX_RANGES`].
    pub count: u32,
    /// In: 0 or [`REGION_WRITE_COMMIT`].
    pub flags: u32,
    /// Out: the epoch committed (with [`REGION_WRITE_COMMIT`]) or the epoch the bytes belong to.
    pub epoch: u64,
    /// Zero.
    pub reserved: [u64; 2],
}

/// The mmap offset of a region's volatile page (DRAM shared by the region's openers, never on
/// PM; zero when the region is first opened).
pub const REGION_VOLATILE_OFFSET: u64 = 1 << 52;
/// Bytes of the volatile page.
pub const REGION_VOLATILE_SIZE: usize = 4096;

/// `struct region_format_args`: erase every region, write a new empty layout.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionFormatArgs {
    /// In: 0.
    pub flags: u32,
    /// Zero.
    pub reserved32: u32,
    /// Zero.
    pub reserved: [u64; 3],
}

/// Creates a region.
pub const REGION_IOC_CREATE: u32 = ioc::iow::<RegionCreateArgs>(REGION_IOC_MAGIC, 0x01);
/// Opens a region; returns a file descriptor.
pub const REGION_IOC_OPEN: u32 = ioc::iow::<RegionOpenArgs>(REGION_IOC_MAGIC, 0x02);
/// Deletes a region.
pub const REGION_IOC_DELETE: u32 = ioc::iow::<RegionNameArgs>(REGION_IOC_MAGIC, 0x03);
/// Describes a region by name.
pub const REGION_IOC_STAT: u32 = ioc::iowr::<RegionStat>(REGION_IOC_MAGIC, 0x04);
/// Lists every region.
pub const REGION_IOC_LIST: u32 = ioc::iowr::<RegionListArgs>(REGION_IOC_MAGIC, 0x05);
/// Resizes a region.
pub const REGION_IOC_RESIZE: u32 = ioc::iow::<RegionResizeArgs>(REGION_IOC_MAGIC, 0x06);
/// The on-PM layout of the device and of a region.
pub const REGION_IOC_LAYOUT: u32 = ioc::iowr::<RegionLayout>(REGION_IOC_MAGIC, 0x07);
/// The device's counters.
pub const REGION_IOC_COUNTERS: u32 = ioc::ior::<RegionCounters>(REGION_IOC_MAGIC, 0x08);
/// Erases every region and writes a new, empty layout.
pub const REGION_IOC_FORMAT: u32 = ioc::iow::<RegionFormatArgs>(REGION_IOC_MAGIC, 0x0a);
/// PMSYNC of every region the calling process has open; writes how many.
pub const REGION_IOC_PMSYNC_ALL: u32 = ioc::ior::<u64>(REGION_IOC_MAGIC, 0x09);
/// Describes the region a file descriptor is open on.
pub const REGION_IOC_FSTAT: u32 = ioc::ior::<RegionStat>(REGION_IOC_MAGIC, 0x10);
/// Makes every store to the region durable atomically; writes the committed epoch (see region.h).
pub const REGION_IOC_PMSYNC: u32 = ioc::ior::<u64>(REGION_IOC_MAGIC, 0x11);
/// Writes bytes through the kernel, logged line by line, optionally committing (see region.h).
pub const REGION_IOC_WRITE: u32 = ioc::iowr::<RegionWriteArgs>(REGION_IOC_MAGIC, 0x12);

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
