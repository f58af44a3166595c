//! Per-operation figures: the phases of one run with the same workload, system and procs are
//! added up (a benchmark may split its operations over several phases), divided by their
//! operations, and summarized over the runs.

use std::collections::BTreeMap;

use crate::model;
use crate::pair::Paired;
use crate::parse::{phase_field, plugin_field, PHASE_FIELDS, PLUGIN_FIELDS};
use crate::stats::{summarize, Summary};

/// What a row of the tables is about: workload, system, procs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// Workload name.
    pub workload: String,
    /// System name.
    pub system: String,
    /// Worker processes.
    pub procs: u32,
}

/// The sums of one key in one run.
#[derive(Clone, Debug, Default)]
struct Sum {
    ops: u64,
    ns: u64,
    counts: [u64; PHASE_FIELDS.len()],
    plugin: Option<[u64; PLUGIN_FIELDS.len()]>,
    unpaired: bool,
}

/// The figures of one key in one run, per operation (`None`: not measured in that run).
#[derive(Clone, Debug, PartialEq)]
pub struct RunFigures {
    /// Operations, all phases together.
    pub ops: u64,
    /// One value per [`FIGURES`] entry.
    pub values: Vec<Option<f64>>,
}

/// A figure: its label in the tables and how it is computed from one run's sums.
pub struct Figure {
    /// Row label.
    pub label: &'static str,
    /// The value per operation (or per second, for the rate).
    get: fn(&Sum) -> Option<f64>,
}

fn per_op(s: &Sum, v: f64) -> Option<f64> {
    (s.ops > 0).then(|| v / s.ops as f64)
}

fn field(s: &Sum, name: &str) -> Option<f64> {
    per_op(s, s.counts[phase_field(name)] as f64)
}

fn plug(s: &Sum, names: &[&str]) -> Option<f64> {
    let p = s.plugin.as_ref()?;
    per_op(s, names.iter().map(|n| p[plugin_field(n)] as f64).sum())
}

fn nt_lines(s: &Sum) -> Option<f64> {
    let p = s.plugin.as_ref()?;
    per_op(s, p[plugin_field("ntbytes")] as f64 / 64.0)
}

/// The per-operation counts the model charges (all need the plugin).
fn model_counts(s: &Sum) -> Option<model::Counts> {
    let mut c = [0.0; model::COSTS.len()];
    c[model::INSN] = plug(s, &["insns"])?;
    c[model::SYSCALL] = plug(s, &["syscalls"])?;
    c[model::FAULT] = field(s, "minflt")? + field(s, "majflt")?;
    c[model::CSW] = field(s, "csw")?;
    c[model::IPI] = field(s, "tlb")?;
    c[model::LINE] = plug(s, &["clwb", "clflushopt", "clflush"])?;
    c[model::NT_LINE] = nt_lines(s)?;
    c[model::FENCE] = plug(s, &["sfence", "mfence"])?;
    Some(c)
}

fn model_part(s: &Sum, i: usize) -> Option<f64> {
    model_counts(s).map(|c| model::components(&c)[i])
}

/// Index of the modelled time in [`FIGURES`].
pub const MODEL: usize = 0;
/// Index of the TCG time per operation.
pub const TCG_US: usize = 1;
/// Index of operations per second under TCG.
pub const OPS_PER_S: usize = 2;
/// Index of instructions per operation.
pub const INSNS: usize = 3;
/// Index of system calls per operation.
pub const SYSCALLS: usize = 5;
/// Index of page faults per operation.
pub const FAULTS: usize = 6;
/// Index of lines written to PM (written back + non-temporal) per operation.
pub const PM_LINES: usize = 10;
/// Index of fences per operation.
pub const FENCES: usize = 13;

/// Every figure, in table order.
pub const FIGURES: [Figure; 25] = [
    Figure {
        label: "model us/op",
        get: |s| model_counts(s).map(|c| model::total(&c)),
    },
    Figure {
        label: "TCG us/op",
        get: |s| per_op(s, s.ns as f64 / 1000.0),
    },
    Figure {
        label: "TCG ops/s",
        get: |s| (s.ns > 0).then(|| s.ops as f64 * 1e9 / s.ns as f64),
    },
    Figure {
        label: "instructions",
        get: |s| plug(s, &["insns"]),
    },
    Figure {
        label: "  in the kernel",
        get: |s| plug(s, &["kinsns"]),
    },
    Figure {
        label: "syscalls",
        get: |s| plug(s, &["syscalls"]),
    },
    Figure {
        label: "page faults",
        get: |s| Some(field(s, "minflt")? + field(s, "majflt")?),
    },
    Figure {
        label: "context switches",
        get: |s| field(s, "csw"),
    },
    Figure {
        label: "TLB IPIs",
        get: |s| field(s, "tlb"),
    },
    Figure {
        label: "call IPIs",
        get: |s| field(s, "cal"),
    },
    Figure {
        label: "lines to PM",
        get: |s| Some(plug(s, &["clwb", "clflushopt", "clflush"])? + nt_lines(s)?),
    },
    Figure {
        label: "  written back",
        get: |s| plug(s, &["clwb", "clflushopt", "clflush"]),
    },
    Figure {
        label: "  non-temporal",
        get: nt_lines,
    },
    Figure {
        label: "fences",
        get: |s| plug(s, &["sfence", "mfence"]),
    },
    Figure {
        label: "undo pages",
        get: |s| field(s, "rundo"),
    },
    Figure {
        label: "logged lines",
        get: |s| field(s, "rlogged"),
    },
    Figure {
        label: "module lines",
        get: |s| field(s, "rlines"),
    },
    Figure {
        label: "module nt lines",
        get: |s| field(s, "rnt"),
    },
    Figure {
        label: "model: cpu",
        get: |s| model_part(s, model::INSN),
    },
    Figure {
        label: "model: syscalls",
        get: |s| model_part(s, model::SYSCALL),
    },
    Figure {
        label: "model: faults",
        get: |s| model_part(s, model::FAULT),
    },
    Figure {
        label: "model: ctx sw",
        get: |s| model_part(s, model::CSW),
    },
    Figure {
        label: "model: IPIs",
        get: |s| model_part(s, model::IPI),
    },
    Figure {
        label: "model: PM lines",
        get: |s| Some(model_part(s, model::LINE)? + model_part(s, model::NT_LINE)?),
    },
    Figure {
        label: "model: fences",
        get: |s| model_part(s, model::FENCE),
    },
];

/// Every key with its figures per run (runs in order).
pub type ByKey = BTreeMap<Key, BTreeMap<u32, RunFigures>>;

/// Adds up the phases per key and run and computes the figures.
pub fn collect(phases: &[Paired]) -> ByKey {
    let mut sums: BTreeMap<Key, BTreeMap<u32, Sum>> = BTreeMap::new();
    for p in phases {
        let key = Key {
            workload: p.phase.workload.clone(),
            system: p.phase.system.clone(),
            procs: p.phase.procs,
        };
        let s = sums.entry(key).or_default().entry(p.phase.run).or_default();
        let first = s.ops == 0 && s.ns == 0 && s.plugin.is_none() && !s.unpaired;
        s.ops += p.phase.ops;
        s.ns += p.phase.ns;
        for (a, b) in s.counts.iter_mut().zip(p.phase.counts.iter()) {
            *a += b;
        }
        match (&p.plugin, first) {
            (Some(d), true) => s.plugin = Some(*d),
            (Some(d), false) => {
                if let Some(acc) = s.plugin.as_mut() {
                    for (a, b) in acc.iter_mut().zip(d.iter()) {
                        *a += b;
                    }
                }
            }
            (None, _) => {
                s.plugin = None;
                s.unpaired = true;
            }
        }
    }
    sums.into_iter()
        .map(|(k, runs)| {
            let runs = runs
                .into_iter()
                .map(|(r, s)| {
                    (
                        r,
                        RunFigures {
                            ops: s.ops,
                            values: FIGURES.iter().map(|f| (f.get)(&s)).collect(),
                        },
                    )
                })
                .collect();
            (k, runs)
        })
        .collect()
}

/// The summary over runs of figure @fig of @key.
pub fn summary(by: &ByKey, key: &Key, fig: usize) -> Option<Summary> {
    let runs = by.get(key)?;
    let v: Vec<f64> = runs.values().filter_map(|r| r.values[fig]).collect();
    summarize(&v)
}

/// Convenience: the key of @workload, @system, @procs.
pub fn key(workload: &str, system: &str, procs: u32) -> Key {
    Key {
        workload: workload.to_string(),
        system: system.to_string(),
        procs,
    }
}
