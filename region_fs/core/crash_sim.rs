// SPDX-License-Identifier: GPL-2.0

//! Host-only flush-order checker: a simulated persistent memory that keeps stores which are not
//! yet durable apart from durable contents, and the crash images a power cut could leave.
//!
//! Every [`Pm`] call is a point where power may fail. At each point the simulator records the
//! durable image and the cache lines still in flight: stored but not written back, or written back
//! but not yet fenced. A crash there persists any subset of those lines (each line whole or not at
//! all, which is what x86 guarantees for aligned 8-byte stores and what a line write-back gives).
//! [`crash_images`] enumerates every subset when there are few in-flight lines and a deterministic
//! sample otherwise. This catches a missing write-back or fence that a QEMU power cut cannot, since
//! QEMU keeps every store.

extern crate std;

use crate::pm::{Pm, CACHE_LINE};
use std::collections::BTreeMap;
use std::vec::Vec;

/// The state of the simulated device at one point of an operation.
#[derive(Clone)]
pub struct Point {
    /// What is durable for certain.
    pub durable: Vec<u8>,
    /// Lines that may or may not be durable, with the contents they would have.
    pub in_flight: Vec<(u64, Vec<u8>)>,
}

/// A simulated persistent memory device.
pub struct SimPm {
    visible: Vec<u8>,
    durable: Vec<u8>,
    /// Lines written back but not yet fenced, with their contents at write-back.
    pending: BTreeMap<u64, Vec<u8>>,
    /// Lines stored to since their last write-back.
    dirty: BTreeMap<u64, ()>,
    /// Recorded crash points, when recording.
    points: Option<Vec<Point>>,
    /// Byte ranges that read as poisoned (media errors): a read or copy from them stops.
    pub poisoned: Vec<(u64, u64)>,
    /// A read or copy met poison since the last `take_poison`.
    hit_poison: core::cell::Cell<bool>,
    /// Write-backs (lines) and fences issued.
    pub lines_written_back: u64,
    /// Fences issued.
    pub fences: u64,
}

impl SimPm {
    /// A device of `len` bytes, all durable zeros.
    pub fn new(len: usize) -> Self {
        Self::from_image(std::vec![0; len])
    }

    /// A device whose durable contents are `image`.
    pub fn from_image(image: Vec<u8>) -> Self {
        Self {
            visible: image.clone(),
            durable: image,
            pending: BTreeMap::new(),
            dirty: BTreeMap::new(),
            points: None,
            poisoned: Vec::new(),
            hit_poison: core::cell::Cell::new(false),
            lines_written_back: 0,
            fences: 0,
        }
    }

    /// Starts recording a crash point before every following call.
    pub fn record(&mut self) {
        self.points = Some(Vec::new());
    }

    /// Stops recording and returns the points, plus the final state as the last point.
    pub fn take_points(&mut self) -> Vec<Point> {
        self.point();
        self.points.take().unwrap_or_default()
    }

    /// The contents as the CPU sees them.
    pub fn visible(&self) -> &[u8] {
        &self.visible
    }

    /// Makes everything durable, as after a clean shutdown.
    pub fn settle(&mut self) {
        self.durable.copy_from_slice(&self.visible);
        self.pending.clear();
        self.dirty.clear();
    }

    /// The durable image a power cut now would leave: each line in flight (stored but not
    /// written back, or written back but not fenced) persists if `persists()` says so.
    pub fn cut_now(&self, mut persists: impl FnMut() -> bool) -> Vec<u8> {
        let mut img = self.durable.clone();
        let mut in_flight: BTreeMap<u64, Vec<u8>> = self.pending.clone();
        for &line in self.dirty.keys() {
            in_flight.insert(line, self.line(line).to_vec());
        }
        for (line, contents) in in_flight {
            if persists() {
                let start = (line * CACHE_LINE) as usize;
                img[start..start + CACHE_LINE as usize].copy_from_slice(&contents);
            }
        }
        img
    }

    fn point(&mut self) {
        if self.points.is_none() {
            return;
        }
        let mut in_flight: BTreeMap<u64, Vec<u8>> = self.pending.clone();
        for &line in self.dirty.keys() {
            in_flight.insert(line, self.line(line).to_vec());
        }
        let p = Point {
            durable: self.durable.clone(),
            in_flight: in_flight.into_iter().collect(),
        };
        if let Some(points) = self.points.as_mut() {
            points.push(p);
        }
    }

    /// Whether `[offset, offset + len)` touches poisoned memory (and notes it).
    fn poisoned_read(&self, offset: u64, len: u64) -> bool {
        let hit = self
            .poisoned
            .iter()
            .any(|&(start, n)| offset < start + n && start < offset + len);
        if hit {
            self.hit_poison.set(true);
        }
        hit
    }

    fn line(&self, line: u64) -> &[u8] {
        let start = (line * CACHE_LINE) as usize;
        &self.visible[start..start + CACHE_LINE as usize]
    }

    fn touch(&mut self, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        for line in offset / CACHE_LINE..=(offset + len - 1) / CACHE_LINE {
            self.dirty.insert(line, ());
        }
    }
}

impl Pm for SimPm {
    fn read(&self, offset: u64, buf: &mut [u8]) {
        if self.poisoned_read(offset, buf.len() as u64) {
            return;
        }
        let o = offset as usize;
        buf.copy_from_slice(&self.visible[o..o + buf.len()]);
    }

    fn write(&mut self, offset: u64, bytes: &[u8]) {
        self.point();
        let o = offset as usize;
        self.visible[o..o + bytes.len()].copy_from_slice(bytes);
        self.touch(offset, bytes.len() as u64);
    }

    fn zero(&mut self, offset: u64, len: u64) {
        self.point();
        self.visible[offset as usize..(offset + len) as usize].fill(0);
        self.touch(offset, len);
    }

    fn copy(&mut self, dst: u64, src: u64, len: u64) {
        self.point();
        if self.poisoned_read(src, len) {
            return;
        }
        self.visible
            .copy_within(src as usize..(src + len) as usize, dst as usize);
        self.touch(dst, len);
    }

    fn store8(&mut self, offset: u64, value: u64) {
        assert_eq!(offset % 8, 0, "unaligned commit store");
        self.write(offset, &value.to_le_bytes());
    }

    fn writeback(&mut self, offset: u64, len: u64) {
        self.point();
        if len == 0 {
            return;
        }
        for line in offset / CACHE_LINE..=(offset + len - 1) / CACHE_LINE {
            if self.dirty.remove(&line).is_some() {
                let contents = self.line(line).to_vec();
                self.pending.insert(line, contents);
            }
            self.lines_written_back += 1;
        }
    }

    fn take_poison(&self) -> bool {
        self.hit_poison.replace(false)
    }

    fn fence(&mut self) {
        self.point();
        for (line, contents) in core::mem::take(&mut self.pending) {
            let start = (line * CACHE_LINE) as usize;
            self.durable[start..start + CACHE_LINE as usize].copy_from_slice(&contents);
        }
        self.fences += 1;
    }
}

/// The durable images a crash at `point` may leave: every subset of the in-flight lines when
/// there are at most `exhaustive_up_to` of them, else `samples` pseudo-random subsets plus
/// none-of-them and all-of-them.
pub fn crash_images(point: &Point, exhaustive_up_to: usize, samples: u64) -> Vec<Vec<u8>> {
    let n = point.in_flight.len();
    let apply = |mask: &dyn Fn(usize) -> bool| {
        let mut img = point.durable.clone();
        for (i, (line, contents)) in point.in_flight.iter().enumerate() {
            if mask(i) {
                let start = (*line * CACHE_LINE) as usize;
                img[start..start + CACHE_LINE as usize].copy_from_slice(contents);
            }
        }
        img
    };
    let mut out = Vec::new();
    if n <= exhaustive_up_to {
        for m in 0u64..1 << n {
            out.push(apply(&|i| m >> i & 1 == 1));
        }
    } else {
        out.push(apply(&|_| false));
        out.push(apply(&|_| true));
        let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ n as u64;
        for _ in 0..samples {
            let bits: Vec<bool> = (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed & 1 == 1
                })
                .collect();
            out.push(apply(&|i| bits[i]));
        }
    }
    out
}
