// SPDX-License-Identifier: GPL-2.0

//! The attached persistent memory device.
//!
//! [`Pmem`] owns the handle that `region_glue.c` returns: an exclusively opened block device, its
//! DAX device, and a direct kernel mapping of all of it. This file is the only place that calls
//! the C glue; every call sits in an `unsafe` block that says why it is sound.

use core::ptr::NonNull;
use kernel::{
    ffi::{c_int, c_long},
    prelude::*,
};

use crate::region_glue_h::{
    region_param_pmem, region_pmem_bad_pages, region_pmem_close, region_pmem_enter,
    region_pmem_exit, region_pmem_kaddr, region_pmem_mapped_pages, region_pmem_open,
    region_pmem_pfn, region_pmem_size, RegionPmem as RawPmem,
};

/// The step of attaching a device that failed (`enum region_pmem_step` in `region_glue.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PmemStep {
    /// Opening the block device.
    Open,
    /// Getting its DAX device: the device does not support DAX.
    Dax,
    /// Mapping it with `dax_direct_access()`.
    Map,
    /// Allocating memory.
    Alloc,
}

impl PmemStep {
    fn from_raw(step: c_int) -> Self {
        match step {
            1 => Self::Open,
            2 => Self::Dax,
            3 => Self::Map,
            _ => Self::Alloc,
        }
    }
}

/// The `pmem` module parameter: the path of the device to manage, if one was given.
pub(crate) fn pmem_param() -> Option<&'static CStr> {
    // SAFETY: `region_param_pmem` only reads the parameter variable, which the module loader set
    // before init and which nothing writes afterwards (the parameter is read-only in sysfs).
    let raw = unsafe { region_param_pmem() };
    if raw.is_null() {
        return None;
    }
    // SAFETY: a non-NULL charp parameter is a NUL-terminated string that the module loader keeps
    // until the module is unloaded, which outlives every use of it by this module.
    Some(unsafe { CStr::from_char_ptr(raw) })
}

/// An attached persistent memory device, mapped in full.
///
/// # Invariants
///
/// `raw` is a handle returned by a successful `region_pmem_open` and not yet closed; the glue
/// never changes it after open, so shared access from any thread is sound.
pub(crate) struct Pmem {
    raw: NonNull<RawPmem>,
}

// SAFETY: the handle is immutable after open (see the invariants), and closing it from another
// thread than the one that opened it is allowed by the block and DAX layers.
unsafe impl Send for Pmem {}
// SAFETY: every `&self` method only reads the immutable handle.
unsafe impl Sync for Pmem {}

impl Pmem {
    /// Opens the block device at `path` exclusively and maps all of it through DAX.
    pub(crate) fn open(path: &CStr) -> Result<Self, (PmemStep, Error)> {
        let mut raw: *mut RawPmem = core::ptr::null_mut();
        let mut step: c_int = 0;
        // SAFETY: `path` is NUL-terminated and outlives the call; `raw` and `step` are valid for
        // writes. The glue stores a handle in `raw` only when it returns 0.
        let ret = unsafe { region_pmem_open(path.as_char_ptr(), &mut raw, &mut step) };
        if ret != 0 {
            return Err((PmemStep::from_raw(step), Error::from_errno(ret)));
        }
        let raw = NonNull::new(raw).ok_or((PmemStep::Open, EINVAL))?;
        // INVARIANT: `raw` came from a successful open.
        Ok(Self { raw })
    }

    /// Size of the block device in bytes.
    pub(crate) fn size(&self) -> u64 {
        // SAFETY: `raw` is a live handle (type invariant).
        unsafe { region_pmem_size(self.raw.as_ptr()) }
    }

    /// Pages that the direct mapping covers contiguously from [`Pmem::base`].
    pub(crate) fn mapped_pages(&self) -> u64 {
        // SAFETY: `raw` is a live handle (type invariant).
        let pages = unsafe { region_pmem_mapped_pages(self.raw.as_ptr()) };
        u64::try_from(pages).unwrap_or(0)
    }

    /// Starts an access to the device's memory: a token for [`Pmem::exit`], or `None` when the
    /// device is going away. The memory stays mapped until the token is given back.
    pub(crate) fn enter(&self) -> Option<c_int> {
        // SAFETY: `raw` is a live handle (type invariant).
        let id = unsafe { region_pmem_enter(self.raw.as_ptr()) };
        (id >= 0).then_some(id)
    }

    /// Ends an access [`Pmem::enter`] started.
    pub(crate) fn exit(&self, id: c_int) {
        // SAFETY: `id` came from `region_pmem_enter` and is given back once (callers keep it in
        // one `DaxPm` and give it back on drop).
        unsafe { region_pmem_exit(id) };
    }

    /// The device pages that hold a bad block (a known media error), in order.
    pub(crate) fn bad_pages(&self) -> Result<KVec<u64>> {
        let mut room = 0;
        loop {
            let mut pages = KVec::from_elem(0u64, room, GFP_KERNEL)?;
            // SAFETY: `raw` is a live handle (type invariant); `pages` holds `room` elements,
            // which the glue writes at most.
            let n = unsafe {
                region_pmem_bad_pages(self.raw.as_ptr(), pages.as_mut_ptr(), room as c_long)
            };
            let n = usize::try_from(n).map_err(|_| EIO)?;
            if n <= room {
                pages.truncate(n);
                return Ok(pages);
            }
            // More than there was room for (or new ones appeared meanwhile): again, with room.
            room = n;
        }
    }

    /// Kernel virtual address of the device's first byte.
    #[allow(dead_code)] // The layout code of the next stage reads and writes through it.
    pub(crate) fn base(&self) -> *mut u8 {
        // SAFETY: `raw` is a live handle (type invariant).
        unsafe { region_pmem_kaddr(self.raw.as_ptr()).cast() }
    }

    /// Page frame number of the device's first page.
    #[allow(dead_code)] // The fault handler of the next stage inserts these pfns.
    pub(crate) fn first_pfn(&self) -> usize {
        // SAFETY: `raw` is a live handle (type invariant).
        unsafe { region_pmem_pfn(self.raw.as_ptr()) }
    }
}

impl Drop for Pmem {
    fn drop(&mut self) {
        // SAFETY: `raw` is a live handle (type invariant) and is not used after this.
        unsafe { region_pmem_close(self.raw.as_ptr()) };
    }
}
