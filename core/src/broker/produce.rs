//! `Produce` on the leader, and the wait `acks=all` implies.
//!
//! With `acks=1` the leader answers once the records are in its own log (its page cache).
//! With `acks=all` it answers once the high watermark has passed them — every in-sync replica
//! has them — and only if the ISR still has `min.insync.replicas` members; otherwise
//! `NOT_ENOUGH_REPLICAS` (checked before appending) or `NOT_ENOUGH_REPLICAS_AFTER_APPEND`.
//! A request that waits longer than its `timeout_ms` gets `REQUEST_TIMED_OUT`. The waiting
//! requests sit in the broker's `Produce` purgatory ([`crate::purgatory`]), as Kafka's
//! `DelayedProduce` operations do.

use super::{Broker, FlushTrigger, Out, Partition, Timer};
use crate::ids::{NodeId, TopicPartition};
use crate::protocol::{
    ErrorCode, Message, ProducePartitionResponse, ProduceRequest, ProduceResponse,
};
use crate::purgatory::{Condition, Hold, Outcome};
use crate::time::{Duration, Instant};
use std::collections::{BTreeMap, BTreeSet};

/// An `acks=all` produce waiting for its records to be committed.
#[derive(Debug)]
pub(super) struct DelayedProduce {
    from: NodeId,
    correlation_id: i32,
    /// Each partition's answer so far, and the high watermark it waits for (`None`: decided).
    parts: Vec<(ProducePartitionResponse, Option<i64>)>,
    /// Flushes the answer must also wait for (`log.flush.interval.messages`).
    flushes: BTreeSet<u64>,
}

fn error(
    partition: TopicPartition,
    error: ErrorCode,
    log_start_offset: i64,
) -> ProducePartitionResponse {
    ProducePartitionResponse {
        partition,
        error,
        base_offset: -1,
        log_start_offset,
    }
}

impl Broker {
    pub(super) fn on_produce(
        &mut self,
        now: Instant,
        from: NodeId,
        request: ProduceRequest,
        out: &mut Out,
    ) {
        let mut parts = Vec::new();
        let mut flushes = BTreeSet::new();
        let valid_acks = matches!(request.acks, -1..=1); // 0, 1 or -1 (all)
        let acks_all = request.acks == -1;
        for data in request.partitions {
            let tp = data.partition;
            let Some(partition) = self.partitions.get_mut(&tp) else {
                parts.push((error(tp, ErrorCode::UnknownTopicOrPartition, -1), None));
                continue;
            };
            let start = partition.log_start_offset();
            let refusal = if !valid_acks {
                Some(ErrorCode::InvalidRequiredAcks)
            } else if data.records.len() as u64 > self.config.message_max_bytes {
                Some(ErrorCode::MessageTooLarge)
            } else if !partition.is_leader() {
                Some(ErrorCode::NotLeaderOrFollower)
            } else if acks_all && partition.isr().len() < partition.min_insync_replicas() {
                Some(ErrorCode::NotEnoughReplicas)
            } else {
                None
            };
            if let Some(e) = refusal {
                parts.push((error(tp, e, start), None));
                continue;
            }
            match partition.append_as_leader(&data.records, out) {
                Ok(info) => {
                    let due = self
                        .config
                        .log_flush_interval_messages
                        .is_some_and(|n| partition.unflushed_messages() >= n);
                    let response = ProducePartitionResponse {
                        partition: tp.clone(),
                        error: ErrorCode::None,
                        base_offset: info.first_offset,
                        log_start_offset: start,
                    };
                    parts.push((response, acks_all.then_some(info.last_offset + 1)));
                    if due {
                        flushes.extend(self.flush(&tp, FlushTrigger::Messages, now, out));
                    }
                }
                Err(e) => parts.push((error(tp, e, start), None)),
            }
        }
        self.complete_delayed_fetches(out);
        if request.acks == 0 {
            return; // acks=0: the producer expects no answer at all
        }
        let until: Vec<Condition> = parts
            .iter()
            .filter_map(|(r, wait)| {
                wait.map(|offset| Condition::HighWatermark {
                    partition: r.partition.clone(),
                    offset,
                })
            })
            .collect();
        let delayed = DelayedProduce {
            from,
            correlation_id: request.correlation_id,
            parts,
            flushes,
        };
        // Kafka's `tryCompleteElseWatch`: answer the produces that were waiting first (they
        // came first), then this one at once if its records are already committed — else it
        // waits in the purgatory, for at most its `timeout_ms`.
        self.complete_delayed_produces(now, out);
        if until.iter().all(|c| self.condition_holds(c)) {
            self.answer_committed_produce(delayed, out);
            return;
        }
        let expires_at = now + Duration::from_millis(request.timeout_ms);
        let hold = Hold {
            what: "ProduceResponse",
            to: Some(from),
            until,
            expires_at: Some(expires_at),
        };
        let id = self.delayed_produces.hold(delayed, hold, out);
        out.set_timer(Timer::ProduceExpiry(id), expires_at);
    }

    /// Whether a high watermark condition holds on this broker.
    fn condition_holds(&self, condition: &Condition) -> bool {
        high_watermark_reached(&self.partitions, condition)
    }

    /// Answer every waiting produce whose partitions are all decided or committed.
    pub(super) fn complete_delayed_produces(&mut self, now: Instant, out: &mut Out) {
        self.complete_group_writes(now, out);
        let partitions = &self.partitions;
        let ready = self
            .delayed_produces
            .complete(|_, c| high_watermark_reached(partitions, c), out);
        for (id, w) in ready {
            out.cancel_timer(Timer::ProduceExpiry(id));
            self.answer_committed_produce(w.op, out);
        }
    }

    /// Answer a produce whose records are committed (or whose partitions are decided
    /// otherwise): committed, but on fewer replicas than promised, is
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND.
    fn answer_committed_produce(&mut self, mut d: DelayedProduce, out: &mut Out) {
        for (r, wait) in &mut d.parts {
            if wait.take().is_some()
                && self
                    .partitions
                    .get(&r.partition)
                    .is_some_and(|p| p.isr().len() < p.min_insync_replicas())
            {
                r.error = ErrorCode::NotEnoughReplicasAfterAppend;
            }
        }
        self.answer_produce(d, out);
    }

    /// Partitions this broker no longer leads cannot commit their waiting records: their
    /// answer is NOT_LEADER_OR_FOLLOWER, and their produce stops waiting for them.
    pub(super) fn fail_delayed_produces_not_led(&mut self, _out: &mut Out) {
        let led = |tp: &TopicPartition| self.partitions.get(tp).is_some_and(|p| p.is_leader());
        for (_, w) in self.delayed_produces.iter_mut() {
            for (r, wait) in &mut w.op.parts {
                if wait.is_some() && !led(&r.partition) {
                    *wait = None;
                    r.error = ErrorCode::NotLeaderOrFollower;
                    r.base_offset = -1;
                }
            }
            w.until.retain(|c| match c {
                Condition::HighWatermark { partition, .. } => led(partition),
                _ => true,
            });
        }
    }

    pub(super) fn expire_delayed_produce(&mut self, id: u64, out: &mut Out) {
        let Some(w) = self.delayed_produces.take(id, Outcome::Expired, out) else {
            return;
        };
        let mut d = w.op;
        for (r, wait) in &mut d.parts {
            if wait.take().is_some() {
                r.error = ErrorCode::RequestTimedOut;
            }
        }
        self.answer_produce(d, out);
    }

    fn answer_produce(&mut self, d: DelayedProduce, out: &mut Out) {
        let response = Message::ProduceResponse(ProduceResponse {
            correlation_id: d.correlation_id,
            partitions: d.parts.into_iter().map(|(r, _)| r).collect(),
        });
        // An append that triggered a flush answers only after the fsync (Kafka flushes inside
        // the append call).
        self.send_after_flushes(d.from, response, &d.flushes, out);
    }
}

/// Whether `condition`, a high watermark, holds among `partitions`.
fn high_watermark_reached(
    partitions: &BTreeMap<TopicPartition, Partition>,
    condition: &Condition,
) -> bool {
    match condition {
        Condition::HighWatermark { partition, offset } => partitions
            .get(partition)
            .is_some_and(|p| p.high_watermark() >= *offset),
        _ => false,
    }
}
