//! The Region System from Rust: named persistent memory regions that any number of processes
//! map and use with plain loads and stores, made durable atomically by [`Region::pmsync`].
//!
//! ```no_run
//! use region::{Access, Device};
//!
//! let dev = Device::open()?;
//! dev.create("orders", 1 << 20, 0o600)?;
//! let region = dev.open_region("orders", Access::ReadWrite)?;
//! let map = region.map()?;
//! map.write(0, b"hello")?; // a copy into persistent memory
//! let epoch = region.pmsync()?; // durable now, all or nothing
//! println!("committed epoch {epoch}");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Other processes may store to a mapped region at any instant, so a [`Mapping`] hands out no
//! `&[u8]` or `&mut [u8]` (their promises would be false: undefined behaviour). It copies bytes
//! in and out ([`Mapping::read`], [`Mapping::write`]) and gives 8-byte atomics
//! ([`Mapping::atomic_u64`]) for locks and counters kept in the region; every access is an
//! aligned 8-byte atomic one, so a copy that races with another process's stores gives
//! unspecified bytes, never undefined behaviour. The [`Mapping`] documentation says why.
//!
//! Small updates need no mapping at all: [`Region::write`] hands the kernel a list of ranges
//! that it writes into the region, logging each touched line's committed contents first, and
//! optionally commits, all in one system call, without a page fault or a TLB shootdown. Lock
//! words and counters that must never be committed go in the region's volatile page
//! ([`Region::map_volatile`]): DRAM shared by every process that has the region open.
//!
//! Errors are [`std::io::Error`]s of the errno's kind whose message names the region
//! ("region 'orders': Permission denied (os error 13)"); [`errno`] gives the kernel's errno.
//! The module's semantics (what each errno means, the PMSYNC guarantee) are in the README and in
//! `region.h`.

mod error;
mod ioctl;
mod mapping;
pub mod size;

pub use error::{errno, RegionError};
pub use mapping::Mapping;
pub use region_uapi::{RegionCounters, RegionLayout, RegionStat};

/// The most ranges one [`Region::write`] takes (more: `E2BIG`).
pub const WRITE_MAX_RANGES: usize = uapi::REGION_WRITE_MAX_RANGES as usize;
/// The most bytes, over all its ranges, one [`Region::write`] takes (more: `E2BIG`).
pub const WRITE_MAX_BYTES: usize = uapi::REGION_WRITE_MAX_BYTES as usize;
/// Bytes of a region's volatile page ([`Region::map_volatile`]).
pub const VOLATILE_SIZE: usize = uapi::REGION_VOLATILE_SIZE;

use region_uapi as uapi;
use rustix::fd::OwnedFd;
use rustix::fs::{open, Mode, OFlags};
use std::io;

/// The control device, `/dev/region`.
#[derive(Debug)]
pub struct Device {
    fd: OwnedFd,
}

/// How a region is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read only: maps `PROT_READ`.
    ReadOnly,
    /// Read and write: needs write permission on the region.
    ReadWrite,
}

/// A file descriptor open on one region.
#[derive(Debug)]
pub struct Region {
    fd: OwnedFd,
    name: String,
    size: u64,
    access: Access,
}

/// A region's name as the ABI carries it: 1-63 bytes, NUL padded.
fn name_field(name: &str) -> io::Result<[u8; uapi::REGION_NAME_MAX]> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.contains(&b'/') || bytes.contains(&0) {
        return Err(RegionError::new(
            name,
            io::Error::from_raw_os_error(rustix::io::Errno::INVAL.raw_os_error()),
        )
        .into());
    }
    if bytes.len() >= uapi::REGION_NAME_MAX {
        return Err(RegionError::new(
            name,
            io::Error::from_raw_os_error(rustix::io::Errno::NAMETOOLONG.raw_os_error()),
        )
        .into());
    }
    let mut field = [0u8; uapi::REGION_NAME_MAX];
    field[..bytes.len()].copy_from_slice(bytes);
    Ok(field)
}

/// The name in a name field, up to its first NUL.
fn name_of(field: &[u8; uapi::REGION_NAME_MAX]) -> String {
    let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..len]).into_owned()
}

impl Device {
    /// Opens `/dev/region`.
    pub fn open() -> io::Result<Self> {
        Self::open_path(uapi::REGION_DEVICE_PATH)
    }

    /// Opens the control device at `path`.
    pub fn open_path(path: &str) -> io::Result<Self> {
        let fd = open(path, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).map_err(|e| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!("{path}: {}", io::Error::from(e)),
            )
        })?;
        Ok(Self { fd })
    }

    /// Another handle on the same open device (a duplicated file descriptor).
    pub fn try_clone(&self) -> io::Result<Self> {
        let fd = self.fd.try_clone()?;
        Ok(Self { fd })
    }

    /// The ABI version and the device's size and page size.
    pub fn info(&self) -> io::Result<uapi::RegionDeviceInfo> {
        ioctl::device_info(&self.fd).map_err(|e| RegionError::device(e).into())
    }

    /// Creates a region of `size` bytes (rounded up to whole pages), all zeros, with permission
    /// bits `mode`, owned by the caller.
    pub fn create(&self, name: &str, size: u64, mode: u32) -> io::Result<()> {
        let args = uapi::RegionCreateArgs {
            name: name_field(name)?,
            size,
            mode,
            flags: 0,
            reserved: [0; 4],
        };
        ioctl::create(&self.fd, args).map_err(|e| RegionError::new(name, e).into())
    }

    /// Opens a region.
    pub fn open_region(&self, name: &str, access: Access) -> io::Result<Region> {
        let flags = if access == Access::ReadWrite {
            uapi::REGION_OPEN_WRITE
        } else {
            0
        };
        let args = uapi::RegionOpenArgs {
            name: name_field(name)?,
            flags,
            reserved32: 0,
            reserved: [0; 3],
        };
        let fd =
            ioctl::open(&self.fd, args).map_err(|e| io::Error::from(RegionError::new(name, e)))?;
        let stat = ioctl::fstat(&fd).map_err(|e| io::Error::from(RegionError::new(name, e)))?;
        Ok(Region {
            fd,
            name: name.to_string(),
            size: stat.size,
            access,
        })
    }

    /// Deletes a region (the owner, or `CAP_SYS_ADMIN`; no file may be open on it).
    pub fn delete(&self, name: &str) -> io::Result<()> {
        let args = uapi::RegionNameArgs {
            name: name_field(name)?,
            reserved: [0; 2],
        };
        ioctl::delete(&self.fd, args).map_err(|e| RegionError::new(name, e).into())
    }

    /// Describes a region.
    pub fn stat(&self, name: &str) -> io::Result<RegionStat> {
        let mut stat = zeroed_stat();
        stat.name = name_field(name)?;
        ioctl::stat(&self.fd, stat).map_err(|e| RegionError::new(name, e).into())
    }

    /// Gives a region a new size in bytes (rounded up to pages).
    pub fn resize(&self, name: &str, size: u64) -> io::Result<()> {
        let args = uapi::RegionResizeArgs {
            name: name_field(name)?,
            size,
            reserved: [0; 3],
        };
        ioctl::resize(&self.fd, args).map_err(|e| RegionError::new(name, e).into())
    }

    /// Every region, in table order.
    pub fn list(&self) -> io::Result<Vec<RegionStat>> {
        let mut capacity = 64;
        loop {
            let mut entries = vec![zeroed_stat(); capacity];
            let count = ioctl::list(&self.fd, &mut entries)
                .map_err(|e| io::Error::from(RegionError::device(e)))?;
            if count as usize <= capacity {
                entries.truncate(count as usize);
                return Ok(entries);
            }
            capacity = count as usize;
        }
    }

    /// The on-PM layout of the device, and of `name`'s extents when given.
    pub fn layout(&self, name: Option<&str>) -> io::Result<RegionLayout> {
        let field = match name {
            Some(n) => name_field(n)?,
            None => [0; uapi::REGION_NAME_MAX],
        };
        ioctl::layout(&self.fd, field).map_err(|e| match name {
            Some(n) => RegionError::new(n, e).into(),
            None => RegionError::device(e).into(),
        })
    }

    /// The device's counters.
    pub fn counters(&self) -> io::Result<RegionCounters> {
        ioctl::counters(&self.fd).map_err(|e| RegionError::device(e).into())
    }

    /// Erases every region and writes a new, empty layout (`CAP_SYS_ADMIN`; `EBUSY` while any
    /// region is open or holds uncommitted stores).
    pub fn format(&self) -> io::Result<()> {
        ioctl::format(&self.fd).map_err(|e| RegionError::device(e).into())
    }

    /// PMSYNC of every region this process has open; returns how many.
    pub fn pmsync_all(&self) -> io::Result<u64> {
        ioctl::pmsync_all(&self.fd).map_err(|e| RegionError::device(e).into())
    }
}

impl Region {
    /// The region's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The region's size in bytes when it was opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Describes the region now.
    pub fn stat(&self) -> io::Result<RegionStat> {
        ioctl::fstat(&self.fd).map_err(|e| RegionError::new(&self.name, e).into())
    }

    /// Makes every store any process made to the region durable, atomically; returns the
    /// committed epoch.
    pub fn pmsync(&self) -> io::Result<u64> {
        ioctl::pmsync(&self.fd).map_err(|e| RegionError::new(&self.name, e).into())
    }

    /// Maps the whole region (shared; writable if opened [`Access::ReadWrite`]). The mapping
    /// stays valid after this `Region` is dropped, as mappings of closed files do.
    pub fn map(&self) -> io::Result<Mapping> {
        self.map_whole(self.access == Access::ReadWrite)
    }

    /// Maps the whole region read-only, whatever the access it was opened with: for a writer
    /// that changes the region only through [`Region::write`], so that no store of its own ever
    /// takes a write fault or an undo page copy.
    pub fn map_read_only(&self) -> io::Result<Mapping> {
        self.map_whole(false)
    }

    fn map_whole(&self, writable: bool) -> io::Result<Mapping> {
        Mapping::new(&self.fd, &self.name, self.size, 0, writable)
            .map_err(|e| RegionError::new(&self.name, e).into())
    }

    /// Maps the region's volatile page: [`VOLATILE_SIZE`] bytes of DRAM (never persistent
    /// memory, never committed), zero when the region is first opened, shared by every process
    /// that has the region open and gone when the last one closes it. For lock words and
    /// counters. Writable if the region was opened [`Access::ReadWrite`], else read-only.
    pub fn map_volatile(&self) -> io::Result<Mapping> {
        let writable = self.access == Access::ReadWrite;
        Mapping::new(
            &self.fd,
            &self.name,
            VOLATILE_SIZE as u64,
            uapi::REGION_VOLATILE_OFFSET,
            writable,
        )
        .map_err(|e| RegionError::new(&self.name, e).into())
    }

    /// Writes `ranges` (each a region offset and its new bytes) into the region through the
    /// kernel, in one system call: each touched line's committed contents are logged first, so
    /// the bytes belong to the current epoch exactly as stores through a mapping do (a power cut
    /// before the next commit takes them back), but cost no page fault and no TLB shootdown.
    /// With `commit`, the call then commits the region as [`Region::pmsync`] does (every
    /// process's stores with it) and returns the committed epoch; without, it returns the epoch
    /// the bytes belong to. Every process that maps the region sees the bytes when it returns.
    ///
    /// Errors: `EBADF` (opened read-only), `EINVAL` (no range, or one past the region's end),
    /// `E2BIG` (more than [`WRITE_MAX_RANGES`] ranges or [`WRITE_MAX_BYTES`] bytes), `ENOSPC`
    /// (the undo area cannot hold the logged lines), `EOVERFLOW`, `EIO`.
    pub fn write(&self, ranges: &[(u64, &[u8])], commit: bool) -> io::Result<u64> {
        let raw: Vec<uapi::RegionWriteRange> = ranges
            .iter()
            .map(|&(offset, bytes)| uapi::RegionWriteRange {
                offset,
                addr: bytes.as_ptr() as u64,
                len: bytes.len() as u64,
            })
            .collect();
        let flags = if commit { uapi::REGION_WRITE_COMMIT } else { 0 };
        // SAFETY: every range's address and length are those of a slice in `ranges`, borrowed
        // for the whole call.
        unsafe { ioctl::write(&self.fd, &raw, flags) }
            .map_err(|e| RegionError::new(&self.name, e).into())
    }
}

/// A `RegionStat` of zeros, to fill in.
pub fn zeroed_stat() -> RegionStat {
    RegionStat::default()
}

/// The name a [`RegionStat`] carries, as text.
pub fn stat_name(stat: &RegionStat) -> String {
    name_of(&stat.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_any_call() {
        assert!(name_field("orders").is_ok());
        assert_eq!(name_field(&"x".repeat(63)).expect("63 bytes fit")[62], b'x');
        let too_long = name_field(&"x".repeat(64)).unwrap_err();
        assert_eq!(errno(&too_long), Some(36), "ENAMETOOLONG");
        assert!(too_long.to_string().contains("region 'xxxx"), "{too_long}");
        assert_eq!(errno(&name_field("").unwrap_err()), Some(22));
        assert_eq!(errno(&name_field("a/b").unwrap_err()), Some(22));
    }

    #[test]
    fn name_fields_round_trip() {
        let field = name_field("kvs").expect("valid");
        assert_eq!(name_of(&field), "kvs");
        let mut stat = zeroed_stat();
        stat.name = field;
        assert_eq!(stat_name(&stat), "kvs");
    }
}
