//! Host crate around `region_uapi.rs`, the Rust mirror of `region.h`, for user-space programs.
#![no_std]

#[path = "region_uapi.rs"]
mod region_uapi;

pub use region_uapi::*;
