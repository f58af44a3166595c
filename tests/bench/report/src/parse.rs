//! Reading the two inputs: the guest's console log (COUNTS lines and the bench script's
//! `BENCH-RUN n` lines) and the QEMU plugin's file (one MARK line per marker instruction).

/// The counters of a COUNTS line after `ops=` and `ns=`, in the protocol's order.
pub const PHASE_FIELDS: [&str; 13] = [
    "minflt", "majflt", "csw", "tlb", "cal", "rlines", "rfences", "rundo", "rfaults", "rpmsyncs",
    "runmaps", "rlogged", "rnt",
];

/// Index of a field in [`Phase::counts`].
pub fn phase_field(name: &str) -> usize {
    PHASE_FIELDS.iter().position(|f| *f == name).unwrap_or(0)
}

/// The counters of the plugin's MARK lines, in its order.
pub const PLUGIN_FIELDS: [&str; 9] = [
    "insns",
    "kinsns",
    "syscalls",
    "clwb",
    "clflushopt",
    "clflush",
    "sfence",
    "mfence",
    "ntbytes",
];

/// Index of a counter in [`Mark::counts`] and [`crate::pair::Paired::plugin`].
pub fn plugin_field(name: &str) -> usize {
    PLUGIN_FIELDS.iter().position(|f| *f == name).unwrap_or(0)
}

/// One COUNTS line: a measured phase as the guest program saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    /// The bench run it belongs to (the last `BENCH-RUN n` line before it; 1 without any).
    pub run: u32,
    /// Workload name (`put100`, `pmsync-1page`, ...).
    pub workload: String,
    /// System name (`kvs`, `lmdb`, `region`, `ext4-dax`, ...).
    pub system: String,
    /// Worker processes.
    pub procs: u32,
    /// Operations in the phase, all workers together.
    pub ops: u64,
    /// Guest CLOCK_MONOTONIC nanoseconds of the phase.
    pub ns: u64,
    /// The deltas of [`PHASE_FIELDS`], in that order.
    pub counts: [u64; PHASE_FIELDS.len()],
    /// 1-based line number in the console log.
    pub line: usize,
}

/// A COUNTS line, parsed or not: a line that does not parse still takes its place in the order in
/// which phases pair with marker pairs.
#[derive(Clone, Debug, PartialEq)]
pub enum CountsLine {
    /// A well-formed line.
    Phase(Phase),
    /// A line that says COUNTS but does not parse: its line number and what is wrong.
    Bad(usize, String),
}

/// Parses the console log: every COUNTS line in order, with the run it belongs to.
pub fn console(text: &str) -> Vec<CountsLine> {
    let mut run = 1;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if let Some(pos) = line.find("BENCH-RUN ") {
            if let Some(n) = line[pos + 10..]
                .split_whitespace()
                .next()
                .and_then(|w| w.parse().ok())
            {
                run = n;
            }
            continue;
        }
        let Some(pos) = line.find("COUNTS ") else {
            continue;
        };
        // "COUNTS" must start the line or follow a space (a kernel message may precede it).
        if pos > 0 && !line[..pos].ends_with(' ') && !line[..pos].ends_with(']') {
            continue;
        }
        out.push(match phase(&line[pos..], run, i + 1) {
            Ok(p) => CountsLine::Phase(p),
            Err(e) => CountsLine::Bad(i + 1, e),
        });
    }
    out
}

/// Parses one line that starts with "COUNTS ".
fn phase(line: &str, run: u32, lineno: usize) -> Result<Phase, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() < 6 {
        return Err(format!("too few words: {line:?}"));
    }
    let procs = words[3]
        .parse()
        .map_err(|_| format!("bad procs {:?}", words[3]))?;
    let mut ops = None;
    let mut ns = None;
    let mut counts = [None; PHASE_FIELDS.len()];
    for w in &words[4..] {
        let Some((k, v)) = w.split_once('=') else {
            return Err(format!("not key=value: {w:?}"));
        };
        let v: u64 = v.parse().map_err(|_| format!("bad number in {w:?}"))?;
        match k {
            "ops" => ops = Some(v),
            "ns" => ns = Some(v),
            _ => {
                if let Some(i) = PHASE_FIELDS.iter().position(|f| *f == k) {
                    counts[i] = Some(v);
                }
            }
        }
    }
    let mut c = [0; PHASE_FIELDS.len()];
    for (i, v) in counts.iter().enumerate() {
        c[i] = v.ok_or_else(|| format!("no {}=", PHASE_FIELDS[i]))?;
    }
    Ok(Phase {
        run,
        workload: words[1].to_string(),
        system: words[2].to_string(),
        procs,
        ops: ops.ok_or("no ops=")?,
        ns: ns.ok_or("no ns=")?,
        counts: c,
        line: lineno,
    })
}

/// One marker as the plugin recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// BEGIN (true) or END (false).
    pub begin: bool,
    /// The plugin's sequence number.
    pub seq: u64,
    /// Host CLOCK_MONOTONIC nanoseconds at the marker.
    pub hostns: u64,
    /// Running totals of [`PLUGIN_FIELDS`], machine-wide.
    pub counts: [u64; PLUGIN_FIELDS.len()],
}

/// What the plugin file holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PluginFile {
    /// The PLUGIN header line, if any (its mode and vCPUs).
    pub header: Option<String>,
    /// Every marker, in order.
    pub marks: Vec<Mark>,
    /// Lines that did not parse: line number and text.
    pub bad: Vec<(usize, String)>,
}

/// Parses the plugin's output file.
pub fn plugin(text: &str) -> PluginFile {
    let mut f = PluginFile::default();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("PLUGIN ") {
            f.header = Some(line.to_string());
        } else if let Some(rest) = line.strip_prefix("MARK ") {
            match mark(rest) {
                Some(m) => f.marks.push(m),
                None => f.bad.push((i + 1, line.to_string())),
            }
        } else if !line.starts_with("EXIT ") && !line.trim().is_empty() {
            f.bad.push((i + 1, line.to_string()));
        }
    }
    f
}

fn mark(rest: &str) -> Option<Mark> {
    let mut words = rest.split_whitespace();
    let begin = match words.next()? {
        "BEGIN" => true,
        "END" => false,
        _ => return None,
    };
    let (mut seq, mut hostns) = (None, None);
    let mut counts = [None; PLUGIN_FIELDS.len()];
    for w in words {
        let (k, v) = w.split_once('=')?;
        let v: u64 = v.parse().ok()?;
        match k {
            "seq" => seq = Some(v),
            "hostns" => hostns = Some(v),
            _ => {
                if let Some(i) = PLUGIN_FIELDS.iter().position(|f| *f == k) {
                    counts[i] = Some(v);
                }
            }
        }
    }
    let mut c = [0; PLUGIN_FIELDS.len()];
    for (i, v) in counts.iter().enumerate() {
        c[i] = (*v)?;
    }
    Some(Mark {
        begin,
        seq: seq?,
        hostns: hostns?,
        counts: c,
    })
}
