// SPDX-License-Identifier: GPL-2.0

//! The attached device and its regions: attach, and the operations of the `/dev/region` ioctls
//! (create, open, delete, stat, list, resize, layout) as the kernel runs them.
//!
//! Every decision, and the persistent-memory steps of each operation, are the state machine's
//! (`state.rs`, `core`-only and tested on the host against a model); this file holds the table
//! lock, supplies the caller's credentials and the open regions, clears pages outside the lock,
//! and turns refusals into errnos. Only the persistent table entries are stored; the table in
//! DRAM is rebuilt from them at attach.
//!
//! Lock order: `RegionDevice::table`, then an `OpenRegion`'s lock (`region_file.rs`), then the
//! undo pool's charges (`undo_pool.rs`). Nothing touches user memory while holding any.

use crate::{
    alloc::{ExtentList, FreeSpace, OutOfMemory, RebuildError},
    caller,
    dax_pm::{DaxPm, PmCounters},
    geometry::{Geometry, PAGE_SIZE},
    ops,
    pmem::Pmem,
    region_file::OpenRegion,
    region_glue_h::region_notify_detach,
    sched,
    state::{self, AttachError, AttachEvent, Caller, Errno, List, Live, ResizePlan, Slot},
    superblock::{Layout, Superblock, SuperblockError},
    table::{check_name, EntryError, Extent, NameError, Region},
    uapi::{
        RegionCounters, RegionExtent, RegionLayout, RegionStat, REGION_NAME_MAX,
        REGION_STAT_DAMAGED,
    },
    undo_pool::UndoPool,
};
use core::sync::atomic::{
    AtomicBool, AtomicU64,
    Ordering::{Relaxed, SeqCst},
};
use kernel::{
    ffi::{c_int, c_void},
    new_mutex,
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex},
};

impl<T> List<T> for KVVec<T> {
    fn try_push(&mut self, value: T) -> Result<(), OutOfMemory> {
        self.push(value, GFP_KERNEL).map_err(|_| OutOfMemory)
    }
}

impl<T> List<T> for KVec<T> {
    fn try_push(&mut self, value: T) -> Result<(), OutOfMemory> {
        self.push(value, GFP_KERNEL).map_err(|_| OutOfMemory)
    }
}

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

/// The module's handle on an open region, as the table keeps it.
pub(crate) type OpenHandle = Arc<OpenRegion>;

/// The region table, in a kernel vector, guarded by `RegionDevice::table`.
pub(crate) type Table = state::Table<KVVec<Slot<OpenHandle>>, ExtentVec>;

/// The calling task, as the state machine asks about it.
struct Current;

impl Caller for Current {
    fn uid(&self) -> u32 {
        caller::uid()
    }

    fn gid(&self) -> u32 {
        caller::gid()
    }

    fn may_access(&self, region: &Region, write: bool) -> bool {
        let want = if write {
            caller::MAY_READ | caller::MAY_WRITE
        } else {
            caller::MAY_READ
        };
        caller::may_access(region.uid, region.gid, region.mode, want).is_ok()
    }

    fn is_admin(&self) -> bool {
        caller::require_admin().is_ok()
    }
}

/// The kernel error for a refusal of the state machine.
pub(crate) fn errno(e: Errno) -> Error {
    match e {
        Errno::NoEnt => ENOENT,
        Errno::Exist => EEXIST,
        Errno::Inval => EINVAL,
        Errno::FBig => EFBIG,
        Errno::NoSpc => ENOSPC,
        Errno::NoMem => ENOMEM,
        Errno::Busy => EBUSY,
        Errno::Acces => EACCES,
        Errno::Perm => EPERM,
        Errno::Io => EIO,
        Errno::BadF => EBADF,
    }
}

/// The state machine's refusal for a kernel error on the module's side of an operation.
fn refusal(e: Error) -> Errno {
    if e == ENOMEM {
        Errno::NoMem
    } else {
        Errno::Io
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
    pub(crate) logged_writes: AtomicU64,
    pub(crate) lines_logged: AtomicU64,
}

/// The attached persistent memory device and its regions.
#[pin_data(PinnedDrop)]
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
    /// The device is going away (a forced driver unbind): every operation fails with `EIO`.
    pub(crate) gone: AtomicBool,
}

#[pinned_drop]
impl PinnedDrop for RegionDevice {
    fn drop(self: Pin<&mut Self>) {
        // No more failure notifications to this device; one under way finishes first (the glue's
        // rwsem), while the device is still whole.
        // SAFETY: no preconditions.
        unsafe { region_notify_detach() };
    }
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
        SuperblockError::Poisoned => {
            pr_err!(
                "{:?}: the superblock is poisoned (a media error); left untouched\n",
                path
            );
            EIO
        }
    }
}

/// The kernel error for an attach refusal, with a log line saying what is wrong.
fn attach_error(path: &CStr, err: AttachError) -> Error {
    match err {
        AttachError::Entry { index, err } => {
            pr_err!(
                "{:?}: region table entry {}: {}; left untouched\n",
                path,
                index,
                entry_error_text(err)
            );
            if err == EntryError::Poisoned {
                EIO
            } else {
                EUCLEAN
            }
        }
        AttachError::BadMetadata { page } => {
            pr_err!("{:?}: device page {} (superblock, region table or undo headers) is a bad block; left untouched\n", path, page);
            EIO
        }
        AttachError::Rebuild(RebuildError::OutOfBounds(e)) => {
            pr_err!("{:?}: a region extent ({} pages at page {}) lies outside the data area; left untouched\n", path, e.pages, e.start);
            EUCLEAN
        }
        AttachError::Rebuild(RebuildError::Overlap(a, b)) => {
            pr_err!(
                "{:?}: two region extents overlap (pages {}..{} and {}..{}); left untouched\n",
                path,
                a.start,
                a.end(),
                b.start,
                b.end()
            );
            EUCLEAN
        }
        AttachError::Rebuild(RebuildError::OutOfMemory) | AttachError::OutOfMemory => ENOMEM,
        AttachError::RepeatedName { index } => {
            pr_err!(
                "{:?}: region table entry {} repeats a name; left untouched\n",
                path,
                index
            );
            EUCLEAN
        }
        AttachError::PoisonedUndoHeader { slot } => {
            pr_err!("{:?}: undo slot {}'s header is poisoned (a media error): cannot tell which region to roll back; left untouched\n", path, slot);
            EIO
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
        EntryError::Poisoned => "poisoned memory (a media error)",
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
        let mut pm = unsafe { DaxPm::new(&pmem, geometry.size, &counters) };
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

        // Every decision is the state machine's: it checks every entry and places the bad
        // blocks before writing anything, then recovers.
        let bad_pages = pmem.bad_pages()?;
        let slots = KVVec::with_capacity(layout.table_entries as usize, GFP_KERNEL)?;
        let mut kept_slots = KVec::new();
        let mut damaged = 0u32;
        let attached = state::attach(
            &mut pm,
            &layout,
            &bad_pages,
            slots,
            KVVec::new(),
            &mut kept_slots,
            ExtentVec(KVVec::new()),
            |e| match e {
                AttachEvent::BadBlockInRegion { index, page } => {
                    damaged += 1;
                    pr_err!("{:?}: the region in table entry {} holds bad block page {}: marked damaged (EIO on open; delete it)\n", path, index, page);
                }
                AttachEvent::LostPage { index, page } => {
                    damaged += 1;
                    pr_err!("{:?}: the region in table entry {}: device page {} could not be rolled back (poisoned memory): marked damaged (EIO on open; delete it, or repair the media and reload)\n", path, index, page);
                }
            },
        );
        let (table, done) = attached.map_err(|e| attach_error(path, e))?;
        if done.retired_slots > 0 || done.bad_free_pages > 0 || damaged > 0 {
            pr_warn!("{:?}: media errors: {} undo slots retired, {} free pages kept out of use, {} regions damaged\n", path, done.retired_slots, done.bad_free_pages, damaged);
        }
        let recovered = done.recovery;
        if recovered.pages_restored > 0 {
            pr_info!(
                "{:?}: rolled {} regions back to their last PMSYNC ({} pages restored)\n",
                path,
                recovered.regions_rolled_back,
                recovered.pages_restored
            );
        }
        drop(pm);
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
                undo_pool <- UndoPool::new(layout.undo_slots, &kept_slots),
                gone: AtomicBool::new(false),
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

    /// `EIO` once the device is going away.
    pub(crate) fn alive(&self) -> Result {
        if self.gone.load(SeqCst) {
            Err(EIO)
        } else {
            Ok(())
        }
    }

    /// A memory failure in bytes `[offset, offset + len)` of the device, or (`removing`) the
    /// device going away: every region it touches (all of them when it goes) is marked damaged
    /// (`EIO` on open, resize and PMSYNC; its faults `SIGBUS`) and loses its user mappings, so
    /// that nobody reaches memory that is bad or about to be unmapped.
    fn failure(&self, offset: u64, len: u64, removing: bool) {
        let first = offset / PAGE_SIZE;
        let last = offset.saturating_add(len.max(1) - 1) / PAGE_SIZE;
        if removing {
            self.gone.store(true, SeqCst);
            pr_err!("the device is going away: every region fails with EIO from now on\n");
        } else {
            pr_err!(
                "memory failure in device pages {}..={}: the regions there are marked damaged\n",
                first,
                last
            );
        }
        let mut t = self.table.lock();
        for slot in t.slots.iter_mut() {
            if let Slot::Live(l) = slot {
                let hit = removing
                    || l.region
                        .extents()
                        .iter()
                        .any(|e| e.start <= last && first < e.end());
                if hit {
                    l.damaged = true;
                    if let Some(r) = l.open_region() {
                        r.fail();
                    }
                }
            }
        }
    }

    /// A [`Pm`](crate::pm::Pm) handle on the device.
    pub(crate) fn pm(&self) -> DaxPm<'_> {
        // SAFETY: `self.pmem` maps `self.geometry.size` bytes at `base()` for as long as `self`
        // lives, which outlives the returned handle.
        unsafe { DaxPm::new(&self.pmem, self.geometry.size, &self.pm_counters) }
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
        let mut t = self.table.lock();
        if !t.may_format() {
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
        let (index, region) = self
            .table
            .lock()
            .create_reserve(&Current, name, size, mode)
            .map_err(errno)?;
        let cleared = self.clear_extents(region.extents());
        let mut t = self.table.lock();
        if let Err(e) = cleared {
            t.create_abort(index);
            return Err(e);
        }
        t.create_commit(&mut self.pm(), &self.layout, index)
            .map_err(errno)?;
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
        let mut t = self.table.lock();
        let (index, region) = t
            .open(&Current, name, write, |index, region, epoch| {
                OpenRegion::new(self.into(), index, region, epoch).map_err(refusal)
            })
            .map_err(errno)?;
        let fd = region.install_fd(write)?;
        t.opened(index, region);
        Ok(fd)
    }

    /// Called when a file open on `region` (table entry `index`) is closed. After the last one
    /// the entry takes the region's epoch back, or keeps the region itself while it holds stores
    /// not yet committed.
    pub(crate) fn file_closed(&self, index: u32) {
        self.table.lock().closed(index, |r| r.uncommitted());
    }

    /// At unload: lets go of the regions kept for their uncommitted stores, which the next attach
    /// rolls back. (They hold references to the device, which would otherwise never go.)
    pub(crate) fn forget_kept(&self) {
        self.table.lock().forget_kept(|r| r.epoch());
    }

    /// `REGION_IOC_DELETE`: the caller must own the region or have `CAP_SYS_ADMIN`, and no file
    /// may be open on it (`EBUSY`). A kept region's uncommitted stores go with it.
    pub(crate) fn delete(&self, name: &[u8]) -> Result {
        let mut t = self.table.lock();
        let kept = t
            .delete(&Current, name, &mut self.pm(), &self.layout, |r| r.epoch())
            .map_err(errno)?;
        drop(t);
        // Its undo slots go back to the pool as it goes.
        drop(kept);
        self.op_counters.regions_deleted.fetch_add(1, Relaxed);
        Ok(())
    }

    /// `REGION_IOC_RESIZE`: grows with zeroed pages (cleared outside the table lock), or shrinks
    /// when no mapping covers the cut. Stores not yet committed to the pages that stay are kept
    /// for the next PMSYNC; those to pages cut off go with the pages.
    pub(crate) fn resize(&self, name: &[u8], size: u64) -> Result {
        let mut t = self.table.lock();
        let plan = t
            .resize_plan(&Current, name, size, |r, page| r.mapped_from(page))
            .map_err(errno)?;
        let Some((index, resized, old_pages)) = plan.target() else {
            return Ok(());
        };
        // Only a grow lets go of the table lock (to clear its new pages); the plan keeps the
        // region busy meanwhile, so no other plan is made from the same shape.
        if let ResizePlan::Grow { fresh, .. } = &plan {
            drop(t);
            let cleared = self.clear_extents(fresh.as_slice());
            t = self.table.lock();
            if let Err(e) = cleared {
                t.resize_abort(&plan);
                return Err(e);
            }
        }
        let committed = t
            .resize_commit(
                &mut self.pm(),
                &self.layout,
                index,
                &resized,
                old_pages,
                |r, pages| r.prepare_size(pages).map_err(refusal),
                |r, resized, old_pages, _| {
                    r.set_region(resized, old_pages);
                    r.uncommitted()
                },
            )
            .map_err(errno);
        match (&plan, committed) {
            (ResizePlan::Shrink { cut, .. }, Ok(())) => self.release(&mut t, cut.as_slice()),
            (_, Err(_)) => t.resize_abort(&plan),
            _ => {}
        }
        committed
    }

    /// Gives `extents` back to the free space, reporting any found free already (a bug).
    fn release(&self, t: &mut Table, extents: &[Extent]) {
        let twice = t.release(extents);
        if twice > 0 {
            pr_err!("{} extents given back were free already\n", twice);
        }
    }

    /// `REGION_IOC_STAT`: the region named `name`.
    pub(crate) fn stat(&self, name: &[u8]) -> Result<RegionStat> {
        let t = self.table.lock();
        let (index, live) = t.find(name).ok_or(ENOENT)?;
        if !state::may_see(&Current, &live.region) {
            return Err(EACCES);
        }
        Ok(stat_of(index, live))
    }

    /// The region in table entry `index`, for `REGION_IOC_FSTAT`.
    pub(crate) fn stat_index(&self, index: u32) -> Result<RegionStat> {
        let t = self.table.lock();
        t.live(index).map(|live| stat_of(index, live)).ok_or(ENOENT)
    }

    /// `REGION_IOC_LIST`: every region the caller may see (see [`may_see`]), in table order.
    pub(crate) fn list(&self) -> Result<KVVec<RegionStat>> {
        let t = self.table.lock();
        let mut out = KVVec::with_capacity(t.live_count() as usize, GFP_KERNEL)?;
        for (i, s) in t.slots.iter().enumerate() {
            if let Slot::Live(live) = s {
                if !state::may_see(&Current, &live.region) {
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
            if !state::may_see(&Current, &live.region) {
                return Err(EACCES);
            }
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
            logged_writes: self.op_counters.logged_writes.load(Relaxed),
            lines_logged: self.op_counters.lines_logged.load(Relaxed),
            lines_nt: self.pm_counters.lines_nt.load(Relaxed),
            ..RegionCounters::default()
        }
    }
}

/// Pages a create or grow clears between two looks at the scheduler and at fatal signals: 2 MiB.
const CLEAR_CHUNK_PAGES: u64 = 512;

fn stat_of(index: u32, live: &Live<OpenHandle>) -> RegionStat {
    let r = &live.region;
    let epoch = live.epoch(|o| o.epoch());
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
        flags: if live.damaged { REGION_STAT_DAMAGED } else { 0 },
        reserved32: 0,
        reserved: [0; 3],
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

/// `->notify_failure` of the DAX holder, through `region_glue.c`: see [`RegionDevice::failure`].
///
/// # Safety
///
/// `device` must be the pointer `region_notify_attach` was given: an attached `RegionDevice`,
/// which the glue keeps alive for the call (its rwsem holds off `region_notify_detach`, which the
/// module calls before the device goes).
#[no_mangle]
unsafe extern "C" fn region_rs_notify_failure(
    device: *const c_void,
    offset: u64,
    len: u64,
    removing: bool,
) -> c_int {
    // SAFETY: see above: the device is live for the call.
    let device = unsafe { &*device.cast::<RegionDevice>() };
    device.failure(offset, len, removing);
    0
}
