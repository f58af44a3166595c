//! Persistent containers on regions: a heap shared by every process that maps the region, whose
//! allocations, pointers and data are committed together, atomically.
//!
//! - [`Heap`]: a heap over a whole region (header, allocator, root object, lock);
//! - [`Guard`]: the heap lock held; every read, write, allocation and free goes through it, and
//!   its stores reach the region in one system call when it commits or releases;
//!   [`Heap::read`] runs a read-only closure without the lock when no one changes the heap
//!   meanwhile, so readers in many processes do not queue;
//! - [`PPtr`]: a region-relative pointer; [`GlobalPtr`]: a pointer into another region through
//!   the heap's table of foreign regions;
//! - [`PVec`] and [`PHashMap`]: a vector and a byte-string hash map in the heap.
//!
//! Other processes store to the region at any instant, and optimistic readers read it without
//! the lock, so nothing here lends a reference into the region: values and bytes are copied in
//! and out ([`Guard::read`], [`Guard::read_bytes`], [`PHashMap::get_into`]) through
//! [`region::Mapping`]'s atomic word accesses. A racing access then yields unspecified values
//! (which every access checks), never undefined behaviour; the lock is what makes them
//! consistent.
//!
//! ```
//! use region_containers::{Heap, PHashMap};
//!
//! // A heap in process memory runs the same code as one in a region (`Heap::open`).
//! let heap = Heap::in_memory(1 << 20)?;
//! let mut g = heap.lock()?;
//! let map = PHashMap::new(&mut g, 64)?;
//! g.set_root(map.as_ptr())?;
//! map.insert(&mut g, b"colour", b"blue")?;
//! assert_eq!(map.get(&g, b"colour")?.as_deref(), Some(&b"blue"[..]));
//! let epoch = g.commit()?; // a commit with the lock held: the heap between two operations
//! # assert_eq!(epoch, 1);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Writes: a lock holder's stores collect in its write set (its own reads see them) and reach
//! the region all at once through the kernel (`REGION_IOC_WRITE`), with the commit in the same
//! system call when the holder commits: a durable change costs one system call, no page fault,
//! no TLB shootdown and about one written line per changed line. The lock, the change counter and
//! the commit marks live in the region's volatile page (DRAM), never on persistent memory.
//!
//! Consistency: a commit through [`Heap::commit`] (or [`Guard::commit`]) captures the heap with
//! no operation half done, so after a power cut the heap is exactly as that commit left it. A
//! process that dies holding the lock leaves every structure usable (its stores reach the region
//! in whole flushes, and each step publishes with one 8-byte store): the next locker takes the
//! lock over ([`Guard::took_over`]), and at worst a block is leaked ([`Guard::check`] reports
//! it). Do not PMSYNC a region that holds a heap without its lock: that could capture an
//! operation of another process half done.

mod alloc;
mod arena;
mod check;
mod foreign;
mod guard;
mod hashmap;
mod header;
mod heap;
mod lock;
mod persistent;
mod vec;
mod volatile;
mod writeset;

pub use check::HeapReport;
pub use guard::Guard;
pub use hashmap::{hash, MapDesc, PHashMap};
pub use header::{DATA_START, FOREIGN_SLOTS, HEAP_MAGIC, HEAP_VERSION};
pub use heap::{Heap, WriteStats};
pub use lock::Acquired;
pub use persistent::{GlobalPtr, PPtr, Persistent, GLOBAL_OFFSET_BITS};
pub use vec::{PVec, VecDesc};

#[cfg(test)]
mod tests;
