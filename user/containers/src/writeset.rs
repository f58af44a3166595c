//! A lock holder's write set: every store it makes to a region heap, kept in the process until
//! the guard writes them all into the region with one `REGION_IOC_WRITE` (see `heap`). The set is
//! an overlay: the holder's own reads see it, nobody else's do.
//!
//! Ranges are kept sorted, disjoint and coalesced: a store that overlaps or touches a range, or
//! leaves between them only bytes of lines that one of them touches already, joins it (the gap
//! is filled with the bytes there now, which the holder's lock keeps still). So no two ranges
//! share a cache line, and a line is written at most once per flush.

use std::collections::BTreeMap;
use std::io;

/// Bytes of a cache line: the unit the kernel logs and writes back.
pub(crate) const LINE: u64 = 64;

/// The first line boundary at or after `at`.
fn line_up(at: u64) -> u64 {
    at.div_ceil(LINE) * LINE
}

/// Whether a range ending at `left_end` and one starting at `right_start` (not before it) join:
/// when no whole line lies between them that neither touches.
fn joins(left_end: u64, right_start: u64) -> bool {
    right_start < line_up(left_end) + LINE
}

/// Reads the heap's current bytes at an offset into a buffer (to fill gaps between joined
/// ranges).
pub(crate) type Base<'a> = &'a dyn Fn(u64, &mut [u8]) -> io::Result<()>;

/// The stores of one lock holder, by offset.
#[derive(Debug, Default)]
pub(crate) struct WriteSet {
    /// Start offset -> bytes; disjoint, no two joinable.
    ranges: BTreeMap<u64, Vec<u8>>,
    /// Bytes in all ranges.
    bytes: usize,
}

impl WriteSet {
    /// An empty set (allocates nothing).
    pub(crate) const fn new() -> Self {
        Self {
            ranges: BTreeMap::new(),
            bytes: 0,
        }
    }

    /// Whether the set holds no store.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Ranges in the set.
    pub(crate) fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// Bytes in the set.
    pub(crate) fn byte_count(&self) -> usize {
        self.bytes
    }

    /// Cache lines the set's ranges touch (no two ranges share one).
    pub(crate) fn line_count(&self) -> u64 {
        self.ranges
            .iter()
            .map(|(&start, v)| (line_up(start + v.len() as u64) - start / LINE * LINE) / LINE)
            .sum()
    }

    /// Whether `stores` more stores of `len` bytes in all certainly keep the set within
    /// `max_ranges` ranges and `max_bytes` bytes (a store adds at most one range and, besides its
    /// own bytes, a gap of less than two lines on each side).
    pub(crate) fn has_room(
        &self,
        stores: usize,
        len: usize,
        max_ranges: usize,
        max_bytes: usize,
    ) -> bool {
        let gaps = stores.saturating_mul(4 * LINE as usize);
        self.ranges.len().saturating_add(stores) <= max_ranges
            && self.bytes.saturating_add(len).saturating_add(gaps) <= max_bytes
    }

    /// Every range: its offset and bytes, in offset order.
    pub(crate) fn ranges(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.ranges.iter().map(|(&k, v)| (k, v.as_slice()))
    }

    /// Forgets every store.
    pub(crate) fn clear(&mut self) {
        self.ranges.clear();
        self.bytes = 0;
    }

    /// Adds a store of `data` at `offset`; `base` reads the bytes there now, for gaps.
    pub(crate) fn write(&mut self, offset: u64, data: &[u8], base: Base<'_>) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let end = offset + data.len() as u64;
        let bound = line_up(end) + LINE;
        // The common case, in place: the store joins the last range that starts before the
        // bound, and starts within or after it (then no other range joins: those below end
        // before that one starts, and none above starts before the bound).
        if let Some((&start, bytes)) = self.ranges.range_mut(..bound).next_back() {
            let stop = start + bytes.len() as u64;
            if start <= offset && joins(stop, offset) {
                if end > stop {
                    let grown = (end - start) as usize;
                    self.bytes += grown - bytes.len();
                    let old_len = bytes.len();
                    bytes.resize(grown, 0);
                    if offset > stop {
                        base(stop, &mut bytes[old_len..(offset - start) as usize])?;
                    }
                }
                bytes[(offset - start) as usize..(end - start) as usize].copy_from_slice(data);
                return Ok(());
            }
        }
        // The ranges that join the store: going down from the last that starts before the
        // bound, while they do (once one does not, none below does: they end earlier).
        let mut joined: Vec<u64> = self
            .ranges
            .range(..bound)
            .rev()
            .take_while(|(&start, v)| joins(start + v.len() as u64, offset))
            .map(|(&start, _)| start)
            .collect();
        joined.reverse();
        let Some(&first) = joined.first() else {
            self.ranges.insert(offset, data.to_vec());
            self.bytes += data.len();
            return Ok(());
        };
        let start = first.min(offset);
        let mut covered = Vec::with_capacity(joined.len() + 1);
        let mut buf = self.take(first);
        let first_end = first + buf.len() as u64;
        if first > start {
            // The store starts before every joined range: make room in front.
            let mut front = vec![0u8; (first - start) as usize];
            front.append(&mut buf);
            buf = front;
        }
        covered.push((first, first_end));
        let mut last_end = first_end.max(end);
        for &other in &joined[1..] {
            let bytes = self.take(other);
            let other_end = other + bytes.len() as u64;
            last_end = last_end.max(other_end);
            buf.resize((last_end - start) as usize, 0);
            buf[(other - start) as usize..(other_end - start) as usize].copy_from_slice(&bytes);
            covered.push((other, other_end));
        }
        buf.resize((last_end - start) as usize, 0);
        buf[(offset - start) as usize..(end - start) as usize].copy_from_slice(data);
        covered.push((offset, end));
        // Fill the gaps (between `start` and `last_end`, covered by nothing) from the heap.
        covered.sort_unstable();
        let mut at = start;
        for (s, e) in covered {
            if s > at {
                base(at, &mut buf[(at - start) as usize..(s - start) as usize])?;
            }
            at = at.max(e);
        }
        self.bytes += buf.len();
        self.ranges.insert(start, buf);
        Ok(())
    }

    /// Removes the range that starts at `start`; returns its bytes.
    fn take(&mut self, start: u64) -> Vec<u8> {
        let bytes = self.ranges.remove(&start).unwrap_or_default();
        self.bytes -= bytes.len();
        bytes
    }

    /// Copies the set's bytes that fall within `buf.len()` bytes at `offset` over `buf` (which
    /// holds the heap's bytes there).
    pub(crate) fn overlay(&self, offset: u64, buf: &mut [u8]) {
        let end = offset + buf.len() as u64;
        for (&start, bytes) in self.ranges.range(..end).rev() {
            let stop = start + bytes.len() as u64;
            if stop <= offset {
                break;
            }
            let (from, to) = (start.max(offset), stop.min(end));
            buf[(from - offset) as usize..(to - offset) as usize]
                .copy_from_slice(&bytes[(from - start) as usize..(to - start) as usize]);
        }
    }

    /// Whether the set holds a byte within `len` bytes at `offset`.
    pub(crate) fn touches(&self, offset: u64, len: u64) -> bool {
        self.ranges
            .range(..offset + len)
            .next_back()
            .is_some_and(|(&start, v)| start + v.len() as u64 > offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `heap` as a write set's `base` sees it.
    fn base_of(heap: &[u8]) -> impl Fn(u64, &mut [u8]) -> io::Result<()> + '_ {
        move |at, buf| {
            buf.copy_from_slice(&heap[at as usize..at as usize + buf.len()]);
            Ok(())
        }
    }

    fn spans(set: &WriteSet) -> Vec<(u64, u64)> {
        set.ranges().map(|(s, b)| (s, s + b.len() as u64)).collect()
    }

    #[test]
    fn stores_join_when_they_overlap_touch_or_share_lines() {
        let heap = vec![0xeeu8; 4096];
        let base = base_of(&heap);
        let mut set = WriteSet::new();
        set.write(100, &[1; 10], &base).expect("store");
        set.write(110, &[2; 10], &base).expect("touching");
        assert_eq!(spans(&set), [(100, 120)]);
        set.write(95, &[3; 10], &base).expect("overlapping below");
        assert_eq!(spans(&set), [(95, 120)]);
        // 120..200: line 1 (64..128) is touched already, line 2 (128..192) by nothing, so a
        // store at 200 (line 3) stays apart; one at 150 (line 2) joins, its gap filled.
        set.write(200, &[4; 8], &base).expect("apart");
        assert_eq!(spans(&set), [(95, 120), (200, 208)]);
        assert_eq!(set.line_count(), 2);
        set.write(150, &[5; 4], &base).expect("bridging");
        assert_eq!(spans(&set), [(95, 208)]);
        assert_eq!(set.line_count(), 3, "lines 1, 2 and 3");
        let mut all = [0u8; 120];
        all.copy_from_slice(&heap[..120]);
        set.overlay(0, &mut all[..]);
        assert_eq!(&all[95..105], &[3; 10]);
        assert_eq!(&all[105..110], &[1; 5]);
        assert_eq!(&all[110..120], &[2; 10]);
        assert_eq!(all[94], 0xee);
        let mut gap = [0u8; 40];
        set.overlay(120, &mut gap);
        assert_eq!(&gap[..30], &[0xee; 30], "the gap holds the heap's bytes");
        assert_eq!(&gap[30..34], &[5; 4]);
        assert_eq!(set.byte_count(), 113);
    }

    #[test]
    fn a_store_across_several_ranges_takes_them_in() {
        let heap = vec![0u8; 8192];
        let base = base_of(&heap);
        let mut set = WriteSet::new();
        for at in [0u64, 256, 512, 768] {
            set.write(at, &[7; 8], &base).expect("store");
        }
        assert_eq!(set.range_count(), 4);
        set.write(300, &[9; 500], &base).expect("wide");
        assert_eq!(spans(&set), [(0, 8), (256, 800)]);
        let mut buf = vec![0u8; 800];
        set.overlay(0, &mut buf);
        assert_eq!(&buf[256..264], &[7; 8]);
        assert_eq!(&buf[264..300], &[0; 36]);
        assert_eq!(&buf[300..800], &[9; 500][..]);
        assert!(set.touches(799, 1) && !set.touches(800, 100) && !set.touches(8, 248));
        assert!(set.touches(0, 1) && set.touches(200, 57));
        set.clear();
        assert!(set.is_empty() && set.byte_count() == 0);
    }

    #[test]
    fn a_model_of_random_stores_agrees() {
        let heap: Vec<u8> = (0..16384u32).map(|i| (i * 13) as u8).collect();
        let base = base_of(&heap);
        let mut model = heap.clone();
        let mut set = WriteSet::new();
        let mut seed = 99u64;
        for step in 0..3000u32 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (seed >> 20) % 16000;
            let len = ((seed >> 50) % 200).min(16384 - at) as usize;
            let data = vec![step as u8; len];
            set.write(at, &data, &base).expect("store");
            model[at as usize..at as usize + len].copy_from_slice(&data);
            if step % 300 == 0 {
                let mut now = heap.clone();
                set.overlay(0, &mut now);
                assert_eq!(now, model, "step {step}");
            }
        }
        let mut now = heap.clone();
        for (at, bytes) in set.ranges() {
            now[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
        }
        assert_eq!(now, model);
        let spans = spans(&set);
        for w in spans.windows(2) {
            assert!(!joins(w[0].1, w[1].0), "{w:?} should have joined");
        }
        assert_eq!(
            set.byte_count() as u64,
            spans.iter().map(|(s, e)| e - s).sum::<u64>()
        );
    }

    #[test]
    fn room_is_judged_before_a_store() {
        let mut set = WriteSet::new();
        let base = |_: u64, _: &mut [u8]| Ok(());
        assert!(set.has_room(1, 1000, 2, 2000));
        assert!(!set.has_room(1, 2000, 2, 2000));
        assert!(
            !set.has_room(3, 10, 2, 2000),
            "three stores may make three ranges"
        );
        set.write(0, &[1; 8], &base).expect("store");
        set.write(4096, &[1; 8], &base).expect("store");
        assert!(
            !set.has_room(1, 1, 2, 1 << 20),
            "a third range might not join"
        );
    }
}
