//! `regionctl`: create, list, inspect, resize, sync and delete regions of the Region System.
//!
//! Every command talks to `/dev/region` (or `--device PATH`). Errors go to stderr as
//! "regionctl: region 'NAME': REASON" and the exit status is 1 (2 for bad usage).

mod check;
mod online;

use clap::{Parser, Subcommand};
use region::size::{human, parse_size};
use region::{Access, Device, RegionStat};
use std::io;
use std::process::ExitCode;

/// Manage the regions of a Region System device.
#[derive(Parser)]
#[command(name = "regionctl", version, about)]
struct Cli {
    /// The control device.
    #[arg(long, default_value = region_uapi::REGION_DEVICE_PATH)]
    device: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the module's ABI version and the device's size.
    Info,
    /// Create a region, all zeros, owned by you.
    Create {
        /// Its name: 1-63 bytes, no '/'.
        name: String,
        /// Its size: bytes, or with a unit (4K, 2M, 1G); rounded up to 4 KiB pages.
        #[arg(value_parser = parse_size)]
        size: u64,
        /// Permission bits, octal.
        #[arg(long, default_value = "600", value_parser = parse_mode)]
        mode: u32,
    },
    /// List regions.
    Ls {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one region.
    Stat {
        /// The region.
        name: String,
    },
    /// Delete a region (its owner, or CAP_SYS_ADMIN; nobody may have it open).
    Rm {
        /// The region.
        name: String,
    },
    /// Give a region a new size (growing adds zeros; shrinking needs no mapping over the cut).
    Resize {
        /// The region.
        name: String,
        /// The new size, as for create.
        #[arg(value_parser = parse_size)]
        size: u64,
    },
    /// PMSYNC a region: make every process's stores to it durable, atomically (needs write
    /// permission: committing is a write).
    Sync {
        /// The region.
        name: String,
    },
    /// Show the on-PM layout of the device, and of a region's extents.
    Layout {
        /// The region (the device only when left out).
        name: Option<String>,
    },
    /// Erase every region on the attached device and start empty (CAP_SYS_ADMIN; no region may
    /// be open). To format a device the module refuses, load it with format=1 instead.
    Format {
        /// Yes, erase every region.
        #[arg(long)]
        yes: bool,
    },
    /// Check a device: online through the module (no IMAGE: layout, extents, and the heap of
    /// every region that holds one), or offline from a pmem image file or a block device the
    /// module is not attached to. Reports every inconsistency; exits 1 if there is any.
    Check {
        /// The image file or block device (offline); none: the device the module is attached to.
        image: Option<String>,
        /// Where the Region System starts in it, in bytes (default: after the fsdax info block if
        /// there is one, else 0).
        #[arg(long)]
        offset: Option<u64>,
    },
}

fn parse_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("'{text}' is not an octal mode of at most 777"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("regionctl: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli) -> io::Result<()> {
    if let Command::Check {
        image: Some(image),
        offset,
    } = &cli.command
    {
        return check_image(image, *offset);
    }
    let dev = Device::open_path(&cli.device)?;
    match &cli.command {
        Command::Check { .. } => check_online(&dev, &cli.device)?,
        Command::Format { yes } => {
            if !yes {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "format erases every region: run it again with --yes to go ahead",
                ));
            }
            dev.format()?;
            println!("formatted {}: every region erased", cli.device);
        }
        Command::Info => {
            let i = dev.info()?;
            println!("device: {}", cli.device);
            println!("ABI version: {}", i.abi_version);
            println!("size: {} ({} bytes)", human(i.device_size), i.device_size);
            println!("page size: {}", i.page_size);
        }
        Command::Create { name, size, mode } => {
            dev.create(name, *size, *mode)?;
            let st = dev.stat(name)?;
            println!(
                "created region '{name}': {}, mode {:o}",
                human(st.size),
                st.mode
            );
        }
        Command::Ls { json } => {
            let all = dev.list()?;
            if *json {
                print_json(&all);
            } else {
                print_table(&all);
            }
        }
        Command::Stat { name } => {
            let st = dev.stat(name)?;
            println!("name: {}", region::stat_name(&st));
            println!("size: {} ({} bytes)", human(st.size), st.size);
            println!("owner: uid {} gid {}", st.uid, st.gid);
            println!("mode: {:o}", st.mode);
            println!("epoch: {}", st.epoch);
            println!("table entry: {}", st.index);
            println!("extents: {}", st.nr_extents);
            println!("open files: {}", st.open_files);
            if st.flags & region_uapi::REGION_STAT_DAMAGED != 0 {
                println!("damaged: yes (a media error: it cannot be opened, only deleted)");
            }
        }
        Command::Rm { name } => {
            dev.delete(name)?;
            println!("deleted region '{name}'");
        }
        Command::Resize { name, size } => {
            dev.resize(name, *size)?;
            println!("region '{name}' is now {}", human(dev.stat(name)?.size));
        }
        Command::Sync { name } => {
            let epoch = dev.open_region(name, Access::ReadWrite)?.pmsync()?;
            println!("region '{name}': PMSYNC committed epoch {epoch}");
        }
        Command::Layout { name } => {
            let l = dev.layout(name.as_deref())?;
            println!("device pages: {}", l.device_pages);
            println!("superblock: page 0");
            println!(
                "region table: pages {}..{} ({} entries)",
                l.table_start,
                l.table_start + l.table_pages,
                l.table_entries
            );
            println!(
                "undo headers: pages {}..{}",
                l.undo_header_start,
                l.undo_header_start + l.undo_header_pages
            );
            println!(
                "undo data: pages {}..{} ({} slots)",
                l.undo_data_start, l.data_start, l.undo_slots
            );
            println!(
                "data: pages {}..{} ({} free, {} regions)",
                l.data_start,
                l.data_start + l.data_pages,
                l.free_pages,
                l.regions
            );
            if let Some(n) = name {
                println!("region '{n}': {} extents", l.nr_extents);
                for e in &l.extents[..l.nr_extents as usize] {
                    println!(
                        "  pages {}..{} ({})",
                        e.start,
                        e.start + e.pages,
                        human(e.pages * 4096)
                    );
                }
            }
        }
    }
    Ok(())
}

fn check_online(dev: &Device, path: &str) -> io::Result<()> {
    let report = online::check(dev, &mut |done, total| {
        if total >= 20 && (done % (total / 10) == 0 || done == total) {
            eprintln!("checking {path}: {done} of {total} regions");
        }
    })?;
    println!(
        "{path}: {} regions ({} holding a heap), data pages used: {}, free: {}",
        report.regions, report.heaps, report.used_pages, report.free_pages
    );
    for s in &report.skipped {
        println!("{s}");
    }
    verdict(path, &report.problems)
}

fn check_image(image: &str, offset: Option<u64>) -> io::Result<()> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{image}: {e}"));
    let file = std::fs::File::open(image).map_err(named)?;
    let len = file_len(&file).map_err(named)?;
    let offset = match offset {
        Some(o) => o,
        None => check::find_offset(&file).map_err(named)?,
    };
    let mut last = 0;
    let report = check::check(&file, len, offset, &mut |done| {
        let pct = (done * 100.0) as u32;
        if pct >= last + 10 {
            eprintln!("checking {image}: {pct}%");
            last = pct;
        }
    })
    .map_err(named)?;
    println!("{image}: Region System at byte {}", report.offset);
    println!(
        "regions: {}, data pages used: {}, free: {}",
        report.regions, report.used_pages, report.free_pages
    );
    println!(
        "undo pages the next attach rolls back: {}",
        report.pending_undo
    );
    verdict(image, &report.problems)
}

/// The end of a check of `what`: "no inconsistencies", or one "inconsistency: ..." line per
/// problem and an error (exit status 1).
fn verdict(what: &str, problems: &[String]) -> io::Result<()> {
    if problems.is_empty() {
        println!("no inconsistencies");
        return Ok(());
    }
    for p in problems {
        println!("inconsistency: {p}");
    }
    Err(io::Error::other(format!(
        "{what}: {} inconsistencies",
        problems.len()
    )))
}

/// The size of a file or block device.
fn file_len(file: &std::fs::File) -> io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::End(0))
}

fn print_table(all: &[RegionStat]) {
    println!(
        "{:<24} {:>10} {:>5} {:>6} {:>6} {:>8} {:>5}",
        "NAME", "SIZE", "MODE", "UID", "GID", "EPOCH", "OPEN"
    );
    for st in all {
        println!(
            "{:<24} {:>10} {:>5o} {:>6} {:>6} {:>8} {:>5}",
            region::stat_name(st),
            human(st.size),
            st.mode,
            st.uid,
            st.gid,
            st.epoch,
            st.open_files
        );
    }
}

fn print_json(all: &[RegionStat]) {
    let items: Vec<String> = all
        .iter()
        .map(|st| {
            format!(
                "{{\"name\":{},\"size\":{},\"mode\":\"{:o}\",\"uid\":{},\"gid\":{},\"epoch\":{},\"open_files\":{}}}",
                json_string(&region::stat_name(st)),
                st.size,
                st.mode,
                st.uid,
                st.gid,
                st.epoch,
                st.open_files
            )
        })
        .collect();
    println!("[{}]", items.join(","));
}

/// A JSON string literal for `s`.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
    }

    #[test]
    fn modes_are_octal_and_bounded() {
        assert_eq!(parse_mode("644"), Ok(0o644));
        assert!(parse_mode("1777").is_err());
        assert!(parse_mode("9").is_err());
    }
}
