//! One measured phase's `COUNTS` line of the shared benchmark protocol (issue 11): the
//! after-minus-before differences of two [`Snapshot`]s, printed on stdout as
//!
//! `COUNTS <workload> <system> <procs> ops=N ns=.. minflt=.. majflt=.. csw=.. tlb=.. cal=..
//! rlines=.. rfences=.. rundo=.. rfaults=.. rpmsyncs=.. runmaps=.. rlogged=.. rnt=..`
//!
//! A phase is: a snapshot before, [`begin_marker`](crate::markers::begin_marker), the workload,
//! [`end_marker`](crate::markers::end_marker), a snapshot after, this line (see `phase`).

use crate::probe::{RegionFigures, Snapshot};
use std::fmt;
use std::io::{self, Write};

/// One `COUNTS` line: what a phase did, as after-minus-before differences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts {
    /// The workload's name (`put100`, ...).
    pub workload: String,
    /// The system's name (`kvs`, `lmdb`, ...).
    pub system: String,
    /// Worker processes.
    pub procs: u32,
    /// Operations of all workers.
    pub ops: u64,
    /// The differences (`ns` is the elapsed time).
    pub delta: Snapshot,
}

impl Counts {
    /// The counts of a phase between `before` and `after`.
    pub fn new(
        workload: &str,
        system: &str,
        procs: u32,
        ops: u64,
        before: &Snapshot,
        after: &Snapshot,
    ) -> Self {
        let (a, b) = (after, before);
        let (ar, br) = (&a.region, &b.region);
        Self {
            workload: workload.to_string(),
            system: system.to_string(),
            procs,
            ops,
            delta: Snapshot {
                minflt: a.minflt.saturating_sub(b.minflt),
                majflt: a.majflt.saturating_sub(b.majflt),
                csw: a.csw.saturating_sub(b.csw),
                tlb: a.tlb.saturating_sub(b.tlb),
                cal: a.cal.saturating_sub(b.cal),
                region: RegionFigures {
                    lines: ar.lines.saturating_sub(br.lines),
                    fences: ar.fences.saturating_sub(br.fences),
                    undo: ar.undo.saturating_sub(br.undo),
                    faults: ar.faults.saturating_sub(br.faults),
                    pmsyncs: ar.pmsyncs.saturating_sub(br.pmsyncs),
                    unmaps: ar.unmaps.saturating_sub(br.unmaps),
                    logged: ar.logged.saturating_sub(br.logged),
                    nt: ar.nt.saturating_sub(br.nt),
                },
                ns: a.ns.saturating_sub(b.ns),
            },
        }
    }

    /// Parses a line written by [`fmt::Display`] (the exact field order); `None` otherwise.
    pub fn parse(line: &str) -> Option<Self> {
        let mut f = line.trim_end().split(' ');
        if f.next()? != "COUNTS" {
            return None;
        }
        let workload = f.next()?.to_string();
        let system = f.next()?.to_string();
        let procs = f.next()?.parse().ok()?;
        let mut field = |name: &str| -> Option<u64> {
            f.next()?
                .strip_prefix(name)?
                .strip_prefix('=')?
                .parse()
                .ok()
        };
        let ops = field("ops")?;
        let ns = field("ns")?;
        let (minflt, majflt, csw, tlb, cal) = (
            field("minflt")?,
            field("majflt")?,
            field("csw")?,
            field("tlb")?,
            field("cal")?,
        );
        let region = RegionFigures {
            lines: field("rlines")?,
            fences: field("rfences")?,
            undo: field("rundo")?,
            faults: field("rfaults")?,
            pmsyncs: field("rpmsyncs")?,
            unmaps: field("runmaps")?,
            logged: field("rlogged")?,
            nt: field("rnt")?,
        };
        if f.next().is_some() {
            return None;
        }
        Some(Self {
            workload,
            system,
            procs,
            ops,
            delta: Snapshot {
                minflt,
                majflt,
                csw,
                tlb,
                cal,
                region,
                ns,
            },
        })
    }

    /// Prints the line on stdout and flushes it.
    pub fn emit(&self) -> io::Result<()> {
        let mut out = io::stdout().lock();
        writeln!(out, "{self}")?;
        out.flush()
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.delta;
        let r = &d.region;
        write!(
            f,
            "COUNTS {} {} {} ops={} ns={} minflt={} majflt={} csw={} tlb={} cal={} \
             rlines={} rfences={} rundo={} rfaults={} rpmsyncs={} runmaps={} rlogged={} rnt={}",
            self.workload,
            self.system,
            self.procs,
            self.ops,
            d.ns,
            d.minflt,
            d.majflt,
            d.csw,
            d.tlb,
            d.cal,
            r.lines,
            r.fences,
            r.undo,
            r.faults,
            r.pmsyncs,
            r.unmaps,
            r.logged,
            r.nt
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_round_trip() {
        let before = Snapshot {
            minflt: 10,
            ns: 1000,
            region: RegionFigures {
                lines: 5,
                ..RegionFigures::default()
            },
            ..Snapshot::default()
        };
        let after = Snapshot {
            minflt: 25,
            majflt: 1,
            csw: 3,
            tlb: 4,
            cal: 6,
            ns: 3500,
            region: RegionFigures {
                lines: 9,
                fences: 2,
                undo: 1,
                faults: 7,
                pmsyncs: 2,
                unmaps: 1,
                logged: 3,
                nt: 4,
            },
        };
        let c = Counts::new("put100", "kvs", 2, 40, &before, &after);
        let line = c.to_string();
        assert_eq!(
            line,
            "COUNTS put100 kvs 2 ops=40 ns=2500 minflt=15 majflt=1 csw=3 tlb=4 cal=6 rlines=4 \
             rfences=2 rundo=1 rfaults=7 rpmsyncs=2 runmaps=1 rlogged=3 rnt=4"
        );
        assert_eq!(Counts::parse(&line), Some(c));
        assert_eq!(Counts::parse("COUNTS put100 kvs 2 ops=40"), None);
        assert_eq!(Counts::parse(&line.replace("csw", "ctx")), None);
    }
}
