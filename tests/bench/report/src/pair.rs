//! Pairing the k-th COUNTS line with the k-th BEGIN/END marker pair, and checking that they agree.
//!
//! Nothing is guessed: marker pairs are taken in order (a BEGIN without its END, or an END
//! without a BEGIN, is dropped and reported); the k-th complete pair goes with the k-th COUNTS
//! line as long as the two agree ([`times_agree`]: the host's time between the markers and the
//! guest's time of the phase); from the first phase that does not
//! agree, or that has no pair left, on, phases keep no plugin counts, and the report says so.

use crate::parse::{plugin_field, CountsLine, Mark, Phase, PLUGIN_FIELDS};

/// Absolute slack between host and guest time of one phase.
pub const TIME_SLACK_NS: u64 = 3_000_000;
/// Relative slack between host and guest time of one phase.
pub const TIME_SLACK_FRACTION: f64 = 0.05;
/// How much longer than between its markers a phase may take in the guest: its clock is read
/// before BEGIN and after END, and the process may be preempted there (a kworker, a timer tick).
pub const OUTSIDE_MARKERS_NS: u64 = 25_000_000;

/// Phases at least this long count for [`Pairing::worst_time_diff`].
pub const LONG_PHASE_NS: u64 = 100_000_000;

/// A phase and, when it was paired, the plugin's counts between its markers.
#[derive(Clone, Debug, PartialEq)]
pub struct Paired {
    /// The COUNTS line.
    pub phase: Phase,
    /// END minus BEGIN of [`PLUGIN_FIELDS`]; `None` when the phase has no marker pair.
    pub plugin: Option<[u64; PLUGIN_FIELDS.len()]>,
    /// Host nanoseconds between the markers, when paired.
    pub hostns: Option<u64>,
}

/// The outcome of pairing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pairing {
    /// Every well-formed phase, in console order.
    pub phases: Vec<Paired>,
    /// Complete marker pairs found.
    pub pairs: usize,
    /// COUNTS lines (well-formed or not).
    pub lines: usize,
    /// What did not pair or agree, one sentence each.
    pub notes: Vec<String>,
    /// The largest relative difference of host and guest time among paired phases of at least
    /// [`LONG_PHASE_NS`] (shorter ones are within the absolute slack).
    pub worst_time_diff: f64,
    /// The largest absolute difference of host and guest time among paired phases, ns.
    pub worst_time_diff_ns: u64,
}

/// Whether guest time @guest and host time @host of one phase agree: the markers lie inside the
/// guest's interval, so the host's time may not exceed the guest's (beyond the slack), and the
/// guest's may exceed the host's by at most [`OUTSIDE_MARKERS_NS`] more.
pub fn times_agree(guest: u64, host: u64) -> bool {
    let slack = |t: u64| TIME_SLACK_NS as f64 + TIME_SLACK_FRACTION * t as f64;
    host as f64 <= guest as f64 + slack(guest)
        && guest as f64 <= host as f64 + slack(host) + OUTSIDE_MARKERS_NS as f64
}

/// Complete BEGIN/END pairs in order; notes about markers without their partner.
fn marker_pairs<'a>(marks: &'a [Mark], notes: &mut Vec<String>) -> Vec<(&'a Mark, &'a Mark)> {
    let mut pairs = Vec::new();
    let mut open: Option<&Mark> = None;
    for m in marks {
        match (m.begin, open) {
            (true, Some(b)) => {
                notes.push(format!("marker BEGIN seq={} has no END (dropped)", b.seq));
                open = Some(m);
            }
            (true, None) => open = Some(m),
            (false, Some(b)) => {
                pairs.push((b, m));
                open = None;
            }
            (false, None) => notes.push(format!("marker END seq={} has no BEGIN (dropped)", m.seq)),
        }
    }
    if let Some(b) = open {
        notes.push(format!("marker BEGIN seq={} has no END (dropped)", b.seq));
    }
    pairs
}

/// Pairs @lines (the console's COUNTS lines) with the plugin's @marks.
pub fn pair(lines: &[CountsLine], marks: &[Mark]) -> Pairing {
    let mut out = Pairing {
        lines: lines.len(),
        ..Pairing::default()
    };
    let pairs = marker_pairs(marks, &mut out.notes);
    out.pairs = pairs.len();
    let mut pairing = !marks.is_empty();
    if !pairing {
        out.notes
            .push("no plugin markers: phases have no plugin counts".to_string());
    }
    for (k, line) in lines.iter().enumerate() {
        let phase = match line {
            CountsLine::Phase(p) => p.clone(),
            CountsLine::Bad(n, why) => {
                out.notes.push(format!(
                    "console line {n}: a COUNTS line that does not parse ({why})"
                ));
                continue;
            }
        };
        let mut paired = Paired {
            phase,
            plugin: None,
            hostns: None,
        };
        if pairing {
            match pairs.get(k) {
                None => {
                    out.notes.push(format!(
                        "console line {}: phase {} {} {} has no marker pair (and no phase after it is paired)",
                        paired.phase.line, paired.phase.workload, paired.phase.system, paired.phase.procs
                    ));
                    pairing = false;
                }
                Some((b, e)) => {
                    let host = e.hostns.saturating_sub(b.hostns);
                    if times_agree(paired.phase.ns, host) {
                        let mut d = [0; PLUGIN_FIELDS.len()];
                        for (i, v) in d.iter_mut().enumerate() {
                            *v = e.counts[i].saturating_sub(b.counts[i]);
                        }
                        let abs = paired.phase.ns.abs_diff(host);
                        out.worst_time_diff_ns = out.worst_time_diff_ns.max(abs);
                        if paired.phase.ns.max(host) >= LONG_PHASE_NS {
                            let diff = abs as f64 / paired.phase.ns.max(host) as f64;
                            out.worst_time_diff = out.worst_time_diff.max(diff);
                        }
                        check_lines(&paired.phase, &d, &mut out.notes);
                        paired.plugin = Some(d);
                        paired.hostns = Some(host);
                    } else {
                        out.notes.push(format!(
                            "console line {}: phase {} {} {} took {} us in the guest but {} us between marker pair {} \
                             (BEGIN seq={}): not the same phase; no phase from here on is paired",
                            paired.phase.line,
                            paired.phase.workload,
                            paired.phase.system,
                            paired.phase.procs,
                            paired.phase.ns / 1000,
                            host / 1000,
                            k + 1,
                            b.seq
                        ));
                        pairing = false;
                    }
                }
            }
        }
        out.phases.push(paired);
    }
    if pairing && pairs.len() > lines.len() {
        out.notes.push(format!(
            "{} marker pairs have no COUNTS line",
            pairs.len() - lines.len()
        ));
    }
    out
}

/// The plugin sees every write-back machine-wide, so it cannot count fewer than the module did
/// (compared with the larger of the module's two counters: whether a non-temporal line also counts
/// as written back is the module's business).
fn check_lines(phase: &Phase, d: &[u64; PLUGIN_FIELDS.len()], notes: &mut Vec<String>) {
    use crate::parse::phase_field;
    let module = phase.counts[phase_field("rlines")];
    let plugin =
        d[plugin_field("clwb")] + d[plugin_field("clflushopt")] + d[plugin_field("clflush")];
    let module_nt = phase.counts[phase_field("rnt")];
    let plugin_nt = d[plugin_field("ntbytes")] / 64;
    if plugin + plugin_nt < module.max(module_nt) {
        notes.push(format!(
            "console line {}: phase {} {} {}: the module wrote back {} + {} nt lines but the plugin saw only {} + {}",
            phase.line, phase.workload, phase.system, phase.procs, module, module_nt, plugin, plugin_nt
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guest_interval_holds_the_markers() {
        assert!(times_agree(1_000_000_000, 1_000_300_000));
        // Preempted for 6 ms while taking a snapshot, outside the markers.
        assert!(times_agree(6_759_000, 721_000));
        // The markers cannot be further apart than the guest's clock reads around them.
        assert!(!times_agree(721_000, 6_759_000));
        assert!(!times_agree(100_000_000, 200_000_000));
        assert!(!times_agree(100_000_000, 50_000_000));
    }
}
