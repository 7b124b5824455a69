//! What brokers ask of the active controller (KIP-631): to register, to prove they are alive,
//! and to change a partition's ISR.

use super::ErrorCode;
use crate::ids::TopicPartition;

/// `BrokerRegistrationRequest`: a starting broker introduces itself.
#[derive(Clone, Debug)]
pub struct BrokerRegistrationRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// `node.id`.
    pub broker_id: i32,
    /// The broker epoch its previous process shut down cleanly in, or -1 after an unclean
    /// shutdown (KIP-966's `PreviousBrokerEpoch`, read from the clean-shutdown file).
    pub previous_broker_epoch: i64,
}

/// `BrokerRegistrationResponse`.
#[derive(Clone, Debug)]
pub struct BrokerRegistrationResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// `NONE` or `NOT_CONTROLLER`.
    pub error: ErrorCode,
    /// The broker's new epoch: the offset of its registration record.
    pub broker_epoch: i64,
}

/// `BrokerHeartbeatRequest`, every `broker.heartbeat.interval.ms`.
#[derive(Clone, Debug)]
pub struct BrokerHeartbeatRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// `node.id`.
    pub broker_id: i32,
    /// The epoch from registration.
    pub broker_epoch: i64,
    /// How far the broker has applied the metadata log.
    pub current_metadata_offset: i64,
    /// The broker is shutting down and asks for its leaderships to be moved away first
    /// (controlled shutdown).
    pub want_shut_down: bool,
}

/// `BrokerHeartbeatResponse`.
#[derive(Clone, Debug)]
pub struct BrokerHeartbeatResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// `NONE`, `NOT_CONTROLLER` or `STALE_BROKER_EPOCH`.
    pub error: ErrorCode,
    /// Whether the broker has caught up with the metadata log.
    pub is_caught_up: bool,
    /// Whether the broker is fenced.
    pub is_fenced: bool,
    /// The controlled shutdown the broker asked for is complete: it leads nothing and every
    /// active broker knows it, so it may stop.
    pub should_shut_down: bool,
}

/// `AlterPartitionRequest`: a partition leader asks to change the ISR.
#[derive(Clone, Debug)]
pub struct AlterPartitionRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// The leader's `node.id`.
    pub broker_id: i32,
    /// The leader's broker epoch.
    pub broker_epoch: i64,
    /// The partition.
    pub partition: TopicPartition,
    /// The leader epoch the leader is in.
    pub leader_epoch: i32,
    /// The ISR it wants, each member with the broker epoch the leader last saw it fetch with
    /// (`NewIsrWithEpochs`, AlterPartition v3, KIP-903); -1 when unknown.
    pub new_isr: Vec<BrokerState>,
    /// The partition epoch its view is based on.
    pub partition_epoch: i32,
}

/// One member of a proposed ISR: its broker id and the broker epoch of the process that
/// fetched (Kafka's `BrokerState` in `AlterPartitionRequest`). A broker that restarted since
/// has another epoch, and must not be admitted on its predecessor's fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokerState {
    /// The broker's `node.id`.
    pub broker_id: i32,
    /// Its broker epoch, or -1 when the leader does not know it.
    pub broker_epoch: i64,
}

/// The broker ids of an ISR with epochs.
pub fn isr_ids(isr: &[BrokerState]) -> Vec<i32> {
    isr.iter().map(|b| b.broker_id).collect()
}

/// `AlterPartitionResponse`.
#[derive(Clone, Debug)]
pub struct AlterPartitionResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// The partition.
    pub partition: TopicPartition,
    /// `NONE`, `NOT_CONTROLLER`, `FENCED_LEADER_EPOCH`, `INVALID_UPDATE_VERSION`...
    pub error: ErrorCode,
    /// The ISR now.
    pub isr: Vec<i32>,
    /// The leader epoch now.
    pub leader_epoch: i32,
    /// The partition epoch now.
    pub partition_epoch: i32,
}
