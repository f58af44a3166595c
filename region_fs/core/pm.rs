// SPDX-License-Identifier: GPL-2.0

//! The persistent memory interface the layout code writes through.
//!
//! A store reaches the CPU cache first and becomes durable only once its cache line is written
//! back ([`Pm::writeback`], `clwb` on x86) and a fence ([`Pm::fence`], `sfence`) has ordered the
//! write-back; until then a power cut may keep it or lose it, line by line. [`Pm::store8`] is an
//! aligned 8-byte store, which persists whole or not at all: the commit point of every update.
//!
//! The module implements this trait on the DAX mapping of the device and counts lines and fences;
//! the host tests implement it on a simulator that keeps unflushed lines apart and can crash at
//! any point, persisting any subset of them.

/// Bytes per cache line: the unit of write-back.
pub const CACHE_LINE: u64 = 64;

/// Byte-addressed persistent memory.
pub trait Pm {
    /// Copies `buf.len()` bytes at `offset` into `buf`.
    fn read(&self, offset: u64, buf: &mut [u8]);
    /// Stores `bytes` at `offset` (cached: not durable until written back and fenced).
    fn write(&mut self, offset: u64, bytes: &[u8]);
    /// Stores zeros over `len` bytes at `offset` (cached).
    fn zero(&mut self, offset: u64, len: u64);
    /// Copies `len` bytes from `src` to `dst` on the device (cached).
    fn copy(&mut self, dst: u64, src: u64, len: u64);
    /// Stores `value` at the 8-byte aligned `offset` as one store (cached).
    fn store8(&mut self, offset: u64, value: u64);
    /// Starts writing back every cache line that overlaps `[offset, offset + len)`.
    fn writeback(&mut self, offset: u64, len: u64);
    /// Waits until every write-back started before it is durable.
    fn fence(&mut self);

    /// Whether a [`Pm::read`] or [`Pm::copy`] since the last call met poisoned memory (a media
    /// error: the module reads persistent memory with machine-check-safe copies, which stop at
    /// poison instead of crashing the kernel); clears the flag. What such a read returned, or such
    /// a copy wrote, is not the device's contents and must not be used.
    fn take_poison(&self) -> bool {
        false
    }

    /// Stores `bytes` at `offset` with non-temporal stores: they bypass the cache, so no
    /// write-back is needed, but like written-back lines they are durable only after the next
    /// [`Pm::fence`]. The default stores and writes back.
    fn write_nt(&mut self, offset: u64, bytes: &[u8]) {
        self.write(offset, bytes);
        self.writeback(offset, bytes.len() as u64);
    }

    /// Stores zeros over `len` bytes at `offset` with non-temporal stores (see
    /// [`Pm::write_nt`]). The default stores and writes back.
    fn zero_nt(&mut self, offset: u64, len: u64) {
        self.zero(offset, len);
        self.writeback(offset, len);
    }

    /// Reads the 8-byte word at `offset`.
    fn read8(&self, offset: u64) -> u64 {
        let mut b = [0u8; 8];
        self.read(offset, &mut b);
        u64::from_le_bytes(b)
    }

    /// Makes `[offset, offset + len)` durable: write-back, then fence.
    fn persist(&mut self, offset: u64, len: u64) {
        self.writeback(offset, len);
        self.fence();
    }

    /// The commit point of an update: an 8-byte store, its write-back, a fence.
    fn commit8(&mut self, offset: u64, value: u64) {
        self.store8(offset, value);
        self.persist(offset, 8);
    }
}
