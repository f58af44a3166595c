//! Checks that `region.h` and `region_uapi.rs` describe the same ABI: compiles `abi_dump.c`
//! against the header with the host C compiler, runs it, and compares every line it prints with
//! the same facts computed from the Rust definitions. Any difference, or a fact present on one side
//! only, fails the test.

use core::mem::{offset_of, size_of};
use region_uapi::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// The facts as the Rust mirror states them, keyed as `abi_dump.c` prints them.
fn rust_facts() -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: u64| {
        m.insert(k.to_string(), v);
    };
    put(
        "sizeof region_device_info",
        size_of::<RegionDeviceInfo>() as u64,
    );
    put(
        "offsetof region_device_info.flags",
        offset_of!(RegionDeviceInfo, flags) as u64,
    );
    put(
        "offsetof region_device_info.abi_version",
        offset_of!(RegionDeviceInfo, abi_version) as u64,
    );
    put(
        "offsetof region_device_info.device_size",
        offset_of!(RegionDeviceInfo, device_size) as u64,
    );
    put(
        "offsetof region_device_info.page_size",
        offset_of!(RegionDeviceInfo, page_size) as u64,
    );
    put(
        "offsetof region_device_info.reserved32",
        offset_of!(RegionDeviceInfo, reserved32) as u64,
    );
    put(
        "offsetof region_device_info.reserved",
        offset_of!(RegionDeviceInfo, reserved) as u64,
    );
    put(
        "sizeof region_create_args",
        size_of::<RegionCreateArgs>() as u64,
    );
    put(
        "offsetof region_create_args.name",
        offset_of!(RegionCreateArgs, name) as u64,
    );
    put(
        "offsetof region_create_args.size",
        offset_of!(RegionCreateArgs, size) as u64,
    );
    put(
        "offsetof region_create_args.mode",
        offset_of!(RegionCreateArgs, mode) as u64,
    );
    put(
        "offsetof region_create_args.flags",
        offset_of!(RegionCreateArgs, flags) as u64,
    );
    put(
        "offsetof region_create_args.reserved",
        offset_of!(RegionCreateArgs, reserved) as u64,
    );
    put(
        "sizeof region_open_args",
        size_of::<RegionOpenArgs>() as u64,
    );
    put(
        "offsetof region_open_args.name",
        offset_of!(RegionOpenArgs, name) as u64,
    );
    put(
        "offsetof region_open_args.flags",
        offset_of!(RegionOpenArgs, flags) as u64,
    );
    put(
        "offsetof region_open_args.reserved32",
        offset_of!(RegionOpenArgs, reserved32) as u64,
    );
    put(
        "offsetof region_open_args.reserved",
        offset_of!(RegionOpenArgs, reserved) as u64,
    );
    put(
        "sizeof region_name_args",
        size_of::<RegionNameArgs>() as u64,
    );
    put(
        "offsetof region_name_args.name",
        offset_of!(RegionNameArgs, name) as u64,
    );
    put(
        "offsetof region_name_args.reserved",
        offset_of!(RegionNameArgs, reserved) as u64,
    );
    put("sizeof region_stat", size_of::<RegionStat>() as u64);
    put(
        "offsetof region_stat.name",
        offset_of!(RegionStat, name) as u64,
    );
    put(
        "offsetof region_stat.size",
        offset_of!(RegionStat, size) as u64,
    );
    put(
        "offsetof region_stat.epoch",
        offset_of!(RegionStat, epoch) as u64,
    );
    put(
        "offsetof region_stat.uid",
        offset_of!(RegionStat, uid) as u64,
    );
    put(
        "offsetof region_stat.gid",
        offset_of!(RegionStat, gid) as u64,
    );
    put(
        "offsetof region_stat.mode",
        offset_of!(RegionStat, mode) as u64,
    );
    put(
        "offsetof region_stat.index",
        offset_of!(RegionStat, index) as u64,
    );
    put(
        "offsetof region_stat.nr_extents",
        offset_of!(RegionStat, nr_extents) as u64,
    );
    put(
        "offsetof region_stat.open_files",
        offset_of!(RegionStat, open_files) as u64,
    );
    put(
        "offsetof region_stat.flags",
        offset_of!(RegionStat, flags) as u64,
    );
    put(
        "offsetof region_stat.reserved32",
        offset_of!(RegionStat, reserved32) as u64,
    );
    put(
        "offsetof region_stat.reserved",
        offset_of!(RegionStat, reserved) as u64,
    );
    put(
        "sizeof region_list_args",
        size_of::<RegionListArgs>() as u64,
    );
    put(
        "offsetof region_list_args.entries",
        offset_of!(RegionListArgs, entries) as u64,
    );
    put(
        "offsetof region_list_args.capacity",
        offset_of!(RegionListArgs, capacity) as u64,
    );
    put(
        "offsetof region_list_args.count",
        offset_of!(RegionListArgs, count) as u64,
    );
    put(
        "offsetof region_list_args.reserved",
        offset_of!(RegionListArgs, reserved) as u64,
    );
    put(
        "sizeof region_resize_args",
        size_of::<RegionResizeArgs>() as u64,
    );
    put(
        "offsetof region_resize_args.name",
        offset_of!(RegionResizeArgs, name) as u64,
    );
    put(
        "offsetof region_resize_args.size",
        offset_of!(RegionResizeArgs, size) as u64,
    );
    put(
        "offsetof region_resize_args.reserved",
        offset_of!(RegionResizeArgs, reserved) as u64,
    );
    put("sizeof region_extent", size_of::<RegionExtent>() as u64);
    put(
        "offsetof region_extent.start",
        offset_of!(RegionExtent, start) as u64,
    );
    put(
        "offsetof region_extent.pages",
        offset_of!(RegionExtent, pages) as u64,
    );
    put("sizeof region_layout", size_of::<RegionLayout>() as u64);
    put(
        "offsetof region_layout.name",
        offset_of!(RegionLayout, name) as u64,
    );
    put(
        "offsetof region_layout.device_pages",
        offset_of!(RegionLayout, device_pages) as u64,
    );
    put(
        "offsetof region_layout.table_start",
        offset_of!(RegionLayout, table_start) as u64,
    );
    put(
        "offsetof region_layout.table_pages",
        offset_of!(RegionLayout, table_pages) as u64,
    );
    put(
        "offsetof region_layout.undo_header_start",
        offset_of!(RegionLayout, undo_header_start) as u64,
    );
    put(
        "offsetof region_layout.undo_header_pages",
        offset_of!(RegionLayout, undo_header_pages) as u64,
    );
    put(
        "offsetof region_layout.undo_data_start",
        offset_of!(RegionLayout, undo_data_start) as u64,
    );
    put(
        "offsetof region_layout.data_start",
        offset_of!(RegionLayout, data_start) as u64,
    );
    put(
        "offsetof region_layout.data_pages",
        offset_of!(RegionLayout, data_pages) as u64,
    );
    put(
        "offsetof region_layout.free_pages",
        offset_of!(RegionLayout, free_pages) as u64,
    );
    put(
        "offsetof region_layout.table_entries",
        offset_of!(RegionLayout, table_entries) as u64,
    );
    put(
        "offsetof region_layout.undo_slots",
        offset_of!(RegionLayout, undo_slots) as u64,
    );
    put(
        "offsetof region_layout.regions",
        offset_of!(RegionLayout, regions) as u64,
    );
    put(
        "offsetof region_layout.nr_extents",
        offset_of!(RegionLayout, nr_extents) as u64,
    );
    put(
        "offsetof region_layout.extents",
        offset_of!(RegionLayout, extents) as u64,
    );
    put(
        "offsetof region_layout.undo_share",
        offset_of!(RegionLayout, undo_share) as u64,
    );
    put(
        "offsetof region_layout.reserved32",
        offset_of!(RegionLayout, reserved32) as u64,
    );
    put(
        "offsetof region_layout.reserved",
        offset_of!(RegionLayout, reserved) as u64,
    );
    put("sizeof region_counters", size_of::<RegionCounters>() as u64);
    put(
        "offsetof region_counters.lines_written_back",
        offset_of!(RegionCounters, lines_written_back) as u64,
    );
    put(
        "offsetof region_counters.fences",
        offset_of!(RegionCounters, fences) as u64,
    );
    put(
        "offsetof region_counters.regions_created",
        offset_of!(RegionCounters, regions_created) as u64,
    );
    put(
        "offsetof region_counters.regions_deleted",
        offset_of!(RegionCounters, regions_deleted) as u64,
    );
    put(
        "offsetof region_counters.faults",
        offset_of!(RegionCounters, faults) as u64,
    );
    put(
        "offsetof region_counters.pmsyncs",
        offset_of!(RegionCounters, pmsyncs) as u64,
    );
    put(
        "offsetof region_counters.pages_written_back",
        offset_of!(RegionCounters, pages_written_back) as u64,
    );
    put(
        "offsetof region_counters.undo_pages",
        offset_of!(RegionCounters, undo_pages) as u64,
    );
    put(
        "offsetof region_counters.unmap_rounds",
        offset_of!(RegionCounters, unmap_rounds) as u64,
    );
    put(
        "offsetof region_counters.mappings_unmapped",
        offset_of!(RegionCounters, mappings_unmapped) as u64,
    );
    put(
        "offsetof region_counters.reserved",
        offset_of!(RegionCounters, reserved) as u64,
    );
    put("const REGION_IOC_MAGIC", REGION_IOC_MAGIC as u64);
    put("const REGION_ABI_VERSION", REGION_ABI_VERSION as u64);
    put("const REGION_NAME_MAX", REGION_NAME_MAX as u64);
    put("const REGION_MAX_EXTENTS", REGION_MAX_EXTENTS as u64);
    put("const REGION_OPEN_WRITE", REGION_OPEN_WRITE as u64);
    put("const REGION_STAT_DAMAGED", REGION_STAT_DAMAGED as u64);
    put(
        "const REGION_IOC_DEVICE_INFO",
        REGION_IOC_DEVICE_INFO as u64,
    );
    put("const REGION_IOC_CREATE", REGION_IOC_CREATE as u64);
    put("const REGION_IOC_OPEN", REGION_IOC_OPEN as u64);
    put("const REGION_IOC_DELETE", REGION_IOC_DELETE as u64);
    put("const REGION_IOC_STAT", REGION_IOC_STAT as u64);
    put("const REGION_IOC_LIST", REGION_IOC_LIST as u64);
    put("const REGION_IOC_RESIZE", REGION_IOC_RESIZE as u64);
    put("const REGION_IOC_LAYOUT", REGION_IOC_LAYOUT as u64);
    put("const REGION_IOC_COUNTERS", REGION_IOC_COUNTERS as u64);
    put("const REGION_IOC_FSTAT", REGION_IOC_FSTAT as u64);
    put("const REGION_IOC_PMSYNC", REGION_IOC_PMSYNC as u64);
    put("const REGION_IOC_PMSYNC_ALL", REGION_IOC_PMSYNC_ALL as u64);
    put("const REGION_IOC_FORMAT", REGION_IOC_FORMAT as u64);
    put(
        "sizeof region_format_args",
        size_of::<RegionFormatArgs>() as u64,
    );
    put(
        "offsetof region_format_args.flags",
        offset_of!(RegionFormatArgs, flags) as u64,
    );
    put(
        "offsetof region_format_args.reserved32",
        offset_of!(RegionFormatArgs, reserved32) as u64,
    );
    put(
        "offsetof region_format_args.reserved",
        offset_of!(RegionFormatArgs, reserved) as u64,
    );
    m
}

/// Compiles and runs `abi_dump.c`, returning what it printed.
fn c_facts() -> BTreeMap<String, u64> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("abi_dump");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&out)
        .arg(dir.join("tests/abi_dump.c"))
        .status()
        .expect("run the C compiler");
    assert!(
        status.success(),
        "region.h does not compile cleanly with {cc}"
    );
    let output = Command::new(&out).output().expect("run abi_dump");
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| {
            let (key, value) = line.rsplit_once(' ').expect("key value");
            (key.to_string(), value.parse().expect("number"))
        })
        .collect()
}

#[test]
fn abi_matches_header() {
    let (rust, c) = (rust_facts(), c_facts());
    let mut diffs = Vec::new();
    for key in rust.keys().chain(c.keys()) {
        if rust.get(key) != c.get(key) {
            diffs.push(format!(
                "{key}: rust {:?}, C {:?}",
                rust.get(key),
                c.get(key)
            ));
        }
    }
    diffs.dedup();
    assert!(
        diffs.is_empty(),
        "region.h and region_uapi.rs disagree:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn ioctl_encoding_matches_asm_generic() {
    // _IOWR(0xBE, 0, 48 bytes) worked by hand: dir 3 << 30 | size 48 << 16 | type 0xBE << 8 | nr 0.
    assert_eq!(
        ioc::iowr::<[u8; 48]>(0xBE, 0),
        (3 << 30) | (48 << 16) | (0xBE << 8)
    );
    assert_eq!(ioc::io(0xBE, 7), (0xBE << 8) | 7);
}
