// SPDX-License-Identifier: GPL-2.0

//! Region table entries: the persistent record of one region.
//!
//! An entry is 512 bytes. Every change to it commits with one aligned 8-byte store:
//!
//! - the **shape word** (offset 496) says whether the entry is live, which of its two extent
//!   arrays is active, how many of that array's extents are in use and the region's size in pages,
//!   and carries 16 check bits (CRC-16 over the entry's index, its name, owner, mode, the active
//!   extents and the other 48 bits of the word). Create writes name, owner, mode and extents while
//!   the entry is free, then stores the shape word; resize writes the *inactive* extent array, then
//!   stores a shape word that selects it; delete stores zero. A crash before the store leaves the
//!   old, checked state; after it, the new one. Nothing the check bits cover is ever written while
//!   it is covered.
//! - the **epoch word** (offset 504): the region's epoch in 48 bits and 16 check bits over the
//!   entry index and the epoch. PMSYNC commits by storing epoch + 1. The epoch survives delete and
//!   only grows, so undo slots left from an earlier region in the same entry never match a later
//!   one.
//!
//! Plain `core` Rust shared by the module and the host crates.

use crate::bytes::{get32, get64, put32, put64};
use crate::checksum::Crc16;

/// Bytes of one entry.
pub const ENTRY_SIZE: usize = 512;
/// Longest region name, in bytes.
pub const NAME_MAX: usize = 63;
/// Extents per extent array.
pub const EXTENTS: usize = 12;
/// Byte offset of the shape word inside an entry.
pub const SHAPE_OFFSET: usize = 496;
/// Byte offset of the epoch word inside an entry.
pub const EPOCH_OFFSET: usize = 504;
/// The largest epoch the 48-bit field holds.
pub const EPOCH_MAX: u64 = (1 << 48) - 1;

/// Whether a region at `epoch` may still commit: the epoch after it must leave room for the
/// one step recovery may advance it by, so a region stops committing at `EPOCH_MAX - 1`.
pub fn epoch_may_advance(epoch: u64) -> bool {
    epoch < EPOCH_MAX - 1
}
/// The largest region size in pages the 36-bit field holds.
pub const SIZE_PAGES_MAX: u64 = (1 << 36) - 1;

const OFF_NAME: usize = 0;
const OFF_UID: usize = 64;
const OFF_GID: usize = 68;
const OFF_MODE: usize = 72;
const OFF_FLAGS: usize = 76;
const OFF_EXTENTS: [usize; 2] = [80, 80 + EXTENTS * 16];
const OFF_RESERVED: usize = 80 + 2 * EXTENTS * 16;

const SHAPE_LIVE: u64 = 1;
const SHAPE_SELECT_B: u64 = 1 << 4;
const SHAPE_NR_SHIFT: u32 = 8;
const SHAPE_SIZE_SHIFT: u32 = 12;
const CHECK_SHIFT: u32 = 48;
const LOW48: u64 = (1 << 48) - 1;

/// A run of contiguous device pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extent {
    /// First device page.
    pub start: u64,
    /// Number of pages.
    pub pages: u64,
}

impl Extent {
    /// One past the last page.
    pub fn end(&self) -> u64 {
        self.start + self.pages
    }
}

/// A live region as its table entry records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Name bytes, NUL-padded; `name_len` of them are used.
    pub name: [u8; NAME_MAX + 1],
    /// Bytes of `name` in use.
    pub name_len: usize,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Permission bits (`0o777` at most).
    pub mode: u32,
    /// Size in pages.
    pub size_pages: u64,
    /// The extents in use, in region order; `nr_extents` of them.
    pub extents: [Extent; EXTENTS],
    /// Extents in use.
    pub nr_extents: usize,
    /// Which extent array holds `extents` (0 or 1).
    pub array: usize,
}

/// What one table entry holds.
// Decoded on the stack and consumed at once; `core` code has no allocator to box the region in.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// No region; the epoch to start the next region in this entry from.
    Free {
        /// The entry's last epoch.
        epoch: u64,
    },
    /// A region and its current epoch.
    Live {
        /// The region.
        region: Region,
        /// The region's epoch: the number of the next PMSYNC's snapshot.
        epoch: u64,
    },
}

/// Why a table entry is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryError {
    /// The shape word's check bits do not match the entry.
    ShapeCheck,
    /// The epoch word's check bits do not match.
    EpochCheck,
    /// The shape word has bits set that no version defines, or an impossible extent count.
    Shape,
    /// The name is empty, too long, not NUL-padded, or holds `/`.
    Name,
    /// The mode has bits beyond `0o777`, or reserved fields are not zero.
    Field,
    /// The extents do not add up to the size, or one is empty.
    Extents,
    /// The entry cannot be read: its memory is poisoned (a media error).
    Poisoned,
}

/// Why a name cannot name a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Empty.
    Empty,
    /// Longer than [`NAME_MAX`] bytes.
    TooLong,
    /// Holds `/` or NUL.
    BadByte,
}

/// Checks a region name: 1 to 63 bytes, without `/` or NUL.
pub fn check_name(name: &[u8]) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > NAME_MAX {
        return Err(NameError::TooLong);
    }
    if name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(NameError::BadByte);
    }
    Ok(())
}

impl Region {
    /// A region with the given identity and extents, using extent array `array`. The caller has
    /// checked the name with [`check_name`].
    pub fn new(
        name: &[u8],
        uid: u32,
        gid: u32,
        mode: u32,
        extents: &[Extent],
        array: usize,
    ) -> Self {
        let mut r = Self {
            name: [0; NAME_MAX + 1],
            name_len: name.len(),
            uid,
            gid,
            mode,
            size_pages: extents.iter().map(|e| e.pages).sum(),
            extents: [Extent::default(); EXTENTS],
            nr_extents: extents.len(),
            array,
        };
        r.name[..name.len()].copy_from_slice(name);
        r.extents[..extents.len()].copy_from_slice(extents);
        r
    }

    /// The name's bytes.
    pub fn name(&self) -> &[u8] {
        &self.name[..self.name_len]
    }

    /// The extents in use.
    pub fn extents(&self) -> &[Extent] {
        &self.extents[..self.nr_extents]
    }

    /// The device page that holds page `page` of the region, if the region has that page.
    pub fn device_page(&self, mut page: u64) -> Option<u64> {
        for e in self.extents() {
            if page < e.pages {
                return Some(e.start + page);
            }
            page -= e.pages;
        }
        None
    }
}

/// The epoch word for `epoch` in entry `index`.
pub fn epoch_word(index: u32, epoch: u64) -> u64 {
    let epoch = epoch & LOW48;
    let check = Crc16::new()
        .update(&index.to_le_bytes())
        .update(&epoch.to_le_bytes())
        .finish();
    epoch | u64::from(check) << CHECK_SHIFT
}

/// The shape word that makes `region` live in entry `index`.
pub fn shape_word(index: u32, region: &Region) -> u64 {
    let mut bits = SHAPE_LIVE
        | (region.nr_extents as u64) << SHAPE_NR_SHIFT
        | region.size_pages << SHAPE_SIZE_SHIFT;
    if region.array == 1 {
        bits |= SHAPE_SELECT_B;
    }
    bits | u64::from(shape_check(index, region, bits)) << CHECK_SHIFT
}

fn shape_check(index: u32, region: &Region, bits: u64) -> u16 {
    let mut crc = Crc16::new()
        .update(&index.to_le_bytes())
        .update(&region.name)
        .update(&region.uid.to_le_bytes())
        .update(&region.gid.to_le_bytes())
        .update(&region.mode.to_le_bytes());
    for e in region.extents() {
        crc = crc
            .update(&e.start.to_le_bytes())
            .update(&e.pages.to_le_bytes());
    }
    crc.update(&(bits & LOW48).to_le_bytes()).finish()
}

/// Writes every field of `region` but the commit words into `entry`: its identity and the
/// extent array it selects. What create and resize write before storing the shape word.
pub fn write_region_fields(entry: &mut [u8; ENTRY_SIZE], region: &Region) {
    entry[OFF_NAME..OFF_NAME + NAME_MAX + 1].copy_from_slice(&region.name);
    put32(entry, OFF_UID, region.uid);
    put32(entry, OFF_GID, region.gid);
    put32(entry, OFF_MODE, region.mode);
    put32(entry, OFF_FLAGS, 0);
    write_extents(entry, region);
}

/// The bytes of a new entry for `region` before its commit words: every byte defined (identity,
/// extents, zeros elsewhere), whatever the entry held before, so that a free entry with stray
/// bytes never leaks them into a live one (nothing read from persistent memory is kept).
pub fn new_entry_fields(region: &Region) -> [u8; ENTRY_SIZE] {
    let mut entry = [0u8; ENTRY_SIZE];
    write_region_fields(&mut entry, region);
    entry
}

/// Writes only the extent array `region` selects: what resize writes before the shape word.
pub fn write_extents(entry: &mut [u8; ENTRY_SIZE], region: &Region) {
    let base = OFF_EXTENTS[region.array];
    for i in 0..EXTENTS {
        let e = region.extents[i];
        put64(entry, base + i * 16, e.start);
        put64(entry, base + i * 16 + 8, e.pages);
    }
}

/// Byte range inside an entry of extent array `array`.
pub fn extent_array_range(array: usize) -> core::ops::Range<usize> {
    OFF_EXTENTS[array]..OFF_EXTENTS[array] + EXTENTS * 16
}

/// Reads and checks entry `index`.
pub fn decode_entry(index: u32, entry: &[u8; ENTRY_SIZE]) -> Result<EntryState, EntryError> {
    let epoch_raw = get64(entry, EPOCH_OFFSET);
    let epoch = epoch_raw & LOW48;
    // A never-used entry is all zeros, epoch word included.
    if epoch_raw != 0 && epoch_word(index, epoch) != epoch_raw {
        return Err(EntryError::EpochCheck);
    }
    let shape = get64(entry, SHAPE_OFFSET);
    if shape == 0 {
        return Ok(EntryState::Free { epoch });
    }
    let bits = shape & LOW48;
    let known =
        SHAPE_LIVE | SHAPE_SELECT_B | 0xf << SHAPE_NR_SHIFT | SIZE_PAGES_MAX << SHAPE_SIZE_SHIFT;
    if bits & !known != 0 || bits & SHAPE_LIVE == 0 {
        return Err(EntryError::Shape);
    }
    let nr_extents = ((bits >> SHAPE_NR_SHIFT) & 0xf) as usize;
    if nr_extents == 0 || nr_extents > EXTENTS {
        return Err(EntryError::Shape);
    }
    let array = usize::from(bits & SHAPE_SELECT_B != 0);
    let mut region = Region {
        name: [0; NAME_MAX + 1],
        name_len: 0,
        uid: get32(entry, OFF_UID),
        gid: get32(entry, OFF_GID),
        mode: get32(entry, OFF_MODE),
        size_pages: bits >> SHAPE_SIZE_SHIFT,
        extents: [Extent::default(); EXTENTS],
        nr_extents,
        array,
    };
    region
        .name
        .copy_from_slice(&entry[OFF_NAME..OFF_NAME + NAME_MAX + 1]);
    let base = OFF_EXTENTS[array];
    for i in 0..nr_extents {
        region.extents[i] = Extent {
            start: get64(entry, base + i * 16),
            pages: get64(entry, base + i * 16 + 8),
        };
    }
    if shape_check(index, &region, bits) != (shape >> CHECK_SHIFT) as u16 {
        return Err(EntryError::ShapeCheck);
    }
    region.name_len = region
        .name
        .iter()
        .position(|&b| b == 0)
        .ok_or(EntryError::Name)?;
    if check_name(region.name()).is_err() || region.name[region.name_len..].iter().any(|&b| b != 0)
    {
        return Err(EntryError::Name);
    }
    if region.mode & !0o777 != 0
        || get32(entry, OFF_FLAGS) != 0
        || entry[OFF_RESERVED..SHAPE_OFFSET].iter().any(|&b| b != 0)
    {
        return Err(EntryError::Field);
    }
    let mut total: u64 = 0;
    for e in region.extents() {
        if e.pages == 0 {
            return Err(EntryError::Extents);
        }
        total = total.checked_add(e.pages).ok_or(EntryError::Extents)?;
        e.start.checked_add(e.pages).ok_or(EntryError::Extents)?;
    }
    if total != region.size_pages {
        return Err(EntryError::Extents);
    }
    // The active array's unused slots are zero, as write_extents leaves them.
    if entry[base + nr_extents * 16..base + EXTENTS * 16]
        .iter()
        .any(|&b| b != 0)
    {
        return Err(EntryError::Extents);
    }
    Ok(EntryState::Live { region, epoch })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_entry(index: u32, region: &Region, epoch: u64) -> [u8; ENTRY_SIZE] {
        let mut e = [0u8; ENTRY_SIZE];
        write_region_fields(&mut e, region);
        put64(&mut e, SHAPE_OFFSET, shape_word(index, region));
        put64(&mut e, EPOCH_OFFSET, epoch_word(index, epoch));
        e
    }

    fn sample() -> Region {
        let extents = [
            Extent {
                start: 100,
                pages: 4,
            },
            Extent {
                start: 300,
                pages: 2,
            },
        ];
        Region::new(b"orders", 1000, 100, 0o640, &extents, 0)
    }

    #[test]
    fn zero_entry_is_free_at_epoch_zero() {
        assert_eq!(
            decode_entry(3, &[0; ENTRY_SIZE]),
            Ok(EntryState::Free { epoch: 0 })
        );
    }

    #[test]
    fn live_entry_decodes_to_the_region_written() {
        let r = sample();
        let e = live_entry(7, &r, 42);
        assert_eq!(
            decode_entry(7, &e),
            Ok(EntryState::Live {
                region: r,
                epoch: 42
            })
        );
        assert_eq!(r.size_pages, 6);
        assert_eq!(r.device_page(0), Some(100));
        assert_eq!(r.device_page(3), Some(103));
        assert_eq!(r.device_page(4), Some(300));
        assert_eq!(r.device_page(6), None);
    }

    #[test]
    fn an_entry_moved_to_another_index_is_refused() {
        let e = live_entry(7, &sample(), 42);
        assert!(decode_entry(8, &e).is_err());
    }

    #[test]
    fn every_bit_flip_in_a_live_entry_is_refused() {
        let r = sample();
        let good = live_entry(7, &r, 42);
        let inactive = extent_array_range(1);
        for bit in 0..ENTRY_SIZE * 8 {
            // The inactive extent array is scratch space: resize writes it before committing.
            if inactive.contains(&(bit / 8)) {
                continue;
            }
            let mut e = good;
            e[bit / 8] ^= 1 << (bit % 8);
            assert!(
                decode_entry(7, &e).is_err(),
                "bit {bit} (byte {}) accepted",
                bit / 8
            );
        }
    }

    #[test]
    fn resize_commits_by_switching_extent_arrays() {
        let index = 2;
        let old = sample();
        let mut e = live_entry(index, &old, 5);
        let grown = Region::new(
            b"orders",
            1000,
            100,
            0o640,
            &[Extent {
                start: 100,
                pages: 10,
            }],
            1,
        );
        // Before the shape store the entry still reads as the old region...
        write_extents(&mut e, &grown);
        assert_eq!(
            decode_entry(index, &e),
            Ok(EntryState::Live {
                region: old,
                epoch: 5
            })
        );
        // ...and after it, as the new one.
        put64(&mut e, SHAPE_OFFSET, shape_word(index, &grown));
        assert_eq!(
            decode_entry(index, &e),
            Ok(EntryState::Live {
                region: grown,
                epoch: 5
            })
        );
    }

    #[test]
    fn delete_keeps_the_epoch() {
        let mut e = live_entry(1, &sample(), 9);
        put64(&mut e, SHAPE_OFFSET, 0);
        assert_eq!(decode_entry(1, &e), Ok(EntryState::Free { epoch: 9 }));
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name(b"a"), Ok(()));
        assert_eq!(check_name(&[b'x'; 63]), Ok(()));
        assert_eq!(check_name(&[b'x'; 64]), Err(NameError::TooLong));
        assert_eq!(check_name(b""), Err(NameError::Empty));
        assert_eq!(check_name(b"a/b"), Err(NameError::BadByte));
        assert_eq!(check_name(b"a\0b"), Err(NameError::BadByte));
    }

    #[test]
    fn extents_that_do_not_add_up_are_refused_even_with_good_checks() {
        let mut r = sample();
        r.size_pages = 7;
        let e = live_entry(0, &r, 1);
        assert_eq!(decode_entry(0, &e), Err(EntryError::Extents));
    }
}
