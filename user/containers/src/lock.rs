//! The heap lock: one 8-byte word in the region, shared by every process that maps it.
//!
//! Region mappings are not page-cache pages, so shared futexes cannot wait on them; the lock
//! spins, then yields the CPU (for a long while: a sleep costs a whole tick on kernels without
//! high-resolution timers), then sleeps in short steps. It survives the death of its holder: the word
//! holds the holder's thread id and a stamp made from the boot time and the thread's start time
//! (`/proc`). A waiter that finds the word held by a thread that no longer exists, or by a thread
//! of another boot (a power cut leaves the word held in the committed snapshot), takes the lock
//! over and says so. So does a thread that finds its own word there without having taken the
//! lock: a machine resumed from a saved state runs the same boot again, with the same thread ids
//! and start times, on persistent memory that a later run of it left held.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::OnceLock;
use std::time::Duration;

/// Spins before the first look at whether the holder is alive, and between later looks.
const SPINS_BEFORE_CHECK: u32 = 64;
const SPINS_BETWEEN_CHECKS: u32 = 2048;
/// Busy spins before yielding the CPU, and spins (busy or yielding) before sleeping.
const SPINS_BEFORE_YIELD: u32 = 16;
const YIELDS_BEFORE_SLEEP: u32 = 20_000;

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
    /// This thread's id and lock word, once worked out. A forked child inherits its parent's
    /// copy, so the id is checked on every use.
    static MY_WORD: std::cell::Cell<(u32, u64)> = const { std::cell::Cell::new((0, 0)) };
    /// The lock words this thread holds: its id and each word's address (a forked child's copy
    /// names its parent, so the id is part of the key).
    static HELD: std::cell::RefCell<Vec<(u32, usize)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn current_tid() -> u32 {
    rustix::thread::gettid().as_raw_nonzero().get() as u32
}

/// The address of lock `word`: its identity in `HELD`.
pub(crate) fn addr(word: &AtomicU64) -> usize {
    word as *const AtomicU64 as usize
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

/// This thread's id and lock word (one `gettid` a call).
fn me() -> (u32, u64) {
    let tid = current_tid();
    MY_WORD.with(|cached| {
        let (id, word) = cached.get();
        if id == tid {
            return (tid, word);
        }
        // Without /proc a thread still gets a distinct, non-zero word; only the dead-holder
        // check needs /proc.
        let word = word_of(tid).unwrap_or(u64::from(tid) << 32);
        cached.set((tid, word));
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

/// Takes the lock `word`.
pub(crate) fn acquire(word: &AtomicU64) -> io::Result<Acquired> {
    let (tid, mine) = me();
    let acquired = take(word, tid, mine)?;
    HELD.with(|held| held.borrow_mut().push((tid, addr(word))));
    Ok(acquired)
}

/// Takes the lock `word` for thread `tid`, whose lock word is `mine`.
fn take(word: &AtomicU64, tid: u32, mine: u64) -> io::Result<Acquired> {
    let mut spins: u32 = 0;
    loop {
        let cur = word.load(Acquire);
        if cur == 0 {
            if word.compare_exchange(0, mine, Acquire, Relaxed).is_ok() {
                return Ok(Acquired::Free);
            }
        } else if cur == mine {
            if held_by(tid, addr(word)) {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "heap lock: this thread holds it already",
                ));
            }
            // Its own word, which it never took: left by another run of this same boot.
            if word.compare_exchange(cur, mine, Acquire, Relaxed).is_ok() {
                return Ok(Acquired::TakenOver);
            }
        } else if (spins == SPINS_BEFORE_CHECK || spins.is_multiple_of(SPINS_BETWEEN_CHECKS))
            && holder_is_gone(cur)
            && word.compare_exchange(cur, mine, Acquire, Relaxed).is_ok()
        {
            return Ok(Acquired::TakenOver);
        }
        spins = spins.wrapping_add(1);
        if spins < SPINS_BEFORE_YIELD {
            std::hint::spin_loop();
        } else if spins < YIELDS_BEFORE_SLEEP {
            // Let the holder run: with more processes than CPUs it may be waiting for one.
            std::thread::yield_now();
        } else {
            // A holder that keeps the lock this long is slow or stuck; stop burning a CPU. (A
            // kernel without high-resolution timers rounds this up to a tick.)
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

/// Releases the lock `word`, held by this thread.
pub(crate) fn release(word: &AtomicU64) {
    let key = (current_tid(), addr(word));
    HELD.with(|held| held.borrow_mut().retain(|k| *k != key));
    word.store(0, Release);
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
        let word = AtomicU64::new(0);
        let dead = std::thread::spawn(my_word).join().expect("thread ran");
        word.store(dead, Relaxed);
        assert_eq!(acquire(&word).expect("acquired"), Acquired::TakenOver);
        assert_eq!(word.load(Relaxed), my_word());
        assert!(acquire(&word).is_err(), "no recursive locking");
        release(&word);
        assert_eq!(acquire(&word).expect("acquired"), Acquired::Free);
    }

    #[test]
    fn its_own_word_that_this_thread_never_took_is_taken_over() {
        // What a machine resumed from a saved state finds: the same thread, the same start time,
        // and the lock held under its name by a later run of the same boot.
        let word = AtomicU64::new(my_word());
        assert!(is_stale(addr(&word), my_word()));
        assert_eq!(acquire(&word).expect("acquired"), Acquired::TakenOver);
        assert!(!is_stale(addr(&word), my_word()), "held now");
        assert!(acquire(&word).is_err(), "no recursive locking");
        release(&word);
        assert_eq!(acquire(&word).expect("acquired"), Acquired::Free);
        release(&word);
    }

    #[test]
    fn threads_exclude_each_other() {
        let word = std::sync::Arc::new(AtomicU64::new(0));
        let counter = std::sync::Arc::new(AtomicU64::new(0));
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (word, counter) = (word.clone(), counter.clone());
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        acquire(&word).expect("acquired");
                        // A non-atomic read-modify-write: lost updates if exclusion failed.
                        let v = counter.load(Relaxed);
                        std::hint::spin_loop();
                        counter.store(v + 1, Relaxed);
                        release(&word);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("worker ran");
        }
        assert_eq!(counter.load(Relaxed), 2000);
    }
}
