//! `kvs-bench`: the KVS (a region, PMSYNC per put) against LMDB (a file on ext4-DAX, a durable
//! transaction per put) under the same workload (`region_kvs::load`), 1 and more processes.
//!
//!   kvs-bench run kvs REGION OP PROCS OUT    append "kvs OP PROCS OPS_PER_S" to OUT
//!   kvs-bench run lmdb DIR OP PROCS OUT      the same on an LMDB environment in DIR
//!   kvs-bench report OUT                     print the table and the ratios
//!
//! OP is `put` (every put committed before the next) or `get`. The keys are filled first.

use clap::{Parser, Subcommand, ValueEnum};
use heed::types::Bytes;
use heed::{Database, Env, EnvOpenOptions};
use region_kvs::load::{self, Spec, Store};
use region_kvs::Kvs;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, ExitCode};

/// Keys of the workload.
const KEYS: u64 = 10_000;
/// Bytes of each value.
const VALUE_SIZE: usize = 100;

#[derive(Parser)]
#[command(name = "kvs-bench", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    Kvs,
    Lmdb,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Op {
    Put,
    Get,
}

#[derive(Subcommand)]
enum Command {
    /// Fill the keys, then run PROCS workers of OPS operations each; append the figure to OUT.
    Run {
        kind: Kind,
        /// The region (kvs) or the folder (lmdb).
        place: String,
        op: Op,
        procs: u32,
        out: PathBuf,
        #[arg(long, default_value_t = 2000)]
        ops: u64,
    },
    /// One worker (run by `run`).
    #[command(hide = true)]
    Worker {
        kind: Kind,
        place: String,
        op: Op,
        ops: u64,
        seed: u64,
    },
    /// Print the figures in OUT as a table with ratios.
    Report { out: PathBuf },
}

/// LMDB as a workload store: one write transaction per put.
struct Lmdb {
    env: Env,
    db: Database<Bytes, Bytes>,
}

impl Lmdb {
    fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut opts = EnvOpenOptions::new();
        opts.map_size(1 << 30).max_readers(64);
        // SAFETY: the environment is opened by this program only, with LMDB's default
        // (durable) flags; the folder is on a local file system.
        let env = unsafe { opts.open(dir) }.map_err(io::Error::other)?;
        let mut wtxn = env.write_txn().map_err(io::Error::other)?;
        let db = env
            .create_database(&mut wtxn, None)
            .map_err(io::Error::other)?;
        wtxn.commit().map_err(io::Error::other)?;
        Ok(Self { env, db })
    }
}

impl Store for Lmdb {
    fn put(&mut self, key: &[u8], value: &[u8], commit: bool) -> io::Result<()> {
        debug_assert!(commit, "LMDB runs one transaction per put");
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

/// The store a worker drives.
enum AnyStore {
    Kvs(Kvs),
    Lmdb(Lmdb),
}

impl AnyStore {
    fn open(kind: Kind, place: &str) -> io::Result<Self> {
        Ok(match kind {
            Kind::Kvs => Self::Kvs(Kvs::open(&region::Device::open()?, place)?),
            Kind::Lmdb => Self::Lmdb(Lmdb::open(Path::new(place))?),
        })
    }
}

impl Store for AnyStore {
    fn put(&mut self, key: &[u8], value: &[u8], commit: bool) -> io::Result<()> {
        match self {
            Self::Kvs(s) => s.put(key, value, commit),
            Self::Lmdb(s) => s.put(key, value, commit),
        }
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
        match self {
            Self::Kvs(s) => Store::get(s, key, out),
            Self::Lmdb(s) => s.get(key, out),
        }
    }
}

fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Kvs => "kvs",
        Kind::Lmdb => "lmdb",
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Put => "put",
        Op::Get => "get",
    }
}

fn spec(op: Op, ops: u64, seed: u64) -> Spec {
    Spec {
        ops,
        keys: KEYS,
        value_size: VALUE_SIZE,
        get_percent: if op == Op::Get { 100 } else { 0 },
        batch: 1,
        seed,
    }
}

fn run(kind: Kind, place: &str, op: Op, procs: u32, out: &Path, ops: u64) -> io::Result<()> {
    let mut store = AnyStore::open(kind, place)?;
    // The first run on a store fills it: one committed put per key on both stores.
    if !store.get(&load::key(KEYS - 1), &mut Vec::new())? {
        load::fill(&mut store, KEYS, VALUE_SIZE, 1)?;
    }
    drop(store);
    let exe = std::env::current_exe()?;
    let total = load::run_processes(procs, |i| {
        let mut c = Process::new(&exe);
        c.args(["worker", name(kind), place, op_name(op)]);
        c.args([ops.to_string(), (i + 1).to_string()]);
        c
    })?;
    let line = format!(
        "{} {} {procs} {:.0}",
        name(kind),
        op_name(op),
        total.ops_per_second()
    );
    println!("{line} ops/s");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)?;
    writeln!(f, "{line}")
}

fn report(out: &Path) -> io::Result<()> {
    let text = std::fs::read_to_string(out)?;
    let mut figures = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<_> = line.split_whitespace().collect();
        if let [store, op, procs, rate] = f[..] {
            if let (Ok(p), Ok(r)) = (procs.parse::<u32>(), rate.parse::<f64>()) {
                figures.insert((op.to_string(), p, store.to_string()), r);
            }
        }
    }
    println!(
        "KVS (region, PMSYNC per put) against LMDB (ext4-DAX file, durable transaction per put)"
    );
    println!(
        "{KEYS} keys, {VALUE_SIZE}-byte values; operations per second, all processes together"
    );
    println!(
        "{:<5} {:>6} {:>12} {:>12} {:>10}",
        "op", "procs", "kvs", "lmdb", "kvs/lmdb"
    );
    let mut rows: Vec<_> = figures.keys().map(|(op, p, _)| (op.clone(), *p)).collect();
    rows.dedup();
    for (op, p) in rows {
        let k = figures.get(&(op.clone(), p, "kvs".to_string()));
        let l = figures.get(&(op.clone(), p, "lmdb".to_string()));
        let show = |v: Option<&f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
        let ratio = match (k, l) {
            (Some(k), Some(l)) if *l > 0.0 => format!("{:.2}x", k / l),
            _ => "-".to_string(),
        };
        println!("{op:<5} {p:>6} {:>12} {:>12} {ratio:>10}", show(k), show(l));
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run {
            kind,
            place,
            op,
            procs,
            out,
            ops,
        } => run(*kind, place, *op, *procs, out, *ops),
        Command::Worker {
            kind,
            place,
            op,
            ops,
            seed,
        } => AnyStore::open(*kind, place)
            .and_then(|mut s| load::run(&mut s, &spec(*op, *ops, *seed)))
            .map(|o| println!("{}", o.to_line())),
        Command::Report { out } => report(out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kvs-bench: {e}");
            ExitCode::from(1)
        }
    }
}
