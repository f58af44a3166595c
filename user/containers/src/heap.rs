//! A heap in a region: open or format it, lock it ([`crate::Guard`]), read it without the lock,
//! and commit it.
//!
//! Soundness does not rest on the lock: every access to the heap's bytes is a copy or an atomic
//! of [`region::Mapping`] (aligned 8-byte atomic words), so optimistic readers, other processes,
//! and even processes that ignore the lock cause at worst inconsistent values, which every
//! access checks (bounds, alignment, tags), never undefined behaviour. The lock and the change
//! counter (in the volatile page, see `volatile`) are what make the values consistent.

use crate::arena::Arena;
use crate::guard::Guard;
use crate::header::*;
use crate::lock;
use crate::volatile::{Volatile, CHANGES, LOCK, SYNCED, SYNCED_EPOCH};
use region::{Access, Device, Mapping, Region};
use std::io;
use std::sync::atomic::{fence, AtomicU64, Ordering::*};
use std::sync::Mutex;

/// Where a lock holder's stores go.
#[derive(Debug)]
pub(crate) enum Sink {
    /// Straight into the heap's (anonymous, writable) memory, as they are made; optimistic
    /// readers wait while the lock is held.
    Direct,
    /// Into the holder's write set, copied into the heap's memory at each flush: a heap in
    /// memory that runs the write path of a region heap, for tests and counts.
    Copy,
    /// Into the holder's write set, written into the region by `REGION_IOC_WRITE` at each flush
    /// (the heap's mapping is read-only); optimistic readers wait only during that call.
    Region(Region),
}

/// What a heap's lock holders in this process have written, in all (see [`Heap::write_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Write calls (`REGION_IOC_WRITE`, or copies in a heap in memory) that wrote something.
    pub writes: u64,
    /// Commits: write calls that committed, and commits with nothing to write (PMSYNCs).
    pub commits: u64,
    /// Ranges handed to the write calls.
    pub ranges: u64,
    /// Bytes handed to the write calls.
    pub bytes: u64,
    /// Cache lines those ranges touch.
    pub lines: u64,
}

/// [`WriteStats`], counted.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) writes: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) ranges: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) lines: AtomicU64,
}

/// A heap in one region, shared with every other process that opens it.
pub struct Heap {
    name: String,
    /// The heap's bytes: the region's mapping (read-only), or anonymous shared memory.
    pub(crate) arena: Arena,
    /// The lock, the change counter and the commit marks: the region's volatile page, or
    /// anonymous shared memory.
    pub(crate) vol: Volatile,
    /// Where stores go.
    pub(crate) sink: Sink,
    /// Whether the heap may be changed (the region was opened for writing).
    writable: bool,
    /// "Commits" of a heap in memory, counted.
    pub(crate) commits: AtomicU64,
    /// What this process's holders wrote.
    pub(crate) counters: Counters,
    device: Option<Device>,
    /// Foreign regions mapped so far, by table index - 1; kept until the heap is dropped.
    pub(crate) foreign: Mutex<Vec<Option<(Region, Mapping)>>>,
}

/// Optimistic read attempts before [`Heap::read`] takes the lock.
const OPTIMISTIC_TRIES: u32 = 64;
/// Tries after which [`Heap::read`] looks whether a holder that keeps the heap changing is gone.
const DEAD_CHECK_AFTER: u32 = 8;
/// Spins of a reader waiting for a holder's write to end, before it yields the CPU.
const READER_SPINS: u32 = 200;

pub(crate) fn not_a_heap(name: &str, why: &str) -> io::Error {
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
        heap.vol.claim(name)?;
        {
            let g = heap.lock()?;
            g.write_header()?;
            g.commit()?;
        }
        Ok(heap)
    }

    /// Opens the heap in region `name`.
    pub fn open(dev: &Device, name: &str) -> io::Result<Self> {
        let heap = Self::map(dev, name, Access::ReadWrite)?;
        heap.check_header()?;
        heap.vol.claim(name)?;
        Ok(heap)
    }

    /// A heap of `size` bytes in anonymous shared memory (children forked later share it): the
    /// same containers, with no module and no durability; stores go straight into the memory
    /// and [`Heap::commit`] only counts.
    pub fn in_memory(size: usize) -> io::Result<Self> {
        Self::anonymous(size, Sink::Direct)
    }

    /// A heap in anonymous shared memory, as [`Heap::in_memory`], that runs the write path of a
    /// heap in a region: a lock holder's stores collect in its write set, and each flush copies
    /// them into the memory as one `REGION_IOC_WRITE` would write them. For tests, and to count
    /// what an operation writes ([`Heap::write_stats`]) without the module.
    pub fn in_memory_logged(size: usize) -> io::Result<Self> {
        Self::anonymous(size, Sink::Copy)
    }

    fn anonymous(size: usize, sink: Sink) -> io::Result<Self> {
        let heap = Self {
            name: "(memory)".to_string(),
            arena: Arena::new(Mapping::anonymous(size)?),
            vol: Volatile::anonymous()?,
            sink,
            writable: true,
            commits: AtomicU64::new(0),
            counters: Counters::default(),
            device: None,
            foreign: Mutex::new(Vec::new()),
        };
        let g = heap.lock()?;
        g.write_header()?;
        g.release()?;
        Ok(heap)
    }

    /// Opens the heap in region `name` for reading only (read permission on the region is
    /// enough): [`Heap::read`] works, [`Heap::lock`] does not, since taking the lock writes.
    pub fn open_read_only(dev: &Device, name: &str) -> io::Result<Self> {
        let heap = Self::map(dev, name, Access::ReadOnly)?;
        heap.check_header()?;
        heap.vol.claim(name)?;
        Ok(heap)
    }

    /// The heap over region `name`: its bytes mapped read-only (a holder writes through the
    /// kernel), its volatile page mapped as the region was opened.
    fn map(dev: &Device, name: &str, access: Access) -> io::Result<Self> {
        let region = dev.open_region(name, access)?;
        let map = region.map_read_only()?;
        if (map.len() as u64) < DATA_START + 4096 {
            return Err(not_a_heap(
                name,
                "too small for a heap (it needs two pages)",
            ));
        }
        let vol = Volatile::new(region.map_volatile()?);
        Ok(Self {
            name: name.to_string(),
            arena: Arena::new(map),
            vol,
            sink: Sink::Region(region),
            writable: access == Access::ReadWrite,
            commits: AtomicU64::new(0),
            counters: Counters::default(),
            device: Some(dev.try_clone()?),
            foreign: Mutex::new(Vec::new()),
        })
    }

    fn check_header(&self) -> io::Result<()> {
        let a = &self.arena;
        let magic: u64 = a.read(MAGIC)?;
        if magic != HEAP_MAGIC {
            return Err(not_a_heap(&self.name, "holds no heap (format one first)"));
        }
        let version: u32 = a.read(VERSION)?;
        if version != HEAP_VERSION {
            let why = if version < HEAP_VERSION {
                format!(
                    "holds a heap of format {version}, which kept its lock and counters in \
                     persistent memory; this library reads format {HEAP_VERSION} only: \
                     format the heap again"
                )
            } else {
                format!("heap format {version} is newer than this library's ({HEAP_VERSION})")
            };
            return Err(not_a_heap(&self.name, &why));
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

    /// Whether lock holders' stores go through a write set (a region heap, or
    /// [`Heap::in_memory_logged`]): then each flush is all of them or none of them to any other
    /// process, and to a holder's death.
    pub(crate) fn logged(&self) -> bool {
        !matches!(self.sink, Sink::Direct)
    }

    /// What this process's lock holders have written into the heap so far: write calls,
    /// commits, ranges, bytes and cache lines.
    pub fn write_stats(&self) -> WriteStats {
        let c = &self.counters;
        WriteStats {
            writes: c.writes.load(Relaxed),
            commits: c.commits.load(Relaxed),
            ranges: c.ranges.load(Relaxed),
            bytes: c.bytes.load(Relaxed),
            lines: c.lines.load(Relaxed),
        }
    }

    /// Takes the heap lock, waiting while another thread (of any process) holds it.
    pub fn lock(&self) -> io::Result<Guard<'_>> {
        if !self.writable {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "region '{}': opened read-only; the heap lock needs write access",
                    self.name
                ),
            ));
        }
        let acquired = lock::acquire(&self.vol)?;
        Guard::new(self, acquired)
    }

    /// Runs `read` on the heap without taking the lock when it can: it runs while no holder is
    /// writing into the heap, and its result counts only if none wrote meanwhile (else it runs
    /// again; after a few tries it runs under the lock). In a region heap a holder's changes
    /// reach the heap only when it flushes them (one system call), so readers run while the lock
    /// is held, and never see an operation half done. `read` may see the heap half changed on a
    /// try that does not count: it must only read (it gets `&Guard`), must not keep anything it
    /// read but its result, and must tolerate errors from torn pointers (every access is
    /// bounds-checked). Many processes read at once this way; writers are not slowed. A thread
    /// that holds the lock and calls this sees the heap without its own unflushed changes.
    ///
    /// Racing with a writer is sound: every read copies through atomic words (see
    /// [`region::Mapping`]), so a try that does not count has read unspecified values, not
    /// undefined behaviour. Works on a heap opened read-only: the volatile words are only loaded.
    pub fn read<R>(&self, mut read: impl FnMut(&Guard<'_>) -> io::Result<R>) -> io::Result<R> {
        // A count left odd by a holder that is gone (it died writing): nothing changes the heap
        // while it stays, so reads go on, validated against the count as ever.
        let mut past_dead = false;
        for tries in 0..OPTIMISTIC_TRIES {
            // Relaxed loads and an acquire fence: acquire loads that a read-only mapping allows.
            let before = self.vol.load(CHANGES)?;
            fence(Acquire);
            if before % 2 == 1 && !past_dead {
                if tries >= DEAD_CHECK_AFTER && self.writer_is_gone()? {
                    past_dead = true;
                } else {
                    wait_a_little(tries);
                    continue;
                }
            }
            let result = read(&Guard::optimistic(self));
            // Validation: no holder started writing since (a holder's writes come after it makes
            // the count odd), and none finished (it makes the count even after its writes).
            fence(Acquire);
            if self.vol.load(CHANGES)? == before {
                return result;
            }
        }
        if !self.writable {
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

    /// Whether the holder that keeps the change count odd is gone (or there is none).
    fn writer_is_gone(&self) -> io::Result<bool> {
        let held = self.vol.load(LOCK)?;
        Ok(held == 0 || lock::is_stale(self.vol.addr(LOCK), held))
    }

    /// Commits the heap: takes the lock (so no operation is half done), commits the region and
    /// returns the epoch.
    pub fn commit(&self) -> io::Result<u64> {
        self.lock()?.commit()
    }

    /// Group commit: makes durable every change up to `change` (from [`Guard::release`]), with
    /// one commit for all the changes released before it started. If a commit that another
    /// process made after `change` was released has finished, this returns at once. Returns an
    /// epoch whose snapshot holds `change`.
    pub fn commit_through(&self, change: u64) -> io::Result<u64> {
        // Let processes waiting for the lock make their changes first, so that one commit
        // covers them too; with nobody waiting, go straight on.
        if lock::has_waiters(&self.vol) {
            std::thread::yield_now();
        }
        let g = self.lock()?;
        let (synced, epoch) = (self.vol.load(SYNCED)?, self.vol.load(SYNCED_EPOCH)?);
        if synced >= change && epoch != 0 {
            return Ok(epoch);
        }
        g.commit()
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

/// A reader's wait for a holder's write to end: a spin, then the CPU yielded.
fn wait_a_little(tries: u32) {
    if tries < 2 {
        for _ in 0..READER_SPINS {
            std::hint::spin_loop();
        }
    } else {
        std::thread::yield_now();
    }
}

impl std::fmt::Debug for Heap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heap")
            .field("region", &self.name)
            .finish_non_exhaustive()
    }
}
