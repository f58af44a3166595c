//! The heap's volatile state: the lock word, the change counter, the group-commit marks, the
//! takeover count and the lock's waiters. It must be shared by every process that uses the heap
//! but never committed, so it lives in the region's volatile page (DRAM that the module shares
//! among the region's openers, zero when the first one opens it and gone after the last one
//! closes it; [`region::Region::map_volatile`]); a heap in process memory keeps it in a second
//! anonymous shared mapping. Nothing of it is on persistent memory, so taking the lock, counting
//! changes or waking a waiter never dirties a region page.
//!
//! ```text
//! offset  field
//!      0  lock: 0 free, else the holder's thread id << 32 | its stamp (see `lock`)
//!      8  changes: a sequence count, odd while a holder's changes are being written into the
//!           heap's bytes (a region heap: during its REGION_IOC_WRITE; a heap in memory: while
//!           the lock is held), even otherwise; optimistic readers validate against it
//!     16  synced: the `changes` count the last commit covered
//!     24  synced epoch: the epoch that commit returned
//!     32  takeovers: how often the lock was taken from a dead holder since the page was made
//!     40  waiters: threads asleep (or about to sleep) waiting for the lock
//!     48  wake: a futex word (its low 32 bits), bumped by a release that finds waiters
//!     56  flags: bit 0 set when shared futexes do not work on this page (waiters then poll)
//!     64  magic "RGNHEAPV": the page is a heap's
//! ```

use region::Mapping;
use rustix::thread::futex;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::time::Duration;

pub(crate) const LOCK: usize = 0;
pub(crate) const CHANGES: usize = 8;
pub(crate) const SYNCED: usize = 16;
pub(crate) const SYNCED_EPOCH: usize = 24;
pub(crate) const TAKEOVERS: usize = 32;
pub(crate) const WAITERS: usize = 40;
const WAKE: usize = 48;
const FLAGS: usize = 56;
const MAGIC: usize = 64;

/// "RGNHEAPV", little-endian: the volatile page holds a heap's state.
pub(crate) const VOLATILE_MAGIC: u64 = u64::from_le_bytes(*b"RGNHEAPV");
/// `FLAGS` bit: shared futexes fail on this page.
const NO_FUTEX: u64 = 1;
/// Rounds a polling waiter yields before it sleeps between looks.
const POLL_YIELDS: u32 = 20_000;
/// Bytes of the volatile state (a page, as the module maps it).
pub(crate) const VOLATILE_BYTES: usize = 4096;

/// How a wait for the lock ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waited {
    /// Woken by a release, or the word had moved already.
    Woken,
    /// The time ran out.
    TimedOut,
}

/// The mapped volatile state of one heap.
#[derive(Debug)]
pub(crate) struct Volatile {
    map: Mapping,
}

impl Volatile {
    /// The state in `map`, a region's volatile page.
    pub(crate) fn new(map: Mapping) -> Self {
        Self { map }
    }

    /// The state in a new anonymous shared mapping (a heap in process memory; children forked
    /// later share it).
    pub(crate) fn anonymous() -> io::Result<Self> {
        Ok(Self::new(Mapping::anonymous(VOLATILE_BYTES)?))
    }

    /// Whether the state may be changed (the region was opened for writing).
    pub(crate) fn is_writable(&self) -> bool {
        self.map.is_writable()
    }

    /// Marks the page as a heap's, or checks that it is: `name` is the region, for the error.
    pub(crate) fn claim(&self, name: &str) -> io::Result<()> {
        let found = if self.is_writable() {
            match self
                .word(MAGIC)?
                .compare_exchange(0, VOLATILE_MAGIC, AcqRel, Acquire)
            {
                Ok(_) => VOLATILE_MAGIC,
                Err(found) => found,
            }
        } else {
            self.load(MAGIC)?
        };
        if found != 0 && found != VOLATILE_MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "region '{name}': its volatile page holds something other than a heap's lock \
                     (magic {found:#x}); close the programs that use it that way"
                ),
            ));
        }
        Ok(())
    }

    /// The word at `at` as an atomic (writable state only).
    #[inline]
    pub(crate) fn word(&self, at: usize) -> io::Result<&AtomicU64> {
        self.map.atomic_u64(at)
    }

    /// The word at `at`, loaded `Relaxed` (read-only state too; add a fence for acquire order).
    #[inline]
    pub(crate) fn load(&self, at: usize) -> io::Result<u64> {
        self.map.load_u64(at)
    }

    /// The address of the word at `at`: an identity for the lock in a thread's list of held
    /// locks, never dereferenced.
    pub(crate) fn addr(&self, at: usize) -> usize {
        self.map.as_ptr() as usize + at
    }

    /// The futex half of the wake word, for the futex system call only.
    fn wake_futex(&self) -> &AtomicU32 {
        // The futex word is the 4 bytes at the lowest address of the 8-byte wake word: its low
        // half on a little-endian machine, its high half on a big-endian one.
        let half = if cfg!(target_endian = "little") { 0 } else { 4 };
        // SAFETY: the wake word is inside the mapping (a page, checked by `word` when the
        // mapping was made), 8-aligned, so its half is a 4-aligned `AtomicU32`-sized place that
        // stays mapped while `self` is borrowed. Rust never accesses memory through this
        // reference: it only passes the address to the futex system call, whose read is the
        // kernel's (outside the memory model, like another process's); every Rust access to the
        // word is an 8-byte atomic one.
        unsafe { &*self.map.as_ptr().add(WAKE + half).cast::<AtomicU32>() }
    }

    /// The wake word's value, for a waiter to pass to [`Volatile::wait`].
    pub(crate) fn wake_seq(&self) -> io::Result<u64> {
        Ok(self.word(WAKE)?.load(SeqCst))
    }

    /// Sleeps until a release bumps the wake word past `seen` (from [`Volatile::wake_seq`]), or
    /// `timeout` passes. Where shared futexes do not work on the page, a release cannot wake a
    /// sleeper, so the waiter polls: it yields the CPU on its first `POLL_YIELDS` rounds
    /// (`round` counts them), then sleeps a short while each round.
    pub(crate) fn wait(&self, seen: u64, timeout: Duration, round: u32) -> Waited {
        if self.load(FLAGS).unwrap_or(0) & NO_FUTEX == 0 {
            let ts = futex::Timespec {
                tv_sec: timeout.as_secs() as _,
                tv_nsec: timeout.subsec_nanos() as _,
            };
            // Shared (no PRIVATE flag): the word is shared with other processes.
            match futex::wait(
                self.wake_futex(),
                futex::Flags::empty(),
                seen as u32,
                Some(&ts),
            ) {
                Ok(()) | Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => {
                    return Waited::Woken
                }
                Err(rustix::io::Errno::TIMEDOUT) => return Waited::TimedOut,
                Err(_) => self.futex_fails(),
            }
        }
        if round < POLL_YIELDS {
            std::thread::yield_now();
        } else {
            // A kernel without high-resolution timers rounds this up to a tick.
            std::thread::sleep(Duration::from_micros(200).min(timeout));
        }
        Waited::Woken
    }

    /// Wakes one waiter: bumps the wake word (so a waiter about to sleep does not) and wakes a
    /// thread asleep on it.
    pub(crate) fn wake_one(&self) {
        let Ok(word) = self.word(WAKE) else { return };
        word.fetch_add(1, SeqCst);
        if self.load(FLAGS).unwrap_or(0) & NO_FUTEX == 0
            && futex::wake(self.wake_futex(), futex::Flags::empty(), 1).is_err()
        {
            self.futex_fails();
        }
    }

    /// Notes that shared futexes fail on this page: every waiter polls from now on.
    #[cold]
    fn futex_fails(&self) {
        if let Ok(flags) = self.word(FLAGS) {
            flags.fetch_or(NO_FUTEX, Relaxed);
        }
    }
}
