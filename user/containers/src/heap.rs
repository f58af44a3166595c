//! A heap in a region: open or format it, lock it, allocate, read and write through persistent
//! pointers, and commit it with PMSYNC.
//!
//! Soundness does not rest on the lock: every access to the heap's bytes is a copy or an atomic
//! of [`region::Mapping`] (aligned 8-byte atomic words), so optimistic readers, other processes,
//! and even processes that ignore the lock cause at worst inconsistent values, which every
//! access checks (bounds, alignment, tags), never undefined behaviour. The lock and the change
//! counter are what make the values consistent.

use crate::alloc;
use crate::arena::Arena;
use crate::header::*;
use crate::lock::{self, Acquired};
use crate::persistent::{PPtr, Persistent};
use region::{Access, Device, Mapping, Region};
use std::io;
use std::sync::atomic::{fence, AtomicU64, Ordering::*};
use std::sync::Mutex;

/// A heap in one region, shared with every other process that opens it.
pub struct Heap {
    name: String,
    /// The heap's bytes: the region's mapping, or anonymous shared memory.
    pub(crate) arena: Arena,
    /// The region (`None`: anonymous memory, for tests and examples without the module).
    region: Option<Region>,
    /// "Commits" of a heap in anonymous memory, counted.
    commits: AtomicU64,
    device: Option<Device>,
    /// Foreign regions mapped so far, by table index - 1; kept until the heap is dropped.
    pub(crate) foreign: Mutex<Vec<Option<(Region, Mapping)>>>,
}

/// The heap lock, held: the only way to read or change a heap. Released on drop.
pub struct Guard<'h> {
    pub(crate) heap: &'h Heap,
    acquired: Acquired,
    /// Whether this guard holds the lock (false: an optimistic reader, see [`Heap::read`]).
    holds: bool,
}

/// Optimistic read attempts before [`Heap::read`] takes the lock.
const OPTIMISTIC_TRIES: u32 = 64;
/// Tries after which [`Heap::read`] looks whether the lock's holder is gone.
const DEAD_CHECK_AFTER: u32 = 8;

fn not_a_heap(name: &str, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("region '{name}': {why}"),
    )
}

impl Heap {
    /// Creates region `name` of `size` bytes with permission bits `mode`, formats a heap in it
    /// and commits it.
    pub fn create(dev: &Device, name: &str, size: u64, mode: u32) -> io::Result<Self> {
        dev.create(name, size, mode)?;
        Self::format(dev, name)
    }

    /// Formats a new, empty heap over the whole of the existing region `name` (erasing what it
    /// held) and commits it.
    pub fn format(dev: &Device, name: &str) -> io::Result<Self> {
        let heap = Self::map(dev, name, Access::ReadWrite)?;
        heap.write_header()?;
        heap.commit()?;
        Ok(heap)
    }

    /// Opens the heap in region `name`.
    pub fn open(dev: &Device, name: &str) -> io::Result<Self> {
        let heap = Self::map(dev, name, Access::ReadWrite)?;
        heap.check_header()?;
        Ok(heap)
    }

    /// A heap of `size` bytes in anonymous shared memory (children forked later share it): the
    /// same code paths, with no module and no durability; [`Heap::commit`] only counts.
    pub fn in_memory(size: usize) -> io::Result<Self> {
        let heap = Self {
            name: "(memory)".to_string(),
            arena: Arena::new(Mapping::anonymous(size)?),
            region: None,
            commits: AtomicU64::new(0),
            device: None,
            foreign: Mutex::new(Vec::new()),
        };
        heap.write_header()?;
        Ok(heap)
    }

    /// Opens the heap in region `name` for reading only (read permission on the region is
    /// enough): [`Heap::read`] works, [`Heap::lock`] does not, since taking the lock writes.
    pub fn open_read_only(dev: &Device, name: &str) -> io::Result<Self> {
        let heap = Self::map(dev, name, Access::ReadOnly)?;
        heap.check_header()?;
        Ok(heap)
    }

    fn map(dev: &Device, name: &str, access: Access) -> io::Result<Self> {
        let region = dev.open_region(name, access)?;
        let map = region.map()?;
        if (map.len() as u64) < DATA_START + 4096 {
            return Err(not_a_heap(
                name,
                "too small for a heap (it needs two pages)",
            ));
        }
        Ok(Self {
            name: name.to_string(),
            arena: Arena::new(map),
            region: Some(region),
            commits: AtomicU64::new(0),
            device: Some(dev.try_clone()?),
            foreign: Mutex::new(Vec::new()),
        })
    }

    /// Writes an empty heap's header; the magic goes last.
    fn write_header(&self) -> io::Result<()> {
        let a = &self.arena;
        a.write(MAGIC, 0u64)?;
        for class in 0..CLASSES {
            a.write(free_list(class), 0u64)?;
        }
        for index in 1..=FOREIGN_SLOTS {
            a.fill(foreign_name(index), FOREIGN_NAME, 0)?;
        }
        a.write(VERSION, HEAP_VERSION)?;
        a.write(SIZE, a.len())?;
        a.write(LOCK, 0u64)?;
        a.write(TOP, DATA_START)?;
        a.write(ROOT, 0u64)?;
        a.write(TAKEOVERS, 0u64)?;
        a.write(MAGIC, HEAP_MAGIC)
    }

    fn check_header(&self) -> io::Result<()> {
        let a = &self.arena;
        let magic: u64 = a.read(MAGIC)?;
        if magic != HEAP_MAGIC {
            return Err(not_a_heap(&self.name, "holds no heap (format one first)"));
        }
        let version: u32 = a.read(VERSION)?;
        if version != HEAP_VERSION {
            return Err(not_a_heap(
                &self.name,
                &format!("heap version {version} is not {HEAP_VERSION}"),
            ));
        }
        let (size, top): (u64, u64) = (a.read(SIZE)?, a.read(TOP)?);
        if size > a.len() || !(DATA_START..=size).contains(&top) {
            return Err(not_a_heap(
                &self.name,
                &format!("heap header is corrupt (size {size}, top {top})"),
            ));
        }
        Ok(())
    }

    /// The region's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes the heap lock, waiting while another thread (of any process) holds it.
    pub fn lock(&self) -> io::Result<Guard<'_>> {
        if !self.arena.is_writable() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "region '{}': opened read-only; the heap lock needs write access",
                    self.name
                ),
            ));
        }
        let acquired = lock::acquire(self.arena.atomic(LOCK)?)?;
        // The seqlock writer's fence: an optimistic reader that sees any store this holder makes
        // from here on also sees the lock taken (it loads the lock word after an acquire fence).
        fence(Release);
        if acquired == Acquired::TakenOver {
            let n: u64 = self.arena.read(TAKEOVERS)?;
            self.arena.write(TAKEOVERS, n + 1)?;
        }
        Ok(Guard {
            heap: self,
            acquired,
            holds: true,
        })
    }

    /// Runs `read` on the heap without taking the lock when it can: it runs while no one holds
    /// the lock, and its result counts only if no holder changed anything meanwhile (else it
    /// runs again; after a few tries it runs under the lock). `read` may see the heap half
    /// changed on a try that does not count: it must only read (it gets `&Guard`), must not
    /// keep anything it read but its result, and must tolerate errors from torn pointers (every
    /// access is bounds-checked). Many processes read at once this way; writers are not slowed.
    ///
    /// Racing with a writer is sound: every read copies through atomic words (see
    /// [`region::Mapping`]), so a try that does not count has read unspecified values, not
    /// undefined behaviour. Works on a heap opened read-only: the lock and change words are only loaded.
    pub fn read<R>(&self, mut read: impl FnMut(&Guard<'_>) -> io::Result<R>) -> io::Result<R> {
        let lock_addr = self.arena.addr(LOCK)?;
        // A lock word whose holder is gone (it died, or the power went; see `lock::is_stale`):
        // nothing changes the heap while it stays, so reads go on (each step of a change
        // published with one store).
        let mut dead = 0;
        for tries in 0..OPTIMISTIC_TRIES {
            // Relaxed loads and an acquire fence: acquire loads that a read-only mapping allows.
            let before = self.arena.load(CHANGES)?;
            let held = self.arena.load(LOCK)?;
            fence(Acquire);
            if held != 0 && held != dead {
                if tries >= DEAD_CHECK_AFTER && lock::is_stale(lock_addr, held) {
                    dead = held;
                } else {
                    std::thread::yield_now();
                }
                continue;
            }
            let guard = Guard {
                heap: self,
                acquired: Acquired::Free,
                holds: false,
            };
            let result = read(&guard);
            // Validation: no holder took the lock since (a holder's stores come after its fence
            // in `lock`, so seeing one means seeing the lock taken), and none released it (the
            // release bumps `changes` before it frees the lock word, so seeing the word freed
            // means seeing the bump).
            fence(Acquire);
            let held_now = self.arena.load(LOCK)?;
            fence(Acquire);
            if held_now == held && self.arena.load(CHANGES)? == before {
                return result;
            }
        }
        if !self.arena.is_writable() {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "region '{}': the heap stays locked by a live holder",
                    self.name
                ),
            ));
        }
        read(&self.lock()?)
    }

    /// Commits the heap: takes the lock (so no operation is half done), PMSYNCs the region and
    /// returns the epoch.
    pub fn commit(&self) -> io::Result<u64> {
        self.lock()?.commit()
    }

    /// Group commit: makes durable every change up to `change` (from [`Guard::release`]), with
    /// one PMSYNC for all the changes released before it started. If a PMSYNC that another
    /// process started after `change` was released has finished, this returns at once. Returns
    /// an epoch whose snapshot holds `change`.
    pub fn commit_through(&self, change: u64) -> io::Result<u64> {
        // Let processes waiting for the lock make their changes first, so that one PMSYNC
        // covers them too.
        std::thread::yield_now();
        let g = self.lock()?;
        let synced: u64 = self.arena.read(SYNCED)?;
        // `synced` counts releases; it is ahead of `change` only within one boot's counting.
        if synced >= change {
            return self.arena.read(SYNCED_EPOCH);
        }
        let covered = self.arena.atomic(CHANGES)?.load(Acquire);
        let epoch = g.commit()?;
        self.arena.write(SYNCED_EPOCH, epoch)?;
        self.arena.write(SYNCED, covered)?;
        Ok(epoch)
    }

    pub(crate) fn device(&self) -> io::Result<&Device> {
        self.device.as_ref().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "an in-memory heap has no foreign regions",
            )
        })
    }
}

impl<'h> Guard<'h> {
    /// Releases the lock; returns the number of this release, to hand to
    /// [`Heap::commit_through`] for a group commit of what this guard changed.
    pub fn release(mut self) -> u64 {
        let change = self.release_lock();
        self.holds = false;
        change
    }

    /// Bumps the change count (optimistic readers retry) and frees the lock word; returns the
    /// count after the bump.
    fn release_lock(&mut self) -> u64 {
        let change = match self.heap.arena.atomic(CHANGES) {
            Ok(changes) => changes.fetch_add(1, Release) + 1,
            Err(_) => u64::MAX,
        };
        if let Ok(word) = self.heap.arena.atomic(LOCK) {
            lock::release(word);
        }
        change
    }

    /// Whether the lock was taken over from a holder that died holding it.
    pub fn took_over(&self) -> bool {
        self.acquired == Acquired::TakenOver
    }

    /// The heap.
    pub fn heap(&self) -> &'h Heap {
        self.heap
    }

    /// PMSYNC of the region, the lock held: every store of every process is durable, atomically.
    pub fn commit(&self) -> io::Result<u64> {
        if !self.holds {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "a commit needs the heap lock (Heap::lock), not an optimistic read",
            ));
        }
        match &self.heap.region {
            Some(region) => region.pmsync(),
            None => Ok(self.heap.commits.fetch_add(1, Relaxed) + 1),
        }
    }

    /// Allocates `bytes` of zeroed payload.
    pub fn alloc_bytes(&mut self, bytes: u64) -> io::Result<PPtr<u8>> {
        alloc::alloc(&self.heap.arena, bytes)
            .map(PPtr::from_offset)
            .map_err(|e| io::Error::new(e.kind(), format!("region '{}': {e}", self.heap.name)))
    }

    /// Allocates room for a `T` and stores `value` there.
    pub fn alloc<T: Persistent>(&mut self, value: T) -> io::Result<PPtr<T>> {
        let p = self
            .alloc_bytes(std::mem::size_of::<T>() as u64)?
            .cast::<T>();
        self.write(p, value)?;
        Ok(p)
    }

    /// Frees a block from [`Guard::alloc`] or [`Guard::alloc_bytes`].
    pub fn free<T>(&mut self, p: PPtr<T>) -> io::Result<()> {
        alloc::free(&self.heap.arena, p.offset())
    }

    /// The payload bytes of the block at `p` (at least what was asked for).
    pub fn block_len<T>(&self, p: PPtr<T>) -> io::Result<u64> {
        alloc::payload_len(&self.heap.arena, p.offset())
    }

    /// The `T` at `p`, copied out.
    pub fn read<T: Persistent>(&self, p: PPtr<T>) -> io::Result<T> {
        self.heap.arena.read(p.offset())
    }

    /// Stores `value` at `p`.
    pub fn write<T: Persistent>(&mut self, p: PPtr<T>, value: T) -> io::Result<()> {
        self.heap.arena.write(p.offset(), value)
    }

    /// Copies the `buf.len()` bytes at `p` into `buf`.
    ///
    /// A copy, not a slice into the region: optimistic readers ([`Heap::read`]) and other
    /// processes may access the same bytes while this guard lives, so no reference to them can
    /// be sound. Under the lock, the copy is consistent with every process that changes the heap
    /// only under the lock.
    pub fn read_bytes(&self, p: PPtr<u8>, buf: &mut [u8]) -> io::Result<()> {
        self.heap.arena.read_bytes(p.offset(), buf)
    }

    /// Copies `data` to `p`.
    pub fn write_bytes(&mut self, p: PPtr<u8>, data: &[u8]) -> io::Result<()> {
        self.heap.arena.write_bytes(p.offset(), data)
    }

    /// The root object (null until set).
    pub fn root<T>(&self) -> io::Result<PPtr<T>> {
        self.heap.arena.read(ROOT).map(PPtr::from_offset)
    }

    /// Sets the root object.
    pub fn set_root<T>(&mut self, p: PPtr<T>) -> io::Result<()> {
        self.heap.arena.write(ROOT, p.offset())
    }

    /// How often the lock has been taken over from a dead holder, over the heap's life.
    pub fn takeovers(&self) -> io::Result<u64> {
        self.heap.arena.read(TAKEOVERS)
    }
}

impl std::fmt::Debug for Heap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heap")
            .field("region", &self.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Guard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("heap", &self.heap.name)
            .field("acquired", &self.acquired)
            .finish()
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if !self.holds {
            return;
        }
        // Tell optimistic readers that something may have changed, then release.
        self.release_lock();
    }
}
