//! Checks of what the disk and log recovery promise.
//!
//! - `fsynced-survives`: a record whose offset was below its partition's recovery point (it
//!   had been fsynced) when a broker crashed is still in that broker's log at the end, with the
//!   same value. This is the guarantee of `fsync`, whatever else is lost.
//! - `no-corrupt-read`: recovery must cut every torn or corrupt batch, so no consumer is ever
//!   served a batch that fails its CRC, and every value polled is one a producer sent.
//! - `offsets-dense`: offsets in every final log, and in every consumer's successive polls,
//!   run without gaps and only upwards.

use super::history::History;
use std::collections::BTreeSet;

/// `fsynced-survives`.
pub fn fsynced_survives(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    for crash in &h.crashes {
        let Some(logs) = h.final_logs.get(&crash.node) else {
            continue;
        };
        for a in h.acked.iter().filter(|a| a.time <= crash.time) {
            let Some(point) = crash.recovery_points.get(&a.partition) else {
                continue;
            };
            if a.offset >= *point {
                continue;
            }
            let Some(value) = h.value_of(a.record_id) else {
                continue;
            };
            let now = logs.get(&a.partition).and_then(|l| l.get(&a.offset));
            if now.map(String::as_str) != Some(value) {
                findings.push(format!(
                    "{value} at {}@{} was fsynced (recovery point {point}) before {} crashed at {}, but the log now holds {}",
                    a.partition,
                    a.offset,
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
        {
            findings.push(format!(
                "{} polled {}@{} right after offset {prev}",
                poll.consumer, poll.partition, record.offset
            ));
        }
    });
    findings
}
