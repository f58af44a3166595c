//! The load generator: worker processes run a mix of puts and gets on random keys, each put
//! committed (durable) before the next operation, and report what they did; the parent adds it
//! up. The same workload runs on any [`Store`], so a benchmark can hold the KVS against another
//! store (LMDB in `kvs-bench`).

use std::io;
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
}
