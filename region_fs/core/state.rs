// SPDX-License-Identifier: GPL-2.0

//! The region table in DRAM and its state machine: every decision of create, open, close,
//! delete, resize and format, and the persistent-memory steps each one takes, with no kernel
//! call in sight. The module keeps a [`Table`] under its table lock and supplies what only the
//! kernel has (the caller's credentials, the open regions); the host tests drive the same code
//! against a reference model, with power cuts through the crash simulator.
//!
//! Each table entry is [`Slot::Free`], [`Slot::Creating`] (its pages are being cleared outside
//! the table lock) or [`Slot::Live`]. A live region is [`Use::Closed`] (its epoch is kept here),
//! [`Use::Open`] (files are open; the epoch is the open region's) or [`Use::Kept`] (no file, but
//! stores not yet committed: the open region waits for the next open). The epoch is kept in
//! exactly one of those places at any time, so no copy of it can go stale.
//!
//! `H` is the module's handle on an open region (an `Arc<OpenRegion>`): the table owns one while
//! the region is open or kept, and asks the caller what it needs of it (its epoch, whether it
//! holds uncommitted stores, whether a mapping covers a page) through closures.
//!
//! Plain `core` Rust shared by the module and the host crates.

use crate::alloc::{AllocError, ExtentList, FreeSpace, OutOfMemory, RebuildError};
use crate::geometry::PAGE_SIZE;
use crate::ops::{self, LostPages, Recovery};
use crate::pm::Pm;
use crate::superblock::Layout;
use crate::table::{
    epoch_may_advance, EntryError, EntryState, Extent, Region, EXTENTS, SIZE_PAGES_MAX,
};
use core::ops::DerefMut;

/// Why an operation is refused; each maps to one errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    /// `ENOENT`: no region of that name.
    NoEnt,
    /// `EEXIST`: the name is taken.
    Exist,
    /// `EINVAL`: a bad size or mode.
    Inval,
    /// `EFBIG`: larger than a region can be.
    FBig,
    /// `ENOSPC`: no free table entry, or not enough free pages in few enough extents.
    NoSpc,
    /// `ENOMEM`: out of memory.
    NoMem,
    /// `EBUSY`: open, kept, mapped over the cut, or another operation under way.
    Busy,
    /// `EACCES`: the mode does not allow it.
    Acces,
    /// `EPERM`: not the owner, and no `CAP_SYS_ADMIN`.
    Perm,
    /// `EIO`: the table changed under an operation in a way it cannot (a bug).
    Io,
    /// `EBADF`: the descriptor is not open for writing.
    BadF,
}

/// Whether a PMSYNC through a descriptor opened for writing if `writable` may commit: committing
/// is a write, so a reader cannot make a writer's half-done stores durable (`EBADF`).
pub fn may_commit(writable: bool) -> Result<(), Errno> {
    if writable {
        Ok(())
    } else {
        Err(Errno::BadF)
    }
}

/// Who is calling: what the kernel knows of the current task's credentials.
pub trait Caller {
    /// The caller's filesystem uid.
    fn uid(&self) -> u32;
    /// The caller's filesystem gid.
    fn gid(&self) -> u32;
    /// Whether the caller may access `region` for reading, and writing too if `write`, by its
    /// mode bits as for files (capabilities that override them included).
    fn may_access(&self, region: &Region, write: bool) -> bool;
    /// Whether the caller has `CAP_SYS_ADMIN`.
    fn is_admin(&self) -> bool;
}

/// Whether files are open on a live region, and so where its epoch is kept.
pub enum Use<H> {
    /// No file is open and nothing is uncommitted: the region's epoch is here.
    Closed {
        /// The region's epoch.
        epoch: u64,
    },
    /// Files are open on the region: the epoch is the open region's.
    Open {
        /// The open region.
        region: H,
        /// Files open on it (at least one).
        files: u32,
    },
    /// The last file closed with stores not yet committed: the open region waits here, with its
    /// epoch, dirty pages and undo slots, for the next open, or for delete or unload (after
    /// which the next attach rolls the stores back).
    Kept {
        /// The open region.
        region: H,
    },
}

/// A live region's entry.
pub struct Live<H> {
    /// What the table entry records.
    pub region: Region,
    /// Open, kept or closed.
    pub state: Use<H>,
    /// A resize is planned and not yet committed (a grow clears its new pages outside the table
    /// lock meanwhile): other resizes, deletes and formats wait for it (`EBUSY`), so that no two
    /// plans are made from the same shape.
    pub busy: bool,
    /// A media error (poisoned memory, a bad block) damaged the region: it cannot be opened or
    /// resized (`EIO`), only deleted.
    pub damaged: bool,
}

impl<H> Live<H> {
    /// A closed region at `epoch`.
    pub fn closed(region: Region, epoch: u64) -> Self {
        Self {
            region,
            state: Use::Closed { epoch },
            busy: false,
            damaged: false,
        }
    }

    /// The open region, if files are open or it is kept.
    pub fn open_region(&self) -> Option<&H> {
        match &self.state {
            Use::Open { region, .. } | Use::Kept { region } => Some(region),
            Use::Closed { .. } => None,
        }
    }

    /// Files open on the region.
    pub fn open_files(&self) -> u32 {
        match self.state {
            Use::Open { files, .. } => files,
            _ => 0,
        }
    }

    /// The region's epoch, wherever it is kept (`epoch_of` reads an open region's).
    pub fn epoch(&self, epoch_of: impl Fn(&H) -> u64) -> u64 {
        match &self.state {
            Use::Closed { epoch } => *epoch,
            Use::Open { region, .. } | Use::Kept { region } => epoch_of(region),
        }
    }
}

/// One region table entry in DRAM.
// Kept in place in the table's vector, never moved around: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Slot<H> {
    /// No region; the entry's epoch.
    Free(u64),
    /// A create is clearing the region's pages outside the table lock: the name and the pages
    /// are taken, the entry on persistent memory is still free (with epoch `free_epoch`).
    Creating {
        /// The region being created.
        region: Region,
        /// The entry's epoch while free.
        free_epoch: u64,
    },
    /// A region.
    Live(Live<H>),
}

/// What a resize does, decided under the table lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizePlan {
    /// The size does not change.
    Same,
    /// Cut to `resized`: commit it, then give `cut` back.
    Shrink {
        /// The table entry.
        index: u32,
        /// The region's new shape.
        resized: Region,
        /// Pages it had.
        old_pages: u64,
        /// The extents cut off.
        cut: Extents,
    },
    /// Grow to `resized`: `fresh` is taken from the free space and must be cleared (outside the
    /// lock) before [`Table::grow_commit`]; the region is busy meanwhile.
    Grow {
        /// The table entry.
        index: u32,
        /// The region's new shape.
        resized: Region,
        /// Pages it had.
        old_pages: u64,
        /// The extents new to it.
        fresh: Extents,
    },
}

impl ResizePlan {
    /// The entry, the new shape and the old size in pages of a shrink or a grow; `None` when the
    /// size does not change.
    pub fn target(&self) -> Option<(u32, Region, u64)> {
        match *self {
            ResizePlan::Same => None,
            ResizePlan::Shrink {
                index,
                resized,
                old_pages,
                ..
            }
            | ResizePlan::Grow {
                index,
                resized,
                old_pages,
                ..
            } => Some((index, resized, old_pages)),
        }
    }
}

/// The region table in DRAM: the entries and the free space of the data area.
pub struct Table<S, L: ExtentList> {
    /// One slot per table entry.
    pub slots: S,
    /// The data area's free pages.
    pub free: FreeSpace<L>,
}

impl<H, S, L> Table<S, L>
where
    S: DerefMut<Target = [Slot<H>]>,
    L: ExtentList,
{
    /// The live region named `name`.
    pub fn find(&self, name: &[u8]) -> Option<(u32, &Live<H>)> {
        self.slots.iter().enumerate().find_map(|(i, s)| match s {
            Slot::Live(l) if l.region.name() == name => Some((i as u32, l)),
            _ => None,
        })
    }

    /// The live region in entry `index`.
    pub fn live_mut(&mut self, index: u32) -> Option<&mut Live<H>> {
        match self.slots.get_mut(index as usize) {
            Some(Slot::Live(l)) => Some(l),
            _ => None,
        }
    }

    /// The live region in entry `index`.
    pub fn live(&self, index: u32) -> Option<&Live<H>> {
        match self.slots.get(index as usize) {
            Some(Slot::Live(l)) => Some(l),
            _ => None,
        }
    }

    /// Whether a region of that name exists or is being created.
    pub fn name_taken(&self, name: &[u8]) -> bool {
        self.slots.iter().any(|s| match s {
            Slot::Live(l) => l.region.name() == name,
            Slot::Creating { region, .. } => region.name() == name,
            Slot::Free(_) => false,
        })
    }

    /// Regions that exist.
    pub fn live_count(&self) -> u32 {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Live(_)))
            .count() as u32
    }

    /// Gives `extents` back to the free space; returns how many were found free already (a bug
    /// the caller reports).
    pub fn release(&mut self, extents: &[Extent]) -> usize {
        extents
            .iter()
            .filter(|e| self.free.release(**e).is_err())
            .count()
    }

    /// Create, first half (under the table lock): checks the request, takes a free entry and the
    /// pages, and marks the entry [`Slot::Creating`]. The caller clears the pages (outside the
    /// lock), then calls [`Table::create_commit`] or [`Table::create_abort`].
    pub fn create_reserve(
        &mut self,
        who: &impl Caller,
        name: &[u8],
        size: u64,
        mode: u32,
    ) -> Result<(u32, Region), Errno> {
        // New names are UTF-8 text: every tool prints them and every library takes them as
        // strings. (Names of regions made before this rule stay usable.)
        if mode & !0o777 != 0 || size == 0 || core::str::from_utf8(name).is_err() {
            return Err(Errno::Inval);
        }
        let pages = size.div_ceil(PAGE_SIZE);
        if pages > SIZE_PAGES_MAX {
            return Err(Errno::FBig);
        }
        if self.name_taken(name) {
            return Err(Errno::Exist);
        }
        let (index, free_epoch) = self
            .slots
            .iter()
            .enumerate()
            .find_map(|(i, s)| match s {
                // An entry whose epochs are used up never takes a region again.
                Slot::Free(epoch) if epoch_may_advance(epoch + 1) => Some((i as u32, *epoch)),
                _ => None,
            })
            .ok_or(Errno::NoSpc)?;
        let alloc = self.free.allocate(pages, EXTENTS).map_err(alloc_errno)?;
        let region = Region::new(name, who.uid(), who.gid(), mode, alloc.as_slice(), 0);
        self.slots[index as usize] = Slot::Creating { region, free_epoch };
        Ok((index, region))
    }

    /// Create, second half: writes the entry of the region reserved in entry `index`, whose
    /// pages are cleared, and makes it live.
    pub fn create_commit<P: Pm>(
        &mut self,
        pm: &mut P,
        layout: &Layout,
        index: u32,
    ) -> Result<(), Errno> {
        let (region, free_epoch) = match self.slots.get(index as usize) {
            Some(Slot::Creating { region, free_epoch }) => (*region, *free_epoch),
            _ => return Err(Errno::Io),
        };
        let epoch = ops::create_entry(pm, layout, index, &region, free_epoch);
        self.slots[index as usize] = Slot::Live(Live::closed(region, epoch));
        Ok(())
    }

    /// Create, given up (the pages could not be cleared): the entry is free again, the pages
    /// too.
    pub fn create_abort(&mut self, index: u32) {
        if let Some(Slot::Creating { region, free_epoch }) = self.slots.get(index as usize) {
            let (region, free_epoch) = (*region, *free_epoch);
            self.slots[index as usize] = Slot::Free(free_epoch);
            self.release(region.extents());
        }
    }

    /// Open, first half: checks the caller may open region `name` (for writing if `write`) and
    /// returns its entry and the open region to hand the new file: the one open or kept, or a new
    /// one from `new(index, region, epoch)`. Nothing changes until [`Table::opened`].
    pub fn open(
        &self,
        who: &impl Caller,
        name: &[u8],
        write: bool,
        new: impl FnOnce(u32, &Region, u64) -> Result<H, Errno>,
    ) -> Result<(u32, H), Errno>
    where
        H: Clone,
    {
        let (index, live) = self.find(name).ok_or(Errno::NoEnt)?;
        if !who.may_access(&live.region, write) {
            return Err(Errno::Acces);
        }
        if live.damaged {
            return Err(Errno::Io);
        }
        let region = match &live.state {
            Use::Closed { epoch } => new(index, &live.region, *epoch)?,
            Use::Open { region, .. } | Use::Kept { region } => region.clone(),
        };
        Ok((index, region))
    }

    /// Open, second half: a file now holds `region` (from [`Table::open`]) on entry `index`.
    pub fn opened(&mut self, index: u32, region: H) {
        if let Some(live) = self.live_mut(index) {
            let files = live.open_files() + 1;
            live.state = Use::Open { region, files };
        }
    }

    /// A file on entry `index` closed. After the last one the entry takes the region's epoch
    /// back, or keeps the region while `uncommitted` says it holds stores not yet committed
    /// (no file is left to add any meanwhile). `uncommitted` returns that and the epoch.
    pub fn closed(&mut self, index: u32, uncommitted: impl FnOnce(&H) -> (bool, u64)) {
        let Some(live) = self.live_mut(index) else {
            return;
        };
        let Use::Open { files, .. } = &mut live.state else {
            return;
        };
        *files = files.saturating_sub(1);
        if *files > 0 {
            return;
        }
        let Use::Open { region, .. } =
            core::mem::replace(&mut live.state, Use::Closed { epoch: 0 })
        else {
            return;
        };
        let (dirty, epoch) = uncommitted(&region);
        live.state = if dirty {
            Use::Kept { region }
        } else {
            Use::Closed { epoch }
        };
    }

    /// At unload: lets go of the kept regions (the next attach rolls their stores back).
    pub fn forget_kept(&mut self, epoch_of: impl Fn(&H) -> u64) {
        for slot in self.slots.iter_mut() {
            if let Slot::Live(live) = slot {
                if let Use::Kept { region } = &live.state {
                    let epoch = epoch_of(region);
                    live.state = Use::Closed { epoch };
                }
            }
        }
    }

    /// Delete: the caller must own region `name` or be an admin, and no file may be open on it
    /// (`EBUSY`). A kept region's uncommitted stores go with it: the entry keeps its true epoch,
    /// so that its undo slots never match a later region in the entry. Returns the open region
    /// it let go of, if any, for the caller to drop when it likes.
    pub fn delete<P: Pm>(
        &mut self,
        who: &impl Caller,
        name: &[u8],
        pm: &mut P,
        layout: &Layout,
        epoch_of: impl Fn(&H) -> u64,
    ) -> Result<Option<H>, Errno> {
        let (index, live) = self.find(name).ok_or(Errno::NoEnt)?;
        may_administer(who, &live.region)?;
        if live.busy || matches!(live.state, Use::Open { .. }) {
            return Err(Errno::Busy);
        }
        let epoch = live.epoch(&epoch_of);
        let (region, damaged) = (live.region, live.damaged);
        ops::delete(pm, layout, index);
        let old = core::mem::replace(&mut self.slots[index as usize], Slot::Free(epoch));
        // A damaged region's pages may hold bad blocks: they stay out of use until the next
        // attach, which frees all but the bad ones.
        if !damaged {
            self.release(region.extents());
        }
        Ok(match old {
            Slot::Live(Live {
                state: Use::Kept { region },
                ..
            }) => Some(region),
            _ => None,
        })
    }

    /// Resize, first half: checks the request and decides; a grow takes its pages. Either way the
    /// region is busy until [`Table::resize_commit`] or [`Table::resize_abort`], so that no other
    /// plan is made from the same shape. `mapped_from(region, page)` says whether a mapping covers
    /// a page at or beyond `page` (a shrink over one is `EBUSY`).
    pub fn resize_plan(
        &mut self,
        who: &impl Caller,
        name: &[u8],
        size: u64,
        mapped_from: impl Fn(&H, u64) -> bool,
    ) -> Result<ResizePlan, Errno> {
        if size == 0 {
            return Err(Errno::Inval);
        }
        let pages = size.div_ceil(PAGE_SIZE);
        if pages > SIZE_PAGES_MAX {
            return Err(Errno::FBig);
        }
        let (index, live) = self.find(name).ok_or(Errno::NoEnt)?;
        may_administer(who, &live.region)?;
        if live.busy {
            return Err(Errno::Busy);
        }
        if live.damaged {
            return Err(Errno::Io);
        }
        let old = live.region;
        if pages == old.size_pages {
            return Ok(ResizePlan::Same);
        }
        if pages < old.size_pages {
            if live.open_region().is_some_and(|r| mapped_from(r, pages)) {
                return Err(Errno::Busy);
            }
            let (resized, cut) = shrunk(&old, pages);
            if let Some(l) = self.live_mut(index) {
                l.busy = true;
            }
            return Ok(ResizePlan::Shrink {
                index,
                resized,
                old_pages: old.size_pages,
                cut,
            });
        }
        let (resized, fresh) = grown(&mut self.free, &old, pages)?;
        if let Some(l) = self.live_mut(index) {
            l.busy = true;
        }
        Ok(ResizePlan::Grow {
            index,
            resized,
            old_pages: old.size_pages,
            fresh,
        })
    }

    /// Resize, second half: commits `resized` to entry `index` on persistent memory and in the
    /// table (the caller then gives a shrink's cut extents back), after `prepare(region, pages)` made room in the open region, and tells it with
    /// `apply(region, resized, old_pages, pm)` (a shrink's cut pages lose their undo slots there),
    /// which returns what [`Table::closed`]'s `uncommitted` does: a kept region left with nothing
    /// uncommitted is closed. Ends the region's busy time whatever happens (after a failure, call
    /// [`Table::resize_abort`] to give a grow's pages back).
    #[allow(clippy::too_many_arguments)]
    pub fn resize_commit<P: Pm>(
        &mut self,
        pm: &mut P,
        layout: &Layout,
        index: u32,
        resized: &Region,
        old_pages: u64,
        prepare: impl FnOnce(&H, u64) -> Result<(), Errno>,
        apply: impl FnOnce(&H, &Region, u64, &mut P) -> (bool, u64),
    ) -> Result<(), Errno> {
        let live = self.live_mut(index).ok_or(Errno::Io)?;
        live.busy = false;
        if let Some(r) = live.open_region() {
            prepare(r, resized.size_pages)?;
        }
        ops::resize_entry(pm, layout, index, resized);
        live.region = *resized;
        if let Some(r) = live.open_region() {
            let (uncommitted, epoch) = apply(r, resized, old_pages, pm);
            if !uncommitted && matches!(live.state, Use::Kept { .. }) {
                live.state = Use::Closed { epoch };
            }
        }
        Ok(())
    }

    /// A planned resize given up (a grow's pages could not be cleared, or the commit failed):
    /// a grow's pages go back, and the region is no longer busy.
    pub fn resize_abort(&mut self, plan: &ResizePlan) {
        let Some((index, _, _)) = plan.target() else {
            return;
        };
        if let Some(l) = self.live_mut(index) {
            l.busy = false;
        }
        if let ResizePlan::Grow { fresh, .. } = plan {
            self.release(fresh.as_slice());
        }
    }

    /// Whether format may erase everything now: no region open, kept, being created or grown.
    pub fn may_format(&self) -> bool {
        self.slots.iter().all(|s| match s {
            Slot::Free(_) => true,
            Slot::Creating { .. } => false,
            Slot::Live(l) => !l.busy && matches!(l.state, Use::Closed { .. }),
        })
    }
}

/// Whether `who` may learn `region`'s details (stat, layout) or see it listed: its owner, anyone
/// its mode lets read it, and admins. That a name is taken is not secret (create says `EEXIST`,
/// open `EACCES`), but size, owner, mode, epoch and extents are.
pub fn may_see(who: &impl Caller, region: &Region) -> bool {
    region.uid == who.uid() || who.may_access(region, false) || who.is_admin()
}

/// The owner or an admin; `EPERM` for anyone else.
fn may_administer(who: &impl Caller, region: &Region) -> Result<(), Errno> {
    if region.uid == who.uid() || who.is_admin() {
        Ok(())
    } else {
        Err(Errno::Perm)
    }
}

fn alloc_errno(err: AllocError) -> Errno {
    match err {
        AllocError::NoSpace => Errno::NoSpc,
        AllocError::OutOfMemory => Errno::NoMem,
    }
}

/// Up to [`EXTENTS`] extents, on the stack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extents {
    extents: [Extent; EXTENTS],
    len: usize,
}

impl Extents {
    /// Appends `e`; `false` when full.
    fn push(&mut self, e: Extent) -> bool {
        match self.extents.get_mut(self.len) {
            Some(slot) => {
                *slot = e;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Merges `e` into the last extent when it follows it; `false` otherwise.
    fn extend_last(&mut self, e: Extent) -> bool {
        match self
            .len
            .checked_sub(1)
            .and_then(|i| self.extents.get_mut(i))
        {
            Some(last) if last.end() == e.start => {
                last.pages += e.pages;
                true
            }
            _ => false,
        }
    }

    /// The extents.
    pub fn as_slice(&self) -> &[Extent] {
        &self.extents[..self.len]
    }
}

/// `old` cut to its first `pages` pages (fewer than it has), in the extent array it does not use,
/// and the extents cut off.
pub fn shrunk(old: &Region, pages: u64) -> (Region, Extents) {
    let mut kept = Extents::default();
    let mut cut = Extents::default();
    let mut left = pages;
    for e in old.extents() {
        if left >= e.pages {
            kept.push(*e);
            left -= e.pages;
        } else {
            if left > 0 {
                kept.push(Extent {
                    start: e.start,
                    pages: left,
                });
            }
            cut.push(Extent {
                start: e.start + left,
                pages: e.pages - left,
            });
            left = 0;
        }
    }
    let resized = Region::new(
        old.name(),
        old.uid,
        old.gid,
        old.mode,
        kept.as_slice(),
        1 - old.array,
    );
    (resized, cut)
}

/// `old` grown to `pages` pages (more than it has) with pages taken from `free`, in the extent
/// array it does not use, and the extents new to it. Nothing is taken on failure.
pub fn grown<L: ExtentList>(
    free: &mut FreeSpace<L>,
    old: &Region,
    pages: u64,
) -> Result<(Region, Extents), Errno> {
    let room = EXTENTS - old.nr_extents;
    let alloc = free
        .allocate(pages - old.size_pages, room.max(1))
        .map_err(alloc_errno)?;
    let mut all = Extents::default();
    for e in old.extents() {
        all.push(*e);
    }
    let mut fresh = Extents::default();
    for e in alloc.as_slice() {
        fresh.push(*e);
        if !all.extend_last(*e) && !all.push(*e) {
            // Not mergeable and no room left: give it all back.
            for f in alloc.as_slice() {
                let _ = free.release(*f);
            }
            return Err(Errno::NoSpc);
        }
    }
    let resized = Region::new(
        old.name(),
        old.uid,
        old.gid,
        old.mode,
        all.as_slice(),
        1 - old.array,
    );
    Ok((resized, fresh))
}

/// Growable storage the state machine fills (a `Vec` on the host, a kernel vector in the module).
pub trait List<T>: DerefMut<Target = [T]> {
    /// Appends `value`; fails only when memory runs out.
    fn try_push(&mut self, value: T) -> Result<(), OutOfMemory>;
}

/// Why attach refuses a device. Nothing is written before these are ruled out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachError {
    /// A table entry does not check out.
    Entry {
        /// The entry.
        index: u32,
        /// What is wrong with it.
        err: EntryError,
    },
    /// A bad block (a known media error) in the superblock, the table or the undo headers.
    BadMetadata {
        /// The device page.
        page: u64,
    },
    /// The live regions' extents leave the data area or overlap.
    Rebuild(RebuildError),
    /// Two live entries have the same name.
    RepeatedName {
        /// The later entry.
        index: u32,
    },
    /// An undo header is poisoned: recovery cannot tell which region it belongs to.
    PoisonedUndoHeader {
        /// The slot.
        slot: u32,
    },
    /// Out of memory.
    OutOfMemory,
}

/// What attach found worth a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachEvent {
    /// Region in entry `index` holds bad block page `page`: it is damaged.
    BadBlockInRegion {
        /// The entry.
        index: u32,
        /// The device page.
        page: u64,
    },
    /// Recovery could not copy page `page` of the region in entry `index` back (poisoned
    /// memory): the region is damaged and left unrecovered.
    LostPage {
        /// The entry.
        index: u32,
        /// The device page.
        page: u64,
    },
}

/// What attach did besides the table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attached {
    /// What recovery did.
    pub recovery: Recovery,
    /// Undo slots retired because their page is a bad block.
    pub retired_slots: u32,
    /// Free pages kept out of use because they are bad blocks.
    pub bad_free_pages: u64,
}

/// Recovery's report of lost pages, kept in the slots' `damaged` flags.
struct Losses<'a, H, K> {
    slots: &'a mut [Slot<H>],
    kept: &'a mut K,
    events: &'a mut dyn FnMut(AttachEvent),
    out_of_memory: bool,
}

impl<H, K: List<u32>> LostPages for Losses<'_, H, K> {
    fn lost(&mut self, index: u32, page: u64) {
        if let Some(Slot::Live(l)) = self.slots.get_mut(index as usize) {
            l.damaged = true;
        }
        (self.events)(AttachEvent::LostPage { index, page });
    }
    fn has_lost(&self, index: u32) -> bool {
        matches!(self.slots.get(index as usize), Some(Slot::Live(l)) if l.damaged)
    }
    fn keep_slot(&mut self, slot: u32) {
        if self.kept.try_push(slot).is_err() {
            self.out_of_memory = true;
        }
    }
}

/// Attaches the device `pm` laid out as `layout`, with the bad blocks `bad_pages` (device pages,
/// ascending): checks every table entry, places the bad blocks (in metadata they refuse the
/// device; in an undo slot's page they retire the slot; in a region they damage it; in free space
/// they stay out of use), rebuilds the free space, refuses repeated names, then recovers (a page
/// recovery cannot copy back damages its region, which keeps its slots). Fills `slots` (one per
/// entry), uses `used` as scratch, and returns the table, the undo slots that must stay out of the
/// pool (in `kept`), and what it did. `event` hears what is worth a log line.
#[allow(clippy::too_many_arguments)]
pub fn attach<P, H, S, E, K, L>(
    pm: &mut P,
    layout: &Layout,
    bad_pages: &[u64],
    mut slots: S,
    mut used: E,
    kept: &mut K,
    free_list: L,
    mut event: impl FnMut(AttachEvent),
) -> Result<(Table<S, L>, Attached), AttachError>
where
    P: Pm,
    S: List<Slot<H>>,
    E: List<Extent>,
    K: List<u32>,
    L: ExtentList,
{
    let oom = |_| AttachError::OutOfMemory;
    for index in 0..layout.table_entries {
        let slot = match ops::read_entry(pm, layout, index) {
            Ok(EntryState::Free { epoch }) => Slot::Free(epoch),
            Ok(EntryState::Live { region, epoch }) => {
                for e in region.extents() {
                    used.try_push(*e).map_err(oom)?;
                }
                Slot::Live(Live::closed(region, epoch))
            }
            Err(err) => return Err(AttachError::Entry { index, err }),
        };
        slots.try_push(slot).map_err(oom)?;
    }
    let mut done = Attached::default();
    for &page in bad_pages {
        if page < layout.undo_data_start {
            return Err(AttachError::BadMetadata { page });
        } else if page < layout.data_start {
            kept.try_push((page - layout.undo_data_start) as u32)
                .map_err(oom)?;
            done.retired_slots += 1;
        } else if page < layout.data_start + layout.data_pages {
            let owner = slots.iter_mut().enumerate().find_map(|(i, s)| match s {
                Slot::Live(l)
                    if l.region
                        .extents()
                        .iter()
                        .any(|e| e.start <= page && page < e.end()) =>
                {
                    Some((i as u32, l))
                }
                _ => None,
            });
            match owner {
                Some((index, l)) => {
                    l.damaged = true;
                    event(AttachEvent::BadBlockInRegion { index, page });
                }
                None => {
                    used.try_push(Extent {
                        start: page,
                        pages: 1,
                    })
                    .map_err(oom)?;
                    done.bad_free_pages += 1;
                }
            }
        }
    }
    let free = FreeSpace::rebuild(layout.data_start, layout.data_pages, &mut used, free_list)
        .map_err(AttachError::Rebuild)?;
    for i in 0..slots.len() {
        if let Slot::Live(l) = &slots[i] {
            if slots[..i]
                .iter()
                .any(|o| matches!(o, Slot::Live(p) if p.region.name() == l.region.name()))
            {
                return Err(AttachError::RepeatedName { index: i as u32 });
            }
        }
    }
    let mut losses = Losses {
        slots: &mut slots,
        kept,
        events: &mut event,
        out_of_memory: false,
    };
    done.recovery = ops::recover(pm, layout, &mut losses)
        .map_err(|p| AttachError::PoisonedUndoHeader { slot: p.slot })?;
    if losses.out_of_memory {
        return Err(AttachError::OutOfMemory);
    }
    // Recovery advanced the epochs of the regions it rolled back.
    for (index, slot) in slots.iter_mut().enumerate() {
        if let (Ok(EntryState::Live { epoch, .. }), Slot::Live(l)) =
            (ops::read_entry(pm, layout, index as u32), slot)
        {
            l.state = Use::Closed { epoch };
        }
    }
    Ok((Table { slots, free }, done))
}
