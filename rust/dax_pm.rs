// SPDX-License-Identifier: GPL-2.0

//! [`Pm`] on the DAX mapping of the attached device: the layout code's stores, write-backs and
//! fences become real ones here, and are counted.
//!
//! A [`DaxPm`] is a cheap handle (base address, length, counters) made for each operation.
//! Several may exist at once: they never form Rust references to persistent memory, only raw
//! pointer accesses, and the callers' locks keep concurrent operations on disjoint bytes.

use crate::pm::{Pm, CACHE_LINE};
use crate::pmem::Pmem;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::{ffi::c_int, prelude::*};

use crate::region_glue_h::{
    region_pm_copy_mc, region_pm_fence, region_pm_write_nt, region_pm_writeback,
};
use core::cell::Cell;

/// Write-backs and fences issued on the device since it was attached.
#[derive(Default)]
pub(crate) struct PmCounters {
    /// Cache lines written back.
    pub(crate) lines_written_back: AtomicU64,
    /// Fences.
    pub(crate) fences: AtomicU64,
    /// Lines written with non-temporal stores.
    pub(crate) lines_nt: AtomicU64,
}

/// The DAX mapping of the device as a [`Pm`].
///
/// # Invariants
///
/// `base` is the kernel address of a mapping of `len` bytes of persistent memory (`pmem`'s), which
/// stays mapped while `token` holds an access (and nothing is accessed without one).
pub(crate) struct DaxPm<'a> {
    base: *mut u8,
    len: u64,
    counters: &'a PmCounters,
    /// The device, and the token of the access this handle holds (`None`: the device is going
    /// away, and every access is refused, reads as poison).
    pmem: &'a Pmem,
    token: Option<c_int>,
    /// A read or copy met poisoned memory since the last `take_poison`.
    poisoned: Cell<bool>,
}

impl<'a> DaxPm<'a> {
    /// A handle on the first `len` bytes of `pmem`, holding an access to its memory (see
    /// [`Pmem::enter`]) until it is dropped.
    ///
    /// # Safety
    ///
    /// `pmem` must map at least `len` bytes at its base, readable and writable, while the device
    /// is alive.
    pub(crate) unsafe fn new(pmem: &'a Pmem, len: u64, counters: &'a PmCounters) -> Self {
        // INVARIANT: the caller guarantees the mapping while the device is alive, and the token
        // keeps it alive (or, without one, nothing is accessed).
        Self {
            base: pmem.base(),
            len,
            counters,
            pmem,
            token: pmem.enter(),
            poisoned: Cell::new(false),
        }
    }

    /// The address of `[offset, offset + len)`, or `None` (and a log line) if that leaves the
    /// device: a bug in the caller, which must not become a stray store.
    fn at(&self, offset: u64, len: u64) -> Option<*mut u8> {
        if self.token.is_none() {
            // The device is going away: nothing is read or written any more.
            self.poisoned.set(true);
            return None;
        }
        match offset.checked_add(len) {
            Some(end) if end <= self.len => {
                // SAFETY: `offset + len <= self.len`, so the result stays inside the mapping of
                // `self.len` bytes at `self.base` (type invariant); `self.len` fits in `usize`.
                Some(unsafe { self.base.add(offset as usize) })
            }
            _ => {
                pr_err!(
                    "persistent memory access out of bounds: {} + {} > {}\n",
                    offset,
                    len,
                    self.len
                );
                None
            }
        }
    }
}

impl Drop for DaxPm<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.token.take() {
            self.pmem.exit(id);
        }
    }
}

impl DaxPm<'_> {
    /// Counts the lines of `[offset, offset + len)` as written non-temporally.
    fn count_nt(&self, offset: u64, len: u64) {
        if len > 0 {
            let lines = (offset + len - 1) / CACHE_LINE - offset / CACHE_LINE + 1;
            self.counters.lines_nt.fetch_add(lines, Relaxed);
        }
    }

    /// Copies `len` bytes from `src` (device offset `offset`) to `dst` with a machine-check-safe
    /// copy; poisoned memory stops it, is logged and noted for [`Pm::take_poison`].
    fn copy_mc(&self, dst: *mut u8, src: *const u8, offset: u64, len: usize) {
        // SAFETY: `src` is valid for `len` bytes of the mapping (checked by the caller with
        // `at`), and `dst` for `len` bytes of writes: a DRAM buffer or another range of the
        // mapping, not overlapping `src` (checked by the callers).
        let left = unsafe { region_pm_copy_mc(dst.cast(), src.cast(), len) };
        if left != 0 {
            pr_err!(
                "media error: poisoned persistent memory at device offset {} (reading {} bytes)\n",
                offset + (len as u64 - left as u64),
                len
            );
            self.poisoned.set(true);
        }
    }
}

impl Pm for DaxPm<'_> {
    fn read(&self, offset: u64, buf: &mut [u8]) {
        if let Some(src) = self.at(offset, buf.len() as u64) {
            self.copy_mc(buf.as_mut_ptr(), src, offset, buf.len());
        }
    }

    fn write(&mut self, offset: u64, bytes: &[u8]) {
        if let Some(dst) = self.at(offset, bytes.len() as u64) {
            // SAFETY: `dst` is valid for `bytes.len()` bytes (checked by `at`), and `bytes` is a
            // distinct DRAM buffer.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
        }
    }

    fn zero(&mut self, offset: u64, len: u64) {
        if let Some(dst) = self.at(offset, len) {
            // SAFETY: `dst` is valid for `len` bytes (checked by `at`).
            unsafe { core::ptr::write_bytes(dst, 0, len as usize) };
        }
    }

    fn copy(&mut self, dst: u64, src: u64, len: u64) {
        if let (Some(d), Some(s)) = (self.at(dst, len), self.at(src, len)) {
            // The module's copies on the device never overlap (a page and an undo slot).
            if dst + len <= src || src + len <= dst {
                self.copy_mc(d, s, src, len as usize);
            } else {
                pr_err!(
                    "overlapping persistent memory copy {} -> {} ({} bytes) refused\n",
                    src,
                    dst,
                    len
                );
                self.poisoned.set(true);
            }
        }
    }

    fn take_poison(&self) -> bool {
        self.poisoned.replace(false)
    }

    fn store8(&mut self, offset: u64, value: u64) {
        if offset % 8 != 0 {
            pr_err!("unaligned commit store at {}\n", offset);
            return;
        }
        if let Some(dst) = self.at(offset, 8) {
            // SAFETY: `dst` is valid for 8 bytes (checked by `at`) and 8-byte aligned (the mapping
            // is page aligned and `offset` is a multiple of 8), so this is one 8-byte store.
            unsafe { core::ptr::write_volatile(dst.cast::<u64>(), value.to_le()) };
        }
    }

    fn writeback(&mut self, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        if let Some(addr) = self.at(offset, len) {
            // SAFETY: the range is inside the mapping (checked by `at`); write-back only cleans
            // cache lines and changes no memory contents.
            unsafe { region_pm_writeback(addr.cast(), len as usize) };
            let lines = (offset + len - 1) / CACHE_LINE - offset / CACHE_LINE + 1;
            self.counters.lines_written_back.fetch_add(lines, Relaxed);
        }
    }

    fn write_nt(&mut self, offset: u64, bytes: &[u8]) {
        if let Some(dst) = self.at(offset, bytes.len() as u64) {
            // SAFETY: `dst` is valid for `bytes.len()` bytes (checked by `at`), and `bytes` is a
            // distinct DRAM buffer of that length.
            unsafe { region_pm_write_nt(dst.cast(), bytes.as_ptr().cast(), bytes.len()) };
            self.count_nt(offset, bytes.len() as u64);
        }
    }

    fn zero_nt(&mut self, offset: u64, len: u64) {
        if let Some(dst) = self.at(offset, len) {
            // SAFETY: `dst` is valid for `len` bytes (checked by `at`); a null source writes zeros.
            unsafe { region_pm_write_nt(dst.cast(), core::ptr::null(), len as usize) };
            self.count_nt(offset, len);
        }
    }

    fn fence(&mut self) {
        // SAFETY: a store fence has no memory-safety preconditions.
        unsafe { region_pm_fence() };
        self.counters.fences.fetch_add(1, Relaxed);
    }
}
