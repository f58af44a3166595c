//! A shared mapping of a region: its persistent memory pages, in this process.

use rustix::fd::AsFd;
use rustix::mm::{mmap, mmap_anonymous, munmap, MapFlags, ProtFlags};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

// Relaxed 8-byte atomic loads work on read-only memory on these targets (the `core::sync::atomic`
// documentation), which read-only mappings rely on; `AtomicU64` must exist and be 8-aligned.
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "powerpc64",
    target_arch = "s390x",
    target_arch = "loongarch64"
)))]
compile_error!(
    "region mappings need a 64-bit target whose 8-byte atomic loads work on read-only memory"
);
const _: () = assert!(std::mem::align_of::<AtomicU64>() == WORD);

/// Bytes in a word, the unit of every access.
const WORD: usize = 8;

/// Copies of whole words up to this size take the inline path of `read` and `write`.
const SMALL: usize = 4 * WORD;

/// A region (or anonymous shared memory), mapped shared into this process. Stores through it go
/// straight to persistent memory and are seen at once by every process that maps the region;
/// [`crate::Region::pmsync`] makes them durable. Unmapped on drop.
///
/// Other processes may store to the bytes at any time, so they are reached only by copies and
/// atomics (below: why that is sound), never as a slice:
///
/// ```no_run
/// use std::sync::atomic::Ordering;
///
/// # let dev = region::Device::open()?;
/// let region = dev.open_region("orders", region::Access::ReadWrite)?;
/// let map = region.map()?;
/// map.write(64, b"hello")?; // copies in
/// let mut buf = [0u8; 5];
/// map.read(64, &mut buf)?; // copies out
/// map.atomic_u64(0)?.fetch_add(1, Ordering::Release); // a counter shared with other processes
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Why there are no slices
///
/// Every process that maps a region may store to it at any instant, and so may other threads of
/// this process through the same or another mapping. A `&[u8]` over such bytes would promise the
/// compiler that they do not change while it lives, and a `&mut [u8]` that nothing else reads or
/// writes them; both promises are false here, and acting on them (merging or moving reads,
/// eliding stores) is undefined behaviour. So [`Mapping`] hands out no slice: it copies
/// ([`Mapping::read`], [`Mapping::write`], [`Mapping::fill`]), gives 8-byte atomics
/// ([`Mapping::atomic_u64`], [`Mapping::load_u64`]), and a raw pointer for code that manages the
/// bytes itself ([`Mapping::as_ptr`]).
///
/// # Why the copies are sound
///
/// Every access this type makes is an atomic access (`AtomicU64`) of one aligned 8-byte word of
/// the mapping; never a plain load or store, nor a volatile one (to the memory model a volatile
/// access is a plain one, so a racing store would still be a data race). Then:
///
/// - Between threads of this process, two accesses to the same word are atomic accesses of the
///   same size, so they are never a data race (Rust's memory model, which is C++20's), and never
///   the mixed-size overlap that the model leaves undefined: the only atomics this type hands out
///   are the same aligned words ([`Mapping::atomic_u64`]).
/// - Another process (or a second mapping of the same region in this process) is outside the
///   model: the compiler cannot see its stores, but since the memory is shared it must already
///   allow for stores by unknown threads at any time, and an atomic load may return whatever such
///   a store wrote. The hardware (x86-64, ARMv8: coherent caches, aligned 8-byte accesses
///   single-copy atomic) gives each load the bytes of some store. Every `u64` is valid, so a
///   load always yields a defined value.
///
/// A copy that races with stores therefore yields *unspecified bytes* (a mix of old and new,
/// word by word, or byte by byte if the other side stores bytes), never undefined behaviour.
/// Callers who need consistent bytes synchronise through something kept in the region: a lock
/// or a sequence counter in an [`AtomicU64`] from [`Mapping::atomic_u64`]. The copies are
/// `Relaxed`, so ordering comes from that atomic: a `Release` store (or fence) after writing
/// publishes the bytes, an `Acquire` load (or fence) before reading sees them. A copy that
/// covers part of a word writes the rest of it back unchanged in one compare-exchange, so a
/// concurrent store to the neighbouring bytes is never lost.
///
/// Word loads stay inside the mapping: it is page aligned and whole pages are mapped, so the
/// word that holds any mapped byte is mapped too. A region cannot shrink under a mapping
/// (`EBUSY`), so the pages stay valid until the mapping is dropped.
#[derive(Debug)]
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
    writable: bool,
    /// The region's name, for error messages (`None`: anonymous memory).
    name: Option<String>,
}

// SAFETY: the mapping is shared memory, valid from any thread until it is unmapped on drop, and
// every access through `&self` is atomic (see the documentation of `Mapping`); raw access through
// `as_ptr` is the caller's to make sound.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes at file offset `offset` of the region open as `fd`, named `name`.
    pub(crate) fn new(
        fd: impl AsFd,
        name: &str,
        len: u64,
        offset: u64,
        writable: bool,
    ) -> io::Result<Self> {
        let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let prot = if writable {
            ProtFlags::READ | ProtFlags::WRITE
        } else {
            ProtFlags::READ
        };
        // SAFETY: a new shared mapping at an address the kernel chooses; it aliases no Rust object.
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                prot,
                MapFlags::SHARED,
                fd,
                offset,
            )?
        };
        Ok(Self {
            ptr: ptr.cast(),
            len,
            writable,
            name: Some(name.to_string()),
        })
    }

    /// `len` bytes of anonymous shared memory, zeroed and writable: not a region and not
    /// persistent, but shared with children forked later, as a region's mapping is shared with
    /// other processes. For tests and examples that run without the module.
    pub fn anonymous(len: usize) -> io::Result<Self> {
        let prot = ProtFlags::READ | ProtFlags::WRITE;
        // SAFETY: a new anonymous mapping at an address the kernel chooses; it aliases nothing.
        let ptr = unsafe { mmap_anonymous(std::ptr::null_mut(), len, prot, MapFlags::SHARED)? };
        Ok(Self {
            ptr: ptr.cast(),
            len,
            writable: true,
            name: None,
        })
    }

    /// Whether the mapping may be written (the region was opened [`crate::Access::ReadWrite`]).
    #[inline]
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// Bytes mapped.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is mapped.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`. Bytes that another process or thread
    /// stores meanwhile come out old, new or mixed (unspecified, but no undefined behaviour):
    /// synchronise through the region (a lock, a counter) for a consistent copy. An error if
    /// the range is not inside the mapping.
    #[inline]
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> io::Result<()> {
        self.check(offset, buf.len())?;
        if offset.is_multiple_of(WORD) && buf.len().is_multiple_of(WORD) && buf.len() <= SMALL {
            // A few whole words (a field, a small struct): inline, without the general loop.
            for (i, chunk) in buf.chunks_exact_mut(WORD).enumerate() {
                chunk.copy_from_slice(&self.load_word(offset + i * WORD).to_ne_bytes());
            }
            return Ok(());
        }
        self.read_any(offset, buf);
        Ok(())
    }

    /// `read` of any range, checked.
    #[inline(never)]
    fn read_any(&self, offset: usize, buf: &mut [u8]) {
        let mut at = offset;
        let mut rest = buf;
        // A partial first word.
        let skip = at % WORD;
        if skip != 0 && !rest.is_empty() {
            let n = (WORD - skip).min(rest.len());
            let (head, tail) = rest.split_at_mut(n);
            self.read_part(at - skip, skip, head);
            rest = tail;
            at += n;
        }
        // Whole words.
        let mut words = rest.chunks_exact_mut(WORD);
        for chunk in &mut words {
            chunk.copy_from_slice(&self.load_word(at).to_ne_bytes());
            at += WORD;
        }
        // A partial last word.
        let tail = words.into_remainder();
        if !tail.is_empty() {
            self.read_part(at, 0, tail);
        }
    }

    /// Copies `data` to `offset`. Another process or thread that reads these bytes meanwhile may
    /// see them old, new or mixed; publish them through the region (release a lock, bump a
    /// counter) when that matters. An error if the mapping is read-only or the range is not
    /// inside it.
    #[inline]
    pub fn write(&self, offset: usize, data: &[u8]) -> io::Result<()> {
        self.check_writable()?;
        self.check(offset, data.len())?;
        if offset.is_multiple_of(WORD) && data.len().is_multiple_of(WORD) && data.len() <= SMALL {
            for (i, chunk) in data.chunks_exact(WORD).enumerate() {
                let mut word = [0; WORD];
                word.copy_from_slice(chunk);
                self.store_word(offset + i * WORD, u64::from_ne_bytes(word));
            }
            return Ok(());
        }
        self.write_any(offset, data);
        Ok(())
    }

    /// `write` of any range, checked, in a writable mapping.
    #[inline(never)]
    fn write_any(&self, offset: usize, data: &[u8]) {
        let mut at = offset;
        let mut rest = data;
        let skip = at % WORD;
        if skip != 0 && !rest.is_empty() {
            let n = (WORD - skip).min(rest.len());
            self.store_part(at - skip, skip, &rest[..n]);
            rest = &rest[n..];
            at += n;
        }
        let mut words = rest.chunks_exact(WORD);
        for chunk in &mut words {
            let mut word = [0; WORD];
            word.copy_from_slice(chunk);
            self.store_word(at, u64::from_ne_bytes(word));
            at += WORD;
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            self.store_part(at, 0, tail);
        }
    }

    /// Stores `byte` in the `len` bytes at `offset`, as [`Mapping::write`] would.
    pub fn fill(&self, offset: usize, len: usize, byte: u8) -> io::Result<()> {
        self.check_writable()?;
        self.check(offset, len)?;
        let pattern = [byte; WORD];
        let mut at = offset;
        let mut rest = len;
        let skip = at % WORD;
        if skip != 0 && rest > 0 {
            let n = (WORD - skip).min(rest);
            self.store_part(at - skip, skip, &pattern[..n]);
            rest -= n;
            at += n;
        }
        for _ in 0..rest / WORD {
            self.store_word(at, u64::from_ne_bytes(pattern));
            at += WORD;
        }
        if !rest.is_multiple_of(WORD) {
            self.store_part(at, 0, &pattern[..rest % WORD]);
        }
        Ok(())
    }

    /// The 8-byte word at `offset` (a multiple of 8), loaded `Relaxed`; works on read-only
    /// mappings too. Follow it with `fence(Acquire)` for an acquire load (an `Acquire` load itself
    /// is not guaranteed to work on read-only memory).
    #[inline]
    pub fn load_u64(&self, offset: usize) -> io::Result<u64> {
        self.check_word(offset)?;
        Ok(self.load_word(offset))
    }

    /// The 8-byte word at `offset` (a multiple of 8) as an atomic, shared with every process
    /// that maps the region (atomics are address-free: they work across processes and between
    /// two mappings of the same memory). Only for writable mappings: on a read-only one,
    /// anything but a relaxed load would fault, so use [`Mapping::load_u64`] there. The copies
    /// of this type access the same aligned words, so mixing them with these atomics is sound.
    #[inline]
    pub fn atomic_u64(&self, offset: usize) -> io::Result<&AtomicU64> {
        self.check_writable()?;
        self.check_word(offset)?;
        // SAFETY: `offset` is a multiple of 8 and `offset + 8 <= len` (checked), so the word is
        // aligned and inside the mapping, which is readable and writable (checked) until `self`
        // is dropped, and the borrow cannot outlive `self`. Every access this type makes to the
        // word is an 8-byte atomic one (the documentation of `Mapping`), so the memory model holds.
        Ok(unsafe { AtomicU64::from_ptr(self.ptr.add(offset).cast()) })
    }

    /// The address of the first byte, for code that manages the bytes itself. Whoever
    /// dereferences it takes over what this type guarantees: never make a reference (`&`,
    /// `&mut`, slice) to bytes another process or thread may store to concurrently, access such
    /// bytes only with atomics (aligned 8-byte ones, to mix soundly with this type's accesses),
    /// store only if [`Mapping::is_writable`], stay within [`Mapping::len`] bytes, and stop
    /// using the pointer when the mapping is dropped.
    #[inline]
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// What the mapping maps, for error messages.
    fn what(&self) -> String {
        match &self.name {
            Some(name) => format!("region '{name}'"),
            None => "anonymous mapping".to_string(),
        }
    }

    /// An error unless `len` bytes at `offset` are inside the mapping.
    #[inline]
    fn check(&self, offset: usize, len: usize) -> io::Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(self.outside(offset, len)),
        }
    }

    /// The error of `len` bytes at `offset` that are not inside the mapping.
    #[cold]
    #[inline(never)]
    fn outside(&self, offset: usize, len: usize) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: {len} bytes at offset {offset} are outside the mapping ({} bytes)",
                self.what(),
                self.len
            ),
        )
    }

    /// An error unless an aligned word is at `offset`, inside the mapping.
    #[inline]
    fn check_word(&self, offset: usize) -> io::Result<()> {
        if !offset.is_multiple_of(WORD) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: offset {offset} of an 8-byte atomic is not a multiple of 8",
                    self.what()
                ),
            ));
        }
        self.check(offset, WORD)
    }

    /// An error unless the mapping is writable.
    #[inline]
    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            return Ok(());
        }
        Err(self.read_only())
    }

    /// The error of a store through a read-only mapping.
    #[cold]
    #[inline(never)]
    fn read_only(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: the mapping is read-only", self.what()),
        )
    }

    /// The word at `at` (a multiple of 8 whose word holds a byte of the mapping), loaded
    /// `Relaxed`.
    #[inline]
    fn load_word(&self, at: usize) -> u64 {
        debug_assert!(at.is_multiple_of(WORD) && at < self.len);
        // SAFETY: `at` is a multiple of 8 below `len` (callers check the range), so the word is
        // aligned and inside the mapped pages (page aligned, whole pages), which stay mapped
        // until `self` is dropped. A `Relaxed` 8-byte load works even on read-only memory on the
        // targets this module compiles for (see the `compile_error!` above), and every access
        // this type makes to the word is an 8-byte atomic one.
        unsafe { (*self.ptr.add(at).cast::<AtomicU64>()).load(Relaxed) }
    }

    /// The word at `at` (as for `load_word`) in a writable mapping.
    #[inline]
    fn word(&self, at: usize) -> &AtomicU64 {
        debug_assert!(self.writable && at.is_multiple_of(WORD) && at < self.len);
        // SAFETY: as in `load_word`, and the mapping is writable (callers check), so the word is
        // valid for reads and writes while `self` is borrowed.
        unsafe { AtomicU64::from_ptr(self.ptr.add(at).cast()) }
    }

    /// Stores `value` in the whole word at `at`.
    #[inline]
    fn store_word(&self, at: usize, value: u64) {
        self.word(at).store(value, Relaxed);
    }

    /// Copies bytes `skip..skip + dst.len()` (at most 8) of the word at `at` into `dst`.
    #[inline]
    fn read_part(&self, at: usize, skip: usize, dst: &mut [u8]) {
        // Byte k of the word in memory order is at bits 8k of `bits` (shifts, not a variable
        // length `memcpy` call, for these few bytes).
        let mut bits = u64::from_le_bytes(self.load_word(at).to_ne_bytes()) >> (8 * skip);
        for byte in dst {
            *byte = bits as u8;
            bits >>= 8;
        }
    }

    /// Stores `bytes` at byte `skip` of the word at `at`, keeping its other bytes: one
    /// compare-exchange, so a concurrent store to those other bytes is not lost.
    #[inline]
    fn store_part(&self, at: usize, skip: usize, bytes: &[u8]) {
        let (mut mask, mut value) = (0u64, 0u64);
        for (i, &byte) in bytes.iter().enumerate() {
            let shift = 8 * (skip + i);
            mask |= 0xff << shift;
            value |= u64::from(byte) << shift;
        }
        // From memory order (byte k at bits 8k) to the word's own.
        let mask = u64::from_ne_bytes(mask.to_le_bytes());
        let value = u64::from_ne_bytes(value.to_le_bytes());
        let word = self.word(at);
        let mut current = word.load(Relaxed);
        while let Err(now) =
            word.compare_exchange_weak(current, (current & !mask) | value, Relaxed, Relaxed)
        {
            current = now;
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are the mapping made in `new` or `anonymous`, unmapped once,
        // here; no borrow of `self` (atomics included) outlives this.
        let _ = unsafe { munmap(self.ptr.cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn copies_round_trip_at_every_alignment_and_length() {
        let map = Mapping::anonymous(4096).expect("mapped");
        let data: Vec<u8> = (1..=40).collect();
        for offset in 0..16 {
            for len in 0..=data.len() {
                map.fill(0, 64, 0xee).expect("filled");
                map.write(offset, &data[..len]).expect("written");
                let mut all = [0u8; 64];
                map.read(0, &mut all).expect("read");
                assert!(all[..offset].iter().all(|&b| b == 0xee), "before {offset}");
                assert_eq!(&all[offset..offset + len], &data[..len], "{offset}+{len}");
                assert!(all[offset + len..].iter().all(|&b| b == 0xee), "after");
                let mut back = vec![0u8; len];
                map.read(offset, &mut back).expect("read");
                assert_eq!(back, &data[..len]);
            }
        }
    }

    #[test]
    fn atomics_and_copies_see_the_same_bytes() {
        let map = Mapping::anonymous(4096).expect("mapped");
        map.atomic_u64(8)
            .expect("aligned")
            .store(u64::from_ne_bytes(*b"abcdefgh"), Ordering::Release);
        let mut buf = [0u8; 4];
        map.read(10, &mut buf).expect("read");
        assert_eq!(&buf, b"cdef");
        map.write(12, b"XY").expect("written");
        assert_eq!(
            map.load_u64(8).expect("aligned").to_ne_bytes(),
            *b"abcdXYgh"
        );
    }

    #[test]
    fn out_of_range_misaligned_and_read_only_are_errors() {
        let map = Mapping::anonymous(4096).expect("mapped");
        let mut buf = [0u8; 8];
        let e = map.read(4090, &mut buf).expect_err("past the end");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("outside the mapping"), "{e}");
        assert!(map.read(usize::MAX - 2, &mut buf).is_err(), "overflow");
        assert!(map.write(4096, b"x").is_err());
        assert!(map.fill(4000, 97, 0).is_err());
        map.read(4088, &mut buf).expect("the last word");
        map.read(4096, &mut []).expect("nothing, at the end");
        assert!(map.atomic_u64(4).is_err(), "misaligned");
        assert!(map.atomic_u64(4096).is_err(), "past the end");
        assert!(map.load_u64(4092).is_err());
        let mut ro = Mapping::anonymous(4096).expect("mapped");
        ro.writable = false; // as a region opened read-only maps it
        assert_eq!(ro.load_u64(0).expect("loads work"), 0);
        ro.read(1, &mut buf).expect("reads work");
        for e in [
            ro.write(0, b"x").expect_err("read-only"),
            ro.fill(0, 1, 0).expect_err("read-only"),
            ro.atomic_u64(0).map(drop).expect_err("read-only"),
        ] {
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
        }
    }

    #[test]
    fn partial_word_stores_keep_concurrent_neighbours() {
        // Two threads store to the two halves of the same words, byte-range copies against
        // whole-word atomics: neither loses the other's bytes.
        let map = Mapping::anonymous(4096).expect("mapped");
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..20_000u32 {
                    let b = (i % 251) as u8;
                    map.write(1, &[b; 3]).expect("written");
                }
            });
            s.spawn(|| {
                for _ in 0..20_000 {
                    map.atomic_u64(0)
                        .expect("aligned")
                        .fetch_add(1 << 56, Ordering::Relaxed);
                }
            });
        });
        let word = map.load_u64(0).expect("aligned");
        assert_eq!(word >> 56, 20_000 % 256, "no increment lost");
        assert_eq!(word.to_ne_bytes()[1..4], [(19_999 % 251) as u8; 3]);
    }
}
