//! Host crate around the `core`-only layout code of `region_fs/`, which the kernel module
//! includes through `#[path]`: the same source is unit-tested here.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc as std_alloc;

#[path = "alloc.rs"]
pub mod alloc;
#[path = "bytes.rs"]
pub mod bytes;
#[path = "checksum.rs"]
pub mod checksum;
#[cfg(test)]
#[path = "crash_sim.rs"]
mod crash_sim;
#[cfg(test)]
#[path = "crash_tests.rs"]
mod crash_tests;
#[path = "epoch_state.rs"]
pub mod epoch_state;
#[path = "geometry.rs"]
pub mod geometry;
/// Line records of writes through the kernel.
#[path = "line_log.rs"]
pub mod line_log;
#[cfg(test)]
#[path = "line_log_tests.rs"]
mod line_log_tests;
#[cfg(test)]
#[path = "model_tests.rs"]
mod model_tests;
#[path = "ops.rs"]
pub mod ops;
#[path = "pm.rs"]
pub mod pm;
#[path = "state.rs"]
pub mod state;
#[path = "superblock.rs"]
pub mod superblock;
#[path = "table.rs"]
pub mod table;
#[path = "undo.rs"]
pub mod undo;
#[path = "undo_share.rs"]
pub mod undo_share;

/// The host's free-space storage: a `Vec` (the module uses a `KVVec`, in `device.rs`).
impl alloc::ExtentList for std_alloc::vec::Vec<table::Extent> {
    fn as_slice(&self) -> &[table::Extent] {
        self
    }
    fn insert_at(&mut self, index: usize, extent: table::Extent) -> Result<(), alloc::OutOfMemory> {
        self.insert(index, extent);
        Ok(())
    }
    fn remove_at(&mut self, index: usize) {
        self.remove(index);
    }
    fn set(&mut self, index: usize, extent: table::Extent) {
        self[index] = extent;
    }
}

/// The host's storage of undo charges: a `Vec` (the module uses a `KVec`, in `undo_pool.rs`).
impl undo_share::ChargeList for std_alloc::vec::Vec<(u32, u32)> {
    fn entries(&mut self) -> &mut [(u32, u32)] {
        self
    }
    fn push(&mut self, entry: (u32, u32)) -> Result<(), alloc::OutOfMemory> {
        std_alloc::vec::Vec::push(self, entry);
        Ok(())
    }
    fn swap_remove(&mut self, index: usize) {
        std_alloc::vec::Vec::swap_remove(self, index);
    }
}

/// The host's storage for the state machine's lists: a `Vec`.
impl<T> state::List<T> for std_alloc::vec::Vec<T> {
    fn try_push(&mut self, value: T) -> Result<(), alloc::OutOfMemory> {
        self.push(value);
        Ok(())
    }
}
