//! The heap header: the first page of a region that holds a heap.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "RGNHEAP1"
//!      8     4  version (2)
//!     12     4  reserved
//!     16     8  size: bytes the heap manages (the region's size when it was formatted)
//!     24     8  partial: 1 while a holder's operation is written in pieces (its write set
//!                 outgrew one write call); a locker that finds it set treats the lock as taken
//!                 over from a dead holder (format 1: the lock word)
//!     32     8  top: offset of the first never-allocated byte
//!     40     8  root: offset of the root object (0: none)
//!     48    80  reserved (format 1: takeovers, changes, synced, synced epoch)
//!    128   256  free: 32 free-list heads, one per size class (block of 2^class bytes)
//!    384   960  foreign: 15 region names of 64 bytes (NUL padded); index i+1 of a GlobalPtr
//!   4096        first block
//! ```
//!
//! Format 2 keeps nothing volatile here: the lock, the change counter, the commit marks and the
//! takeover count are in the region's volatile page (see `volatile`), so taking the lock or
//! counting a change dirties no persistent line. Format 1 heaps are refused with a message.
//!
//! Every field is changed only under the lock, and each change publishes with one aligned
//! 8-byte store, so a holder that dies at any instant leaves a usable heap (at worst one leaked
//! block); in a region heap a holder's stores reach the region only in whole flushes. A commit
//! made under the lock (`Heap::commit`) captures the heap between operations.

/// "RGNHEAP1", little-endian.
pub const HEAP_MAGIC: u64 = u64::from_le_bytes(*b"RGNHEAP1");
/// Heap layout version (2: the volatile state moved to the region's volatile page).
pub const HEAP_VERSION: u32 = 2;
/// Offset of the first block: the header takes one page.
pub const DATA_START: u64 = 4096;

pub(crate) const MAGIC: u64 = 0;
pub(crate) const VERSION: u64 = 8;
pub(crate) const SIZE: u64 = 16;
pub(crate) const PARTIAL: u64 = 24;
pub(crate) const TOP: u64 = 32;
pub(crate) const ROOT: u64 = 40;
pub(crate) const FREE_LISTS: u64 = 128;
/// Size classes: blocks of 2^class bytes, class < `CLASSES`.
pub(crate) const CLASSES: u32 = 32;
pub(crate) const FOREIGN: u64 = 384;
/// Foreign regions a heap can name.
pub const FOREIGN_SLOTS: u16 = 15;
/// Bytes of a foreign region's name field.
pub(crate) const FOREIGN_NAME: u64 = 64;

/// The offset of the free-list head of `class`.
pub(crate) const fn free_list(class: u32) -> u64 {
    FREE_LISTS + 8 * class as u64
}

/// The offset of the name field of foreign index `index` (1-based).
pub(crate) const fn foreign_name(index: u16) -> u64 {
    FOREIGN + FOREIGN_NAME * (index as u64 - 1)
}

const _: () = assert!(free_list(CLASSES) == FOREIGN);
const _: () = assert!(foreign_name(FOREIGN_SLOTS + 1) <= DATA_START);
