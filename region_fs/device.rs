// SPDX-License-Identifier: GPL-2.0

//! The attached device and its regions: the region table in DRAM, the allocator, and the
//! operations of the `/dev/region` ioctls (create, open, delete, stat, list, resize, layout).
//!
//! Only the persistent table entries are stored (through `ops.rs`); everything here is rebuilt
//! from them at attach: which entries are live, the name index (a scan of at most
//! `table_entries` entries), the free space, and which regions are open.
//!
//! Lock order: `RegionDevice::table`, then an `OpenRegion`'s lock (`region_file.rs`). Nothing
//! touches user memory while holding either.

use crate::{
    alloc::{AllocError, ExtentList, FreeSpace, OutOfMemory, RebuildError},
    caller,
    dax_pm::{DaxPm, PmCounters},
    geometry::{Geometry, PAGE_SIZE},
    ops,
    pmem::Pmem,
    region_file::OpenRegion,
    sched,
    superblock::{Layout, Superblock, SuperblockError},
    table::{
        check_name, EntryError, EntryState, Extent, NameError, Region, EXTENTS, SIZE_PAGES_MAX,
    },
    uapi::{RegionCounters, RegionExtent, RegionLayout, RegionStat, REGION_NAME_MAX},
    undo_pool::UndoPool,
};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::{new_mutex, prelude::*, sync::Arc, sync::ArcBorrow, sync::Mutex};

/// Free-space storage in a kernel vector.
pub(crate) struct ExtentVec(KVVec<Extent>);

impl ExtentList for ExtentVec {
    fn as_slice(&self) -> &[Extent] {
        self.0.as_slice()
    }

    fn insert_at(&mut self, index: usize, extent: Extent) -> Result<(), OutOfMemory> {
        self.0.reserve(1, GFP_KERNEL).map_err(|_| OutOfMemory)?;
        self.0
            .insert_within_capacity(index, extent)
            .map_err(|_| OutOfMemory)
    }

    fn remove_at(&mut self, index: usize) {
        let _ = self.0.remove(index);
    }

    fn set(&mut self, index: usize, extent: Extent) {
        if let Some(e) = self.0.as_mut_slice().get_mut(index) {
            *e = extent;
        }
    }
}

/// Whether files are open on a live region, and so where its epoch is kept: in exactly one place
/// at any time (here, or in the open region's `View`), so that no copy of it can go stale.
pub(crate) enum Use {
    /// No file is open and nothing is uncommitted: the region's epoch is here.
    Closed {
        /// The region's epoch.
        epoch: u64,
    },
    /// Files are open on the region: the epoch is the open region's (`OpenRegion::view`).
    /// `region` is not an owning reference: the files own it.
    Open {
        /// The open region.
        region: *const OpenRegion,
        /// Files open on it (at least one).
        files: u32,
    },
    /// The last file closed with stores not yet committed: the open region waits here, with its
    /// epoch, dirty pages and undo slots (at most its owner's share), for the next open, or for
    /// delete or unload (after which the next attach rolls the stores back).
    Kept {
        /// The open region, owned here.
        region: Arc<OpenRegion>,
    },
}

/// A live region's entry in DRAM.
pub(crate) struct LiveSlot {
    /// What the table entry records.
    pub(crate) region: Region,
    /// Open or closed.
    pub(crate) state: Use,
    /// A resize is clearing new pages outside the table lock: other resizes, deletes and
    /// formats wait for it (`EBUSY`).
    busy: bool,
}

impl LiveSlot {
    fn closed(region: Region, epoch: u64) -> Self {
        Self {
            region,
            state: Use::Closed { epoch },
            busy: false,
        }
    }

    /// The open region, if files are open or it is kept.
    fn open_region(&self) -> Option<&OpenRegion> {
        match &self.state {
            // SAFETY: an `Open` state's pointer is kept alive by the files until the state
            // changes, and the caller holds the table lock, under which it changes.
            Use::Open { region, .. } => Some(unsafe { &**region }),
            Use::Kept { region } => Some(region),
            Use::Closed { .. } => None,
        }
    }

    /// The region's epoch, wherever it is kept.
    fn epoch(&self) -> u64 {
        match (&self.state, self.open_region()) {
            (Use::Closed { epoch }, _) => *epoch,
            (_, Some(r)) => r.epoch(),
            (_, None) => 0,
        }
    }

    fn open_files(&self) -> u32 {
        match self.state {
            Use::Open { files, .. } => files,
            _ => 0,
        }
    }
}

/// One region table entry in DRAM.
// Kept in place in the table's vector, never moved around: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Slot {
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
    Live(LiveSlot),
}

/// The DRAM state guarded by `RegionDevice::table`.
pub(crate) struct Table {
    free: FreeSpace<ExtentVec>,
    slots: KVVec<Slot>,
}

// SAFETY: the raw `region` pointers in `Use::Open` are only dereferenced under the table lock,
// while the files keep the `OpenRegion` alive; moving the table between threads does not affect
// that. `OpenRegion` itself is `Send` and `Sync`.
unsafe impl Send for Table {}

impl Table {
    fn find(&self, name: &[u8]) -> Option<(u32, &LiveSlot)> {
        self.slots.iter().enumerate().find_map(|(i, s)| match s {
            Slot::Live(l) if l.region.name() == name => Some((i as u32, l)),
            _ => None,
        })
    }

    fn find_mut(&mut self, name: &[u8]) -> Option<(u32, &mut LiveSlot)> {
        self.slots
            .iter_mut()
            .enumerate()
            .find_map(|(i, s)| match s {
                Slot::Live(l) if l.region.name() == name => Some((i as u32, l)),
                _ => None,
            })
    }

    /// Whether a region of that name exists or is being created.
    fn name_taken(&self, name: &[u8]) -> bool {
        self.slots.iter().any(|s| match s {
            Slot::Live(l) => l.region.name() == name,
            Slot::Creating { region, .. } => region.name() == name,
            Slot::Free(_) => false,
        })
    }

    fn live_count(&self) -> u32 {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Live(_)))
            .count() as u32
    }

    fn release_extents(&mut self, extents: &[Extent]) {
        for e in extents {
            if self.free.release(*e).is_err() {
                pr_err!(
                    "freeing pages {}..{} found them free already\n",
                    e.start,
                    e.end()
                );
            }
        }
    }
}

/// Counters of operations, beside the write-back and fence counters of [`PmCounters`].
#[derive(Default)]
pub(crate) struct OpCounters {
    pub(crate) regions_created: AtomicU64,
    pub(crate) regions_deleted: AtomicU64,
    pub(crate) faults: AtomicU64,
    pub(crate) pmsyncs: AtomicU64,
    pub(crate) pages_written_back: AtomicU64,
    pub(crate) undo_pages: AtomicU64,
    pub(crate) unmap_rounds: AtomicU64,
    pub(crate) mappings_unmapped: AtomicU64,
}

/// The attached persistent memory device and its regions.
#[pin_data]
pub(crate) struct RegionDevice {
    pmem: Pmem,
    geometry: Geometry,
    /// Where everything is; fixed while attached.
    pub(crate) layout: Layout,
    pub(crate) pm_counters: PmCounters,
    pub(crate) op_counters: OpCounters,
    #[pin]
    table: Mutex<Table>,
    /// Free undo slots, and what each owner's regions hold.
    #[pin]
    pub(crate) undo_pool: UndoPool,
}

/// What to do with a device that holds no Region System yet (or one that should be replaced).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Use the device as it is; refuse it if it is not formatted.
    Never,
    /// Format it, destroying whatever it holds.
    Now,
}

fn superblock_error(path: &CStr, err: SuperblockError) -> Error {
    match err {
        SuperblockError::Unformatted => {
            pr_err!(
                "{:?} is not formatted: load with format=1 to format it\n",
                path
            );
            ENODATA
        }
        SuperblockError::BadMagic => {
            pr_err!("{:?} holds no Region System (no REGIONPM magic); left untouched. Load with format=1 to format it (destroys its contents)\n", path);
            EINVAL
        }
        SuperblockError::UnknownVersion(v) => {
            pr_err!(
                "{:?}: format version {} is not supported (this module reads version 1)\n",
                path,
                v
            );
            EINVAL
        }
        SuperblockError::BadChecksum => {
            pr_err!(
                "{:?}: superblock checksum mismatch: corrupt; left untouched\n",
                path
            );
            EUCLEAN
        }
        SuperblockError::UnknownFlags(f) => {
            pr_err!(
                "{:?}: superblock has unknown flags {:#x}; left untouched\n",
                path,
                f
            );
            EUCLEAN
        }
        SuperblockError::LargerThanDevice { formatted, present } => {
            pr_err!(
                "{:?}: formatted for {} pages but the device has {}; left untouched\n",
                path,
                formatted,
                present
            );
            EUCLEAN
        }
        SuperblockError::BadGeometry(what) => {
            pr_err!(
                "{:?}: impossible geometry ({}); left untouched\n",
                path,
                what
            );
            EUCLEAN
        }
    }
}

fn entry_error_text(err: EntryError) -> &'static str {
    match err {
        EntryError::ShapeCheck => "shape check bits mismatch",
        EntryError::EpochCheck => "epoch check bits mismatch",
        EntryError::Shape => "impossible shape word",
        EntryError::Name => "bad name",
        EntryError::Field => "bad mode or reserved field",
        EntryError::Extents => "extents do not match the size",
    }
}

impl RegionDevice {
    /// Attaches `pmem` as `path`: formats it if asked, reads and checks the superblock and every
    /// table entry, rolls interrupted epochs back, and rebuilds the free space. A device that
    /// does not check out is refused with a log line naming what is wrong, and nothing is written
    /// to it.
    pub(crate) fn attach(
        path: &CStr,
        pmem: Pmem,
        geometry: Geometry,
        format: Format,
    ) -> Result<Arc<Self>> {
        let counters = PmCounters::default();
        // SAFETY: `pmem` maps `geometry.size` bytes at `base()` (checked at open) and lives as
        // long as this handle.
        let mut pm = unsafe { DaxPm::new(pmem.base(), geometry.size, &counters) };
        if format == Format::Now {
            let sb = Superblock::for_device(geometry.pages, uuid_now());
            ops::format(&mut pm, &sb).map_err(|e| superblock_error(path, e))?;
            pr_info!(
                "formatted {:?}: {} pages, {} table entries, {} undo slots\n",
                path,
                sb.device_pages,
                sb.table_entries,
                sb.undo_slots
            );
        }
        let (_, layout) =
            ops::read_superblock(&pm, geometry.pages).map_err(|e| superblock_error(path, e))?;

        // Check every entry before writing anything, recovery included.
        let mut slots = KVVec::with_capacity(layout.table_entries as usize, GFP_KERNEL)?;
        let mut used = KVVec::new();
        for index in 0..layout.table_entries {
            let slot = match ops::read_entry(&pm, &layout, index) {
                Ok(EntryState::Free { epoch }) => Slot::Free(epoch),
                Ok(EntryState::Live { region, epoch }) => {
                    for e in region.extents() {
                        used.push(*e, GFP_KERNEL)?;
                    }
                    Slot::Live(LiveSlot::closed(region, epoch))
                }
                Err(err) => {
                    pr_err!(
                        "{:?}: region table entry {}: {}; left untouched\n",
                        path,
                        index,
                        entry_error_text(err)
                    );
                    return Err(EUCLEAN);
                }
            };
            slots.push(slot, GFP_KERNEL)?;
        }
        let free = FreeSpace::rebuild(layout.data_start, layout.data_pages, used.as_mut_slice(), ExtentVec(KVVec::new()))
            .map_err(|err| match err {
                RebuildError::OutOfBounds(e) => {
                    pr_err!("{:?}: a region extent ({} pages at page {}) lies outside the data area; left untouched\n", path, e.pages, e.start);
                    EUCLEAN
                }
                RebuildError::Overlap(a, b) => {
                    pr_err!("{:?}: two region extents overlap (pages {}..{} and {}..{}); left untouched\n", path, a.start, a.end(), b.start, b.end());
                    EUCLEAN
                }
                RebuildError::OutOfMemory => ENOMEM,
            })?;
        for (i, s) in slots.iter().enumerate() {
            if let Slot::Live(l) = s {
                if slots[..i]
                    .iter()
                    .any(|o| matches!(o, Slot::Live(p) if p.region.name() == l.region.name()))
                {
                    pr_err!(
                        "{:?}: region table entry {} repeats a name; left untouched\n",
                        path,
                        i
                    );
                    return Err(EUCLEAN);
                }
            }
        }

        let recovered = ops::recover(&mut pm, &layout);
        if recovered.pages_restored > 0 {
            pr_info!(
                "{:?}: rolled {} regions back to their last PMSYNC ({} pages restored)\n",
                path,
                recovered.regions_rolled_back,
                recovered.pages_restored
            );
            for index in 0..layout.table_entries {
                if let (Ok(EntryState::Live { epoch, .. }), Some(Slot::Live(l))) = (
                    ops::read_entry(&pm, &layout, index),
                    slots.get_mut(index as usize),
                ) {
                    l.state = Use::Closed { epoch };
                }
            }
        }

        // After recovery no live epoch has an undo slot: every slot is free.
        let table = Table { free, slots };
        let regions = table.live_count();
        let free_pages = table.free.free_pages();
        let device = Arc::pin_init(
            try_pin_init!(Self {
                pmem,
                geometry,
                layout,
                pm_counters: counters,
                op_counters: OpCounters::default(),
                table <- new_mutex!(table),
                undo_pool <- UndoPool::new(layout.undo_slots),
            }),
            GFP_KERNEL,
        )?;
        pr_info!(
            "{:?}: {} regions, {} of {} data pages free\n",
            path,
            regions,
            free_pages,
            layout.data_pages
        );
        Ok(device)
    }

    /// A [`Pm`](crate::pm::Pm) handle on the device.
    pub(crate) fn pm(&self) -> DaxPm<'_> {
        // SAFETY: `self.pmem` maps `self.geometry.size` bytes at `base()` for as long as `self`
        // lives, which outlives the returned handle.
        unsafe { DaxPm::new(self.pmem.base(), self.geometry.size, &self.pm_counters) }
    }

    /// Page frame number of device page `page`.
    pub(crate) fn pfn(&self, page: u64) -> usize {
        self.pmem.first_pfn() + page as usize
    }

    /// Usable bytes of the device.
    pub(crate) fn size(&self) -> u64 {
        self.geometry.size
    }

    /// `REGION_IOC_FORMAT`: erases every region and writes a new, empty layout of the same
    /// geometry. `CAP_SYS_ADMIN` only; `EBUSY` while any region is open, holds uncommitted stores,
    /// or is being created or grown.
    pub(crate) fn format(&self) -> Result {
        caller::require_admin()?;
        let mut guard = self.table.lock();
        let t = &mut *guard;
        if t.slots.iter().any(|s| match s {
            Slot::Free(_) => false,
            Slot::Creating { .. } => true,
            Slot::Live(l) => l.busy || !matches!(l.state, Use::Closed { .. }),
        }) {
            return Err(EBUSY);
        }
        let sb = Superblock::for_device(self.geometry.pages, uuid_now());
        if Layout::new(&sb).ok() != Some(self.layout) {
            pr_err!("format: this device's geometry differs from the default; reload the module with format=1\n");
            return Err(EINVAL);
        }
        let mut slots = KVVec::with_capacity(self.layout.table_entries as usize, GFP_KERNEL)?;
        for _ in 0..self.layout.table_entries {
            slots.push(Slot::Free(0), GFP_KERNEL)?;
        }
        let mut used: [Extent; 0] = [];
        let free = FreeSpace::rebuild(
            self.layout.data_start,
            self.layout.data_pages,
            &mut used,
            ExtentVec(KVVec::new()),
        )
        .map_err(|_| ENOMEM)?;
        ops::format(&mut self.pm(), &sb).map_err(|_| EINVAL)?;
        t.slots = slots;
        t.free = free;
        pr_info!("formatted: every region erased\n");
        Ok(())
    }

    /// `REGION_IOC_CREATE`: a new region of `size` bytes (rounded up to pages), all zeros, owned
    /// by the caller. The pages are cleared outside the table lock, in chunks (`EINTR` if the
    /// caller is killed meanwhile: nothing is created then).
    pub(crate) fn create(&self, name: &[u8], size: u64, mode: u32) -> Result {
        if mode & !0o777 != 0 || size == 0 {
            return Err(EINVAL);
        }
        let pages = size.div_ceil(PAGE_SIZE);
        if pages > SIZE_PAGES_MAX {
            return Err(EFBIG);
        }
        let (uid, gid) = (caller::uid(), caller::gid());
        let (index, region) = {
            let mut guard = self.table.lock();
            let t = &mut *guard;
            if t.name_taken(name) {
                return Err(EEXIST);
            }
            let (index, free_epoch) = t
                .slots
                .iter()
                .enumerate()
                .find_map(|(i, s)| match s {
                    Slot::Free(epoch) => Some((i as u32, *epoch)),
                    _ => None,
                })
                .ok_or(ENOSPC)?;
            let alloc = t.free.allocate(pages, EXTENTS).map_err(alloc_error)?;
            let region = Region::new(name, uid, gid, mode, alloc.as_slice(), 0);
            t.slots[index as usize] = Slot::Creating { region, free_epoch };
            (index, region)
        };
        let cleared = self.clear_extents(region.extents());
        let mut guard = self.table.lock();
        let t = &mut *guard;
        // Nothing else changes a `Creating` entry: format waits for it, and lookups skip it.
        let free_epoch = match t.slots.get(index as usize) {
            Some(Slot::Creating { free_epoch, .. }) => *free_epoch,
            _ => return Err(EIO),
        };
        if let Err(e) = cleared {
            t.slots[index as usize] = Slot::Free(free_epoch);
            t.release_extents(region.extents());
            return Err(e);
        }
        let epoch = ops::create_entry(&mut self.pm(), &self.layout, index, &region, free_epoch);
        t.slots[index as usize] = Slot::Live(LiveSlot::closed(region, epoch));
        self.op_counters.regions_created.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Clears the pages of `extents` (not fenced: the entry's commit fences), a chunk at a time,
    /// letting other tasks run between chunks; `EINTR` if the caller is killed meanwhile.
    fn clear_extents(&self, extents: &[Extent]) -> Result {
        let mut pm = self.pm();
        for e in extents {
            let mut done = 0;
            while done < e.pages {
                let n = (e.pages - done).min(CLEAR_CHUNK_PAGES);
                ops::clear_pages(
                    &mut pm,
                    Extent {
                        start: e.start + done,
                        pages: n,
                    },
                );
                done += n;
                sched::cond_resched();
                if sched::fatal_signal_pending() {
                    return Err(EINTR);
                }
            }
        }
        Ok(())
    }

    /// `REGION_IOC_OPEN`: a new file descriptor on the region, writable if `write`.
    pub(crate) fn open(self: ArcBorrow<'_, Self>, name: &[u8], write: bool) -> Result<i32> {
        let mut guard = self.table.lock();
        let (index, live) = guard.find_mut(name).ok_or(ENOENT)?;
        let want = if write {
            caller::MAY_READ | caller::MAY_WRITE
        } else {
            caller::MAY_READ
        };
        caller::may_access(live.region.uid, live.region.gid, live.region.mode, want)?;
        let region: Arc<OpenRegion> = match &live.state {
            Use::Closed { epoch } => OpenRegion::new(self.into(), index, &live.region, *epoch)?,
            // SAFETY: an `Open` state's pointer is kept alive by the files until the state
            // changes, which needs the table lock we hold.
            Use::Open { region, .. } => unsafe { ArcBorrow::from_raw(*region) }.into(),
            Use::Kept { region } => region.clone(),
        };
        let fd = region.install_fd(write)?;
        // The file holds the region now; a kept one is no longer kept.
        live.state = Use::Open {
            region: Arc::as_ptr(&region),
            files: live.open_files() + 1,
        };
        Ok(fd)
    }

    /// Called when a file open on `region` (table entry `index`) is closed. After the last one
    /// the entry takes the region's epoch back, or keeps the region itself while it holds stores
    /// not yet committed (no file is left to add any meanwhile: the table lock is held).
    pub(crate) fn file_closed(&self, index: u32, region: &Arc<OpenRegion>) {
        let mut t = self.table.lock();
        let Some(Slot::Live(live)) = t.slots.get_mut(index as usize) else {
            return;
        };
        let Use::Open { files, .. } = &mut live.state else {
            return;
        };
        *files = files.saturating_sub(1);
        if *files > 0 {
            return;
        }
        let view = region.view.lock();
        live.state = if view.dirty.is_empty() {
            Use::Closed { epoch: view.epoch }
        } else {
            Use::Kept {
                region: region.clone(),
            }
        };
    }

    /// At unload: lets go of the regions kept for their uncommitted stores, which the next attach
    /// rolls back. (They hold references to the device, which would otherwise never go.)
    pub(crate) fn forget_kept(&self) {
        let mut t = self.table.lock();
        for slot in t.slots.iter_mut() {
            if let Slot::Live(live) = slot {
                if let Use::Kept { region } = &live.state {
                    let epoch = region.epoch();
                    live.state = Use::Closed { epoch };
                }
            }
        }
    }

    /// `REGION_IOC_DELETE`: the caller must own the region or have `CAP_SYS_ADMIN`, and no file
    /// may be open on it (`EBUSY`). A kept region's uncommitted stores go with it: the entry keeps
    /// its true epoch, so that its undo slots never match a later region in the entry.
    pub(crate) fn delete(&self, name: &[u8]) -> Result {
        let mut guard = self.table.lock();
        let t = &mut *guard;
        let (index, live) = t.find(name).ok_or(ENOENT)?;
        caller::may_administer(live.region.uid)?;
        if live.busy {
            return Err(EBUSY);
        }
        let epoch = match &live.state {
            Use::Closed { epoch } => *epoch,
            Use::Kept { region } => region.epoch(),
            Use::Open { .. } => return Err(EBUSY),
        };
        let region = live.region;
        ops::delete(&mut self.pm(), &self.layout, index);
        t.slots[index as usize] = Slot::Free(epoch);
        t.release_extents(region.extents());
        self.op_counters.regions_deleted.fetch_add(1, Relaxed);
        Ok(())
    }

    /// `REGION_IOC_RESIZE`: grows with zeroed pages (cleared outside the table lock), or shrinks
    /// when no mapping covers the cut. Stores not yet committed to the pages that stay are kept
    /// for the next PMSYNC; those to pages cut off go with the pages.
    pub(crate) fn resize(&self, name: &[u8], size: u64) -> Result {
        if size == 0 {
            return Err(EINVAL);
        }
        let pages = size.div_ceil(PAGE_SIZE);
        if pages > SIZE_PAGES_MAX {
            return Err(EFBIG);
        }
        let mut guard = self.table.lock();
        let t = &mut *guard;
        let (index, live) = t.find(name).ok_or(ENOENT)?;
        caller::may_administer(live.region.uid)?;
        if live.busy {
            return Err(EBUSY);
        }
        let old = live.region;
        if pages == old.size_pages {
            return Ok(());
        }
        if pages < old.size_pages {
            if live.open_region().is_some_and(|r| r.mapped_from(pages)) {
                return Err(EBUSY);
            }
            let (resized, cut) = shrunk(&old, pages);
            self.commit_resize(t, index, &resized, old.size_pages)?;
            t.release_extents(cut.as_slice());
            return Ok(());
        }
        let (resized, fresh) = grown(&mut t.free, &old, pages)?;
        if let Some(Slot::Live(l)) = t.slots.get_mut(index as usize) {
            l.busy = true;
        }
        drop(guard);
        let cleared = self.clear_extents(fresh.as_slice());
        let mut guard = self.table.lock();
        let t = &mut *guard;
        // `busy` kept deletes, resizes and formats away: the entry is still this region.
        if let Some(Slot::Live(l)) = t.slots.get_mut(index as usize) {
            l.busy = false;
        }
        let committed =
            cleared.and_then(|()| self.commit_resize(t, index, &resized, old.size_pages));
        if committed.is_err() {
            t.release_extents(fresh.as_slice());
        }
        committed
    }

    /// Commits `resized` (from `old_pages` pages) to table entry `index` and to its open region.
    fn commit_resize(&self, t: &mut Table, index: u32, resized: &Region, old_pages: u64) -> Result {
        let Some(Slot::Live(live)) = t.slots.get_mut(index as usize) else {
            return Err(EIO);
        };
        if let Some(r) = live.open_region() {
            r.prepare_size(resized.size_pages)?;
        }
        ops::resize_entry(&mut self.pm(), &self.layout, index, resized);
        if let Some(r) = live.open_region() {
            r.set_region(resized, old_pages);
        }
        live.region = *resized;
        Ok(())
    }

    /// `REGION_IOC_STAT`: the region named `name`.
    pub(crate) fn stat(&self, name: &[u8]) -> Result<RegionStat> {
        let t = self.table.lock();
        let (index, live) = t.find(name).ok_or(ENOENT)?;
        may_see(&live.region)?;
        Ok(stat_of(index, live))
    }

    /// The region in table entry `index`, for `REGION_IOC_FSTAT`.
    pub(crate) fn stat_index(&self, index: u32) -> Result<RegionStat> {
        let t = self.table.lock();
        match t.slots.get(index as usize) {
            Some(Slot::Live(live)) => Ok(stat_of(index, live)),
            _ => Err(ENOENT),
        }
    }

    /// `REGION_IOC_LIST`: every region the caller may see (see [`may_see`]), in table order.
    pub(crate) fn list(&self) -> Result<KVVec<RegionStat>> {
        let t = self.table.lock();
        let mut out = KVVec::with_capacity(t.live_count() as usize, GFP_KERNEL)?;
        for (i, s) in t.slots.iter().enumerate() {
            if let Slot::Live(live) = s {
                if may_see(&live.region).is_err() {
                    continue;
                }
                out.push(stat_of(i as u32, live), GFP_KERNEL)?;
            }
        }
        Ok(out)
    }

    /// `REGION_IOC_LAYOUT`: the device's layout and, if `name` is not empty, the region's.
    pub(crate) fn layout(&self, name: &[u8], out: &mut RegionLayout) -> Result {
        let t = self.table.lock();
        let l = &self.layout;
        out.device_pages = l.data_start + l.data_pages;
        out.table_start = l.table_start;
        out.table_pages = l.table_pages;
        out.undo_header_start = l.undo_header_start;
        out.undo_header_pages = l.undo_header_pages;
        out.undo_data_start = l.undo_data_start;
        out.data_start = l.data_start;
        out.data_pages = l.data_pages;
        out.free_pages = t.free.free_pages();
        out.table_entries = l.table_entries;
        out.undo_slots = l.undo_slots;
        out.regions = t.live_count();
        out.undo_share = self.undo_pool.share();
        if !name.is_empty() {
            let (_, live) = t.find(name).ok_or(ENOENT)?;
            may_see(&live.region)?;
            out.nr_extents = live.region.nr_extents as u32;
            for (o, e) in out.extents.iter_mut().zip(live.region.extents()) {
                *o = RegionExtent {
                    start: e.start,
                    pages: e.pages,
                };
            }
        }
        Ok(())
    }

    /// `REGION_IOC_COUNTERS`.
    pub(crate) fn counters(&self) -> RegionCounters {
        RegionCounters {
            lines_written_back: self.pm_counters.lines_written_back.load(Relaxed),
            fences: self.pm_counters.fences.load(Relaxed),
            regions_created: self.op_counters.regions_created.load(Relaxed),
            regions_deleted: self.op_counters.regions_deleted.load(Relaxed),
            faults: self.op_counters.faults.load(Relaxed),
            pmsyncs: self.op_counters.pmsyncs.load(Relaxed),
            pages_written_back: self.op_counters.pages_written_back.load(Relaxed),
            undo_pages: self.op_counters.undo_pages.load(Relaxed),
            unmap_rounds: self.op_counters.unmap_rounds.load(Relaxed),
            mappings_unmapped: self.op_counters.mappings_unmapped.load(Relaxed),
            ..RegionCounters::default()
        }
    }
}

fn alloc_error(err: AllocError) -> Error {
    match err {
        AllocError::NoSpace => ENOSPC,
        AllocError::OutOfMemory => ENOMEM,
    }
}

/// Pages a create or grow clears between two looks at the scheduler and at fatal signals: 2 MiB.
const CLEAR_CHUNK_PAGES: u64 = 512;

/// Whether the caller may learn a region's details (stat, layout) or see it listed: its owner,
/// anyone the mode lets read it, and `CAP_SYS_ADMIN`; `EACCES` for everyone else. That a name is
/// taken is not secret (create says `EEXIST`, open `EACCES`), but size, owner, mode, epoch and
/// extents are.
fn may_see(region: &Region) -> Result {
    if region.uid == caller::uid()
        || caller::may_access(region.uid, region.gid, region.mode, caller::MAY_READ).is_ok()
        || caller::require_admin().is_ok()
    {
        Ok(())
    } else {
        Err(EACCES)
    }
}

/// `old` cut to its first `pages` pages (fewer than it has), in the extent array it does not use,
/// and the extents cut off.
fn shrunk(old: &Region, pages: u64) -> (Region, ExtentArray) {
    let mut kept = ExtentArray::default();
    let mut cut = ExtentArray::default();
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
/// array it does not use, and the extents new to it (to be cleared before the commit). Nothing is
/// taken on failure.
fn grown(
    free: &mut FreeSpace<ExtentVec>,
    old: &Region,
    pages: u64,
) -> Result<(Region, ExtentArray)> {
    let room = EXTENTS - old.nr_extents;
    let alloc = free
        .allocate(pages - old.size_pages, room.max(1))
        .map_err(alloc_error)?;
    let mut all = ExtentArray::default();
    let mut fresh = ExtentArray::default();
    for e in old.extents() {
        all.push(*e);
    }
    for e in alloc.as_slice() {
        fresh.push(*e);
        if !all.extend_last(*e) && !all.push(*e) {
            // Not mergeable and no room left: give it all back.
            for f in fresh.as_slice() {
                let _ = free.release(*f);
            }
            for f in &alloc.as_slice()[fresh.as_slice().len()..] {
                let _ = free.release(*f);
            }
            return Err(ENOSPC);
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

/// Up to [`EXTENTS`] extents on the stack.
#[derive(Default)]
struct ExtentArray {
    extents: [Extent; EXTENTS],
    len: usize,
}

impl ExtentArray {
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

    fn as_slice(&self) -> &[Extent] {
        &self.extents[..self.len]
    }
}

fn stat_of(index: u32, live: &LiveSlot) -> RegionStat {
    let r = &live.region;
    let epoch = live.epoch();
    let mut name = [0u8; REGION_NAME_MAX];
    name[..r.name_len].copy_from_slice(r.name());
    RegionStat {
        name,
        size: r.size_pages * PAGE_SIZE,
        epoch,
        uid: r.uid,
        gid: r.gid,
        mode: r.mode,
        index,
        nr_extents: r.nr_extents as u32,
        open_files: live.open_files(),
        reserved: [0; 4],
    }
}

/// Reads a region name from a user structure's name field: 1-63 bytes then a NUL; `EINVAL` for
/// an empty name or one with `/`, `ENAMETOOLONG` when no NUL ends it within the field.
pub(crate) fn parse_name(raw: &[u8; REGION_NAME_MAX]) -> Result<&[u8]> {
    let len = raw.iter().position(|&b| b == 0).ok_or(ENAMETOOLONG)?;
    let name = &raw[..len];
    check_name(name).map_err(|e| match e {
        NameError::TooLong => ENAMETOOLONG,
        NameError::Empty | NameError::BadByte => EINVAL,
    })?;
    Ok(name)
}

/// A uuid for a new format: the time and a counter, which is all it needs to be (it tells
/// formats apart; nothing depends on it being random).
fn uuid_now() -> [u8; 16] {
    let mut u = [0u8; 16];
    // SAFETY: `ktime_get_real` has no preconditions.
    let now = unsafe { kernel::bindings::ktime_get_real() };
    u[..8].copy_from_slice(&now.to_le_bytes());
    u[8..].copy_from_slice(b"regionpm");
    u
}
