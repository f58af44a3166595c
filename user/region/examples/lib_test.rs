//! Guest test of the `region` library against the module: prints TAP (kselftest style).
//! Run with region.ko loaded on a formatted device with no region named "lib-*".

use region::{errno, Access, Device};
use std::io;
use std::sync::atomic::Ordering;

fn check(name: &str, result: Result<(), String>, n: &mut u32, failed: &mut u32) {
    *n += 1;
    match result {
        Ok(()) => println!("ok {n} {name}"),
        Err(why) => {
            *failed += 1;
            println!("# {why}");
            println!("not ok {n} {name}");
        }
    }
}

fn want_errno(r: io::Result<impl std::fmt::Debug>, want: i32, what: &str) -> Result<(), String> {
    match r {
        Ok(v) => Err(format!("{what}: succeeded ({v:?}), expected errno {want}")),
        Err(e) if errno(&e) == Some(want) => Ok(()),
        Err(e) => Err(format!(
            "{what}: {e} (errno {:?}), expected errno {want}",
            errno(&e)
        )),
    }
}

fn lifecycle(dev: &Device) -> Result<(), String> {
    let e = |e: io::Error| e.to_string();
    dev.create("lib-a", 10_000, 0o640).map_err(e)?;
    let st = dev.stat("lib-a").map_err(e)?;
    if st.size != 12288 || st.mode != 0o640 || region::stat_name(&st) != "lib-a" {
        return Err(format!("stat says {st:?}"));
    }
    let r = dev.open_region("lib-a", Access::ReadWrite).map_err(e)?;
    let m = r.map().map_err(e)?;
    m.write(0, b"hello").map_err(e)?;
    let epoch = r.pmsync().map_err(e)?;
    if epoch != st.epoch {
        return Err(format!(
            "pmsync committed epoch {epoch}, expected {}",
            st.epoch
        ));
    }
    let ro = dev.open_region("lib-a", Access::ReadOnly).map_err(e)?;
    let mut seen = [0u8; 5];
    ro.map().map_err(e)?.read(0, &mut seen).map_err(e)?;
    if &seen != b"hello" {
        return Err("a second mapping does not see the store".into());
    }
    if !dev
        .list()
        .map_err(e)?
        .iter()
        .any(|s| region::stat_name(s) == "lib-a")
    {
        return Err("list lacks lib-a".into());
    }
    drop((m, r, ro));
    dev.resize("lib-a", 20_000).map_err(e)?;
    if dev.stat("lib-a").map_err(e)?.size != 20480 {
        return Err("resize did not take".into());
    }
    dev.delete("lib-a").map_err(e)
}

/// Copies and atomics through two mappings of one region (one read-only), and the errors that
/// replace out-of-range accesses and stores through a read-only mapping.
fn mapping_copies_atomics_and_errors(dev: &Device) -> Result<(), String> {
    let e = |e: io::Error| e.to_string();
    dev.create("lib-m", 8192, 0o600).map_err(e)?;
    let rw = dev.open_region("lib-m", Access::ReadWrite).map_err(e)?;
    let ro = dev.open_region("lib-m", Access::ReadOnly).map_err(e)?;
    let (a, b) = (rw.map().map_err(e)?, rw.map().map_err(e)?);
    let r = ro.map().map_err(e)?;
    // Unaligned copies across a page boundary, seen through the other mappings.
    let data: Vec<u8> = (0..100u8).collect();
    a.write(4090, &data).map_err(e)?;
    let (mut via_b, mut via_r) = (vec![0u8; 100], vec![0u8; 100]);
    b.read(4090, &mut via_b).map_err(e)?;
    r.read(4090, &mut via_r).map_err(e)?;
    if via_b != data || via_r != data {
        return Err(format!("other mappings read {via_b:?} / {via_r:?}"));
    }
    // One atomic word, seen from two mappings (two addresses) and a read-only one.
    let counter = a.atomic_u64(8).map_err(e)?;
    for _ in 0..1000 {
        counter.fetch_add(1, Ordering::Relaxed);
        b.atomic_u64(8).map_err(e)?.fetch_add(1, Ordering::Relaxed);
    }
    let loaded = r.load_u64(8).map_err(e)?;
    if loaded != 2000 {
        return Err(format!("the shared counter holds {loaded}, not 2000"));
    }
    let mut buf = [0u8; 16];
    for (what, err, kind) in [
        (
            "a store through a read-only mapping",
            r.write(0, b"x").err(),
            io::ErrorKind::PermissionDenied,
        ),
        (
            "an atomic of a read-only mapping",
            r.atomic_u64(0).err(),
            io::ErrorKind::PermissionDenied,
        ),
        (
            "a read past the end",
            a.read(8192 - 8, &mut buf).err(),
            io::ErrorKind::InvalidInput,
        ),
        (
            "a misaligned atomic",
            a.atomic_u64(12).err(),
            io::ErrorKind::InvalidInput,
        ),
    ] {
        match err {
            Some(err) if err.kind() == kind && err.to_string().contains("region 'lib-m'") => {}
            other => return Err(format!("{what}: {other:?}, expected {kind:?} naming lib-m")),
        }
    }
    drop((a, b, r, rw, ro));
    dev.delete("lib-m").map_err(e)
}

fn errors_name_the_region_and_keep_the_errno(dev: &Device) -> Result<(), String> {
    want_errno(
        dev.open_region("lib-missing", Access::ReadOnly),
        2,
        "open of a missing region",
    )?;
    let err = dev
        .open_region("lib-missing", Access::ReadOnly)
        .unwrap_err()
        .to_string();
    if !err.contains("region 'lib-missing'") {
        return Err(format!("message does not name the region: {err}"));
    }
    dev.create("lib-b", 4096, 0o600)
        .map_err(|e| e.to_string())?;
    want_errno(dev.create("lib-b", 4096, 0o600), 17, "second create")?;
    let r = dev
        .open_region("lib-b", Access::ReadOnly)
        .map_err(|e| e.to_string())?;
    want_errno(dev.delete("lib-b"), 16, "delete while open")?;
    drop(r);
    dev.delete("lib-b").map_err(|e| e.to_string())?;
    want_errno(
        dev.create(&"n".repeat(64), 4096, 0o600),
        36,
        "a 64-byte name",
    )?;
    let size = dev.info().map_err(|e| e.to_string())?.device_size;
    want_errno(
        dev.create("lib-huge", size, 0o600),
        28,
        "as much as the whole device",
    )?;
    want_errno(
        dev.create("lib-huge", 1 << 50, 0o600),
        27,
        "more than a region can be",
    )
}

fn device_calls(dev: &Device) -> Result<(), String> {
    let info = dev.info().map_err(|e| e.to_string())?;
    if info.abi_version != region_uapi::REGION_ABI_VERSION || info.page_size != 4096 {
        return Err(format!("info says {info:?}"));
    }
    let l = dev.layout(None).map_err(|e| e.to_string())?;
    if l.data_start + l.data_pages != l.device_pages {
        return Err(format!("layout does not add up: {l:?}"));
    }
    dev.counters().map_err(|e| e.to_string())?;
    dev.pmsync_all().map_err(|e| e.to_string()).map(|_| ())
}

fn main() {
    let dev = match Device::open() {
        Ok(d) => d,
        Err(e) => {
            println!("1..0 # SKIP cannot open /dev/region: {e}");
            std::process::exit(1);
        }
    };
    println!("TAP version 13");
    println!("1..4");
    let (mut n, mut failed) = (0, 0);
    check(
        "lifecycle_create_map_pmsync_list_resize_delete",
        lifecycle(&dev),
        &mut n,
        &mut failed,
    );
    check(
        "mapping_copies_atomics_and_errors",
        mapping_copies_atomics_and_errors(&dev),
        &mut n,
        &mut failed,
    );
    check(
        "errors_name_the_region_and_keep_the_errno",
        errors_name_the_region_and_keep_the_errno(&dev),
        &mut n,
        &mut failed,
    );
    check(
        "device_info_layout_counters_pmsync_all",
        device_calls(&dev),
        &mut n,
        &mut failed,
    );
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
