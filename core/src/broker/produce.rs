//! `Produce` on the leader, and the wait `acks=all` implies.
//!
//! With `acks=1` the leader answers once the records are in its own log (its page cache).
//! With `acks=all` it answers once the high watermark has passed them — every in-sync replica
//! has them — and only if the ISR still has `min.insync.replicas` members; otherwise
//! `NOT_ENOUGH_REPLICAS` (checked before appending) or `NOT_ENOUGH_REPLICAS_AFTER_APPEND`.
//! A request that waits longer than its `timeout_ms` gets `REQUEST_TIMED_OUT` (Kafka's
//! "delayed produce" purgatory).

use super::{Broker, FlushTrigger, Out, Timer};
use crate::ids::{NodeId, TopicPartition};
use crate::protocol::{
    ErrorCode, Message, ProducePartitionResponse, ProduceRequest, ProduceResponse,
};
use crate::time::{Duration, Instant};
use std::collections::BTreeSet;

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
            } else if acks_all && partition.isr().len() < self.config.min_insync_replicas {
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
        let id = self.next_delayed;
        self.next_delayed += 1;
        if acks_all {
            out.set_timer(
                Timer::ProduceExpiry(id),
                now + Duration::from_millis(request.timeout_ms),
            );
        }
        self.delayed_produces.insert(
            id,
            DelayedProduce {
                from,
                correlation_id: request.correlation_id,
                parts,
                flushes,
            },
        );
        self.complete_delayed_produces(now, out);
    }

    /// Answer every waiting produce whose partitions are all decided or committed.
    pub(super) fn complete_delayed_produces(&mut self, now: Instant, out: &mut Out) {
        self.complete_group_writes(now, out);
        let min_isr = self.config.min_insync_replicas;
        let ready: Vec<u64> = self
            .delayed_produces
            .iter()
            .filter(|(_, d)| {
                d.parts.iter().all(|(r, wait)| {
                    wait.is_none_or(|needed| {
                        self.partitions
                            .get(&r.partition)
                            .is_some_and(|p| p.high_watermark() >= needed)
                    })
                })
            })
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            let Some(mut d) = self.delayed_produces.remove(&id) else {
                continue;
            };
            out.cancel_timer(Timer::ProduceExpiry(id));
            for (r, wait) in &mut d.parts {
                if wait.take().is_some()
                    && self
                        .partitions
                        .get(&r.partition)
                        .is_some_and(|p| p.isr().len() < min_isr)
                {
                    // Committed, but on fewer replicas than promised.
                    r.error = ErrorCode::NotEnoughReplicasAfterAppend;
                }
            }
            self.answer_produce(d, out);
        }
    }

    /// Partitions this broker no longer leads cannot commit their waiting records.
    pub(super) fn fail_delayed_produces_not_led(&mut self, _out: &mut Out) {
        for d in self.delayed_produces.values_mut() {
            for (r, wait) in &mut d.parts {
                if wait.is_some()
                    && self
                        .partitions
                        .get(&r.partition)
                        .is_none_or(|p| !p.is_leader())
                {
                    *wait = None;
                    r.error = ErrorCode::NotLeaderOrFollower;
                    r.base_offset = -1;
                }
            }
        }
    }

    pub(super) fn expire_delayed_produce(&mut self, id: u64, out: &mut Out) {
        let Some(mut d) = self.delayed_produces.remove(&id) else {
            return;
        };
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
        if let Some((to, message)) = self.flushes.hold(d.from, response, d.flushes) {
            out.send(to, message);
        }
    }
}
