//! The heap's bytes: a region's mapping (read-only: a region heap's holders write through the
//! kernel) or anonymous shared memory, with every access bounds- and alignment-checked, so that a
//! corrupt or hostile pointer stored in a region gives an error, never a wild access.
//!
//! Every access goes through [`region::Mapping`]'s copies and atomics, which are atomic accesses
//! of aligned 8-byte words: other processes, and optimistic readers in this one
//! ([`crate::Heap::read`]), may read or store the same bytes at any instant without undefined
//! behaviour. The heap lock and the change counter make what is read consistent; they are not
//! needed for soundness. No reference to the heap's bytes is ever handed out.

use crate::persistent::{self, Persistent};
use region::Mapping;
use std::io;
use std::mem::{align_of, size_of};

/// The mapped bytes of one heap.
#[derive(Debug)]
pub(crate) struct Arena {
    map: Mapping,
}

/// An error for a pointer that does not point into the heap.
#[cold]
pub(crate) fn bad_pointer(offset: u64, len: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("persistent pointer {offset:#x} (+{len} bytes) is outside the heap or misaligned"),
    )
}

impl Arena {
    /// The arena over the whole of `map`.
    pub(crate) fn new(map: Mapping) -> Self {
        Self { map }
    }

    /// Bytes in the arena.
    #[inline]
    pub(crate) fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// The offset of `len` bytes at `offset`, aligned to `align`, or an error.
    #[inline]
    pub(crate) fn at(&self, offset: u64, len: u64, align: usize) -> io::Result<usize> {
        let end = offset
            .checked_add(len)
            .ok_or_else(|| bad_pointer(offset, len))?;
        if end > self.len() || !offset.is_multiple_of(align as u64) {
            return Err(bad_pointer(offset, len));
        }
        Ok(offset as usize)
    }

    /// The `T` at `offset`, copied out.
    #[inline]
    pub(crate) fn read<T: Persistent>(&self, offset: u64) -> io::Result<T> {
        let at = self.at(offset, size_of::<T>() as u64, align_of::<T>())?;
        let mut value = persistent::zeroed::<T>();
        self.map.read(at, persistent::bytes_of_mut(&mut value))?;
        Ok(value)
    }

    /// Copies the `buf.len()` bytes at `offset` into `buf`.
    #[inline]
    pub(crate) fn read_bytes(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let at = self.at(offset, buf.len() as u64, 1)?;
        self.map.read(at, buf)
    }

    /// Copies `data` to `offset`.
    #[inline]
    pub(crate) fn write_bytes(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let at = self.at(offset, data.len() as u64, 1)?;
        self.map.write(at, data)
    }

    /// Stores `byte` in the `len` bytes at `offset`.
    pub(crate) fn fill(&self, offset: u64, len: u64, byte: u8) -> io::Result<()> {
        let at = self.at(offset, len, 1)?;
        self.map.fill(at, len as usize, byte)
    }

    /// Whether the `want.len()` bytes at `offset` equal `want`, compared a word at a time with
    /// no copy to memory (keys are word aligned in the heap; other offsets take a slower path).
    pub(crate) fn eq_bytes(&self, offset: u64, want: &[u8]) -> io::Result<bool> {
        let at = self.at(offset, want.len() as u64, 1)?;
        let mut words = want.chunks_exact(8);
        if !at.is_multiple_of(8) {
            return self.eq_bytes_unaligned(offset, want);
        }
        let mut word_at = at;
        for chunk in &mut words {
            let mut wanted = [0u8; 8];
            wanted.copy_from_slice(chunk);
            if self.map.load_u64(word_at)? != u64::from_ne_bytes(wanted) {
                return Ok(false);
            }
            word_at += 8;
        }
        let rest = words.remainder();
        if rest.is_empty() {
            return Ok(true);
        }
        // The word that holds the last bytes, unless it runs past the end of an arena whose
        // length is not a multiple of 8.
        let Ok(word) = self.map.load_u64(word_at) else {
            return self.eq_bytes_unaligned(word_at as u64, rest);
        };
        // Byte k of the word in memory order at bits 8k.
        let got = u64::from_le_bytes(word.to_ne_bytes());
        let (mut wanted, mut mask) = (0u64, 0u64);
        for (k, &byte) in rest.iter().enumerate() {
            wanted |= u64::from(byte) << (8 * k);
            mask |= 0xff << (8 * k);
        }
        Ok(got & mask == wanted)
    }

    /// `eq_bytes` through 8-byte copies, for any offset.
    fn eq_bytes_unaligned(&self, offset: u64, want: &[u8]) -> io::Result<bool> {
        for (i, chunk) in want.chunks(8).enumerate() {
            let mut got = [0u8; 8];
            self.read_bytes(offset + 8 * i as u64, &mut got[..chunk.len()])?;
            if got[..chunk.len()] != *chunk {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
