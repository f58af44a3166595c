//! The host-side report of `make bench` (README, "Benchmarks").
//!
//! Inputs: the guest's console log, whose COUNTS lines (tests/bench/counts.h and the Rust
//! equivalents) say what each measured phase did as the guest saw it, and the QEMU plugin's file
//! (tests/bench/plugin), whose MARK lines hold the machine-wide instruction, system call,
//! write-back, fence and non-temporal counts at each phase's BEGIN and END markers. The report
//! pairs them ([`pair`]), adds up each workload/system/procs per run and divides by operations
//! ([`figures`]), models the hardware time ([`model`]), prints one table per workload with the
//! systems side by side ([`table`]) and ends with the TARGET lines ([`targets`]).

pub mod figures;
pub mod model;
pub mod pair;
pub mod parse;
pub mod stats;
pub mod table;
pub mod targets;

use std::fmt::Write;

/// The whole report for a console log and (if there is one) the plugin's file.
pub fn report(console: &str, plugin: Option<&str>) -> String {
    let lines = parse::console(console);
    let pf = plugin.map(parse::plugin).unwrap_or_default();
    let pairing = pair::pair(&lines, &pf.marks);
    let by = figures::collect(&pairing.phases);
    let mut out = String::new();
    let paired = pairing.phases.iter().filter(|p| p.plugin.is_some()).count();
    let _ = writeln!(
        out,
        "Counts report: {} COUNTS lines, {} marker pairs ({}), {} phases paired; host and guest time of a phase \
         differ by at most {} us, and by at most {:.2}% in phases of 0.1 s or more",
        pairing.lines,
        pairing.pairs,
        pf.header.as_deref().unwrap_or("no plugin file"),
        paired,
        pairing.worst_time_diff_ns / 1000,
        pairing.worst_time_diff * 100.0
    );
    for (n, l) in &pf.bad {
        let _ = writeln!(out, "note: plugin file line {n} does not parse: {l}");
    }
    for n in &pairing.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out, "\nCost model (us per event; modelled time = sum of counts x costs; sources in the README):");
    for c in &model::COSTS {
        let _ = writeln!(
            out,
            "  {:<18} {:>8} us  {}",
            c.name,
            stats::num(c.us),
            c.source
        );
    }
    let _ = writeln!(
        out,
        "Counts are per operation: instructions, syscalls, lines and fences machine-wide from the plugin; faults and \
         context switches of the phase's processes (rusage); IPIs from /proc/interrupts; undo pages, logged lines and \
         module lines from REGION_IOC_COUNTERS. TCG figures are the guest's clock under the emulator."
    );
    table::tables(&by, &mut out);
    let t = targets::targets(&by);
    out.push('\n');
    for x in &t {
        let _ = writeln!(out, "{}", x.detail);
    }
    for x in &t {
        let _ = writeln!(out, "{}", x.line());
    }
    out
}
