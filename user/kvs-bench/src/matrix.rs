//! The whole matrix for one system in one invocation: the key space filled (unmeasured), then
//! for every workload and every worker count one measured phase and its COUNTS line, each
//! followed by the unmeasured edits that put the key space back (`insert100`'s keys removed,
//! `put4k`'s values refilled to 100 bytes), so every phase starts from the same shape. The
//! unmeasured work runs in forked children ([`in_child`]), so this process stays small and the
//! workers it forks copy little.

use crate::counts::Counts;
use crate::phase::{in_child, run_phase};
use crate::probe::Probe;
use crate::system::System;
use region_kvs::load::{fill_edits, restore_edits, Workload};
use std::io::{self, Write};

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    /// Workloads, in order.
    pub workloads: Vec<Workload>,
    /// Worker counts, in order, for every workload.
    pub procs: Vec<u32>,
    /// Operations per worker ([`Workload::ops_per_worker`] derives `put4k`'s).
    pub ops: u64,
}

impl Default for Matrix {
    /// The protocol's defaults: every workload, 1, 2 and 4 workers, 2000 operations each.
    fn default() -> Self {
        Self {
            workloads: Workload::ALL.to_vec(),
            procs: vec![1, 2, 4],
            ops: 2000,
        }
    }
}

/// Runs `matrix` on `system`: prints each phase's COUNTS line on stdout (and a readable summary
/// on stderr) and hands it to `seen`. A failed phase prints `FAILED <workload> <system>
/// <procs>: <why>` on stdout in place of its COUNTS line (its markers did run) and ends the run.
pub fn run(
    system: &mut dyn System,
    matrix: &Matrix,
    mut seen: impl FnMut(&Counts) -> io::Result<()>,
) -> io::Result<()> {
    let mut probe = Probe::new();
    in_child("the fill", || system.apply(&fill_edits()))?;
    for &workload in &matrix.workloads {
        let ops = workload.ops_per_worker(matrix.ops);
        for &procs in &matrix.procs {
            let counts = match run_phase(system, &mut probe, workload, procs, ops) {
                Ok(c) => c,
                Err(e) => {
                    let name = system.name();
                    let line = format!("FAILED {} {name} {procs}: {e}", workload.name());
                    let mut out = io::stdout().lock();
                    writeln!(out, "{line}")?;
                    out.flush()?;
                    return Err(io::Error::other(line));
                }
            };
            counts.emit()?;
            let seconds = counts.delta.ns as f64 / 1e9;
            eprintln!(
                "kvs-bench: {} {} {procs}: {} operations in {seconds:.3} s, {:.0} per second",
                counts.system,
                counts.workload,
                counts.ops,
                counts.ops as f64 / seconds.max(1e-9)
            );
            seen(&counts)?;
            in_child("restoring the key space", || {
                system.apply(&restore_edits(workload, procs, ops))
            })?;
        }
    }
    Ok(())
}
