// SPDX-License-Identifier: GPL-2.0

//! PMSYNC: the two ends of an epoch of an open region.
//!
//! After each commit no page of the region is mapped writable: read faults map pages read-only,
//! and the commit removes the mappings of the pages written in the epoch. The first write to a
//! page in an epoch therefore faults (`->fault` for a write, `->pfn_mkwrite` for a read-only
//! mapping; both in `region_file.rs`), and [`OpenRegion::save_first_write`] saves the page's
//! committed contents to an undo slot, persisted, before the page becomes writable.
//!
//! [`OpenRegion::commit`] takes the region with its lock held, so no new write can start;
//! removes the mappings of the dirty pages in every process that may store to them (the TLB
//! shootdown), so no CPU can; writes their lines back, fences, and commits by advancing the epoch
//! with one 8-byte store (written back, fenced). The slots are free from that instant. Its cost
//! follows the dirty pages: it walks [`DirtySet`](crate::dirty::DirtySet), never the region.
//!
//! The processes that may store to a dirty page are those whose mapping took a write fault in
//! the epoch (the fault handlers record it in `View::writers` before a page table entry becomes
//! writable), or appeared by copying such a mapping (fork, split, mremap: recorded by `->open`).
//! Only their entries are removed; a process that only read keeps its read-only entries and gets
//! no TLB flush. A write fault still in flight in a recorded mapping finds its entry gone and
//! retries in the next epoch, as before.
//!
//! Lock order: the mmap lock (faults), then the device's table lock, then `OpenRegion::view`;
//! unmapping (i_mmap_rwsem, page table locks) after `view`. The undo slot pool takes no lock.

use crate::{
    geometry::PAGE_SIZE,
    ops,
    pm::Pm,
    region_file::{
        borrow, region_unmap_pages, region_unmap_pages_in, OpenRegion, View, VmFault, VM_FAULT_OOM,
        VM_FAULT_SIGBUS,
    },
    undo::UndoHeader,
    undo_share::{on_shortage, OnShortage, Shortage},
};
use core::sync::atomic::Ordering::Relaxed;
use kernel::{
    ffi::{c_uint, c_void},
    prelude::*,
};

/// Up to this many dirty pages, PMSYNC removes their mappings page by page; beyond it, in one
/// call over the span from the first to the last, so that scattered pages still cost one TLB
/// shootdown round per mapping (clean pages in the span are unmapped too and fault again on
/// their next access).
const UNMAP_ONE_BY_ONE: usize = 8;

// The interface of regionfs.h that only PMSYNC uses.
extern "C" {
    fn region_next_open_region(next: *mut c_uint, file: *mut *mut c_void) -> *mut c_void;
    fn region_put_file(file: *mut c_void);
}

impl OpenRegion {
    /// Before the first write to page `pgoff` (device page `page`) in this epoch: saves its
    /// committed contents to an undo slot and persists it. With no free slot, commits the region
    /// first (an automatic PMSYNC), which frees this region's slots.
    pub(crate) fn save_first_write(
        &self,
        view: &mut View,
        pgoff: u64,
        page: u64,
    ) -> Result<(), VmFault> {
        if view.dirty.contains(pgoff) {
            return Ok(());
        }
        let pool = &self.device.undo_pool;
        let uid = view.region.uid;
        let slot = match pool.take_for(uid) {
            Ok(slot) => slot,
            Err(shortage) => match on_shortage(shortage, view.dirty.slots().len()) {
                OnShortage::CommitOwnRegion => {
                    self.commit(view);
                    pool.take_for(uid).map_err(|_| VM_FAULT_SIGBUS)?
                }
                OnShortage::Refuse => return Err(self.refuse_first_write(shortage)),
            },
        };
        if view.dirty.insert(pgoff, slot).is_err() {
            pool.give_back(uid, &[slot]);
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
        self.device.op_counters.undo_pages.fetch_add(1, Relaxed);
        Ok(())
    }

    /// The fault code for a first write refused for `shortage`, with a log line saying why.
    fn refuse_first_write(&self, shortage: Shortage) -> VmFault {
        match shortage {
            Shortage::OwnerShare => pr_warn!("region {}: its owner's other regions hold the owner's whole share of the undo area ({} slots): write refused with SIGBUS; PMSYNC or close them\n", self.index, self.device.undo_pool.share()),
            Shortage::AreaFull => pr_warn!("region {}: undo area full (other owners' open regions hold every slot): write refused with SIGBUS\n", self.index),
            Shortage::OutOfMemory => return VM_FAULT_OOM,
        }
        VM_FAULT_SIGBUS
    }

    /// After a shrink to `pages` pages has committed: the pages cut off lose their undo slots, on
    /// persistent memory too, so that if the region grows again in this epoch their old contents
    /// cannot come back at the next attach, and their new first writes save them again.
    pub(crate) fn forget_cut_pages(&self, view: &mut View, pages: u64) {
        let device = &self.device;
        let uid = view.region.uid;
        view.dirty.remove_from(pages, |slot| {
            ops::forget_undo(&mut device.pm(), &device.layout, slot);
            device.undo_pool.give_back(uid, &[slot]);
        });
    }

    /// PMSYNC with the region's lock held: returns the epoch that is now durable.
    pub(crate) fn commit(&self, view: &mut View) -> u64 {
        if view.dirty.is_empty() {
            // Nothing was written since the last commit: that snapshot is the current state.
            return view.epoch - 1;
        }
        let counters = &self.device.op_counters;
        // No CPU may store to a dirty page from here on: remove their writable mappings.
        let pages = view.dirty.pages();
        if pages.len() <= UNMAP_ONE_BY_ONE {
            for &p in pages {
                self.unmap_writers(view, p, 1);
            }
        } else {
            let first = pages.iter().copied().min().unwrap_or(0);
            let last = pages.iter().copied().max().unwrap_or(0);
            self.unmap_writers(view, first, last - first + 1);
        }
        view.writers.clear();
        view.writers_lost = false;
        let mut pm = self.device.pm();
        let mut written = 0;
        // Device pages that follow each other in fault order are written back in one call.
        let mut run: Option<(u64, u64)> = None;
        for &p in pages {
            if let Some(page) = view.region.device_page(p) {
                written += 1;
                run = match run {
                    Some((first, count)) if first + count == page => Some((first, count + 1)),
                    Some((first, count)) => {
                        pm.writeback(first * PAGE_SIZE, count * PAGE_SIZE);
                        Some((page, 1))
                    }
                    None => Some((page, 1)),
                };
            }
        }
        if let Some((first, count)) = run {
            pm.writeback(first * PAGE_SIZE, count * PAGE_SIZE);
        }
        pm.fence();
        let committed = view.epoch;
        view.epoch = ops::advance_epoch(&mut pm, &self.device.layout, self.index, committed);
        self.device
            .undo_pool
            .give_back(view.region.uid, view.dirty.slots());
        view.dirty.clear();
        counters.pages_written_back.fetch_add(written, Relaxed);
        counters.pmsyncs.fetch_add(1, Relaxed);
        committed
    }

    /// Removes the page table entries of pages `[first, first + count)` from every mapping that
    /// may hold them writable (every mapping, if one was not recorded): one TLB shootdown round.
    fn unmap_writers(&self, view: &View, first: u64, count: u64) {
        let counters = &self.device.op_counters;
        if view.writers_lost || view.has_untracked_mappings() {
            // SAFETY: `self.inode` is live (type invariant of `OpenRegion`).
            unsafe { region_unmap_pages(self.inode, first, count) };
        } else {
            let writers = &view.writers;
            // SAFETY: `self.inode` is live (type invariant of `OpenRegion`), and `writers` is
            // valid for reads of its length for the call.
            let unmapped = unsafe {
                region_unmap_pages_in(self.inode, first, count, writers.as_ptr(), writers.len())
            };
            counters
                .mappings_unmapped
                .fetch_add(unmapped as u64, Relaxed);
        }
        counters.unmap_rounds.fetch_add(1, Relaxed);
    }

    /// `REGION_IOC_PMSYNC`.
    pub(crate) fn pmsync(&self) -> u64 {
        let mut view = self.view.lock();
        self.commit(&mut view)
    }
}

/// PMSYNC of every region the calling process has a file descriptor open for writing on (each
/// once, however many descriptors it has); returns how many regions that was. Regions it has open
/// read-only are left alone: committing is a write.
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
