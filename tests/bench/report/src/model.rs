//! The hardware cost model: modelled time of an operation = its counts x per-event costs.
//!
//! Under TCG a cache-line write-back is free and a fault costs tens of microseconds, so measured
//! times rank designs by what the emulator finds expensive. The model ranks them by what PM
//! hardware finds expensive instead, from counts that do not depend on the emulator. The costs and
//! their sources are in the README ("The cost model"); every event is charged once, by the count
//! that sees it: instructions (user and kernel) by the plugin, faults and context switches by
//! rusage, TLB shootdown interrupts by /proc/interrupts, written-back and non-temporal lines and
//! fences by the plugin.

/// One line of the cost table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cost {
    /// Short name, as in the tables.
    pub name: &'static str,
    /// Microseconds per event.
    pub us: f64,
    /// Where the figure comes from (the README has the full references).
    pub source: &'static str,
}

/// Which figure of [`COSTS`] an index is.
pub const INSN: usize = 0;
/// System call (`syscall` instruction): the mode switch in and out.
pub const SYSCALL: usize = 1;
/// Page fault (minor or major).
pub const FAULT: usize = 2;
/// Context switch.
pub const CSW: usize = 3;
/// TLB shootdown interrupt.
pub const IPI: usize = 4;
/// A cache line written back (clwb, clflushopt, clflush).
pub const LINE: usize = 5;
/// A cache line stored non-temporally (64 bytes of movnt*).
pub const NT_LINE: usize = 6;
/// A store fence (sfence, mfence).
pub const FENCE: usize = 7;

/// The cost table.
pub const COSTS: [Cost; 8] = [
    Cost {
        name: "instruction",
        us: 0.0004,
        source: "1 instruction per cycle at 2.5 GHz, a Cascade Lake Xeon of the Optane studies (assumption)",
    },
    Cost {
        name: "system call",
        us: 0.1,
        source: "syscall/sysret mode switch (FlexSC, OSDI 2010) plus page-table isolation; its kernel work is in instructions",
    },
    Cost { name: "page fault", us: 1.25, source: "1-1.5 us (issue 11)" },
    Cost {
        name: "context switch",
        us: 2.0,
        source: "process switch through a pipe, 1-4 us on current x86 Linux (lmbench lat_ctx method)",
    },
    Cost { name: "TLB shootdown IPI", us: 2.0, source: "1-3 us (issue 11)" },
    Cost {
        name: "line written back",
        us: 0.1,
        source: "store + clwb of 64 B on Optane ~0.1 us (Yang et al., FAST 2020; OptaneStudy)",
    },
    Cost {
        name: "non-temporal line",
        us: 1.7 / 64.0,
        source: "4 KiB persisted copy 1.6-1.8 us (same sources; ~2.3 GB/s per DIMM) / 64 lines",
    },
    Cost { name: "fence", us: 0.3, source: "sfence after write-backs ~0.3 us (issue 11, same sources)" },
];

/// Per-operation counts the model charges, indexed like [`COSTS`].
pub type Counts = [f64; COSTS.len()];

/// Modelled microseconds per operation, component by component (indexed like [`COSTS`]).
pub fn components(c: &Counts) -> Counts {
    let mut out = [0.0; COSTS.len()];
    for (i, cost) in COSTS.iter().enumerate() {
        out[i] = c[i] * cost.us;
    }
    out
}

/// Modelled microseconds per operation.
pub fn total(c: &Counts) -> f64 {
    components(c).iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_adds_counts_times_costs() {
        let mut c = [0.0; COSTS.len()];
        c[INSN] = 10_000.0;
        c[FAULT] = 2.0;
        c[LINE] = 65.0;
        c[FENCE] = 2.0;
        c[NT_LINE] = 64.0;
        // 4 + 2.5 + 6.5 + 0.6 + 1.7
        assert!((total(&c) - 15.3).abs() < 1e-9);
    }
}
