//! Checking a heap: walk every block from the first to `top` by their tags, then every free
//! list, and report what does not add up.

use crate::alloc::{parse_tag, TAG_BYTES};
use crate::guard::Guard;
use crate::header::{free_list, CLASSES, DATA_START, SIZE, TOP};
use std::collections::HashSet;
use std::io;

/// What [`Guard::check`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeapReport {
    /// Bytes the heap manages.
    pub size: u64,
    /// Bytes carved into blocks so far.
    pub carved: u64,
    /// Blocks in use, and their bytes.
    pub used_blocks: u64,
    /// Bytes of the blocks in use.
    pub used_bytes: u64,
    /// Free blocks (on the free lists).
    pub free_blocks: u64,
    /// Lock takeovers from dead holders since the heap's volatile state was made.
    pub takeovers: u64,
    /// Every inconsistency, one line each; empty when the heap is sound.
    pub problems: Vec<String>,
}

impl Guard<'_> {
    /// Checks the heap's blocks and free lists.
    pub fn check(&self) -> io::Result<HeapReport> {
        let (size, top): (u64, u64) = (self.get(SIZE)?, self.get(TOP)?);
        let mut r = HeapReport {
            size,
            carved: top.saturating_sub(DATA_START),
            takeovers: self.takeovers()?,
            ..HeapReport::default()
        };
        let mut free_seen = HashSet::new();
        let mut at = DATA_START;
        while at < top {
            let Some((used, class)) = self.get(at).ok().and_then(parse_tag) else {
                r.problems.push(format!(
                    "no block tag at {at:#x}: the block walk stops there"
                ));
                break;
            };
            if used {
                r.used_blocks += 1;
                r.used_bytes += 1 << class;
            } else {
                free_seen.insert((at + TAG_BYTES, class));
            }
            at += 1 << class;
        }
        if at > top {
            r.problems
                .push(format!("the last block ends at {at:#x}, past top {top:#x}"));
        }
        for class in 0..CLASSES {
            let mut p: u64 = self.get(free_list(class))?;
            while p != 0 {
                if !free_seen.remove(&(p, class)) {
                    r.problems.push(format!(
                        "free list of {}-byte blocks holds {p:#x}, not a free block of that size (or twice)",
                        1u64 << class
                    ));
                    break;
                }
                r.free_blocks += 1;
                p = self.get(p)?;
            }
        }
        for (p, class) in free_seen {
            r.problems.push(format!(
                "free {}-byte block at {p:#x} is on no free list (leaked)",
                1u64 << class
            ));
        }
        Ok(r)
    }
}
