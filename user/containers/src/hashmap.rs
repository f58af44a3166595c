//! A persistent hash map from byte strings to byte strings: a descriptor (`table`, `len`), a
//! bucket table (its size, then one chain head per bucket) and one node per entry holding
//! `next`, the key's hash, both lengths, the key, a gap of under a line and the value (the gap,
//! taken from the block's slack, starts the value on a cache line when that makes it touch fewer
//! lines).
//!
//! Every change publishes with one 8-byte store of a link: an insert fills a new node, then
//! links it; a replacement links the new node in place of the old one, then frees the old; a
//! removal unlinks, then frees; growing copies every entry into a new table, then stores
//! `table`. A holder that dies at any point leaves every key with its old or its new value (and
//! at worst leaked blocks, and `len` off by one until [`PHashMap::recount`]).
//!
//! In a heap whose holders write through a write set (a region heap), a holder's stores reach
//! the heap in whole flushes, so a value of the same length is replaced in place instead: only
//! the lines of the value whose bytes change are written, in one flush (a durable 100-byte put
//! writes two or three lines, and allocates and frees nothing).

use crate::guard::Guard;
use crate::persistent::{PPtr, Persistent};
use std::io;

/// The descriptor, stored in the heap.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MapDesc {
    table: u64,
    len: u64,
}

// SAFETY: two 8-byte integers, `repr(C)`: no padding.
unsafe impl Persistent for MapDesc {}

/// A node's fixed part; the key, `gap` bytes and the value follow it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Node {
    next: u64,
    hash: u64,
    key_len: u32,
    value_len: u32,
    /// Bytes between the key and the value (under a line).
    gap: u32,
    reserved: u32,
}

// SAFETY: integers only, `repr(C)`, 32 bytes with no padding.
unsafe impl Persistent for Node {}

impl Node {
    /// The offset of the value of this node, at `node`.
    fn value_at(&self, node: u64) -> io::Result<u64> {
        if u64::from(self.gap) >= LINE {
            return Err(corrupt("a node's gap is a line or more"));
        }
        Ok(node + NODE_BYTES + u64::from(self.key_len) + u64::from(self.gap))
    }
}

/// Lines that `len` bytes at `at` touch.
fn lines(at: u64, len: u64) -> u64 {
    if len == 0 {
        return 0;
    }
    (at + len - 1) / LINE - at / LINE + 1
}

const NODE_BYTES: u64 = std::mem::size_of::<Node>() as u64;
/// The longest value replaced in place (its changed lines must fit in one flush).
const IN_PLACE_MAX: usize = 8192;
/// Bytes of a cache line.
const LINE: u64 = 64;
const _: () = assert!(NODE_BYTES == 32, "a node's fixed part has no padding");

/// The 64-bit FNV-1a hash of `key` (stable across processes and boots, as stored hashes must be).
pub fn hash(key: &[u8]) -> u64 {
    key.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A hash map in a heap, named by the persistent pointer to its descriptor. Lookups copy the
/// value out of the region ([`PHashMap::get_into`] into a buffer the caller reuses): other
/// processes and optimistic readers share those bytes, so no slice of them is lent.
#[derive(Clone, Copy, Debug)]
pub struct PHashMap {
    desc: PPtr<MapDesc>,
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("hash map: {what}"))
}

/// Where a key was found: the link that points to its node, the node, and its fixed part.
struct Found {
    link: PPtr<u64>,
    node: u64,
    fixed: Node,
}

impl PHashMap {
    /// A new, empty map with `buckets` buckets to start with (rounded up to a power of two).
    pub fn new(g: &mut Guard<'_>, buckets: u64) -> io::Result<Self> {
        let table = Self::new_table(g, buckets.max(1).next_power_of_two())?;
        let desc = g.alloc(MapDesc { table, len: 0 })?;
        Ok(Self { desc })
    }

    /// The map whose descriptor is at `desc`.
    pub fn at(desc: PPtr<MapDesc>) -> Self {
        Self { desc }
    }

    /// Where the descriptor is: store this to find the map again.
    pub fn as_ptr(self) -> PPtr<MapDesc> {
        self.desc
    }

    fn new_table(g: &mut Guard<'_>, buckets: u64) -> io::Result<u64> {
        let bytes = buckets.checked_add(1).and_then(|n| n.checked_mul(8));
        let table = g.alloc_bytes(bytes.ok_or_else(|| corrupt("too many buckets"))?)?;
        g.write(table.cast::<u64>(), buckets)?;
        Ok(table.offset())
    }

    /// The bucket count of `table`, checked to be a power of two.
    fn buckets(g: &Guard<'_>, table: u64) -> io::Result<u64> {
        let n: u64 = g.read(PPtr::from_offset(table))?;
        if !n.is_power_of_two() {
            return Err(corrupt("bucket count is not a power of two"));
        }
        Ok(n)
    }

    fn head(table: u64, bucket: u64) -> PPtr<u64> {
        PPtr::from_offset(table + 8 + 8 * bucket)
    }

    /// The number of entries.
    pub fn len(self, g: &Guard<'_>) -> io::Result<u64> {
        Ok(g.read(self.desc)?.len)
    }

    /// Whether the map is empty.
    pub fn is_empty(self, g: &Guard<'_>) -> io::Result<bool> {
        Ok(self.len(g)? == 0)
    }

    /// Nodes a chain may hold before it must be a cycle (a corrupt map).
    fn chain_limit(g: &Guard<'_>) -> u64 {
        g.heap().arena.len() / NODE_BYTES
    }

    fn find(self, g: &Guard<'_>, key: &[u8], h: u64) -> io::Result<Option<Found>> {
        let d = g.read(self.desc)?;
        let mut link = Self::head(d.table, h & (Self::buckets(g, d.table)? - 1));
        for _ in 0..Self::chain_limit(g) {
            let node = g.read(link)?;
            if node == 0 {
                return Ok(None);
            }
            let n: Node = g.read(PPtr::from_offset(node))?;
            if n.hash == h
                && n.key_len as usize == key.len()
                && g.eq_bytes(node + NODE_BYTES, key)?
            {
                return Ok(Some(Found {
                    link,
                    node,
                    fixed: n,
                }));
            }
            link = PPtr::from_offset(node); // `next` is the node's first field
        }
        Err(corrupt("a chain loops"))
    }

    /// The value of `key`, copied out.
    pub fn get(self, g: &Guard<'_>, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        let mut value = Vec::new();
        Ok(self.get_into(g, key, &mut value)?.then_some(value))
    }

    /// Copies the value of `key` into `out` (replacing what it held); returns whether the key
    /// was there. Reusing `out` saves an allocation per lookup.
    pub fn get_into(self, g: &Guard<'_>, key: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
        out.clear();
        let Some(f) = self.find(g, key, hash(key))? else {
            return Ok(false);
        };
        let value = f.fixed.value_at(f.node)?;
        Self::copy_out(g, value, u64::from(f.fixed.value_len), out)?;
        Ok(true)
    }

    /// Copies the `len` bytes at `offset` into `out`, after checking they are in the heap (a
    /// corrupt length must give an error, not a huge buffer).
    fn copy_out(g: &Guard<'_>, offset: u64, len: u64, out: &mut Vec<u8>) -> io::Result<()> {
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= g.heap().arena.len());
        end.ok_or_else(|| corrupt("an entry runs past the heap"))?;
        out.resize(len as usize, 0);
        g.read_bytes(PPtr::from_offset(offset), out)
    }

    /// A new, unlinked node holding `key` and `value`.
    fn new_node(g: &mut Guard<'_>, key: &[u8], value: &[u8], h: u64, next: u64) -> io::Result<u64> {
        let too_long = || io::Error::new(io::ErrorKind::InvalidInput, "key or value over 4 GiB");
        let key_len = u32::try_from(key.len()).map_err(|_| too_long())?;
        let value_len = u32::try_from(value.len()).map_err(|_| too_long())?;
        let total = NODE_BYTES + key.len() as u64 + value.len() as u64;
        // Every byte the node holds is written below: no zero fill first.
        let node = g.alloc_block(total, false)?.offset();
        let key_at = node + NODE_BYTES;
        let after_key = key_at + key.len() as u64;
        // Start the value on a line if the block's slack allows and it saves a line: a later
        // replacement in place then writes fewer lines.
        let to_line = after_key.next_multiple_of(LINE) - after_key;
        let len = value.len() as u64;
        let gap = if total + to_line <= g.block_len(PPtr::<u8>::from_offset(node))?
            && lines(after_key + to_line, len) < lines(after_key, len)
        {
            to_line
        } else {
            0
        };
        g.write_bytes(PPtr::from_offset(key_at), key)?;
        g.write_bytes(PPtr::from_offset(after_key + gap), value)?;
        g.write(
            PPtr::from_offset(node),
            Node {
                next,
                hash: h,
                key_len,
                value_len,
                gap: gap as u32,
                reserved: 0,
            },
        )?;
        Ok(node)
    }

    /// Sets `key` to `value`; returns whether it replaced a value.
    pub fn insert(self, g: &mut Guard<'_>, key: &[u8], value: &[u8]) -> io::Result<bool> {
        let h = hash(key);
        if let Some(f) = self.find(g, key, h)? {
            let old = f.fixed;
            if g.heap().logged()
                && old.value_len as usize == value.len()
                && value.len() <= IN_PLACE_MAX
            {
                let at = old.value_at(f.node)?;
                Self::write_changed_lines(g, at, value)?;
                return Ok(true);
            }
            let node = Self::new_node(g, key, value, h, old.next)?;
            g.write(f.link, node)?;
            g.free(PPtr::<u8>::from_offset(f.node))?;
            return Ok(true);
        }
        let d = g.read(self.desc)?;
        let buckets = Self::buckets(g, d.table)?;
        let head = Self::head(d.table, h & (buckets - 1));
        let first = g.read(head)?;
        let node = Self::new_node(g, key, value, h, first)?;
        g.write(head, node)?;
        g.write(
            self.desc,
            MapDesc {
                table: d.table,
                len: d.len + 1,
            },
        )?;
        if d.len + 1 > buckets {
            self.grow(g)?;
        }
        Ok(false)
    }

    /// Stores `new` over the bytes at `at`, line by line, skipping the lines whose bytes it does
    /// not change; every store in one flush (a holder that dies leaves the old value or the new).
    fn write_changed_lines(g: &mut Guard<'_>, at: u64, new: &[u8]) -> io::Result<()> {
        let mut old = vec![0u8; new.len()];
        g.read_bytes(PPtr::from_offset(at), &mut old)?;
        let lines = (new.len() as u64).div_ceil(LINE) as usize + 1;
        g.reserve(lines, new.len())?;
        let mut i = 0;
        while i < new.len() {
            let here = at + i as u64;
            let n = ((here / LINE + 1) * LINE - here).min((new.len() - i) as u64) as usize;
            if old[i..i + n] != new[i..i + n] {
                g.write_bytes(PPtr::from_offset(here), &new[i..i + n])?;
            }
            i += n;
        }
        Ok(())
    }

    /// Removes `key`; returns whether it was there.
    pub fn remove(self, g: &mut Guard<'_>, key: &[u8]) -> io::Result<bool> {
        let Some(f) = self.find(g, key, hash(key))? else {
            return Ok(false);
        };
        let n = f.fixed;
        g.write(f.link, n.next)?;
        let d = g.read(self.desc)?;
        g.write(
            self.desc,
            MapDesc {
                table: d.table,
                len: d.len.saturating_sub(1),
            },
        )?;
        g.free(PPtr::<u8>::from_offset(f.node))?;
        Ok(true)
    }

    /// Calls `each(key, value)` for every entry, in no particular order, with copies of the
    /// entry's bytes.
    pub fn for_each(
        self,
        g: &Guard<'_>,
        mut each: impl FnMut(&[u8], &[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let d = g.read(self.desc)?;
        let limit = Self::chain_limit(g);
        let mut kv = Vec::new();
        for b in 0..Self::buckets(g, d.table)? {
            let mut node = g.read(Self::head(d.table, b))?;
            let mut steps = 0;
            while node != 0 {
                steps += 1;
                if steps > limit {
                    return Err(corrupt("a chain loops"));
                }
                let n: Node = g.read(PPtr::from_offset(node))?;
                n.value_at(node)?;
                let len = u64::from(n.key_len) + u64::from(n.gap) + u64::from(n.value_len);
                Self::copy_out(g, node + NODE_BYTES, len, &mut kv)?;
                let (k, rest) = kv.split_at(n.key_len as usize);
                each(k, &rest[n.gap as usize..])?;
                node = n.next;
            }
        }
        Ok(())
    }

    /// Doubles the bucket table: copies every entry into new nodes of a new table, publishes it
    /// with one store, then frees the old nodes and table.
    fn grow(self, g: &mut Guard<'_>) -> io::Result<()> {
        let d = g.read(self.desc)?;
        let buckets = Self::buckets(g, d.table)? * 2;
        let table = Self::new_table(g, buckets)?;
        let mut old_nodes = Vec::new();
        let mut entries = Vec::new();
        self.for_each(g, |k, v| {
            entries.push((k.to_vec(), v.to_vec()));
            Ok(())
        })?;
        for (k, v) in &entries {
            let h = hash(k);
            let head = Self::head(table, h & (buckets - 1));
            let first = g.read(head)?;
            let node = Self::new_node(g, k, v, h, first)?;
            g.write(head, node)?;
        }
        for b in 0..buckets / 2 {
            let mut node = g.read(Self::head(d.table, b))?;
            while node != 0 {
                old_nodes.push(node);
                node = g.read(PPtr::<u64>::from_offset(node))?;
            }
        }
        g.write(
            self.desc,
            MapDesc {
                table,
                len: entries.len() as u64,
            },
        )?;
        for node in old_nodes {
            g.free(PPtr::<u8>::from_offset(node))?;
        }
        g.free(PPtr::<u8>::from_offset(d.table))
    }

    /// Counts the entries again and stores the count: after taking the lock over from a dead
    /// holder, whose last change may have linked or unlinked a node without counting it.
    pub fn recount(self, g: &mut Guard<'_>) -> io::Result<u64> {
        let mut len = 0;
        self.for_each(g, |_, _| {
            len += 1;
            Ok(())
        })?;
        let d = g.read(self.desc)?;
        g.write(
            self.desc,
            MapDesc {
                table: d.table,
                len,
            },
        )?;
        Ok(len)
    }

    /// Frees every node, the table and the descriptor.
    pub fn destroy(self, g: &mut Guard<'_>) -> io::Result<()> {
        let d = g.read(self.desc)?;
        for b in 0..Self::buckets(g, d.table)? {
            let mut node = g.read(Self::head(d.table, b))?;
            while node != 0 {
                let next = g.read(PPtr::<u64>::from_offset(node))?;
                g.free(PPtr::<u8>::from_offset(node))?;
                node = next;
            }
        }
        g.free(PPtr::<u8>::from_offset(d.table))?;
        g.free(self.desc)
    }
}
