//! `Fetch` on the leader, from consumers and from followers.
//!
//! A consumer reads below the high watermark; a follower reads up to the log end, and its
//! fetch offset tells the leader how far it has replicated, which moves the high watermark
//! and may bring it back into the ISR. A follower also says which epoch its log ends in; if
//! that disagrees with the leader's history, the answer names the divergence instead of
//! records. A fetch with nothing to return waits up to its `max_wait_ms` (long polling), in
//! the broker's `Fetch` purgatory ([`crate::purgatory`]), as Kafka's `DelayedFetch` does.

use super::{Broker, Out, Partition, Timer};
use crate::ids::{NodeId, TopicPartition};
use crate::protocol::{
    BrokerState, ErrorCode, FetchPartitionResponse, FetchRequest, FetchResponse, Message,
};
use crate::purgatory::{Condition, Hold, Outcome};
use crate::replication::epoch_end::FetchCheck;
use crate::time::{Duration, Instant};
use std::collections::BTreeMap;

/// A Fetch held until data arrives or `max_wait_ms` passes.
#[derive(Debug)]
pub(super) struct DelayedFetch {
    from: NodeId,
    request: FetchRequest,
}

impl Broker {
    pub(super) fn on_fetch(
        &mut self,
        now: Instant,
        from: NodeId,
        request: FetchRequest,
        out: &mut Out,
    ) {
        if request.replica_id >= 0 {
            self.note_follower_progress(now, &request, out);
        }
        let response = self.read_fetch(&request);
        let bytes: u64 = response
            .partitions
            .iter()
            .map(|p| p.records.len() as u64)
            .sum();
        let decided = response
            .partitions
            .iter()
            .any(|p| p.error != ErrorCode::None || p.diverging_epoch.is_some());
        if bytes >= request.min_bytes.max(1) || request.max_wait_ms == 0 || decided {
            out.send(from, Message::FetchResponse(response));
            return;
        }
        let expires_at = now + Duration::from_millis(request.max_wait_ms);
        let hold = Hold {
            what: "FetchResponse",
            to: Some(from),
            until: vec![Condition::Records {
                min_bytes: request.min_bytes.max(1),
            }],
            expires_at: Some(expires_at),
        };
        let id = self
            .delayed_fetches
            .hold(DelayedFetch { from, request }, hold, out);
        out.set_timer(Timer::FetchExpiry(id), expires_at);
    }

    /// A follower's fetch offsets are its acknowledgements.
    fn note_follower_progress(&mut self, now: Instant, request: &FetchRequest, out: &mut Out) {
        let legacy = self.config.legacy_pre_kip279_truncation;
        let follower = BrokerState {
            broker_id: request.replica_id,
            broker_epoch: request.replica_epoch,
        };
        let may_join = self.quorum.is_none() || self.image.is_alive(request.replica_id);
        let mut expansions = Vec::new();
        for fp in &request.partitions {
            let Some(p) = self.partitions.get_mut(&fp.partition) else {
                continue;
            };
            if !p.is_leader()
                || fp.current_leader_epoch != p.leader_epoch()
                || p.check_follower_fetch(fp.last_fetched_epoch, fp.fetch_offset, legacy)
                    != FetchCheck::Consistent
            {
                continue;
            }
            if let Some(isr) = p.on_follower_fetch(now, follower, fp.fetch_offset, may_join, out) {
                expansions.push((fp.partition.clone(), isr));
            }
        }
        for (tp, isr) in expansions {
            self.send_alter_partition(now, tp, isr, out);
        }
        self.complete_delayed_produces(now, out);
        self.complete_delayed_fetches(out);
    }

    /// A held fetch reached its `max_wait_ms`: answer with what there is.
    pub(super) fn expire_delayed_fetch(&mut self, id: u64, out: &mut Out) {
        if let Some(w) = self.delayed_fetches.take(id, Outcome::Expired, out) {
            let response = self.read_fetch(&w.op.request);
            out.send(w.op.from, Message::FetchResponse(response));
        }
    }

    /// Answer held fetches that now have data.
    pub(super) fn complete_delayed_fetches(&mut self, out: &mut Out) {
        let (partitions, legacy) = (&self.partitions, self.config.legacy_pre_kip279_truncation);
        let ready = self.delayed_fetches.complete(
            |d, c| match c {
                Condition::Records { min_bytes } => {
                    let r = read_fetch(partitions, legacy, &d.request);
                    r.partitions
                        .iter()
                        .map(|p| p.records.len() as u64)
                        .sum::<u64>()
                        >= *min_bytes
                }
                _ => false,
            },
            out,
        );
        for (id, w) in ready {
            out.cancel_timer(Timer::FetchExpiry(id));
            let response = self.read_fetch(&w.op.request);
            out.send(w.op.from, Message::FetchResponse(response));
        }
    }

    fn read_fetch(&self, request: &FetchRequest) -> FetchResponse {
        read_fetch(
            &self.partitions,
            self.config.legacy_pre_kip279_truncation,
            request,
        )
    }
}

/// What `request` reads from `partitions` now: records, a diverging epoch, or an error per
/// partition (`legacy`: the leader answers as before KIP-279).
fn read_fetch(
    partitions: &BTreeMap<TopicPartition, Partition>,
    legacy: bool,
    request: &FetchRequest,
) -> FetchResponse {
    let follower = request.replica_id >= 0;
    let mut budget = request.max_bytes;
    let partitions = request
        .partitions
        .iter()
        .map(|fp| {
            let mut response = FetchPartitionResponse {
                partition: fp.partition.clone(),
                error: ErrorCode::None,
                high_watermark: -1,
                log_start_offset: -1,
                records: Vec::new(),
                diverging_epoch: None,
            };
            let Some(p) = partitions.get(&fp.partition) else {
                response.error = ErrorCode::UnknownTopicOrPartition;
                return response;
            };
            response.high_watermark = p.high_watermark();
            response.log_start_offset = p.log_start_offset();
            if !p.is_leader() {
                response.error = ErrorCode::NotLeaderOrFollower;
                return response;
            }
            // KIP-320: a fetcher with a stale epoch is fenced; one ahead of us must wait.
            if fp.current_leader_epoch >= 0 && fp.current_leader_epoch < p.leader_epoch() {
                response.error = ErrorCode::FencedLeaderEpoch;
                return response;
            }
            if fp.current_leader_epoch > p.leader_epoch() {
                response.error = ErrorCode::UnknownLeaderEpoch;
                return response;
            }
            if follower {
                match p.check_follower_fetch(fp.last_fetched_epoch, fp.fetch_offset, legacy) {
                    FetchCheck::Consistent => {}
                    FetchCheck::Diverging(d) => {
                        response.diverging_epoch = Some((d.epoch, d.end_offset));
                        return response;
                    }
                    // Kafka cannot place the fetch at all (`PartitionTest`
                    // testLastFetchedOffsetValidation): the follower resets, it does not
                    // truncate to an answer that was never given.
                    FetchCheck::OffsetOutOfRange => {
                        response.error = ErrorCode::OffsetOutOfRange;
                        return response;
                    }
                }
            }
            let limit = if follower {
                p.log_end_offset()
            } else {
                p.high_watermark()
            };
            let max = fp.partition_max_bytes.min(budget) as usize;
            match p.read(fp.fetch_offset, max, limit) {
                Ok(records) => {
                    budget = budget.saturating_sub(records.len() as u64);
                    response.records = records;
                }
                Err(e) => response.error = e,
            }
            response
        })
        .collect();
    FetchResponse {
        correlation_id: request.correlation_id,
        partitions,
    }
}
