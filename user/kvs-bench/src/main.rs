//! `kvs-bench`: the KVS (a region, PMSYNC per put) against LMDB (a file on ext4-DAX, a durable
//! transaction per put) under the shared benchmark protocol's workloads (`region_kvs::load`).
//!
//!   kvs-bench matrix kvs REGION [--ops N] [--workloads W,..] [--procs P,..] [--size SIZE]
//!   kvs-bench matrix lmdb DIR   [--ops N] [--workloads W,..] [--procs P,..]
//!   kvs-bench matrix kvs-memory SIZE [...]        the KVS in process memory (host checks)
//!
//! `matrix` makes a fresh store (region REGION erased, or created with SIZE bytes; LMDB's files
//! in DIR removed), fills it, and prints one COUNTS line per (workload, procs) phase: workloads
//! put100, get100, insert100, put4k, mix100 (default all, in that order), 1, 2 and 4 worker
//! processes, N operations per worker (default 2000; put4k does N/4).
//!
//!   kvs-bench run kvs|lmdb PLACE put|get PROCS OUT [--ops N]   one put100/get100 phase; also
//!                                                              appends "SYSTEM OP PROCS OPS_PER_S" to OUT
//!   kvs-bench report OUT                                       that file as a table with ratios

use clap::{Parser, Subcommand, ValueEnum};
use kvs_bench::kvs::{MemoryKvs, RegionKvs};
use kvs_bench::lmdb::Lmdb;
use kvs_bench::matrix::{self, Matrix};
use kvs_bench::{legacy, system::System};
use region::size::parse_size;
use region_kvs::load::Workload;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "kvs-bench", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// The KVS in a region of /dev/region.
    Kvs,
    /// LMDB in a folder.
    Lmdb,
    /// The KVS in process memory shared with the workers (no module, no durability).
    KvsMemory,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Op {
    Put,
    Get,
}

#[derive(Subcommand)]
enum Command {
    /// Run every (workload, procs) phase on a fresh store; one COUNTS line each.
    Matrix {
        system: Kind,
        /// The region (kvs), the folder (lmdb) or the size (kvs-memory).
        place: String,
        /// Operations per worker (put4k does a quarter).
        #[arg(long, default_value_t = 2000)]
        ops: u64,
        /// Workloads, comma-separated, in order.
        #[arg(long, value_delimiter = ',', value_parser = workload,
              default_value = "put100,get100,insert100,put4k,mix100")]
        workloads: Vec<Workload>,
        /// Worker processes of each phase, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
        procs: Vec<u32>,
        /// Size of the region when it has to be created (kvs).
        #[arg(long, default_value = "256M", value_parser = parse_size)]
        size: u64,
    },
    /// One put100 (put) or get100 (get) phase; appends the rate to OUT for `report`.
    Run {
        system: Kind,
        place: String,
        op: Op,
        procs: u32,
        out: PathBuf,
        #[arg(long, default_value_t = 2000)]
        ops: u64,
    },
    /// Print the rates in OUT (written by `run`) as a table with ratios.
    Report { out: PathBuf },
}

fn workload(name: &str) -> Result<Workload, String> {
    Workload::from_name(name).ok_or_else(|| {
        let all: Vec<_> = Workload::ALL.iter().map(|w| w.name()).collect();
        format!("unknown workload '{name}' (one of {})", all.join(", "))
    })
}

/// A fresh store of `kind` at `place`.
fn system(kind: Kind, place: &str, size: u64) -> io::Result<Box<dyn System>> {
    Ok(match kind {
        Kind::Kvs => Box::new(RegionKvs::fresh(place, size)?),
        Kind::Lmdb => Box::new(Lmdb::fresh(Path::new(place))?),
        Kind::KvsMemory => {
            let size = parse_size(place).map_err(io::Error::other)?;
            Box::new(MemoryKvs::new(size)?)
        }
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Matrix {
            system: kind,
            place,
            ops,
            workloads,
            procs,
            size,
        } => system(kind, &place, size).and_then(|mut s| {
            let m = Matrix {
                workloads,
                procs,
                ops,
            };
            matrix::run(&mut *s, &m, |_| Ok(()))
        }),
        Command::Run {
            system: kind,
            place,
            op,
            procs,
            out,
            ops,
        } => system(kind, &place, 256 << 20).and_then(|mut s| {
            let (w, name) = match op {
                Op::Put => (Workload::Put100, "put"),
                Op::Get => (Workload::Get100, "get"),
            };
            let m = Matrix {
                workloads: vec![w],
                procs: vec![procs],
                ops,
            };
            matrix::run(&mut *s, &m, |c| legacy::append(&out, name, c))
        }),
        Command::Report { out } => legacy::report(&out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kvs-bench: {e}");
            ExitCode::from(1)
        }
    }
}
