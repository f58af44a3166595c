// SPDX-License-Identifier: GPL-2.0

//! PMSYNC: the two ends of an epoch of an open region, and the state it keeps for them
//! ([`Epoch`], inside the open region's `View`, under its lock).
//!
//! After each commit no page of the region is mapped writable: read faults map pages read-only,
//! and the commit removes the mappings of the pages written in the epoch. The first write to a
//! page in an epoch therefore faults (`->fault` for a write, `->pfn_mkwrite` for a read-only
//! mapping; both in `region_file.rs`), and [`Epoch::first_write`] saves the page's committed
//! contents to an undo slot, persisted, before the page becomes writable.
//!
//! [`Epoch::commit`] runs with the region's lock held, so no new write can start; removes the
//! mappings of the dirty pages in every process that may store to them (the TLB shootdown), so
//! no CPU can; writes their lines back, fences, and commits by advancing the epoch with one 8-byte
//! store (written back, fenced). The slots are free from that instant. Its cost follows the dirty
//! pages: it walks [`DirtySet`], never the region. What to save, when to commit and in which
//! order are `EpochState`'s (`region_fs/core/epoch_state.rs`, tested on the host); this file
//! brings the kernel's part: the unmapping, the counters, the errors of a fault.
//!
//! The processes that may store to a dirty page are those whose mapping took a write fault in
//! the epoch (the fault handlers record it with [`Epoch::note_writer`] before a page table entry
//! becomes writable), or appeared by copying such a mapping (fork, split, mremap: recorded by
//! `->open`). Only their entries are removed; a process that only read keeps its read-only
//! entries and gets no TLB flush. A write fault still in flight in a recorded mapping finds its
//! entry gone and retries in the next epoch, as before.
//!
//! Lock order: the mmap lock (faults), then the device's table lock, then `OpenRegion::view`;
//! unmapping (i_mmap_rwsem, page table locks) after `view`; the undo pool's charges innermost.

use crate::{
    dirty::DirtySet,
    epoch_state::{Commit, EpochState, FirstWrite, Refused, WriteRange},
    region_file::{borrow, OpenRegion, VmFault, VM_FAULT_OOM, VM_FAULT_SIGBUS},
    regionfs_h::{
        region_next_open_region, region_put_file, region_unmap_page_list, region_unmap_pages,
    },
    table::Region,
    undo_share::Shortage,
};
use core::sync::atomic::Ordering::Relaxed;
use kernel::{ffi::c_uint, prelude::*};

/// PMSYNC's state of one open region.
pub(crate) struct Epoch {
    /// The epoch stores go to now, and the pages saved (and so writable) in it.
    state: EpochState<DirtySet>,
    /// The mappings (by `vm_area_struct` address) that may hold a writable page table entry of a
    /// page dirty in this epoch, or have a write fault on one in flight: those that took a write
    /// fault since the last commit, and those that appeared by copying another (fork, split,
    /// mremap). Only these need their entries removed at the commit. Region mappings are
    /// `VM_PFNMAP | VM_DONTEXPAND`, which the kernel never merges or expands, so entries move to
    /// another mapping only through those copies (`->open`), never unseen.
    writers: KVec<usize>,
    /// A writer could not be recorded (no memory): the commit unmaps every mapping.
    writers_lost: bool,
}

impl Epoch {
    /// An epoch numbered `epoch` with nothing dirty yet (`dirty` is empty).
    pub(crate) fn new(epoch: u64, dirty: DirtySet) -> Self {
        Self {
            state: EpochState { epoch, dirty },
            writers: KVec::new(),
            writers_lost: false,
        }
    }

    /// The number the next commit makes durable.
    pub(crate) fn number(&self) -> u64 {
        self.state.epoch
    }

    /// Whether stores since the last commit hold undo slots, and the epoch they belong to.
    pub(crate) fn uncommitted(&self) -> (bool, u64) {
        (!self.state.dirty.is_empty(), self.state.epoch)
    }

    /// Makes room in the dirty set for `pages` pages, before a resize commits.
    pub(crate) fn make_room(&mut self, pages: u64) -> Result {
        self.state.dirty.grow(pages)
    }

    /// Takes the undo slots out (when the region goes away): page slots and line-log slots.
    pub(crate) fn take_slots(&mut self) -> [KVVec<u32>; 2] {
        self.state.dirty.take_slots()
    }

    /// Records that mapping `vma` may hold writable page table entries in this epoch.
    pub(crate) fn note_writer(&mut self, vma: usize) {
        if !self.writers_lost
            && !self.writers.contains(&vma)
            && self.writers.push(vma, GFP_KERNEL).is_err()
        {
            self.writers_lost = true;
        }
    }

    /// Mapping `vma` went away.
    pub(crate) fn forget_writer(&mut self, vma: usize) {
        self.writers.retain(|v| *v != vma);
    }

    /// Before the first write to page `pgoff` of `open` (shaped `region`) in this epoch: saves its
    /// committed contents to an undo slot and persists it; with the owner's share or the area
    /// used up it commits the region first (an automatic PMSYNC). `untracked`: a mapping exists
    /// whose range could not be recorded (a commit then unmaps every mapping).
    pub(crate) fn first_write(
        &mut self,
        open: &OpenRegion,
        region: &Region,
        untracked: bool,
        pgoff: u64,
    ) -> Result<(), VmFault> {
        // Saved already in this epoch (the dirty set holds only pages inside the region): no
        // access to the device at all.
        if self.state.dirty.contains(pgoff) {
            return Ok(());
        }
        let device = &open.device;
        let all = self.writers_lost || untracked;
        let writers = &self.writers;
        let saved = self.state.first_write(
            &mut device.pm(),
            &device.layout,
            open.index,
            region,
            pgoff,
            &device.undo_pool,
            |pages| quiesce(open, pages, writers, all),
        );
        match saved {
            Ok(FirstWrite::AlreadySaved) => Ok(()),
            Ok(FirstWrite::Saved { committed }) => {
                if let Some(c) = committed {
                    self.committed(open, c);
                }
                device.op_counters.undo_pages.fetch_add(1, Relaxed);
                Ok(())
            }
            Err(Refused::OutOfRange) => Err(VM_FAULT_SIGBUS),
            Err(Refused::EpochsExhausted) => {
                pr_warn!(
                    "region {}: its epochs are used up (2^48 commits): write refused with SIGBUS\n",
                    open.index
                );
                Err(VM_FAULT_SIGBUS)
            }
            Err(Refused::Shortage(shortage)) => Err(refuse_first_write(open, shortage)),
            Err(Refused::Poisoned) => {
                pr_err!("region {}: page {} cannot be saved before its first write (poisoned memory): write refused with SIGBUS\n", open.index, pgoff);
                Err(VM_FAULT_SIGBUS)
            }
        }
    }

    /// `REGION_IOC_WRITE` into `open` (shaped `region`) with its lock held: logs and writes
    /// `ranges` (see `EpochState::log_write`), committing first if the undo area runs short.
    pub(crate) fn log_write(
        &mut self,
        open: &OpenRegion,
        region: &Region,
        untracked: bool,
        ranges: &[WriteRange<'_>],
    ) -> Result {
        let device = &open.device;
        let all = self.writers_lost || untracked;
        let writers = &self.writers;
        let done = self.state.log_write(
            &mut device.pm(),
            &device.layout,
            open.index,
            region,
            ranges,
            &device.undo_pool,
            |pages| quiesce(open, pages, writers, all),
        );
        let counters = &device.op_counters;
        match done {
            Ok(w) => {
                if let Some(c) = w.committed {
                    self.committed(open, c);
                }
                counters.logged_writes.fetch_add(1, Relaxed);
                counters.lines_logged.fetch_add(w.lines_logged, Relaxed);
                counters.undo_pages.fetch_add(w.pages_saved, Relaxed);
                Ok(())
            }
            Err(Refused::OutOfRange) => Err(EINVAL),
            Err(Refused::EpochsExhausted) => Err(EOVERFLOW),
            Err(Refused::Shortage(Shortage::OutOfMemory)) => Err(ENOMEM),
            Err(Refused::Shortage(shortage)) => {
                pr_warn!(
                    "region {}: write refused with ENOSPC: {}\n",
                    open.index,
                    match shortage {
                        Shortage::OwnerShare => "its owner's other regions hold the owner's whole share of the undo area",
                        _ => "undo area full",
                    }
                );
                Err(ENOSPC)
            }
            Err(Refused::Poisoned) => {
                pr_err!("region {}: a line cannot be saved before the write (poisoned memory): write refused with EIO\n", open.index);
                Err(EIO)
            }
        }
    }

    /// PMSYNC of `open` (shaped `region`) with its lock held: returns the epoch that is now
    /// durable, or `EOVERFLOW` when the region's epochs are used up.
    pub(crate) fn commit(
        &mut self,
        open: &OpenRegion,
        region: &Region,
        untracked: bool,
    ) -> Result<u64> {
        let device = &open.device;
        let all = self.writers_lost || untracked;
        let writers = &self.writers;
        let c = self
            .state
            .commit(
                &mut device.pm(),
                &device.layout,
                open.index,
                region,
                &device.undo_pool,
                |pages| quiesce(open, pages, writers, all),
            )
            .map_err(|_| EOVERFLOW)?;
        if c.advanced {
            self.committed(open, c);
        }
        Ok(c.epoch)
    }

    /// After a commit: no mapping holds a writable entry any more; counts it.
    fn committed(&mut self, open: &OpenRegion, c: Commit) {
        self.writers.clear();
        self.writers_lost = false;
        let counters = &open.device.op_counters;
        counters
            .pages_written_back
            .fetch_add(c.pages_written, Relaxed);
        counters.pmsyncs.fetch_add(1, Relaxed);
    }

    /// After a shrink of `open` (owned by `uid`) to `pages` pages has committed: the pages cut off
    /// lose their undo slots (see `EpochState::forget_from`).
    pub(crate) fn forget_from(&mut self, open: &OpenRegion, uid: u32, pages: u64) {
        let device = &open.device;
        self.state.forget_from(
            &mut device.pm(),
            &device.layout,
            uid,
            pages,
            &device.undo_pool,
        );
    }
}

/// The fault code for a first write refused for `shortage`, with a log line saying why.
fn refuse_first_write(open: &OpenRegion, shortage: Shortage) -> VmFault {
    match shortage {
        Shortage::OwnerShare => pr_warn!("region {}: its owner's other regions hold the owner's whole share of the undo area ({} slots): write refused with SIGBUS; PMSYNC or close them\n", open.index, open.device.undo_pool.share()),
        Shortage::AreaFull => pr_warn!("region {}: undo area full (other owners' open regions hold every slot): write refused with SIGBUS\n", open.index),
        Shortage::OutOfMemory => return VM_FAULT_OOM,
    }
    VM_FAULT_SIGBUS
}

/// No CPU may store to a dirty page from here on: removes the writable mappings of `pages` of
/// `open` in the mappings listed in `writers` (in every mapping if `all`), in one walk of the
/// region's mappings, with one TLB flush per mapping for pages that lie close together (see
/// `region_unmap_page_list`). Without memory to sort the pages, it unmaps their whole span from
/// every mapping instead.
fn quiesce(open: &OpenRegion, pages: &[u64], writers: &[usize], all: bool) {
    // No page, or no mapping that may hold a writable entry (pages saved by writes through the
    // kernel, never mapped writable): nothing to remove, no walk, no flush.
    if pages.is_empty() || (!all && writers.is_empty()) {
        return;
    }
    let counters = &open.device.op_counters;
    counters.unmap_rounds.fetch_add(1, Relaxed);
    let mut sorted: KVVec<u64> = KVVec::new();
    // A copy: the C side sorts it.
    if sorted.extend_from_slice(pages, GFP_KERNEL).is_err() {
        let first = pages.iter().copied().min().unwrap_or(0);
        let last = pages.iter().copied().max().unwrap_or(0);
        // SAFETY: `open.inode` is live (type invariant of `OpenRegion`).
        unsafe { region_unmap_pages(open.inode, first, last - first + 1) };
        return;
    }
    let (vmas, n) = if all {
        (core::ptr::null(), 0)
    } else {
        (writers.as_ptr().cast(), writers.len())
    };
    let (list, len) = (sorted.as_mut_ptr(), sorted.len());
    // SAFETY: `open.inode` is live (type invariant of `OpenRegion`); `list` is valid for reads
    // and writes of `len` pages (sorted in place) and `vmas` for reads of `n` entries for the call
    // (a null `vmas` means every mapping).
    let unmapped = unsafe { region_unmap_page_list(open.inode, list, len, vmas, n) };
    counters
        .mappings_unmapped
        .fetch_add(unmapped as u64, Relaxed);
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
