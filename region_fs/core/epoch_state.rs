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
use crate::table::{epoch_may_advance, Region};
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

/// The region's epoch reached the end of its 48 bits: it cannot commit any more (after 2^48
/// commits; at a million a second, nine years). Its stores stay uncommitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochsExhausted;

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
    /// The commit that would free slots cannot happen (see [`EpochsExhausted`]).
    EpochsExhausted,
    /// The page's committed contents cannot be read: its memory (or the slot's) is poisoned.
    Poisoned,
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
                    let c = self
                        .commit(pm, layout, index, region, pool, quiesce)
                        .map_err(|EpochsExhausted| Refused::EpochsExhausted)?;
                    committed = Some(c);
                    pool.take_for(region.uid).map_err(Refused::Shortage)?
                }
                OnShortage::Refuse => return Err(Refused::Shortage(shortage)),
            },
        };
        let header = UndoHeader {
            region: index,
            page: pgoff,
            epoch: self.epoch,
        };
        if ops::save_undo(pm, layout, slot, &header, page).is_err() {
            pool.give_back(region.uid, &[slot]);
            return Err(Refused::Poisoned);
        }
        if self.dirty.insert(pgoff, slot).is_err() {
            // The slot's header names the page in this epoch, but the page is never written:
            // if it is rolled back, it gets its own committed contents.
            pool.give_back(region.uid, &[slot]);
            return Err(Refused::Shortage(Shortage::OutOfMemory));
        }
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
    ) -> Result<Commit, EpochsExhausted> {
        if self.dirty.pages().is_empty() {
            return Ok(Commit {
                epoch: self.epoch - 1,
                advanced: false,
                pages_written: 0,
            });
        }
        if !epoch_may_advance(self.epoch) {
            return Err(EpochsExhausted);
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
        Ok(Commit {
            epoch: committed,
            advanced: true,
            pages_written: written,
        })
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

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::crash_sim::SimPm;
    use crate::superblock::Superblock;
    use crate::table::{Extent, EPOCH_MAX};
    use core::cell::Cell;
    use std::vec::Vec;

    #[derive(Default)]
    struct Pages(Vec<u64>, Vec<u32>);

    impl DirtyPages for Pages {
        fn contains(&self, page: u64) -> bool {
            self.0.contains(&page)
        }
        fn insert(&mut self, page: u64, slot: u32) -> Result<(), OutOfMemory> {
            self.0.push(page);
            self.1.push(slot);
            Ok(())
        }
        fn pages(&self) -> &[u64] {
            &self.0
        }
        fn slots(&self) -> &[u32] {
            &self.1
        }
        fn clear(&mut self) {
            self.0.clear();
            self.1.clear();
        }
        fn remove_from(&mut self, _: u64, _: impl FnMut(u32)) {}
    }

    struct OneSlot(Cell<bool>);

    impl UndoSlots for OneSlot {
        fn take_for(&self, _: u32) -> Result<u32, Shortage> {
            if self.0.replace(false) {
                Ok(0)
            } else {
                Err(Shortage::AreaFull)
            }
        }
        fn give_back(&self, _: u32, _: &[u32]) {
            self.0.set(true);
        }
    }

    /// A region whose epoch reached the end of the 48-bit field stops committing (PMSYNC says
    /// so, a first write that would need a commit is refused), and never wraps to zero.
    #[test]
    fn the_last_epochs_are_never_used() {
        let sb = Superblock {
            uuid: [1; 16],
            device_pages: 48,
            table_entries: 8,
            undo_slots: 8,
        };
        let mut pm = SimPm::new(48 * 4096);
        let layout = ops::format(&mut pm, &sb).expect("formats");
        let r = Region::new(
            b"r",
            0,
            0,
            0o600,
            &[Extent {
                start: layout.data_start,
                pages: 2,
            }],
            0,
        );
        let pool = OneSlot(Cell::new(true));
        let mut e = EpochState {
            epoch: EPOCH_MAX - 2,
            dirty: Pages::default(),
        };
        let w = e.first_write(&mut pm, &layout, 0, &r, 0, &pool, |_| {});
        assert_eq!(w, Ok(FirstWrite::Saved { committed: None }));
        let c = e.commit(&mut pm, &layout, 0, &r, &pool, |_| {});
        assert_eq!(c.map(|c| c.epoch), Ok(EPOCH_MAX - 2));
        assert_eq!(e.epoch, EPOCH_MAX - 1);
        e.first_write(&mut pm, &layout, 0, &r, 0, &pool, |_| {})
            .expect("a slot is free");
        assert_eq!(
            e.commit(&mut pm, &layout, 0, &r, &pool, |_| {}),
            Err(EpochsExhausted)
        );
        assert_eq!(
            e.first_write(&mut pm, &layout, 0, &r, 1, &pool, |_| {}),
            Err(Refused::EpochsExhausted),
            "the commit that would free the slot cannot happen"
        );
    }
}
