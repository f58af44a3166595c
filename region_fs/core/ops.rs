// SPDX-License-Identifier: GPL-2.0

//! The metadata operations, each a crash-safe sequence of stores, write-backs and fences on a
//! [`Pm`], committed by one 8-byte store (see `docs/FORMAT.md`).
//!
//! The module calls these on the DAX mapping of the device; the host tests call them on a
//! simulator that crashes at every point of every operation and checks that what survives is the
//! state before or after the operation, never anything else.

use crate::geometry::PAGE_SIZE;
use crate::line_log::{self, RecordOwner, RECORDS_PER_SLOT};
use crate::pm::Pm;
use crate::pm::CACHE_LINE;
use crate::superblock::{Layout, Superblock, SuperblockError, SUPERBLOCK_SIZE};
use crate::table::{self, decode_entry, EntryError, EntryState, Extent, Region, ENTRY_SIZE};
use crate::undo::{self, SlotKind, UndoHeader};

/// Formats the device: clears the region table and the undo headers, then writes the superblock.
/// Region data pages are not cleared here: create clears a region's pages before it commits.
pub fn format<P: Pm>(pm: &mut P, sb: &Superblock) -> Result<Layout, SuperblockError> {
    let layout = Layout::new(sb)?;
    let meta_end = layout.undo_data_start * PAGE_SIZE;
    pm.zero(0, meta_end);
    pm.persist(0, meta_end);
    pm.write(0, &sb.encode());
    pm.persist(0, SUPERBLOCK_SIZE as u64);
    Ok(layout)
}

/// Reads and checks the superblock of a device of `present_pages` pages.
pub fn read_superblock<P: Pm>(
    pm: &P,
    present_pages: u64,
) -> Result<(Superblock, Layout), SuperblockError> {
    let mut b = [0u8; SUPERBLOCK_SIZE];
    pm.take_poison();
    pm.read(0, &mut b);
    if pm.take_poison() {
        return Err(SuperblockError::Poisoned);
    }
    Superblock::decode(&b, present_pages)
}

/// Reads and checks region table entry `index`.
pub fn read_entry<P: Pm>(pm: &P, layout: &Layout, index: u32) -> Result<EntryState, EntryError> {
    let mut e = [0u8; ENTRY_SIZE];
    pm.take_poison();
    pm.read(layout.table_entry_offset(index), &mut e);
    if pm.take_poison() {
        return Err(EntryError::Poisoned);
    }
    decode_entry(index, &e)
}

/// Creates `region` in the free entry `index`, whose epoch is `free_epoch`: clears its pages
/// ([`clear_pages`]), then writes the entry ([`create_entry`]). Returns the region's first epoch.
pub fn create<P: Pm>(
    pm: &mut P,
    layout: &Layout,
    index: u32,
    region: &Region,
    free_epoch: u64,
) -> u64 {
    for e in region.extents() {
        clear_pages(pm, *e);
    }
    create_entry(pm, layout, index, region, free_epoch)
}

/// Clears the pages of `extent` with non-temporal stores (not fenced: the commit that makes them
/// part of a region fences first). The module calls it in bounded chunks, outside its locks.
pub fn clear_pages<P: Pm>(pm: &mut P, extent: Extent) {
    pm.zero_nt(extent.start * PAGE_SIZE, extent.pages * PAGE_SIZE);
}

/// Writes `region` into the free entry `index` (every byte before the commit words, whatever the
/// entry held) with an epoch past both `free_epoch` and the epoch the entry holds on persistent
/// memory, fences (which also orders the pages [`clear_pages`] cleared), then commits the shape
/// word. Returns the region's first epoch. Taking the larger epoch means a stale epoch kept in
/// DRAM can never let a new region start at an epoch some old undo slot of this entry carries.
pub fn create_entry<P: Pm>(
    pm: &mut P,
    layout: &Layout,
    index: u32,
    region: &Region,
    free_epoch: u64,
) -> u64 {
    let base = layout.table_entry_offset(index);
    let mut old = [0u8; ENTRY_SIZE];
    pm.read(base, &mut old);
    let on_pm = match decode_entry(index, &old) {
        Ok(EntryState::Free { epoch }) => epoch,
        _ => 0,
    };
    let entry = table::new_entry_fields(region);
    pm.write(base, &entry[..table::SHAPE_OFFSET]);
    let epoch = free_epoch.max(on_pm) + 1;
    pm.store8(
        base + table::EPOCH_OFFSET as u64,
        table::epoch_word(index, epoch),
    );
    pm.writeback(base, ENTRY_SIZE as u64);
    pm.fence();
    pm.commit8(
        base + table::SHAPE_OFFSET as u64,
        table::shape_word(index, region),
    );
    epoch
}

/// Deletes the region in entry `index`: one 8-byte store. Its pages keep their contents until a
/// later create clears them; its epoch stays, so its undo slots never match a later region.
pub fn delete<P: Pm>(pm: &mut P, layout: &Layout, index: u32) {
    pm.commit8(
        layout.table_entry_offset(index) + table::SHAPE_OFFSET as u64,
        0,
    );
}

/// Gives the region in entry `index` the extents of `resized`, which must use the extent array
/// `current` does not; `fresh` are the extents new to the region, which are cleared first.
pub fn resize<P: Pm>(pm: &mut P, layout: &Layout, index: u32, resized: &Region, fresh: &[Extent]) {
    for e in fresh {
        clear_pages(pm, *e);
    }
    resize_entry(pm, layout, index, resized);
}

/// Writes the extent array of `resized` (the one not in use), fences (which also orders the
/// pages [`clear_pages`] cleared for it), then commits the shape word that selects it.
pub fn resize_entry<P: Pm>(pm: &mut P, layout: &Layout, index: u32, resized: &Region) {
    let base = layout.table_entry_offset(index);
    let mut entry = [0u8; ENTRY_SIZE];
    table::write_extents(&mut entry, resized);
    let range = table::extent_array_range(resized.array);
    pm.write(base + range.start as u64, &entry[range.clone()]);
    pm.writeback(base + range.start as u64, range.len() as u64);
    pm.fence();
    pm.commit8(
        base + table::SHAPE_OFFSET as u64,
        table::shape_word(index, resized),
    );
}

/// Advances the epoch of entry `index` from `epoch`: the commit point of PMSYNC and the instant
/// every undo slot of `epoch` becomes stale. Returns the new epoch.
pub fn advance_epoch<P: Pm>(pm: &mut P, layout: &Layout, index: u32, epoch: u64) -> u64 {
    let next = epoch + 1;
    pm.commit8(
        layout.table_entry_offset(index) + table::EPOCH_OFFSET as u64,
        table::epoch_word(index, next),
    );
    next
}

/// Reading persistent memory met poisoned memory (a media error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Poisoned;

/// Bytes [`save_undo`] reads at a time.
const SAVE_CHUNK: usize = 256;

/// Saves device page `src_page` into undo slot `slot` for `header` (a [`SlotKind::Page`]
/// header): the data with non-temporal stores, a fence, then the header, write-back, fence. A
/// page that is all zeros (a page no one wrote since create or grow) is saved by a
/// [`SlotKind::Zero`] header alone on a device that has them: one line and one fence instead of
/// a page copy. After it returns `Ok` the page may be written. If the page (or the slot) is
/// poisoned, no header is written, so the slot never counts, and the page must not be written:
/// its committed contents could not be saved.
pub fn save_undo<P: Pm>(
    pm: &mut P,
    layout: &Layout,
    slot: u32,
    header: &UndoHeader,
    src_page: u64,
) -> Result<(), Poisoned> {
    let data = layout.undo_data_offset(slot);
    let src = src_page * PAGE_SIZE;
    let mut zero = layout.compact_undo;
    let mut buf = [0u8; SAVE_CHUNK];
    pm.take_poison();
    for at in (0..PAGE_SIZE).step_by(SAVE_CHUNK) {
        pm.read(src + at, &mut buf);
        if pm.take_poison() {
            return Err(Poisoned);
        }
        if zero && buf.iter().all(|&b| b == 0) {
            continue;
        }
        if zero {
            // The first bytes that are not zero: what came before them was.
            pm.zero_nt(data, at);
            zero = false;
        }
        pm.write_nt(data + at, &buf);
    }
    let header = if zero {
        UndoHeader::zero_page(header.region, header.page, header.epoch)
    } else {
        pm.fence();
        *header
    };
    let h = layout.undo_header_offset(slot);
    pm.write(h, &header.encode());
    pm.persist(h, undo::HEADER_SIZE as u64);
    Ok(())
}

/// Empties undo slot `slot` (its header becomes zero, which never checks out), persisted: for a
/// page a shrink cut off, whose saved contents must not come back if the region grows again in
/// the same epoch.
pub fn forget_undo<P: Pm>(pm: &mut P, layout: &Layout, slot: u32) {
    let h = layout.undo_header_offset(slot);
    pm.zero(h, undo::HEADER_SIZE as u64);
    pm.persist(h, undo::HEADER_SIZE as u64);
}

/// What recovery did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Pages copied back from undo slots.
    pub pages_restored: u64,
    /// Regions whose epoch was advanced past the interrupted one.
    pub regions_rolled_back: u64,
    /// Lines copied back from line records.
    pub lines_restored: u64,
    /// Pages that could not be copied back (their slot or the page is poisoned): their regions
    /// are left unrecovered, their slots still matching, and reported through `lost`.
    pub pages_lost: u64,
}

/// Recovery cannot tell which region an undo slot belongs to: its header is poisoned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoisonedHeader {
    /// The slot.
    pub slot: u32,
}

/// Where recovery reports the pages it could not copy back, and asks which regions have one.
pub trait LostPages {
    /// Page `page` of the region in entry `index` could not be copied back.
    fn lost(&mut self, index: u32, page: u64);
    /// Whether the region in entry `index` has a page that could not be copied back.
    fn has_lost(&self, index: u32) -> bool;
    /// Undo slot `slot` belongs to a region left unrecovered: it must not be reused.
    fn keep_slot(&mut self, slot: u32);
}

/// Rolls every region back to its last committed snapshot: copies back each undo slot of a live
/// region's current epoch, fences, then advances those regions' epochs so the slots go stale.
/// Idempotent: a crash during recovery leaves a device that recovers the same way. Its cost grows
/// with the undo area, not with the device.
///
/// A page that cannot be copied back (poisoned memory) is reported to `lost`, and its region's
/// epoch is not advanced: its slots keep matching, so a later attach (after the media error is
/// repaired) can still roll it back, and the caller must keep the region from being used
/// meanwhile. A poisoned undo header refuses the whole recovery: it could belong to any region.
pub fn recover<P: Pm, L: LostPages>(
    pm: &mut P,
    layout: &Layout,
    lost: &mut L,
) -> Result<Recovery, PoisonedHeader> {
    let mut done = Recovery::default();
    for slot in 0..layout.undo_slots {
        if let Some((h, region)) = live_slot(pm, layout, slot)? {
            let (index, Some(page)) = (h.region, region.device_page(h.page)) else {
                continue;
            };
            match h.kind {
                SlotKind::Lines => continue,
                SlotKind::Zero => {
                    pm.zero_nt(page * PAGE_SIZE, PAGE_SIZE);
                    done.pages_restored += 1;
                    continue;
                }
                SlotKind::Page => {}
            }
            pm.take_poison();
            pm.copy(page * PAGE_SIZE, layout.undo_data_offset(slot), PAGE_SIZE);
            if pm.take_poison() {
                lost.lost(index, page);
                done.pages_lost += 1;
                continue;
            }
            pm.writeback(page * PAGE_SIZE, PAGE_SIZE);
            done.pages_restored += 1;
        }
    }
    // Line records after every page copy: a page saved after some of its lines were logged holds
    // their new bytes, which the records take back.
    for slot in 0..layout.undo_slots {
        if let Some((h, region)) = live_slot(pm, layout, slot)? {
            if h.kind == SlotKind::Lines {
                restore_lines(pm, layout, slot, &h, &region, lost, &mut done);
            }
        }
    }
    if done.pages_restored == 0 && done.pages_lost == 0 && done.lines_restored == 0 {
        return Ok(done);
    }
    pm.fence();
    // Advancing a region's epoch makes its remaining slots stale, so each region advances once.
    // A region with a lost page is not advanced: it stays unrecovered, and keeps its slots.
    for slot in 0..layout.undo_slots {
        if let Some((h, _)) = live_slot(pm, layout, slot)? {
            if lost.has_lost(h.region) {
                lost.keep_slot(slot);
                continue;
            }
            if let Ok(EntryState::Live { epoch, .. }) = read_entry(pm, layout, h.region) {
                advance_epoch(pm, layout, h.region, epoch);
                done.regions_rolled_back += 1;
            }
        }
    }
    Ok(done)
}

/// Copies back the lines of the valid records of line-log slot `slot` (header `h`) of `region`.
fn restore_lines<P: Pm, L: LostPages>(
    pm: &mut P,
    layout: &Layout,
    slot: u32,
    h: &UndoHeader,
    region: &Region,
    lost: &mut L,
    done: &mut Recovery,
) {
    let owner = RecordOwner {
        region: h.region,
        epoch: h.epoch,
        seq: h.page,
    };
    let lines_per_page = PAGE_SIZE / CACHE_LINE;
    let base = layout.undo_data_offset(slot);
    for pos in 0..RECORDS_PER_SLOT {
        let (desc_at, saved_at) = line_log::record_offsets(pos);
        let mut desc = [0u8; line_log::DESCRIPTOR_SIZE as usize];
        let mut saved = [0u8; CACHE_LINE as usize];
        pm.take_poison();
        pm.read(base + desc_at, &mut desc);
        pm.read(base + saved_at, &mut saved);
        if pm.take_poison() {
            // Whatever this record was, its region cannot be said to be rolled back.
            lost.lost(h.region, 0);
            done.pages_lost += 1;
            continue;
        }
        let Some(line) = line_log::valid_line(&owner, pos, &desc, &saved) else {
            continue;
        };
        let Some(page) = region.device_page(line / lines_per_page) else {
            continue;
        };
        let at = page * PAGE_SIZE + (line % lines_per_page) * CACHE_LINE;
        pm.write(at, &saved);
        pm.writeback(at, CACHE_LINE);
        done.lines_restored += 1;
    }
}

/// Recovery for callers that cannot lose a page (the host tools and tests on images without
/// media errors): a lost page is a bug there.
pub struct NoneLost;

impl LostPages for NoneLost {
    fn lost(&mut self, index: u32, page: u64) {
        let _ = (index, page);
    }
    fn has_lost(&self, _: u32) -> bool {
        false
    }
    fn keep_slot(&mut self, _: u32) {}
}

/// The header of undo slot `slot` and its region, when the slot belongs to a live region's
/// current epoch (a page or zero slot also names a page inside the region).
fn live_slot<P: Pm>(
    pm: &P,
    layout: &Layout,
    slot: u32,
) -> Result<Option<(UndoHeader, Region)>, PoisonedHeader> {
    let mut b = [0u8; undo::HEADER_SIZE];
    pm.take_poison();
    pm.read(layout.undo_header_offset(slot), &mut b);
    if pm.take_poison() {
        return Err(PoisonedHeader { slot });
    }
    let Some(h) = UndoHeader::decode(&b) else {
        return Ok(None);
    };
    if h.region >= layout.table_entries {
        return Ok(None);
    }
    match read_entry(pm, layout, h.region) {
        Ok(EntryState::Live { region, epoch }) if epoch == h.epoch => {
            if h.kind != SlotKind::Lines && region.device_page(h.page).is_none() {
                return Ok(None);
            }
            Ok(Some((h, region)))
        }
        _ => Ok(None),
    }
}
