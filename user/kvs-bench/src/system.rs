//! What a compared system gives the matrix: unmeasured batched changes (the fill, and putting
//! the key space back after a phase), and a store for each forked worker.

use region_kvs::load::{Edit, Store};
use std::io;

/// A system of the comparison (the region KVS, LMDB, the KVS in process memory).
pub trait System {
    /// The name in COUNTS lines.
    fn name(&self) -> &'static str;

    /// Applies `edits` in the parent, unmeasured, in as few durable commits as the system
    /// allows; leaves no handle open that a forked worker would inherit.
    fn apply(&mut self, edits: &[Edit]) -> io::Result<()>;

    /// In a forked worker: the store its operations run on (opened there, or inherited when the
    /// store lives in memory shared with the parent).
    fn worker(&self) -> io::Result<Box<dyn Store + '_>>;
}
