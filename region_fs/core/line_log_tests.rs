// SPDX-License-Identifier: GPL-2.0

//! Crash tests of writes through the kernel (`EpochState::log_write`, `line_log.rs`): a power cut
//! at every point of a logged write and its commit, with samples of the lines in flight
//! persisted, recovers to the snapshot before or after the commit, never a mix; mixed with page
//! saves of the fault path, and across a shrink and a grow. Also what a small write costs.

extern crate std;

use crate::crash_tests::{
    assert_no_violations, page_of, pmsync_setup, recover_image, region, Recovered,
};
use crate::epoch_state::{DirtyPages, EpochState, LoggedWrite, UndoSlots, WriteRange};
use crate::geometry::PAGE_SIZE;
use crate::model_tests::HostDirty;
use crate::ops;
use crate::pm::Pm;
use crate::superblock::Layout;
use crate::table::{EntryState, Extent, Region};
use crate::undo_share::Shortage;
use core::cell::RefCell;
use std::vec::Vec;

/// Every slot of the small device, free for anyone.
struct FreeSlots(RefCell<Vec<u32>>);

impl FreeSlots {
    fn new(layout: &Layout) -> Self {
        Self(RefCell::new((0..layout.undo_slots).rev().collect()))
    }
}

impl UndoSlots for FreeSlots {
    fn take_for(&self, _: u32) -> Result<u32, Shortage> {
        self.0.borrow_mut().pop().ok_or(Shortage::AreaFull)
    }
    fn give_back(&self, _: u32, slots: &[u32]) {
        self.0.borrow_mut().extend_from_slice(slots);
    }
}

fn epoch_one() -> EpochState<HostDirty> {
    EpochState {
        epoch: 1,
        dirty: HostDirty::default(),
    }
}

/// The four pages `pmsync_setup` commits, with `ranges` applied.
fn pages_after(ranges: &[(u64, Vec<u8>)]) -> Vec<Vec<u8>> {
    let mut bytes: Vec<u8> = (0..4).flat_map(|p| page_of(0xa0 + p)).collect();
    for (at, data) in ranges {
        bytes[*at as usize..*at as usize + data.len()].copy_from_slice(data);
    }
    bytes
        .chunks(PAGE_SIZE as usize)
        .map(|c| c.to_vec())
        .collect()
}

fn as_ranges(ranges: &[(u64, Vec<u8>)]) -> Vec<WriteRange<'_>> {
    ranges
        .iter()
        .map(|(offset, data)| WriteRange {
            offset: *offset,
            data,
        })
        .collect()
}

fn log<P: Pm>(
    pm: &mut P,
    layout: &Layout,
    r: &Region,
    e: &mut EpochState<HostDirty>,
    pool: &FreeSlots,
    ranges: &[(u64, Vec<u8>)],
) -> LoggedWrite {
    e.log_write(pm, layout, 0, r, &as_ranges(ranges), pool, |_| {})
        .expect("logged")
}

/// The old snapshot (epoch 1 or later) or `new` (epoch 2 exactly).
fn old_or(new: Vec<Vec<u8>>) -> impl Fn(&Recovered) -> bool {
    let old = pages_after(&[]);
    move |s: &Recovered| match s.entry {
        EntryState::Live { epoch, .. } => {
            (s.pages == old && epoch >= 1) || (s.pages == new && epoch == 2)
        }
        EntryState::Free { .. } => false,
    }
}

/// A write of a few bytes, one across a page boundary, 47 lines of one page (two line-log
/// slots in all) and a whole page (saved whole), then its commit.
#[test]
fn a_logged_write_and_its_commit_recover_to_the_old_or_the_new_snapshot() {
    let (mut pm, layout, r) = pmsync_setup();
    let pool = FreeSlots::new(&layout);
    let mut e = epoch_one();
    let ranges = [
        (100, std::vec![0x11; 10]),
        (4090, std::vec![0x22; 20]),
        (2 * 4096, std::vec![0x33; 3000]),
        (3 * 4096, std::vec![0x44; 4096]),
    ];
    pm.record();
    let w = log(&mut pm, &layout, &r, &mut e, &pool, &ranges);
    e.commit(&mut pm, &layout, 0, &r, &pool, |_| {})
        .expect("commits");
    let points = pm.take_points();
    assert_eq!((w.lines_logged, w.pages_saved), (1 + 2 + 47, 1));
    assert_eq!(e.dirty.records().len(), 0, "the commit empties the epoch");
    assert_no_violations(&points, &old_or(pages_after(&ranges)));
}

/// Lines logged, then the page saved whole by a store through a mapping (its copy holds the
/// logged write's bytes), then more writes to the saved page, which need no record: a cut before
/// the commit still brings back the old snapshot.
#[test]
fn a_page_saved_after_its_lines_were_logged_still_rolls_back() {
    let (mut pm, layout, r) = pmsync_setup();
    let pool = FreeSlots::new(&layout);
    let mut e = epoch_one();
    pm.record();
    log(
        &mut pm,
        &layout,
        &r,
        &mut e,
        &pool,
        &[(64, std::vec![0x55; 64])],
    );
    e.first_write(&mut pm, &layout, 0, &r, 0, &pool, |_| {})
        .expect("saved");
    let page0 = r.device_page(0).expect("in range") * PAGE_SIZE;
    pm.write(page0 + 1000, &[0x66; 8]);
    let w = log(
        &mut pm,
        &layout,
        &r,
        &mut e,
        &pool,
        &[(128, std::vec![0x77; 64])],
    );
    assert_eq!(w.lines_logged, 0, "a saved page needs no record");
    e.commit(&mut pm, &layout, 0, &r, &pool, |_| {})
        .expect("commits");
    let points = pm.take_points();
    let new = pages_after(&[
        (64, std::vec![0x55; 64]),
        (1000, std::vec![0x66; 8]),
        (128, std::vec![0x77; 64]),
    ]);
    assert_no_violations(&points, &old_or(new));
}

/// A shrink cuts off a page with logged lines: their descriptors are zeroed, so after a grow in
/// the same epoch (which clears the page) no cut ever brings the old lines back.
#[test]
fn a_shrink_forgets_the_records_of_the_lines_it_cuts_off() {
    let (mut pm, layout, r) = pmsync_setup();
    let pool = FreeSlots::new(&layout);
    let mut e = epoch_one();
    log(
        &mut pm,
        &layout,
        &r,
        &mut e,
        &pool,
        &[
            (100, std::vec![0x11; 8]),
            (3 * 4096 + 64, std::vec![0x99; 200]),
        ],
    );
    pm.settle();
    let shrunk = Region {
        array: 1,
        ..region(&layout, 3)
    };
    ops::resize(&mut pm, &layout, 0, &shrunk, &[]);
    pm.record();
    e.forget_from(&mut pm, &layout, 1000, 3, &pool);
    let grown = region(&layout, 4);
    let fresh = Extent {
        start: layout.data_start + 3,
        pages: 1,
    };
    ops::resize(&mut pm, &layout, 0, &grown, &[fresh]);
    let points = pm.take_points();
    assert_eq!(e.dirty.lines_logged(3), 0);
    assert_no_violations(&points, &|s: &Recovered| match s.entry {
        EntryState::Live { region, .. } if region == grown => {
            s.pages[3] == page_of(0) && s.pages[0] == page_of(0xa0)
        }
        EntryState::Live { region, .. } => region == shrunk,
        EntryState::Free { .. } => false,
    });
}

/// A 100-byte write across two lines, committed: the slot header, two records and their
/// descriptor line, the two new lines and the epoch word; one fence for the log and two for the
/// commit.
#[test]
fn a_small_logged_write_costs_seven_lines_and_three_fences() {
    let (mut pm, layout, r) = pmsync_setup();
    let pool = FreeSlots::new(&layout);
    let mut e = epoch_one();
    let (lines, fences) = (pm.lines_written_back, pm.fences);
    log(
        &mut pm,
        &layout,
        &r,
        &mut e,
        &pool,
        &[(10, std::vec![1; 100])],
    );
    e.commit(&mut pm, &layout, 0, &r, &pool, |_| {})
        .expect("commits");
    assert_eq!(pm.lines_written_back - lines, 7);
    assert_eq!(pm.fences - fences, 3);
    pm.settle();
    let s = recover_image(pm.visible().to_vec());
    assert_eq!(s.pages, pages_after(&[(10, std::vec![1; 100])]));
}

/// On a version 1 device (no line records) the same write saves its page whole.
#[test]
fn a_device_without_compact_undo_saves_whole_pages() {
    let (mut pm, layout, r) = pmsync_setup();
    let layout = Layout {
        compact_undo: false,
        ..layout
    };
    let pool = FreeSlots::new(&layout);
    let mut e = epoch_one();
    let w = log(
        &mut pm,
        &layout,
        &r,
        &mut e,
        &pool,
        &[(40, std::vec![1; 100])],
    );
    assert_eq!((w.lines_logged, w.pages_saved), (0, 1));
}

/// Writes past the region's end are refused before anything is written.
#[test]
fn a_write_past_the_end_is_refused_whole() {
    let (mut pm, layout, r) = pmsync_setup();
    let pool = FreeSlots::new(&layout);
    let mut e = epoch_one();
    let before = pm.visible().to_vec();
    let ranges = [(0, std::vec![1; 8]), (4 * 4096 - 4, std::vec![2; 8])];
    let got = e.log_write(&mut pm, &layout, 0, &r, &as_ranges(&ranges), &pool, |_| {});
    assert_eq!(got, Err(crate::epoch_state::Refused::OutOfRange));
    assert_eq!(pm.visible(), &before[..]);
}
