// SPDX-License-Identifier: GPL-2.0

//! The scheduler, for long loops (clearing the pages of a large region, rolling back many
//! pages): let other tasks run between chunks, and stop early when the caller is killed.

use crate::regionfs_h::{region_cond_resched, region_fatal_signal_pending};

/// Lets other tasks run (`cond_resched()`). Call it in process context only, holding no
/// spinlock (sleeping locks are fine).
pub(crate) fn cond_resched() {
    // SAFETY: every caller runs in process context (an ioctl, a file release) and holds at most
    // sleeping locks, which is all `cond_resched()` asks.
    unsafe { region_cond_resched() };
}

/// Whether the calling task has a fatal signal pending.
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: reads the current task's signal state; no pointers are passed.
    unsafe { region_fatal_signal_pending() }
}
