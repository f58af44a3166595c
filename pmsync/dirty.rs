// SPDX-License-Identifier: GPL-2.0

//! Dirty tracking: which pages of an open region were written in the current epoch, and which
//! undo slot holds each one's committed contents.
//!
//! A page is dirty from the first write fault of an epoch (after its undo slot is persisted) to
//! the commit that ends the epoch. Only dirty pages are mapped writable anywhere, so the set is
//! also exactly what PMSYNC must write-protect, write back and commit. Besides the bitmap (one bit
//! per page, for the fault path's "already saved?" test), the pages and slots are kept in fault
//! order, so that a commit walks the dirty pages only: its cost follows them, not the region's
//! size.
//!
//! Writes through the kernel (`REGION_IOC_WRITE`) log single lines instead of saving pages: the
//! set also keeps which lines of which pages have a line record in the epoch, the records in
//! order and their line-log slots ([`LoggedLines`]).
//!
//! A [`DirtySet`] lives inside its region's `View` and is only touched under that lock.

use crate::{alloc::OutOfMemory, epoch_state::DirtyPages, line_log::RECORDS_PER_SLOT};
use kernel::prelude::*;

/// The line records of one epoch of one region.
#[derive(Default)]
pub(crate) struct LoggedLines {
    /// Each page with logged lines and the mask of those lines, sorted by page.
    masks: KVVec<(u64, u64)>,
    /// The region line number of each record, in record order (`u64::MAX`: forgotten).
    records: KVVec<u64>,
    /// The line-log slots, in sequence order.
    slots: KVVec<u32>,
}

impl LoggedLines {
    fn mask(&self, page: u64) -> u64 {
        match self.masks.binary_search_by_key(&page, |&(p, _)| p) {
            Ok(i) => self.masks[i].1,
            Err(_) => 0,
        }
    }

    fn log(&mut self, page: u64, line: u32) -> Result {
        let bit = 1u64 << line;
        self.records.reserve(1, GFP_KERNEL)?;
        match self.masks.binary_search_by_key(&page, |&(p, _)| p) {
            Ok(i) => self.masks[i].1 |= bit,
            Err(i) => {
                self.masks.reserve(1, GFP_KERNEL)?;
                self.masks
                    .insert_within_capacity(i, (page, bit))
                    .map_err(|_| ENOMEM)?;
            }
        }
        self.records
            .push_within_capacity(page * 64 + u64::from(line))
            .map_err(|_| ENOMEM)?;
        Ok(())
    }

    fn clear(&mut self) {
        self.masks.clear();
        self.records.clear();
        self.slots.clear();
    }

    fn forget_from(&mut self, first: u64, mut forget: impl FnMut(u32, u32)) {
        let per_slot = RECORDS_PER_SLOT as usize;
        for (n, line) in self.records.iter_mut().enumerate() {
            if *line != u64::MAX && *line >= first {
                if let Some(&slot) = self.slots.get(n / per_slot) {
                    forget(slot, (n % per_slot) as u32);
                }
                *line = u64::MAX;
            }
        }
        self.masks.retain(|m| m.0 * 64 < first);
    }
}

/// The pages written in the current epoch of one region.
pub(crate) struct DirtySet {
    /// One bit per page of the region.
    bitmap: KVVec<u64>,
    /// The dirty pages and the undo slot each one's committed contents are in, in fault order.
    pages: KVVec<u64>,
    slots: KVVec<u32>,
    /// The lines logged by writes through the kernel.
    lines: LoggedLines,
}

fn bitmap_words(pages: u64) -> usize {
    pages.div_ceil(64) as usize
}

impl DirtySet {
    /// An empty set for a region of `pages` pages.
    pub(crate) fn new(pages: u64) -> Result<Self> {
        Ok(Self {
            bitmap: KVVec::from_elem(0u64, bitmap_words(pages), GFP_KERNEL)?,
            pages: KVVec::new(),
            slots: KVVec::new(),
            lines: LoggedLines::default(),
        })
    }

    /// Makes room for `pages` pages (before a resize that grows the region commits).
    pub(crate) fn grow(&mut self, pages: u64) -> Result {
        let words = bitmap_words(pages);
        if words > self.bitmap.len() {
            let more = words - self.bitmap.len();
            self.bitmap.extend_with(more, 0, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Whether page `page` was saved (and so may be mapped writable) in this epoch.
    pub(crate) fn contains(&self, page: u64) -> bool {
        self.bitmap
            .get((page / 64) as usize)
            .is_some_and(|w| w & (1 << (page % 64)) != 0)
    }

    /// Whether no page is dirty (no undo slot is held).
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty() && self.lines.slots.is_empty()
    }

    /// The dirty pages, in fault order.
    pub(crate) fn pages(&self) -> &[u64] {
        &self.pages
    }

    /// The undo slots the dirty pages hold.
    pub(crate) fn slots(&self) -> &[u32] {
        &self.slots
    }

    /// Records that `page`'s committed contents are in undo slot `slot`. On failure (no memory)
    /// nothing is recorded.
    pub(crate) fn insert(&mut self, page: u64, slot: u32) -> Result {
        self.slots.push(slot, GFP_KERNEL)?;
        if let Err(e) = self.pages.push(page, GFP_KERNEL) {
            let _ = self.slots.pop();
            return Err(e.into());
        }
        if let Some(w) = self.bitmap.get_mut((page / 64) as usize) {
            *w |= 1 << (page % 64);
        }
        Ok(())
    }

    /// Empties the set (after the commit that ends the epoch), keeping its memory for the next.
    pub(crate) fn clear(&mut self) {
        for &page in self.pages.iter() {
            if let Some(w) = self.bitmap.get_mut((page / 64) as usize) {
                *w &= !(1 << (page % 64));
            }
        }
        self.pages.clear();
        self.slots.clear();
        self.lines.clear();
    }

    /// Removes the pages at or beyond `first` (cut off by a shrink), calling `forget` with each
    /// one's undo slot. Allocates nothing, so it cannot fail after the shrink has committed.
    pub(crate) fn remove_from(&mut self, first: u64, mut forget: impl FnMut(u32)) {
        let mut i = 0;
        while i < self.pages.len() {
            let page = self.pages[i];
            if page < first {
                i += 1;
                continue;
            }
            forget(self.slots[i]);
            let _ = self.pages.remove(i);
            let _ = self.slots.remove(i);
            if let Some(w) = self.bitmap.get_mut((page / 64) as usize) {
                *w &= !(1 << (page % 64));
            }
        }
    }

    /// Takes the undo slots out of the set (when the region goes away), leaving it empty: the
    /// page slots and the line-log slots.
    /// (Listed after the [`DirtyPages`] methods, which the epoch's state machine calls.)
    pub(crate) fn take_slots(&mut self) -> [KVVec<u32>; 2] {
        self.pages.clear();
        for w in self.bitmap.iter_mut() {
            *w = 0;
        }
        let line_slots = core::mem::take(&mut self.lines.slots);
        self.lines.clear();
        [core::mem::take(&mut self.slots), line_slots]
    }
}

impl DirtyPages for DirtySet {
    fn contains(&self, page: u64) -> bool {
        DirtySet::contains(self, page)
    }

    fn insert(&mut self, page: u64, slot: u32) -> Result<(), OutOfMemory> {
        DirtySet::insert(self, page, slot).map_err(|_| OutOfMemory)
    }

    fn pages(&self) -> &[u64] {
        DirtySet::pages(self)
    }

    fn slots(&self) -> &[u32] {
        DirtySet::slots(self)
    }

    fn clear(&mut self) {
        DirtySet::clear(self)
    }

    fn remove_from(&mut self, first: u64, forget: impl FnMut(u32)) {
        DirtySet::remove_from(self, first, forget)
    }

    fn lines_logged(&self, page: u64) -> u64 {
        self.lines.mask(page)
    }

    fn log_line(&mut self, page: u64, line: u32) -> Result<(), OutOfMemory> {
        self.lines.log(page, line).map_err(|_| OutOfMemory)
    }

    fn records(&self) -> &[u64] {
        &self.lines.records
    }

    fn line_slots(&self) -> &[u32] {
        &self.lines.slots
    }

    fn push_line_slot(&mut self, slot: u32) -> Result<(), OutOfMemory> {
        self.lines
            .slots
            .push(slot, GFP_KERNEL)
            .map_err(|_| OutOfMemory)
    }

    fn forget_lines_from(&mut self, first: u64, forget: impl FnMut(u32, u32)) {
        self.lines.forget_from(first, forget)
    }

    fn drop_lines(&mut self) {
        self.lines.clear()
    }
}
