//! Host crate around the `core`-only layout code of `region_fs/`, which the kernel module
//! includes through `#[path]`: the same source is unit-tested here.
#![no_std]

#[path = "geometry.rs"]
pub mod geometry;
