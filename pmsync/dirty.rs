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
//! A [`DirtySet`] lives inside its region's `View` and is only touched under that lock.

use crate::{alloc::OutOfMemory, epoch_state::DirtyPages};
use kernel::prelude::*;

/// The pages written in the current epoch of one region.
pub(crate) struct DirtySet {
    /// One bit per page of the region.
    bitmap: KVVec<u64>,
    /// The dirty pages and the undo slot each one's committed contents are in, in fault order.
    pages: KVVec<u64>,
    slots: KVVec<u32>,
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
        self.slots.is_empty()
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

    /// Takes the undo slots out of the set (when the region goes away), leaving it empty.
    /// (Listed after the [`DirtyPages`] methods, which the epoch's state machine calls.)
    pub(crate) fn take_slots(&mut self) -> KVVec<u32> {
        self.pages.clear();
        for w in self.bitmap.iter_mut() {
            *w = 0;
        }
        core::mem::take(&mut self.slots)
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
}
