// SPDX-License-Identifier: GPL-2.0

//! The interface of `regionfs.h` (what `regionfs.c` provides), declared once, with the kernel's
//! own types. A host test (`region_fs/core/tests/externs_match_headers.rs`) checks that every function
//! here matches its C prototype, name, arity and types, and that none is missing.
//!
//! The callbacks `regionfs.c` makes into Rust are the `unsafe extern "C" fn region_rs_*` in
//! `region_file.rs`.

use kernel::{
    bindings,
    ffi::{c_uint, c_ulong, c_void},
};

/// `vm_fault_t`.
pub(crate) type VmFault = c_uint;

// Only pointers to the kernel's structures cross here, never the structures: the lint's complaint
// (an empty struct nested deep in `struct inode` in this configuration) is about their layout, which
// the call never depends on. The kernel crate's generated bindings allow it the same way.
#[allow(improper_ctypes)]
extern "C" {
    pub(crate) fn region_fs_mount() -> i32;
    pub(crate) fn region_fs_unmount();
    pub(crate) fn region_inode_new(size: u64, out: *mut *mut bindings::inode) -> i32;
    pub(crate) fn region_inode_set_size(inode: *mut bindings::inode, size: u64);
    pub(crate) fn region_inode_put(inode: *mut bindings::inode);
    pub(crate) fn region_install_fd(
        inode: *mut bindings::inode,
        private: *mut c_void,
        writable: bool,
    ) -> i32;
    pub(crate) fn region_vmf_insert(
        vmf: *mut bindings::vm_fault,
        pfn: c_ulong,
        writable: bool,
    ) -> VmFault;
    pub(crate) fn region_unmap_pages(inode: *mut bindings::inode, first: u64, count: u64);
    pub(crate) fn region_unmap_page_list(
        inode: *mut bindings::inode,
        pages: *mut u64,
        npages: usize,
        vmas: *const c_ulong,
        n: usize,
    ) -> c_ulong;
    pub(crate) fn region_next_open_region(
        next: *mut c_uint,
        file: *mut *mut bindings::file,
    ) -> *mut c_void;
    pub(crate) fn region_put_file(file: *mut bindings::file);
    pub(crate) fn region_cond_resched();
    pub(crate) fn region_fatal_signal_pending() -> bool;
}
