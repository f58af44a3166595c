//! The heap's bytes: a base address and a length, with every access bounds- and
//! alignment-checked, so that a corrupt or hostile pointer stored in a region gives an error,
//! never a wild access.

use crate::persistent::Persistent;
use std::io;
use std::mem::{align_of, size_of};
use std::sync::atomic::AtomicU64;

/// The mapped bytes of one heap.
#[derive(Debug)]
pub(crate) struct Arena {
    base: *mut u8,
    len: usize,
}

// SAFETY: the arena is shared memory; callers synchronise through the heap lock (a word in the
// arena itself), as every process mapping the region does.
unsafe impl Send for Arena {}
// SAFETY: as above.
unsafe impl Sync for Arena {}

/// An error for a pointer that does not point into the heap.
pub(crate) fn bad_pointer(offset: u64, len: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("persistent pointer {offset:#x} (+{len} bytes) is outside the heap or misaligned"),
    )
}

impl Arena {
    /// The arena over `len` bytes at `base`.
    ///
    /// # Safety
    ///
    /// `base` must point to `len` readable and writable bytes, aligned to 4096, that stay mapped
    /// as long as the arena is used.
    pub(crate) unsafe fn new(base: *mut u8, len: usize) -> Self {
        Self { base, len }
    }

    /// Bytes in the arena.
    pub(crate) fn len(&self) -> u64 {
        self.len as u64
    }

    /// The address of `len` bytes at `offset`, aligned to `align`, or an error.
    fn at(&self, offset: u64, len: u64, align: usize) -> io::Result<*mut u8> {
        let end = offset
            .checked_add(len)
            .ok_or_else(|| bad_pointer(offset, len))?;
        if end > self.len as u64 || !offset.is_multiple_of(align as u64) {
            return Err(bad_pointer(offset, len));
        }
        // SAFETY: `offset + len <= self.len`, so the result stays inside the mapping.
        Ok(unsafe { self.base.add(offset as usize) })
    }

    /// The `T` at `offset`.
    pub(crate) fn read<T: Persistent>(&self, offset: u64) -> io::Result<T> {
        let p = self.at(offset, size_of::<T>() as u64, align_of::<T>())?;
        // SAFETY: `p` is in bounds and aligned, and `T` is valid for any bit pattern.
        Ok(unsafe { p.cast::<T>().read() })
    }

    /// Stores `value` at `offset`.
    pub(crate) fn write<T: Persistent>(&self, offset: u64, value: T) -> io::Result<()> {
        let p = self.at(offset, size_of::<T>() as u64, align_of::<T>())?;
        // SAFETY: `p` is in bounds and aligned; the caller holds the heap lock.
        unsafe { p.cast::<T>().write(value) };
        Ok(())
    }

    /// The `len` bytes at `offset`, as a raw slice pointer.
    pub(crate) fn bytes(&self, offset: u64, len: u64) -> io::Result<*mut [u8]> {
        let p = self.at(offset, len, 1)?;
        Ok(std::ptr::slice_from_raw_parts_mut(p, len as usize))
    }

    /// The 8-byte word at `offset`, for atomic access.
    pub(crate) fn atomic(&self, offset: u64) -> io::Result<&AtomicU64> {
        let p = self.at(offset, 8, 8)?;
        // SAFETY: in bounds and 8-aligned; `AtomicU64` has the layout of `u64`, and every access
        // to this word goes through atomics.
        Ok(unsafe { &*p.cast::<AtomicU64>() })
    }
}
