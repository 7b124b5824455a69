//! The follower's side of log reconciliation: having heard where the leader's epoch ends,
//! where does the follower cut its log? (KIP-101, KIP-279, KIP-595.)
//!
//! The leader answered `(E, L)`: "the largest epoch I have that is ≤ yours is E, and in my log
//! it ends at L" (`epoch_end.rs`). The follower looks up E in *its own* history:
//!
//! - it has E, ending at `F`: both logs agree below `min(L, F)` and may disagree above, so it
//!   truncates to `min(L, F)` — done (KIP-279). Taking only L, as KIP-101 did, keeps the
//!   follower's records of a later epoch in `[F, L)` that the leader holds as records of E;
//! - it does not have E (its largest epoch below E is E' < E, ending at `F`): its records from
//!   `F` on are of epochs the leader does not share, so it truncates to `F` and asks again
//!   with E' — not done yet;
//! - it has no epoch ≤ E at all: it trusts the leader's L;
//! - the leader could not say (`L` undefined): it falls back to its high watermark, the one
//!   offset it knows to be committed (`OffsetForLeaderEpoch` v0 peers, or no history).
//!
//! Never beyond its own log end offset: a truncation only cuts. (Kafka's
//! `AbstractFetcherThread.getOffsetTruncationState`.)
//!
//! ```text
//! leader    (0,0) (2,1) (5,2)   log end 3        follower  (0,0) (2,1) (4,2)   log end 3
//! follower fetches at 3, last epoch 4 -> leader: diverging (2, 2)
//! follower's epoch 2 ends at 2 -> truncate to min(2, 2) = 2, done; fetch again at 2, epoch 2
//! ```
//!
//! The KRaft metadata log does the same with one difference (`ReplicatedLog.truncateToEndOffset`):
//! when it does not have the leader's epoch it cuts to its own end of the largest lower epoch
//! and leaves the rest to the next Fetch ([`kraft_truncation_offset`]).

use super::epoch_end::EpochEndOffset;
use crate::log::epoch_cache::{EpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};

/// Where a follower truncates to, and whether that settles it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncation {
    /// Cut the log to this offset (keep offsets below it); never above the log end offset.
    pub offset: i64,
    /// False when the follower did not know the leader's epoch: it must ask again with its
    /// largest epoch below it (with fetch-time divergence, the next Fetch does).
    pub complete: bool,
}

/// A broker follower's truncation after the leader answered `leader` (an
/// `OffsetForLeaderEpoch` response or a Fetch's `diverging_epoch`), given the follower's
/// `history`, log end offset and high watermark (Kafka's `getOffsetTruncationState`).
///
/// Example: leader answers `(4, 140)`; the follower's epoch 4 ends at 149, its log at 200 →
/// truncate to 140, complete.
pub fn follower_truncation(
    leader: EpochEndOffset,
    history: &EpochCache,
    log_end_offset: i64,
    high_watermark: i64,
) -> Truncation {
    debug_assert!(high_watermark >= 0 && high_watermark <= log_end_offset);
    let done = |offset: i64| Truncation {
        offset: offset.min(log_end_offset),
        complete: true,
    };
    if leader.end_offset == UNDEFINED_EPOCH_OFFSET {
        return done(high_watermark);
    }
    if leader.epoch == UNDEFINED_EPOCH {
        return done(leader.end_offset);
    }
    let (own_epoch, own_end) = history.end_offset_for(leader.epoch, log_end_offset);
    if own_end == UNDEFINED_EPOCH_OFFSET {
        done(leader.end_offset)
    } else if own_epoch != leader.epoch {
        Truncation {
            offset: own_end.min(log_end_offset),
            complete: false,
        }
    } else {
        done(own_end.min(leader.end_offset))
    }
}

/// A follower's truncation before KIP-279 (Kafka 0.11–1.1, `ReplicaFetcherThread.maybeTruncate`):
/// to the leader's offset if it is below the log end, to the high watermark if the leader
/// could not say. The follower's own history is not consulted.
///
/// Example: the leader says 5, the follower's log ends at 6 → 5 (even if the follower's
/// records from 3 on are of an epoch the leader never had).
pub fn legacy_follower_truncation(
    leader_end_offset: i64,
    log_end_offset: i64,
    high_watermark: i64,
) -> i64 {
    debug_assert!(high_watermark >= 0 && high_watermark <= log_end_offset);
    if leader_end_offset == UNDEFINED_EPOCH_OFFSET {
        high_watermark
    } else {
        leader_end_offset.min(log_end_offset)
    }
}

/// A KRaft follower's truncation after a Fetch response named `diverging`
/// (`ReplicatedLog.truncateToEndOffset`): for the primordial epoch 0, the smaller of the
/// leader's end and the log end; if the follower has the diverging epoch, the smaller of both
/// ends; if not, its own end of the largest lower epoch.
///
/// Example: diverging `(1, 5)`; follower history `(1,0) (2,3)`, log end 7: epoch 1 ends at 3
/// here → 3.
pub fn kraft_truncation_offset(
    diverging: EpochEndOffset,
    history: &EpochCache,
    log_end_offset: i64,
) -> i64 {
    debug_assert!(diverging.epoch >= 0 && diverging.end_offset >= 0);
    if diverging.epoch == 0 {
        return diverging.end_offset.min(log_end_offset);
    }
    let own = super::epoch_end::kraft_epoch_end_offset(history, diverging.epoch, log_end_offset);
    if own.epoch == diverging.epoch {
        own.end_offset.min(diverging.end_offset)
    } else {
        own.end_offset
    }
}

#[cfg(test)]
mod tests;
