//! `kvs`: the Region System's example key-value store, shared by every process that opens it.
//!
//! Errors go to stderr as "kvs: REASON" with exit status 1 (2 for bad usage); `get` of a
//! missing key prints "kvs: key 'K' not found" and exits 3, so scripts can tell the cases apart.

use clap::{Parser, Subcommand};
use region::size::{human, parse_size};
use region::Device;
use region_kvs::{load, torture, Kvs};
use std::io::{self, Write};
use std::process::{Command as Process, ExitCode};

/// A key-value store in a persistent region, shared by many processes; every change is durable
/// (PMSYNC) when the command returns.
#[derive(Parser)]
#[command(name = "kvs", version, about)]
struct Cli {
    /// The control device.
    #[arg(long, default_value = region_uapi::REGION_DEVICE_PATH)]
    device: String,
    /// The region that holds the store.
    #[arg(long, short, default_value = "kvs")]
    region: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the region and an empty store in it.
    Init {
        /// Region size (K, M, G suffixes).
        #[arg(long, default_value = "64M", value_parser = parse_size)]
        size: u64,
        /// Permission bits of the region, octal.
        #[arg(long, default_value = "600")]
        mode: String,
        /// Erase an existing region and make an empty store in it.
        #[arg(long)]
        reformat: bool,
    },
    /// Set KEY to VALUE.
    Put { key: String, value: String },
    /// Print KEY's value (exit status 3 if there is none).
    Get { key: String },
    /// Remove KEY (exit status 3 if there was none).
    Del { key: String },
    /// Print every KEY<TAB>VALUE whose key starts with PREFIX, sorted.
    Scan {
        #[arg(default_value = "")]
        prefix: String,
    },
    /// Show the store's size, key count and heap use, and check the heap (exit 1 if unsound).
    Stat,
    /// Run a load: PROCS processes doing OPS operations each on random keys.
    Load {
        #[arg(long, default_value_t = 1)]
        procs: u32,
        #[arg(long, default_value_t = 10_000)]
        ops: u64,
        /// Distinct keys (filled before the load starts).
        #[arg(long, default_value_t = 1000)]
        keys: u64,
        #[arg(long, default_value_t = 100)]
        value_size: usize,
        /// Percent of gets; the rest are puts.
        #[arg(long, default_value_t = 50)]
        get_percent: u32,
        /// Puts per commit (1: each put durable before the next operation).
        #[arg(long, default_value_t = 1)]
        batch: u64,
        /// Do not fill the keys first.
        #[arg(long)]
        no_fill: bool,
    },
    /// (load) one worker process; prints its outcome.
    #[command(hide = true)]
    Worker {
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        ops: u64,
        #[arg(long)]
        keys: u64,
        #[arg(long)]
        value_size: usize,
        #[arg(long)]
        get_percent: u32,
        #[arg(long)]
        batch: u64,
    },
    /// (crash torture) put forever as WRITER, printing "KVS-COMMITTED WRITER SEQ EPOCH" after
    /// each commit.
    #[command(hide = true)]
    TortureWrite { writer: u32 },
    /// (crash torture) check the puts of WRITERS writers; prints "KVS-RECOVERED S0,S1,..." (each
    /// writer's last put) or "KVS-PROBLEM ..." lines.
    #[command(hide = true)]
    TortureVerify { writers: u32 },
}

/// A key that is not in the store: exit status 3.
#[derive(Debug)]
struct MissingKey(String);

impl std::fmt::Display for MissingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key '{}' not found", self.0)
    }
}

impl std::error::Error for MissingKey {}

fn not_found(key: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, MissingKey(key.to_string()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kvs: {e}");
            let missing_key = e.get_ref().is_some_and(|inner| inner.is::<MissingKey>());
            ExitCode::from(if missing_key { 3 } else { 1 })
        }
    }
}

fn run(cli: &Cli) -> io::Result<()> {
    let dev = Device::open_path(&cli.device)?;
    if let Command::Init {
        size,
        mode,
        reformat,
    } = &cli.command
    {
        let mode = u32::from_str_radix(mode, 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("'{mode}' is not an octal mode"),
                )
            })?;
        if *reformat {
            Kvs::format(&dev, &cli.region)?;
        } else {
            Kvs::create(&dev, &cli.region, *size, mode)?;
        }
        println!("kvs '{}': empty store of {} made", cli.region, human(*size));
        return Ok(());
    }
    let reading = matches!(
        cli.command,
        Command::Get { .. } | Command::Scan { .. } | Command::Stat
    );
    let mut kvs = if reading {
        Kvs::open_for_reading(&dev, &cli.region)?
    } else {
        Kvs::open(&dev, &cli.region)?
    };
    match &cli.command {
        Command::Init { .. } => unreachable!("handled above"),
        Command::Put { key, value } => {
            kvs.put(key.as_bytes(), value.as_bytes())?;
        }
        Command::Get { key } => {
            let value = kvs.get(key.as_bytes())?.ok_or_else(|| not_found(key))?;
            let mut out = io::stdout().lock();
            out.write_all(&value)?;
            out.write_all(b"\n")?;
        }
        Command::Del { key } => {
            if !kvs.del(key.as_bytes())? {
                return Err(not_found(key));
            }
        }
        Command::Scan { prefix } => {
            let entries = kvs.scan(prefix.as_bytes())?;
            let mut out = io::stdout().lock();
            for (k, v) in entries {
                out.write_all(&k)?;
                out.write_all(b"\t")?;
                out.write_all(&v)?;
                out.write_all(b"\n")?;
            }
        }
        Command::Stat => stat(&kvs, cli)?,
        Command::Load {
            procs,
            ops,
            keys,
            value_size,
            get_percent,
            batch,
            no_fill,
        } => {
            if !no_fill {
                eprintln!("kvs: filling {keys} keys");
                load::fill(&mut kvs, *keys, *value_size, 256)?;
            }
            eprintln!("kvs: {procs} processes x {ops} operations ({get_percent}% gets, commit every {batch} puts)");
            let exe = std::env::current_exe()?;
            let total = load::run_processes(*procs, |i| {
                let mut c = Process::new(&exe);
                c.args(["--device", &cli.device, "--region", &cli.region, "worker"]);
                c.args(["--seed", &(i + 1).to_string(), "--ops", &ops.to_string()]);
                c.args([
                    "--keys",
                    &keys.to_string(),
                    "--value-size",
                    &value_size.to_string(),
                ]);
                c.args([
                    "--get-percent",
                    &get_percent.to_string(),
                    "--batch",
                    &batch.to_string(),
                ]);
                c
            })?;
            println!(
                "{} ops/s: {} puts, {} gets ({} found) in {:.3} s",
                total.ops_per_second() as u64,
                total.puts,
                total.gets,
                total.hits,
                total.seconds
            );
        }
        Command::Worker {
            seed,
            ops,
            keys,
            value_size,
            get_percent,
            batch,
        } => {
            let spec = load::Spec {
                ops: *ops,
                keys: *keys,
                value_size: *value_size,
                get_percent: *get_percent,
                batch: *batch,
                seed: *seed,
            };
            println!("{}", load::run(&mut kvs, &spec)?.to_line());
        }
        Command::TortureWrite { writer } => {
            // A report counts only once it has left the guest: on a serial console, wait until
            // the line is transmitted before the next put (tcdrain), or a power cut could lose
            // a report while later puts are committed.
            let mut out = io::stdout().lock();
            torture::write(&kvs, *writer, None, |seq, epoch| {
                let _ = writeln!(out, "KVS-COMMITTED {writer} {seq} {epoch}");
                let _ = out.flush();
                let _ = rustix::termios::tcdrain(&out);
            })?;
        }
        Command::TortureVerify { writers } => match torture::verify(&kvs, *writers) {
            Ok(lasts) => {
                let lasts: Vec<_> = lasts.iter().map(u64::to_string).collect();
                println!("KVS-RECOVERED {}", lasts.join(","));
            }
            Err(problems) => {
                for p in &problems {
                    println!("KVS-PROBLEM {p}");
                }
                return Err(io::Error::other(format!(
                    "{} problems in the store",
                    problems.len()
                )));
            }
        },
    }
    Ok(())
}

fn stat(kvs: &Kvs, cli: &Cli) -> io::Result<()> {
    let r = kvs.heap().read(|g| g.check())?;
    println!("region: {}", cli.region);
    println!("keys: {}", kvs.len()?);
    println!(
        "heap: {} of {} carved, {} blocks in use ({}), {} free",
        human(r.carved),
        human(r.size),
        r.used_blocks,
        human(r.used_bytes),
        r.free_blocks
    );
    println!("lock takeovers: {}", r.takeovers);
    if r.problems.is_empty() {
        println!("heap check: sound");
        return Ok(());
    }
    for p in &r.problems {
        println!("heap problem: {p}");
    }
    Err(io::Error::other(format!(
        "heap of '{}' has {} problems",
        cli.region,
        r.problems.len()
    )))
}
