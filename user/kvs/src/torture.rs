//! The KVS crash-torture workload and its check.
//!
//! Each writer owns `SLOTS` keys and a "last" key. Its put number `seq` stores a value naming
//! `(writer, seq)` with a checksum in slot `seq % SLOTS` and `seq` in its last key, and commits
//! both; after each commit the writer reports `seq` (on the console, outside the region). After a
//! power cut, [`verify`] finds each writer's last `seq` in the store and checks that the `SLOTS`
//! slots hold exactly the values of the puts up to it (no torn value, no mix of puts) and that
//! the heap is sound; the host then checks that each writer's last `seq` is the last one it
//! reported or the one after (committed, cut before the report): no committed put lost.

use crate::Kvs;
use std::io;

/// Keys each writer cycles through.
pub const SLOTS: u64 = 16;
/// Bytes of each value.
const VALUE_BYTES: usize = 96;

/// The key of `writer`'s slot `slot`.
pub fn slot_key(writer: u32, slot: u64) -> Vec<u8> {
    format!("torture/{writer}/{slot}").into_bytes()
}

/// The key that holds `writer`'s last committed put number.
pub fn last_key(writer: u32) -> Vec<u8> {
    format!("torture/{writer}/last").into_bytes()
}

/// The value of `writer`'s put number `seq`: its name, padding, and a checksum of both.
pub fn value_of(writer: u32, seq: u64) -> Vec<u8> {
    let mut v = format!("{writer}:{seq}:").into_bytes();
    let fill = b'a' + (seq % 26) as u8;
    v.resize(VALUE_BYTES - 17, fill);
    let sum = region_containers::hash(&v);
    v.extend_from_slice(format!(":{sum:016x}").as_bytes());
    v
}

/// `writer`'s last committed put number stored in the store (0: none yet).
pub fn last_seq(kvs: &Kvs, writer: u32) -> io::Result<u64> {
    let g = kvs.lock()?;
    let Some(v) = g.get(&last_key(writer))? else {
        return Ok(0);
    };
    let text = std::str::from_utf8(&v).ok();
    text.and_then(|t| t.parse().ok()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("writer {writer}: last key holds {v:?}"),
        )
    })
}

/// Puts forever (or `limit` times), continuing after the stored last put; calls `report(seq,
/// epoch)` after each commit. Odd puts commit under the lock (the changes written and committed
/// by one `REGION_IOC_WRITE`), even ones after it (written by the release, committed by a group
/// commit), so power cuts land in both paths.
pub fn write(
    kvs: &Kvs,
    writer: u32,
    limit: Option<u64>,
    mut report: impl FnMut(u64, u64),
) -> io::Result<()> {
    let first = last_seq(kvs, writer)? + 1;
    for seq in first.. {
        if limit.is_some_and(|l| seq >= first + l) {
            break;
        }
        let mut g = kvs.lock()?;
        g.put(&slot_key(writer, seq % SLOTS), &value_of(writer, seq))?;
        g.put(&last_key(writer), seq.to_string().as_bytes())?;
        let epoch = if seq % 2 == 1 {
            let epoch = g.commit()?;
            g.release()?;
            epoch
        } else {
            g.commit_after()?
        };
        report(seq, epoch);
    }
    Ok(())
}

/// Checks the puts of `writers` writers in the store; returns each writer's last put number,
/// or every problem.
pub fn verify(kvs: &Kvs, writers: u32) -> Result<Vec<u64>, Vec<String>> {
    let mut problems = Vec::new();
    let mut lasts = Vec::new();
    let mut expected_len = 0;
    for w in 0..writers {
        let last = match last_seq(kvs, w) {
            Ok(l) => l,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        for seq in last.saturating_sub(SLOTS - 1).max(1)..=last {
            match kvs.get(&slot_key(w, seq % SLOTS)) {
                Ok(Some(v)) if v == value_of(w, seq) => {}
                Ok(v) => problems.push(format!(
                    "writer {w}: slot {} should hold put {seq}, holds {:?}",
                    seq % SLOTS,
                    v.map(|v| String::from_utf8_lossy(&v).into_owned())
                )),
                Err(e) => problems.push(format!("writer {w}: {e}")),
            }
        }
        expected_len += last.min(SLOTS) + u64::from(last > 0);
        lasts.push(last);
    }
    match kvs
        .lock()
        .and_then(|g| Ok((g.len()?, g.heap_guard().check()?)))
    {
        Ok((len, report)) => {
            if len != expected_len {
                problems.push(format!("the store holds {len} keys, not {expected_len}"));
            }
            problems.extend(report.problems.into_iter().map(|p| format!("heap: {p}")));
        }
        Err(e) => problems.push(e.to_string()),
    }
    if problems.is_empty() {
        Ok(lasts)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checksummed_and_distinct() {
        let v = value_of(2, 77);
        assert_eq!(v.len(), VALUE_BYTES);
        assert!(v.starts_with(b"2:77:"));
        assert_ne!(value_of(2, 78), v);
        assert_ne!(value_of(3, 77), v);
    }

    #[test]
    fn the_check_accepts_what_was_written_and_catches_a_torn_value() {
        let kvs = Kvs::in_memory(4 << 20).expect("store");
        let mut reported = vec![0u64; 3];
        for (w, rep) in reported.iter_mut().enumerate() {
            write(&kvs, w as u32, Some(20 + w as u64), |seq, _| *rep = seq).expect("write");
        }
        assert_eq!(reported, [20, 21, 22]);
        assert_eq!(verify(&kvs, 3), Ok(vec![20, 21, 22]));
        // Writer 1 continues where it stopped; a writer that never wrote has nothing.
        write(&kvs, 1, Some(3), |seq, _| reported[1] = seq).expect("write");
        assert_eq!(reported[1], 24);
        assert_eq!(verify(&kvs, 4), Ok(vec![20, 24, 22, 0]));
        kvs.put(&slot_key(2, 22 % SLOTS), b"torn").expect("put");
        let problems = verify(&kvs, 3).expect_err("torn");
        assert!(problems[0].contains("should hold put 22"), "{problems:?}");
        kvs.put(b"stray", b"key").expect("put");
        let problems = verify(&kvs, 3).expect_err("stray");
        assert!(
            problems[1].contains("holds 52 keys, not 51"),
            "{problems:?}"
        );
    }
}
