//! One measured phase of the protocol: snapshot, BEGIN, the workers forked (no `exec`: each
//! runs the workload on its own store handle and reports its operations through a pipe) and
//! waited for, END, snapshot, and the phase's [`Counts`].

use crate::counts::Counts;
use crate::markers::{begin_marker, end_marker};
use crate::probe::Probe;
use crate::system::System;
use region_kvs::load::{run_workload, Workload};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::panic::{self, AssertUnwindSafe};

/// Bytes of a worker's report: its number and its operations, little-endian.
const REPORT: usize = 12;

/// Runs a phase of `workload` with `procs` workers of `ops` operations each on `system`; the
/// workers' operations are added up from their reports, not assumed.
pub fn run_phase(
    system: &dyn System,
    probe: &mut Probe,
    workload: Workload,
    procs: u32,
    ops: u64,
) -> io::Result<Counts> {
    let (mut reader, writer) = pipe()?;
    io::stdout().flush()?;
    io::stderr().flush()?;
    let before = probe.before();
    begin_marker();
    let mut pids = Vec::with_capacity(procs as usize);
    let mut failure = None;
    for w in 0..procs {
        // SAFETY: this program runs one thread; the child runs the worker and leaves with
        // `_exit`, never returning into the caller.
        match unsafe { libc::fork() } {
            -1 => {
                failure = Some(io::Error::last_os_error());
                break;
            }
            0 => worker(system, workload, w, ops, procs, &writer),
            pid => pids.push(pid),
        }
    }
    let mut failed = 0;
    for &pid in &pids {
        let mut status = 0;
        // SAFETY: waits for a child of this process.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            failed += 1;
        }
    }
    end_marker();
    let after = probe.after();
    drop(writer);
    if let Some(e) = failure {
        return Err(io::Error::other(format!("fork failed: {e}")));
    }
    if failed > 0 {
        return Err(io::Error::other(format!(
            "{failed} of {procs} workers failed (their errors are above)"
        )));
    }
    let mut reports = Vec::new();
    reader.read_to_end(&mut reports)?;
    if reports.len() != REPORT * procs as usize {
        return Err(io::Error::other(format!(
            "{} bytes of worker reports, not {}",
            reports.len(),
            REPORT * procs as usize
        )));
    }
    let total = reports
        .chunks_exact(REPORT)
        .map(|r| u64::from_le_bytes(r[4..].try_into().unwrap_or_default()))
        .sum();
    Ok(Counts::new(
        workload.name(),
        system.name(),
        procs,
        total,
        &before,
        &after,
    ))
}

/// A forked worker: runs its operations, reports them, and exits (0 when all went well).
fn worker(
    system: &dyn System,
    workload: Workload,
    w: u32,
    ops: u64,
    procs: u32,
    report: &File,
) -> ! {
    let run = panic::catch_unwind(AssertUnwindSafe(|| -> io::Result<u64> {
        let mut store = system.worker()?;
        let done = run_workload(&mut *store, workload, w, ops, procs)?;
        drop(store);
        let mut line = [0u8; REPORT];
        line[..4].copy_from_slice(&w.to_le_bytes());
        line[4..].copy_from_slice(&done.to_le_bytes());
        (&*report).write_all(&line)?;
        Ok(done)
    }));
    let code = match run {
        Ok(Ok(_)) => 0,
        Ok(Err(e)) => {
            eprintln!("kvs-bench: {} worker {w}: {e}", system.name());
            1
        }
        Err(_) => 2,
    };
    let _ = io::stderr().flush();
    // SAFETY: ends this forked process without running the parent's exit handlers.
    unsafe { libc::_exit(code) }
}

/// Runs `f` in a forked child and waits for it: for the unmeasured work between phases (the fill,
/// the restores), so that its allocations do not stay in this process's heap, where every
/// worker forked later would copy the pages they touch (a first `malloc` in a worker sorts the
/// chunks freed here: hundreds of copy-on-write faults per worker after a fill).
pub fn in_child(what: &str, f: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    io::stdout().flush()?;
    io::stderr().flush()?;
    // SAFETY: as in `run_phase`: one thread; the child leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let code = match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(Ok(())) => 0,
            Ok(Err(e)) => {
                eprintln!("kvs-bench: {what}: {e}");
                1
            }
            Err(_) => 2,
        };
        let _ = io::stderr().flush();
        // SAFETY: as in `worker`.
        unsafe { libc::_exit(code) }
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    if r == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(io::Error::other(format!("{what} failed (see above)")))
    }
}

/// A pipe, closed on exec: (read end, write end).
fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned here.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((File::from(r), File::from(w)))
}
