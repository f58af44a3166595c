//! Host tests of the containers, on heaps in anonymous shared memory.

use crate::*;
use std::collections::BTreeMap;
use std::io;

fn heap() -> Heap {
    Heap::in_memory(1 << 20).expect("heap")
}

/// A heap of `size` bytes of each kind: stores straight into memory, and through a write set
/// (the write path of a region heap).
fn both(size: usize) -> [Heap; 2] {
    [
        Heap::in_memory(size).expect("heap"),
        Heap::in_memory_logged(size).expect("logged heap"),
    ]
}

fn assert_sound(g: &Guard<'_>) -> HeapReport {
    let r = g.check().expect("check ran");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    r
}

#[test]
fn allocations_are_zeroed_tagged_and_reused_after_free() {
    let heap = heap();
    let mut g = heap.lock().expect("lock");
    let a = g.alloc_bytes(100).expect("alloc");
    assert_eq!(a.offset() % 8, 0);
    assert!(a.offset() >= DATA_START);
    assert_eq!(
        g.block_len(a).expect("in use"),
        120,
        "128-byte block less its tag"
    );
    g.write_bytes(a, &[0xaa; 100]).expect("bytes");
    g.free(a).expect("free");
    let b = g.alloc_bytes(90).expect("alloc");
    assert_eq!(b, a, "the freed block of the same class comes back");
    let mut payload = [0xffu8; 120];
    g.read_bytes(b, &mut payload).expect("bytes");
    assert!(payload.iter().all(|&x| x == 0), "zeroed again");
    let r = assert_sound(&g);
    assert_eq!((r.used_blocks, r.free_blocks, r.used_bytes), (1, 0, 128));
}

#[test]
fn bad_frees_and_wild_pointers_are_errors() {
    let heap = heap();
    let mut g = heap.lock().expect("lock");
    let a = g.alloc(7u64).expect("alloc");
    g.free(a).expect("free");
    let e = g.free(a).expect_err("double free");
    assert!(e.to_string().contains("double free"), "{e}");
    assert!(g.free(PPtr::<u8>::from_offset(DATA_START + 3)).is_err());
    assert!(
        g.read(PPtr::<u64>::from_offset(1 << 20)).is_err(),
        "past the end"
    );
    assert!(
        g.read(PPtr::<u64>::from_offset(4097)).is_err(),
        "misaligned"
    );
    assert!(
        g.read_bytes(PPtr::from_offset(u64::MAX - 2), &mut [0; 8])
            .is_err(),
        "overflow"
    );
    assert!(
        g.write_bytes(PPtr::from_offset((1 << 20) - 4), &[0; 8])
            .is_err(),
        "past the end"
    );
    assert_sound(&g);
}

#[test]
fn a_full_heap_says_so_and_stays_sound() {
    let heap = Heap::in_memory(64 << 10).expect("heap");
    let mut g = heap.lock().expect("lock");
    let mut n = 0;
    let e = loop {
        match g.alloc_bytes(1000) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(e.kind(), io::ErrorKind::OutOfMemory);
    assert!(e.to_string().contains("heap full"), "{e}");
    assert_eq!(
        n,
        (60 << 10) / 1024,
        "every 1 KiB block of the 60 KiB after the header"
    );
    assert!(g.alloc_bytes(1 << 40).is_err());
    assert_sound(&g);
}

#[test]
fn the_root_survives_reopening_the_lock() {
    let heap = heap();
    {
        let mut g = heap.lock().expect("lock");
        let p = g.alloc([1u32, 2, 3, 4]).expect("alloc");
        g.set_root(p).expect("root");
        assert!(!g.took_over());
    }
    let g = heap.lock().expect("lock again");
    let p: PPtr<[u32; 4]> = g.root().expect("root");
    assert_eq!(g.read(p).expect("read"), [1, 2, 3, 4]);
    assert_eq!(
        g.commit().expect("commit"),
        1,
        "in-memory commits are counted"
    );
    assert_eq!(
        heap.lock().expect_err("not recursive").kind(),
        io::ErrorKind::WouldBlock
    );
    drop(g);
    assert_eq!(heap.commit().expect("commit"), 2);
}

#[test]
fn vectors_grow_pop_and_index() {
    for heap in both(1 << 20) {
        vector_ops(&heap);
    }
}

fn vector_ops(heap: &Heap) {
    let mut g = heap.lock().expect("lock");
    let v = PVec::<u64>::new(&mut g).expect("vec");
    assert!(v.is_empty(&g).expect("len"));
    for i in 0..1000u64 {
        v.push(&mut g, i * i).expect("push");
    }
    assert_eq!(v.len(&g).expect("len"), 1000);
    assert_eq!(v.get(&g, 999).expect("get"), 999 * 999);
    assert!(v.get(&g, 1000).is_err());
    v.set(&mut g, 5, 42).expect("set");
    assert_eq!(v.pop(&mut g).expect("pop"), Some(999 * 999));
    let all = v.to_vec(&g).expect("all");
    assert_eq!(all.len(), 999);
    assert_eq!(all[5], 42);
    let r = assert_sound(&g);
    assert!(r.free_blocks > 0, "outgrown buffers were freed");
    v.destroy(&mut g).expect("destroy");
    assert_eq!(assert_sound(&g).used_blocks, 0);
}

#[test]
fn the_hash_map_matches_a_model_through_growth_replacement_and_removal() {
    for heap in both(8 << 20) {
        map_model(&heap);
    }
}

fn map_model(heap: &Heap) {
    let mut g = heap.lock().expect("lock");
    let map = PHashMap::new(&mut g, 4).expect("map");
    let mut model = BTreeMap::new();
    let mut seed = 7u64;
    for step in 0..5000u64 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let key = format!("k{}", (seed >> 33) % 700).into_bytes();
        if step % 97 == 0 {
            // Flush and take the lock again now and then: the rest comes from the heap's bytes.
            drop(g);
            g = heap.lock().expect("lock");
        }
        match step % 5 {
            0 => assert_eq!(
                map.remove(&mut g, &key).expect("remove"),
                model.remove(&key).is_some()
            ),
            _ => {
                // Lengths repeat, so some replacements happen in place.
                let value =
                    format!("v{}-{}", step % 7, "x".repeat((seed % 5) as usize)).into_bytes();
                let replaced = map.insert(&mut g, &key, &value).expect("insert");
                assert_eq!(replaced, model.insert(key, value).is_some());
            }
        }
    }
    assert_eq!(map.len(&g).expect("len") as usize, model.len());
    for (k, v) in &model {
        assert_eq!(map.get(&g, k).expect("get").as_ref(), Some(v));
    }
    assert_eq!(map.get(&g, b"absent").expect("get"), None);
    let mut seen = BTreeMap::new();
    map.for_each(&g, |k, v| {
        seen.insert(k.to_vec(), v.to_vec());
        Ok(())
    })
    .expect("walk");
    assert_eq!(seen, model);
    assert_eq!(map.recount(&mut g).expect("recount") as usize, model.len());
    assert_sound(&g);
    map.destroy(&mut g).expect("destroy");
    assert_eq!(assert_sound(&g).used_blocks, 0, "everything freed");
}

#[test]
fn check_reports_a_corrupt_free_list_and_a_clobbered_tag() {
    let heap = heap();
    let mut g = heap.lock().expect("lock");
    let a = g.alloc(1u64).expect("alloc");
    let b = g.alloc(2u64).expect("alloc");
    g.free(a).expect("free");
    // The free list of 16-byte blocks (class 4) now points at b, which is in use.
    g.write(PPtr::<u64>::from_offset(128 + 8 * 4), b.offset())
        .expect("poke");
    let r = g.check().expect("check");
    assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
    assert!(
        r.problems[0].contains("not a free block"),
        "{:?}",
        r.problems
    );
    assert!(r.problems[1].contains("leaked"), "{:?}", r.problems);
    g.write(PPtr::<u64>::from_offset(a.offset() - 8), 0)
        .expect("clobber the tag");
    let r = g.check().expect("check");
    assert!(
        r.problems.iter().any(|p| p.contains("no block tag")),
        "{:?}",
        r.problems
    );
}

#[test]
fn a_process_killed_holding_the_lock_leaves_a_usable_map() {
    let heap = Heap::in_memory(4 << 20).expect("heap");
    let map = {
        let mut g = heap.lock().expect("lock");
        let map = PHashMap::new(&mut g, 16).expect("map");
        g.set_root(map.as_ptr()).expect("root");
        map
    };
    // SAFETY: the child only uses the heap (shared memory) and leaves with `_exit`, never
    // returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let mut g = heap.lock().expect("child lock");
        for i in 0u64.. {
            let key = format!("child{}", i % 500);
            let _ = map.insert(&mut g, key.as_bytes(), &i.to_le_bytes());
        }
        // SAFETY: leaving the forked child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let mut g = heap.lock().expect("lock after the holder died");
    assert!(g.took_over(), "the dead child's lock was taken over");
    assert_eq!(g.takeovers().expect("takeovers"), 1);
    let n = map.recount(&mut g).expect("the map walks cleanly");
    assert!(n > 0 && n <= 500, "{n}");
    map.insert(&mut g, b"after", b"ok").expect("usable");
    assert_eq!(
        map.get(&g, b"after").expect("get").as_deref(),
        Some(&b"ok"[..])
    );
    let r = g.check().expect("check");
    assert!(
        r.problems.len() <= 1,
        "at most the one block being replaced leaks: {:?}",
        r.problems
    );
}

#[test]
fn foreign_pointers_need_a_device_and_a_linked_region() {
    let heap = heap();
    let mut g = heap.lock().expect("lock");
    let p = g.alloc(99u64).expect("alloc");
    let local = GlobalPtr::new(0, p.offset()).expect("fits");
    let mut buf = [0u8; 8];
    g.read_foreign(local, &mut buf).expect("local");
    assert_eq!(buf, 99u64.to_ne_bytes());
    assert_eq!(g.link_region("other").expect("linked"), 1);
    assert_eq!(g.link_region("other").expect("linked"), 1, "once");
    assert_eq!(g.link_region("third").expect("linked"), 2);
    assert_eq!(g.linked_region(2).expect("entry").as_deref(), Some("third"));
    assert_eq!(g.linked_region(3).expect("entry"), None);
    assert!(g.linked_region(16).is_err());
    let e = g
        .read_foreign(GlobalPtr::new(1, 0).expect("fits"), &mut buf)
        .expect_err("no device");
    assert_eq!(e.kind(), io::ErrorKind::Unsupported);
    let e = g
        .read_foreign(GlobalPtr::new(5, 0).expect("fits"), &mut buf)
        .expect_err("unlinked");
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
    for i in 3..=FOREIGN_SLOTS {
        g.link_region(&format!("r{i}")).expect("room");
    }
    assert_eq!(
        g.link_region("one-too-many").expect_err("full").kind(),
        io::ErrorKind::OutOfMemory
    );
}

#[test]
fn optimistic_readers_never_see_a_half_done_change() {
    for heap in both(1 << 20) {
        half_done(&heap);
    }
}

fn half_done(heap: &Heap) {
    let block = {
        let mut g = heap.lock().expect("lock");
        let p = g.alloc_bytes(4096).expect("alloc");
        g.write_bytes(p, &[b'a'; 4096]).expect("bytes");
        p
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..2000u32 {
                let mut g = heap.lock().expect("lock");
                // In place, a word at a time: half done for a long while.
                let word = [b'a' + (i % 26) as u8; 8];
                for at in (0..4096).step_by(8) {
                    g.write_bytes(PPtr::from_offset(block.offset() + at), &word)
                        .expect("bytes");
                }
            }
        });
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..2000 {
                    let v = heap
                        .read(|g| {
                            let mut v = vec![0; 4096];
                            g.read_bytes(block, &mut v)?;
                            Ok(v)
                        })
                        .expect("read");
                    assert!(v.iter().all(|&b| b == v[0]), "torn read");
                }
            });
        }
    });
    let e = heap
        .read(|g| g.commit())
        .expect_err("no commit without the lock");
    assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
}

#[test]
fn optimistic_map_reads_race_with_inserts_removals_and_growth() {
    for heap in both(8 << 20) {
        map_race(&heap);
    }
}

fn map_race(heap: &Heap) {
    // Readers follow links that a writer in another thread is changing, freeing and reusing (a
    // small table that grows): every access is an atomic copy, so the races are sound, and the
    // results that count are whole.
    let map = PHashMap::new(&mut heap.lock().expect("lock"), 2).expect("map");
    let key = |k: u64| format!("key-{k}").into_bytes();
    let value = |k: u64| format!("value-{k}-{}", "v".repeat((k % 37) as usize)).into_bytes();
    std::thread::scope(|s| {
        s.spawn(|| {
            for step in 0..3000u64 {
                let mut g = heap.lock().expect("lock");
                let k = step % 300;
                if step % 3 == 0 {
                    map.remove(&mut g, &key(k)).expect("remove");
                } else {
                    map.insert(&mut g, &key(k), &value(k)).expect("insert");
                }
            }
        });
        for _ in 0..2 {
            s.spawn(|| {
                let mut out = Vec::new();
                for i in 0..3000u64 {
                    let k = i * 7 % 300;
                    let found = heap
                        .read(|g| map.get_into(g, &key(k), &mut out))
                        .expect("read");
                    if found {
                        assert_eq!(out, value(k), "a torn value");
                    }
                }
            });
        }
    });
    assert_sound(&heap.lock().expect("lock"));
}

#[test]
fn a_group_commit_covers_every_change_released_before_it() {
    for heap in both(1 << 20) {
        group_commit(&heap);
    }
}

fn group_commit(heap: &Heap) {
    let p = heap.lock().expect("lock").alloc(0u64).expect("alloc");
    let change = |v: u64| {
        let mut g = heap.lock().expect("lock");
        g.write(p, v).expect("write");
        g.release().expect("released")
    };
    let first = change(1);
    let second = change(2);
    assert!(second > first, "releases are numbered");
    // One commit covers both releases; the second commit finds it done.
    let epoch = heap.commit_through(first).expect("commit");
    assert_eq!(epoch, 1);
    assert_eq!(
        heap.commit_through(second).expect("covered"),
        1,
        "no second commit"
    );
    // A change released after that commit needs one of its own.
    let third = change(3);
    assert_eq!(heap.commit_through(third).expect("commit"), 2);
    // Threads committing at once: every commit returns, and the commit count stays at or below
    // the commit calls (it never takes more than one each).
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..200 {
                    let mut g = heap.lock().expect("lock");
                    g.alloc(1u64).expect("alloc");
                    let change = g.release().expect("released");
                    heap.commit_through(change).expect("commit");
                }
            });
        }
    });
    let commits = heap.commit().expect("commit") - 3;
    assert!(commits <= 800, "{commits} commits for 800 commit calls");
}

#[test]
fn readers_go_on_past_a_dead_holders_lock_without_taking_it() {
    for heap in both(1 << 20) {
        past_the_dead(&heap);
    }
}

fn past_the_dead(heap: &Heap) {
    use crate::volatile::{CHANGES, LOCK};
    use std::sync::atomic::Ordering::Relaxed;
    let p = {
        let mut g = heap.lock().expect("lock");
        g.alloc(42u64).expect("alloc")
    };
    let dead = std::thread::spawn(crate::lock::my_word)
        .join()
        .expect("thread ran");
    // What a holder leaves that dies writing: the lock word, and the change count odd.
    let word = heap.vol.word(LOCK).expect("lock word");
    word.store(dead, Relaxed);
    let changes = heap.vol.word(CHANGES).expect("change count");
    changes.fetch_add(1, Relaxed);
    assert_eq!(heap.read(|g| g.read(p)).expect("read"), 42);
    assert_eq!(word.load(Relaxed), dead, "a reader takes nothing over");
    let g = heap.lock().expect("a writer takes it over");
    assert!(g.took_over());
    assert_eq!(g.takeovers().expect("takeovers"), 1);
    assert_eq!(
        changes.load(Relaxed) % 2,
        u64::from(!heap.logged()),
        "the taker's parity: odd while a direct holder writes, even otherwise"
    );
}

#[test]
fn a_holder_reads_its_own_stores_and_others_see_them_after_release() {
    let heap = Heap::in_memory_logged(1 << 20).expect("heap");
    let p = {
        let mut g = heap.lock().expect("lock");
        let p = g.alloc_bytes(200).expect("alloc");
        g.write_bytes(p, &[1; 200]).expect("bytes");
        p
    };
    let seen = |at: u64| {
        heap.read(|g| {
            let mut b = [0u8; 1];
            g.read_bytes(PPtr::from_offset(p.offset() + at), &mut b)?;
            Ok(b[0])
        })
        .expect("read")
    };
    let mut g = heap.lock().expect("lock");
    g.write_bytes(PPtr::from_offset(p.offset() + 50), &[2; 100])
        .expect("bytes");
    let mut mine = [0u8; 200];
    g.read_bytes(p, &mut mine).expect("bytes");
    assert_eq!((mine[49], mine[50], mine[149], mine[150]), (1, 2, 2, 1));
    assert!(g.eq_bytes(p.offset() + 50, &[2; 100]).expect("compare"));
    // Another thread's optimistic read runs while the lock is held and sees the heap's bytes,
    // without this holder's stores.
    std::thread::scope(|s| {
        s.spawn(|| assert_eq!(seen(60), 1, "not flushed yet"));
    });
    let before = heap.write_stats();
    g.flush().expect("flushed");
    assert_eq!(seen(60), 2, "flushed");
    let after = heap.write_stats();
    assert_eq!(
        (after.writes - before.writes, after.ranges - before.ranges),
        (1, 1)
    );
    assert_eq!(after.bytes - before.bytes, 100);
    g.write(p.cast::<u64>(), 7).expect("word");
    drop(g);
    assert_eq!(seen(0), 7, "a drop flushes");
}

#[test]
fn a_write_set_bigger_than_one_call_is_flushed_in_pieces() {
    let heap = Heap::in_memory_logged(8 << 20).expect("heap");
    let mut g = heap.lock().expect("lock");
    let big = g.alloc_bytes(3 << 20).expect("alloc");
    let data: Vec<u8> = (0..3u32 << 20).map(|i| (i % 251) as u8).collect();
    g.write_bytes(big, &data).expect("bytes");
    // Scattered small stores (on a block whose zeroing is flushed already): more ranges than
    // one call takes.
    let small = g.alloc_bytes(600 * 128).expect("alloc");
    g.flush().expect("flushed");
    for i in 0..600u64 {
        g.write(PPtr::<u64>::from_offset(small.offset() + i * 128), i)
            .expect("word");
    }
    let mut back = vec![0u8; data.len()];
    g.read_bytes(big, &mut back).expect("bytes");
    assert!(back == data, "the holder sees every store");
    let epoch = g.commit().expect("commit");
    let stats = heap.write_stats();
    assert_eq!(stats.commits, 1, "only the last call commits");
    assert!(stats.writes >= 5, "{stats:?}");
    assert!(stats.ranges >= 600, "{stats:?}");
    drop(g);
    let back = heap
        .read(|g| {
            let mut b = vec![0u8; data.len()];
            g.read_bytes(big, &mut b)?;
            let last = g.read(PPtr::<u64>::from_offset(small.offset() + 599 * 128))?;
            Ok((b, last))
        })
        .expect("read");
    assert!(back.0 == data);
    assert_eq!(back.1, 599);
    assert_eq!(epoch, 1);
}

#[test]
fn a_replacement_of_the_same_length_writes_only_its_changed_lines() {
    let heap = Heap::in_memory_logged(4 << 20).expect("heap");
    let map = {
        let mut g = heap.lock().expect("lock");
        let map = PHashMap::new(&mut g, 1024).expect("map");
        for k in 0..1000u32 {
            map.insert(&mut g, format!("key-{k:06}").as_bytes(), &[k as u8; 100])
                .expect("insert");
        }
        g.commit().expect("commit");
        map
    };
    let before = heap.write_stats();
    let mut g = heap.lock().expect("lock");
    let value: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(31)).collect();
    assert!(map.insert(&mut g, b"key-000123", &value).expect("put"));
    g.commit().expect("commit");
    drop(g);
    let put = heap.write_stats();
    let (ranges, lines) = (put.ranges - before.ranges, put.lines - before.lines);
    assert_eq!(
        (put.writes - before.writes, put.commits - before.commits),
        (1, 1)
    );
    assert_eq!(ranges, 1, "the value's bytes only");
    assert_eq!(lines, 2, "100 bytes starting on a line");
    assert_eq!(
        heap.read(|g| map.get(g, b"key-000123")).expect("get"),
        Some(value.clone())
    );
    // The same value again changes no line: nothing to write, the commit alone.
    let mut g = heap.lock().expect("lock");
    map.insert(&mut g, b"key-000123", &value).expect("put");
    g.commit().expect("commit");
    drop(g);
    let again = heap.write_stats();
    assert_eq!((again.writes, again.commits), (put.writes, put.commits + 1));
    // A new key: its node, the chain head, the count and the allocator's word.
    let mut g = heap.lock().expect("lock");
    map.insert(&mut g, b"new-00-0000001", &value)
        .expect("insert");
    g.commit().expect("commit");
    drop(g);
    let insert = heap.write_stats();
    let (ranges, lines) = (insert.ranges - again.ranges, insert.lines - again.lines);
    assert!(
        ranges <= 5 && lines <= 7,
        "{ranges} ranges, {lines} lines for an insert"
    );
    let g = heap.lock().expect("lock");
    assert!(g.check().expect("check").problems.is_empty());
}

#[test]
fn changes_need_the_lock() {
    let heap = Heap::in_memory_logged(1 << 20).expect("heap");
    let p = heap.lock().expect("lock").alloc(5u64).expect("alloc");
    let e = heap
        .read(|g| g.put(p.offset(), 6u64))
        .expect_err("an optimistic reader changes nothing");
    assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
    assert!(e.to_string().contains("needs the heap lock"), "{e}");
}

#[test]
fn a_holder_that_dies_between_pieces_is_noticed_after_the_volatile_state_is_gone() {
    use crate::volatile::LOCK;
    use std::sync::atomic::Ordering::Relaxed;
    let heap = Heap::in_memory_logged(8 << 20).expect("heap");
    let p = heap
        .lock()
        .expect("lock")
        .alloc_bytes(3 << 20)
        .expect("alloc");
    // SAFETY: the child only uses the heap (shared memory) and leaves with `_exit`, never
    // returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let mut g = heap.lock().expect("child lock");
        // Bigger than one write call: flushed in pieces, then the holder dies.
        let _ = g.write_bytes(p, &vec![9u8; 3 << 20]);
        // SAFETY: leaving the forked child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    // Every process that saw the holder die has closed the region: the volatile state is new.
    heap.vol.word(LOCK).expect("lock word").store(0, Relaxed);
    let g = heap.lock().expect("lock");
    assert!(
        g.took_over(),
        "the heap's partial word said a holder died mid-operation"
    );
    drop(g);
    let g = heap.lock().expect("lock");
    assert!(!g.took_over(), "the last flush cleared it");
}
