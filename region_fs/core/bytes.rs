// SPDX-License-Identifier: GPL-2.0

//! Little-endian fields in byte buffers: how every on-PM structure is read and written.
//!
//! Plain `core` Rust shared by the module and the host crates. Callers pass offsets inside the
//! buffer; the structures' sizes are fixed, so an offset out of range is a bug caught by tests.

/// The `u32` at `off`.
pub fn get32(b: &[u8], off: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(x)
}

/// The `u64` at `off`.
pub fn get64(b: &[u8], off: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(x)
}

/// Stores `v` at `off`.
pub fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// Stores `v` at `off`.
pub fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}
