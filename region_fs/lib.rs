//! Host crate around the `core`-only layout code of `region_fs/`, which the kernel module
//! includes through `#[path]`: the same source is unit-tested here.
#![no_std]

#[path = "checksum.rs"]
pub mod checksum;
#[path = "geometry.rs"]
pub mod geometry;
#[path = "superblock.rs"]
pub mod superblock;
#[path = "table.rs"]
pub mod table;
#[path = "alloc.rs"]
pub mod alloc;
#[path = "undo.rs"]
pub mod undo;
#[path = "pm.rs"]
pub mod pm;
#[path = "ops.rs"]
pub mod ops;
#[cfg(test)]
#[path = "crash_sim.rs"]
mod crash_sim;
#[cfg(test)]
#[path = "crash_tests.rs"]
mod crash_tests;
