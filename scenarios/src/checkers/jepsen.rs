//! The anomalies of Jepsen's Kafka workload (`jepsen/tests/kafka.clj`), over our history.
//!
//! Jepsen judges a queue by what clients saw: values acknowledged at offsets by producers,
//! values returned at offsets by consumers. Each function returns human-readable findings;
//! an empty list means the anomaly did not occur.

use super::history::{ConsumerStep, History};
use kafkasim_core::ids::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

/// What was observed at each offset: (partition, offset) → values seen (acks and polls).
/// Every value seen at each offset, by acknowledgement or poll.
type Observations<'h> = BTreeMap<(&'h TopicPartition, i64), BTreeSet<&'h str>>;

fn observations(h: &History) -> Observations<'_> {
    let mut seen = Observations::new();
    for a in &h.acked {
        if let Some(v) = h.value_of(a.record_id) {
            seen.entry((&a.partition, a.offset)).or_default().insert(v);
        }
    }
    for p in &h.polls {
        for r in &p.records {
            seen.entry((&p.partition, r.offset))
                .or_default()
                .insert(r.value.as_str());
        }
    }
    seen
}

fn polled_values(h: &History) -> BTreeSet<&str> {
    h.polls
        .iter()
        .flat_map(|p| p.records.iter().map(|r| r.value.as_str()))
        .collect()
}

/// `lost-write`: an acknowledged record at an offset below the highest offset any consumer
/// polled from its partition, whose value no consumer ever saw.
pub fn lost_write(h: &History) -> Vec<String> {
    let polled = polled_values(h);
    let mut highest: BTreeMap<&TopicPartition, i64> = BTreeMap::new();
    for p in &h.polls {
        for r in &p.records {
            let e = highest.entry(&p.partition).or_insert(-1);
            *e = (*e).max(r.offset);
        }
    }
    h.acked
        .iter()
        .filter_map(|a| {
            let value = h.value_of(a.record_id)?;
            let top = *highest.get(&a.partition)?;
            let missed = !polled.contains(value) && !h.compacted_away(&a.partition, a.offset);
            (a.offset < top && missed).then(|| {
                format!(
                    "{value} acknowledged at {}@{} was never polled (polls reached offset {top})",
                    a.partition, a.offset
                )
            })
        })
        .collect()
}

/// `unseen`: an acknowledged record no consumer polled by the end of the run.
pub fn unseen(h: &History) -> Vec<String> {
    let polled = polled_values(h);
    h.acked
        .iter()
        .filter_map(|a| {
            let value = h.value_of(a.record_id)?;
            let missed = !polled.contains(value) && !h.compacted_away(&a.partition, a.offset);
            missed.then(|| {
                format!(
                    "{value} acknowledged at {}@{} never polled",
                    a.partition, a.offset
                )
            })
        })
        .collect()
}

/// `inconsistent-offsets`: one offset of one partition seen holding two different values.
pub fn inconsistent_offsets(h: &History) -> Vec<String> {
    observations(h)
        .into_iter()
        .filter(|(_, values)| values.len() > 1)
        .map(|((tp, offset), values)| {
            format!(
                "{tp}@{offset} seen as {}",
                values.into_iter().collect::<Vec<_>>().join(" and ")
            )
        })
        .collect()
}

/// `duplicate`: one value seen at two offsets.
pub fn duplicate(h: &History) -> Vec<String> {
    let mut at: BTreeMap<&str, BTreeSet<(&TopicPartition, i64)>> = BTreeMap::new();
    for ((tp, offset), values) in observations(h) {
        for v in values {
            at.entry(v).or_default().insert((tp, offset));
        }
    }
    at.into_iter()
        .filter(|(_, places)| places.len() > 1)
        .map(|(v, places)| {
            let places: Vec<String> = places.iter().map(|(tp, o)| format!("{tp}@{o}")).collect();
            format!("{v} at {}", places.join(", "))
        })
        .collect()
}

/// `nonmonotonic-poll`: a consumer's successive polls of one partition went backwards or
/// repeated an offset. Under `assign` this is never allowed (no rebalance can explain it),
/// except across an explicit position reset.
pub fn nonmonotonic_poll(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    h.walk_polls(|poll, record, previous| {
        if let Some(prev) = previous
            && record.offset <= prev
        {
            findings.push(format!(
                "{} polled {}@{} after {}",
                poll.consumer, poll.partition, record.offset, prev
            ));
        }
    });
    findings
}

/// `poll-skip`: a consumer's successive polls of one partition jumped over offsets (Jepsen).
/// Under `subscribe` a jump is allowed where the consumer resumed from the group's committed
/// offset after a rebalance (another member may have read what lies between). Never across
/// any other reset — not under `assign`, not by `auto.offset.reset` — for that is exactly how
/// records get skipped (`auto.offset.reset=latest`, retention deleting what the group had not
/// read, a truncation that went unnoticed).
pub fn poll_skip(h: &History) -> Vec<String> {
    let subscribed: BTreeSet<&str> = h.assignments.iter().map(|a| a.consumer.as_str()).collect();
    let mut last: BTreeMap<(&str, &TopicPartition), i64> = BTreeMap::new();
    let mut findings = Vec::new();
    for step in &h.consumer_order {
        match *step {
            ConsumerStep::Reset(i) => {
                let (consumer, tp, _, _) = &h.resets[i];
                if subscribed.contains(consumer.as_str()) && h.committed_resets.contains(&i) {
                    last.remove(&(consumer.as_str(), tp));
                }
            }
            ConsumerStep::Poll(i) => {
                let poll = &h.polls[i];
                for record in &poll.records {
                    let key = (poll.consumer.as_str(), &poll.partition);
                    if let Some(prev) = last.get(&key)
                        && record.offset > prev + 1
                        && !h.compacted_between(&poll.partition, *prev, record.offset)
                    {
                        findings.push(format!(
                            "{} polled {}@{} after {}: offsets {}..={} skipped",
                            poll.consumer,
                            poll.partition,
                            record.offset,
                            prev,
                            prev + 1,
                            record.offset - 1
                        ));
                    }
                    last.insert(key, record.offset);
                }
            }
        }
    }
    findings
}

/// `nonmonotonic-send`: a producer's later send was acknowledged at a lower offset of the same
/// partition than an earlier one (the batches were reordered on their way).
pub fn nonmonotonic_send(h: &History) -> Vec<String> {
    let mut by_producer: BTreeMap<(&str, &TopicPartition), Vec<(u64, i64)>> = BTreeMap::new();
    for a in &h.acked {
        if let Some(sent) = h.sent.get(&a.record_id) {
            by_producer
                .entry((sent.producer.as_str(), &a.partition))
                .or_default()
                .push((a.record_id, a.offset));
        }
    }
    let mut findings = Vec::new();
    for ((producer, tp), mut sends) in by_producer {
        sends.sort_unstable();
        for pair in sends.windows(2) {
            let ((earlier, at), (later, lower)) = (pair[0], pair[1]);
            if lower < at {
                findings.push(format!(
                    "{producer}: record {later} landed at {tp}@{lower}, before record {earlier} sent earlier at @{at}"
                ));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::history::{Assignment, Poll};
    use kafkasim_core::client::consumer::PolledRecord;
    use kafkasim_core::time::Instant;

    fn tp() -> TopicPartition {
        TopicPartition::new("orders", 0)
    }

    fn poll(h: &mut History, consumer: &str, offsets: &[i64]) {
        h.consumer_order.push(ConsumerStep::Poll(h.polls.len()));
        h.polls.push(Poll {
            consumer: consumer.into(),
            time: Instant::ZERO,
            partition: tp(),
            records: offsets
                .iter()
                .map(|o| PolledRecord {
                    offset: *o,
                    key: None,
                    value: format!("v{o}"),
                    schema_id: None,
                })
                .collect(),
            high_watermark: 100,
        });
    }

    fn subscribe(h: &mut History, consumer: &str) {
        h.assignments.push(Assignment {
            group: "billing".into(),
            consumer: consumer.into(),
            member_id: "member-1-1".into(),
            generation: 1,
            time: Instant::ZERO,
            partitions: vec![tp()],
        });
    }

    /// Contiguous polls, one batch after another: nothing skipped.
    #[test]
    fn contiguous_polls_pass() {
        let mut h = History::default();
        poll(&mut h, "c1", &[0, 1, 2]);
        poll(&mut h, "c1", &[3, 4]);
        assert_eq!(poll_skip(&h), Vec::<String>::new());
    }

    /// Under assign, a jump is a skip, even across a position reset (to latest, say).
    #[test]
    fn assign_never_skips_not_even_across_a_reset() {
        let mut h = History::default();
        poll(&mut h, "c1", &[0, 1, 2]);
        h.push_reset("c1", tp(), Instant::ZERO, 10);
        poll(&mut h, "c1", &[10, 11]);
        assert_eq!(
            poll_skip(&h),
            vec!["c1 polled orders-0@10 after 2: offsets 3..=9 skipped".to_string()]
        );
    }

    /// Under subscribe, resuming from the committed offset after a rebalance may jump (another
    /// member read what lies between); a jump without a reset is still a skip.
    #[test]
    fn subscribe_may_jump_only_across_a_rebalance() {
        let mut h = History::default();
        subscribe(&mut h, "c1");
        poll(&mut h, "c1", &[0, 1, 2]);
        h.committed_resets.insert(h.resets.len());
        h.push_reset("c1", tp(), Instant::ZERO, 10);
        poll(&mut h, "c1", &[10, 11]);
        assert_eq!(poll_skip(&h), Vec::<String>::new());
        poll(&mut h, "c1", &[13]);
        assert_eq!(poll_skip(&h).len(), 1);
    }

    /// Under subscribe too, `auto.offset.reset` jumping over what the group never read (after
    /// OFFSET_OUT_OF_RANGE: retention deleted it) is a skip.
    #[test]
    fn subscribe_skips_across_an_auto_offset_reset() {
        let mut h = History::default();
        subscribe(&mut h, "c1");
        poll(&mut h, "c1", &[0, 1, 2]);
        h.push_reset("c1", tp(), Instant::ZERO, 10);
        poll(&mut h, "c1", &[10, 11]);
        assert_eq!(
            poll_skip(&h),
            vec!["c1 polled orders-0@10 after 2: offsets 3..=9 skipped".to_string()]
        );
    }
}
