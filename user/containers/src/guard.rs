//! The heap lock, held: [`Guard`], through which every read and change of a heap goes.
//!
//! In a region heap a holder's stores never touch the mapping (which is read-only): they collect
//! in the guard's write set (`writeset`), which the holder's own reads see, and reach the region
//! only when the guard flushes them, all at once, with one `REGION_IOC_WRITE`: at
//! [`Guard::commit`] (with the commit in the same call), at [`Guard::release`] or drop (without),
//! or when the set would outgrow what one call takes. So an uncontended durable change costs one
//! system call, no page fault and no TLB shootdown; a holder that dies leaves each flush whole or
//! absent; and optimistic readers wait only while a flush is being written (the change count is
//! odd then).

use crate::alloc;
use crate::header::*;
use crate::heap::{Heap, Sink};
use crate::lock::{self, Acquired};
use crate::persistent::{self, PPtr, Persistent};
use crate::volatile::{CHANGES, SYNCED, SYNCED_EPOCH, TAKEOVERS};
use crate::writeset::WriteSet;
use std::cell::{Cell, RefCell};
use std::io;
use std::mem::{align_of, size_of};
use std::sync::atomic::{fence, AtomicU64, Ordering::*};

/// Bytes of one store that go into a write set at a time: a bigger store is split, so that the
/// set can be flushed between its pieces when it is full.
const CHUNK: usize = region::WRITE_MAX_BYTES / 4;

/// The heap lock, held: the only way to change a heap, and to read it consistently. Released
/// (after its stores are flushed) on drop.
pub struct Guard<'h> {
    pub(crate) heap: &'h Heap,
    acquired: Acquired,
    /// Whether this guard holds the lock (false: an optimistic reader, see [`Heap::read`]).
    holds: bool,
    /// The stores not yet flushed (a logged heap's holder only).
    set: RefCell<WriteSet>,
    /// Whether the heap's `partial` word is set, by this guard or a dead holder: the guard's
    /// last flush clears it.
    partial: Cell<bool>,
}

impl<'h> Guard<'h> {
    /// The guard of a lock just acquired: puts the change count in the holder's parity (odd
    /// while a holder of a heap in memory writes straight into it, even otherwise), and counts
    /// a takeover.
    pub(crate) fn new(heap: &'h Heap, acquired: Acquired) -> io::Result<Self> {
        let mut g = Self {
            heap,
            acquired,
            holds: true,
            set: RefCell::new(WriteSet::new()),
            partial: Cell::new(false),
        };
        // A holder that died between two pieces of an operation, after every process that saw
        // it die closed the region: the heap says so itself.
        if heap.logged() && heap.arena.read::<u64>(PARTIAL)? != 0 {
            g.partial.set(true);
            g.acquired = Acquired::TakenOver;
        }
        let changes = g.changes()?;
        let odd = changes.load(Relaxed) % 2 == 1;
        let wrong = odd == heap.logged();
        // A takeover always moves the count: readers that went on past the dead holder's count
        // must not validate against it while this holder changes the heap.
        let bump = match (g.acquired, wrong) {
            (Acquired::TakenOver, false) => 2,
            (_, true) => 1,
            (Acquired::Free, false) => 0,
        };
        if bump > 0 {
            changes.fetch_add(bump, SeqCst);
        }
        // The seqlock writer's fence: a reader that sees any store this holder makes from here
        // on also sees the count it set.
        fence(Release);
        if g.acquired == Acquired::TakenOver {
            heap.vol.word(TAKEOVERS)?.fetch_add(1, Relaxed);
        }
        Ok(g)
    }

    /// A guard for an optimistic reader: it holds nothing and sees the heap's bytes only.
    pub(crate) fn optimistic(heap: &'h Heap) -> Self {
        Self {
            heap,
            acquired: Acquired::Free,
            holds: false,
            set: RefCell::new(WriteSet::new()),
            partial: Cell::new(false),
        }
    }

    fn changes(&self) -> io::Result<&AtomicU64> {
        self.heap.vol.word(CHANGES)
    }

    /// Flushes this guard's stores and releases the lock; returns the number of this release,
    /// to hand to [`Heap::commit_through`] for a group commit of what this guard changed. The
    /// lock is released even when the flush fails (its stores are then lost: the error says so).
    pub fn release(mut self) -> io::Result<u64> {
        self.release_lock()
    }

    /// Flushes, makes the change count even (readers retry if it moved) and frees the lock
    /// word; returns the count.
    fn release_lock(&mut self) -> io::Result<u64> {
        self.holds = false;
        let flushed = self.flush_last(false);
        let change = self.changes().map(|changes| {
            if self.heap.logged() {
                changes.load(Acquire)
            } else {
                changes.fetch_add(1, Release) + 1
            }
        });
        lock::release(&self.heap.vol);
        flushed.and(change)
    }

    /// Whether the lock was taken over from a holder that died holding it.
    pub fn took_over(&self) -> bool {
        self.acquired == Acquired::TakenOver
    }

    /// The heap.
    pub fn heap(&self) -> &'h Heap {
        self.heap
    }

    /// An error unless this guard holds the lock.
    fn check_holds(&self, what: &str) -> io::Result<()> {
        if self.holds {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{what} needs the heap lock (Heap::lock), not an optimistic read"),
        ))
    }

    /// Commits the region, the lock held: this guard's stores, and every store of every process
    /// before them, are durable, atomically. In a region heap that is one `REGION_IOC_WRITE`
    /// that writes the stores and commits (a PMSYNC when there is nothing to write).
    pub fn commit(&self) -> io::Result<u64> {
        self.check_holds("a commit")?;
        let epoch = self.flush_last(true)?;
        // Every change released so far is in this commit (releases flush first).
        let covered = self.changes()?.load(Acquire);
        self.heap.vol.word(SYNCED_EPOCH)?.store(epoch, Relaxed);
        self.heap.vol.word(SYNCED)?.store(covered, Release);
        Ok(epoch)
    }

    /// Writes this guard's stores so far into the region without committing: other processes
    /// see them from now on (a release does this too).
    pub fn flush(&self) -> io::Result<()> {
        self.check_holds("a flush")?;
        self.flush_last(false).map(drop)
    }

    /// The flush that ends an operation (a commit or a release): it clears the heap's `partial`
    /// word if an earlier piece of the operation set it.
    fn flush_last(&self, commit: bool) -> io::Result<u64> {
        let mut set = self.set.borrow_mut();
        if self.partial.replace(false) {
            self.mark(&mut set, 0)?;
        }
        self.flush_set(&mut set, commit)
    }

    /// A flush in the middle of an operation, whose set is full: it sets the heap's `partial`
    /// word with it, so a holder that dies before the rest is noticed even by a later opener.
    fn flush_piece(&self, set: &mut WriteSet) -> io::Result<()> {
        if !self.partial.replace(true) {
            self.mark(set, 1)?;
        }
        self.flush_set(set, false).map(drop)
    }

    /// Stores `value` in the heap's `partial` word, in `set` (which always has room for it).
    fn mark(&self, set: &mut WriteSet, value: u64) -> io::Result<()> {
        let base = |at: u64, buf: &mut [u8]| self.heap.arena.read_bytes(at, buf);
        set.write(PARTIAL, &value.to_ne_bytes(), &base)
    }

    /// Whether `set` has room for `stores` more stores of `bytes` in all, and the `partial` word.
    fn room(set: &WriteSet, stores: usize, bytes: usize) -> bool {
        set.has_room(
            stores + 1,
            bytes + 8,
            region::WRITE_MAX_RANGES,
            region::WRITE_MAX_BYTES,
        )
    }

    /// Hands `set` to the region in one write call (committing, with `commit`: then returns the
    /// epoch, else the epoch the bytes belong to), and empties it; a commit with nothing to write
    /// is a PMSYNC. The set is emptied even if the call fails.
    fn flush_set(&self, set: &mut WriteSet, commit: bool) -> io::Result<u64> {
        let heap = self.heap;
        let counters = &heap.counters;
        if set.is_empty() {
            if !commit {
                return Ok(0);
            }
            let epoch = match &heap.sink {
                Sink::Region(region) => region.pmsync()?,
                Sink::Direct | Sink::Copy => heap.commits.fetch_add(1, Relaxed) + 1,
            };
            counters.commits.fetch_add(1, Relaxed);
            return Ok(epoch);
        }
        let changes = self.changes()?;
        // Odd while the bytes change: optimistic readers wait, or retry.
        changes.fetch_add(1, SeqCst);
        let written = match &heap.sink {
            Sink::Region(region) => {
                let ranges: Vec<(u64, &[u8])> = set.ranges().collect();
                region.write(&ranges, commit)
            }
            Sink::Direct | Sink::Copy => set
                .ranges()
                .try_for_each(|(at, bytes)| heap.arena.write_bytes(at, bytes))
                .map(|()| {
                    if commit {
                        heap.commits.fetch_add(1, Relaxed) + 1
                    } else {
                        heap.commits.load(Relaxed)
                    }
                }),
        };
        changes.fetch_add(1, SeqCst);
        if written.is_ok() {
            counters.writes.fetch_add(1, Relaxed);
            counters.commits.fetch_add(u64::from(commit), Relaxed);
            counters.ranges.fetch_add(set.range_count() as u64, Relaxed);
            counters.bytes.fetch_add(set.byte_count() as u64, Relaxed);
            counters.lines.fetch_add(set.line_count(), Relaxed);
        }
        set.clear();
        written
    }

    /// Stores `data` at `offset` (aligned to `align`): into the write set, flushing it first if
    /// it is full, or straight into a heap in memory.
    fn store(&self, offset: u64, data: &[u8], align: usize) -> io::Result<()> {
        self.check_holds("a change")?;
        self.heap.arena.at(offset, data.len() as u64, align)?;
        if !self.heap.logged() {
            return self.heap.arena.write_bytes(offset, data);
        }
        let mut set = self.set.borrow_mut();
        let base = |at: u64, buf: &mut [u8]| self.heap.arena.read_bytes(at, buf);
        let mut at = offset;
        for chunk in data.chunks(CHUNK) {
            if !Self::room(&set, 1, chunk.len()) {
                self.flush_piece(&mut set)?;
            }
            set.write(at, chunk, &base)?;
            at += chunk.len() as u64;
        }
        Ok(())
    }

    /// The `T` at `offset`, as this guard sees it.
    pub(crate) fn get<T: Persistent>(&self, offset: u64) -> io::Result<T> {
        let mut value: T = self.heap.arena.read(offset)?;
        let set = self.set.borrow();
        if !set.is_empty() {
            set.overlay(offset, persistent::bytes_of_mut(&mut value));
        }
        Ok(value)
    }

    /// Copies the `buf.len()` bytes at `offset`, as this guard sees them, into `buf`.
    pub(crate) fn get_bytes(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.heap.arena.read_bytes(offset, buf)?;
        let set = self.set.borrow();
        if !set.is_empty() {
            set.overlay(offset, buf);
        }
        Ok(())
    }

    /// Whether the `want.len()` bytes at `offset`, as this guard sees them, equal `want`.
    pub(crate) fn eq_bytes(&self, offset: u64, want: &[u8]) -> io::Result<bool> {
        if !self.set.borrow().touches(offset, want.len() as u64) {
            return self.heap.arena.eq_bytes(offset, want);
        }
        let mut got = vec![0u8; want.len()];
        self.get_bytes(offset, &mut got)?;
        Ok(got == want)
    }

    /// Stores `value` at `offset`.
    pub(crate) fn put<T: Persistent>(&self, offset: u64, value: T) -> io::Result<()> {
        self.store(offset, persistent::bytes_of(&value), align_of::<T>())
    }

    /// Stores `data` at `offset`.
    pub(crate) fn put_bytes(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.store(offset, data, 1)
    }

    /// Makes room in the write set for `stores` more stores of `bytes` in all, flushing it now
    /// if they might not fit: so that they land in one flush together (all or none of them
    /// reaches the region, whatever happens to this process).
    pub(crate) fn reserve(&self, stores: usize, bytes: usize) -> io::Result<()> {
        if !self.heap.logged() {
            return Ok(());
        }
        let mut set = self.set.borrow_mut();
        if !Self::room(&set, stores, bytes) {
            self.flush_piece(&mut set)?;
        }
        Ok(())
    }

    /// Stores `byte` in the `len` bytes at `offset`.
    pub(crate) fn put_fill(&self, offset: u64, len: u64, byte: u8) -> io::Result<()> {
        self.check_holds("a change")?;
        self.heap.arena.at(offset, len, 1)?;
        if !self.heap.logged() {
            return self.heap.arena.fill(offset, len, byte);
        }
        let pattern = vec![byte; (len as usize).min(CHUNK)];
        let mut at = offset;
        while at < offset + len {
            let n = (offset + len - at).min(CHUNK as u64);
            self.store(at, &pattern[..n as usize], 1)?;
            at += n;
        }
        Ok(())
    }

    /// Writes an empty heap's header over the first page; the magic goes last.
    pub(crate) fn write_header(&self) -> io::Result<()> {
        self.put_fill(0, DATA_START, 0)?;
        self.put(VERSION, HEAP_VERSION)?;
        self.put(SIZE, self.heap.arena.len())?;
        self.put(TOP, DATA_START)?;
        self.put(MAGIC, HEAP_MAGIC)
    }

    /// Allocates `bytes` of zeroed payload.
    pub fn alloc_bytes(&mut self, bytes: u64) -> io::Result<PPtr<u8>> {
        self.alloc_block(bytes, true)
    }

    /// Allocates a block with at least `bytes` of payload, zeroed if `zeroed` (else holding
    /// whatever the block held: for a caller that writes every byte it will read).
    pub(crate) fn alloc_block(&self, bytes: u64, zeroed: bool) -> io::Result<PPtr<u8>> {
        alloc::alloc(self, bytes, zeroed)
            .map(PPtr::from_offset)
            .map_err(|e| io::Error::new(e.kind(), format!("region '{}': {e}", self.heap.name())))
    }

    /// Allocates room for a `T` and stores `value` there.
    pub fn alloc<T: Persistent>(&mut self, value: T) -> io::Result<PPtr<T>> {
        let p = self.alloc_block(size_of::<T>() as u64, false)?.cast::<T>();
        self.write(p, value)?;
        Ok(p)
    }

    /// Frees a block from [`Guard::alloc`] or [`Guard::alloc_bytes`].
    pub fn free<T>(&mut self, p: PPtr<T>) -> io::Result<()> {
        alloc::free(self, p.offset())
    }

    /// The payload bytes of the block at `p` (at least what was asked for).
    pub fn block_len<T>(&self, p: PPtr<T>) -> io::Result<u64> {
        alloc::payload_len(self, p.offset())
    }

    /// The `T` at `p`, copied out.
    pub fn read<T: Persistent>(&self, p: PPtr<T>) -> io::Result<T> {
        self.get(p.offset())
    }

    /// Stores `value` at `p`.
    pub fn write<T: Persistent>(&mut self, p: PPtr<T>, value: T) -> io::Result<()> {
        self.put(p.offset(), value)
    }

    /// Copies the `buf.len()` bytes at `p` into `buf`.
    ///
    /// A copy, not a slice into the region: optimistic readers ([`Heap::read`]) and other
    /// processes may access the same bytes while this guard lives, so no reference to them can
    /// be sound. Under the lock, the copy is consistent with every process that changes the heap
    /// only under the lock, and holds this guard's own stores.
    pub fn read_bytes(&self, p: PPtr<u8>, buf: &mut [u8]) -> io::Result<()> {
        self.get_bytes(p.offset(), buf)
    }

    /// Copies `data` to `p`.
    pub fn write_bytes(&mut self, p: PPtr<u8>, data: &[u8]) -> io::Result<()> {
        self.put_bytes(p.offset(), data)
    }

    /// The root object (null until set).
    pub fn root<T>(&self) -> io::Result<PPtr<T>> {
        self.get(ROOT).map(PPtr::from_offset)
    }

    /// Sets the root object.
    pub fn set_root<T>(&mut self, p: PPtr<T>) -> io::Result<()> {
        self.put(ROOT, p.offset())
    }

    /// How often the lock has been taken over from a dead holder since the heap's volatile
    /// state was made (when the first of the processes that have it open now opened it).
    pub fn takeovers(&self) -> io::Result<u64> {
        self.heap.vol.load(TAKEOVERS)
    }
}

impl std::fmt::Debug for Guard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("heap", &self.heap.name())
            .field("acquired", &self.acquired)
            .field("holds", &self.holds)
            .finish()
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if self.holds {
            // Flush, tell optimistic readers something may have changed, release. A failed
            // flush loses this guard's stores; call `release` to see the error.
            let _ = self.release_lock();
        }
    }
}
