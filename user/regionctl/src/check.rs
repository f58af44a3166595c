//! `regionctl check IMAGE`: an offline check of a Region System device, from a pmem image file
//! (a QEMU NVDIMM backing file, say) or a block device the module is not attached to.
//!
//! It reads only metadata (superblock, region table, undo headers) with the same `core` layout
//! code the module uses, and reports every inconsistency it finds, not just the first.

use region_layout::alloc::{FreeSpace, RebuildError};
use region_layout::geometry::PAGE_SIZE;
use region_layout::superblock::{Superblock, SUPERBLOCK_SIZE};
use region_layout::table::{decode_entry, EntryState, ENTRY_SIZE};
use region_layout::undo::{SlotKind, UndoHeader, HEADER_SIZE};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Where an fsdax namespace keeps its info block, and what it starts with.
const PFN_INFO_OFFSET: u64 = 4096;
const PFN_SIGNATURE: &[u8; 16] = b"NVDIMM_PFN_INFO\0";
const PFN_DATAOFF: usize = 56;

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Byte offset of the Region System inside the image.
    pub offset: u64,
    /// Regions found.
    pub regions: u32,
    /// Data pages in use by regions.
    pub used_pages: u64,
    /// Data pages free.
    pub free_pages: u64,
    /// Undo slots that the next attach will copy back (stores after a region's last PMSYNC).
    pub pending_undo: u64,
    /// Every inconsistency, one line each.
    pub problems: Vec<String>,
}

/// Where the Region System starts in `file`: after the fsdax info block's data offset when the
/// image holds one, else at 0.
pub fn find_offset(file: &File) -> io::Result<u64> {
    let mut b = [0u8; 64];
    match file.read_exact_at(&mut b, PFN_INFO_OFFSET) {
        Ok(()) if &b[..16] == PFN_SIGNATURE => {
            let mut off = [0u8; 8];
            off.copy_from_slice(&b[PFN_DATAOFF..PFN_DATAOFF + 8]);
            Ok(u64::from_le_bytes(off))
        }
        Ok(()) => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
        Err(e) => Err(e),
    }
}

/// Checks the Region System at `offset` in `file` of `len` bytes; `progress` is told the
/// fraction done now and then.
pub fn check(
    file: &File,
    len: u64,
    offset: u64,
    progress: &mut dyn FnMut(f64),
) -> io::Result<Report> {
    let mut report = Report {
        offset,
        ..Report::default()
    };
    let present = len.saturating_sub(offset) / PAGE_SIZE;
    let mut sb = [0u8; SUPERBLOCK_SIZE];
    file.read_exact_at(&mut sb, offset)?;
    let layout = match Superblock::decode(&sb, present) {
        Ok((_, layout)) => layout,
        Err(e) => {
            report.problems.push(format!("superblock: {e:?}"));
            return Ok(report);
        }
    };
    let total = u64::from(layout.table_entries) + u64::from(layout.undo_slots);
    let mut done = 0u64;
    let mut tick = |done: u64| {
        if done.is_multiple_of(4096) {
            progress(done as f64 / total as f64);
        }
    };

    let mut live = Vec::new();
    let mut used = Vec::new();
    for index in 0..layout.table_entries {
        let mut e = [0u8; ENTRY_SIZE];
        file.read_exact_at(&mut e, offset + layout.table_entry_offset(index))?;
        match decode_entry(index, &e) {
            Ok(EntryState::Live { region, epoch }) => {
                used.extend_from_slice(region.extents());
                report.used_pages += region.size_pages;
                if live
                    .iter()
                    .any(|(_, r, _): &(u32, region_layout::table::Region, u64)| {
                        r.name() == region.name()
                    })
                {
                    report.problems.push(format!(
                        "region table entry {index}: name '{}' is used twice",
                        String::from_utf8_lossy(region.name())
                    ));
                }
                live.push((index, region, epoch));
            }
            Ok(EntryState::Free { .. }) => {}
            Err(err) => report
                .problems
                .push(format!("region table entry {index}: {err:?}")),
        }
        done += 1;
        tick(done);
    }
    report.regions = live.len() as u32;
    match FreeSpace::rebuild(layout.data_start, layout.data_pages, &mut used, Vec::new()) {
        Ok(free) => report.free_pages = free.free_pages(),
        Err(RebuildError::OutOfBounds(e)) => report.problems.push(format!(
            "an extent (pages {}..{}) lies outside the data area",
            e.start,
            e.end()
        )),
        Err(RebuildError::Overlap(a, b)) => report.problems.push(format!(
            "extents overlap: pages {}..{} and {}..{}",
            a.start,
            a.end(),
            b.start,
            b.end()
        )),
        Err(RebuildError::OutOfMemory) => return Err(io::ErrorKind::OutOfMemory.into()),
    }
    for slot in 0..layout.undo_slots {
        let mut h = [0u8; HEADER_SIZE];
        file.read_exact_at(&mut h, offset + layout.undo_header_offset(slot))?;
        if let Some(header) = UndoHeader::decode(&h) {
            // A line-log slot's `page` is its sequence number, not a page.
            let pending = live.iter().any(|(i, r, epoch)| {
                *i == header.region
                    && *epoch == header.epoch
                    && (header.kind == SlotKind::Lines || header.page < r.size_pages)
            });
            report.pending_undo += u64::from(pending);
        }
        done += 1;
        tick(done);
    }
    progress(1.0);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use region_layout::ops;
    use region_layout::pm::Pm;
    use region_layout::table::{Extent, Region};
    use std::io::Write;

    /// An image in memory, for building test images with the module's own operations.
    struct Image(Vec<u8>);

    impl Pm for Image {
        fn read(&self, o: u64, buf: &mut [u8]) {
            buf.copy_from_slice(&self.0[o as usize..o as usize + buf.len()]);
        }
        fn write(&mut self, o: u64, bytes: &[u8]) {
            self.0[o as usize..o as usize + bytes.len()].copy_from_slice(bytes);
        }
        fn zero(&mut self, o: u64, len: u64) {
            self.0[o as usize..(o + len) as usize].fill(0);
        }
        fn copy(&mut self, dst: u64, src: u64, len: u64) {
            self.0
                .copy_within(src as usize..(src + len) as usize, dst as usize);
        }
        fn store8(&mut self, o: u64, v: u64) {
            self.write(o, &v.to_le_bytes());
        }
        fn writeback(&mut self, _: u64, _: u64) {}
        fn fence(&mut self) {}
    }

    const PAGES: u64 = 8192;

    /// A formatted image with two regions, written to a temporary file at `offset`.
    fn image_file(offset: u64, corrupt: Option<usize>) -> (File, u64) {
        let mut img = Image(vec![0; (PAGES * PAGE_SIZE) as usize]);
        let sb = Superblock::for_device(PAGES, [1; 16]);
        let layout = ops::format(&mut img, &sb).expect("formats");
        let a = Region::new(
            b"alpha",
            0,
            0,
            0o600,
            &[Extent {
                start: layout.data_start,
                pages: 10,
            }],
            0,
        );
        let b = Region::new(
            b"beta",
            0,
            0,
            0o644,
            &[Extent {
                start: layout.data_start + 10,
                pages: 5,
            }],
            0,
        );
        ops::create(&mut img, &layout, 0, &a, 0);
        ops::create(&mut img, &layout, 1, &b, 0);
        if let Some(byte) = corrupt {
            img.0[byte] ^= 1;
        }
        let path = std::env::temp_dir().join(format!(
            "regionctl-check-{}-{offset}-{corrupt:?}",
            std::process::id()
        ));
        let mut f = File::create(&path).expect("temp file");
        let mut prefix = vec![0u8; offset as usize];
        if offset > 0 {
            prefix[PFN_INFO_OFFSET as usize..PFN_INFO_OFFSET as usize + 16]
                .copy_from_slice(PFN_SIGNATURE);
            prefix[PFN_INFO_OFFSET as usize + PFN_DATAOFF
                ..PFN_INFO_OFFSET as usize + PFN_DATAOFF + 8]
                .copy_from_slice(&offset.to_le_bytes());
        }
        f.write_all(&prefix)
            .and_then(|()| f.write_all(&img.0))
            .expect("write image");
        let len = offset + img.0.len() as u64;
        (File::open(&path).expect("reopen"), len)
    }

    #[test]
    fn a_good_image_checks_out() {
        let (f, len) = image_file(0, None);
        let r = check(&f, len, find_offset(&f).expect("reads"), &mut |_| {}).expect("checks");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!((r.regions, r.used_pages, r.pending_undo), (2, 15, 0));
    }

    #[test]
    fn the_fsdax_info_block_gives_the_offset() {
        let (f, len) = image_file(2 << 20, None);
        assert_eq!(find_offset(&f).expect("reads"), 2 << 20);
        let r = check(&f, len, 2 << 20, &mut |_| {}).expect("checks");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.regions, 2);
    }

    #[test]
    fn every_corruption_is_reported() {
        // A bit in region 1's name, and one in the superblock's checksum.
        let entry1 = (PAGE_SIZE + ENTRY_SIZE as u64) as usize;
        let (f, len) = image_file(0, Some(entry1 + 2));
        let r = check(&f, len, 0, &mut |_| {}).expect("checks");
        assert_eq!(
            r.problems,
            vec!["region table entry 1: ShapeCheck".to_string()]
        );
        let (f, len) = image_file(0, Some(124));
        let r = check(&f, len, 0, &mut |_| {}).expect("checks");
        assert_eq!(r.problems, vec!["superblock: BadChecksum".to_string()]);
    }
}
