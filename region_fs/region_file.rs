// SPDX-License-Identifier: GPL-2.0

//! Open regions: the inode every file and mapping of a region shares, the page fault handler
//! that maps the region's persistent memory pages, and the ioctls on a region file descriptor.
//!
//! An [`OpenRegion`] exists while any file is open on its region; each file owns one reference
//! (`Arc`), handed to `regionfs.c` as the file's private data and given back by
//! [`region_rs_release`]. Every mapping holds its file, so the `OpenRegion` outlives them all.
//!
//! PMSYNC lives in `pmsync/`: the fault handlers here map a page writable only after
//! [`Epoch::first_write`] (`pmsync/epoch.rs`) has saved it; the region's [`Epoch`] (its number,
//! dirty pages and writable mappings) is PMSYNC's, kept in its [`View`].
//!
//! Lock order: the mmap lock (faults), then the device's table lock, then `OpenRegion::view`;
//! unmapping (i_mmap_rwsem, page table locks) after `view`. The undo slot pool takes no lock.

use crate::{
    device::RegionDevice,
    dirty::DirtySet,
    epoch::Epoch,
    epoch_state::WriteRange,
    regionfs_h::{
        region_inode_new, region_inode_put, region_inode_set_size, region_install_fd,
        region_unmap_pages, region_vmf_insert,
    },
    table::Region,
    uapi::{
        RegionStat, RegionWriteArgs, RegionWriteRange, REGION_IOC_FSTAT, REGION_IOC_PMSYNC,
        REGION_IOC_WRITE, REGION_WRITE_COMMIT, REGION_WRITE_MAX_BYTES, REGION_WRITE_MAX_RANGES,
    },
};
use core::sync::atomic::Ordering::Relaxed;
use kernel::{
    bindings,
    ffi::{c_long, c_uint, c_ulong, c_void},
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
    uaccess::{UserPtr, UserSlice},
};

pub(crate) use crate::regionfs_h::VmFault;
pub(crate) const VM_FAULT_SIGBUS: VmFault = bindings::vm_fault_reason_VM_FAULT_SIGBUS as VmFault;
pub(crate) const VM_FAULT_OOM: VmFault = bindings::vm_fault_reason_VM_FAULT_OOM as VmFault;

/// What faults and PMSYNC need of the region (its extents and size, changed only by resize),
/// which pages its mappings cover, and its epoch's dirty pages.
pub(crate) struct View {
    pub(crate) region: Region,
    /// Each mapping (by its `vm_area_struct` address) and the pages it covered when it appeared.
    /// A mapping split later keeps its old, larger range here: an overestimate, never an under-.
    vmas: KVec<(usize, u64, u64)>,
    /// Mappings whose record could not be stored (no memory): taken to cover every page.
    pub(crate) untracked: usize,
    /// PMSYNC's state: the epoch, its dirty pages, and the mappings that may hold writable
    /// entries (`pmsync/epoch.rs`).
    pub(crate) epoch: Epoch,
    /// A media error or the device's removal damaged the region (see `OpenRegion::fail`).
    failed: bool,
}

/// A region with at least one open file.
///
/// # Invariants
///
/// `inode` is a regionfs inode this object holds one reference on, from `new` until drop.
#[pin_data(PinnedDrop)]
pub(crate) struct OpenRegion {
    pub(crate) device: Arc<RegionDevice>,
    pub(crate) index: u32,
    pub(crate) inode: *mut bindings::inode,
    #[pin]
    pub(crate) view: Mutex<View>,
}

// SAFETY: `inode` is only passed to regionfs.c functions, which may be called from any thread.
unsafe impl Send for OpenRegion {}
// SAFETY: as for `Send`; all other state is behind `view`'s lock or immutable.
unsafe impl Sync for OpenRegion {}

impl OpenRegion {
    /// Opens table entry `index`, holding `region` at `epoch`: a new inode of its size.
    pub(crate) fn new(
        device: Arc<RegionDevice>,
        index: u32,
        region: &Region,
        epoch: u64,
    ) -> Result<Arc<Self>> {
        let dirty = DirtySet::new(region.size_pages)?;
        let size = region.size_pages * crate::geometry::PAGE_SIZE;
        let mut inode: *mut bindings::inode = core::ptr::null_mut();
        // SAFETY: regionfs is mounted while the device is attached; `inode` is valid for a write.
        let ret = unsafe { region_inode_new(size, &mut inode) };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        let region = *region;
        // INVARIANT: `inode` is a new reference, released in drop.
        let made = Arc::pin_init(
            try_pin_init!(Self {
                device,
                index,
                inode,
                view <- new_mutex!(View {
                    region,
                    vmas: KVec::new(),
                    untracked: 0,
                    epoch: Epoch::new(epoch, dirty),
                    failed: false,
                }),
            }),
            GFP_KERNEL,
        );
        if made.is_err() {
            // SAFETY: the initializer failed before `Self` took the reference; drop it here.
            unsafe { region_inode_put(inode) };
        }
        made
    }

    /// Installs a new file descriptor on this region, owning one reference to it.
    pub(crate) fn install_fd(self: &Arc<Self>, write: bool) -> Result<i32> {
        let raw = Arc::into_raw(self.clone());
        // SAFETY: `self.inode` is live (type invariant); `raw` is an owned reference that the file
        // keeps as private data and gives back through `region_rs_release`.
        let fd = unsafe { region_install_fd(self.inode, raw.cast_mut().cast(), write) };
        if fd < 0 {
            // SAFETY: on failure the glue did not keep `raw`; take the reference back.
            drop(unsafe { Arc::from_raw(raw) });
            return Err(Error::from_errno(fd));
        }
        Ok(fd)
    }

    /// The epoch stores go to now.
    pub(crate) fn epoch(&self) -> u64 {
        self.view.lock().epoch.number()
    }

    /// Whether stores since the last commit hold undo slots, and the epoch they belong to.
    pub(crate) fn uncommitted(&self) -> (bool, u64) {
        let view = self.view.lock();
        view.epoch.uncommitted()
    }

    /// `REGION_IOC_PMSYNC`: commits the region (see `pmsync/epoch.rs`); `EIO` once the region
    /// failed.
    pub(crate) fn pmsync(&self) -> Result<u64> {
        let mut view = self.view.lock();
        if view.failed {
            return Err(EIO);
        }
        let v = &mut *view;
        v.epoch.commit(self, &v.region, v.untracked > 0)
    }

    /// `REGION_IOC_WRITE`: copies the ranges and their bytes in from user memory (all of them
    /// before anything is written, so a bad address writes nothing), then logs and writes them
    /// under the region's lock and, with `REGION_WRITE_COMMIT`, commits. Returns the epoch.
    fn write(&self, args: &RegionWriteArgs) -> Result<u64> {
        if args.flags & !REGION_WRITE_COMMIT != 0 || args.reserved != [0; 2] || args.count == 0 {
            return Err(EINVAL);
        }
        if args.count > REGION_WRITE_MAX_RANGES {
            return Err(E2BIG);
        }
        let count = args.count as usize;
        let mut ranges: KVVec<RegionWriteRange> = KVVec::with_capacity(count, GFP_KERNEL)?;
        let mut reader = UserSlice::new(
            UserPtr::from_addr(args.ranges as usize),
            count * core::mem::size_of::<RegionWriteRange>(),
        )
        .reader();
        let mut total: u64 = 0;
        for _ in 0..count {
            let r: RegionWriteRange = reader.read()?;
            total = total.checked_add(r.len).ok_or(E2BIG)?;
            ranges.push(r, GFP_KERNEL)?;
        }
        if total > REGION_WRITE_MAX_BYTES {
            return Err(E2BIG);
        }
        let mut bytes: KVVec<u8> = KVVec::from_elem(0u8, total as usize, GFP_KERNEL)?;
        let mut at = 0usize;
        for r in ranges.iter() {
            let len = r.len as usize;
            UserSlice::new(UserPtr::from_addr(r.addr as usize), len)
                .reader()
                .read_slice(&mut bytes[at..at + len])?;
            at += len;
        }
        let mut writes: KVVec<WriteRange<'_>> = KVVec::with_capacity(count, GFP_KERNEL)?;
        let mut rest: &[u8] = &bytes;
        for r in ranges.iter() {
            let (data, tail) = rest.split_at(r.len as usize);
            writes.push(
                WriteRange {
                    offset: r.offset,
                    data,
                },
                GFP_KERNEL,
            )?;
            rest = tail;
        }
        let mut view = self.view.lock();
        if view.failed {
            return Err(EIO);
        }
        let v = &mut *view;
        let untracked = v.untracked > 0;
        v.epoch.log_write(self, &v.region, untracked, &writes)?;
        if args.flags & REGION_WRITE_COMMIT != 0 {
            v.epoch.commit(self, &v.region, untracked)
        } else {
            Ok(v.epoch.number())
        }
    }

    /// A media error or the device's removal damaged the region: from now on its faults
    /// `SIGBUS` and its PMSYNC says `EIO`, and every user mapping of it goes (under the region's
    /// lock, so that no fault maps a page again after it).
    pub(crate) fn fail(&self) {
        let mut view = self.view.lock();
        view.failed = true;
        let pages = view.region.size_pages;
        // SAFETY: `self.inode` is live (type invariant).
        unsafe { region_unmap_pages(self.inode, 0, pages) };
    }

    /// Makes room in the dirty bitmap for `pages` pages, before a resize commits.
    pub(crate) fn prepare_size(&self, pages: u64) -> Result {
        self.view.lock().epoch.make_room(pages)
    }

    /// Whether any mapping in any process covers a page at or beyond `first`.
    pub(crate) fn mapped_from(&self, first: u64) -> bool {
        let view = self.view.lock();
        view.untracked > 0
            || view
                .vmas
                .iter()
                .any(|&(_, pgoff, pages)| pgoff + pages > first)
    }

    fn vma_opened(&self, vma: usize, pgoff: u64, pages: u64, copied: bool) {
        let mut view = self.view.lock();
        if view.vmas.push((vma, pgoff, pages), GFP_KERNEL).is_err() {
            view.untracked += 1;
        }
        if copied {
            view.epoch.note_writer(vma);
        }
    }

    fn vma_closed(&self, vma: usize) {
        let mut view = self.view.lock();
        view.epoch.forget_writer(vma);
        match view.vmas.iter().position(|&(v, _, _)| v == vma) {
            Some(i) => {
                let _ = view.vmas.remove(i);
            }
            None => view.untracked = view.untracked.saturating_sub(1),
        }
    }

    /// Takes the region's new extents after a resize from `old_pages` pages has committed: faults
    /// see the new size from now on, the pages a shrink cut off lose their undo slots (see
    /// [`Epoch::forget_from`]), and any mapping of a page beyond the new size (one that
    /// raced with the resize) is removed before its pages can be reused.
    pub(crate) fn set_region(&self, region: &Region, old_pages: u64) {
        let new_pages = region.size_pages;
        {
            let mut view = self.view.lock();
            view.region = *region;
            if new_pages < old_pages {
                let uid = region.uid;
                view.epoch.forget_from(self, uid, new_pages);
            }
        }
        // SAFETY: `self.inode` is live (type invariant).
        unsafe { region_inode_set_size(self.inode, new_pages * crate::geometry::PAGE_SIZE) };
        if new_pages < old_pages {
            // SAFETY: `self.inode` is live (type invariant).
            unsafe { region_unmap_pages(self.inode, new_pages, old_pages - new_pages) };
        }
    }

    fn fault(&self, vma: usize, vmf: *mut bindings::vm_fault, pgoff: u64, write: bool) -> VmFault {
        self.device.op_counters.faults.fetch_add(1, Relaxed);
        let mut view = self.view.lock();
        if view.failed {
            return VM_FAULT_SIGBUS;
        }
        let Some(page) = view.region.device_page(pgoff) else {
            return VM_FAULT_SIGBUS;
        };
        if write {
            let v = &mut *view;
            if let Err(code) = v.epoch.first_write(self, &v.region, v.untracked > 0, pgoff) {
                return code;
            }
        }
        // Writable only for a write (the page is saved in this epoch by now). A read maps the page
        // read-only even when it is dirty, so that a mapping that only reads never holds a
        // writable entry, and PMSYNC leaves it alone; its first write faults again.
        if write {
            view.epoch.note_writer(vma);
        }
        // SAFETY: `vmf` is the fault being handled (from `region_rs_fault`), and the pfn is a page
        // of this region, inside the device.
        unsafe { region_vmf_insert(vmf, self.device.pfn(page), write) }
    }

    fn pfn_mkwrite(&self, vma: usize, pgoff: u64) -> VmFault {
        self.device.op_counters.faults.fetch_add(1, Relaxed);
        let mut view = self.view.lock();
        if view.failed {
            return VM_FAULT_SIGBUS;
        }
        // 0: the fault path makes the page table entry writable, unless a PMSYNC has removed it
        // meanwhile, in which case the write faults again and lands in the next epoch.
        let v = &mut *view;
        match v.epoch.first_write(self, &v.region, v.untracked > 0, pgoff) {
            Ok(()) => {
                view.epoch.note_writer(vma);
                0
            }
            Err(code) => code,
        }
    }

    /// An ioctl on a file of this region, opened for writing if `writable`.
    fn ioctl(&self, cmd: u32, arg: usize, writable: bool) -> Result<isize> {
        match cmd {
            REGION_IOC_FSTAT => {
                let stat: RegionStat = self.device.stat_index(self.index)?;
                UserSlice::new(UserPtr::from_addr(arg), core::mem::size_of::<RegionStat>())
                    .writer()
                    .write(&stat)?;
                Ok(0)
            }
            REGION_IOC_PMSYNC => {
                // Committing is a write: a read-only descriptor must not make a writer's
                // half-done stores durable.
                crate::state::may_commit(writable).map_err(crate::device::errno)?;
                let epoch = self.pmsync()?;
                UserSlice::new(UserPtr::from_addr(arg), core::mem::size_of::<u64>())
                    .writer()
                    .write(&epoch)?;
                Ok(0)
            }
            REGION_IOC_WRITE => {
                crate::state::may_commit(writable).map_err(crate::device::errno)?;
                let size = core::mem::size_of::<RegionWriteArgs>();
                let (mut reader, mut writer) =
                    UserSlice::new(UserPtr::from_addr(arg), size).reader_writer();
                let mut args: RegionWriteArgs = reader.read()?;
                args.epoch = self.write(&args)?;
                writer.write(&args)?;
                Ok(0)
            }
            _ => Err(ENOTTY),
        }
    }
}

#[pinned_drop]
impl PinnedDrop for OpenRegion {
    fn drop(self: Pin<&mut Self>) {
        // Dropped with undo slots only when the region was deleted (they are stale) or the module
        // is unloading (the next attach rolls them back); either way the pool may have them.
        let mut view = self.view.lock();
        let uid = view.region.uid;
        let [page_slots, line_slots] = view.epoch.take_slots();
        drop(view);
        self.device.undo_pool.give_back(uid, &page_slots);
        self.device.undo_pool.give_back(uid, &line_slots);
        // SAFETY: the reference taken in `new` (type invariant), released once, here.
        unsafe { region_inode_put(self.inode) };
    }
}

/// Borrows the `OpenRegion` a regionfs file or mapping carries as private data.
///
/// # Safety
///
/// `private` must be the private data of a live regionfs file (or of a mapping of one), and the
/// file must stay live for `'a`.
pub(crate) unsafe fn borrow<'a>(private: *mut c_void) -> &'a OpenRegion {
    // SAFETY: the private data is a reference owned by the file, which the caller guarantees is
    // live for `'a`, so the `OpenRegion` is too.
    unsafe { &*private.cast::<OpenRegion>() }
}

/// `->fault` of a region mapping.
///
/// # Safety
///
/// `private` must be the private data of the mapping `vma` (its file's, which the mapping holds),
/// and `vmf` the fault being handled on it, live for the call.
#[no_mangle]
unsafe extern "C" fn region_rs_fault(
    private: *mut c_void,
    vma: *mut bindings::vm_area_struct,
    vmf: *mut bindings::vm_fault,
    pgoff: u64,
    write: bool,
) -> VmFault {
    // SAFETY: the caller passes the private data of a mapping, which holds its file.
    unsafe { borrow(private) }.fault(vma as usize, vmf, pgoff, write)
}

/// `->pfn_mkwrite` of a region mapping.
///
/// # Safety
///
/// As for [`region_rs_fault`].
#[no_mangle]
unsafe extern "C" fn region_rs_pfn_mkwrite(
    private: *mut c_void,
    vma: *mut bindings::vm_area_struct,
    pgoff: u64,
) -> VmFault {
    // SAFETY: as for `region_rs_fault`.
    unsafe { borrow(private) }.pfn_mkwrite(vma as usize, pgoff)
}

/// `->unlocked_ioctl` of a region file, opened for writing if `writable`.
///
/// # Safety
///
/// `private` must be the private data of the file the ioctl is made on; `arg` is a user address,
/// only ever reached through `UserSlice`.
#[no_mangle]
unsafe extern "C" fn region_rs_ioctl(
    private: *mut c_void,
    cmd: c_uint,
    arg: c_ulong,
    writable: bool,
) -> c_long {
    // SAFETY: the caller passes the private data of a file that is live during the ioctl.
    match unsafe { borrow(private) }.ioctl(cmd, arg, writable) {
        Ok(v) => v as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}

/// `->open` of a region mapping (`copied`: a copy of another, which may hold its writable page
/// table entries), and the first mapping from `->mmap`: records its pages.
///
/// # Safety
///
/// As for [`region_rs_fault`]; `vma` is only compared, never followed.
#[no_mangle]
unsafe extern "C" fn region_rs_vma_opened(
    private: *mut c_void,
    vma: *mut bindings::vm_area_struct,
    pgoff: u64,
    pages: u64,
    copied: bool,
) {
    // SAFETY: as for `region_rs_fault`.
    unsafe { borrow(private) }.vma_opened(vma as usize, pgoff, pages, copied)
}

/// `->close` of a region mapping.
///
/// # Safety
///
/// As for [`region_rs_vma_opened`]; the mapping still holds its file while it closes.
#[no_mangle]
unsafe extern "C" fn region_rs_vma_closed(
    private: *mut c_void,
    vma: *mut bindings::vm_area_struct,
) {
    // SAFETY: as for `region_rs_fault`; the mapping still holds its file while it closes.
    unsafe { borrow(private) }.vma_closed(vma as usize)
}

/// `->release` of a region file: gives back the file's reference.
///
/// # Safety
///
/// `private` must be the private data `region_install_fd` gave the file (a reference made by
/// `Arc::into_raw`), and the file must be being released: this is its last use.
#[no_mangle]
unsafe extern "C" fn region_rs_release(private: *mut c_void) {
    // SAFETY: the private data is the reference `install_fd` handed to this file; the file is
    // being released, so this is its last use.
    let region = unsafe { Arc::from_raw(private.cast::<OpenRegion>().cast_const()) };
    region.device.file_closed(region.index);
    drop(region);
}
