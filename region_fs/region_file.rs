// SPDX-License-Identifier: GPL-2.0

//! Open regions: the inode every file and mapping of a region shares, the page fault handler
//! that maps the region's persistent memory pages, and the ioctls on a region file descriptor.
//!
//! An [`OpenRegion`] exists while any file is open on its region; each file owns one reference
//! (`Arc`), handed to `regionfs.c` as the file's private data and given back by
//! [`region_rs_release`]. Every mapping holds its file, so the `OpenRegion` outlives them all.
//!
//! PMSYNC lives here too. After each commit no page of the region is mapped writable: read faults
//! map pages read-only, and PMSYNC removes the mappings of the pages written in the epoch. The
//! first write to a page in an epoch therefore faults (`->fault` for a write, `->pfn_mkwrite` for
//! a read-only mapping), and the handler saves the page's committed contents to an undo slot,
//! persisted, before the page becomes writable. PMSYNC takes the region's lock, so no new write
//! can start; removes every mapping of the dirty pages in every process (the TLB shootdown), so
//! no CPU can store to them; writes their lines back, fences, and commits by advancing the epoch
//! with one 8-byte store. The slots are free from that instant.
//!
//! Lock order: the mmap lock (faults), then the device's table lock, then `OpenRegion::view`,
//! then the device's undo slot lock; unmapping (i_mmap_rwsem, page table locks) after `view`.

use crate::{
    device::RegionDevice,
    geometry::PAGE_SIZE,
    ops,
    pm::Pm,
    table::Region,
    uapi::{RegionStat, REGION_IOC_FSTAT, REGION_IOC_PMSYNC},
    undo::UndoHeader,
};
use core::sync::atomic::Ordering::Relaxed;
use kernel::{
    bindings,
    ffi::{c_long, c_uint, c_ulong, c_void},
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
    uaccess::{UserPtr, UserSlice},
};

/// `vm_fault_t`.
type VmFault = c_uint;
const VM_FAULT_SIGBUS: VmFault = bindings::vm_fault_reason_VM_FAULT_SIGBUS as VmFault;
const VM_FAULT_OOM: VmFault = bindings::vm_fault_reason_VM_FAULT_OOM as VmFault;

// The interface of regionfs.h.
extern "C" {
    fn region_inode_new(size: u64, out: *mut *mut c_void) -> i32;
    fn region_inode_set_size(inode: *mut c_void, size: u64);
    fn region_inode_put(inode: *mut c_void);
    fn region_install_fd(inode: *mut c_void, private: *mut c_void, writable: bool) -> i32;
    fn region_vmf_insert(vmf: *mut c_void, pfn: c_ulong, writable: bool) -> VmFault;
    fn region_unmap_pages(inode: *mut c_void, first: u64, count: u64);
    fn region_next_open_region(next: *mut c_uint, file: *mut *mut c_void) -> *mut c_void;
    fn region_put_file(file: *mut c_void);
}

/// What faults need of the region (its extents and size, changed only by resize), and which
/// pages its mappings cover.
struct View {
    region: Region,
    /// Each mapping (by its `vm_area_struct` address) and the pages it covered when it appeared.
    /// A mapping split later keeps its old, larger range here: an overestimate, never an under-.
    vmas: KVec<(usize, u64, u64)>,
    /// Mappings whose record could not be stored (no memory): taken to cover every page.
    untracked: usize,
    /// The epoch stores go to now: the number the next PMSYNC commits.
    epoch: u64,
    /// One bit per page: saved to an undo slot (and so writable) in this epoch.
    dirty: KVVec<u64>,
    /// The undo slots this epoch holds, and the pages they saved, in fault order: what a commit
    /// walks, so that its cost follows the dirty pages, not the region's size.
    slots: KVVec<u32>,
    dirty_pages: KVVec<u64>,
}

impl View {
    fn is_dirty(&self, page: u64) -> bool {
        self.dirty
            .get((page / 64) as usize)
            .is_some_and(|w| w & (1 << (page % 64)) != 0)
    }

    fn set_dirty(&mut self, page: u64) {
        if let Some(w) = self.dirty.get_mut((page / 64) as usize) {
            *w |= 1 << (page % 64);
        }
    }

    fn clear_dirty(&mut self, page: u64) {
        if let Some(w) = self.dirty.get_mut((page / 64) as usize) {
            *w &= !(1 << (page % 64));
        }
    }
}

/// Up to this many dirty pages, PMSYNC removes their mappings page by page; beyond it, in one
/// call over the span from the first to the last, so that scattered pages still cost one TLB
/// shootdown round per mapping (clean pages in the span are unmapped too and fault again on
/// their next access).
const UNMAP_ONE_BY_ONE: usize = 8;

fn bitmap_words(pages: u64) -> usize {
    pages.div_ceil(64) as usize
}

/// A region with at least one open file.
///
/// # Invariants
///
/// `inode` is a regionfs inode this object holds one reference on, from `new` until drop.
#[pin_data(PinnedDrop)]
pub(crate) struct OpenRegion {
    device: Arc<RegionDevice>,
    index: u32,
    inode: *mut c_void,
    #[pin]
    view: Mutex<View>,
}

// SAFETY: `inode` is only passed to regionfs.c functions, which may be called from any thread.
unsafe impl Send for OpenRegion {}
// SAFETY: as for `Send`; all other state is behind `view`'s lock or immutable.
unsafe impl Sync for OpenRegion {}

impl OpenRegion {
    /// Opens table entry `index`, holding `region` at `epoch`: a new inode of its size.
    pub(crate) fn new(
        device: Arc<RegionDevice>,
        index: u32,
        region: &Region,
        epoch: u64,
    ) -> Result<Arc<Self>> {
        let dirty = KVVec::from_elem(0u64, bitmap_words(region.size_pages), GFP_KERNEL)?;
        let size = region.size_pages * crate::geometry::PAGE_SIZE;
        let mut inode: *mut c_void = core::ptr::null_mut();
        // SAFETY: regionfs is mounted while the device is attached; `inode` is valid for a write.
        let ret = unsafe { region_inode_new(size, &mut inode) };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        let region = *region;
        // INVARIANT: `inode` is a new reference, released in drop.
        let made = Arc::pin_init(
            try_pin_init!(Self {
                device,
                index,
                inode,
                view <- new_mutex!(View {
                    region,
                    vmas: KVec::new(),
                    untracked: 0,
                    epoch,
                    dirty,
                    slots: KVVec::new(),
                    dirty_pages: KVVec::new(),
                }),
            }),
            GFP_KERNEL,
        );
        if made.is_err() {
            // SAFETY: the initializer failed before `Self` took the reference; drop it here.
            unsafe { region_inode_put(inode) };
        }
        made
    }

    /// Installs a new file descriptor on this region, owning one reference to it.
    pub(crate) fn install_fd(self: &Arc<Self>, write: bool) -> Result<i32> {
        let raw = Arc::into_raw(self.clone());
        // SAFETY: `self.inode` is live (type invariant); `raw` is an owned reference that the file
        // keeps as private data and gives back through `region_rs_release`.
        let fd = unsafe { region_install_fd(self.inode, raw.cast_mut().cast(), write) };
        if fd < 0 {
            // SAFETY: on failure the glue did not keep `raw`; take the reference back.
            drop(unsafe { Arc::from_raw(raw) });
            return Err(Error::from_errno(fd));
        }
        Ok(fd)
    }

    /// The epoch stores go to now.
    pub(crate) fn epoch(&self) -> u64 {
        self.view.lock().epoch
    }

    /// Whether stores since the last commit hold undo slots.
    pub(crate) fn has_uncommitted_stores(&self) -> bool {
        !self.view.lock().slots.is_empty()
    }

    /// Makes room in the dirty bitmap for `pages` pages, before a resize commits.
    pub(crate) fn prepare_size(&self, pages: u64) -> Result {
        let mut view = self.view.lock();
        let words = bitmap_words(pages);
        if words > view.dirty.len() {
            let more = words - view.dirty.len();
            view.dirty.extend_with(more, 0, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Whether any mapping in any process covers a page at or beyond `first`.
    pub(crate) fn mapped_from(&self, first: u64) -> bool {
        let view = self.view.lock();
        view.untracked > 0
            || view
                .vmas
                .iter()
                .any(|&(_, pgoff, pages)| pgoff + pages > first)
    }

    fn vma_opened(&self, vma: usize, pgoff: u64, pages: u64) {
        let mut view = self.view.lock();
        if view.vmas.push((vma, pgoff, pages), GFP_KERNEL).is_err() {
            view.untracked += 1;
        }
    }

    fn vma_closed(&self, vma: usize) {
        let mut view = self.view.lock();
        match view.vmas.iter().position(|&(v, _, _)| v == vma) {
            Some(i) => {
                let _ = view.vmas.remove(i);
            }
            None => view.untracked = view.untracked.saturating_sub(1),
        }
    }

    /// Takes the region's new extents after a resize from `old_pages` pages: faults see the new
    /// size from now on, and any mapping of a page beyond it (one that raced with the resize) is
    /// removed before its pages can be reused.
    pub(crate) fn set_region(&self, region: &Region, old_pages: u64) {
        let new_pages = region.size_pages;
        {
            let mut view = self.view.lock();
            view.region = *region;
        }
        // SAFETY: `self.inode` is live (type invariant).
        unsafe { region_inode_set_size(self.inode, new_pages * crate::geometry::PAGE_SIZE) };
        if new_pages < old_pages {
            // SAFETY: `self.inode` is live (type invariant).
            unsafe { region_unmap_pages(self.inode, new_pages, old_pages - new_pages) };
        }
    }

    fn fault(&self, vmf: *mut c_void, pgoff: u64, write: bool) -> VmFault {
        self.device.op_counters.faults.fetch_add(1, Relaxed);
        let mut view = self.view.lock();
        let Some(page) = view.region.device_page(pgoff) else {
            return VM_FAULT_SIGBUS;
        };
        if write {
            if let Err(code) = self.save_first_write(&mut view, pgoff, page) {
                return code;
            }
        }
        // Writable only once saved in this epoch; a read maps the page read-only, so the first
        // write to it faults again.
        let writable = write || view.is_dirty(pgoff);
        // SAFETY: `vmf` is the fault being handled (from `region_rs_fault`), and the pfn is a page
        // of this region, inside the device.
        unsafe { region_vmf_insert(vmf, self.device.pfn(page), writable) }
    }

    fn pfn_mkwrite(&self, pgoff: u64) -> VmFault {
        self.device.op_counters.faults.fetch_add(1, Relaxed);
        let mut view = self.view.lock();
        let Some(page) = view.region.device_page(pgoff) else {
            return VM_FAULT_SIGBUS;
        };
        // 0: the fault path makes the page table entry writable, unless a PMSYNC has removed it
        // meanwhile, in which case the write faults again and lands in the next epoch.
        match self.save_first_write(&mut view, pgoff, page) {
            Ok(()) => 0,
            Err(code) => code,
        }
    }

    /// Before the first write to page `pgoff` (device page `page`) in this epoch: saves its
    /// committed contents to an undo slot and persists it. With no free slot, commits the region
    /// first (an automatic PMSYNC), which frees this region's slots.
    fn save_first_write(&self, view: &mut View, pgoff: u64, page: u64) -> Result<(), VmFault> {
        if view.is_dirty(pgoff) {
            return Ok(());
        }
        let slot = match self.device.take_undo_slot() {
            Some(slot) => slot,
            None if view.slots.is_empty() => {
                pr_warn!("region {}: undo area full (other regions hold every slot): write refused with SIGBUS; PMSYNC those regions\n", self.index);
                return Err(VM_FAULT_SIGBUS);
            }
            None => {
                self.commit(view);
                self.device.take_undo_slot().ok_or(VM_FAULT_SIGBUS)?
            }
        };
        if view.slots.push(slot, GFP_KERNEL).is_err() {
            self.device.give_back_undo_slots(&[slot]);
            return Err(VM_FAULT_OOM);
        }
        if view.dirty_pages.push(pgoff, GFP_KERNEL).is_err() {
            let _ = view.slots.pop();
            self.device.give_back_undo_slots(&[slot]);
            return Err(VM_FAULT_OOM);
        }
        let header = UndoHeader {
            region: self.index,
            page: pgoff,
            epoch: view.epoch,
        };
        ops::save_undo(
            &mut self.device.pm(),
            &self.device.layout,
            slot,
            &header,
            page,
        );
        view.set_dirty(pgoff);
        self.device.op_counters.undo_pages.fetch_add(1, Relaxed);
        Ok(())
    }

    /// PMSYNC with the region's lock held: returns the epoch that is now durable.
    fn commit(&self, view: &mut View) -> u64 {
        if view.slots.is_empty() {
            // Nothing was written since the last commit: that snapshot is the current state.
            return view.epoch - 1;
        }
        let counters = &self.device.op_counters;
        // No CPU may store to a dirty page from here on: remove every mapping of them.
        let pages = &view.dirty_pages;
        if pages.len() <= UNMAP_ONE_BY_ONE {
            for &p in pages.iter() {
                // SAFETY: `self.inode` is live (type invariant).
                unsafe { region_unmap_pages(self.inode, p, 1) };
                counters.unmap_rounds.fetch_add(1, Relaxed);
            }
        } else {
            let first = pages.iter().copied().min().unwrap_or(0);
            let last = pages.iter().copied().max().unwrap_or(0);
            // SAFETY: `self.inode` is live (type invariant).
            unsafe { region_unmap_pages(self.inode, first, last - first + 1) };
            counters.unmap_rounds.fetch_add(1, Relaxed);
        }
        let mut pm = self.device.pm();
        let mut written = 0;
        for &p in pages.iter() {
            if let Some(page) = view.region.device_page(p) {
                pm.writeback(page * PAGE_SIZE, PAGE_SIZE);
                written += 1;
            }
        }
        pm.fence();
        let committed = view.epoch;
        view.epoch = ops::advance_epoch(&mut pm, &self.device.layout, self.index, committed);
        self.device.give_back_undo_slots(&view.slots);
        view.slots.clear();
        for i in 0..view.dirty_pages.len() {
            let p = view.dirty_pages[i];
            view.clear_dirty(p);
        }
        view.dirty_pages.clear();
        counters.pages_written_back.fetch_add(written, Relaxed);
        counters.pmsyncs.fetch_add(1, Relaxed);
        committed
    }

    /// `REGION_IOC_PMSYNC`.
    pub(crate) fn pmsync(&self) -> u64 {
        let mut view = self.view.lock();
        self.commit(&mut view)
    }

    fn ioctl(&self, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            REGION_IOC_FSTAT => {
                let stat: RegionStat = self.device.stat_index(self.index)?;
                UserSlice::new(UserPtr::from_addr(arg), core::mem::size_of::<RegionStat>())
                    .writer()
                    .write(&stat)?;
                Ok(0)
            }
            REGION_IOC_PMSYNC => {
                let epoch = self.pmsync();
                UserSlice::new(UserPtr::from_addr(arg), core::mem::size_of::<u64>())
                    .writer()
                    .write(&epoch)?;
                Ok(0)
            }
            _ => Err(ENOTTY),
        }
    }
}

#[pinned_drop]
impl PinnedDrop for OpenRegion {
    fn drop(self: Pin<&mut Self>) {
        // Dropped with undo slots only when the region was deleted (they are stale) or the module
        // is unloading (the next attach rolls them back); either way the pool may have them.
        let slots = core::mem::take(&mut self.view.lock().slots);
        self.device.give_back_undo_slots(&slots);
        // SAFETY: the reference taken in `new` (type invariant), released once, here.
        unsafe { region_inode_put(self.inode) };
    }
}

/// PMSYNC of every region the calling process has a file descriptor open on (each once, however
/// many descriptors it has); returns how many regions that was.
pub(crate) fn pmsync_all_open() -> Result<u64> {
    let mut seen: KVec<usize> = KVec::new();
    let mut next: c_uint = 0;
    loop {
        let mut file: *mut c_void = core::ptr::null_mut();
        // SAFETY: `next` and `file` are valid for writes; called in process context.
        let private = unsafe { region_next_open_region(&mut next, &mut file) };
        if private.is_null() {
            return Ok(seen.len() as u64);
        }
        let result = if seen.contains(&(private as usize)) {
            Ok(())
        } else {
            // SAFETY: the reference to `file` that `region_next_open_region` took keeps the file,
            // and so its private data, alive until `region_put_file` below.
            unsafe { borrow(private) }.pmsync();
            seen.push(private as usize, GFP_KERNEL).map_err(Error::from)
        };
        // SAFETY: drops the reference `region_next_open_region` took, once.
        unsafe { region_put_file(file) };
        result?;
    }
}

/// Borrows the `OpenRegion` a regionfs file or mapping carries as private data.
///
/// # Safety
///
/// `private` must be the private data of a live regionfs file (or of a mapping of one).
unsafe fn borrow<'a>(private: *mut c_void) -> &'a OpenRegion {
    // SAFETY: the private data is a reference owned by the file, which the caller guarantees is
    // live, so the `OpenRegion` is too.
    unsafe { &*private.cast::<OpenRegion>() }
}

/// `->fault` of a region mapping.
#[no_mangle]
extern "C" fn region_rs_fault(
    private: *mut c_void,
    vmf: *mut c_void,
    pgoff: u64,
    write: bool,
) -> VmFault {
    // SAFETY: regionfs.c passes the mapping's private data, the file's, and the mapping holds
    // the file.
    unsafe { borrow(private) }.fault(vmf, pgoff, write)
}

/// `->pfn_mkwrite` of a region mapping.
#[no_mangle]
extern "C" fn region_rs_pfn_mkwrite(private: *mut c_void, pgoff: u64) -> VmFault {
    // SAFETY: as for `region_rs_fault`.
    unsafe { borrow(private) }.pfn_mkwrite(pgoff)
}

/// `->unlocked_ioctl` of a region file.
#[no_mangle]
extern "C" fn region_rs_ioctl(
    private: *mut c_void,
    _file: *mut c_void,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: regionfs.c passes the private data of the file the ioctl is made on.
    match unsafe { borrow(private) }.ioctl(cmd, arg) {
        Ok(v) => v as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}

/// `->open` of a region mapping, and the first mapping from `->mmap`: records its pages.
#[no_mangle]
extern "C" fn region_rs_vma_opened(private: *mut c_void, vma: *mut c_void, pgoff: u64, pages: u64) {
    // SAFETY: as for `region_rs_fault`.
    unsafe { borrow(private) }.vma_opened(vma as usize, pgoff, pages)
}

/// `->close` of a region mapping.
#[no_mangle]
extern "C" fn region_rs_vma_closed(private: *mut c_void, vma: *mut c_void) {
    // SAFETY: as for `region_rs_fault`; the mapping still holds its file while it closes.
    unsafe { borrow(private) }.vma_closed(vma as usize)
}

/// `->release` of a region file: gives back the file's reference.
#[no_mangle]
extern "C" fn region_rs_release(private: *mut c_void) {
    // SAFETY: the private data is the reference `install_fd` handed to this file; the file is
    // being released, so this is its last use.
    let region = unsafe { Arc::from_raw(private.cast::<OpenRegion>().cast_const()) };
    region.device.file_closed(region.index, &region);
    drop(region);
}
