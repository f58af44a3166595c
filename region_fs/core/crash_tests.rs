// SPDX-License-Identifier: GPL-2.0

//! Crash tests of every metadata operation and of PMSYNC's undo protocol on the simulated
//! persistent memory of `crash_sim.rs`: a power cut at every point of an operation, with every
//! subset (or a sample) of the lines in flight persisted, must recover to the state before or the
//! state after the operation.

extern crate std;

use crate::crash_sim::{crash_images, Point, SimPm};
use crate::geometry::PAGE_SIZE;
use crate::ops;
use crate::pm::Pm;
use crate::superblock::{Layout, Superblock};
use crate::table::{EntryState, Extent, Region};
use crate::undo::UndoHeader;
use std::vec::Vec;

pub(crate) const PAGES: u64 = 48;

fn small_sb() -> Superblock {
    Superblock {
        uuid: [7; 16],
        device_pages: PAGES,
        table_entries: 8,
        undo_slots: 8,
    }
}

pub(crate) fn formatted() -> (SimPm, Layout) {
    let mut pm = SimPm::new((PAGES * PAGE_SIZE) as usize);
    let layout = ops::format(&mut pm, &small_sb()).expect("formats");
    pm.settle();
    (pm, layout)
}

/// What a device recovers to: entry 0's state and the contents of its region's pages.
#[derive(Debug, PartialEq)]
pub(crate) struct Recovered {
    pub(crate) entry: EntryState,
    pub(crate) pages: Vec<Vec<u8>>,
}

pub(crate) fn recover_image(image: Vec<u8>) -> Recovered {
    let mut pm = SimPm::from_image(image);
    let (_, layout) = ops::read_superblock(&pm, PAGES).expect("superblock survives");
    ops::recover(&mut pm, &layout, &mut ops::NoneLost).expect("no poisoned header");
    let entry = ops::read_entry(&pm, &layout, 0).expect("entry 0 checks out");
    let mut pages = Vec::new();
    if let EntryState::Live { region, .. } = entry {
        for p in 0..region.size_pages {
            let dp = region.device_page(p).expect("in range");
            let o = (dp * PAGE_SIZE) as usize;
            pages.push(pm.visible()[o..o + PAGE_SIZE as usize].to_vec());
        }
    }
    Recovered { entry, pages }
}

/// Crashes at every recorded point and returns every recovered state that `accept` refuses.
pub(crate) fn violations(
    points: &[Point],
    accept: &dyn Fn(&Recovered) -> bool,
) -> Vec<(usize, Recovered)> {
    let mut bad = Vec::new();
    for (i, p) in points.iter().enumerate() {
        for img in crash_images(p, 10, 48) {
            let r = recover_image(img);
            if !accept(&r) {
                bad.push((i, r));
            }
        }
    }
    bad
}

pub(crate) fn assert_no_violations(points: &[Point], accept: &dyn Fn(&Recovered) -> bool) {
    let bad = violations(points, accept);
    assert!(
        bad.is_empty(),
        "{} bad crash images, first at point {}: {:?}",
        bad.len(),
        bad[0].0,
        bad[0].1
    );
}

pub(crate) fn region(layout: &Layout, pages: u64) -> Region {
    Region::new(
        b"orders",
        1000,
        1000,
        0o600,
        &[Extent {
            start: layout.data_start,
            pages,
        }],
        0,
    )
}

pub(crate) fn page_of(byte: u8) -> Vec<u8> {
    std::vec![byte; PAGE_SIZE as usize]
}

#[test]
fn create_is_all_or_nothing_and_never_shows_old_data() {
    let (mut pm, layout) = formatted();
    // Leftovers of an earlier region in the pages the new one gets.
    pm.write(layout.data_start * PAGE_SIZE, &page_of(0xaa));
    pm.settle();
    let r = region(&layout, 2);
    pm.record();
    ops::create(&mut pm, &layout, 0, &r, 0);
    let points = pm.take_points();
    assert_no_violations(&points, &|s| match s.entry {
        EntryState::Free { epoch } => epoch <= 1,
        EntryState::Live { region, epoch } => {
            region == r && epoch == 1 && s.pages.iter().all(|p| *p == page_of(0))
        }
    });
}

#[test]
fn delete_is_all_or_nothing() {
    let (mut pm, layout) = formatted();
    let r = region(&layout, 2);
    ops::create(&mut pm, &layout, 0, &r, 0);
    pm.settle();
    pm.record();
    ops::delete(&mut pm, &layout, 0);
    let points = pm.take_points();
    assert_no_violations(&points, &|s| match s.entry {
        EntryState::Free { epoch } => epoch == 1,
        EntryState::Live { region, .. } => region == r,
    });
}

#[test]
fn resize_is_all_or_nothing_and_clears_new_pages() {
    let (mut pm, layout) = formatted();
    let old = region(&layout, 2);
    ops::create(&mut pm, &layout, 0, &old, 0);
    pm.write(layout.data_start * PAGE_SIZE, &page_of(0x11));
    pm.write((layout.data_start + 2) * PAGE_SIZE, &page_of(0xaa)); // leftovers
    pm.settle();
    let fresh = Extent {
        start: layout.data_start + 2,
        pages: 3,
    };
    // The same region grown to 5 pages, in the other extent array.
    let grown = Region {
        array: 1,
        ..region(&layout, 5)
    };
    pm.record();
    ops::resize(&mut pm, &layout, 0, &grown, &[fresh]);
    let points = pm.take_points();
    assert_no_violations(&points, &|s| match s.entry {
        EntryState::Live { region, epoch: 1 } if region == old => s.pages[0] == page_of(0x11),
        EntryState::Live { region, epoch: 1 } if region == grown => {
            s.pages[0] == page_of(0x11) && s.pages[2..].iter().all(|p| *p == page_of(0))
        }
        _ => false,
    });
}

/// The first writes of epoch 1 to pages `dirty` of region 0, as the fault path makes them: each
/// page is saved to an undo slot, then the store (of `fill` over the page) lands in the cache.
fn first_writes<P: Pm>(pm: &mut P, layout: &Layout, r: &Region, dirty: &[u64], fill: u8) {
    for (slot, &p) in dirty.iter().enumerate() {
        let page = r.device_page(p).expect("in range");
        ops::save_undo(
            pm,
            layout,
            slot as u32,
            &UndoHeader::page_copy(0, p, 1),
            page,
        )
        .expect("no poison");
        pm.write(page * PAGE_SIZE, &page_of(fill));
    }
}

/// One epoch of PMSYNC as the module runs it: the first writes, then PMSYNC writes back the dirty
/// pages, fences, and advances the epoch.
fn pmsync_epoch<P: Pm>(pm: &mut P, layout: &Layout, r: &Region, dirty: &[u64], fill: u8) {
    first_writes(pm, layout, r, dirty, fill);
    for &p in dirty {
        let page = r.device_page(p).expect("in range");
        pm.writeback(page * PAGE_SIZE, PAGE_SIZE);
    }
    pm.fence();
    ops::advance_epoch(pm, layout, 0, 1);
}

pub(crate) fn pmsync_setup() -> (SimPm, Layout, Region) {
    let (mut pm, layout) = formatted();
    let r = region(&layout, 4);
    ops::create(&mut pm, &layout, 0, &r, 0);
    for p in 0..4 {
        pm.write(
            (layout.data_start + p) * PAGE_SIZE,
            &page_of(0xa0 + p as u8),
        );
    }
    pm.settle();
    (pm, layout, r)
}

fn old_or_new_snapshot(s: &Recovered) -> bool {
    let old: Vec<Vec<u8>> = (0..4).map(|p| page_of(0xa0 + p)).collect();
    let new: Vec<Vec<u8>> = (0..4)
        .map(|p| {
            if p == 0 || p == 2 {
                page_of(0xbb)
            } else {
                page_of(0xa0 + p)
            }
        })
        .collect();
    match s.entry {
        EntryState::Live { epoch, .. } => {
            (s.pages == old && epoch >= 1) || (s.pages == new && epoch == 2)
        }
        EntryState::Free { .. } => false,
    }
}

#[test]
fn pmsync_recovers_to_the_old_or_the_new_snapshot_never_a_mix() {
    let (mut pm, layout, r) = pmsync_setup();
    pm.record();
    pmsync_epoch(&mut pm, &layout, &r, &[0, 2], 0xbb);
    let points = pm.take_points();
    assert_no_violations(&points, &old_or_new_snapshot);
}

#[test]
fn pmsync_costs_the_dirty_lines_plus_one_metadata_line_and_two_fences() {
    let (mut pm, layout, r) = pmsync_setup();
    let dirty = [0u64, 2];
    first_writes(&mut pm, &layout, &r, &dirty, 0xbb);
    let (lines, fences) = (pm.lines_written_back, pm.fences);
    for &p in &dirty {
        pm.writeback(r.device_page(p).expect("in range") * PAGE_SIZE, PAGE_SIZE);
    }
    pm.fence();
    ops::advance_epoch(&mut pm, &layout, 0, 1);
    assert_eq!(pm.lines_written_back - lines, 2 * PAGE_SIZE / 64 + 1);
    assert_eq!(pm.fences - fences, 2);
}

#[test]
fn recovery_interrupted_at_any_point_recovers_the_same() {
    let (mut pm, layout, r) = pmsync_setup();
    // Crash after both pages were saved and overwritten, before PMSYNC.
    first_writes(&mut pm, &layout, &r, &[0, 2], 0xbb);
    pm.settle();
    let expected = recover_image(pm.visible().to_vec());
    assert!(old_or_new_snapshot(&expected));
    assert!(
        matches!(expected.entry, EntryState::Live { epoch: 2, .. }),
        "rolled back and advanced"
    );
    pm.record();
    ops::recover(&mut pm, &layout, &mut ops::NoneLost).expect("no poisoned header");
    let points = pm.take_points();
    assert_no_violations(&points, &|s| s.pages == expected.pages);
}

/// A Pm that drops every other fence: what a forgotten `sfence` looks like.
struct ForgetfulPm<'a> {
    inner: &'a mut SimPm,
    fences_seen: u32,
}

impl Pm for ForgetfulPm<'_> {
    fn read(&self, offset: u64, buf: &mut [u8]) {
        self.inner.read(offset, buf)
    }
    fn write(&mut self, offset: u64, bytes: &[u8]) {
        self.inner.write(offset, bytes)
    }
    fn zero(&mut self, offset: u64, len: u64) {
        self.inner.zero(offset, len)
    }
    fn copy(&mut self, dst: u64, src: u64, len: u64) {
        self.inner.copy(dst, src, len)
    }
    fn store8(&mut self, offset: u64, value: u64) {
        self.inner.store8(offset, value)
    }
    fn writeback(&mut self, offset: u64, len: u64) {
        self.inner.writeback(offset, len)
    }
    fn fence(&mut self) {
        self.fences_seen += 1;
        if self.fences_seen.is_multiple_of(2) {
            self.inner.fence()
        }
    }
}

#[test]
fn the_checker_catches_a_missing_fence() {
    let (mut pm, layout, r) = pmsync_setup();
    pm.record();
    pmsync_epoch(
        &mut ForgetfulPm {
            inner: &mut pm,
            fences_seen: 0,
        },
        &layout,
        &r,
        &[0, 2],
        0xbb,
    );
    let points = pm.take_points();
    assert!(
        !violations(&points, &old_or_new_snapshot).is_empty(),
        "a dropped fence went unnoticed"
    );
}

/// A shrink cuts a dirty page off and forgets its slot; a grow in the same epoch gives the page
/// back cleared. Whatever the crash after the forget, the grown page never holds its old bytes.
#[test]
fn a_forgotten_slot_never_restores_a_page_after_shrink_and_grow() {
    let (mut pm, layout, r) = pmsync_setup();
    first_writes(&mut pm, &layout, &r, &[3], 0xbb);
    pm.settle();
    let shrunk = Region {
        array: 1,
        ..region(&layout, 3)
    };
    ops::resize(&mut pm, &layout, 0, &shrunk, &[]);
    pm.record();
    ops::forget_undo(&mut pm, &layout, 0);
    let grown = region(&layout, 4);
    let fresh = Extent {
        start: layout.data_start + 3,
        pages: 1,
    };
    ops::resize(&mut pm, &layout, 0, &grown, &[fresh]);
    let points = pm.take_points();
    assert_no_violations(&points, &|s| match s.entry {
        EntryState::Live { region, .. } if region == grown => s.pages[3] == page_of(0),
        EntryState::Live { region, .. } => region == shrunk,
        EntryState::Free { .. } => false,
    });
}

/// A free entry whose bytes are not all zero (a deleted region's leftovers, or stray bytes) and
/// whose epoch on persistent memory is past the one DRAM believes: create writes every byte and
/// starts past both epochs, so the entry checks out and no old slot of the entry can match it.
#[test]
fn create_writes_the_whole_entry_and_starts_past_the_epoch_on_pm() {
    use crate::table::{decode_entry, epoch_word, ENTRY_SIZE, EPOCH_OFFSET};
    let (mut pm, layout) = formatted();
    let base = layout.table_entry_offset(0);
    let mut junk = [0x5au8; ENTRY_SIZE];
    junk[496..504].copy_from_slice(&0u64.to_le_bytes()); // free: shape word zero
    junk[EPOCH_OFFSET..].copy_from_slice(&epoch_word(0, 7).to_le_bytes());
    pm.write(base, &junk);
    pm.settle();
    assert_eq!(
        ops::read_entry(&pm, &layout, 0),
        Ok(EntryState::Free { epoch: 7 })
    );
    let r = region(&layout, 2);
    let epoch = ops::create(&mut pm, &layout, 0, &r, 3);
    assert_eq!(epoch, 8, "past the epoch on PM, not the stale one given");
    let mut e = [0u8; ENTRY_SIZE];
    pm.read(base, &mut e);
    assert_eq!(
        decode_entry(0, &e),
        Ok(EntryState::Live {
            region: r,
            epoch: 8
        })
    );
}

/// Poisoned memory (a media error) met by a first write: nothing is saved, no header is written,
/// and the write must be refused; met by recovery: the region is left unrecovered (its epoch is
/// not advanced, so its slots still match) and reported, while the others recover.
#[test]
fn poison_refuses_the_first_write_and_leaves_its_region_unrecovered() {
    struct Lost(Vec<(u32, u64)>);
    impl ops::LostPages for Lost {
        fn lost(&mut self, index: u32, page: u64) {
            self.0.push((index, page));
        }
        fn has_lost(&self, index: u32) -> bool {
            self.0.iter().any(|l| l.0 == index)
        }
        fn keep_slot(&mut self, _: u32) {}
    }
    let (mut pm, layout, r) = pmsync_setup();
    let page0 = layout.data_start * PAGE_SIZE;
    pm.poisoned.push((page0 + 100, 1));
    let header = UndoHeader::page_copy(0, 0, 1);
    assert_eq!(
        ops::save_undo(&mut pm, &layout, 0, &header, layout.data_start),
        Err(ops::Poisoned)
    );
    let mut h = [0u8; crate::undo::HEADER_SIZE];
    pm.read(layout.undo_header_offset(0), &mut h);
    assert_eq!(
        crate::undo::UndoHeader::decode(&h),
        None,
        "no header for a failed save"
    );
    pm.poisoned.clear();
    // Page 2 saved, then its slot's data goes bad: recovery cannot copy it back.
    first_writes(&mut pm, &layout, &r, &[2], 0xbb);
    pm.settle();
    pm.poisoned.push((layout.undo_data_offset(0), 64));
    let mut lost = Lost(Vec::new());
    let done = ops::recover(&mut pm, &layout, &mut lost).expect("headers read");
    assert_eq!(lost.0, [(0, layout.data_start + 2)]);
    assert_eq!(done.pages_lost, 1);
    assert_eq!(
        ops::read_entry(&pm, &layout, 0).map(|e| match e {
            EntryState::Live { epoch, .. } => epoch,
            EntryState::Free { .. } => 0,
        }),
        Ok(1),
        "the damaged region keeps its epoch, so its slot still matches"
    );
    // A poisoned undo header refuses recovery; a poisoned table entry or superblock, attach.
    pm.poisoned.push((layout.undo_header_offset(0), 8));
    assert_eq!(
        ops::recover(&mut pm, &layout, &mut lost),
        Err(ops::PoisonedHeader { slot: 0 })
    );
    pm.poisoned.push((layout.table_entry_offset(0), 8));
    assert_eq!(
        ops::read_entry(&pm, &layout, 0),
        Err(crate::table::EntryError::Poisoned)
    );
    pm.poisoned.push((0, 8));
    assert_eq!(
        ops::read_superblock(&pm, PAGES).map(|_| ()),
        Err(crate::superblock::SuperblockError::Poisoned)
    );
}

/// A page no one wrote since create is saved by a zero header alone (one line, one fence), and
/// a cut anywhere in its first write and PMSYNC recovers zeros or the new bytes.
#[test]
fn a_zero_page_is_saved_by_its_header_alone() {
    let (mut pm, layout) = formatted();
    let r = region(&layout, 2);
    ops::create(&mut pm, &layout, 0, &r, 0);
    pm.settle();
    let (lines, fences) = (pm.lines_written_back, pm.fences);
    let page = r.device_page(1).expect("in range");
    ops::save_undo(&mut pm, &layout, 0, &UndoHeader::page_copy(0, 1, 1), page).expect("saved");
    assert_eq!((pm.lines_written_back - lines, pm.fences - fences), (1, 1));
    pm.settle();
    pm.record();
    pm.write(page * PAGE_SIZE + 100, &[0xcc; 300]);
    pm.writeback(page * PAGE_SIZE, PAGE_SIZE);
    pm.fence();
    ops::advance_epoch(&mut pm, &layout, 0, 1);
    let points = pm.take_points();
    let mut new = page_of(0);
    new[100..400].fill(0xcc);
    assert_no_violations(&points, &|s| match s.entry {
        EntryState::Live { epoch, .. } => {
            s.pages[0] == page_of(0)
                && ((s.pages[1] == page_of(0) && epoch >= 1) || (s.pages[1] == new && epoch == 2))
        }
        EntryState::Free { .. } => false,
    });
}

/// A page that is zero only in its first part is copied whole: the zeros, then the rest.
#[test]
fn a_page_zero_only_at_its_start_is_copied_whole() {
    let (mut pm, layout) = formatted();
    let r = region(&layout, 1);
    ops::create(&mut pm, &layout, 0, &r, 0);
    let page = r.device_page(0).expect("in range");
    pm.write(page * PAGE_SIZE + 3000, &[7; 10]);
    pm.settle();
    ops::save_undo(&mut pm, &layout, 0, &UndoHeader::page_copy(0, 0, 1), page).expect("saved");
    pm.write(page * PAGE_SIZE, &page_of(0xee));
    pm.settle();
    let s = recover_image(pm.visible().to_vec());
    let mut old = page_of(0);
    old[3000..3010].fill(7);
    assert_eq!(s.pages[0], old);
}
