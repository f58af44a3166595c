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
use crate::line_log::{self, RecordOwner, RECORDS_PER_SLOT};
use crate::ops;
use crate::pm::{Pm, CACHE_LINE};
use crate::superblock::Layout;
use crate::table::{epoch_may_advance, Region};
use crate::undo::{SlotKind, UndoHeader};
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

    /// The lines of page `page` that have a line record in this epoch, as a bit mask.
    fn lines_logged(&self, page: u64) -> u64;
    /// Records that line `line` of page `page` has record number [`DirtyPages::records`]`.len()`
    /// (which it appends); nothing on failure.
    fn log_line(&mut self, page: u64, line: u32) -> Result<(), OutOfMemory>;
    /// The region line number (byte offset / 64) of each record of the epoch, in record order;
    /// `u64::MAX` for a record a shrink forgot. Record `n` is at position `n % RECORDS_PER_SLOT`
    /// of line-log slot [`DirtyPages::line_slots`]`[n / RECORDS_PER_SLOT]`.
    fn records(&self) -> &[u64];
    /// The line-log slots of the epoch, in sequence order.
    fn line_slots(&self) -> &[u32];
    /// Appends a line-log slot; nothing on failure.
    fn push_line_slot(&mut self, slot: u32) -> Result<(), OutOfMemory>;
    /// Forgets the records of lines at or beyond region line `first` (their pages' masks too),
    /// calling `forget` with each one's line-log slot and position; allocates nothing.
    fn forget_lines_from(&mut self, first: u64, forget: impl FnMut(u32, u32));
    /// Drops every record and line-log slot of the epoch (their slots are given back).
    fn drop_lines(&mut self);
}

/// One range of a write through the kernel: `data` goes to byte `offset` of the region.
#[derive(Clone, Copy, Debug)]
pub struct WriteRange<'a> {
    /// Where in the region.
    pub offset: u64,
    /// The new bytes.
    pub data: &'a [u8],
}

/// Lines of one page a logged write records one by one; beyond them it saves the whole page
/// (48 records cost 60 lines with their descriptors, a page copy 64 and its header).
pub const MOST_LINES_LOGGED: u32 = 48;

/// What a logged write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoggedWrite {
    /// The automatic commit the undo area's shortage forced first, if any.
    pub committed: Option<Commit>,
    /// Lines saved to line records.
    pub lines_logged: u64,
    /// Pages saved whole to undo slots.
    pub pages_saved: u64,
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

/// Why logging stopped: a slot could not be had (the caller may commit and log again), or a
/// refusal.
enum Logging {
    Commit(Shortage),
    Refused(Refused),
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
            Err(shortage) => match on_shortage(shortage, self.held_slots()) {
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
        self.save_to(pm, layout, index, region, pgoff, page, slot, pool)?;
        Ok(FirstWrite::Saved { committed })
    }

    /// Saves page `pgoff` (device page `page`) of `region` to `slot`, taken for it, and marks it
    /// dirty; gives the slot back on failure.
    #[allow(clippy::too_many_arguments)]
    fn save_to<P: Pm, U: UndoSlots>(
        &mut self,
        pm: &mut P,
        layout: &Layout,
        index: u32,
        region: &Region,
        pgoff: u64,
        page: u64,
        slot: u32,
        pool: &U,
    ) -> Result<(), Refused> {
        let header = UndoHeader::page_copy(index, pgoff, self.epoch);
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
        Ok(())
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
        if self.dirty.pages().is_empty() && self.dirty.records().is_empty() {
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
        pool.give_back(region.uid, self.dirty.line_slots());
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
        // The descriptors of the cut lines' records are zeroed (a zero descriptor never checks
        // out); their slots stay with the epoch and go back at its commit.
        let mut forgot = false;
        self.dirty
            .forget_lines_from(pages * (PAGE_SIZE / CACHE_LINE), |slot, pos| {
                let (desc, _) = line_log::record_offsets(pos);
                let at = layout.undo_data_offset(slot) + desc;
                pm.zero(at, line_log::DESCRIPTOR_SIZE);
                pm.writeback(at, line_log::DESCRIPTOR_SIZE);
                forgot = true;
            });
        if forgot {
            pm.fence();
        }
        // With every record forgotten, the line-log slots hold nothing that counts: back to the
        // pool, so that a region left with nothing uncommitted holds no slot.
        if self.dirty.records().iter().all(|&l| l == u64::MAX) {
            pool.give_back(uid, self.dirty.line_slots());
            self.dirty.drop_lines();
        }
    }

    /// A write through the kernel of `ranges` into `region` (entry `index`): every line it
    /// touches whose page was not saved in this epoch gets a line record first (or, past
    /// [`MOST_LINES_LOGGED`] lines of one page or on a device without line records, the page is
    /// saved whole), written non-temporally; one fence; then the new bytes, non-temporally. The
    /// bytes then belong to the epoch as stores through a mapping do: durable at its commit,
    /// rolled back by a power cut before it. When the undo area runs short the region is committed
    /// first, as for a first write (`quiesce` as for [`EpochState::commit`]), and the logging
    /// starts again in the new epoch: no byte is written before every line it changes is logged
    /// in the epoch it is written in.
    #[allow(clippy::too_many_arguments)]
    pub fn log_write<P: Pm, U: UndoSlots>(
        &mut self,
        pm: &mut P,
        layout: &Layout,
        index: u32,
        region: &Region,
        ranges: &[WriteRange<'_>],
        pool: &U,
        mut quiesce: impl FnMut(&[u64]),
    ) -> Result<LoggedWrite, Refused> {
        let size = region.size_pages * PAGE_SIZE;
        for r in ranges {
            let end = r.offset.checked_add(r.data.len() as u64);
            if end.is_none_or(|end| end > size) {
                return Err(Refused::OutOfRange);
            }
        }
        let mut done = LoggedWrite::default();
        // A commit while logging makes what was logged so far stale: log again (once; after a
        // commit the region holds no slot, so a second shortage is refused, not committed).
        loop {
            match self.log_ranges(pm, layout, index, region, ranges, pool, &mut done) {
                Ok(()) => break,
                Err(Logging::Commit(shortage)) => {
                    if done.committed.is_some()
                        || on_shortage(shortage, self.held_slots()) == OnShortage::Refuse
                    {
                        return Err(Refused::Shortage(shortage));
                    }
                    let c = self
                        .commit(pm, layout, index, region, pool, &mut quiesce)
                        .map_err(|EpochsExhausted| Refused::EpochsExhausted)?;
                    done.committed = Some(c);
                }
                Err(Logging::Refused(r)) => return Err(r),
            }
        }
        for r in ranges {
            let mut at = r.offset;
            let mut data = r.data;
            while !data.is_empty() {
                let within = at % PAGE_SIZE;
                let n = data.len().min((PAGE_SIZE - within) as usize);
                let page = region
                    .device_page(at / PAGE_SIZE)
                    .ok_or(Refused::OutOfRange)?;
                pm.write_nt(page * PAGE_SIZE + within, &data[..n]);
                at += n as u64;
                data = &data[n..];
            }
        }
        // The device refused an access (it is going away): the bytes may not have landed.
        if pm.take_poison() {
            return Err(Refused::Poisoned);
        }
        Ok(done)
    }

    /// The logging half of [`EpochState::log_write`]: records (or page saves) for every line of
    /// `ranges` not yet saved in this epoch, then one fence.
    #[allow(clippy::too_many_arguments)]
    fn log_ranges<P: Pm, U: UndoSlots>(
        &mut self,
        pm: &mut P,
        layout: &Layout,
        index: u32,
        region: &Region,
        ranges: &[WriteRange<'_>],
        pool: &U,
        done: &mut LoggedWrite,
    ) -> Result<(), Logging> {
        let lines_per_page = PAGE_SIZE / CACHE_LINE;
        let mut logged_any = false;
        // The descriptor line written last, to be written back once.
        let mut desc_line: Option<u64> = None;
        for r in ranges.iter().filter(|r| !r.data.is_empty()) {
            let first = r.offset / CACHE_LINE;
            let last = (r.offset + r.data.len() as u64 - 1) / CACHE_LINE;
            let mut line = first;
            while line <= last {
                let pgoff = line / lines_per_page;
                let page_last = last.min((pgoff + 1) * lines_per_page - 1);
                let mut wanted = 0u64;
                for l in line..=page_last {
                    wanted |= 1 << (l % lines_per_page);
                }
                line = page_last + 1;
                if self.dirty.contains(pgoff) {
                    continue;
                }
                let logged = self.dirty.lines_logged(pgoff);
                let new = wanted & !logged;
                if new == 0 {
                    continue;
                }
                if !layout.compact_undo || (logged | new).count_ones() > MOST_LINES_LOGGED {
                    self.save_page(pm, layout, index, region, pgoff, pool)?;
                    done.pages_saved += 1;
                    continue;
                }
                let page = region
                    .device_page(pgoff)
                    .ok_or(Logging::Refused(Refused::OutOfRange))?;
                for bit in 0..lines_per_page as u32 {
                    if new & (1 << bit) == 0 {
                        continue;
                    }
                    let n = self.dirty.records().len();
                    let seq = n / RECORDS_PER_SLOT as usize;
                    if seq == self.dirty.line_slots().len() {
                        let slot = pool.take_for(region.uid).map_err(Logging::Commit)?;
                        if self.dirty.push_line_slot(slot).is_err() {
                            pool.give_back(region.uid, &[slot]);
                            return Err(Logging::Refused(Refused::Shortage(Shortage::OutOfMemory)));
                        }
                        let h = UndoHeader {
                            region: index,
                            kind: SlotKind::Lines,
                            page: seq as u64,
                            epoch: self.epoch,
                        };
                        let at = layout.undo_header_offset(slot);
                        pm.write(at, &h.encode());
                        pm.writeback(at, crate::undo::HEADER_SIZE as u64);
                    }
                    let slot = self.dirty.line_slots()[seq];
                    let mut old = [0u8; CACHE_LINE as usize];
                    pm.take_poison();
                    pm.read(page * PAGE_SIZE + u64::from(bit) * CACHE_LINE, &mut old);
                    if pm.take_poison() {
                        return Err(Logging::Refused(Refused::Poisoned));
                    }
                    let pos = (n % RECORDS_PER_SLOT as usize) as u32;
                    let owner = RecordOwner {
                        region: index,
                        epoch: self.epoch,
                        seq: seq as u64,
                    };
                    let region_line = pgoff * lines_per_page + u64::from(bit);
                    let (desc, saved) = line_log::record_offsets(pos);
                    let base = layout.undo_data_offset(slot);
                    pm.write_nt(base + saved, &old);
                    pm.write(
                        base + desc,
                        &line_log::descriptor(&owner, pos, region_line, &old),
                    );
                    let this_line = (base + desc) / CACHE_LINE;
                    if desc_line.is_some_and(|l| l != this_line) {
                        pm.writeback(desc_line.unwrap_or(0) * CACHE_LINE, CACHE_LINE);
                    }
                    desc_line = Some(this_line);
                    if self.dirty.log_line(pgoff, bit).is_err() {
                        return Err(Logging::Refused(Refused::Shortage(Shortage::OutOfMemory)));
                    }
                    done.lines_logged += 1;
                    logged_any = true;
                }
            }
        }
        if let Some(l) = desc_line {
            pm.writeback(l * CACHE_LINE, CACHE_LINE);
        }
        if logged_any {
            pm.fence();
        }
        Ok(())
    }

    /// Saves page `pgoff` whole for a logged write; a shortage asks the caller to commit.
    fn save_page<P: Pm, U: UndoSlots>(
        &mut self,
        pm: &mut P,
        layout: &Layout,
        index: u32,
        region: &Region,
        pgoff: u64,
        pool: &U,
    ) -> Result<(), Logging> {
        let page = region
            .device_page(pgoff)
            .ok_or(Logging::Refused(Refused::OutOfRange))?;
        let slot = pool.take_for(region.uid).map_err(Logging::Commit)?;
        self.save_to(pm, layout, index, region, pgoff, page, slot, pool)
            .map_err(Logging::Refused)
    }

    /// Undo slots the epoch holds: page copies and line logs.
    pub fn held_slots(&self) -> usize {
        self.dirty.slots().len() + self.dirty.line_slots().len()
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

    use crate::model_tests::HostDirty as Pages;

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
