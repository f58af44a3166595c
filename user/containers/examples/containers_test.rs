//! Guest test of the persistent containers against the module: prints TAP (kselftest style).
//! Run with region.ko loaded on a formatted device with no region named "ct-*"; removes what it
//! creates. `containers_test child-insert N` and `containers_test child-hold` are its helper
//! processes.

use region::{errno, Device};
use region_containers::{GlobalPtr, Heap, PHashMap, PPtr, PVec};
use std::io;
use std::process::Command;
use std::time::Duration;

type Check = Result<(), String>;

/// A named test.
type Test = (&'static str, fn(&Device) -> Check);

fn e(err: io::Error) -> String {
    err.to_string()
}

fn ensure(cond: bool, why: impl FnOnce() -> String) -> Check {
    if cond {
        Ok(())
    } else {
        Err(why())
    }
}

/// A heap survives closing and reopening: its root, a vector and a map, committed.
fn heap_round_trip(dev: &Device) -> Check {
    {
        let heap = Heap::create(dev, "ct-heap", 1 << 20, 0o600).map_err(e)?;
        let mut g = heap.lock().map_err(e)?;
        let v = PVec::<u64>::new(&mut g).map_err(e)?;
        for i in 0..100 {
            v.push(&mut g, i * 3).map_err(e)?;
        }
        g.set_root(v.as_ptr()).map_err(e)?;
        g.commit().map_err(e)?;
    }
    let heap = Heap::open(dev, "ct-heap").map_err(e)?;
    let g = heap.lock().map_err(e)?;
    let v = PVec::<u64>::at(g.root().map_err(e)?);
    let all = v.to_vec(&g).map_err(e)?;
    ensure(all.len() == 100 && all[99] == 297, || {
        format!("reopened vector holds {all:?}")
    })?;
    let r = g.check().map_err(e)?;
    ensure(r.problems.is_empty(), || format!("{:?}", r.problems))
}

/// Processes insert into one map at once under the heap lock; nothing is lost.
fn processes_share_a_map(dev: &Device) -> Check {
    {
        let heap = Heap::create(dev, "ct-shared", 4 << 20, 0o600).map_err(e)?;
        let mut g = heap.lock().map_err(e)?;
        let map = PHashMap::new(&mut g, 8).map_err(e)?;
        g.set_root(map.as_ptr()).map_err(e)?;
        g.commit().map_err(e)?;
    }
    let exe = std::env::current_exe().map_err(e)?;
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(&exe)
                .args(["child-insert", &i.to_string()])
                .spawn()
        })
        .collect::<io::Result<_>>()
        .map_err(e)?;
    for mut c in children {
        let status = c.wait().map_err(e)?;
        ensure(status.success(), || format!("a child failed: {status}"))?;
    }
    let heap = Heap::open(dev, "ct-shared").map_err(e)?;
    let g = heap.lock().map_err(e)?;
    let map = PHashMap::at(g.root().map_err(e)?);
    let len = map.len(&g).map_err(e)?;
    ensure(len == 400, || format!("the map holds {len} keys, not 400"))?;
    let v = map.get(&g, b"p3-k99").map_err(e)?;
    ensure(v.as_deref() == Some(&b"3:99"[..]), || {
        format!("p3-k99 holds {v:?}")
    })?;
    let r = g.check().map_err(e)?;
    ensure(r.problems.is_empty(), || format!("{:?}", r.problems))
}

fn child_insert(dev: &Device, who: u32) -> io::Result<()> {
    let heap = Heap::open(dev, "ct-shared")?;
    for k in 0..100 {
        let mut g = heap.lock()?;
        let map = PHashMap::at(g.root()?);
        map.insert(
            &mut g,
            format!("p{who}-k{k}").as_bytes(),
            format!("{who}:{k}").as_bytes(),
        )?;
        if k % 25 == 0 {
            g.commit()?;
        }
    }
    heap.commit().map(drop)
}

/// A process killed while it holds the lock: the next locker takes the lock over.
fn a_dead_holders_lock_is_taken_over(dev: &Device) -> Check {
    let heap = Heap::create(dev, "ct-robust", 1 << 20, 0o600).map_err(e)?;
    let exe = std::env::current_exe().map_err(e)?;
    let mut child = Command::new(&exe)
        .arg("child-hold")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(e)?;
    // The child says when it holds the lock.
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no pipe")?;
    io::BufRead::read_line(&mut io::BufReader::new(stdout), &mut line).map_err(e)?;
    child.kill().map_err(e)?;
    child.wait().map_err(e)?;
    ensure(line == "holding\n", || format!("the child said {line:?}"))?;
    let g = heap.lock().map_err(e)?;
    ensure(g.took_over(), || {
        "the lock was not taken over from the dead child".into()
    })?;
    ensure(g.takeovers().map_err(e)? == 1, || {
        "takeovers is not 1".into()
    })
}

fn child_hold(dev: &Device) -> io::Result<()> {
    let heap = Heap::open(dev, "ct-robust")?;
    let mut g = heap.lock()?;
    let p = g.alloc(1u64)?;
    g.set_root(p)?;
    println!("holding");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// A pointer into another region resolves through the heap's foreign table, after reopening.
fn pointers_cross_regions(dev: &Device) -> Check {
    let target = Heap::create(dev, "ct-target", 1 << 20, 0o600).map_err(e)?;
    let offset = {
        let mut g = target.lock().map_err(e)?;
        let p = g.alloc(*b"in the other region....").map_err(e)?;
        g.commit().map_err(e)?;
        p.offset()
    };
    {
        let heap = Heap::create(dev, "ct-source", 1 << 20, 0o600).map_err(e)?;
        let mut g = heap.lock().map_err(e)?;
        let index = g.link_region("ct-target").map_err(e)?;
        let gp = GlobalPtr::new(index, offset).ok_or("offset too big")?;
        let slot = g.alloc(gp).map_err(e)?;
        g.set_root(slot).map_err(e)?;
        g.commit().map_err(e)?;
    }
    let heap = Heap::open(dev, "ct-source").map_err(e)?;
    let g = heap.lock().map_err(e)?;
    let gp: GlobalPtr = g.read(g.root::<GlobalPtr>().map_err(e)?).map_err(e)?;
    ensure(gp.index() == 1, || format!("{gp:?}"))?;
    let mut bytes = [0u8; 16];
    g.read_foreign(gp, &mut bytes).map_err(e)?;
    ensure(&bytes == b"in the other reg", || {
        format!("resolved to {bytes:?}")
    })?;
    let bad = GlobalPtr::new(1, (1 << 20) - 8).ok_or("fits")?;
    let err = g
        .read_foreign(bad, &mut bytes)
        .expect_err("past the end of the target");
    ensure(err.kind() == io::ErrorKind::InvalidData, || err.to_string())
}

/// Opening a heap where there is none, or no region at all, says which and why.
fn errors_name_the_region(dev: &Device) -> Check {
    dev.create("ct-plain", 1 << 16, 0o600).map_err(e)?;
    let err = Heap::open(dev, "ct-plain").expect_err("no heap there");
    ensure(
        err.to_string() == "region 'ct-plain': holds no heap (format one first)",
        || err.to_string(),
    )?;
    let err = Heap::open(dev, "ct-none").expect_err("no region");
    ensure(errno(&err) == Some(2), || err.to_string())?;
    ensure(err.to_string().starts_with("region 'ct-none': "), || {
        err.to_string()
    })?;
    dev.create("ct-tiny", 4096, 0o600).map_err(e)?;
    let err = Heap::format(dev, "ct-tiny").expect_err("too small");
    ensure(err.to_string().contains("too small for a heap"), || {
        err.to_string()
    })?;
    let heap = Heap::format(dev, "ct-plain").map_err(e)?;
    let mut g = heap.lock().map_err(e)?;
    let err = g.alloc_bytes(1 << 20).expect_err("bigger than the heap");
    ensure(err.kind() == io::ErrorKind::OutOfMemory, || err.to_string())?;
    let p = PPtr::<u64>::from_offset(1 << 30);
    ensure(g.read(p).is_err(), || "a wild pointer was followed".into())
}

fn main() {
    let dev = match Device::open() {
        Ok(d) => d,
        Err(err) => {
            println!("Bail out! {err}");
            std::process::exit(1);
        }
    };
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child-insert") => {
            let who = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(0);
            std::process::exit(i32::from(child_insert(&dev, who).is_err()));
        }
        Some("child-hold") => {
            let _ = child_hold(&dev);
            std::process::exit(1);
        }
        _ => {}
    }
    let tests: [Test; 5] = [
        ("heap_round_trip", heap_round_trip),
        ("processes_share_a_map", processes_share_a_map),
        (
            "a_dead_holders_lock_is_taken_over",
            a_dead_holders_lock_is_taken_over,
        ),
        ("pointers_cross_regions", pointers_cross_regions),
        ("errors_name_the_region", errors_name_the_region),
    ];
    println!("TAP version 13");
    println!("1..{}", tests.len());
    let mut failed = 0;
    for (i, (name, test)) in tests.iter().enumerate() {
        match test(&dev) {
            Ok(()) => println!("ok {} {name}", i + 1),
            Err(why) => {
                failed += 1;
                println!("# {why}");
                println!("not ok {} {name}", i + 1);
            }
        }
    }
    for name in [
        "ct-heap",
        "ct-shared",
        "ct-robust",
        "ct-target",
        "ct-source",
        "ct-plain",
        "ct-tiny",
    ] {
        let _ = dev.delete(name);
    }
    println!(
        "# Totals: pass:{} fail:{failed} xfail:0 xpass:0 skip:0 error:0",
        tests.len() - failed
    );
    std::process::exit(i32::from(failed > 0));
}
