//! A shared mapping of a region: its persistent memory pages, in this process.

use rustix::fd::AsFd;
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use std::io;

/// The whole of a region, mapped shared. Stores through it go straight to persistent memory and
/// are seen at once by every process that maps the region; [`crate::Region::pmsync`] makes them
/// durable. Unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
    writable: bool,
}

// SAFETY: the mapping is plain memory, valid from any thread until it is unmapped on drop.
unsafe impl Send for Mapping {}
// SAFETY: shared access only reads through `&self`; writes need `&mut self`.
unsafe impl Sync for Mapping {}

impl Mapping {
    pub(crate) fn new(fd: impl AsFd, len: u64, writable: bool) -> io::Result<Self> {
        let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let prot = if writable {
            ProtFlags::READ | ProtFlags::WRITE
        } else {
            ProtFlags::READ
        };
        // SAFETY: a new shared mapping at an address the kernel chooses; it aliases no Rust object.
        let ptr = unsafe { mmap(std::ptr::null_mut(), len, prot, MapFlags::SHARED, fd, 0)? };
        Ok(Self {
            ptr: ptr.cast(),
            len,
            writable,
        })
    }

    /// The region's bytes.
    ///
    /// Other processes may store to them at any time: read them as shared memory (with atomics or
    /// a lock kept in the region when they change concurrently).
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` bytes until drop.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The region's bytes, writable. Panics if the region was opened read-only.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        assert!(self.writable, "the region was opened read-only");
        // SAFETY: `ptr` maps `len` writable bytes until drop, and `&mut self` excludes other
        // references from this process through this mapping.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// The first byte of the mapping, for code that manages the bytes itself (persistent
    /// containers keep their own locking and bounds checks). Stores through it are allowed only
    /// when [`Mapping::is_writable`].
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Whether the mapping may be written.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// Bytes mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are the mapping made in `new`, unmapped once, here.
        let _ = unsafe { munmap(self.ptr.cast(), self.len) };
    }
}
