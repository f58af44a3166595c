//! The ioctls, through rustix. Every structure and number comes from `region-uapi`, the Rust
//! mirror of `region.h` that a host test checks against the header.

use region_uapi as uapi;
use rustix::fd::{AsFd, FromRawFd, OwnedFd};
use rustix::io::Result;
use rustix::ioctl::{ioctl, Getter, Ioctl, IoctlOutput, Opcode, Setter, Updater};
use std::ffi::c_void;

/// `REGION_IOC_OPEN`, whose result is the new file descriptor.
struct OpenRegion(uapi::RegionOpenArgs);

// SAFETY: the opcode is REGION_IOC_OPEN, which reads a `RegionOpenArgs` through the pointer and
// returns a new file descriptor, which `output_from_ptr` takes ownership of.
unsafe impl Ioctl for OpenRegion {
    type Output = OwnedFd;
    const IS_MUTATING: bool = false;

    fn opcode(&self) -> Opcode {
        uapi::REGION_IOC_OPEN as Opcode
    }

    fn as_ptr(&mut self) -> *mut c_void {
        (&raw mut self.0).cast()
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> Result<OwnedFd> {
        // SAFETY: on success the ioctl's result is a new descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(out) })
    }
}

pub(crate) fn device_info(fd: impl AsFd) -> Result<uapi::RegionDeviceInfo> {
    let mut info = uapi::RegionDeviceInfo::default();
    // SAFETY: REGION_IOC_DEVICE_INFO reads and writes one `RegionDeviceInfo`.
    unsafe {
        ioctl(
            fd,
            Updater::<{ uapi::REGION_IOC_DEVICE_INFO as Opcode }, _>::new(&mut info),
        )?
    };
    Ok(info)
}

pub(crate) fn create(fd: impl AsFd, args: uapi::RegionCreateArgs) -> Result<()> {
    // SAFETY: REGION_IOC_CREATE reads one `RegionCreateArgs`.
    unsafe {
        ioctl(
            fd,
            Setter::<{ uapi::REGION_IOC_CREATE as Opcode }, _>::new(args),
        )
    }
}

pub(crate) fn open(fd: impl AsFd, args: uapi::RegionOpenArgs) -> Result<OwnedFd> {
    // SAFETY: see `OpenRegion`.
    unsafe { ioctl(fd, OpenRegion(args)) }
}

pub(crate) fn delete(fd: impl AsFd, args: uapi::RegionNameArgs) -> Result<()> {
    // SAFETY: REGION_IOC_DELETE reads one `RegionNameArgs`.
    unsafe {
        ioctl(
            fd,
            Setter::<{ uapi::REGION_IOC_DELETE as Opcode }, _>::new(args),
        )
    }
}

pub(crate) fn stat(fd: impl AsFd, mut stat: uapi::RegionStat) -> Result<uapi::RegionStat> {
    // SAFETY: REGION_IOC_STAT reads and writes one `RegionStat`.
    unsafe {
        ioctl(
            fd,
            Updater::<{ uapi::REGION_IOC_STAT as Opcode }, _>::new(&mut stat),
        )?
    };
    Ok(stat)
}

pub(crate) fn fstat(fd: impl AsFd) -> Result<uapi::RegionStat> {
    // SAFETY: REGION_IOC_FSTAT writes one `RegionStat`.
    unsafe {
        ioctl(
            fd,
            Getter::<{ uapi::REGION_IOC_FSTAT as Opcode }, uapi::RegionStat>::new(),
        )
    }
}

pub(crate) fn resize(fd: impl AsFd, args: uapi::RegionResizeArgs) -> Result<()> {
    // SAFETY: REGION_IOC_RESIZE reads one `RegionResizeArgs`.
    unsafe {
        ioctl(
            fd,
            Setter::<{ uapi::REGION_IOC_RESIZE as Opcode }, _>::new(args),
        )
    }
}

/// Fills `entries`; returns how many regions exist (possibly more than fit).
pub(crate) fn list(fd: impl AsFd, entries: &mut [uapi::RegionStat]) -> Result<u32> {
    let mut args = uapi::RegionListArgs {
        entries: entries.as_mut_ptr() as u64,
        capacity: entries.len() as u32,
        count: 0,
        reserved: [0; 2],
    };
    // SAFETY: REGION_IOC_LIST reads and writes one `RegionListArgs`, and writes at most
    // `capacity` `RegionStat`s at `entries`, which points at that many.
    unsafe {
        ioctl(
            fd,
            Updater::<{ uapi::REGION_IOC_LIST as Opcode }, _>::new(&mut args),
        )?
    };
    Ok(args.count)
}

pub(crate) fn layout(
    fd: impl AsFd,
    name: [u8; uapi::REGION_NAME_MAX],
) -> Result<uapi::RegionLayout> {
    let mut l = uapi::RegionLayout {
        name,
        ..uapi::RegionLayout::default()
    };
    // SAFETY: REGION_IOC_LAYOUT reads and writes one `RegionLayout`.
    unsafe {
        ioctl(
            fd,
            Updater::<{ uapi::REGION_IOC_LAYOUT as Opcode }, _>::new(&mut l),
        )?
    };
    Ok(l)
}

pub(crate) fn counters(fd: impl AsFd) -> Result<uapi::RegionCounters> {
    // SAFETY: REGION_IOC_COUNTERS writes one `RegionCounters`.
    unsafe {
        ioctl(
            fd,
            Getter::<{ uapi::REGION_IOC_COUNTERS as Opcode }, uapi::RegionCounters>::new(),
        )
    }
}

pub(crate) fn pmsync(fd: impl AsFd) -> Result<u64> {
    // SAFETY: REGION_IOC_PMSYNC writes one `u64`.
    unsafe {
        ioctl(
            fd,
            Getter::<{ uapi::REGION_IOC_PMSYNC as Opcode }, u64>::new(),
        )
    }
}

/// `REGION_IOC_WRITE` of `ranges` with `flags`; returns the epoch the kernel reports.
///
/// # Safety
///
/// Every range's `addr` must point to `len` bytes readable for the whole call (the kernel copies
/// them in); the kernel only reads them.
pub(crate) unsafe fn write(
    fd: impl AsFd,
    ranges: &[uapi::RegionWriteRange],
    flags: u32,
) -> Result<u64> {
    let count = u32::try_from(ranges.len()).map_err(|_| rustix::io::Errno::TOOBIG)?;
    let mut args = uapi::RegionWriteArgs {
        ranges: ranges.as_ptr() as u64,
        count,
        flags,
        epoch: 0,
        reserved: [0; 2],
    };
    // SAFETY: REGION_IOC_WRITE reads and writes one `RegionWriteArgs`, reads `count` ranges at
    // `ranges` (which points at that many) and the bytes each names (readable, by the caller's
    // promise); it writes nothing else of this process.
    unsafe {
        ioctl(
            fd,
            Updater::<{ uapi::REGION_IOC_WRITE as Opcode }, _>::new(&mut args),
        )?
    };
    Ok(args.epoch)
}

pub(crate) fn pmsync_all(fd: impl AsFd) -> Result<u64> {
    // SAFETY: REGION_IOC_PMSYNC_ALL writes one `u64`.
    unsafe {
        ioctl(
            fd,
            Getter::<{ uapi::REGION_IOC_PMSYNC_ALL as Opcode }, u64>::new(),
        )
    }
}

pub(crate) fn format(fd: impl AsFd) -> Result<()> {
    // SAFETY: REGION_IOC_FORMAT reads one `RegionFormatArgs`.
    unsafe {
        ioctl(
            fd,
            Setter::<{ uapi::REGION_IOC_FORMAT as Opcode }, _>::new(
                uapi::RegionFormatArgs::default(),
            ),
        )
    }
}
