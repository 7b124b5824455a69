//! Checks of Kafka's replication protocol, named after the invariants of the TLA+
//! specifications of Kafka replication (hachikuji/kafka-specification,
//! Vanlightly/kafka-tlaplus).
//!
//! - `NoCommittedRecordLost`: a record acknowledged to an `acks=all` producer is committed, so
//!   it is in the partition's log at the end, at its offset, on the leader.
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

/// `LogMatching`.
pub fn log_matching(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    let brokers: Vec<&String> = h.final_logs.keys().collect();
    for (i, a) in brokers.iter().enumerate() {
        for b in &brokers[i + 1..] {
            let (Some(la), Some(lb)) = (h.final_logs.get(*a), h.final_logs.get(*b)) else {
                continue;
            };
            for (tp, records_a) in la {
                let Some(records_b) = lb.get(tp) else {
                    continue;
                };
                let hw_a = h
                    .final_high_watermarks
                    .get(*a)
                    .and_then(|m| m.get(tp))
                    .copied()
                    .unwrap_or(0);
                let hw_b = h
                    .final_high_watermarks
                    .get(*b)
                    .and_then(|m| m.get(tp))
                    .copied()
                    .unwrap_or(0);
                let limit = hw_a.min(hw_b);
                let first_difference = (0..limit).find(|o| records_a.get(o) != records_b.get(o));
                if let Some(o) = first_difference {
                    findings.push(format!(
                        "{a} and {b} disagree on {tp}@{o} ({:?} vs {:?}) below both high watermarks ({limit})",
                        records_a.get(&o),
                        records_b.get(&o)
                    ));
                }
            }
        }
    }
    findings
}
