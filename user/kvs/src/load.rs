//! The load generator: worker processes run a mix of puts and gets on random keys, each put
//! committed (durable) before the next operation, and report what they did; the parent adds it
//! up. The same workload runs on any [`Store`], so a benchmark can hold the KVS against another
//! store (LMDB in `kvs-bench`).
//!
//! Besides that random load (`kvs load`), the workloads of the shared benchmark protocol
//! ([`Workload`]: `put100`, `get100`, `insert100`, `put4k`, `mix100`) live here with their exact
//! keys, values and key order, so that every KVS-like system of the comparison (this KVS, LMDB,
//! PMDK's hash map in C) does the same work: [`protocol_key`], [`op_value`], [`run_workload`],
//! [`fill_edits`] and [`restore_edits`].

use std::io::{self, Write as _};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A store the workload can drive.
pub trait Store {
    /// Sets `key` to `value`, durably, when `commit`; else at a later commit.
    fn put(&mut self, key: &[u8], value: &[u8], commit: bool) -> io::Result<()>;
    /// Reads `key`'s value into `out` (a copy is how a caller would use it); whether it exists.
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> io::Result<bool>;
}

/// What one worker does.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Operations.
    pub ops: u64,
    /// Distinct keys the operations pick from.
    pub keys: u64,
    /// Bytes of each value.
    pub value_size: usize,
    /// Percent of operations that are gets (the rest are puts).
    pub get_percent: u32,
    /// Puts per commit (1: every put durable before the next operation).
    pub batch: u64,
    /// Seed of the worker's key sequence.
    pub seed: u64,
}

/// What one or more workers did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Puts done.
    pub puts: u64,
    /// Gets done.
    pub gets: u64,
    /// Gets that found their key.
    pub hits: u64,
    /// The longest worker's time, in seconds.
    pub seconds: f64,
}

impl Outcome {
    /// Operations per second over all workers.
    pub fn ops_per_second(&self) -> f64 {
        (self.puts + self.gets) as f64 / self.seconds.max(1e-9)
    }

    /// The line a worker prints for its parent.
    pub fn to_line(&self) -> String {
        format!(
            "LOAD-RESULT {} {} {} {:.6}",
            self.puts, self.gets, self.hits, self.seconds
        )
    }

    /// Parses a worker's line.
    pub fn from_line(line: &str) -> Option<Self> {
        let mut f = line.strip_prefix("LOAD-RESULT ")?.split_whitespace();
        Some(Self {
            puts: f.next()?.parse().ok()?,
            gets: f.next()?.parse().ok()?,
            hits: f.next()?.parse().ok()?,
            seconds: f.next()?.parse().ok()?,
        })
    }
}

/// The key of number `n`.
pub fn key(n: u64) -> Vec<u8> {
    format!("key{n:010}").into_bytes()
}

/// A value of `size` bytes that names its key and a version.
pub fn value(n: u64, version: u64, size: usize) -> Vec<u8> {
    let mut v = format!("{n}:{version}:").into_bytes();
    v.resize(size.max(v.len()), b'.');
    v
}

/// A small, fast pseudo-random sequence (xorshift64*), the same on every host.
pub struct Rng(u64);

impl Rng {
    /// A sequence from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Puts every key once, committing every `batch` puts, so that gets find them.
pub fn fill(store: &mut impl Store, keys: u64, value_size: usize, batch: u64) -> io::Result<()> {
    for n in 0..keys {
        let commit = (n + 1) % batch.max(1) == 0 || n + 1 == keys;
        store.put(&key(n), &value(n, 0, value_size), commit)?;
    }
    Ok(())
}

/// Runs one worker's operations on `store`.
pub fn run(store: &mut impl Store, spec: &Spec) -> io::Result<Outcome> {
    let mut rng = Rng::new(spec.seed);
    let mut out = Outcome::default();
    let mut buf = Vec::new();
    let mut pending = 0;
    let start = Instant::now();
    for i in 0..spec.ops {
        let n = rng.next_u64() % spec.keys.max(1);
        if (rng.next_u64() % 100) < u64::from(spec.get_percent) {
            out.gets += 1;
            if store.get(&key(n), &mut buf)? {
                out.hits += 1;
            }
        } else {
            out.puts += 1;
            pending += 1;
            let commit = pending >= spec.batch.max(1) || i + 1 == spec.ops;
            store.put(&key(n), &value(n, i + 1, spec.value_size), commit)?;
            if commit {
                pending = 0;
            }
        }
    }
    out.seconds = start.elapsed().as_secs_f64();
    Ok(out)
}

/// Runs `procs` copies of `command` (each a worker that prints [`Outcome::to_line`]), waits
/// for all, and adds up their outcomes.
pub fn run_processes(procs: u32, command: impl Fn(u32) -> Command) -> io::Result<Outcome> {
    let children: Vec<_> = (0..procs)
        .map(|i| command(i).stdout(Stdio::piped()).spawn())
        .collect::<io::Result<_>>()?;
    let mut total = Outcome::default();
    for child in children {
        let output = child.wait_with_output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text.lines().find_map(Outcome::from_line);
        let one = match (output.status.success(), line) {
            (true, Some(one)) => one,
            _ => {
                return Err(io::Error::other(format!(
                    "a worker failed ({})",
                    output.status
                )))
            }
        };
        total.puts += one.puts;
        total.gets += one.gets;
        total.hits += one.hits;
        total.seconds = total.seconds.max(one.seconds);
    }
    Ok(total)
}

/// Keys of the protocol's key space (`key-000000` .. `key-009999`).
pub const PROTOCOL_KEYS: u32 = 10_000;

/// Bytes of the values the key space is filled with (and of `put100`'s values).
pub const SMALL_VALUE: usize = 100;

/// Bytes of `put4k`'s values.
pub const LARGE_VALUE: usize = 4096;

/// Keys `put4k` uses: key indexes are taken modulo this.
pub const LARGE_KEYS: u32 = 1000;

/// A workload of the shared benchmark protocol (issue 11). Worker `w` of a phase runs its
/// operations `j = 0, 1, ...`; every put is durable before the next operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Replace the value of key `(j * 7919 + w * 104729) % 10000` with 100 bytes.
    Put100,
    /// Look that key up and copy its value out (it must be 100 bytes).
    Get100,
    /// Insert the new key `new-WW-JJJJJJJ` with a 100-byte value (the table grows).
    Insert100,
    /// Like `Put100` with 4096-byte values, on keys `i % 1000` only.
    Put4k,
    /// A `Put100` when `j % 10 == 0`, else a `Get100`.
    Mix100,
}

impl Workload {
    /// Every workload, in the protocol's order.
    pub const ALL: [Workload; 5] = [
        Workload::Put100,
        Workload::Get100,
        Workload::Insert100,
        Workload::Put4k,
        Workload::Mix100,
    ];

    /// The name in COUNTS lines and on command lines.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Put100 => "put100",
            Workload::Get100 => "get100",
            Workload::Insert100 => "insert100",
            Workload::Put4k => "put4k",
            Workload::Mix100 => "mix100",
        }
    }

    /// The workload called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Operations per worker when the bench asks for `ops` (`put4k` does a quarter, rounded up:
    /// the protocol's defaults are 2000 and 500).
    pub fn ops_per_worker(self, ops: u64) -> u64 {
        match self {
            Workload::Put4k => ops.div_ceil(4),
            _ => ops,
        }
    }
}

/// Key `i` of the key space: the 10 bytes of `printf("key-%06u", i)`.
pub fn protocol_key(i: u32, out: &mut Vec<u8>) {
    out.clear();
    // Writing to a Vec cannot fail.
    let _ = write!(out, "key-{i:06}");
}

/// The key `insert100` adds as operation `j` of worker `w`: `printf("new-%02u-%07u", w, j)`.
pub fn insert_key(w: u32, j: u64, out: &mut Vec<u8>) {
    out.clear();
    let _ = write!(out, "new-{w:02}-{j:07}");
}

/// The index of the key operation `j` of worker `w` uses: `(j * 7919 + w * 104729) % 10000`,
/// modulo 1000 for `put4k` (computed without overflow for any `j`).
pub fn op_key_index(workload: Workload, j: u64, w: u32) -> u32 {
    let n = u64::from(PROTOCOL_KEYS);
    let i = ((j % n) * 7919 + u64::from(w) * 104_729) % n;
    let i = if workload == Workload::Put4k {
        i % u64::from(LARGE_KEYS)
    } else {
        i
    };
    // i < 10000.
    i as u32
}

/// The salt of a phase: `8 * n + procs`, `n` the workload's place in put100, get100, insert100,
/// put4k, mix100 (0 to 4). It goes into every value the phase writes, so that no phase writes a
/// key the value an earlier phase left there (a store that skips unchanged bytes would then write
/// nothing, while the others write).
pub fn phase_salt(workload: Workload, procs: u32) -> u64 {
    let n = match workload {
        Workload::Put100 => 0,
        Workload::Get100 => 1,
        Workload::Insert100 => 2,
        Workload::Put4k => 3,
        Workload::Mix100 => 4,
    };
    8 * n + u64::from(procs)
}

/// The value operation `j` of worker `w` writes in a phase of salt `salt` ([`phase_salt`]; 0 for
/// the fill): `len` bytes, byte `k` = `(j*31 + w*7 + salt*13 + k) & 0xff`.
pub fn op_value(j: u64, w: u32, salt: u64, len: usize, out: &mut Vec<u8>) {
    let base = j
        .wrapping_mul(31)
        .wrapping_add(u64::from(w) * 7)
        .wrapping_add(salt.wrapping_mul(13));
    out.clear();
    out.extend((0..len as u64).map(|k| (base.wrapping_add(k) & 0xff) as u8));
}

/// The value key `i` is filled with: the 100 bytes [`op_value`] gives operation `i` of worker 0
/// with salt 0, byte `k` = `(i*31 + k) & 0xff` (what the PMDK side fills with too).
pub fn fill_value(i: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(SMALL_VALUE);
    op_value(u64::from(i), 0, 0, SMALL_VALUE, &mut v);
    v
}

/// An unmeasured change to a store: the fill before the phases, and what puts the key space
/// back after a phase that changed its shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Set the key to the value.
    Put(Vec<u8>, Vec<u8>),
    /// Remove the key.
    Del(Vec<u8>),
}

/// The fill: every key of the key space with its 100-byte [`fill_value`].
pub fn fill_edits() -> Vec<Edit> {
    (0..PROTOCOL_KEYS)
        .map(|i| {
            let mut k = Vec::new();
            protocol_key(i, &mut k);
            Edit::Put(k, fill_value(i))
        })
        .collect()
}

/// What brings the store back to a filled key space of 100-byte values after a phase of
/// `workload` with `procs` workers of `ops` operations each: `insert100`'s keys removed, the
/// keys `put4k` grew refilled; nothing for the other workloads (their puts keep 100 bytes).
pub fn restore_edits(workload: Workload, procs: u32, ops: u64) -> Vec<Edit> {
    match workload {
        Workload::Insert100 => (0..procs)
            .flat_map(|w| {
                (0..ops).map(move |j| {
                    let mut k = Vec::new();
                    insert_key(w, j, &mut k);
                    Edit::Del(k)
                })
            })
            .collect(),
        Workload::Put4k => (0..LARGE_KEYS)
            .map(|i| {
                let mut k = Vec::new();
                protocol_key(i, &mut k);
                Edit::Put(k, fill_value(i))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Runs worker `w`'s `ops` operations of `workload` on `store`, in a phase of `procs` workers
/// (each put with `commit`, so durable before the next operation); returns the operations done.
/// A get that does not find its key, or finds a value of the wrong length, is an error.
pub fn run_workload(
    store: &mut (impl Store + ?Sized),
    workload: Workload,
    w: u32,
    ops: u64,
    procs: u32,
) -> io::Result<u64> {
    let salt = phase_salt(workload, procs);
    let mut key = Vec::with_capacity(16);
    let mut value = Vec::with_capacity(LARGE_VALUE);
    let mut out = Vec::with_capacity(LARGE_VALUE);
    for j in 0..ops {
        let put = match workload {
            Workload::Put100 | Workload::Insert100 | Workload::Put4k => true,
            Workload::Get100 => false,
            Workload::Mix100 => j % 10 == 0,
        };
        if workload == Workload::Insert100 {
            insert_key(w, j, &mut key);
        } else {
            protocol_key(op_key_index(workload, j, w), &mut key);
        }
        if put {
            let len = if workload == Workload::Put4k {
                LARGE_VALUE
            } else {
                SMALL_VALUE
            };
            op_value(j, w, salt, len, &mut value);
            store.put(&key, &value, true)?;
        } else if !store.get(&key, &mut out)? {
            return Err(io::Error::other(format!(
                "{}: worker {w}, operation {j}: key '{}' not found",
                workload.name(),
                String::from_utf8_lossy(&key)
            )));
        } else if out.len() != SMALL_VALUE {
            return Err(io::Error::other(format!(
                "{}: worker {w}, operation {j}: key '{}' holds {} bytes, not {SMALL_VALUE}",
                workload.name(),
                String::from_utf8_lossy(&key),
                out.len()
            )));
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Model(HashMap<Vec<u8>, Vec<u8>>, u64);

    impl Store for Model {
        fn put(&mut self, key: &[u8], value: &[u8], commit: bool) -> io::Result<()> {
            self.0.insert(key.to_vec(), value.to_vec());
            self.1 += u64::from(commit);
            Ok(())
        }
        fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
            out.clear();
            self.0
                .get(key)
                .map(|v| out.extend_from_slice(v))
                .map_or(Ok(false), |_| Ok(true))
        }
    }

    #[test]
    fn the_workload_mixes_as_asked_and_commits_in_batches() {
        let mut m = Model(HashMap::new(), 0);
        fill(&mut m, 100, 32, 10).expect("fill");
        assert_eq!((m.0.len(), m.1), (100, 10));
        let spec = Spec {
            ops: 10_000,
            keys: 100,
            value_size: 32,
            get_percent: 90,
            batch: 4,
            seed: 1,
        };
        let out = run(&mut m, &spec).expect("run");
        assert_eq!(out.puts + out.gets, 10_000);
        assert_eq!(out.hits, out.gets, "every key was filled");
        assert!((8_700..9_300).contains(&out.gets), "{}", out.gets);
        assert!(m.1 >= 10 + out.puts / 4);
        assert_eq!(m.0[&key(7)].len(), 32);
    }

    #[test]
    fn outcomes_cross_the_pipe() {
        let o = Outcome {
            puts: 3,
            gets: 4,
            hits: 2,
            seconds: 1.5,
        };
        assert_eq!(Outcome::from_line(&o.to_line()), Some(o));
        assert_eq!(Outcome::from_line("LOAD-RESULT 1 2"), None);
        assert!((o.ops_per_second() - 7.0 / 1.5).abs() < 1e-9);
    }

    #[test]
    fn protocol_keys_values_and_order_are_the_specified_ones() {
        let mut k = Vec::new();
        protocol_key(42, &mut k);
        assert_eq!(k, b"key-000042");
        insert_key(3, 17, &mut k);
        assert_eq!(k, b"new-03-0000017");
        assert_eq!(k.len(), 14);
        assert_eq!(op_key_index(Workload::Put100, 0, 0), 0);
        assert_eq!(op_key_index(Workload::Put100, 1, 0), 7919);
        assert_eq!(
            op_key_index(Workload::Put100, 2, 1),
            (2 * 7919 + 104_729) % 10_000
        );
        assert_eq!(op_key_index(Workload::Put4k, 1, 0), 919);
        let mut v = Vec::new();
        op_value(2, 1, 0, 100, &mut v);
        assert_eq!(v.len(), 100);
        assert_eq!((v[0], v[1], v[99]), (69, 70, ((69 + 99) & 0xff) as u8));
        op_value(9, 3, 0, 4096, &mut v);
        assert_eq!(v[4095], ((9 * 31 + 3 * 7 + 4095) & 0xff) as u8);
        op_value(9, 3, phase_salt(Workload::Put100, 2), 100, &mut v);
        assert_eq!(v[0], ((9 * 31 + 3 * 7 + 2 * 13) & 0xff) as u8);
        assert_ne!(
            phase_salt(Workload::Put100, 1),
            phase_salt(Workload::Put100, 2),
            "a phase never writes the values an earlier one left"
        );
        assert_eq!(fill_value(300)[1], ((300 * 31 + 1) & 0xff) as u8);
        for w in Workload::ALL {
            assert_eq!(Workload::from_name(w.name()), Some(w));
        }
        assert_eq!(Workload::Put4k.ops_per_worker(2000), 500);
        assert_eq!(Workload::Put4k.ops_per_worker(1), 1);
        assert_eq!(Workload::Put4k.ops_per_worker(0), 0);
        assert_eq!(Workload::Mix100.ops_per_worker(2000), 2000);
    }

    #[test]
    fn protocol_workloads_run_and_restore_the_key_space() {
        let mut m = Model(HashMap::new(), 0);
        for e in fill_edits() {
            if let Edit::Put(k, v) = e {
                m.put(&k, &v, true).expect("fill");
            }
        }
        assert_eq!(m.0.len(), 10_000);
        for w in Workload::ALL {
            for worker in 0..2 {
                assert_eq!(run_workload(&mut m, w, worker, 30, 2).expect("run"), 30);
            }
            for e in restore_edits(w, 2, 30) {
                match e {
                    Edit::Put(k, v) => m.0.insert(k, v),
                    Edit::Del(k) => m.0.remove(&k),
                };
            }
            assert_eq!(m.0.len(), 10_000, "{}", w.name());
            assert!(m.0.values().all(|v| v.len() == SMALL_VALUE));
        }
        m.0.remove(&b"key-000000"[..]);
        assert!(run_workload(&mut m, Workload::Get100, 0, 1, 1).is_err());
    }
}
