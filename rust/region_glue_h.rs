// SPDX-License-Identifier: GPL-2.0

//! The interface of `region_glue.h` (what `region_glue.c` provides: the pmem device, write-back
//! and fence, the caller's credentials), declared once. A host test
//! (`region_fs/core/tests/externs_match_headers.rs`) checks that every function here matches its C
//! prototype, name, arity and types, and that none is missing.

use kernel::ffi::{c_char, c_int, c_long, c_ulong, c_void};

/// `struct region_pmem`: the attached device, opaque to Rust.
#[repr(C)]
pub(crate) struct RegionPmem {
    _opaque: [u8; 0],
}

extern "C" {
    pub(crate) fn region_param_pmem() -> *const c_char;
    pub(crate) fn region_pmem_open(
        path: *const c_char,
        out: *mut *mut RegionPmem,
        step: *mut c_int,
    ) -> c_int;
    pub(crate) fn region_pmem_close(pm: *mut RegionPmem);
    pub(crate) fn region_pmem_size(pm: *const RegionPmem) -> u64;
    pub(crate) fn region_pmem_mapped_pages(pm: *const RegionPmem) -> c_long;
    pub(crate) fn region_pmem_kaddr(pm: *const RegionPmem) -> *mut c_void;
    pub(crate) fn region_pmem_pfn(pm: *const RegionPmem) -> c_ulong;
    pub(crate) fn region_pmem_bad_pages(
        pm: *const RegionPmem,
        pages: *mut u64,
        max: c_long,
    ) -> c_long;
    pub(crate) fn region_pm_writeback(addr: *mut c_void, len: usize);
    pub(crate) fn region_pm_fence();
    pub(crate) fn region_pm_write_nt(dst: *mut c_void, src: *const c_void, len: usize);
    pub(crate) fn region_pm_copy_mc(dst: *mut c_void, src: *const c_void, len: usize) -> c_ulong;
    pub(crate) fn region_notify_attach(target: *const c_void);
    pub(crate) fn region_notify_detach();
    pub(crate) fn region_pmem_enter(pm: *const RegionPmem) -> c_int;
    pub(crate) fn region_pmem_exit(id: c_int);
    pub(crate) fn region_current_uid() -> u32;
    pub(crate) fn region_current_gid() -> u32;
    pub(crate) fn region_may_access(uid: u32, gid: u32, mode: u32, want: c_int) -> c_int;
    pub(crate) fn region_capable_admin() -> bool;
}
