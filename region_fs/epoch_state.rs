// SPDX-License-Identifier: GPL-2.0

//! One open region's epoch: its number, the pages written in it and the undo slot each one's
//! committed contents are in, and the two ends of the epoch as persistent-memory steps: the
//! first write to a page (saved to an undo slot first, within its owner's share, committing the
//! region itself when the share or the area runs out) and the commit (write back, fence, advance
//! the epoch). Also what a shrink does to the pages it cuts off.
//!
//! The module keeps an [`EpochState`] under each open region's lock and brings what only the
//! kernel can do: removing the writable mappings of the dirty pages before a commit (`quiesce`),
//! and the storage of the dirty set. The host tests drive the same code against a model.
//!
//! Plain `core` Rust shared by the module and the host crates.

use crate::alloc::OutOfMemory;
use crate::geometry::PAGE_SIZE;
use crate::ops;
use crate::pm::Pm;
use crate::superblock::Layout;
use crate::table::Region;
use crate::undo::UndoHeader;
use crate::undo_share::{on_shortage, OnShortage, Shortage};

/// The pages written in the current epoch of one region and their undo slots.
pub trait DirtyPages {
    /// Whether page `page` was saved in this epoch.
    fn contains(&self, page: u64) -> bool;
    /// Records that `page`'s committed contents are in undo slot `slot`; nothing on failure.
    fn insert(&mut self, page: u64, slot: u32) -> Result<(), OutOfMemory>;
    /// The dirty pages, in the order they were saved.
    fn pages(&self) -> &[u64];
    /// Their undo slots, in the same order.
    fn slots(&self) -> &[u32];
    /// Empties the set.
    fn clear(&mut self);
    /// Removes the pages at or beyond `first`, calling `forget` with each one's slot; allocates
    /// nothing.
    fn remove_from(&mut self, first: u64, forget: impl FnMut(u32));
}

/// The undo slots of the device, shared by owners (see `undo_share.rs`).
pub trait UndoSlots {
    /// Takes a free slot for a region owned by `uid`, within that owner's share.
    fn take_for(&self, uid: u32) -> Result<u32, Shortage>;
    /// Gives back `slots`, taken for `uid`.
    fn give_back(&self, uid: u32, slots: &[u32]);
}

/// What a commit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The epoch now durable.
    pub epoch: u64,
    /// Whether this commit advanced the epoch (something was dirty).
    pub advanced: bool,
    /// Dirty pages written back (zero when there was nothing to commit).
    pub pages_written: u64,
}

/// What a first write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstWrite {
    /// The page was saved in this epoch already: nothing to do.
    AlreadySaved,
    /// The page is saved now; `committed` if the region had to be committed first.
    Saved {
        /// The automatic commit, if one was needed.
        committed: Option<Commit>,
    },
}

/// Why a first write is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The region has no such page.
    OutOfRange,
    /// No slot could be had (see [`Shortage`]).
    Shortage(Shortage),
}

/// The epoch of one open region of table entry `index`.
pub struct EpochState<D> {
    /// The epoch stores go to now: the number the next commit makes durable.
    pub epoch: u64,
    /// The pages saved (and so writable) in this epoch.
    pub dirty: D,
}

impl<D: DirtyPages> EpochState<D> {
    /// Before the first write to page `pgoff` of `region` (entry `index`) in this epoch: saves
    /// its committed contents to an undo slot, persisted, charged to the region's owner. When the
    /// owner's share or the area is used up and the region holds slots, commits the region first
    /// (`quiesce` as for [`EpochState::commit`]) and takes a slot again.
    #[allow(clippy::too_many_arguments)]
    pub fn first_write<P: Pm, U: UndoSlots>(
        &mut self,
        pm: &mut P,
        layout: &Layout,
        index: u32,
        region: &Region,
        pgoff: u64,
        pool: &U,
        quiesce: impl FnOnce(&[u64]),
    ) -> Result<FirstWrite, Refused> {
        let page = region.device_page(pgoff).ok_or(Refused::OutOfRange)?;
        if self.dirty.contains(pgoff) {
            return Ok(FirstWrite::AlreadySaved);
        }
        let mut committed = None;
        let slot = match pool.take_for(region.uid) {
            Ok(slot) => slot,
            Err(shortage) => match on_shortage(shortage, self.dirty.slots().len()) {
                OnShortage::CommitOwnRegion => {
                    committed = Some(self.commit(pm, layout, index, region, pool, quiesce));
                    pool.take_for(region.uid).map_err(Refused::Shortage)?
                }
                OnShortage::Refuse => return Err(Refused::Shortage(shortage)),
            },
        };
        if self.dirty.insert(pgoff, slot).is_err() {
            pool.give_back(region.uid, &[slot]);
            return Err(Refused::Shortage(Shortage::OutOfMemory));
        }
        let header = UndoHeader {
            region: index,
            page: pgoff,
            epoch: self.epoch,
        };
        ops::save_undo(pm, layout, slot, &header, page);
        Ok(FirstWrite::Saved { committed })
    }

    /// Commits the epoch: `quiesce(pages)` first removes every writable mapping of the dirty
    /// pages (after it no CPU can store to them), then their lines are written back, one fence,
    /// and the epoch advances with one 8-byte store: the slots are free from that instant.
    /// With nothing dirty, nothing is written and the last committed epoch is returned.
    pub fn commit<P: Pm, U: UndoSlots>(
        &mut self,
        pm: &mut P,
        layout: &Layout,
        index: u32,
        region: &Region,
        pool: &U,
        quiesce: impl FnOnce(&[u64]),
    ) -> Commit {
        if self.dirty.pages().is_empty() {
            return Commit {
                epoch: self.epoch - 1,
                advanced: false,
                pages_written: 0,
            };
        }
        quiesce(self.dirty.pages());
        let mut written = 0;
        // Device pages that follow each other in fault order are written back in one call.
        let mut run: Option<(u64, u64)> = None;
        for &p in self.dirty.pages() {
            if let Some(page) = region.device_page(p) {
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
        let committed = self.epoch;
        self.epoch = ops::advance_epoch(pm, layout, index, committed);
        pool.give_back(region.uid, self.dirty.slots());
        self.dirty.clear();
        Commit {
            epoch: committed,
            advanced: true,
            pages_written: written,
        }
    }

    /// After a shrink of a region owned by `uid` to `pages` pages has committed: the pages cut
    /// off lose their undo slots, on persistent memory too, so that if the region grows again in
    /// this epoch their old contents cannot come back at the next attach, and their next first
    /// writes save them again.
    pub fn forget_from<P: Pm, U: UndoSlots>(
        &mut self,
        pm: &mut P,
        layout: &Layout,
        uid: u32,
        pages: u64,
        pool: &U,
    ) {
        self.dirty.remove_from(pages, |slot| {
            ops::forget_undo(pm, layout, slot);
            pool.give_back(uid, &[slot]);
        });
    }
}
