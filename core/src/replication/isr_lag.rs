//! ISR lag: when is a follower "caught up", and which ISR members must leave.
//!
//! `replica.lag.time.max.ms` (30 s by default) is a promise about *time*, not offsets: a
//! follower stays in the ISR as long as it was caught up with the leader's log end offset at
//! some moment in the last 30 s. The leader remembers, per follower, `last_caught_up_time`:
//! the latest moment it knows the follower had everything the leader had.
//!
//! A fetch tells the leader "I have everything below `fetch_offset`". Kafka
//! (`Replica.updateFetchStateOrThrow`) draws two conclusions from it:
//!
//! 1. if `fetch_offset` ≥ the leader's log end offset *now*, the follower is caught up now:
//!    `last_caught_up_time = fetch time`;
//! 2. else, if `fetch_offset` ≥ the leader's log end offset *at the previous fetch*, the
//!    follower had, by now, caught up with where the leader stood then:
//!    `last_caught_up_time = previous fetch time`.
//!
//! Rule 2 is what keeps a busy partition's followers in the ISR: under a steady stream of
//! small produce requests the leader's end moves on between every two fetches, so a healthy
//! follower *never* fetches at the current end, yet it always reaches the previous one.
//!
//! A follower is caught up (`ReplicaState.isCaughtUp`) if its log end offset equals the
//! leader's, or it caught up within the last `replica.lag.time.max.ms`. The first clause keeps
//! a follower of an idle partition in the ISR however long ago it last fetched: nothing new
//! was written, so it misses nothing. ISR members that are not caught up are shrunk away
//! (`Partition.getOutOfSyncReplicas`) — never the leader itself, and not while another
//! `AlterPartition` is in flight (the caller checks that).
//!
//! ```text
//! t=0   leader LEO 10, follower fetches at 5    -> not caught up (last_caught_up stays 0)
//! t=1   leader LEO 15, follower fetches at 10   -> 10 >= 10 (LEO at t=0): caught up as of t=0
//! t=2   leader LEO 15, follower fetches at 15   -> caught up as of t=2
//! ```

use super::committed::UNKNOWN_OFFSET;
use crate::time::{Duration, Instant};
use std::collections::BTreeMap;

/// What a leader remembers of one follower's fetches (Kafka's `ReplicaState`, without the
/// log start offset and the broker epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerFetchState {
    /// The follower's log end offset as its last fetch said ([`UNKNOWN_OFFSET`]: none yet).
    pub log_end_offset: i64,
    /// The leader's log end offset when that last fetch arrived.
    pub last_fetch_leader_log_end_offset: i64,
    /// When that last fetch arrived.
    pub last_fetch_time: Instant,
    /// The latest moment the follower is known to have had everything the leader had.
    pub last_caught_up_time: Instant,
    /// The broker epoch its last fetch carried (KIP-903), -1 before any.
    pub broker_epoch: i64,
}

impl FollowerFetchState {
    /// A follower never heard from (Kafka's `ReplicaState.Empty`).
    pub const UNKNOWN: FollowerFetchState = FollowerFetchState {
        log_end_offset: UNKNOWN_OFFSET,
        last_fetch_leader_log_end_offset: 0,
        last_fetch_time: Instant::ZERO,
        last_caught_up_time: Instant::ZERO,
        broker_epoch: -1,
    };
}

/// The follower's state after a fetch at `fetch_offset` arriving at `fetch_time`, when the
/// leader's log end offset was `leader_log_end_offset` (read *before* serving the fetch, so
/// appends racing with it cannot keep the follower out). Kafka's
/// `Replica.updateFetchStateOrThrow`.
///
/// Example: state after a fetch at 5 at t=0 with the leader at 10; a fetch at 10 at t=1 with
/// the leader at 15 sets `last_caught_up_time` to t=0 (rule 2 of the module doc).
pub fn after_follower_fetch(
    state: &FollowerFetchState,
    fetch_offset: i64,
    fetch_time: Instant,
    leader_log_end_offset: i64,
) -> FollowerFetchState {
    debug_assert!(fetch_offset >= 0 && leader_log_end_offset >= 0);
    let last_caught_up_time = if fetch_offset >= leader_log_end_offset {
        state.last_caught_up_time.max(fetch_time)
    } else if fetch_offset >= state.last_fetch_leader_log_end_offset {
        state.last_caught_up_time.max(state.last_fetch_time)
    } else {
        state.last_caught_up_time
    };
    FollowerFetchState {
        log_end_offset: fetch_offset,
        last_fetch_leader_log_end_offset: leader_log_end_offset
            .max(state.last_fetch_leader_log_end_offset),
        last_fetch_time: fetch_time,
        last_caught_up_time,
        broker_epoch: state.broker_epoch,
    }
}

/// The follower's state when this broker becomes (or is re-elected) leader at `now`
/// (Kafka's `Replica.resetReplicaState`). An ISR member gets a fresh `replica.lag.time.max.ms`
/// to prove itself; any other follower starts at time zero so that it does not hold the high
/// watermark back. A *new* leader forgets the follower's offsets (it never served it); a
/// re-elected one keeps them.
///
/// Example: a new leader at t=7 with the follower in the ISR → last caught up at t=7, log end
/// offset unknown.
pub fn on_become_leader(
    state: &FollowerFetchState,
    now: Instant,
    leader_log_end_offset: i64,
    is_new_leader: bool,
    in_isr: bool,
) -> FollowerFetchState {
    debug_assert!(leader_log_end_offset >= 0);
    let last_caught_up_time = if in_isr { now } else { Instant::ZERO };
    if is_new_leader {
        FollowerFetchState {
            log_end_offset: UNKNOWN_OFFSET,
            last_fetch_leader_log_end_offset: UNKNOWN_OFFSET,
            last_fetch_time: Instant::ZERO,
            last_caught_up_time,
            broker_epoch: -1,
        }
    } else {
        FollowerFetchState {
            log_end_offset: state.log_end_offset,
            last_fetch_leader_log_end_offset: leader_log_end_offset,
            last_fetch_time: last_caught_up_time,
            last_caught_up_time,
            broker_epoch: state.broker_epoch,
        }
    }
}

/// Whether the follower is caught up at `now` (Kafka's `ReplicaState.isCaughtUp`): its log
/// end offset equals the leader's, or it was caught up within `replica_lag_time_max`.
///
/// Example: caught up at t=0, `replica.lag.time.max.ms=30000`: at t=30 s still caught up; at
/// t=30.001 s only if its log end offset equals the leader's.
pub fn is_caught_up(
    state: &FollowerFetchState,
    leader_log_end_offset: i64,
    now: Instant,
    replica_lag_time_max: Duration,
) -> bool {
    debug_assert!(leader_log_end_offset >= 0);
    state.log_end_offset == leader_log_end_offset
        || now.saturating_since(state.last_caught_up_time) <= replica_lag_time_max
}

/// The ISR members to shrink away at `now`: every member but `leader` that is not caught up;
/// one the leader has no state for is out of sync (Kafka's `Partition.getOutOfSyncReplicas`).
/// Call it only while no `AlterPartition` is in flight. Returns them in ISR order.
///
/// Example: ISR `[1, 2, 3]`, leader 1, follower 3 silent for 31 s behind the leader's end →
/// `[3]`.
pub fn out_of_sync_replicas(
    leader: i32,
    isr: &[i32],
    followers: &BTreeMap<i32, FollowerFetchState>,
    leader_log_end_offset: i64,
    now: Instant,
    replica_lag_time_max: Duration,
) -> Vec<i32> {
    debug_assert!(
        isr.contains(&leader),
        "the leader {leader} is in its ISR {isr:?}"
    );
    isr.iter()
        .copied()
        .filter(|b| *b != leader)
        .filter(|b| {
            followers
                .get(b)
                .is_none_or(|f| !is_caught_up(f, leader_log_end_offset, now, replica_lag_time_max))
        })
        .collect()
}

#[cfg(test)]
mod tests;
