// SPDX-License-Identifier: GPL-2.0

//! The free undo slots of the attached device, in DRAM (derived at attach: after recovery every
//! slot is free), and what the regions of each owner hold of them.
//!
//! One bit per slot, set while the slot is free. Taking a slot (the first write to a page in an
//! epoch) and giving a region's slots back (its PMSYNC or rollback) are atomic operations on the
//! words. A slot given back is stale from the commit store that precedes the call: the
//! release/acquire pair orders that commit before any reuse of the slot by another region.
//!
//! Each slot taken is charged to the owner of the region that takes it, and the regions of one
//! owner hold at most their share (`undo_share.rs`), so that no user can take the area from the
//! others. The charges live under `charges`, a lock of their own.
//!
//! Lock order: `charges` is the innermost lock; callable under any of the module's other locks.

use crate::{
    alloc::OutOfMemory,
    epoch_state::UndoSlots,
    undo_share::{self, ChargeList, Shortage},
};
use core::sync::atomic::{
    AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::{new_mutex, prelude::*, sync::Mutex};

/// The per-owner charges in a kernel vector.
struct Charges(KVec<(u32, u32)>);

impl ChargeList for Charges {
    fn entries(&mut self) -> &mut [(u32, u32)] {
        self.0.as_mut_slice()
    }

    fn push(&mut self, entry: (u32, u32)) -> Result<(), OutOfMemory> {
        self.0.push(entry, GFP_KERNEL).map_err(|_| OutOfMemory)
    }

    fn swap_remove(&mut self, index: usize) {
        let last = self.0.len() - 1;
        self.0.as_mut_slice().swap(index, last);
        let _ = self.0.pop();
    }
}

/// The free undo slots, and the slots each owner's regions hold.
#[pin_data]
pub(crate) struct UndoPool {
    /// Bit `s % 64` of word `s / 64`: slot `s` is free. Bits past the last slot stay clear.
    words: KVec<AtomicU64>,
    /// The word where the last slot was found: the next search starts there.
    hint: AtomicUsize,
    /// Slots the regions of one owner may hold at once.
    share: u32,
    /// `(uid, slots held)` of every owner whose regions hold slots.
    #[pin]
    charges: Mutex<Charges>,
}

impl UndoPool {
    /// A pool of `slots` slots, all free but `kept` (slots that damaged regions keep).
    pub(crate) fn new(slots: u32, kept: &[u32]) -> impl PinInit<Self, Error> + use<'_> {
        let count = (slots as usize).div_ceil(64);
        try_pin_init!(Self {
            words: {
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
                for &s in kept {
                    if let Some(w) = words.get(s as usize / 64) {
                        w.fetch_and(!(1u64 << (s % 64)), Relaxed);
                    }
                }
                words
            },
            hint: AtomicUsize::new(0),
            share: undo_share::share_per_owner(slots),
            charges <- new_mutex!(Charges(KVec::new())),
        }? Error)
    }

    /// Slots the regions of one owner may hold at once.
    pub(crate) fn share(&self) -> u32 {
        self.share
    }

    /// Takes a free slot for a region owned by `uid`, within that owner's share.
    pub(crate) fn take_for(&self, uid: u32) -> Result<u32, Shortage> {
        let mut charges = self.charges.lock();
        undo_share::charge(&mut *charges, uid, self.share)?;
        match self.take() {
            Some(slot) => Ok(slot),
            None => {
                undo_share::discharge(&mut *charges, uid, 1);
                Err(Shortage::AreaFull)
            }
        }
    }

    fn take(&self) -> Option<u32> {
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

    /// Gives back `slots`, each taken by [`UndoPool::take_for`] for `uid` and not given back
    /// since.
    pub(crate) fn give_back(&self, uid: u32, slots: &[u32]) {
        if slots.is_empty() {
            return;
        }
        for &s in slots {
            if let Some(word) = self.words.get(s as usize / 64) {
                word.fetch_or(1u64 << (s % 64), Release);
            }
        }
        undo_share::discharge(&mut *self.charges.lock(), uid, slots.len() as u32);
    }
}

impl UndoSlots for UndoPool {
    fn take_for(&self, uid: u32) -> Result<u32, Shortage> {
        UndoPool::take_for(self, uid)
    }

    fn give_back(&self, uid: u32, slots: &[u32]) {
        UndoPool::give_back(self, uid, slots)
    }
}
