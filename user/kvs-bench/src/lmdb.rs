//! LMDB (through heed) as a compared system: an environment in a folder, on ext4-DAX in the
//! guest. Every put is its own write transaction, committed before the next operation; every
//! get a read transaction that copies the value out.
//!
//! Flags: none (`EnvFlags::empty()`, LMDB's default), which is LMDB's fully durable mode and
//! the fair counterpart of a put that is durable on return: a commit writes the dirty pages with
//! `pwrite`, `fdatasync`s the data file, then writes the meta page through a descriptor opened
//! with `O_DSYNC`. Not `MDB_NOSYNC`, `MDB_NOMETASYNC` or `MDB_MAPASYNC` (they give up durability
//! or the meta page's ordering at a crash), and not `MDB_WRITEMAP` (stores into a writable map
//! and `msync`, a different design with its own crash caveats; the default is what LMDB's users
//! run). Map size 1 GiB, 64 readers (one per worker and more).

use crate::system::System;
use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions};
use region_kvs::load::{Edit, Store};
use std::io;
use std::path::{Path, PathBuf};

/// An open environment and its unnamed database.
pub struct LmdbStore {
    env: Env,
    db: Database<Bytes, Bytes>,
}

impl LmdbStore {
    /// Opens (creating when missing) the environment in `dir`.
    pub fn open(dir: &Path) -> io::Result<Self> {
        let mut opts = EnvOpenOptions::new();
        opts.map_size(1 << 30).max_readers(64);
        // SAFETY: no flags at all: LMDB's default, durable mode (see the module's doc).
        unsafe { opts.flags(EnvFlags::empty()) };
        // SAFETY: each process opens the environment once, after its fork, and closes it before
        // forking; the folder is on a local file system.
        let env = unsafe { opts.open(dir) }.map_err(|e| lmdb_error(dir, e))?;
        let mut wtxn = env.write_txn().map_err(io::Error::other)?;
        let db = env
            .create_database(&mut wtxn, None)
            .map_err(io::Error::other)?;
        wtxn.commit().map_err(io::Error::other)?;
        Ok(Self { env, db })
    }

    /// Applies `edits` in one write transaction.
    fn apply(&self, edits: &[Edit]) -> io::Result<()> {
        let mut wtxn = self.env.write_txn().map_err(io::Error::other)?;
        for e in edits {
            match e {
                Edit::Put(k, v) => self.db.put(&mut wtxn, k, v),
                Edit::Del(k) => self.db.delete(&mut wtxn, k).map(drop),
            }
            .map_err(io::Error::other)?;
        }
        wtxn.commit().map_err(io::Error::other)
    }
}

fn lmdb_error(dir: &Path, e: heed::Error) -> io::Error {
    io::Error::other(format!("LMDB environment in {}: {e}", dir.display()))
}

impl Store for LmdbStore {
    /// A put is one write transaction; `commit` is ignored (LMDB has no later commit to join).
    fn put(&mut self, key: &[u8], value: &[u8], _commit: bool) -> io::Result<()> {
        let mut wtxn = self.env.write_txn().map_err(io::Error::other)?;
        self.db
            .put(&mut wtxn, key, value)
            .map_err(io::Error::other)?;
        wtxn.commit().map_err(io::Error::other)
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
        let rtxn = self.env.read_txn().map_err(io::Error::other)?;
        out.clear();
        match self.db.get(&rtxn, key).map_err(io::Error::other)? {
            Some(v) => {
                out.extend_from_slice(v);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// LMDB in a folder. The parent opens the environment only to change it in bulk and closes it
/// again: LMDB forbids using an environment across `fork`, so each worker opens its own.
pub struct Lmdb {
    dir: PathBuf,
}

impl Lmdb {
    /// An empty environment in `dir` (created when missing; an environment already there,
    /// its `data.mdb` and `lock.mdb`, is removed first).
    pub fn fresh(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        for file in ["data.mdb", "lock.mdb"] {
            match std::fs::remove_file(dir.join(file)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        drop(LmdbStore::open(dir)?);
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }
}

impl System for Lmdb {
    fn name(&self) -> &'static str {
        "lmdb"
    }

    fn apply(&mut self, edits: &[Edit]) -> io::Result<()> {
        LmdbStore::open(&self.dir)?.apply(edits)
    }

    fn worker(&self) -> io::Result<Box<dyn Store + '_>> {
        Ok(Box::new(LmdbStore::open(&self.dir)?))
    }
}
