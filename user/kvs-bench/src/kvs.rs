//! The KVS as a compared system: in a region (`kvs`, every put `Kvs::put`, durable by PMSYNC
//! on return), or in process memory shared with forked workers (`kvs-memory`: the same code
//! paths without the module or durability, for host checks of the matrix).

use crate::system::System;
use region::Device;
use region_kvs::load::{Edit, Store};
use region_kvs::Kvs;
use std::borrow::Borrow;
use std::io;

/// Edits per commit when changing the store in bulk: bounds the undo space one commit needs.
const BATCH: usize = 256;

/// A KVS as a workload store: a put with `commit` is [`Kvs::put`] (durable on return), a get is
/// [`Kvs::get_into`] (a copy out, without the lock).
pub struct KvsStore<K: Borrow<Kvs>>(pub K);

impl<K: Borrow<Kvs>> Store for KvsStore<K> {
    fn put(&mut self, key: &[u8], value: &[u8], commit: bool) -> io::Result<()> {
        let kvs = self.0.borrow();
        if commit {
            kvs.put(key, value).map(drop)
        } else {
            kvs.lock()?.put(key, value).map(drop)
        }
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
        self.0.borrow().get_into(key, out)
    }
}

/// Applies `edits` to `kvs`, [`BATCH`] per lock and commit.
fn apply(kvs: &Kvs, edits: &[Edit]) -> io::Result<()> {
    for chunk in edits.chunks(BATCH) {
        let mut g = kvs.lock()?;
        for e in chunk {
            match e {
                Edit::Put(k, v) => drop(g.put(k, v)?),
                Edit::Del(k) => drop(g.del(k)?),
            }
        }
        g.commit()?;
    }
    Ok(())
}

/// The KVS in a region of `/dev/region`. The parent opens it only to change it in bulk and closes
/// it again, so that forked workers inherit no mapping of it (each worker opens its own).
pub struct RegionKvs {
    name: String,
}

impl RegionKvs {
    /// Makes an empty store in region `name`: the region is erased if it exists, else created
    /// with `size` bytes (mode 0600).
    pub fn fresh(name: &str, size: u64) -> io::Result<Self> {
        let dev = Device::open()?;
        match dev.stat(name) {
            Ok(_) => drop(Kvs::format(&dev, name)?),
            Err(e) if region::errno(&e) == Some(libc::ENOENT) => {
                drop(Kvs::create(&dev, name, size, 0o600)?)
            }
            Err(e) => return Err(e),
        }
        Ok(Self {
            name: name.to_string(),
        })
    }

    fn open(&self) -> io::Result<Kvs> {
        Kvs::open(&Device::open()?, &self.name)
    }
}

impl System for RegionKvs {
    fn name(&self) -> &'static str {
        "kvs"
    }

    fn apply(&mut self, edits: &[Edit]) -> io::Result<()> {
        apply(&self.open()?, edits)
    }

    fn worker(&self) -> io::Result<Box<dyn Store + '_>> {
        Ok(Box::new(KvsStore(self.open()?)))
    }
}

/// The KVS in anonymous shared memory made before the workers are forked, so they share it.
pub struct MemoryKvs {
    kvs: Kvs,
}

impl MemoryKvs {
    /// An empty store of `size` bytes.
    pub fn new(size: u64) -> io::Result<Self> {
        let size = usize::try_from(size).map_err(io::Error::other)?;
        Ok(Self {
            kvs: Kvs::in_memory(size)?,
        })
    }
}

impl System for MemoryKvs {
    fn name(&self) -> &'static str {
        "kvs-memory"
    }

    fn apply(&mut self, edits: &[Edit]) -> io::Result<()> {
        apply(&self.kvs, edits)
    }

    fn worker(&self) -> io::Result<Box<dyn Store + '_>> {
        Ok(Box::new(KvsStore(&self.kvs)))
    }
}
