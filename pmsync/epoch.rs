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
    epoch_state::{Commit, FirstWrite, Refused},
    region_file::{borrow, OpenRegion, View, VmFault, VM_FAULT_OOM, VM_FAULT_SIGBUS},
    regionfs_h::{
        region_next_open_region, region_put_file, region_unmap_pages, region_unmap_pages_in,
    },
    undo_share::Shortage,
};
use core::sync::atomic::Ordering::Relaxed;
use kernel::{ffi::c_uint, prelude::*};

/// Up to this many dirty pages, PMSYNC removes their mappings page by page; beyond it, in one
/// call over the span from the first to the last, so that scattered pages still cost one TLB
/// shootdown round per mapping (clean pages in the span are unmapped too and fault again on
/// their next access).
const UNMAP_ONE_BY_ONE: usize = 8;

impl OpenRegion {
    /// Before the first write to page `pgoff` in this epoch: saves its committed contents to an
    /// undo slot and persists it (`epoch_state.rs` decides; with the owner's share or the area
    /// used up it commits the region first, an automatic PMSYNC).
    pub(crate) fn save_first_write(&self, view: &mut View, pgoff: u64) -> Result<(), VmFault> {
        let device = &self.device;
        let View {
            region,
            epoch,
            writers,
            writers_lost,
            untracked,
            ..
        } = view;
        let all = *writers_lost || *untracked > 0;
        let saved = epoch.first_write(
            &mut device.pm(),
            &device.layout,
            self.index,
            region,
            pgoff,
            &device.undo_pool,
            |pages| self.quiesce(pages, writers, all),
        );
        match saved {
            Ok(FirstWrite::AlreadySaved) => Ok(()),
            Ok(FirstWrite::Saved { committed }) => {
                if let Some(c) = committed {
                    writers.clear();
                    *writers_lost = false;
                    self.count_commit(c);
                }
                device.op_counters.undo_pages.fetch_add(1, Relaxed);
                Ok(())
            }
            Err(Refused::OutOfRange) => Err(VM_FAULT_SIGBUS),
            Err(Refused::EpochsExhausted) => {
                pr_warn!(
                    "region {}: its epochs are used up (2^48 commits): write refused with SIGBUS\n",
                    self.index
                );
                Err(VM_FAULT_SIGBUS)
            }
            Err(Refused::Shortage(shortage)) => Err(self.refuse_first_write(shortage)),
        }
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

    /// After a shrink to `pages` pages has committed: the pages cut off lose their undo slots
    /// (see `EpochState::forget_from`).
    pub(crate) fn forget_cut_pages(&self, view: &mut View, pages: u64) {
        let device = &self.device;
        let uid = view.region.uid;
        view.epoch.forget_from(
            &mut device.pm(),
            &device.layout,
            uid,
            pages,
            &device.undo_pool,
        );
    }

    /// PMSYNC with the region's lock held: returns the epoch that is now durable, or
    /// `EOVERFLOW` when the region's epochs are used up.
    pub(crate) fn commit(&self, view: &mut View) -> Result<u64> {
        let device = &self.device;
        let View {
            region,
            epoch,
            writers,
            writers_lost,
            untracked,
            ..
        } = view;
        let all = *writers_lost || *untracked > 0;
        let c = epoch
            .commit(
                &mut device.pm(),
                &device.layout,
                self.index,
                region,
                &device.undo_pool,
                |pages| self.quiesce(pages, writers, all),
            )
            .map_err(|_| EOVERFLOW)?;
        if c.advanced {
            writers.clear();
            *writers_lost = false;
            self.count_commit(c);
        }
        Ok(c.epoch)
    }

    fn count_commit(&self, c: Commit) {
        let counters = &self.device.op_counters;
        counters
            .pages_written_back
            .fetch_add(c.pages_written, Relaxed);
        counters.pmsyncs.fetch_add(1, Relaxed);
    }

    /// No CPU may store to a dirty page from here on: removes the writable mappings of `pages`
    /// in the mappings listed in `writers` (in every mapping if `all`), one by one for a few
    /// pages, over their whole span otherwise.
    fn quiesce(&self, pages: &[u64], writers: &[usize], all: bool) {
        if pages.len() <= UNMAP_ONE_BY_ONE {
            for &p in pages {
                self.unmap_writers(writers, all, p, 1);
            }
        } else {
            let first = pages.iter().copied().min().unwrap_or(0);
            let last = pages.iter().copied().max().unwrap_or(0);
            self.unmap_writers(writers, all, first, last - first + 1);
        }
    }

    /// Removes the page table entries of pages `[first, first + count)` from the mappings in
    /// `writers` (from every mapping if `all`): one TLB shootdown round.
    fn unmap_writers(&self, writers: &[usize], all: bool, first: u64, count: u64) {
        let counters = &self.device.op_counters;
        if all {
            // SAFETY: `self.inode` is live (type invariant of `OpenRegion`).
            unsafe { region_unmap_pages(self.inode, first, count) };
        } else {
            // SAFETY: `self.inode` is live (type invariant of `OpenRegion`), and `writers` is
            // valid for reads of its length for the call.
            let unmapped = unsafe {
                region_unmap_pages_in(
                    self.inode,
                    first,
                    count,
                    writers.as_ptr().cast(),
                    writers.len(),
                )
            };
            counters
                .mappings_unmapped
                .fetch_add(unmapped as u64, Relaxed);
        }
        counters.unmap_rounds.fetch_add(1, Relaxed);
    }

    /// `REGION_IOC_PMSYNC`.
    pub(crate) fn pmsync(&self) -> Result<u64> {
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
        let mut file: *mut kernel::bindings::file = core::ptr::null_mut();
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
            unsafe { borrow(private) }
                .pmsync()
                .and_then(|_| seen.push(private as usize, GFP_KERNEL).map_err(Error::from))
        };
        // SAFETY: drops the reference `region_next_open_region` took, once.
        unsafe { region_put_file(file) };
        result?;
    }
}
