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
    put("const REGION_IOC_MAGIC", REGION_IOC_MAGIC.into());
    put("const REGION_ABI_VERSION", REGION_ABI_VERSION.into());
    put(
        "const REGION_IOC_DEVICE_INFO",
        REGION_IOC_DEVICE_INFO.into(),
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
