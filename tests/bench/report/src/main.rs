//! `bench-report CONSOLE_LOG [PLUGIN_FILE]`: prints the counts report of a `make bench` guest run
//! (see the library's documentation and the README's "Benchmarks").

use std::process::ExitCode;

fn read(path: &str) -> Result<String, String> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("{path}: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.len() > 2 || args[0] == "--help" || args[0] == "-h" {
        eprintln!(
            "usage: bench-report CONSOLE_LOG [PLUGIN_FILE]\n  pairs the COUNTS lines of the guest's console log with \
             the QEMU plugin's marker lines, prints per-operation counts, modelled and TCG times per workload, and \
             the TARGET lines"
        );
        return ExitCode::from(2);
    }
    let console = match read(&args[0]) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench-report: {e}");
            return ExitCode::FAILURE;
        }
    };
    let plugin = match args.get(1).map(|p| read(p)).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench-report: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", bench_report::report(&console, plugin.as_deref()));
    ExitCode::SUCCESS
}
