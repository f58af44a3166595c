//! The tables: one per workload and process count, the systems side by side, one row per figure.

use std::fmt::Write;

use crate::figures::{summary, ByKey, Key, FIGURES};
use crate::stats::cell;

/// Workloads in the order the tables come in; others follow alphabetically.
const WORKLOAD_ORDER: [&str; 9] = [
    "put100",
    "get100",
    "insert100",
    "put4k",
    "mix100",
    "tx100",
    "persist100",
    "pmsync-1page",
    "create-touch-2m",
];
/// Systems in the order of the columns; others follow alphabetically.
const SYSTEM_ORDER: [&str; 8] = [
    "kvs",
    "lmdb",
    "pmdk",
    "pmem",
    "region",
    "ext4-dax",
    "ext4-dax-4k",
    "ext4-nojournal",
];

fn rank(order: &[&str], name: &str) -> usize {
    order.iter().position(|o| *o == name).unwrap_or(order.len())
}

/// Prints every table into @out.
pub fn tables(by: &ByKey, out: &mut String) {
    let mut groups: Vec<(String, u32)> = by.keys().map(|k| (k.workload.clone(), k.procs)).collect();
    groups.sort_by(|a, b| {
        (rank(&WORKLOAD_ORDER, &a.0), &a.0, a.1).cmp(&(rank(&WORKLOAD_ORDER, &b.0), &b.0, b.1))
    });
    groups.dedup();
    for (workload, procs) in groups {
        let mut systems: Vec<&Key> = by
            .keys()
            .filter(|k| k.workload == workload && k.procs == procs)
            .collect();
        systems.sort_by(|a, b| {
            (rank(&SYSTEM_ORDER, &a.system), &a.system)
                .cmp(&(rank(&SYSTEM_ORDER, &b.system), &b.system))
        });
        let runs = systems
            .iter()
            .filter_map(|k| by.get(*k))
            .map(|r| r.len())
            .max()
            .unwrap_or(0);
        let ops: Vec<u64> = systems
            .iter()
            .filter_map(|k| by.get(*k)?.values().next().map(|r| r.ops))
            .collect();
        let _ = writeln!(
            out,
            "\n{workload}, {procs} process{} (per operation; median (min-max) over {runs} run{}; ops per run: {})",
            if procs == 1 { "" } else { "es" },
            if runs == 1 { "" } else { "s" },
            ops.iter().map(|o| o.to_string()).collect::<Vec<_>>().join("/")
        );
        let cells: Vec<Vec<String>> = FIGURES
            .iter()
            .enumerate()
            .map(|(i, _)| {
                systems
                    .iter()
                    .map(|k| {
                        summary(by, k, i)
                            .map(|s| cell(&s))
                            .unwrap_or_else(|| "-".into())
                    })
                    .collect()
            })
            .collect();
        let label_w = FIGURES.iter().map(|f| f.label.len()).max().unwrap_or(0);
        let widths: Vec<usize> = systems
            .iter()
            .enumerate()
            .map(|(j, k)| {
                cells
                    .iter()
                    .map(|row| row[j].len())
                    .max()
                    .unwrap_or(0)
                    .max(k.system.len())
            })
            .collect();
        let _ = write!(out, "{:label_w$}", "");
        for (k, w) in systems.iter().zip(&widths) {
            let _ = write!(out, " | {:>w$}", k.system);
        }
        out.push('\n');
        for (f, row) in FIGURES.iter().zip(&cells) {
            if row.iter().all(|c| c == "-") {
                continue;
            }
            let _ = write!(out, "{:label_w$}", f.label);
            for (c, w) in row.iter().zip(&widths) {
                let _ = write!(out, " | {c:>w$}");
            }
            out.push('\n');
        }
    }
}
