// SPDX-License-Identifier: GPL-2.0

//! The superblock and the layout derived from it.
//!
//! The superblock is the first 128 bytes of page 0. It stores only what cannot be derived: the
//! magic, the format version, the uuid, the device size it was formatted for, the region table's
//! entry count and the undo area's slot count, and a CRC-32C of those. Every other position
//! ([`Layout`]) is computed from them. It is written once, by format, and never updated, so it
//! needs no commit protocol beyond "everything else first, then the superblock".
//!
//! Plain `core` Rust shared by the module and the host crates; `docs/FORMAT.md` describes the
//! same bytes.

use crate::bytes::{get32, get64, put32, put64};
use crate::checksum::crc32c;
use crate::geometry::PAGE_SIZE;

/// The first 8 bytes of a formatted device.
pub const MAGIC: [u8; 8] = *b"REGIONPM";
/// The format version this code writes: 2, which adds line records to the undo area. It reads
/// version 1 too (the same layout without line records: writes through the kernel save whole
/// pages there), and a module that knows only version 1 refuses version 2, whose recovery it
/// would not do right.
pub const VERSION: u32 = 2;
/// The first format version, still read.
pub const VERSION_1: u32 = 1;
/// Bytes of page 0 the superblock occupies.
pub const SUPERBLOCK_SIZE: usize = 128;
/// Bytes of one region table entry (see `table.rs`).
pub const TABLE_ENTRY_SIZE: u64 = 512;
/// Bytes of one undo slot header (see `undo.rs`).
pub const UNDO_HEADER_SIZE: u64 = 32;
/// The most region table entries a device may have.
pub const MAX_TABLE_ENTRIES: u32 = 1 << 16;
/// The most undo slots a device may have.
pub const MAX_UNDO_SLOTS: u32 = 1 << 24;

// Byte offsets inside the superblock.
const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_FLAGS: usize = 12;
const OFF_UUID: usize = 16;
const OFF_DEVICE_PAGES: usize = 32;
const OFF_TABLE_ENTRIES: usize = 40;
const OFF_UNDO_SLOTS: usize = 44;
const OFF_CHECKSUM: usize = 124;

/// What the superblock says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Superblock {
    /// Identifies this formatted device.
    pub uuid: [u8; 16],
    /// Pages of the device when it was formatted.
    pub device_pages: u64,
    /// Entries of the region table: the most regions the device can hold.
    pub table_entries: u32,
    /// Slots of the undo area: the most pages all regions together can dirty in one epoch.
    pub undo_slots: u32,
}

/// Why a superblock or the geometry it describes is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuperblockError {
    /// Page 0 is all zeros: the device was never formatted.
    Unformatted,
    /// The magic is not [`MAGIC`]: this is not a Region System device.
    BadMagic,
    /// A format version this code does not know.
    UnknownVersion(u32),
    /// The checksum does not match the contents.
    BadChecksum,
    /// Flags this version does not know are set.
    UnknownFlags(u32),
    /// The superblock describes a device larger than the one present.
    LargerThanDevice {
        /// Pages the superblock says.
        formatted: u64,
        /// Pages the device has.
        present: u64,
    },
    /// The geometry cannot be laid out: the named count is out of range, or the metadata leaves
    /// no room for data.
    BadGeometry(&'static str),
    /// The superblock cannot be read: its memory is poisoned (a media error).
    Poisoned,
}

impl Superblock {
    /// The superblock that `format` writes for a device of `device_pages` pages.
    pub fn for_device(device_pages: u64, uuid: [u8; 16]) -> Self {
        // One undo slot per 16 pages of device, at least 64: a region can dirty a sixteenth of
        // the device between two PMSYNCs.
        let undo_slots = (device_pages / 16).clamp(64, u64::from(MAX_UNDO_SLOTS)) as u32;
        Self {
            uuid,
            device_pages,
            table_entries: 256,
            undo_slots,
        }
    }

    /// The 128 bytes stored at the start of page 0.
    pub fn encode(&self) -> [u8; SUPERBLOCK_SIZE] {
        let mut b = [0u8; SUPERBLOCK_SIZE];
        b[OFF_MAGIC..OFF_MAGIC + 8].copy_from_slice(&MAGIC);
        put32(&mut b, OFF_VERSION, VERSION);
        put32(&mut b, OFF_FLAGS, 0);
        b[OFF_UUID..OFF_UUID + 16].copy_from_slice(&self.uuid);
        put64(&mut b, OFF_DEVICE_PAGES, self.device_pages);
        b[OFF_TABLE_ENTRIES..OFF_TABLE_ENTRIES + 4]
            .copy_from_slice(&self.table_entries.to_le_bytes());
        b[OFF_UNDO_SLOTS..OFF_UNDO_SLOTS + 4].copy_from_slice(&self.undo_slots.to_le_bytes());
        let sum = crc32c(&b[..OFF_CHECKSUM]);
        b[OFF_CHECKSUM..].copy_from_slice(&sum.to_le_bytes());
        b
    }

    /// Reads and checks the superblock of a device of `present_pages` pages, and derives the
    /// layout. Checks in order: formatted, magic, checksum, version, flags, geometry.
    pub fn decode(
        b: &[u8; SUPERBLOCK_SIZE],
        present_pages: u64,
    ) -> Result<(Self, Layout), SuperblockError> {
        if b.iter().all(|&x| x == 0) {
            return Err(SuperblockError::Unformatted);
        }
        if b[OFF_MAGIC..OFF_MAGIC + 8] != MAGIC {
            return Err(SuperblockError::BadMagic);
        }
        if crc32c(&b[..OFF_CHECKSUM]) != get32(b, OFF_CHECKSUM) {
            return Err(SuperblockError::BadChecksum);
        }
        let version = get32(b, OFF_VERSION);
        if version != VERSION && version != VERSION_1 {
            return Err(SuperblockError::UnknownVersion(version));
        }
        let flags = get32(b, OFF_FLAGS);
        if flags != 0 {
            return Err(SuperblockError::UnknownFlags(flags));
        }
        if b[OFF_UNDO_SLOTS + 4..OFF_CHECKSUM].iter().any(|&x| x != 0) {
            return Err(SuperblockError::BadGeometry("reserved bytes"));
        }
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&b[OFF_UUID..OFF_UUID + 16]);
        let sb = Self {
            uuid,
            device_pages: get64(b, OFF_DEVICE_PAGES),
            table_entries: get32(b, OFF_TABLE_ENTRIES),
            undo_slots: get32(b, OFF_UNDO_SLOTS),
        };
        if sb.device_pages > present_pages {
            return Err(SuperblockError::LargerThanDevice {
                formatted: sb.device_pages,
                present: present_pages,
            });
        }
        let layout = Layout {
            compact_undo: version >= VERSION,
            ..Layout::new(&sb)?
        };
        Ok((sb, layout))
    }
}

/// Where everything is, in device pages; derived from the superblock, never stored.
///
/// Page 0 holds the superblock; then the region table; then the undo slot headers; then the undo
/// slots' data pages; then the data area, from which regions get their extents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// First page of the region table.
    pub table_start: u64,
    /// Pages of the region table.
    pub table_pages: u64,
    /// Entries of the region table.
    pub table_entries: u32,
    /// First page of the undo slot headers.
    pub undo_header_start: u64,
    /// Pages of undo slot headers.
    pub undo_header_pages: u64,
    /// First undo data page: slot `i` saves its page at `undo_data_start + i`.
    pub undo_data_start: u64,
    /// Undo slots.
    pub undo_slots: u32,
    /// First page of the data area.
    pub data_start: u64,
    /// Pages of the data area.
    pub data_pages: u64,
    /// Whether undo slots may hold line records and zero-page headers (format version 2 and
    /// later).
    pub compact_undo: bool,
}

impl Layout {
    /// Lays out a device as `sb` describes it, or says why it cannot be.
    pub fn new(sb: &Superblock) -> Result<Self, SuperblockError> {
        if sb.table_entries == 0 || sb.table_entries > MAX_TABLE_ENTRIES {
            return Err(SuperblockError::BadGeometry("table entry count"));
        }
        if sb.undo_slots == 0 || sb.undo_slots > MAX_UNDO_SLOTS {
            return Err(SuperblockError::BadGeometry("undo slot count"));
        }
        let table_pages = pages_for(u64::from(sb.table_entries) * TABLE_ENTRY_SIZE);
        let undo_header_pages = pages_for(u64::from(sb.undo_slots) * UNDO_HEADER_SIZE);
        let table_start = 1;
        let undo_header_start = table_start + table_pages;
        let undo_data_start = undo_header_start + undo_header_pages;
        let data_start = undo_data_start + u64::from(sb.undo_slots);
        if data_start >= sb.device_pages {
            return Err(SuperblockError::BadGeometry("no room for data"));
        }
        Ok(Self {
            table_start,
            table_pages,
            table_entries: sb.table_entries,
            undo_header_start,
            undo_header_pages,
            undo_data_start,
            undo_slots: sb.undo_slots,
            data_start,
            data_pages: sb.device_pages - data_start,
            compact_undo: true,
        })
    }

    /// Byte offset on the device of region table entry `index`.
    pub fn table_entry_offset(&self, index: u32) -> u64 {
        self.table_start * PAGE_SIZE + u64::from(index) * TABLE_ENTRY_SIZE
    }

    /// Byte offset on the device of undo slot header `slot`.
    pub fn undo_header_offset(&self, slot: u32) -> u64 {
        self.undo_header_start * PAGE_SIZE + u64::from(slot) * UNDO_HEADER_SIZE
    }

    /// Byte offset on the device of undo slot `slot`'s saved page.
    pub fn undo_data_offset(&self, slot: u32) -> u64 {
        (self.undo_data_start + u64::from(slot)) * PAGE_SIZE
    }
}

fn pages_for(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGES: u64 = (256 << 20) / PAGE_SIZE;
    const UUID: [u8; 16] = *b"0123456789abcdef";

    #[test]
    fn encode_then_decode_gives_back_the_superblock() {
        let sb = Superblock::for_device(PAGES, UUID);
        let (got, layout) = Superblock::decode(&sb.encode(), PAGES).expect("valid");
        assert_eq!(got, sb);
        assert_eq!(layout, Layout::new(&sb).expect("lays out"));
    }

    #[test]
    fn layout_areas_are_contiguous_and_fill_the_device() {
        let sb = Superblock::for_device(PAGES, UUID);
        let l = Layout::new(&sb).expect("lays out");
        assert_eq!(l.table_start, 1);
        assert_eq!(l.table_pages, 256 * 512 / 4096);
        assert_eq!(l.undo_header_start, l.table_start + l.table_pages);
        assert_eq!(l.undo_data_start, l.undo_header_start + l.undo_header_pages);
        assert_eq!(l.data_start, l.undo_data_start + u64::from(l.undo_slots));
        assert_eq!(l.data_start + l.data_pages, PAGES);
        assert_eq!(l.undo_slots, (PAGES / 16) as u32);
        assert!(l.undo_header_pages * PAGE_SIZE >= u64::from(l.undo_slots) * UNDO_HEADER_SIZE);
        assert_eq!(
            l.undo_header_offset(1) - l.undo_header_offset(0),
            UNDO_HEADER_SIZE
        );
    }

    #[test]
    fn smallest_device_still_has_data_pages() {
        let pages = crate::geometry::MIN_DEVICE_SIZE / PAGE_SIZE;
        let l = Layout::new(&Superblock::for_device(pages, UUID)).expect("lays out");
        assert!(l.data_pages > pages / 2, "{l:?}");
    }

    #[test]
    fn zero_page_is_unformatted_and_garbage_is_not_ours() {
        assert_eq!(
            Superblock::decode(&[0; SUPERBLOCK_SIZE], PAGES),
            Err(SuperblockError::Unformatted)
        );
        let mut b = Superblock::for_device(PAGES, UUID).encode();
        b[3] ^= 0x20;
        assert_eq!(
            Superblock::decode(&b, PAGES),
            Err(SuperblockError::BadMagic)
        );
    }

    #[test]
    fn every_bit_flip_after_the_magic_is_refused() {
        let good = Superblock::for_device(PAGES, UUID).encode();
        for bit in 64..SUPERBLOCK_SIZE * 8 {
            let mut b = good;
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(Superblock::decode(&b, PAGES).is_err(), "bit {bit} accepted");
        }
    }

    #[test]
    fn version_flags_and_geometry_are_checked_after_the_checksum() {
        let sb = Superblock::for_device(PAGES, UUID);
        let reseal = |mut b: [u8; SUPERBLOCK_SIZE]| {
            let sum = crc32c(&b[..OFF_CHECKSUM]);
            b[OFF_CHECKSUM..].copy_from_slice(&sum.to_le_bytes());
            b
        };
        let mut b = sb.encode();
        b[OFF_VERSION] = 3;
        assert_eq!(
            Superblock::decode(&reseal(b), PAGES),
            Err(SuperblockError::UnknownVersion(3))
        );
        let mut b = sb.encode();
        b[OFF_VERSION] = 1;
        let (_, layout) = Superblock::decode(&reseal(b), PAGES).expect("version 1 is read");
        assert!(!layout.compact_undo, "version 1 has no line records");
        let (_, layout) = Superblock::decode(&sb.encode(), PAGES).expect("version 2");
        assert!(layout.compact_undo);
        let mut b = sb.encode();
        b[OFF_FLAGS] = 1;
        assert_eq!(
            Superblock::decode(&reseal(b), PAGES),
            Err(SuperblockError::UnknownFlags(1))
        );
        assert_eq!(
            Superblock::decode(&sb.encode(), PAGES - 1),
            Err(SuperblockError::LargerThanDevice {
                formatted: PAGES,
                present: PAGES - 1
            })
        );
        let tiny = Superblock {
            device_pages: 10,
            ..sb
        };
        assert_eq!(
            Superblock::decode(&tiny.encode(), PAGES),
            Err(SuperblockError::BadGeometry("no room for data"))
        );
        let none = Superblock {
            table_entries: 0,
            ..sb
        };
        assert_eq!(
            Superblock::decode(&none.encode(), PAGES),
            Err(SuperblockError::BadGeometry("table entry count"))
        );
    }
}
