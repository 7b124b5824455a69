//! The leader's side of log reconciliation: where does an epoch end, and does a follower's
//! fetch agree with the leader's log? (KIP-101, KIP-279, KIP-595.)
//!
//! Every replica keeps its *epoch history*, the leader-epoch cache: "epoch 0 starts at offset
//! 0, epoch 2 at offset 10, epoch 5 at offset 20", plus its log end offset. An epoch *ends*
//! where the next epoch it knows of starts, and the latest epoch ends at the log end offset.
//! Two replicas whose logs hold the same epoch at the same offset hold the same record there
//! (only one leader per epoch ever wrote), so comparing epoch histories finds where two logs
//! part ways without comparing records.
//!
//! A follower says "my last record is of epoch E and my log ends at offset F". The leader
//! answers with the largest epoch it has that is ≤ E, and where that epoch ends in its own
//! log ([`leader_epoch_end_offset`], Kafka's `LeaderEpochFileCache.endOffsetFor`):
//!
//! ```text
//! leader history  (0,0) (2,10) (5,20), log end 25
//! asks 5 -> (5,25)   asks 2 -> (2,20)   asks 3 -> (2,20): the leader never had epoch 3
//! asks 6 -> undefined                   asks -1 (a follower with no epochs) -> undefined
//! ```
//!
//! If the answer's epoch is lower than E, or it ends before F, the follower's log diverges:
//! since KIP-595 the leader says so in the Fetch response (`diverging_epoch`,
//! [`check_fetch`]) rather than waiting for a separate `OffsetForLeaderEpoch` request.
//!
//! Before KIP-279 the answer was only an offset — the start of the first epoch above E — with
//! no epoch ([`legacy_epoch_end_offset`]). When the leader never had epoch E, that offset can
//! lie beyond where the logs really part, and the follower kept a divergent suffix (see the
//! `kip_279_motivating_case` test). KRaft's metadata log answers like the broker but never
//! says "undefined" ([`kraft_epoch_end_offset`]).

use crate::log::epoch_cache::{EpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};

/// An epoch and the offset where it ends (exclusive): Kafka's `EpochEndOffset` /
/// `OffsetAndEpoch`, the answer to `OffsetForLeaderEpoch` and a Fetch's `diverging_epoch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochEndOffset {
    /// The leader epoch ([`UNDEFINED_EPOCH`] if none).
    pub epoch: i32,
    /// The first offset after that epoch's records ([`UNDEFINED_EPOCH_OFFSET`] if none).
    pub end_offset: i64,
}

impl EpochEndOffset {
    /// "I cannot say": no epoch history, an undefined epoch asked, or one above the latest.
    pub const UNDEFINED: EpochEndOffset = EpochEndOffset {
        epoch: UNDEFINED_EPOCH,
        end_offset: UNDEFINED_EPOCH_OFFSET,
    };

    /// An answer of epoch `epoch` ending at `end_offset`.
    pub const fn new(epoch: i32, end_offset: i64) -> Self {
        EpochEndOffset { epoch, end_offset }
    }

    /// Whether the answer says nothing (either half undefined).
    pub fn is_undefined(&self) -> bool {
        self.epoch == UNDEFINED_EPOCH || self.end_offset == UNDEFINED_EPOCH_OFFSET
    }
}

/// The answer to `OffsetForLeaderEpoch(requested_epoch)` from a replica with epoch history
/// `history` and log end offset `log_end_offset` (KIP-279; Kafka's
/// `LeaderEpochFileCache.endOffsetFor`): the largest epoch ≤ `requested_epoch` and where it
/// ends; the requested epoch itself with the first known start when it is older than every
/// epoch known; undefined for an undefined or too-new epoch or an empty history.
///
/// This is [`EpochCache::end_offset_for`], whose semantics match Kafka's (the table below
/// checks it against `LeaderEpochFileCacheTest`).
///
/// Example: history `(0,0) (2,10) (5,20)`, log end 25: asking 3 → `(2, 20)`.
pub fn leader_epoch_end_offset(
    history: &EpochCache,
    requested_epoch: i32,
    log_end_offset: i64,
) -> EpochEndOffset {
    debug_assert!(requested_epoch >= UNDEFINED_EPOCH && log_end_offset >= 0);
    let (epoch, end_offset) = history.end_offset_for(requested_epoch, log_end_offset);
    EpochEndOffset { epoch, end_offset }
}

/// The answer before KIP-279 (Kafka 0.11–1.1, `OffsetForLeaderEpoch` v0, which carried no
/// epoch): the log end offset for the latest epoch; else the start offset of the first epoch
/// above `requested_epoch`; undefined when asked for an undefined epoch, one older than every
/// epoch known, or one above the latest — the follower then truncates to its high watermark.
///
/// Example: history `(0,0) (2,5)`, log end 8: asking 1 → 5, though epoch 0 (the one the
/// follower's records really share with the leader) may end much earlier in its log.
pub fn legacy_epoch_end_offset(
    history: &EpochCache,
    requested_epoch: i32,
    log_end_offset: i64,
) -> i64 {
    debug_assert!(requested_epoch >= UNDEFINED_EPOCH && log_end_offset >= 0);
    let entries = history.entries();
    if requested_epoch == UNDEFINED_EPOCH {
        return UNDEFINED_EPOCH_OFFSET;
    }
    if history.latest_epoch() == Some(requested_epoch) {
        return log_end_offset;
    }
    match (
        entries.first(),
        entries.iter().find(|e| e.epoch > requested_epoch),
    ) {
        (Some(first), Some(next)) if requested_epoch >= first.epoch => next.start_offset,
        _ => UNDEFINED_EPOCH_OFFSET,
    }
}

/// The KRaft metadata log's answer (`KafkaMetadataLog.endOffsetForEpoch`, snapshots left out):
/// as [`leader_epoch_end_offset`], but where that is undefined, the log end offset and the
/// latest epoch (0, the "primordial epoch", for an empty log).
///
/// Example: history `(1,0) (3,7)`, log end 9: asking 4 → `(3, 9)`.
pub fn kraft_epoch_end_offset(
    history: &EpochCache,
    requested_epoch: i32,
    log_end_offset: i64,
) -> EpochEndOffset {
    debug_assert!(requested_epoch >= 0, "KRaft epochs start at 0");
    let answer = leader_epoch_end_offset(history, requested_epoch, log_end_offset);
    if answer.end_offset == UNDEFINED_EPOCH_OFFSET {
        EpochEndOffset::new(history.latest_epoch().unwrap_or(0), log_end_offset)
    } else {
        answer
    }
}

/// What a leader makes of a follower's fetch position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchCheck {
    /// The follower's log agrees with the leader's up to the fetch offset: serve records.
    Consistent,
    /// The follower's log parts from the leader's: answer with this `diverging_epoch` and no
    /// records; the follower truncates ([`super::truncation`]) and fetches again.
    Diverging(EpochEndOffset),
    /// The leader cannot place the fetch: OFFSET_OUT_OF_RANGE.
    OffsetOutOfRange,
}

/// The broker leader's check of a follower fetch at `fetch_offset` whose last record is of
/// `last_fetched_epoch` (Kafka's `Partition.readRecords`, Fetch v12+): no epoch sent → no
/// check; an undefined answer, or a fetch below the log start → OFFSET_OUT_OF_RANGE; an answer
/// of a lower epoch, or one ending before the fetch offset → diverging.
///
/// Example: leader history `(0,0) (2,1) (5,2)`; a follower fetching at 3 with last epoch 4 is
/// told `Diverging((2, 2))`.
pub fn check_fetch(
    history: &EpochCache,
    log_start_offset: i64,
    log_end_offset: i64,
    fetch_offset: i64,
    last_fetched_epoch: Option<i32>,
) -> FetchCheck {
    debug_assert!(fetch_offset >= 0 && log_start_offset <= log_end_offset);
    let Some(last_fetched_epoch) = last_fetched_epoch else {
        return FetchCheck::Consistent;
    };
    let answer = leader_epoch_end_offset(history, last_fetched_epoch, log_end_offset);
    if answer.is_undefined() || fetch_offset < log_start_offset {
        FetchCheck::OffsetOutOfRange
    } else if answer.epoch < last_fetched_epoch || answer.end_offset < fetch_offset {
        FetchCheck::Diverging(answer)
    } else {
        FetchCheck::Consistent
    }
}

/// The KRaft leader's check of a voter's or observer's fetch (`ReplicatedLog.validateOffsetAndEpoch`,
/// snapshots left out): a fetch of an empty log from offset 0 is consistent; otherwise it
/// diverges when [`kraft_epoch_end_offset`] answers another epoch or ends before the fetch
/// offset.
///
/// Example: leader history `(1,0) (3,7)`, log end 9; fetch at 8 with last epoch 2 →
/// `Diverging((1, 7))`.
pub fn check_kraft_fetch(
    history: &EpochCache,
    log_start_offset: i64,
    log_end_offset: i64,
    fetch_offset: i64,
    last_fetched_epoch: i32,
) -> FetchCheck {
    debug_assert!(fetch_offset >= 0 && last_fetched_epoch >= 0);
    if log_start_offset == 0 && fetch_offset == 0 {
        return FetchCheck::Consistent;
    }
    let answer = kraft_epoch_end_offset(history, last_fetched_epoch, log_end_offset);
    if answer.epoch != last_fetched_epoch || answer.end_offset < fetch_offset {
        FetchCheck::Diverging(answer)
    } else {
        FetchCheck::Consistent
    }
}

#[cfg(test)]
pub(crate) mod tests;
