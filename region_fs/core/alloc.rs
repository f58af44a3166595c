// SPDX-License-Identifier: GPL-2.0

//! The data-area allocator: which pages no region uses.
//!
//! Nothing of it is stored on PM. At attach, [`FreeSpace::rebuild`] derives it from the live
//! regions' extents, refusing extents that overlap each other or leave the data area; afterwards
//! create, resize and delete take and give back extents. Free space is kept as a sorted list of
//! disjoint, non-adjacent extents in storage the caller provides ([`ExtentList`]: a `KVec` in the
//! module, a `Vec` on the host), so this file needs no allocator of its own.
//!
//! Plain `core` Rust shared by the module and the host crates.

use crate::table::{Extent, EXTENTS};

/// Growable storage for extents.
pub trait ExtentList {
    /// The extents, in order.
    fn as_slice(&self) -> &[Extent];
    /// Inserts `extent` at `index`; fails only when memory runs out.
    fn insert_at(&mut self, index: usize, extent: Extent) -> Result<(), OutOfMemory>;
    /// Removes the extent at `index`.
    fn remove_at(&mut self, index: usize);
    /// Replaces the extent at `index`.
    fn set(&mut self, index: usize, extent: Extent);
}

/// Memory for the free list ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

/// Why free space could not be rebuilt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RebuildError {
    /// An extent reaches outside the data area.
    OutOfBounds(Extent),
    /// Two extents share pages.
    Overlap(Extent, Extent),
    /// Memory for the free list ran out.
    OutOfMemory,
}

/// Why an allocation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocError {
    /// Not enough free pages, or not in few enough pieces.
    NoSpace,
    /// Memory for the free list ran out.
    OutOfMemory,
}

impl From<OutOfMemory> for AllocError {
    fn from(_: OutOfMemory) -> Self {
        Self::OutOfMemory
    }
}

/// Extents handed out by one allocation: at most [`EXTENTS`], in the order they join.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allocation {
    /// The extents; `len` of them are used.
    pub extents: [Extent; EXTENTS],
    /// Extents used.
    pub len: usize,
}

impl Allocation {
    /// The extents used.
    pub fn as_slice(&self) -> &[Extent] {
        &self.extents[..self.len]
    }
}

/// The free pages of the data area.
pub struct FreeSpace<L: ExtentList> {
    free: L,
    start: u64,
    end: u64,
    free_pages: u64,
}

impl<L: ExtentList> FreeSpace<L> {
    /// Rebuilds free space for the data area `[start, start + pages)` from every extent in use.
    /// `used` is sorted in place; `list` must be empty and receives the free extents.
    pub fn rebuild(
        start: u64,
        pages: u64,
        used: &mut [Extent],
        mut list: L,
    ) -> Result<Self, RebuildError> {
        let end = start + pages;
        sort_by_start(used);
        let mut cursor = start;
        let mut last: Option<Extent> = None;
        for &e in used.iter() {
            if e.pages == 0
                || e.start < start
                || e.start.checked_add(e.pages).is_none_or(|x| x > end)
            {
                return Err(RebuildError::OutOfBounds(e));
            }
            if let Some(prev) = last {
                if e.start < prev.end() {
                    return Err(RebuildError::Overlap(prev, e));
                }
            }
            if e.start > cursor {
                let n = list.as_slice().len();
                list.insert_at(
                    n,
                    Extent {
                        start: cursor,
                        pages: e.start - cursor,
                    },
                )
                .map_err(|_| RebuildError::OutOfMemory)?;
            }
            cursor = e.end();
            last = Some(e);
        }
        if cursor < end {
            let n = list.as_slice().len();
            list.insert_at(
                n,
                Extent {
                    start: cursor,
                    pages: end - cursor,
                },
            )
            .map_err(|_| RebuildError::OutOfMemory)?;
        }
        let free_pages = list.as_slice().iter().map(|e| e.pages).sum();
        Ok(Self {
            free: list,
            start,
            end,
            free_pages,
        })
    }

    /// Free pages in all.
    pub fn free_pages(&self) -> u64 {
        self.free_pages
    }

    /// The free extents, in device order.
    pub fn free_extents(&self) -> &[Extent] {
        self.free.as_slice()
    }

    /// Takes `pages` pages in at most `max_extents` extents: one extent when a free extent is
    /// large enough (the smallest such, to keep large ones whole), else the largest free extents
    /// first.
    pub fn allocate(&mut self, pages: u64, max_extents: usize) -> Result<Allocation, AllocError> {
        let max_extents = max_extents.min(EXTENTS);
        if pages == 0 || pages > self.free_pages || max_extents == 0 {
            return Err(AllocError::NoSpace);
        }
        let mut out = Allocation::default();
        let best = self
            .free
            .as_slice()
            .iter()
            .enumerate()
            .filter(|(_, e)| e.pages >= pages)
            .min_by_key(|(_, e)| e.pages)
            .map(|(i, _)| i);
        if let Some(i) = best {
            out.extents[0] = self.take_from(i, pages);
            out.len = 1;
            return Ok(out);
        }
        // Check that the largest `max_extents` free extents suffice before taking any.
        let mut largest = [0u64; EXTENTS];
        for e in self.free.as_slice() {
            if let Some(pos) = largest[..max_extents].iter().position(|&p| e.pages > p) {
                largest.copy_within(pos..max_extents - 1, pos + 1);
                largest[pos] = e.pages;
            }
        }
        if largest[..max_extents].iter().sum::<u64>() < pages {
            return Err(AllocError::NoSpace);
        }
        let mut left = pages;
        while left > 0 {
            let (i, size) = self
                .free
                .as_slice()
                .iter()
                .enumerate()
                .map(|(i, e)| (i, e.pages))
                .max_by_key(|&(_, p)| p)
                .ok_or(AllocError::NoSpace)?;
            let take = size.min(left);
            out.extents[out.len] = self.take_from(i, take);
            out.len += 1;
            left -= take;
        }
        Ok(out)
    }

    /// Takes `pages` pages from the front of free extent `i`.
    fn take_from(&mut self, i: usize, pages: u64) -> Extent {
        let e = self.free.as_slice()[i];
        if e.pages == pages {
            self.free.remove_at(i);
        } else {
            self.free.set(
                i,
                Extent {
                    start: e.start + pages,
                    pages: e.pages - pages,
                },
            );
        }
        self.free_pages -= pages;
        Extent {
            start: e.start,
            pages,
        }
    }

    /// Gives `extent` back, merging it with free neighbours. Refuses (and changes nothing for) an
    /// extent that is outside the data area or overlaps free space: a double free.
    pub fn release(&mut self, extent: Extent) -> Result<(), RebuildError> {
        if extent.pages == 0 || extent.start < self.start || extent.end() > self.end {
            return Err(RebuildError::OutOfBounds(extent));
        }
        let list = self.free.as_slice();
        let i = list.partition_point(|e| e.start < extent.start);
        if i > 0 && list[i - 1].end() > extent.start {
            return Err(RebuildError::Overlap(list[i - 1], extent));
        }
        if i < list.len() && extent.end() > list[i].start {
            return Err(RebuildError::Overlap(extent, list[i]));
        }
        let joins_prev = i > 0 && list[i - 1].end() == extent.start;
        let joins_next = i < list.len() && extent.end() == list[i].start;
        match (joins_prev, joins_next) {
            (true, true) => {
                let (prev, next) = (list[i - 1], list[i]);
                self.free.set(
                    i - 1,
                    Extent {
                        start: prev.start,
                        pages: prev.pages + extent.pages + next.pages,
                    },
                );
                self.free.remove_at(i);
            }
            (true, false) => {
                let prev = list[i - 1];
                self.free.set(
                    i - 1,
                    Extent {
                        start: prev.start,
                        pages: prev.pages + extent.pages,
                    },
                );
            }
            (false, true) => {
                let next = list[i];
                self.free.set(
                    i,
                    Extent {
                        start: extent.start,
                        pages: extent.pages + next.pages,
                    },
                );
            }
            (false, false) => self
                .free
                .insert_at(i, extent)
                .map_err(|_| RebuildError::OutOfMemory)?,
        }
        self.free_pages += extent.pages;
        Ok(())
    }
}

/// Sorts extents by start page: an in-place heap sort, O(n log n), with no panicking paths
/// (`core`'s slice sorts carry some, which the kernel's objtool rejects).
fn sort_by_start(v: &mut [Extent]) {
    fn sift_down(v: &mut [Extent], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && v[child + 1].start > v[child].start {
                child += 1;
            }
            if v[root].start >= v[child].start {
                return;
            }
            v.swap(root, child);
            root = child;
        }
    }
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift_down(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn ext(start: u64, pages: u64) -> Extent {
        Extent { start, pages }
    }

    fn space(used: &mut [Extent]) -> FreeSpace<Vec<Extent>> {
        FreeSpace::rebuild(100, 1000, used, Vec::new()).expect("rebuilds")
    }

    #[test]
    fn heap_sort_sorts() {
        let mut seed = 12345u64;
        for n in 0..200u64 {
            let mut v: Vec<Extent> = (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ext(seed >> 40, 1)
                })
                .collect();
            let mut want = v.clone();
            want.sort_by_key(|e| e.start);
            sort_by_start(&mut v);
            assert_eq!(v, want, "n = {n}");
        }
    }

    #[test]
    fn rebuild_finds_the_gaps() {
        let s = space(&mut [ext(500, 10), ext(100, 50), ext(1090, 10)]);
        assert_eq!(s.free_extents(), &[ext(150, 350), ext(510, 580)]);
        assert_eq!(s.free_pages(), 930);
    }

    #[test]
    fn rebuild_refuses_overlapping_extents() {
        let r = FreeSpace::rebuild(100, 1000, &mut [ext(200, 10), ext(205, 10)], Vec::new());
        assert_eq!(
            r.err(),
            Some(RebuildError::Overlap(ext(200, 10), ext(205, 10)))
        );
    }

    #[test]
    fn rebuild_refuses_extents_outside_the_data_area() {
        for bad in [
            ext(50, 60),
            ext(1095, 10),
            ext(300, 0),
            ext(u64::MAX - 1, 5),
        ] {
            let r = FreeSpace::rebuild(100, 1000, &mut [bad], Vec::new());
            assert_eq!(r.err(), Some(RebuildError::OutOfBounds(bad)), "{bad:?}");
        }
    }

    #[test]
    fn allocations_fill_the_device_exactly() {
        let mut s = space(&mut []);
        let mut got = Vec::new();
        for _ in 0..10 {
            let a = s.allocate(100, 1).expect("fits");
            got.extend_from_slice(a.as_slice());
        }
        assert_eq!(s.free_pages(), 0);
        assert_eq!(s.allocate(1, EXTENTS), Err(AllocError::NoSpace));
        // Every page handed out exactly once.
        got.sort_by_key(|e| e.start);
        let mut cursor = 100;
        for e in &got {
            assert_eq!(e.start, cursor);
            cursor = e.end();
        }
        assert_eq!(cursor, 1100);
        // Freeing it all gives back one extent.
        for e in got {
            s.release(e).expect("frees");
        }
        assert_eq!(s.free_extents(), &[ext(100, 1000)]);
    }

    #[test]
    fn best_fit_keeps_large_extents_whole() {
        let mut s = space(&mut [ext(200, 100), ext(310, 790)]);
        // Free: [100, 200) of 100 pages and [300, 310) of 10 pages.
        assert_eq!(s.allocate(8, 1).expect("fits").as_slice(), &[ext(300, 8)]);
    }

    #[test]
    fn fragmented_space_is_used_in_pieces_up_to_the_limit() {
        let mut s = space(&mut [ext(110, 10), ext(130, 10), ext(150, 950)]);
        // Free: 10 pages at 100, 10 at 120, 10 at 140.
        assert_eq!(s.allocate(25, 2), Err(AllocError::NoSpace));
        assert_eq!(s.free_pages(), 30, "a failed allocation takes nothing");
        let a = s.allocate(25, 3).expect("fits in three");
        assert_eq!(a.as_slice().iter().map(|e| e.pages).sum::<u64>(), 25);
        assert_eq!(s.free_pages(), 5);
    }

    #[test]
    fn double_free_is_refused() {
        let mut s = space(&mut [ext(100, 10)]);
        assert!(s.release(ext(100, 10)).is_ok());
        assert_eq!(
            s.release(ext(105, 2)),
            Err(RebuildError::Overlap(ext(100, 1000), ext(105, 2)))
        );
        assert_eq!(s.free_pages(), 1000);
    }
}
