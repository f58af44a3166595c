//! The KVS crash-torture workload and its check.
//!
//! Each writer owns `SLOTS` keys and a "last" key. Its put number `seq` stores a value naming
//! `(writer, seq)` with a checksum in slot `seq % SLOTS` and `seq` in its last key, and commits
//! both; after each commit the writer reports `seq` (on the console, outside the region). After a
//! power cut, the check finds for every writer a last `seq` that is the last reported one or the
//! one after (committed, cut before the report), and the `SLOTS` slots holding exactly the values
//! of the puts up to it: no committed put lost, no torn value, no mix.

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
    let text = std::str::from_utf8(v).ok();
    text.and_then(|t| t.parse().ok()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("writer {writer}: last key holds {v:?}"),
        )
    })
}

/// Puts forever (or `limit` times), continuing after the stored last put; calls `report(seq,
/// epoch)` after each commit.
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
        let epoch = g.commit()?;
        drop(g);
        report(seq, epoch);
    }
    Ok(())
}

/// Checks the store against the last put number each writer reported (`reported[w]`); returns
/// each writer's last put number found, or every problem.
pub fn verify(kvs: &Kvs, reported: &[u64]) -> Result<Vec<u64>, Vec<String>> {
    let mut problems = Vec::new();
    let mut lasts = Vec::new();
    let mut expected_len = 0;
    for (w, &rep) in reported.iter().enumerate() {
        let w = w as u32;
        let last = match last_seq(kvs, w) {
            Ok(l) => l,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        if last < rep {
            problems.push(format!(
                "writer {w}: put {rep} was committed and reported, the store ends at {last}: LOST"
            ));
        } else if last > rep + 1 {
            problems.push(format!(
                "writer {w}: the store holds put {last}, but only {rep} was reported"
            ));
        }
        for seq in last.saturating_sub(SLOTS - 1).max(1)..=last {
            let found = kvs.get(&slot_key(w, seq % SLOTS));
            match found {
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
    fn the_check_accepts_what_was_written_and_catches_a_lost_put() {
        let kvs = Kvs::in_memory(4 << 20).expect("store");
        let mut reported = vec![0u64; 3];
        for (w, rep) in reported.iter_mut().enumerate() {
            write(&kvs, w as u32, Some(20 + w as u64), |seq, _| *rep = seq).expect("write");
        }
        assert_eq!(verify(&kvs, &reported), Ok(vec![20, 21, 22]));
        // Writer 1 continues where it stopped.
        write(&kvs, 1, Some(3), |seq, _| reported[1] = seq).expect("write");
        assert_eq!(reported[1], 24);
        // One more put that is committed but not reported is fine...
        write(&kvs, 0, Some(1), |_, _| {}).expect("write");
        assert_eq!(verify(&kvs, &reported), Ok(vec![21, 24, 22]));
        // ...a reported put that is missing is not.
        reported[2] = 30;
        let problems = verify(&kvs, &reported).expect_err("lost");
        assert!(problems[0].contains("LOST"), "{problems:?}");
        // Nor is a torn value.
        reported[2] = 22;
        kvs.put(&slot_key(2, 22 % SLOTS), b"torn").expect("put");
        let problems = verify(&kvs, &reported).expect_err("torn");
        assert!(problems[0].contains("should hold put 22"), "{problems:?}");
    }
}
