// SPDX-License-Identifier: GPL-2.0

//! Line records: the committed contents of single 64-byte lines, saved before a write through
//! the kernel (`REGION_IOC_WRITE`) changes them, so that a small update costs a few lines of log
//! instead of a page copy.
//!
//! A line-log slot is an undo slot whose header says [`SlotKind::Lines`] (see `undo.rs`); its
//! `page` field is the slot's sequence number in the region's epoch. Its data page holds
//! [`RECORDS_PER_SLOT`] records in groups: a descriptor line with four 16-byte descriptors
//! (`line`, the record's line number in the region; `check`, a 64-bit check over the region, the
//! epoch, the slot's sequence number, the record's position, `line` and the 64 saved bytes),
//! then the four saved lines. A record is written (non-temporally, with the slot's header when the
//! slot is new), then one fence for every record of a write, and only then the new bytes: so a
//! record whose check holds describes a complete copy, and a torn one fails its check and its line
//! was never written. Records are never rewritten in an epoch: each line is logged once per epoch
//! (the module keeps which), and a shrink zeroes the descriptors of the lines it cuts off.
//!
//! Recovery copies page slots back first, then line records: a page saved after some of its lines
//! were logged holds their new bytes, which the records then take back.
//!
//! Plain `core` Rust shared by the module and the host crates.

use crate::bytes::{get64, put64};
use crate::pm::CACHE_LINE;

/// Records one line-log slot holds.
pub const RECORDS_PER_SLOT: u32 = 48;
/// Records per group: one descriptor line, then this many saved lines.
const GROUP: u32 = 4;
/// Bytes of one descriptor.
pub const DESCRIPTOR_SIZE: u64 = 16;

/// Byte offsets, inside a slot's data page, of record `pos`'s descriptor and saved line.
pub fn record_offsets(pos: u32) -> (u64, u64) {
    let group = u64::from(pos / GROUP);
    let within = u64::from(pos % GROUP);
    let group_start = group * (u64::from(GROUP) + 1) * CACHE_LINE;
    (
        group_start + within * DESCRIPTOR_SIZE,
        group_start + (1 + within) * CACHE_LINE,
    )
}

/// Who a record belongs to: everything its check binds besides the line and its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordOwner {
    /// Region table index.
    pub region: u32,
    /// The region's epoch.
    pub epoch: u64,
    /// The slot's sequence number in that epoch.
    pub seq: u64,
}

/// The 64-bit check of a record: FNV-1a over its owner, position, line and bytes, finished with
/// a 64-bit mixer; never zero, so a zeroed descriptor never checks out.
pub fn check(owner: &RecordOwner, pos: u32, line: u64, data: &[u8; CACHE_LINE as usize]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(&owner.region.to_le_bytes());
    eat(&owner.epoch.to_le_bytes());
    eat(&owner.seq.to_le_bytes());
    eat(&pos.to_le_bytes());
    eat(&line.to_le_bytes());
    eat(data);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h | 1
}

/// The 16 bytes of the descriptor of record `pos` saving `data` of `line`.
pub fn descriptor(
    owner: &RecordOwner,
    pos: u32,
    line: u64,
    data: &[u8; CACHE_LINE as usize],
) -> [u8; DESCRIPTOR_SIZE as usize] {
    let mut d = [0u8; DESCRIPTOR_SIZE as usize];
    put64(&mut d, 0, line);
    put64(&mut d, 8, check(owner, pos, line, data));
    d
}

/// The line a descriptor names, if its check holds for `data` (`None`: empty, torn, stale, or
/// of another owner or position).
pub fn valid_line(
    owner: &RecordOwner,
    pos: u32,
    desc: &[u8; DESCRIPTOR_SIZE as usize],
    data: &[u8; CACHE_LINE as usize],
) -> Option<u64> {
    let line = get64(desc, 0);
    (get64(desc, 8) == check(owner, pos, line, data)).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: RecordOwner = RecordOwner {
        region: 2,
        epoch: 9,
        seq: 0,
    };

    #[test]
    fn records_fill_the_page_without_overlap() {
        let mut used = [false; 64];
        for pos in 0..RECORDS_PER_SLOT {
            let (d, l) = record_offsets(pos);
            assert!(l + CACHE_LINE <= 4096 && d % DESCRIPTOR_SIZE == 0);
            assert!(!used[(l / CACHE_LINE) as usize], "line of record {pos}");
            used[(l / CACHE_LINE) as usize] = true;
            assert!(
                !used[(d / CACHE_LINE) as usize],
                "descriptor of record {pos}"
            );
        }
    }

    #[test]
    fn a_descriptor_holds_only_for_its_owner_position_line_and_bytes() {
        let data = [7u8; 64];
        let d = descriptor(&OWNER, 5, 33, &data);
        assert_eq!(valid_line(&OWNER, 5, &d, &data), Some(33));
        assert_eq!(valid_line(&OWNER, 6, &d, &data), None);
        let mut other = data;
        other[63] ^= 1;
        assert_eq!(valid_line(&OWNER, 5, &d, &other), None);
        for changed in [
            RecordOwner { region: 3, ..OWNER },
            RecordOwner { epoch: 10, ..OWNER },
            RecordOwner { seq: 1, ..OWNER },
        ] {
            assert_eq!(valid_line(&changed, 5, &d, &data), None);
        }
        assert_eq!(valid_line(&OWNER, 5, &[0; 16], &[0; 64]), None);
        for bit in 0..128 {
            let mut torn = d;
            torn[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(valid_line(&OWNER, 5, &torn, &data), None, "bit {bit}");
        }
    }
}
