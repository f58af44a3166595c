//! A key-value store in one region, shared by any number of processes: a persistent hash map in
//! a region heap (`region-containers`). A durable put takes the heap lock (a word in the
//! region's volatile page), changes the map in the holder's write set, and writes and commits
//! it with one system call (`REGION_IOC_WRITE` with its commit flag): no page fault, no TLB
//! shootdown, and for a replaced value of the same length only the value's changed lines are
//! written. Lookups take no lock: they copy the value out of persistent memory once, straight
//! into the caller's buffer, and retry if a writer wrote meanwhile. Other processes may store to
//! the region at any instant, so no slice of it is lent (see `region::Mapping`).
//!
//! ```no_run
//! use region_kvs::Kvs;
//!
//! let dev = region::Device::open()?;
//! let kvs = Kvs::create(&dev, "kvs", 64 << 20, 0o600)?;
//! kvs.put(b"apple", b"red")?; // durable when it returns
//! assert_eq!(kvs.get(b"apple")?.as_deref(), Some(&b"red"[..])); // without the lock
//! let colour = kvs.lock()?.get(b"apple")?; // under the lock
//! assert_eq!(colour.as_deref(), Some(&b"red"[..]));
//! # Ok::<(), std::io::Error>(())
//! ```

use region::Device;
use region_containers::{Guard, Heap, MapDesc, PHashMap, PPtr, Persistent};
use std::io;

/// "RGNKVS01", little-endian: the root object's first word.
pub const KVS_MAGIC: u64 = u64::from_le_bytes(*b"RGNKVS01");

/// Buckets of a new store's map (it doubles as it fills).
const FIRST_BUCKETS: u64 = 1024;

/// The heap's root object.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Root {
    magic: u64,
    map: PPtr<MapDesc>,
}

// SAFETY: two 8-byte integers, `repr(C)`: no padding.
unsafe impl Persistent for Root {}

/// A key-value store in a region.
#[derive(Debug)]
pub struct Kvs {
    heap: Heap,
    map: PHashMap,
}

/// The store's lock, held: reads see no change of another process half done; changes made
/// through it are durable after [`KvsGuard::commit`] (or a later commit by any process).
#[derive(Debug)]
pub struct KvsGuard<'k> {
    guard: Guard<'k>,
    map: PHashMap,
}

fn invalid(name: &str, why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("kvs '{name}': {why}"))
}

impl Kvs {
    /// Creates region `name` of `size` bytes holding an empty store, committed.
    pub fn create(dev: &Device, name: &str, size: u64, mode: u32) -> io::Result<Self> {
        Self::init(Heap::create(dev, name, size, mode)?)
    }

    /// Erases the existing region `name` and makes an empty store in it, committed.
    pub fn format(dev: &Device, name: &str) -> io::Result<Self> {
        Self::init(Heap::format(dev, name)?)
    }

    /// An empty store in process memory (no module, no durability), for examples and tests.
    pub fn in_memory(size: usize) -> io::Result<Self> {
        Self::init(Heap::in_memory(size)?)
    }

    /// An empty store in process memory whose heap runs the write path of a region heap
    /// ([`Heap::in_memory_logged`]): for tests, and to count what each operation writes
    /// ([`Heap::write_stats`]) without the module.
    pub fn in_memory_logged(size: usize) -> io::Result<Self> {
        Self::init(Heap::in_memory_logged(size)?)
    }

    fn init(heap: Heap) -> io::Result<Self> {
        let map = {
            let mut g = heap.lock()?;
            let map = PHashMap::new(&mut g, FIRST_BUCKETS)?;
            let root = g.alloc(Root {
                magic: KVS_MAGIC,
                map: map.as_ptr(),
            })?;
            g.set_root(root)?;
            g.commit()?;
            map
        };
        Ok(Self { heap, map })
    }

    /// Opens the store in region `name`.
    pub fn open(dev: &Device, name: &str) -> io::Result<Self> {
        Self::with_heap(Heap::open(dev, name)?)
    }

    /// Opens the store in region `name` for reading: with write access when the caller has it
    /// (so that a dead lock holder can be taken over), else read-only, which needs only read
    /// permission; gets and scans work either way.
    pub fn open_for_reading(dev: &Device, name: &str) -> io::Result<Self> {
        match Heap::open(dev, name) {
            Err(e) if region::errno(&e) == Some(13) => {
                Self::with_heap(Heap::open_read_only(dev, name)?)
            }
            other => Self::with_heap(other?),
        }
    }

    fn with_heap(heap: Heap) -> io::Result<Self> {
        let name = heap.name().to_string();
        let map = heap.read(|g| {
            let root: PPtr<Root> = g.root()?;
            if root.is_null() {
                return Err(invalid(
                    &name,
                    "the heap holds no store (its root is empty)",
                ));
            }
            let root = g.read(root)?;
            if root.magic != KVS_MAGIC {
                return Err(invalid(&name, "the heap's root is not a store"));
            }
            Ok(PHashMap::at(root.map))
        })?;
        Ok(Self { heap, map })
    }

    /// Every entry whose key starts with `prefix`, sorted by key (without the lock when it can).
    pub fn scan(&self, prefix: &[u8]) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.heap.read(|g| scan(self.map, g, prefix))
    }

    /// The number of keys (without the lock when it can).
    pub fn len(&self) -> io::Result<u64> {
        self.heap.read(|g| self.map.len(g))
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The heap the store lives in.
    pub fn heap(&self) -> &Heap {
        &self.heap
    }

    /// Takes the store's lock. If its last holder died holding it, the entry count is redone.
    pub fn lock(&self) -> io::Result<KvsGuard<'_>> {
        let mut guard = self.heap.lock()?;
        if guard.took_over() {
            self.map.recount(&mut guard)?;
        }
        Ok(KvsGuard {
            guard,
            map: self.map,
        })
    }

    /// Sets `key` to `value` and commits: durable when it returns. Returns the epoch whose
    /// snapshot holds the put. Uncontended, that is one system call: the lock is a word in DRAM,
    /// and the map's changes are written and committed by one `REGION_IOC_WRITE`.
    pub fn put(&self, key: &[u8], value: &[u8]) -> io::Result<u64> {
        let mut g = self.lock()?;
        g.put(key, value)?;
        let epoch = g.commit()?;
        g.release()?;
        Ok(epoch)
    }

    /// Removes `key` and commits; returns whether it was there.
    pub fn del(&self, key: &[u8]) -> io::Result<bool> {
        let mut g = self.lock()?;
        let found = g.del(key)?;
        if found {
            g.commit()?;
        }
        g.release()?;
        Ok(found)
    }

    /// The value of `key`, copied out. Reads without the lock when no one changes the store
    /// meanwhile ([`Heap::read`]), so readers in many processes do not wait for each other.
    pub fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        self.heap.read(|g| self.map.get(g, key))
    }

    /// Copies the value of `key` into `out` (replacing what it held; reuse it to save an
    /// allocation per get); returns whether the key was there. Without the lock, as
    /// [`Kvs::get`].
    pub fn get_into(&self, key: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
        self.heap.read(|g| self.map.get_into(g, key, out))
    }
}

impl KvsGuard<'_> {
    /// The value of `key`, copied out.
    pub fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        self.map.get(&self.guard, key)
    }

    /// Sets `key` to `value` (durable at the next commit); returns whether it replaced a value.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> io::Result<bool> {
        self.map.insert(&mut self.guard, key, value)
    }

    /// Removes `key` (durable at the next commit); returns whether it was there.
    pub fn del(&mut self, key: &[u8]) -> io::Result<bool> {
        self.map.remove(&mut self.guard, key)
    }

    /// The number of keys.
    pub fn len(&self) -> io::Result<u64> {
        self.map.len(&self.guard)
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> io::Result<bool> {
        self.map.is_empty(&self.guard)
    }

    /// Every entry whose key starts with `prefix`, sorted by key.
    pub fn scan(&self, prefix: &[u8]) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        scan(self.map, &self.guard, prefix)
    }

    /// Commits with the lock held (one `REGION_IOC_WRITE` that writes this guard's changes and
    /// commits): every change so far, of every process, is durable.
    pub fn commit(&self) -> io::Result<u64> {
        self.guard.commit()
    }

    /// Releases the lock (writing its changes into the region, uncommitted), then makes them
    /// durable, sharing one commit with other processes that commit at the same time (group
    /// commit, [`Heap::commit_through`]); returns an epoch that holds them.
    pub fn commit_after(self) -> io::Result<u64> {
        let heap = self.guard.heap();
        let change = self.guard.release()?;
        heap.commit_through(change)
    }

    /// Releases the lock, writing the changes made through it into the region (visible to every
    /// process, durable at the next commit); an error if that write failed (they are lost).
    pub fn release(self) -> io::Result<()> {
        self.guard.release().map(drop)
    }

    /// The heap lock itself, for a heap check.
    pub fn heap_guard(&self) -> &Guard<'_> {
        &self.guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_del_scan() {
        let kvs = Kvs::in_memory(4 << 20).expect("store");
        kvs.put(b"b/2", b"two").expect("put");
        kvs.put(b"a/1", b"one").expect("put");
        kvs.put(b"b/1", b"uno").expect("put");
        kvs.put(b"b/1", b"one").expect("replace");
        assert_eq!(kvs.get(b"b/1").expect("get").as_deref(), Some(&b"one"[..]));
        assert_eq!(kvs.get(b"zzz").expect("get"), None);
        {
            let g = kvs.lock().expect("lock");
            assert_eq!(g.len().expect("len"), 3);
            let scan = g.scan(b"b/").expect("scan");
            let keys: Vec<_> = scan.iter().map(|(k, _)| k.as_slice()).collect();
            assert_eq!(keys, [&b"b/1"[..], b"b/2"]);
        }
        assert!(kvs.del(b"a/1").expect("del"));
        assert!(!kvs.del(b"a/1").expect("del again"));
        let g = kvs.lock().expect("lock");
        assert_eq!(g.len().expect("len"), 2);
        assert!(g.heap_guard().check().expect("check").problems.is_empty());
    }

    /// The common KVS workload's key `i` and the value of operation `j` of worker 0.
    fn key(i: u32) -> Vec<u8> {
        format!("key-{i:06}").into_bytes()
    }
    fn value(j: u32, len: usize) -> Vec<u8> {
        (0..len)
            .map(|k| ((j as usize * 31 + k) & 0xff) as u8)
            .collect()
    }

    /// What one durable put writes, in the write path of a region heap: one write call that
    /// commits, one range of two lines for a 100-byte value replaced (no allocation, no lock
    /// word, no counter on persistent memory), a handful for an insert.
    #[test]
    fn a_durable_put_is_one_write_call_of_a_few_lines() {
        let kvs = Kvs::in_memory_logged(16 << 20).expect("store");
        for i in 0..10_000 {
            let mut g = kvs.lock().expect("lock");
            // A constant fill: no line of a put's value matches it, so every put writes.
            g.put(&key(i), &[0xaa; 100]).expect("fill");
            g.release().expect("released");
        }
        kvs.heap().commit().expect("commit");
        let per_put = |ops: u32, f: &dyn Fn(u32)| {
            let before = kvs.heap().write_stats();
            for j in 0..ops {
                f(j);
            }
            let after = kvs.heap().write_stats();
            let n = f64::from(ops);
            (
                (after.writes - before.writes) as f64 / n,
                (after.commits - before.commits) as f64 / n,
                (after.ranges - before.ranges) as f64 / n,
                (after.lines - before.lines) as f64 / n,
            )
        };
        let put100 = per_put(2000, &|j| {
            let i = (j * 7919) % 10_000;
            kvs.put(&key(i), &value(j, 100)).expect("put");
        });
        eprintln!("put100 per put: writes/commits/ranges/lines {put100:?}");
        assert_eq!((put100.0, put100.1, put100.2), (1.0, 1.0, 1.0));
        assert_eq!(put100.3, 2.0, "two lines: the value starts on a line");
        let put4k = per_put(500, &|j| {
            let i = (j * 7919) % 1000;
            kvs.put(&key(i), &value(j, 4096)).expect("put");
        });
        eprintln!("put4k per put: writes/commits/ranges/lines {put4k:?}");
        let insert100 = per_put(2000, &|j| {
            let k = format!("new-00-{j:07}");
            kvs.put(k.as_bytes(), &value(j, 100)).expect("insert");
        });
        eprintln!("insert100 per put: writes/commits/ranges/lines {insert100:?}");
        assert!(insert100.2 <= 8.0 && insert100.3 <= 12.0, "{insert100:?}");
        let g = kvs.lock().expect("lock");
        assert_eq!(g.len().expect("len"), 12_000);
        assert!(g.heap_guard().check().expect("check").problems.is_empty());
        drop(g);
        let mut out = Vec::new();
        assert!(kvs.get_into(&key(7919), &mut out).expect("get"));
        assert_eq!(out, value(1, 100));
    }
}

/// Every entry of `map` whose key starts with `prefix`, sorted by key.
fn scan(map: PHashMap, g: &Guard<'_>, prefix: &[u8]) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut found = Vec::new();
    map.for_each(g, |k, v| {
        if k.starts_with(prefix) {
            found.push((k.to_vec(), v.to_vec()));
        }
        Ok(())
    })?;
    found.sort();
    Ok(found)
}

pub mod load;

impl load::Store for Kvs {
    fn put(&mut self, key: &[u8], value: &[u8], commit: bool) -> io::Result<()> {
        let mut g = self.lock()?;
        g.put(key, value)?;
        if commit {
            g.commit()?;
        }
        g.release()
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
        self.get_into(key, out)
    }
}

pub mod torture;
