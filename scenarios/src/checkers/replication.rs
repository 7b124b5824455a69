//! Checks of Kafka's replication protocol, named after the invariants of the TLA+
//! specifications of Kafka replication (hachikuji/kafka-specification,
//! Vanlightly/kafka-tlaplus).
//!
//! - `NoCommittedRecordLost`: a record acknowledged to an `acks=all` producer is committed, so
//!   it is in the partition's log at the end, at its offset, on the leader — unless retention
//!   deleted it there (below the leader's log start offset: expired, not lost) or a log
//!   cleaner removed it (a later record of its key superseded it).
//! - `LogMatching`: any two replicas of a partition hold the same records at every offset
//!   below both their high watermarks.

use super::history::History;

/// `NoCommittedRecordLost`.
pub fn no_committed_record_lost(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    for a in h.acked.iter().filter(|a| h.acks_all.contains(&a.record_id)) {
        let Some(value) = h.value_of(a.record_id) else {
            continue;
        };
        let Some(leader) = h.final_leaders.get(&a.partition) else {
            continue; // offline at the end: nothing to read it from (reported by `unseen`)
        };
        if a.offset < h.retained_from(leader, &a.partition)
            || h.compacted_away(&a.partition, a.offset)
        {
            continue;
        }
        let held = h
            .final_logs
            .get(leader)
            .and_then(|l| l.get(&a.partition))
            .and_then(|l| l.get(&a.offset));
        if held.map(String::as_str) != Some(value) {
            findings.push(format!(
                "{value} was acknowledged with acks=all at {}@{}, but the leader {leader} holds {}",
                a.partition,
                a.offset,
                held.map_or("nothing".to_string(), |v| v.clone())
            ));
        }
    }
    findings
}

/// `LogMatching`: if two replicas hold a record with the same leader epoch at the same
/// offset, they hold identical records at every offset up to it. (A follower that has not
/// resynchronised yet holds records of older epochs and is not a violation; two different
/// records in one epoch, or a shared suffix over a differing prefix, are.)
pub fn log_matching(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    let brokers: Vec<&String> = h.final_logs.keys().collect();
    for (i, a) in brokers.iter().enumerate() {
        for b in &brokers[i + 1..] {
            let (Some(la), Some(lb)) = (h.final_logs.get(*a), h.final_logs.get(*b)) else {
                continue;
            };
            let (Some(ea), Some(eb)) = (h.final_epochs.get(*a), h.final_epochs.get(*b)) else {
                continue;
            };
            for (tp, records_a) in la {
                let (Some(records_b), Some(epochs_a), Some(epochs_b)) =
                    (lb.get(tp), ea.get(tp), eb.get(tp))
                else {
                    continue;
                };
                // The last offset both logs hold in the same epoch...
                let Some(anchor) = epochs_a
                    .iter()
                    .rev()
                    .find(|(o, e)| epochs_b.get(o) == Some(e))
                    .map(|(o, _)| *o)
                else {
                    continue;
                };
                // ...must be preceded by identical logs.
                // (An offset one replica's cleaner removed and the other's kept is no
                // difference: each replica compacts its own log.)
                let first_difference = (0..=anchor).find(|o| {
                    let (ra, rb) = (records_a.get(o), records_b.get(o));
                    let one_compacted = (ra.is_none() || rb.is_none()) && h.compacted_away(tp, *o);
                    !one_compacted && (ra != rb || epochs_a.get(o) != epochs_b.get(o))
                });
                if let Some(o) = first_difference {
                    findings.push(format!(
                        "{a} and {b} both hold {tp}@{anchor} in epoch {} but disagree at offset {o} ({:?} vs {:?})",
                        epochs_a[&anchor],
                        records_a.get(&o),
                        records_b.get(&o)
                    ));
                }
            }
        }
    }
    findings
}

/// `LeaderCompleteness`: a newly elected leader has every committed record — its log reaches
/// at least the highest high watermark any replica reported before. Unclean elections and
/// pre-KIP-101 truncation break it.
pub fn leader_completeness(h: &History) -> Vec<String> {
    h.elections
        .iter()
        .filter(|e| e.log_end_offset < e.committed_before)
        .map(|e| {
            format!(
                "{} became leader of {} in epoch {} at {} with log end {}, below the committed offset {}",
                e.node, e.partition, e.leader_epoch, e.time, e.log_end_offset, e.committed_before
            )
        })
        .collect()
}

/// `hw-monotonic`: the high watermark a consumer sees for a partition never goes backwards
/// (except across a reset of its position). Only an unclean election may move it back.
pub fn hw_monotonic(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    let mut last: std::collections::BTreeMap<(&str, &kafkasim_core::ids::TopicPartition), i64> =
        Default::default();
    for step in &h.consumer_order {
        match *step {
            super::history::ConsumerStep::Reset(i) => {
                let (consumer, tp, _, _) = &h.resets[i];
                last.remove(&(consumer.as_str(), tp));
            }
            super::history::ConsumerStep::Poll(i) => {
                let p = &h.polls[i];
                let key = (p.consumer.as_str(), &p.partition);
                if let Some(prev) = last.get(&key)
                    && p.high_watermark < *prev
                {
                    findings.push(format!(
                        "{} saw the high watermark of {} go from {prev} back to {} at {}",
                        p.consumer, p.partition, p.high_watermark, p.time
                    ));
                }
                last.insert(key, p.high_watermark);
            }
        }
    }
    findings
}
