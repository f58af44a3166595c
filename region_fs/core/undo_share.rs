// SPDX-License-Identifier: GPL-2.0

//! How the undo area is shared between the owners of regions.
//!
//! Every first write to a page in an epoch takes an undo slot until the region's next commit (or
//! rollback). The slots of one device are shared by every region, so without a bound one user
//! could hold them all and make every other user's first writes fail. The bound: the regions of
//! one owner (the region's uid, whoever writes) hold at most [`share_per_owner`] slots at once, a
//! quarter of the area. A first write past the owner's share, or one that finds the area empty,
//! commits its own region first when that region holds slots (an automatic PMSYNC of the writer's
//! own region, never of another's) and otherwise is refused (`SIGBUS`, with a log line naming the
//! reason). Regions hold slots only while a file is open on them: the last close rolls back what
//! was not committed. So a user can take from others only while keeping regions open, and then
//! at most a quarter: the area runs out for others only when four owners each hold their share.
//!
//! Plain `core` Rust shared by the module and the host crates. The module keeps the charges in a
//! kernel vector under a lock of its own; the decisions are these functions.

use crate::alloc::OutOfMemory;

/// Undo slots the regions of one owner may hold at once, on a device of `slots` slots.
pub fn share_per_owner(slots: u32) -> u32 {
    (slots / 4).max(1)
}

/// Why a first write found no slot it may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortage {
    /// The owner's regions hold their whole share.
    OwnerShare,
    /// No slot of the device is free.
    AreaFull,
    /// No memory to record the charge.
    OutOfMemory,
}

/// What a first write that met a [`Shortage`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnShortage {
    /// Commit the writer's own region, which frees its slots, then take a slot again.
    CommitOwnRegion,
    /// Refuse the write: the region holds no slot to free.
    Refuse,
}

/// The decision after `shortage`, for a region that holds `region_slots` slots.
pub fn on_shortage(shortage: Shortage, region_slots: usize) -> OnShortage {
    match shortage {
        Shortage::OwnerShare | Shortage::AreaFull if region_slots > 0 => {
            OnShortage::CommitOwnRegion
        }
        _ => OnShortage::Refuse,
    }
}

/// Storage of the per-owner charges: `(uid, slots held)` pairs, none with zero slots.
pub trait ChargeList {
    /// The pairs.
    fn entries(&mut self) -> &mut [(u32, u32)];
    /// Appends a pair; `Err` when there is no memory.
    fn push(&mut self, entry: (u32, u32)) -> Result<(), OutOfMemory>;
    /// Removes the pair at `index` (order need not be kept).
    fn swap_remove(&mut self, index: usize);
}

/// Slots the regions of `uid` hold.
pub fn held<L: ChargeList>(list: &mut L, uid: u32) -> u32 {
    list.entries()
        .iter()
        .find(|e| e.0 == uid)
        .map_or(0, |e| e.1)
}

/// Charges one slot to `uid` if its share allows: `Err(OwnerShare)` when its regions hold
/// `share` slots already.
pub fn charge<L: ChargeList>(list: &mut L, uid: u32, share: u32) -> Result<(), Shortage> {
    if let Some(e) = list.entries().iter_mut().find(|e| e.0 == uid) {
        if e.1 >= share {
            return Err(Shortage::OwnerShare);
        }
        e.1 += 1;
        return Ok(());
    }
    if share == 0 {
        return Err(Shortage::OwnerShare);
    }
    list.push((uid, 1)).map_err(|_| Shortage::OutOfMemory)
}

/// Takes `n` slots off `uid`'s charge (never below zero).
pub fn discharge<L: ChargeList>(list: &mut L, uid: u32, n: u32) {
    let entries = list.entries();
    if let Some(i) = entries.iter().position(|e| e.0 == uid) {
        entries[i].1 = entries[i].1.saturating_sub(n);
        if entries[i].1 == 0 {
            list.swap_remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn list() -> Vec<(u32, u32)> {
        Vec::new()
    }

    #[test]
    fn an_owner_holds_at_most_its_share() {
        let mut l = list();
        for _ in 0..4 {
            assert_eq!(charge(&mut l, 1000, 4), Ok(()));
        }
        assert_eq!(charge(&mut l, 1000, 4), Err(Shortage::OwnerShare));
        assert_eq!(
            charge(&mut l, 2000, 4),
            Ok(()),
            "another owner is not affected"
        );
        discharge(&mut l, 1000, 1);
        assert_eq!(charge(&mut l, 1000, 4), Ok(()));
        discharge(&mut l, 1000, 4);
        assert_eq!(held(&mut l, 1000), 0);
        assert_eq!(l.len(), 1, "an owner with nothing held is forgotten");
    }

    #[test]
    fn shares_are_a_quarter_and_never_zero() {
        assert_eq!(share_per_owner(64), 16);
        assert_eq!(share_per_owner(3), 1);
        assert_eq!(share_per_owner(1 << 24), 1 << 22);
    }

    #[test]
    fn a_shortage_commits_only_a_region_that_holds_slots() {
        assert_eq!(
            on_shortage(Shortage::OwnerShare, 3),
            OnShortage::CommitOwnRegion
        );
        assert_eq!(
            on_shortage(Shortage::AreaFull, 1),
            OnShortage::CommitOwnRegion
        );
        assert_eq!(on_shortage(Shortage::AreaFull, 0), OnShortage::Refuse);
        assert_eq!(on_shortage(Shortage::OwnerShare, 0), OnShortage::Refuse);
        assert_eq!(on_shortage(Shortage::OutOfMemory, 5), OnShortage::Refuse);
    }

    /// Four owners at their share exhaust the area; fewer never do, whatever they do.
    #[test]
    fn fewer_than_four_owners_never_exhaust_the_area() {
        let slots = 64u32;
        let share = share_per_owner(slots);
        let mut l = list();
        let mut free = slots;
        for uid in 0..3 {
            while charge(&mut l, uid, share).is_ok() {
                free -= 1;
            }
        }
        assert_eq!(free, slots - 3 * share);
        assert!(free >= share, "a fourth owner still finds its whole share");
    }
}
