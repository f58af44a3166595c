//! The report on a small made-up console log and plugin file: per-operation figures, the model,
//! medians over runs, and the exact TARGET lines; and phases that must stay unpaired.

use bench_report::figures::{collect, key, summary, MODEL, OPS_PER_S, PM_LINES};
use bench_report::pair::pair;
use bench_report::parse::{console, plugin, PLUGIN_FIELDS};
use bench_report::report;

/// Writes a console log and a plugin file the way a guest run would.
struct Gen {
    console: String,
    plugin: String,
    seq: u64,
    hostns: u64,
    totals: [u64; PLUGIN_FIELDS.len()],
}

impl Gen {
    fn new() -> Gen {
        Gen {
            console: "[    0.000000] Linux version 7.3.4\n".into(),
            plugin: "PLUGIN region-counts mode=tb vcpus=2\n".into(),
            seq: 0,
            hostns: 5_000_000_000,
            totals: [1000; PLUGIN_FIELDS.len()],
        }
    }

    fn mark(&mut self, what: &str) {
        self.seq += 1;
        let counts: Vec<String> = PLUGIN_FIELDS
            .iter()
            .zip(self.totals)
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        self.plugin += &format!(
            "MARK {what} seq={} vcpu=0 hostns={} {}\n",
            self.seq,
            self.hostns,
            counts.join(" ")
        );
    }

    fn run(&mut self, n: u32) {
        self.console += &format!("BENCH-RUN {n}\n");
    }

    /// One phase: @per_op phase fields and plugin counters are multiplied by @ops.
    #[allow(clippy::too_many_arguments)]
    fn phase(
        &mut self,
        w: &str,
        s: &str,
        procs: u32,
        ops: u64,
        ns: u64,
        fields: &[(&str, u64)],
        plug: &[(&str, u64)],
    ) {
        // Unrelated work between phases, which must not count.
        for t in self.totals.iter_mut() {
            *t += 777;
        }
        self.hostns += 1_000_000;
        self.mark("BEGIN");
        for (name, v) in plug {
            let i = PLUGIN_FIELDS.iter().position(|f| f == name).unwrap();
            self.totals[i] += v * ops;
        }
        self.hostns += ns + 20_000; // the host sees a little more than the guest's clock
        self.mark("END");
        let get = |n: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v * ops)
                .unwrap_or(0)
        };
        self.console += &format!(
            "COUNTS {w} {s} {procs} ops={ops} ns={ns} minflt={} majflt=0 csw={} tlb={} cal=0 rlines={} rfences=0 \
             rundo={} rfaults=0 rpmsyncs=0 runmaps=0 rlogged=0 rnt=0\r\n",
            get("minflt"),
            get("csw"),
            get("tlb"),
            get("rlines"),
            get("rundo")
        );
    }
}

fn made_up() -> Gen {
    let mut g = Gen::new();
    for run in 1..=2u32 {
        g.run(run);
        // KVS put: 10,000 instructions, 1 syscall, 1 fault, 30 lines written back, 6 non-temporal, 3 fences.
        g.phase(
            "put100",
            "kvs",
            1,
            1000,
            1_000_000_000,
            &[("minflt", 1), ("rlines", 30)],
            &[
                ("insns", 10_000),
                ("kinsns", 4000),
                ("syscalls", 1),
                ("clwb", 30),
                ("ntbytes", 6 * 64),
                ("sfence", 3),
            ],
        );
        g.phase(
            "put100",
            "lmdb",
            1,
            1000,
            2_000_000_000,
            &[("minflt", 2)],
            &[
                ("insns", 40_000),
                ("syscalls", 2),
                ("clwb", 64),
                ("sfence", 2),
            ],
        );
        g.phase(
            "put100",
            "pmdk",
            1,
            1000,
            1_000_000_000,
            &[],
            &[("insns", 5000), ("clwb", 40), ("sfence", 10)],
        );
        g.phase(
            "put100",
            "kvs",
            4,
            4000,
            1_000_000_000,
            &[],
            &[("insns", 10_000)],
        );
        g.phase(
            "put100",
            "lmdb",
            4,
            4000,
            2_000_000_000,
            &[],
            &[("insns", 40_000)],
        );
        let kvs_get_ns = if run == 1 {
            1_000_000_000 / 3
        } else {
            1_000_000_000
        };
        g.phase(
            "get100",
            "kvs",
            4,
            10_000,
            kvs_get_ns,
            &[],
            &[("insns", 1000)],
        );
        g.phase(
            "get100",
            "lmdb",
            4,
            10_000,
            1_000_000_000,
            &[],
            &[("insns", 3000)],
        );
        // PMSYNC of one page, split over three phases of one operation each.
        for _ in 0..3 {
            g.phase(
                "pmsync-1page",
                "region",
                1,
                1,
                40_000,
                &[("rlines", 65)],
                &[
                    ("insns", 5000),
                    ("syscalls", 1),
                    ("clwb", 65),
                    ("sfence", 2),
                ],
            );
            g.phase(
                "pmsync-1page",
                "region",
                4,
                1,
                90_000,
                &[("rlines", 65)],
                &[
                    ("insns", 15_000),
                    ("syscalls", 1),
                    ("clwb", 65),
                    ("sfence", 2),
                ],
            );
        }
        g.phase(
            "create-touch-2m",
            "ext4-dax",
            1,
            1,
            5_000_000,
            &[("minflt", 1)],
            &[("insns", 1_000_000), ("syscalls", 5)],
        );
        g.phase(
            "create-touch-2m",
            "region",
            1,
            1,
            9_000_000,
            &[("minflt", 512), ("rundo", 512)],
            &[("insns", 900_000), ("clwb", 512)],
        );
    }
    g
}

#[test]
fn figures_model_and_targets() {
    let g = made_up();
    let text = report(&g.console, Some(&g.plugin));
    let lines = console(&g.console);
    let p = pair(&lines, &plugin(&g.plugin).marks);
    assert!(p.notes.is_empty(), "{:?}", p.notes);
    assert_eq!(p.pairs, p.lines);
    let by = collect(&p.phases);
    let kvs = key("put100", "kvs", 1);
    // 4 (cpu) + 0.1 (syscall) + 1.25 (fault) + 3 (lines) + 6 x 1.7/64 (nt) + 0.9 (fences)
    let want = 4.0 + 0.1 + 1.25 + 3.0 + 6.0 * 1.7 / 64.0 + 0.9;
    assert!((summary(&by, &kvs, MODEL).unwrap().median - want).abs() < 1e-9);
    assert_eq!(summary(&by, &kvs, PM_LINES).unwrap().median, 36.0);
    assert_eq!(summary(&by, &kvs, OPS_PER_S).unwrap().median, 1000.0);
    // Medians over two runs are the mean of the two; the spread is kept.
    let get = summary(&by, &key("get100", "kvs", 4), OPS_PER_S).unwrap();
    assert!((get.median - 20_000.0).abs() < 1e-3 && (get.min - 10_000.0).abs() < 1e-3);
    // Three phases of one PMSYNC each are one figure per run.
    let one = summary(&by, &key("pmsync-1page", "region", 1), MODEL).unwrap();
    assert!((one.median - 9.2).abs() < 1e-9, "{one:?}");
    let targets: Vec<&str> = text.lines().filter(|l| l.starts_with("TARGET ")).collect();
    assert_eq!(
        targets,
        [
            "TARGET put-counts: 1.0/1.0/36.0/3.0 (goal at most 1/1/40/4) met",
            "TARGET put-model-lmdb: 2.73x (goal at least 2.0x) met",
            "TARGET put-model-pmdk: 0.96x (goal at least 1.5x) not met",
            "TARGET put-tcg-lmdb-1p: 2.00x (goal at least 1.0x) met",
            "TARGET put-tcg-lmdb-4p: 2.00x (goal at least 2.0x) met",
            "TARGET get-tcg-lmdb-4p: 2.00x (goal at least 2.0x) met",
            "TARGET pmsync-4w: 1.43x (goal at most 1.5x) met",
            "TARGET create-touch: 0.38x (goal at least 1.0x) not met",
        ]
    );
    assert!(text.contains("\nput100, 1 process "), "{text}");
}

#[test]
fn missing_data_is_not_met() {
    let mut g = Gen::new();
    g.phase("put100", "kvs", 1, 10, 1_000_000, &[], &[("insns", 1)]);
    let text = report(&g.console, None);
    assert!(
        text.contains("TARGET put-counts: no data (goal at most 1/1/40/4) not met"),
        "{text}"
    );
    assert!(
        text.contains("TARGET put-tcg-lmdb-1p: no data (goal at least 1.0x) not met"),
        "{text}"
    );
    assert!(text.contains("no plugin markers"), "{text}");
}

#[test]
fn a_phase_without_its_pair_is_reported_not_guessed() {
    let mut g = Gen::new();
    g.phase("put100", "kvs", 1, 10, 1_000_000_000, &[], &[("insns", 1)]);
    g.phase("put100", "lmdb", 1, 10, 1_000_000_000, &[], &[("insns", 1)]);
    g.phase("get100", "kvs", 1, 10, 3_000_000_000, &[], &[("insns", 1)]);
    // The second phase's END never reached the plugin file (say the phase's process died after
    // printing): its BEGIN is dropped and the next pair no longer matches the second phase.
    let text: Vec<&str> = g.plugin.lines().collect();
    let broken: String = text
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let p = pair(&console(&g.console), &plugin(&broken).marks);
    assert!(p.phases[0].plugin.is_some());
    assert!(p.phases[1].plugin.is_none() && p.phases[2].plugin.is_none());
    assert!(
        p.notes.iter().any(|n| n.contains("seq=3 has no END")),
        "{:?}",
        p.notes
    );
    assert!(
        p.notes.iter().any(|n| n.contains("not the same phase")),
        "{:?}",
        p.notes
    );
    // A garbled COUNTS line is reported and keeps its place.
    let garbled = g.console.replacen(
        "COUNTS put100 lmdb 1 ops=10",
        "COUNTS put100 lmdb 1 ops=1[  3.1] x",
        1,
    );
    let p = pair(&console(&garbled), &plugin(&g.plugin).marks);
    assert_eq!(p.phases.len(), 2);
    assert!(
        p.phases[1].plugin.is_some(),
        "the third phase keeps the third pair"
    );
    assert!(
        p.notes.iter().any(|n| n.contains("does not parse")),
        "{:?}",
        p.notes
    );
}
