//! The follower side of replication: one Fetch at a time to each leader, for every partition
//! this broker follows there, from each log's end offset.

use super::{Broker, FlushTrigger, Out, Request, Role, Timer};
use crate::ids::NodeId;
use crate::protocol::{ErrorCode, FetchPartition, FetchRequest, FetchResponse, Message};
use crate::time::{Duration, Instant};
use std::collections::BTreeMap;

/// When each leader may be fetched from again (the fetches in flight are in the broker's
/// network client).
#[derive(Debug, Default)]
pub(super) struct Fetcher {
    backoff_until: BTreeMap<NodeId, Instant>,
}

impl Fetcher {
    /// A fetch to `leader` failed (an error, a lost connection): the next one waits until
    /// `until` (without it a follower of a dead leader would redial in a tight loop).
    pub(super) fn back_off(&mut self, leader: NodeId, until: Instant) {
        self.backoff_until.insert(leader, until);
    }

    fn backing_off(&self, leader: NodeId, now: Instant) -> bool {
        self.backoff_until.get(&leader).is_some_and(|t| *t > now)
    }
}

impl Broker {
    /// Send a Fetch to every leader this broker follows partitions of and has no fetch to.
    pub(super) fn fetch_from_leaders(&mut self, now: Instant, out: &mut Out) {
        if self.quorum.is_none() {
            return;
        }
        let legacy_hw = self.config.legacy_truncate_to_high_watermark;
        let mut by_leader: BTreeMap<NodeId, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, p) in &self.partitions {
            let Role::Follower { leader } = p.role() else {
                continue;
            };
            if self.flushes.is_flushing(tp) {
                continue; // its fetch offset may not be acknowledged before it is durable
            }
            let Some(address) = self.image.address(*leader) else {
                continue;
            };
            let fetching = self
                .network
                .any(|r| r.to == address && matches!(r.kind, Request::ReplicaFetch));
            if fetching || self.fetcher.backing_off(address, now) {
                continue;
            }
            by_leader.entry(address).or_default().push(FetchPartition {
                partition: tp.clone(),
                fetch_offset: p.log_end_offset(),
                partition_max_bytes: self.config.replica_fetch_max_bytes,
                current_leader_epoch: p.leader_epoch(),
                // Before KIP-101 fetches carried no epoch: the leader could not spot a diverging
                // log, only one running past its own end.
                last_fetched_epoch: if legacy_hw {
                    -1
                } else {
                    p.log().epoch_cache().latest_epoch().unwrap_or(-1)
                },
            });
        }
        let replica_epoch = match self.registration {
            super::Registration::Registered { broker_epoch, .. } => broker_epoch,
            _ => -1,
        };
        for (address, partitions) in by_leader {
            let build = |correlation_id| {
                Message::FetchRequest(FetchRequest {
                    correlation_id,
                    replica_id: self.config.node_id,
                    replica_epoch,
                    max_wait_ms: self.config.replica_fetch_wait_max_ms,
                    min_bytes: 1,
                    max_bytes: self.config.replica_fetch_response_max_bytes,
                    partitions,
                })
            };
            let timeout =
                self.config.replica_fetch_wait_max_ms + self.config.replica_socket_timeout_ms;
            let timeout = Duration::from_millis(timeout);
            let request = build(self.network.next_correlation_id());
            self.network.send_message(
                now,
                address,
                request,
                Request::ReplicaFetch,
                timeout,
                &mut out.scoped(),
            );
        }
    }

    pub(super) fn on_replica_fetch_response(
        &mut self,
        now: Instant,
        r: FetchResponse,
        out: &mut Out,
    ) {
        let Some(address) = self
            .network
            .complete(r.correlation_id, &mut out.scoped())
            .map(|r| r.to)
        else {
            return;
        };
        let legacy = self.config.legacy_pre_kip279_truncation;
        let flush_every = self.config.log_flush_interval_messages;
        let mut errors = false;
        let mut flushes = Vec::new();
        for fp in r.partitions {
            let Some(p) = self.partitions.get_mut(&fp.partition) else {
                continue;
            };
            if !matches!(p.role(), Role::Follower { .. }) {
                continue;
            }
            match (fp.error, fp.diverging_epoch) {
                (ErrorCode::None, Some((epoch, end))) => {
                    p.truncate_diverging(epoch, end, legacy, out)
                }
                (ErrorCode::None, None) => {
                    if p.append_as_follower(&fp.records, fp.high_watermark, out)
                        .is_err()
                    {
                        errors = true;
                    }
                    p.follow_log_start_offset(fp.log_start_offset, out);
                    // The flush policy applies to followers too, and a follower's next fetch —
                    // its acknowledgement — waits for the fsync (Kafka flushes in the fetcher
                    // thread, before fetching again).
                    if flush_every.is_some_and(|n| p.unflushed_messages() >= n) {
                        flushes.push(fp.partition.clone());
                    }
                }
                (ErrorCode::OffsetOutOfRange, _) if fp.log_start_offset > p.log_end_offset() => {
                    p.start_at_leader_log_start(fp.log_start_offset, out);
                }
                (ErrorCode::OffsetOutOfRange, _) => {
                    // Our log runs past the leader's end (pre-KIP-101 Kafka's only check): cut
                    // back to what the leader has committed.
                    p.truncate_out_of_range(fp.high_watermark.max(0), out);
                }
                _ => errors = true,
            }
        }
        for tp in flushes {
            self.flush(&tp, FlushTrigger::Messages, now, out);
        }
        if errors {
            let until = now + Duration::from_millis(self.config.replica_fetch_backoff_ms);
            self.fetcher.back_off(address, until);
            out.set_timer(Timer::ReplicaFetchRetry, until);
        }
    }
}
