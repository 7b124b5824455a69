//! Kafka's error codes, with Kafka's names and numbers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An error code as Kafka puts it in a response (`Errors.java` in Apache Kafka).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)] // the variants are Kafka's own names; `describe` explains each
pub enum ErrorCode {
    None,
    OffsetOutOfRange,
    CorruptMessage,
    UnknownTopicOrPartition,
    LeaderNotAvailable,
    NotLeaderOrFollower,
    RequestTimedOut,
    MessageTooLarge,
    NetworkException,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    InvalidRequiredAcks,
    KafkaStorageError,
    FencedLeaderEpoch,
    UnknownLeaderEpoch,
    NotController,
    StaleBrokerEpoch,
    InvalidUpdateVersion,
    OutOfOrderSequenceNumber,
    DuplicateSequenceNumber,
    InvalidProducerEpoch,
    CoordinatorLoadInProgress,
    CoordinatorNotAvailable,
    NotCoordinator,
    IllegalGeneration,
    UnknownMemberId,
    RebalanceInProgress,
    /// Another member joined with this member's `group.instance.id` (KIP-345).
    FencedInstanceId,
    /// A proposed ISR names a broker that is fenced, unregistered, or registered with another
    /// broker epoch than the one the leader saw fetch (KIP-903).
    IneligibleReplica,
    /// A record the broker refuses as such: e.g. one without a key sent to a compacted topic.
    InvalidRecord,
}

impl ErrorCode {
    /// The number on the wire.
    pub fn code(self) -> i16 {
        match self {
            ErrorCode::None => 0,
            ErrorCode::OffsetOutOfRange => 1,
            ErrorCode::CorruptMessage => 2,
            ErrorCode::UnknownTopicOrPartition => 3,
            ErrorCode::LeaderNotAvailable => 5,
            ErrorCode::NotLeaderOrFollower => 6,
            ErrorCode::RequestTimedOut => 7,
            ErrorCode::MessageTooLarge => 10,
            ErrorCode::NetworkException => 13,
            ErrorCode::NotEnoughReplicas => 19,
            ErrorCode::NotEnoughReplicasAfterAppend => 20,
            ErrorCode::InvalidRequiredAcks => 21,
            ErrorCode::KafkaStorageError => 56,
            ErrorCode::FencedLeaderEpoch => 74,
            ErrorCode::UnknownLeaderEpoch => 75,
            ErrorCode::NotController => 41,
            ErrorCode::StaleBrokerEpoch => 77,
            ErrorCode::InvalidUpdateVersion => 95,
            ErrorCode::OutOfOrderSequenceNumber => 45,
            ErrorCode::DuplicateSequenceNumber => 46,
            ErrorCode::InvalidProducerEpoch => 47,
            ErrorCode::CoordinatorLoadInProgress => 14,
            ErrorCode::CoordinatorNotAvailable => 15,
            ErrorCode::NotCoordinator => 16,
            ErrorCode::IllegalGeneration => 22,
            ErrorCode::UnknownMemberId => 25,
            ErrorCode::RebalanceInProgress => 27,
            ErrorCode::FencedInstanceId => 82,
            ErrorCode::IneligibleReplica => 107,
            ErrorCode::InvalidRecord => 87,
        }
    }

    /// Kafka's name for it, e.g. `NOT_LEADER_OR_FOLLOWER`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::None => "NONE",
            ErrorCode::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            ErrorCode::CorruptMessage => "CORRUPT_MESSAGE",
            ErrorCode::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            ErrorCode::LeaderNotAvailable => "LEADER_NOT_AVAILABLE",
            ErrorCode::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ErrorCode::RequestTimedOut => "REQUEST_TIMED_OUT",
            ErrorCode::MessageTooLarge => "MESSAGE_TOO_LARGE",
            ErrorCode::NetworkException => "NETWORK_EXCEPTION",
            ErrorCode::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ErrorCode::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ErrorCode::InvalidRequiredAcks => "INVALID_REQUIRED_ACKS",
            ErrorCode::KafkaStorageError => "KAFKA_STORAGE_ERROR",
            ErrorCode::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            ErrorCode::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            ErrorCode::NotController => "NOT_CONTROLLER",
            ErrorCode::StaleBrokerEpoch => "STALE_BROKER_EPOCH",
            ErrorCode::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            ErrorCode::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ErrorCode::DuplicateSequenceNumber => "DUPLICATE_SEQUENCE_NUMBER",
            ErrorCode::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            ErrorCode::CoordinatorLoadInProgress => "COORDINATOR_LOAD_IN_PROGRESS",
            ErrorCode::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            ErrorCode::NotCoordinator => "NOT_COORDINATOR",
            ErrorCode::IllegalGeneration => "ILLEGAL_GENERATION",
            ErrorCode::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            ErrorCode::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            ErrorCode::FencedInstanceId => "FENCED_INSTANCE_ID",
            ErrorCode::IneligibleReplica => "INELIGIBLE_REPLICA",
            ErrorCode::InvalidRecord => "INVALID_RECORD",
        }
    }

    /// Whether a client should retry the request (Kafka's `RetriableException` subclasses).
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            ErrorCode::CorruptMessage
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::LeaderNotAvailable
                | ErrorCode::NotLeaderOrFollower
                | ErrorCode::RequestTimedOut
                | ErrorCode::NetworkException
                | ErrorCode::NotEnoughReplicas
                | ErrorCode::NotEnoughReplicasAfterAppend
                | ErrorCode::KafkaStorageError
                | ErrorCode::FencedLeaderEpoch
                | ErrorCode::UnknownLeaderEpoch
                | ErrorCode::NotController
                | ErrorCode::CoordinatorLoadInProgress
                | ErrorCode::CoordinatorNotAvailable
                | ErrorCode::NotCoordinator
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: Apache Kafka `org.apache.kafka.common.protocol.Errors`.
    #[test]
    fn codes_match_kafka() {
        let table = [
            (ErrorCode::None, 0),
            (ErrorCode::OffsetOutOfRange, 1),
            (ErrorCode::CorruptMessage, 2),
            (ErrorCode::UnknownTopicOrPartition, 3),
            (ErrorCode::NotLeaderOrFollower, 6),
            (ErrorCode::RequestTimedOut, 7),
            (ErrorCode::NotEnoughReplicas, 19),
            (ErrorCode::NotEnoughReplicasAfterAppend, 20),
            (ErrorCode::FencedLeaderEpoch, 74),
            (ErrorCode::UnknownLeaderEpoch, 75),
            (ErrorCode::NotController, 41),
            (ErrorCode::StaleBrokerEpoch, 77),
            (ErrorCode::InvalidUpdateVersion, 95),
            (ErrorCode::OutOfOrderSequenceNumber, 45),
            (ErrorCode::InvalidProducerEpoch, 47),
            (ErrorCode::NotCoordinator, 16),
            (ErrorCode::IllegalGeneration, 22),
            (ErrorCode::UnknownMemberId, 25),
            (ErrorCode::RebalanceInProgress, 27),
            (ErrorCode::FencedInstanceId, 82),
            (ErrorCode::IneligibleReplica, 107),
            (ErrorCode::InvalidRecord, 87),
        ];
        for (error, code) in table {
            assert_eq!(error.code(), code, "{error}");
        }
    }

    #[test]
    fn serde_uses_kafka_names() {
        let json = serde_json::to_string(&ErrorCode::NotLeaderOrFollower).unwrap();
        assert_eq!(json, "\"NOT_LEADER_OR_FOLLOWER\"");
    }
}
