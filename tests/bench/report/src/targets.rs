//! The TARGET lines of issue 11, each from the medians over the runs:
//! `TARGET <name>: <value> (goal <goal>) met` or `... not met`.

use crate::figures::{key, summary, ByKey, FAULTS, FENCES, MODEL, OPS_PER_S, PM_LINES, SYSCALLS};

/// One target's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Its name in the table.
    pub name: &'static str,
    /// The value, formatted; `None` when a figure it needs is missing.
    pub value: Option<String>,
    /// The goal, formatted ("at least 2.0x").
    pub goal: &'static str,
    /// Whether the goal is met (never, without a value).
    pub met: bool,
    /// How the value was computed, for the lines above the TARGET lines.
    pub detail: String,
}

impl Target {
    /// The TARGET line.
    pub fn line(&self) -> String {
        format!(
            "TARGET {}: {} (goal {}) {}",
            self.name,
            self.value.as_deref().unwrap_or("no data"),
            self.goal,
            if self.met { "met" } else { "not met" }
        )
    }
}

fn median(by: &ByKey, workload: &str, system: &str, procs: u32, fig: usize) -> Option<f64> {
    summary(by, &key(workload, system, procs), fig).map(|s| s.median)
}

/// A ratio target: @top / @bottom (each "workload system procs"), compared with @goal.
#[allow(clippy::too_many_arguments)]
fn ratio(
    by: &ByKey,
    name: &'static str,
    fig: usize,
    what: &str,
    top: (&str, &str, u32),
    bottom: (&str, &str, u32),
    at_least: bool,
    goal: f64,
    goal_text: &'static str,
) -> Target {
    let t = median(by, top.0, top.1, top.2, fig);
    let b = median(by, bottom.0, bottom.1, bottom.2, fig);
    let value = match (t, b) {
        (Some(t), Some(b)) if b > 0.0 => Some(t / b),
        _ => None,
    };
    let show = |v: Option<f64>| {
        v.map(|v| format!("{v:.2}"))
            .unwrap_or_else(|| "missing".into())
    };
    Target {
        name,
        value: value.map(|v| format!("{v:.2}x")),
        goal: goal_text,
        met: value.is_some_and(|v| if at_least { v >= goal } else { v <= goal }),
        detail: format!(
            "{name}: {what} of {} {} {}p = {} / of {} {} {}p = {}",
            top.0,
            top.1,
            top.2,
            show(t),
            bottom.0,
            bottom.1,
            bottom.2,
            show(b)
        ),
    }
}

/// put-counts: syscalls / faults / lines written to PM / fences per KVS put, at most 1/1/40/4.
fn put_counts(by: &ByKey) -> Target {
    let goals = [1.0, 1.0, 40.0, 4.0];
    let vals: Vec<Option<f64>> = [SYSCALLS, FAULTS, PM_LINES, FENCES]
        .iter()
        .map(|f| median(by, "put100", "kvs", 1, *f))
        .collect();
    let all: Option<Vec<f64>> = vals.iter().copied().collect();
    let value = all.as_ref().map(|v| {
        v.iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join("/")
    });
    Target {
        name: "put-counts",
        met: all.as_ref().is_some_and(|v| v.iter().zip(goals).all(|(x, g)| *x <= g)),
        value,
        goal: "at most 1/1/40/4",
        detail: "put-counts: per put100 of the KVS, 1 process: syscalls / page faults / lines written to PM \
                 (written back + non-temporal, from the plugin) / fences"
            .to_string(),
    }
}

/// Every target of the table, in its order.
pub fn targets(by: &ByKey) -> Vec<Target> {
    vec![
        put_counts(by),
        ratio(
            by,
            "put-model-lmdb",
            MODEL,
            "modelled us/op",
            ("put100", "lmdb", 1),
            ("put100", "kvs", 1),
            true,
            2.0,
            "at least 2.0x",
        ),
        ratio(
            by,
            "put-model-pmdk",
            MODEL,
            "modelled us/op",
            ("put100", "pmdk", 1),
            ("put100", "kvs", 1),
            true,
            1.5,
            "at least 1.5x",
        ),
        ratio(
            by,
            "put-tcg-lmdb-1p",
            OPS_PER_S,
            "TCG ops/s",
            ("put100", "kvs", 1),
            ("put100", "lmdb", 1),
            true,
            1.0,
            "at least 1.0x",
        ),
        ratio(
            by,
            "put-tcg-lmdb-4p",
            OPS_PER_S,
            "TCG ops/s",
            ("put100", "kvs", 4),
            ("put100", "lmdb", 4),
            true,
            2.0,
            "at least 2.0x",
        ),
        ratio(
            by,
            "get-tcg-lmdb-4p",
            OPS_PER_S,
            "TCG ops/s",
            ("get100", "kvs", 4),
            ("get100", "lmdb", 4),
            true,
            2.0,
            "at least 2.0x",
        ),
        ratio(
            by,
            "pmsync-4w",
            MODEL,
            "modelled us/op",
            ("pmsync-1page", "region", 4),
            ("pmsync-1page", "region", 1),
            false,
            1.5,
            "at most 1.5x",
        ),
        ratio(
            by,
            "create-touch",
            MODEL,
            "modelled us/op",
            ("create-touch-2m", "ext4-dax", 1),
            ("create-touch-2m", "region", 1),
            true,
            1.0,
            "at least 1.0x",
        ),
    ]
}
