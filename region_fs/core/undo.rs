// SPDX-License-Identifier: GPL-2.0

//! Undo slots: the committed contents of a page, saved before its first write in an epoch.
//!
//! Slot `i` is a 32-byte header in the header pages and one data page (see `Layout`). The write
//! fault path copies the page's committed contents into the data page, writes it back, fences,
//! then writes the header (region, page, epoch, CRC-32C of those), writes it back and fences, and
//! only then lets the page be written. So a header that checks out always describes a complete
//! copy; a torn header fails its check, and then the page was never written either.
//!
//! A slot matters only while its epoch equals its region's epoch: PMSYNC advances the epoch and
//! every slot of the old epoch becomes stale at that instant, without being touched. Recovery
//! ([`slot_to_apply`]) copies back exactly the slots that still match.
//!
//! Plain `core` Rust shared by the module and the host crates.

use crate::bytes::{get32, get64, put32, put64};
use crate::checksum::crc32c;
use crate::table::Region;

/// Bytes of one header.
pub const HEADER_SIZE: usize = 32;

/// What an undo slot's data page holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    /// A copy of one page of the region (`page` says which).
    Page,
    /// Line records (`line_log.rs`); `page` is the slot's sequence number in the epoch.
    Lines,
    /// Nothing: page `page` was all zeros, so the header alone saves it (recovery zeroes it).
    Zero,
}

/// What a valid header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UndoHeader {
    /// Region table index of the region the page belongs to.
    pub region: u32,
    /// What the data page holds.
    pub kind: SlotKind,
    /// Page index inside the region ([`SlotKind::Page`]), or the slot's sequence number in the
    /// epoch ([`SlotKind::Lines`]).
    pub page: u64,
    /// The region's epoch when the page was saved.
    pub epoch: u64,
}

impl UndoHeader {
    /// The header of a page copy of `page` of region `region` in `epoch`.
    pub fn page_copy(region: u32, page: u64, epoch: u64) -> Self {
        Self {
            region,
            kind: SlotKind::Page,
            page,
            epoch,
        }
    }

    /// The header of page `page` of region `region` in `epoch`, saved by its header alone: it
    /// was all zeros.
    pub fn zero_page(region: u32, page: u64, epoch: u64) -> Self {
        Self {
            kind: SlotKind::Zero,
            ..Self::page_copy(region, page, epoch)
        }
    }

    /// The 32 bytes stored for this header.
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        put32(&mut b, 0, self.region);
        put32(&mut b, 4, self.kind as u32);
        put64(&mut b, 8, self.page);
        put64(&mut b, 16, self.epoch);
        let sum = crc32c(&b[..24]);
        put32(&mut b, 24, sum);
        b
    }

    /// Reads a header; `None` for an empty, torn or corrupt one.
    pub fn decode(b: &[u8; HEADER_SIZE]) -> Option<Self> {
        if crc32c(&b[..24]) != get32(b, 24) || get32(b, 28) != 0 {
            return None;
        }
        let kind = match get32(b, 4) {
            0 => SlotKind::Page,
            1 => SlotKind::Lines,
            2 => SlotKind::Zero,
            _ => return None,
        };
        Some(Self {
            region: get32(b, 0),
            kind,
            page: get64(b, 8),
            epoch: get64(b, 16),
        })
    }
}

/// Recovery's decision for one page slot: the device page to copy the slot's saved page back
/// to (or to zero, for a [`SlotKind::Zero`] slot), or `None` when the slot is empty, torn, stale
/// (its epoch is not its region's), names a region or page that does not exist, or holds line
/// records. `live` gives a table index's live region and epoch.
pub fn slot_to_apply<F>(header: &[u8; HEADER_SIZE], live: F) -> Option<(u32, u64)>
where
    F: FnOnce(u32) -> Option<(Region, u64)>,
{
    let h = UndoHeader::decode(header)?;
    if h.kind == SlotKind::Lines {
        return None;
    }
    let (region, epoch) = live(h.region)?;
    if epoch != h.epoch {
        return None;
    }
    Some((h.region, region.device_page(h.page)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Extent;

    fn region() -> Region {
        Region::new(
            b"r",
            0,
            0,
            0o600,
            &[Extent {
                start: 50,
                pages: 4,
            }],
            0,
        )
    }

    #[test]
    fn header_round_trips_and_zero_is_empty() {
        let h = UndoHeader::page_copy(3, 9, 77);
        assert_eq!(UndoHeader::decode(&h.encode()), Some(h));
        assert_eq!(UndoHeader::decode(&[0; HEADER_SIZE]), None);
    }

    #[test]
    fn every_bit_flip_makes_the_header_invalid() {
        let good = UndoHeader::page_copy(3, 9, 77).encode();
        for bit in 0..HEADER_SIZE * 8 {
            let mut b = good;
            b[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(UndoHeader::decode(&b), None, "bit {bit}");
        }
    }

    #[test]
    fn only_slots_of_the_current_epoch_are_applied() {
        let h = UndoHeader::page_copy(0, 2, 5).encode();
        assert_eq!(slot_to_apply(&h, |_| Some((region(), 5))), Some((0, 52)));
        assert_eq!(
            slot_to_apply(&h, |_| Some((region(), 6))),
            None,
            "stale: committed since"
        );
        assert_eq!(slot_to_apply(&h, |_| None), None, "region deleted");
    }

    #[test]
    fn slots_beyond_the_region_are_ignored() {
        let h = UndoHeader::page_copy(0, 4, 5).encode();
        assert_eq!(slot_to_apply(&h, |_| Some((region(), 5))), None);
    }
}
