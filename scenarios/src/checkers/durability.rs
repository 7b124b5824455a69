//! Checks of what the disk and log recovery promise.
//!
//! - `fsynced-survives`: a record whose offset was below its partition's recovery point (it
//!   had been fsynced) when a broker crashed is still in that broker's log at the end, with the
//!   same value. This is the guarantee of `fsync`, whatever else is lost.
//! - `no-corrupt-read`: recovery must cut every torn or corrupt batch, so no consumer is ever
//!   served a batch that fails its CRC, and every value polled is one a producer sent.
//! - `offsets-dense`: offsets in every final log, and in every consumer's successive polls,
//!   run without gaps and only upwards.

use super::history::{Acked, Crash, History};
use kafkasim_core::ids::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

/// The records each offset held when `crash` happened: for every (partition, offset), the
/// latest acknowledgement before the crash (an earlier one at the same offset was truncated
/// away by an earlier crash and its offset reused).
pub fn log_at_crash<'h>(
    h: &'h History,
    crash: &Crash,
) -> BTreeMap<(&'h TopicPartition, i64), &'h Acked> {
    let mut latest = BTreeMap::new();
    for a in h.acked.iter().filter(|a| a.time <= crash.time) {
        latest.insert((&a.partition, a.offset), a);
    }
    latest
}

/// `fsynced-survives`.
pub fn fsynced_survives(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    for crash in &h.crashes {
        let Some(logs) = h.final_logs.get(&crash.node) else {
            continue;
        };
        for ((tp, offset), a) in log_at_crash(h, crash) {
            let Some(point) = crash.recovery_points.get(tp) else {
                continue;
            };
            if offset >= *point {
                continue;
            }
            let Some(value) = h.value_of(a.record_id) else {
                continue;
            };
            let now = logs.get(tp).and_then(|l| l.get(&offset));
            if now.map(String::as_str) != Some(value) {
                findings.push(format!(
                    "{value} at {tp}@{offset} was fsynced (recovery point {point}) before {} crashed at {}, but the log now holds {}",
                    crash.node,
                    crash.time,
                    now.map_or("nothing".to_string(), |v| v.clone())
                ));
            }
        }
    }
    findings
}

/// `no-corrupt-read`.
pub fn no_corrupt_read(h: &History) -> Vec<String> {
    let mut findings: Vec<String> = h
        .corrupt
        .iter()
        .map(|(consumer, tp, base, detail)| {
            format!("{consumer} was served a corrupt batch at {tp}@{base}: {detail}")
        })
        .collect();
    let sent: BTreeSet<&str> = h.sent.values().map(|s| s.value.as_str()).collect();
    for p in &h.polls {
        for r in &p.records {
            if !sent.contains(r.value.as_str()) {
                findings.push(format!(
                    "{} polled {}@{} = {:?}, which no producer sent",
                    p.consumer, p.partition, r.offset, r.value
                ));
            }
        }
    }
    findings
}

/// `offsets-dense`.
pub fn offsets_dense(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    for (node, logs) in &h.final_logs {
        for (tp, records) in logs {
            let mut expected = None;
            for offset in records.keys() {
                if let Some(e) = expected
                    && *offset != e
                    && !h.compacted_between(tp, e - 1, *offset)
                {
                    findings.push(format!(
                        "{node}'s log of {tp} jumps from offset {} to {offset}",
                        e - 1
                    ));
                }
                expected = Some(offset + 1);
            }
        }
    }
    h.walk_polls(|poll, record, previous| {
        if let Some(prev) = previous
            && record.offset != prev + 1
            && !(record.offset > prev && h.compacted_between(&poll.partition, prev, record.offset))
        {
            findings.push(format!(
                "{} polled {}@{} right after offset {prev}",
                poll.consumer, poll.partition, record.offset
            ));
        }
    });
    findings
}
