//! The figures file of the earlier `kvs-bench run` / `kvs-bench report` (one line
//! `SYSTEM OP PROCS OPS_PER_S` per run, OP `put` or `get`), kept for scripts that still use it.
//! The protocol's report is made on the host from the COUNTS lines (`tests/bench/report`).

use crate::counts::Counts;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

/// Appends `counts` to the figures file `out` as `SYSTEM OP PROCS OPS_PER_S`.
pub fn append(out: &Path, op: &str, counts: &Counts) -> io::Result<()> {
    let rate = counts.ops as f64 / (counts.delta.ns as f64 / 1e9).max(1e-9);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)?;
    writeln!(f, "{} {op} {} {rate:.0}", counts.system, counts.procs)
}

/// Prints the figures file `out` as a table of operations per second with the KVS/LMDB ratio.
pub fn report(out: &Path) -> io::Result<()> {
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
    println!("10000 keys, 100-byte values; operations per second, all processes together");
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
