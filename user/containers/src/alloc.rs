//! The heap allocator: segregated free lists of power-of-two blocks, carved from a bump
//! pointer. Every block starts with an 8-byte tag; the payload follows.
//!
//! Its state (the free-list heads and `top` in the header, the tags) lives in the region, so a
//! commit takes an allocation together with the data that points to it. Each step publishes
//! with one 8-byte store: a holder that dies in the middle leaks at most one block.

use crate::arena::bad_pointer;
use crate::guard::Guard;
use crate::header::{free_list, CLASSES, DATA_START, SIZE, TOP};
use std::io;

/// Bytes of a block's tag.
pub const TAG_BYTES: u64 = 8;
/// The smallest block: 16 bytes (8 of payload).
pub(crate) const MIN_CLASS: u32 = 4;

const TAG_MAGIC: u64 = 0xb10c << 48;
const TAG_USED: u64 = 1 << 8;
const TAG_FREE: u64 = 2 << 8;

/// A block's tag: the magic, its state and its size class.
pub(crate) fn tag(used: bool, class: u32) -> u64 {
    TAG_MAGIC | if used { TAG_USED } else { TAG_FREE } | u64::from(class)
}

/// The state (`true`: in use) and class in a tag, if it is one.
pub(crate) fn parse_tag(tag: u64) -> Option<(bool, u32)> {
    let class = (tag & 0xff) as u32;
    if tag & !0x3ff != TAG_MAGIC || !(MIN_CLASS..CLASSES).contains(&class) {
        return None;
    }
    match tag & 0x300 {
        TAG_USED => Some((true, class)),
        TAG_FREE => Some((false, class)),
        _ => None,
    }
}

/// The class of the smallest block with `bytes` of payload.
pub(crate) fn class_for(bytes: u64) -> Option<u32> {
    let total = bytes.checked_add(TAG_BYTES)?.max(1 << MIN_CLASS);
    let class = 64 - (total - 1).leading_zeros();
    (class < CLASSES).then_some(class)
}

fn out_of_memory(bytes: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("heap full: no room for {bytes} bytes"),
    )
}

/// Allocates a block with at least `bytes` of payload, zeroed if `zeroed`; returns the payload's
/// offset. Freed blocks of the class come back last freed first, so a replacement that frees one
/// block and allocates another of the same class keeps reusing the same few lines.
pub(crate) fn alloc(g: &Guard<'_>, bytes: u64, zeroed: bool) -> io::Result<u64> {
    let class = class_for(bytes).ok_or_else(|| out_of_memory(bytes))?;
    let size = 1u64 << class;
    let head: u64 = g.get(free_list(class))?;
    let block = if head != 0 {
        let block = head - TAG_BYTES;
        check_block(g, block, false, class)?;
        let next: u64 = g.get(head)?;
        g.put(free_list(class), next)?;
        block
    } else {
        let top: u64 = g.get(TOP)?;
        let limit: u64 = g.get(SIZE)?;
        let end = top
            .checked_add(size)
            .filter(|&e| e <= limit.min(g.heap().arena.len()));
        let end = end.ok_or_else(|| out_of_memory(bytes))?;
        g.put(TOP, end)?;
        top
    };
    g.put(block, tag(true, class))?;
    if zeroed {
        g.put_fill(block + TAG_BYTES, size - TAG_BYTES, 0)?;
    }
    Ok(block + TAG_BYTES)
}

/// Checks that a block of `class` in state `used` starts at `block`.
fn check_block(g: &Guard<'_>, block: u64, used: bool, class: u32) -> io::Result<()> {
    if block < DATA_START || parse_tag(g.get(block)?) != Some((used, class)) {
        return Err(bad_pointer(block + TAG_BYTES, 0));
    }
    Ok(())
}

/// The payload bytes of the block in use whose payload starts at `payload`.
pub(crate) fn payload_len(g: &Guard<'_>, payload: u64) -> io::Result<u64> {
    let block = payload.checked_sub(TAG_BYTES).filter(|&b| b >= DATA_START);
    let block = block.ok_or_else(|| bad_pointer(payload, 0))?;
    match parse_tag(g.get(block)?) {
        Some((true, class)) => Ok((1 << class) - TAG_BYTES),
        _ => Err(bad_pointer(payload, 0)),
    }
}

/// Frees the block whose payload starts at `payload`.
pub(crate) fn free(g: &Guard<'_>, payload: u64) -> io::Result<()> {
    let len = payload_len(g, payload).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("free of {payload:#x}: not a block in use (a double free?)"),
        )
    })?;
    let class = class_for(len).ok_or_else(|| bad_pointer(payload, len))?;
    let block = payload - TAG_BYTES;
    g.put(block, tag(false, class))?;
    let head: u64 = g.get(free_list(class))?;
    g.put(payload, head)?;
    g.put(free_list(class), payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_fit_payload_and_tag() {
        assert_eq!(class_for(0), Some(4));
        assert_eq!(class_for(8), Some(4));
        assert_eq!(class_for(9), Some(5));
        assert_eq!(class_for(4088), Some(12));
        assert_eq!(class_for(4089), Some(13));
        assert_eq!(class_for(1 << 31), None);
        assert_eq!(class_for(u64::MAX), None);
    }

    #[test]
    fn tags_round_trip_and_reject_garbage() {
        for class in MIN_CLASS..CLASSES {
            assert_eq!(parse_tag(tag(true, class)), Some((true, class)));
            assert_eq!(parse_tag(tag(false, class)), Some((false, class)));
        }
        assert_eq!(parse_tag(0), None);
        assert_eq!(parse_tag(tag(true, 3)), None);
        assert_eq!(parse_tag(tag(true, 5) | 0x300), None);
        assert_eq!(parse_tag(tag(true, 5) ^ (1 << 50)), None);
    }
}
