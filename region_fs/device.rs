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
    superblock::{Layout, Superblock, SuperblockError},
    table::{
        check_name, EntryError, EntryState, Extent, NameError, Region, EXTENTS, SIZE_PAGES_MAX,
    },
    uapi::{RegionCounters, RegionExtent, RegionLayout, RegionStat, REGION_NAME_MAX},
    undo_pool::UndoPool,
};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::{new_mutex, prelude::*, str::BStr, sync::Arc, sync::ArcBorrow, sync::Mutex};

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

/// A live region's entry in DRAM.
pub(crate) struct LiveSlot {
    /// What the table entry records.
    pub(crate) region: Region,
    /// The region's epoch.
    pub(crate) epoch: u64,
    /// The open region, while `open_files > 0` or `kept` holds it: not an owning reference (the
    /// files, or `kept`, own it).
    open: *const OpenRegion,
    /// Files open on the region.
    open_files: u32,
    /// The open region after its last file closed with stores not yet committed: its epoch, dirty
    /// pages and undo slots wait here for the next open or PMSYNC (or for delete, or unload,
    /// which leave the stores to be rolled back at the next attach).
    kept: Option<Arc<OpenRegion>>,
}

/// One region table entry in DRAM.
pub(crate) enum Slot {
    /// No region; the entry's epoch.
    Free(u64),
    /// A region.
    Live(LiveSlot),
}

/// The DRAM state guarded by `RegionDevice::table`.
pub(crate) struct Table {
    free: FreeSpace<ExtentVec>,
    slots: KVVec<Slot>,
}

// SAFETY: the raw `open` pointers in `LiveSlot` are only dereferenced under the table lock while
// they are not null, when open files or `kept` keep the `OpenRegion` alive; moving the table
// between threads does not affect that.
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

    fn live_count(&self) -> u32 {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Live(_)))
            .count() as u32
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
    /// Free undo slots (lock-free: taken and given back under any lock).
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
                    Slot::Live(LiveSlot {
                        region,
                        epoch,
                        open: core::ptr::null(),
                        open_files: 0,
                        kept: None,
                    })
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
                    l.epoch = epoch;
                }
            }
        }

        // After recovery no live epoch has an undo slot: every slot is free.
        let undo_pool = UndoPool::new(layout.undo_slots)?;
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
                undo_pool,
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
    /// geometry. `CAP_SYS_ADMIN` only; `EBUSY` while any region is open or holds uncommitted
    /// stores (their undo slots would otherwise be lost track of).
    pub(crate) fn format(&self) -> Result {
        caller::require_admin()?;
        let mut guard = self.table.lock();
        let t = &mut *guard;
        if t.slots
            .iter()
            .any(|s| matches!(s, Slot::Live(l) if !l.open.is_null()))
        {
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
    /// by the caller.
    pub(crate) fn create(&self, name: &[u8], size: u64, mode: u32) -> Result {
        if mode & !0o777 != 0 || size == 0 {
            return Err(EINVAL);
        }
        let pages = size.div_ceil(PAGE_SIZE);
        if pages > SIZE_PAGES_MAX {
            return Err(EFBIG);
        }
        let (uid, gid) = (caller::uid(), caller::gid());
        let mut guard = self.table.lock();
        let t = &mut *guard;
        if t.find(name).is_some() {
            return Err(EEXIST);
        }
        let (index, free_epoch) = t
            .slots
            .iter()
            .enumerate()
            .find_map(|(i, s)| match s {
                Slot::Free(epoch) => Some((i as u32, *epoch)),
                Slot::Live(_) => None,
            })
            .ok_or(ENOSPC)?;
        let alloc = t.free.allocate(pages, EXTENTS).map_err(alloc_error)?;
        let region = Region::new(name, uid, gid, mode, alloc.as_slice(), 0);
        let epoch = ops::create(&mut self.pm(), &self.layout, index, &region, free_epoch);
        t.slots[index as usize] = Slot::Live(LiveSlot {
            region,
            epoch,
            open: core::ptr::null(),
            open_files: 0,
            kept: None,
        });
        self.op_counters.regions_created.fetch_add(1, Relaxed);
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
        let region: Arc<OpenRegion> = if live.open.is_null() {
            OpenRegion::new(self.into(), index, &live.region, live.epoch)?
        } else {
            // SAFETY: a non-null `open` points at the `OpenRegion` that open files or `kept` keep
            // alive, and the table lock keeps them from going meanwhile.
            unsafe { ArcBorrow::from_raw(live.open) }.into()
        };
        live.open = Arc::as_ptr(&region);
        live.open_files += 1;
        match region.install_fd(write) {
            Ok(fd) => {
                // The file holds the region now.
                live.kept = None;
                Ok(fd)
            }
            Err(e) => {
                live.open_files -= 1;
                if live.open_files == 0 && live.kept.is_none() {
                    live.open = core::ptr::null();
                }
                Err(e)
            }
        }
    }

    /// Called when a file open on `region` (table entry `index`) is closed. After the last one,
    /// the entry keeps the region's epoch, and keeps the region itself while it holds stores not
    /// yet committed.
    pub(crate) fn file_closed(&self, index: u32, region: &Arc<OpenRegion>) {
        let mut t = self.table.lock();
        if let Some(Slot::Live(live)) = t.slots.get_mut(index as usize) {
            live.open_files = live.open_files.saturating_sub(1);
            if live.open_files == 0 {
                if region.has_uncommitted_stores() {
                    live.kept = Some(region.clone());
                } else {
                    live.open = core::ptr::null();
                    live.epoch = region.epoch();
                }
            }
        }
    }

    /// At unload: lets go of the regions kept for their uncommitted stores, which the next attach
    /// rolls back. (They hold references to the device, which would otherwise never go.)
    pub(crate) fn forget_uncommitted(&self) {
        let mut t = self.table.lock();
        for slot in t.slots.iter_mut() {
            if let Slot::Live(live) = slot {
                if live.kept.take().is_some() {
                    live.open = core::ptr::null();
                }
            }
        }
    }

    /// `REGION_IOC_DELETE`: the caller must own the region or have `CAP_SYS_ADMIN`, and no file
    /// may be open on it (`EBUSY`).
    pub(crate) fn delete(&self, name: &[u8]) -> Result {
        let mut guard = self.table.lock();
        let t = &mut *guard;
        let (index, live) = t.find(name).ok_or(ENOENT)?;
        caller::may_administer(live.region.uid)?;
        if live.open_files > 0 {
            return Err(EBUSY);
        }
        let (region, epoch) = (live.region, live.epoch);
        ops::delete(&mut self.pm(), &self.layout, index);
        // Its uncommitted stores, if any, are gone with it: their undo slots are stale now.
        if let Slot::Live(live) = &mut t.slots[index as usize] {
            live.kept = None;
        }
        t.slots[index as usize] = Slot::Free(epoch);
        for e in region.extents() {
            if t.free.release(*e).is_err() {
                pr_err!(
                    "region {:?}: freeing pages {}..{} found them free already\n",
                    BStr::from_bytes(region.name()),
                    e.start,
                    e.end()
                );
            }
        }
        self.op_counters.regions_deleted.fetch_add(1, Relaxed);
        Ok(())
    }

    /// `REGION_IOC_RESIZE`: grows with zeroed pages, or shrinks when no mapping covers the cut.
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
        let old = live.region;
        let open = live.open;
        if pages == old.size_pages {
            return Ok(());
        }
        // SAFETY: a non-null `open` is kept alive by open files or `kept` while the table lock is
        // held.
        let open = unsafe { open.as_ref() };
        let mut extents = [Extent::default(); EXTENTS];
        let mut n = 0;
        let mut fresh = [Extent::default(); EXTENTS];
        let mut nfresh = 0;
        let mut cut = [Extent::default(); EXTENTS];
        let mut ncut = 0;
        if pages > old.size_pages {
            let room = EXTENTS - old.nr_extents;
            let alloc = t
                .free
                .allocate(pages - old.size_pages, room.max(1))
                .map_err(alloc_error)?;
            extents[..old.nr_extents].copy_from_slice(old.extents());
            n = old.nr_extents;
            for e in alloc.as_slice() {
                fresh[nfresh] = *e;
                nfresh += 1;
                if extents[n - 1].end() == e.start {
                    extents[n - 1].pages += e.pages;
                } else if n < EXTENTS {
                    extents[n] = *e;
                    n += 1;
                } else {
                    // Not mergeable and no slot left: give it all back.
                    for f in &fresh[..nfresh] {
                        let _ = t.free.release(*f);
                    }
                    return Err(ENOSPC);
                }
            }
        } else {
            if let Some(r) = open {
                if r.mapped_from(pages) {
                    return Err(EBUSY);
                }
            }
            let mut left = pages;
            for e in old.extents() {
                if left >= e.pages {
                    extents[n] = *e;
                    n += 1;
                    left -= e.pages;
                } else {
                    if left > 0 {
                        extents[n] = Extent {
                            start: e.start,
                            pages: left,
                        };
                        n += 1;
                    }
                    cut[ncut] = Extent {
                        start: e.start + left,
                        pages: e.pages - left,
                    };
                    ncut += 1;
                    left = 0;
                }
            }
        }
        if let Some(r) = open {
            if let Err(e) = r.prepare_size(pages) {
                for f in &fresh[..nfresh] {
                    let _ = t.free.release(*f);
                }
                return Err(e);
            }
        }
        let resized = Region::new(
            old.name(),
            old.uid,
            old.gid,
            old.mode,
            &extents[..n],
            1 - old.array,
        );
        ops::resize(
            &mut self.pm(),
            &self.layout,
            index,
            &resized,
            &fresh[..nfresh],
        );
        if let Some(r) = open {
            r.set_region(&resized, old.size_pages);
        }
        if let Slot::Live(l) = &mut t.slots[index as usize] {
            l.region = resized;
        }
        for e in &cut[..ncut] {
            let _ = t.free.release(*e);
        }
        Ok(())
    }

    /// `REGION_IOC_STAT`: the region named `name`.
    pub(crate) fn stat(&self, name: &[u8]) -> Result<RegionStat> {
        let t = self.table.lock();
        let (index, live) = t.find(name).ok_or(ENOENT)?;
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

    /// `REGION_IOC_LIST`: every region, in table order.
    pub(crate) fn list(&self) -> Result<KVVec<RegionStat>> {
        let t = self.table.lock();
        let mut out = KVVec::with_capacity(t.live_count() as usize, GFP_KERNEL)?;
        for (i, s) in t.slots.iter().enumerate() {
            if let Slot::Live(live) = s {
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
        if !name.is_empty() {
            let (_, live) = t.find(name).ok_or(ENOENT)?;
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

fn stat_of(index: u32, live: &LiveSlot) -> RegionStat {
    let r = &live.region;
    let epoch = if !live.open.is_null() {
        // SAFETY: a non-null `open` is kept alive by open files or `kept` while the caller holds
        // the table lock.
        unsafe { (*live.open).epoch() }
    } else {
        live.epoch
    };
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
        open_files: live.open_files,
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
