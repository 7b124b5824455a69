//! The high watermark of a Kafka partition and of the KRaft quorum, both from
//! [`committed_offset`]: who counts, and how many must have an offset.
//!
//! **Kafka replication** (`Partition.maybeIncrementLeaderHW`): the high watermark is the
//! smallest log end offset over the leader and every follower of the *maximal ISR*. While an
//! `AlterPartition` is in flight the leader does not know whether the controller will accept
//! it, so it counts everyone of both the committed ISR and the proposed one:
//!
//! - a replica being **added** counts at once: if the expansion is accepted, the new member
//!   must have every committed record (a stricter rule is always safe);
//! - a replica being **removed** still counts until the shrink is committed: if the
//!   controller refused it, that replica would still be in the ISR, might be elected, and
//!   must not miss a record the leader declared committed.
//!
//! Since Kafka 3.7 the leader also refuses to advance while the committed ISR is smaller than
//! `min.insync.replicas` ([`is_under_min_isr`]), and it waits for a follower outside the ISR
//! that is caught up and allowed to join ([`counts_toward_high_watermark`]), so that such a
//! follower is not left chasing a high watermark that runs away from it.
//!
//! **KRaft** (`LeaderState.maybeUpdateHighWatermark`): the high watermark is the offset a
//! majority of voters has durably, leader included — but only once it lies *past the start of
//! the leader's epoch*. A new leader first appends a record of its own epoch (Kafka's
//! `LeaderChangeMessage`); until a majority has that record, older records are not declared
//! committed by counting replicas (Raft §5.4.2: an old-epoch record on a majority can still be
//! overwritten by a leader that never had it).

use super::committed::{UNKNOWN_OFFSET, committed_offset};
use super::majority::majority;

/// Kafka's maximal ISR: the committed ISR together with the ISR proposed in an
/// `AlterPartition` not answered yet, sorted. With nothing in flight it is the committed ISR.
///
/// Example: committed `[1, 2]`, adding 3 (proposed `[1, 2, 3]`) → `[1, 2, 3]`; committed
/// `[1, 2, 3]`, removing 3 (proposed `[1, 2]`) → `[1, 2, 3]`: 3 still counts.
pub fn maximal_isr(committed_isr: &[i32], proposed_isr: Option<&[i32]>) -> Vec<i32> {
    debug_assert!(
        !committed_isr.is_empty(),
        "a partition with a leader has an ISR"
    );
    debug_assert!(
        committed_isr
            .iter()
            .chain(proposed_isr.unwrap_or(&[]))
            .all(|b| *b >= 0),
        "broker ids are >= 0"
    );
    let mut members: Vec<i32> = committed_isr
        .iter()
        .chain(proposed_isr.unwrap_or(&[]))
        .copied()
        .collect();
    members.sort_unstable();
    members.dedup();
    members
}

/// Whether a follower's log end offset holds the leader's high watermark back
/// (`maybeIncrementLeaderHW`): a member of the maximal ISR always does; a follower outside it
/// does when it is caught up ([`super::isr_lag::is_caught_up`]) and eligible to join the ISR
/// (not fenced, not shutting down: `isReplicaIsrEligible`).
///
/// Example: a follower dropped from the ISR that keeps fetching at the log end is waited
/// for, so that it can get back in; the same follower fenced by the controller is not.
pub fn counts_toward_high_watermark(
    in_maximal_isr: bool,
    caught_up: bool,
    isr_eligible: bool,
) -> bool {
    in_maximal_isr || (caught_up && isr_eligible)
}

/// The high watermark a Kafka partition leader may move to: the smallest of its own log end
/// offset and the log end offsets of the followers that count (see
/// [`counts_toward_high_watermark`]; [`UNKNOWN_OFFSET`] for one not heard from). The caller
/// moves only forward ([`super::committed::high_watermark_advances`]).
///
/// Example: leader at 10, ISR followers at 8 and 10 → 8. ISR of one (the leader alone) → 10:
/// a lone leader commits everything it has.
pub fn isr_high_watermark(leader_log_end_offset: i64, follower_log_end_offsets: &[i64]) -> i64 {
    debug_assert!(
        leader_log_end_offset >= 0,
        "the leader knows its own log end"
    );
    let mut members = Vec::with_capacity(follower_log_end_offsets.len() + 1);
    members.push(leader_log_end_offset);
    members.extend_from_slice(follower_log_end_offsets);
    committed_offset(&members, members.len())
}

/// Whether the committed ISR is too small to advance the high watermark: fewer members than
/// `min.insync.replicas`, capped at the replication factor (Kafka's `isUnderMinIsr` and
/// `effectiveMinIsr`). Uses the *committed* ISR, not the maximal one.
///
/// Example: `min.insync.replicas=2`, ISR `{leader}` → true: `acks=all` produce fails with
/// NOT_ENOUGH_REPLICAS and the high watermark stays where it is.
pub fn is_under_min_isr(isr_size: usize, min_insync_replicas: usize, replicas: usize) -> bool {
    debug_assert!(
        isr_size >= 1 && isr_size <= replicas,
        "the leader is in its ISR"
    );
    isr_size < min_insync_replicas.min(replicas)
}

/// The high watermark a KRaft leader may move to, or `None` while it may not move: the offset
/// a majority of `voter_end_offsets` (the leader's durable end included; [`UNKNOWN_OFFSET`]
/// for a voter not heard from) has reached, provided it is greater than
/// `epoch_start_offset`, the offset of the leader's first record of its epoch.
///
/// Example: 3 voters at `[15, 10, 10]`, epoch start 10 → `None`: the majority has only
/// records of earlier epochs. At `[15, 15, 10]` → `Some(15)`.
pub fn raft_high_watermark(voter_end_offsets: &[i64], epoch_start_offset: i64) -> Option<i64> {
    debug_assert!(epoch_start_offset >= 0);
    let candidate = committed_offset(voter_end_offsets, majority(voter_end_offsets.len()));
    (candidate != UNKNOWN_OFFSET && candidate > epoch_start_offset).then_some(candidate)
}

#[cfg(test)]
mod tests;
