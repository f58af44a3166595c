//! The heap lock: one 8-byte word in the heap's volatile page (see `volatile`), shared by every
//! process that has the heap open.
//!
//! A taker spins briefly, then sleeps on a futex word beside the lock (the volatile page is
//! DRAM, so shared futexes work there; where they do not, it polls). Waiters count themselves,
//! so a release with nobody waiting is one atomic exchange, and wakes one sleeper otherwise. The
//! lock survives the death of its holder: the word holds the holder's thread id and a stamp made
//! from the boot time and the thread's start time (`/proc`). A waiter that finds the word held by
//! a thread that no longer exists takes the lock over and says so. So does a thread that finds
//! its own word there without having taken the lock (a machine resumed from a saved state runs
//! the same boot again, with the same thread ids and start times). A thread works out its id and
//! word once and caches them; a child process forgets its parent's (a `pthread_atfork` handler),
//! so no lock costs a `gettid`.

use crate::volatile::{Volatile, LOCK, WAITERS};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

/// Spins before the first look at whether the holder is alive, and before sleeping.
const SPINS: u32 = 100;
/// The longest sleep between looks at whether the holder is alive.
const DEAD_CHECK_EVERY: Duration = Duration::from_millis(10);

/// The boot time in seconds (`btime` of `/proc/stat`), read once.
fn boot_time() -> u64 {
    static BOOT: OnceLock<u64> = OnceLock::new();
    *BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok()))
            })
            .unwrap_or(0)
    })
}

/// The start time (clock ticks since boot) of thread `tid`, if it exists.
fn start_time(tid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{tid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'; the
    // start time is field 22, the 20th after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The stamp of a thread started at `start` in the boot that started at `boot`.
fn stamp(boot: u64, start: u64) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in boot.to_le_bytes().iter().chain(start.to_le_bytes().iter()) {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 32)) as u32
}

/// The lock word of thread `tid`, if it is alive.
fn word_of(tid: u32) -> Option<u64> {
    let start = start_time(tid)?;
    Some((u64::from(tid) << 32) | u64::from(stamp(boot_time(), start)))
}

thread_local! {
    /// This thread's fork generation, id and lock word, once worked out (id 0: not yet).
    static ME: std::cell::Cell<(u64, u32, u64)> = const { std::cell::Cell::new((0, 0, 0)) };
    /// The lock words this thread holds: its id and each word's address (a forked child's copy
    /// names its parent, so the id is part of the key).
    static HELD: std::cell::RefCell<Vec<(u32, usize)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Forks this process has gone through (counted in each child by a `pthread_atfork` handler):
/// a cached id of another generation is a parent's.
static FORKS: AtomicU64 = AtomicU64::new(0);
static ATFORK: Once = Once::new();
/// Whether the handler is registered, so cached ids can be trusted.
static CACHING: AtomicBool = AtomicBool::new(false);

extern "C" {
    fn pthread_atfork(
        prepare: Option<unsafe extern "C" fn()>,
        parent: Option<unsafe extern "C" fn()>,
        child: Option<unsafe extern "C" fn()>,
    ) -> std::ffi::c_int;
}

/// Runs in the child of every fork: the cached ids are the parent's.
unsafe extern "C" fn forked() {
    FORKS.fetch_add(1, Relaxed);
}

fn current_tid() -> u32 {
    rustix::thread::gettid().as_raw_nonzero().get() as u32
}

/// Whether thread `tid` (the caller) took the lock at address `addr` and has not released it.
fn held_by(tid: u32, addr: usize) -> bool {
    HELD.with(|held| held.borrow().contains(&(tid, addr)))
}

/// Whether the lock at address `addr`, found holding `value`, is held by no one: its holder is
/// gone, or it names this thread, which never took it (see the module comment). (An address, not
/// an atomic: a reader of a read-only mapping may only load the word.)
pub(crate) fn is_stale(addr: usize, value: u64) -> bool {
    let (tid, mine) = me();
    if value == mine {
        return !held_by(tid, addr);
    }
    holder_is_gone(value)
}

/// This thread's id and lock word: worked out on the first call in a thread (and again in a
/// forked child), cached after.
fn me() -> (u32, u64) {
    ATFORK.call_once(|| {
        // SAFETY: registers a handler that only bumps an atomic, which is async-signal-safe as
        // a child handler must be.
        if unsafe { pthread_atfork(None, None, Some(forked)) } == 0 {
            CACHING.store(true, Relaxed);
        }
    });
    let generation = FORKS.load(Relaxed);
    ME.with(|cached| {
        let (seen, id, word) = cached.get();
        // Without the handler a child could not tell its parent's id from its own: no caching.
        if id != 0 && seen == generation && CACHING.load(Relaxed) {
            return (id, word);
        }
        let tid = current_tid();
        // Without /proc a thread still gets a distinct, non-zero word; only the dead-holder
        // check needs /proc.
        let word = word_of(tid).unwrap_or(u64::from(tid) << 32);
        cached.set((generation, tid, word));
        (tid, word)
    })
}

/// This thread's lock word (for tests, which plant it or a dead thread's).
#[cfg(test)]
pub(crate) fn my_word() -> u64 {
    me().1
}

/// Whether the holder named by `word` is gone: no such thread, or another thread (or another
/// boot) under that id.
pub(crate) fn holder_is_gone(word: u64) -> bool {
    let tid = (word >> 32) as u32;
    if tid == 0 {
        return true;
    }
    word_of(tid) != Some(word)
}

/// How a lock was acquired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// The lock was free.
    Free,
    /// The lock was held by a thread that is gone (it died, or the system lost power while it
    /// held the lock); the protected data is as that thread left it.
    TakenOver,
}

/// Takes the heap lock in `vol`.
pub(crate) fn acquire(vol: &Volatile) -> io::Result<Acquired> {
    let (tid, mine) = me();
    let word = vol.word(LOCK)?;
    let acquired = take(vol, word, tid, mine)?;
    HELD.with(|held| held.borrow_mut().push((tid, vol.addr(LOCK))));
    Ok(acquired)
}

/// Takes the lock `word` (in `vol`) for thread `tid`, whose lock word is `mine`.
fn take(vol: &Volatile, word: &AtomicU64, tid: u32, mine: u64) -> io::Result<Acquired> {
    let waiters = vol.word(WAITERS)?;
    let mut spins: u32 = 0;
    let mut rounds: u32 = 0;
    let mut next_check: Option<Instant> = None;
    loop {
        let cur = word.load(Acquire);
        if cur == 0 {
            if word.compare_exchange(0, mine, Acquire, Relaxed).is_ok() {
                return Ok(Acquired::Free);
            }
        } else if cur == mine {
            if held_by(tid, vol.addr(LOCK)) {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "heap lock: this thread holds it already",
                ));
            }
            // Its own word, which it never took: left by another run of this same boot.
            if word.compare_exchange(cur, mine, Acquire, Relaxed).is_ok() {
                return Ok(Acquired::TakenOver);
            }
        } else if spins >= SPINS && next_check.is_none_or(|at| Instant::now() >= at) {
            next_check = Some(Instant::now() + DEAD_CHECK_EVERY);
            if holder_is_gone(cur) && word.compare_exchange(cur, mine, Acquire, Relaxed).is_ok() {
                return Ok(Acquired::TakenOver);
            }
        }
        if spins < SPINS {
            spins += 1;
            std::hint::spin_loop();
            continue;
        }
        // Sleep until a release. Counted first, then the lock looked at again: a release that
        // frees the word after this look sees the count and bumps the wake word, so the wait
        // returns at once (both sides are sequentially consistent).
        waiters.fetch_add(1, SeqCst);
        let seen = vol.wake_seq()?;
        if word.load(SeqCst) != 0 {
            vol.wait(seen, DEAD_CHECK_EVERY, rounds);
            rounds = rounds.saturating_add(1);
        }
        waiters.fetch_sub(1, SeqCst);
    }
}

/// Releases the heap lock in `vol`, held by this thread; wakes a waiter if there is one.
pub(crate) fn release(vol: &Volatile) {
    let key = (me().0, vol.addr(LOCK));
    HELD.with(|held| held.borrow_mut().retain(|k| *k != key));
    let Ok(word) = vol.word(LOCK) else { return };
    // A swap, not a store: sequentially consistent with the waiters' count below.
    word.swap(0, SeqCst);
    if vol.load(WAITERS).is_ok_and(|n| n > 0) {
        vol.wake_one();
    }
}

/// Whether any thread waits for the heap lock in `vol`.
pub(crate) fn has_waiters(vol: &Volatile) -> bool {
    vol.load(WAITERS).is_ok_and(|n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_thread_is_not_gone_and_others_are() {
        let mine = my_word();
        assert_ne!(mine, 0);
        assert!(!holder_is_gone(mine), "this thread is alive");
        assert!(
            holder_is_gone(mine ^ 1),
            "same id, another stamp: another thread or boot"
        );
        assert!(
            holder_is_gone((u64::from(u32::MAX - 1)) << 32 | 5),
            "no such thread"
        );
        assert!(holder_is_gone(0));
    }

    #[test]
    fn a_dead_threads_lock_is_taken_over() {
        let vol = Volatile::anonymous().expect("page");
        let word = vol.word(LOCK).expect("word");
        let dead = std::thread::spawn(my_word).join().expect("thread ran");
        word.store(dead, Relaxed);
        assert_eq!(acquire(&vol).expect("acquired"), Acquired::TakenOver);
        assert_eq!(word.load(Relaxed), my_word());
        assert!(acquire(&vol).is_err(), "no recursive locking");
        release(&vol);
        assert_eq!(acquire(&vol).expect("acquired"), Acquired::Free);
        release(&vol);
    }

    #[test]
    fn its_own_word_that_this_thread_never_took_is_taken_over() {
        // What a machine resumed from a saved state finds: the same thread, the same start time,
        // and the lock held under its name by a later run of the same boot.
        let vol = Volatile::anonymous().expect("page");
        vol.word(LOCK).expect("word").store(my_word(), Relaxed);
        assert!(is_stale(vol.addr(LOCK), my_word()));
        assert_eq!(acquire(&vol).expect("acquired"), Acquired::TakenOver);
        assert!(!is_stale(vol.addr(LOCK), my_word()), "held now");
        assert!(acquire(&vol).is_err(), "no recursive locking");
        release(&vol);
        assert_eq!(acquire(&vol).expect("acquired"), Acquired::Free);
        release(&vol);
    }

    #[test]
    fn threads_exclude_each_other_and_sleepers_are_woken() {
        let vol = Volatile::anonymous().expect("page");
        let counter = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..500 {
                        acquire(&vol).expect("acquired");
                        // A non-atomic read-modify-write: lost updates if exclusion failed.
                        let v = counter.load(Relaxed);
                        if i % 50 == 0 {
                            // Hold it long enough for the others to go to sleep.
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        counter.store(v + 1, Relaxed);
                        release(&vol);
                    }
                });
            }
        });
        assert_eq!(counter.load(Relaxed), 2000);
        assert!(!has_waiters(&vol), "every waiter counted itself out");
    }

    #[test]
    fn a_forked_child_has_its_own_word() {
        let parent = my_word();
        // SAFETY: the child computes its word and leaves with `_exit`.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            let child = my_word();
            let ok = child != parent && child >> 32 == u64::from(current_tid());
            // SAFETY: leaving the forked child without running the parent's destructors.
            unsafe { libc::_exit(i32::from(!ok)) };
        }
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(status, 0, "the child's word names the child");
        assert_eq!(my_word(), parent);
    }
}
