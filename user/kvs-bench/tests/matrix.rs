//! Host check of `kvs-bench matrix` (no guest, no module): the whole matrix on the KVS in process
//! memory and on LMDB in a temporary folder, with tiny operation counts; every phase must print
//! one COUNTS line that parses, in order, with the operations of all its workers.

use kvs_bench::counts::Counts;
use region_kvs::load::Workload;
use std::process::Command;

/// Runs `kvs-bench matrix ARGS.. --ops OPS` and checks its COUNTS lines against the default
/// matrix (every workload, 1, 2 and 4 workers).
fn check_matrix(system: &str, place: &str, ops: u64) {
    let out = Command::new(env!("CARGO_BIN_EXE_kvs-bench"))
        .args(["matrix", system, place, "--ops", &ops.to_string()])
        .output()
        .expect("kvs-bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kvs-bench failed:\n{stdout}\n{stderr}"
    );
    let lines: Vec<_> = stdout
        .lines()
        .filter(|l| l.starts_with("COUNTS "))
        .collect();
    let expected: Vec<_> = Workload::ALL
        .iter()
        .flat_map(|&w| [1u32, 2, 4].map(move |p| (w, p)))
        .collect();
    assert_eq!(lines.len(), expected.len(), "{stdout}");
    for (line, (w, procs)) in lines.iter().zip(expected) {
        let c = Counts::parse(line).unwrap_or_else(|| panic!("does not parse: {line}"));
        assert_eq!(c.to_string(), *line);
        assert_eq!((c.workload.as_str(), c.system.as_str()), (w.name(), system));
        assert_eq!(c.procs, procs, "{line}");
        assert_eq!(c.ops, u64::from(procs) * w.ops_per_worker(ops), "{line}");
        assert!(c.delta.ns > 0, "{line}");
        assert!(c.delta.minflt > 0, "forked workers fault: {line}");
    }
}

#[test]
fn the_matrix_on_the_kvs_in_memory_prints_every_phase() {
    check_matrix("kvs-memory", "64M", 8);
}

#[test]
fn the_matrix_on_lmdb_prints_every_phase() {
    let dir = std::env::temp_dir().join(format!("kvs-bench-test-{}", std::process::id()));
    check_matrix("lmdb", dir.to_str().expect("utf-8 path"), 8);
    std::fs::remove_dir_all(&dir).expect("remove the folder");
}

#[test]
fn an_unknown_workload_is_refused_with_the_names() {
    let out = Command::new(env!("CARGO_BIN_EXE_kvs-bench"))
        .args(["matrix", "kvs-memory", "8M", "--workloads", "put100,put200"])
        .output()
        .expect("kvs-bench runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown workload 'put200'"), "{stderr}");
    assert!(stderr.contains("insert100"), "{stderr}");
}
