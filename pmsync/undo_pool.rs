// SPDX-License-Identifier: GPL-2.0

//! The free undo slots of the attached device, in DRAM (derived at attach: after recovery every
//! slot is free).
//!
//! One bit per slot, set while the slot is free. Taking a slot (the first write to a page in an
//! epoch) and giving a region's slots back (its PMSYNC) are atomic operations on the words, so
//! neither the fault path nor PMSYNC takes a lock for them, and regions never wait on each other
//! here. A slot given back is stale from the commit store that precedes the call: the
//! release/acquire pair orders that commit before any reuse of the slot by another region.
//!
//! Lock order: none taken; callable under any of the module's locks.

use core::sync::atomic::{
    AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::prelude::*;

/// The free undo slots.
pub(crate) struct UndoPool {
    /// Bit `s % 64` of word `s / 64`: slot `s` is free. Bits past the last slot stay clear.
    words: KVec<AtomicU64>,
    /// The word where the last slot was found: the next search starts there.
    hint: AtomicUsize,
}

impl UndoPool {
    /// A pool of `slots` slots, all free.
    pub(crate) fn new(slots: u32) -> Result<Self> {
        let count = (slots as usize).div_ceil(64);
        let mut words = KVec::with_capacity(count, GFP_KERNEL)?;
        for w in 0..count {
            let left = slots as usize - w * 64;
            let bits = if left >= 64 {
                u64::MAX
            } else {
                (1u64 << left) - 1
            };
            words.push(AtomicU64::new(bits), GFP_KERNEL)?;
        }
        Ok(Self {
            words,
            hint: AtomicUsize::new(0),
        })
    }

    /// Takes a free slot, if any is left.
    pub(crate) fn take(&self) -> Option<u32> {
        let count = self.words.len();
        let start = self.hint.load(Relaxed);
        for i in 0..count {
            let w = (start + i) % count;
            let word = &self.words[w];
            let mut bits = word.load(Relaxed);
            while bits != 0 {
                let bit = bits.trailing_zeros();
                match word.compare_exchange_weak(bits, bits & !(1u64 << bit), Acquire, Relaxed) {
                    Ok(_) => {
                        self.hint.store(w, Relaxed);
                        return Some(w as u32 * 64 + bit);
                    }
                    Err(now) => bits = now,
                }
            }
        }
        None
    }

    /// Gives `slots` back (each one taken before and not given back since).
    pub(crate) fn give_back(&self, slots: &[u32]) {
        for &s in slots {
            if let Some(word) = self.words.get(s as usize / 64) {
                word.fetch_or(1u64 << (s % 64), Release);
            }
        }
    }
}
