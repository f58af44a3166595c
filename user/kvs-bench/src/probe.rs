//! The shared benchmark protocol's snapshot of an instant (issue 11), taken before and after
//! every measured phase: `getrusage` of this process and of its waited-for children (minor and
//! major faults, voluntary plus involuntary context switches), the totals over all CPUs of the
//! `TLB` and `CAL` lines of `/proc/interrupts`, the module's counters (`REGION_IOC_COUNTERS`) when
//! `/dev/region` opens (else zeros), and `CLOCK_MONOTONIC`. The clock is read last before the
//! phase and first after it, so the elapsed time holds the markers and the workload only.

use region::{Device, RegionCounters};
use std::fs::File;
use std::io::Read;

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
    fn snapshots_move_forward() {
        let mut p = Probe::new();
        let a = p.before();
        let v: Vec<u8> = vec![1; 1 << 20];
        let b = p.after();
        assert!(v.iter().all(|&x| x == 1));
        assert!(b.ns >= a.ns && b.minflt >= a.minflt);
    }
}
