//! The shared benchmark protocol's measurement of one phase (issue 11): a snapshot before, the
//! BEGIN marker, the workload, the END marker, a snapshot after, and one `COUNTS` line of the
//! differences on stdout.
//!
//! A snapshot holds `getrusage` of this process and of its waited-for children (minor and major
//! faults, voluntary plus involuntary context switches), the totals over all CPUs of the `TLB`
//! and `CAL` lines of `/proc/interrupts`, the module's counters (`REGION_IOC_COUNTERS`) when
//! `/dev/region` opens (else zeros), and `CLOCK_MONOTONIC`. The clock is read last before the
//! phase and first after it, so the elapsed time holds the markers and the workload only.

use region::{Device, RegionCounters};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};

/// Marks the start of a measured phase for the QEMU plugin: `nopl 0x52474e42(%rax)`, whose bytes
/// are `0f 1f 80 42 4e 47 52`. Executed only by the process that runs the phase, once per phase.
#[inline(never)]
pub fn begin_marker() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a multi-byte no-op; it reads nothing (the address is not dereferenced). Without
    // `nomem` the compiler treats it as touching memory, like C's "memory" clobber.
    unsafe {
        core::arch::asm!(
            "nop dword ptr [rax + 0x52474e42]",
            options(nostack, preserves_flags)
        );
    }
}

/// Marks the end of a measured phase: `nopl 0x52474e45(%rax)`, bytes `0f 1f 80 45 4e 47 52`.
#[inline(never)]
pub fn end_marker() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `begin_marker`.
    unsafe {
        core::arch::asm!(
            "nop dword ptr [rax + 0x52474e45]",
            options(nostack, preserves_flags)
        );
    }
}

/// The figures of one instant; phases report the difference of two.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Minor faults, this process and its waited-for children.
    pub minflt: u64,
    /// Major faults, the same.
    pub majflt: u64,
    /// Voluntary and involuntary context switches, the same.
    pub csw: u64,
    /// TLB shootdown interrupts, all CPUs.
    pub tlb: u64,
    /// Function call interrupts, all CPUs.
    pub cal: u64,
    /// The module's counters (zeros when `/dev/region` does not open).
    pub region: RegionFigures,
    /// `CLOCK_MONOTONIC`, in nanoseconds.
    pub ns: u64,
}

/// The fields of `struct region_counters` that COUNTS lines carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionFigures {
    /// `lines_written_back`.
    pub lines: u64,
    /// `fences`.
    pub fences: u64,
    /// `undo_pages`.
    pub undo: u64,
    /// `faults`.
    pub faults: u64,
    /// `pmsyncs`.
    pub pmsyncs: u64,
    /// `unmap_rounds`.
    pub unmaps: u64,
    /// `lines_logged`.
    pub logged: u64,
    /// `lines_nt`.
    pub nt: u64,
}

impl From<&RegionCounters> for RegionFigures {
    fn from(c: &RegionCounters) -> Self {
        Self {
            lines: c.lines_written_back,
            fences: c.fences,
            undo: c.undo_pages,
            faults: c.faults,
            pmsyncs: c.pmsyncs,
            unmaps: c.unmap_rounds,
            logged: c.lines_logged,
            nt: c.lines_nt,
        }
    }
}

/// Takes snapshots. Opens `/dev/region` once (when it can) and keeps a buffer for
/// `/proc/interrupts`, so that a snapshot allocates nothing once the buffer has grown.
pub struct Probe {
    device: Option<Device>,
    buf: Vec<u8>,
}

impl Probe {
    /// A probe; without `/dev/region` its region figures are zeros.
    pub fn new() -> Self {
        Self {
            device: Device::open().ok(),
            buf: Vec::with_capacity(64 << 10),
        }
    }

    /// Whether the module's counters are read.
    pub fn has_region(&self) -> bool {
        self.device.is_some()
    }

    /// The snapshot taken before a phase: the clock last.
    pub fn before(&mut self) -> Snapshot {
        let mut s = Snapshot::default();
        self.rusage(&mut s);
        self.interrupts(&mut s);
        self.region(&mut s);
        s.ns = monotonic_ns();
        s
    }

    /// The snapshot taken after a phase: the clock first.
    pub fn after(&mut self) -> Snapshot {
        let mut s = Snapshot {
            ns: monotonic_ns(),
            ..Snapshot::default()
        };
        self.rusage(&mut s);
        self.interrupts(&mut s);
        self.region(&mut s);
        s
    }

    fn rusage(&self, s: &mut Snapshot) {
        for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
            // SAFETY: `rusage` is plain data; getrusage fills it.
            let mut r: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: a valid `who` and a pointer to a whole `rusage`.
            if unsafe { libc::getrusage(who, &mut r) } == 0 {
                s.minflt += r.ru_minflt as u64;
                s.majflt += r.ru_majflt as u64;
                s.csw += r.ru_nvcsw as u64 + r.ru_nivcsw as u64;
            }
        }
    }

    fn interrupts(&mut self, s: &mut Snapshot) {
        self.buf.clear();
        let read = File::open("/proc/interrupts").and_then(|mut f| f.read_to_end(&mut self.buf));
        if read.is_ok() {
            let text = String::from_utf8_lossy(&self.buf);
            (s.tlb, s.cal) = (
                interrupt_total(&text, "TLB:"),
                interrupt_total(&text, "CAL:"),
            );
        }
    }

    fn region(&self, s: &mut Snapshot) {
        if let Some(c) = self.device.as_ref().and_then(|d| d.counters().ok()) {
            s.region = RegionFigures::from(&c);
        }
    }
}

impl Default for Probe {
    fn default() -> Self {
        Self::new()
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a whole `timespec`.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// The sum over CPUs of the `/proc/interrupts` line whose first field is `label` (the numbers
/// that follow it, up to the description); 0 when there is no such line.
pub fn interrupt_total(text: &str, label: &str) -> u64 {
    text.lines()
        .map(str::split_whitespace)
        .find_map(|mut f| (f.next() == Some(label)).then_some(f))
        .map_or(0, |f| f.map_while(|n| n.parse::<u64>().ok()).sum())
}

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
    fn interrupt_lines_are_summed_over_cpus() {
        let text = "           CPU0       CPU1\n  0:         40          0   IO-APIC    2-edge      timer\n\
                    CAL:        123        456   Function call interrupts\n\
                    TLB:          7          8   TLB shootdowns\n";
        assert_eq!(interrupt_total(text, "TLB:"), 15);
        assert_eq!(interrupt_total(text, "CAL:"), 579);
        assert_eq!(interrupt_total(text, "NMI:"), 0);
    }

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

    #[test]
    fn snapshots_move_forward() {
        let mut p = Probe::new();
        let a = p.before();
        let v: Vec<u8> = vec![1; 1 << 20];
        let b = p.after();
        assert!(v.iter().all(|&x| x == 1));
        assert!(b.ns >= a.ns && b.minflt >= a.minflt);
    }
}
