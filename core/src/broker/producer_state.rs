//! What a partition leader remembers about each idempotent producer (KIP-98; Kafka's
//! `ProducerStateManager`).
//!
//! An idempotent producer stamps every batch with its producer id, epoch and a sequence number
//! per partition. The leader keeps, per producer, the last five batches it appended. A batch it
//! has already appended (a retry whose first answer was lost) is answered with the original
//! offset instead of being written twice; a batch that skips ahead of the next expected
//! sequence (an earlier one failed and is being resent) is refused with
//! `OUT_OF_ORDER_SEQUENCE_NUMBER`, so the producer resends in order. Five is why idempotence
//! requires `max.in.flight.requests.per.connection <= 5`.
//!
//! The state is rebuilt from the log's batch headers whenever a replica becomes leader, as
//! Kafka rebuilds it from the log (and its snapshots) on failover.

use crate::log::Log;
use crate::protocol::ErrorCode;
use std::collections::{BTreeMap, VecDeque};

/// How many batches per producer the leader remembers.
pub const BATCHES_REMEMBERED: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BatchMeta {
    first_seq: i32,
    last_seq: i32,
    first_offset: i64,
    last_offset: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
}

/// The verdict on an incoming batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Append,
    /// Already appended at these offsets: answer with them, write nothing.
    Duplicate {
        /// Where the original went.
        first_offset: i64,
        /// Its last offset.
        last_offset: i64,
    },
    /// Refuse it with this error.
    Refuse(ErrorCode),
}

/// Idempotent producers seen by one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStates {
    by_id: BTreeMap<i64, ProducerEntry>,
}

impl ProducerStates {
    /// Judge a batch from producer `id` in `epoch` carrying sequences `first_seq..=last_seq`.
    pub fn check(&self, id: i64, epoch: i16, first_seq: i32, last_seq: i32) -> SequenceCheck {
        let Some(entry) = self.by_id.get(&id) else {
            return if first_seq == 0 {
                SequenceCheck::Append
            } else {
                SequenceCheck::Refuse(ErrorCode::OutOfOrderSequenceNumber)
            };
        };
        if epoch < entry.epoch {
            return SequenceCheck::Refuse(ErrorCode::InvalidProducerEpoch);
        }
        if epoch > entry.epoch {
            // A new epoch starts its sequences over.
            return if first_seq == 0 {
                SequenceCheck::Append
            } else {
                SequenceCheck::Refuse(ErrorCode::OutOfOrderSequenceNumber)
            };
        }
        if let Some(b) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == first_seq && b.last_seq == last_seq)
        {
            return SequenceCheck::Duplicate {
                first_offset: b.first_offset,
                last_offset: b.last_offset,
            };
        }
        let expected = entry
            .batches
            .back()
            .map_or(0, |b| b.last_seq.wrapping_add(1));
        if first_seq == expected {
            SequenceCheck::Append
        } else {
            SequenceCheck::Refuse(ErrorCode::OutOfOrderSequenceNumber)
        }
    }

    /// Remember an appended batch.
    pub fn record(
        &mut self,
        id: i64,
        epoch: i16,
        first_seq: i32,
        last_seq: i32,
        first_offset: i64,
        last_offset: i64,
    ) {
        let entry = self.by_id.entry(id).or_default();
        if epoch != entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(BatchMeta {
            first_seq,
            last_seq,
            first_offset,
            last_offset,
        });
        while entry.batches.len() > BATCHES_REMEMBERED {
            entry.batches.pop_front();
        }
    }

    /// Rebuild the state from the batch headers of `log`.
    pub fn rebuild(log: &Log) -> Self {
        let mut states = ProducerStates::default();
        for h in log.batches() {
            if h.producer_id >= 0 && h.base_sequence >= 0 {
                let last_seq = h.base_sequence.wrapping_add(h.last_offset_delta);
                states.record(
                    h.producer_id,
                    h.producer_epoch,
                    h.base_sequence,
                    last_seq,
                    h.base_offset,
                    h.last_offset(),
                );
            }
        }
        states
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: KIP-98 (idempotent producer), Kafka's ProducerStateManagerTest.
    #[test]
    fn sequence_rules() {
        let mut s = ProducerStates::default();
        assert_eq!(s.check(7, 0, 0, 4), SequenceCheck::Append);
        assert_eq!(
            s.check(7, 0, 5, 9),
            SequenceCheck::Refuse(ErrorCode::OutOfOrderSequenceNumber),
            "unknown producer must start at 0"
        );
        s.record(7, 0, 0, 4, 100, 104);
        assert_eq!(
            s.check(7, 0, 0, 4),
            SequenceCheck::Duplicate {
                first_offset: 100,
                last_offset: 104
            }
        );
        assert_eq!(s.check(7, 0, 5, 9), SequenceCheck::Append);
        assert_eq!(
            s.check(7, 0, 10, 12),
            SequenceCheck::Refuse(ErrorCode::OutOfOrderSequenceNumber),
            "a gap"
        );
        assert_eq!(
            s.check(7, 1, 0, 0),
            SequenceCheck::Append,
            "a new epoch starts over"
        );
        s.record(7, 1, 0, 0, 105, 105);
        assert_eq!(
            s.check(7, 0, 5, 9),
            SequenceCheck::Refuse(ErrorCode::InvalidProducerEpoch),
            "an old epoch is fenced"
        );
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut s = ProducerStates::default();
        for i in 0..7 {
            s.record(1, 0, i, i, i64::from(i), i64::from(i));
        }
        assert_eq!(
            s.check(1, 0, 2, 2),
            SequenceCheck::Duplicate {
                first_offset: 2,
                last_offset: 2
            }
        );
        assert_eq!(
            s.check(1, 0, 1, 1),
            SequenceCheck::Refuse(ErrorCode::OutOfOrderSequenceNumber),
            "forgotten"
        );
    }
}
