//! The rules of replication, each as one small pure function with the table of cases that
//! pins it down.
//!
//! A DBA knows these rules under other names: the high watermark is the "flush LSN every
//! synchronous standby has confirmed"; the ISR is the set of standbys in
//! `synchronous_standby_names` that are keeping up; truncation is what `pg_rewind` does to an
//! old primary. Kafka spreads these rules over `Partition.scala`, `Replica.scala`,
//! `LeaderEpochFileCache`, `AbstractFetcherThread` and the Raft `LeaderState`; here each one
//! lives in exactly one place, without state, so a student can read it, and the broker and
//! the quorum can share it:
//!
//! | rule | where | Kafka |
//! |------|-------|-------|
//! | how many make a majority; has a candidate won | [`majority`] | `CandidateState` |
//! | the offset enough members have: *the* commit computation | [`committed`] | etcd `CommittedIndex` |
//! | the high watermark of a partition and of the quorum | [`high_watermark`] | `maybeIncrementLeaderHW`, `LeaderState.maybeUpdateHighWatermark` |
//! | when a follower is caught up; whom to shrink from the ISR | [`isr_lag`] | `Replica.updateFetchStateOrThrow`, `getOutOfSyncReplicas` |
//! | when a follower may join the ISR | [`isr_join`] | `isFollowerInSync` |
//! | where an epoch ends; does a fetch diverge | [`epoch_end`] | `LeaderEpochFileCache.endOffsetFor`, `readRecords` |
//! | where a diverged follower truncates | [`truncation`] | `getOffsetTruncationState` |
//!
//! Offsets follow Kafka's conventions: a log end offset or high watermark is *exclusive* (the
//! offset the next record will get), `-1` means "not known", and epochs are `-1` when
//! undefined. The functions take plain numbers and slices, never a `Partition`: the caller
//! gathers what the leader knows, asks the kernel, and acts on the answer.
//!
//! # Who calls what
//!
//! | caller | kernels |
//! |--------|---------|
//! | `broker::Partition::maybe_advance_high_watermark` | [`high_watermark::is_under_min_isr`], [`high_watermark::maximal_isr`], [`high_watermark::isr_high_watermark`], [`committed::high_watermark_advances`] |
//! | `broker::Partition::check_follower_fetch` | [`epoch_end::check_fetch`], [`epoch_end::legacy_epoch_end_offset`] |
//! | `broker::Partition::truncate_diverging` | [`truncation::follower_truncation`], [`truncation::legacy_follower_truncation`] |
//! | `broker::Partition::on_follower_fetch` | [`isr_lag::after_follower_fetch`], [`isr_join::may_join_isr`] |
//! | `broker::Partition::become_leader` | [`isr_lag::on_become_leader`] |
//! | `broker::Partition::isr_to_shrink` | [`isr_lag::out_of_sync_replicas`] |
//! | the broker's `OffsetForLeaderEpoch` answer | [`epoch_end::leader_epoch_end_offset`] |
//! | the quorum leader's high watermark | [`high_watermark::raft_high_watermark`], [`committed::high_watermark_advances`] |
//! | the quorum leader's Fetch check; the follower's truncation | [`epoch_end::check_kraft_fetch`], [`truncation::kraft_truncation_offset`] |
//! | the quorum's elections and check-quorum | [`majority::election_won`] |
//!
//! # Where kafkasim's broker still differs from Kafka (named simplifications)
//!
//! - **Who holds the high watermark.** Kafka 3.7+ also waits for a caught-up, eligible
//!   follower outside the ISR ([`high_watermark::counts_toward_high_watermark`]); the broker
//!   counts the maximal ISR only. (It does keep the strict min-ISR rule of KIP-966,
//!   [`high_watermark::is_under_min_isr`], unless `kafkasim.legacy.pre.kip966` is set.)
//! - **The leader's epoch start offset** is read from the epoch cache (the entry of the
//!   current epoch); Kafka notes the log end offset at `makeLeader`. They differ only for a
//!   leader re-elected in an epoch its log already holds.
//! - **OFFSET_OUT_OF_RANGE on a follower** truncates to the leader's high watermark from the
//!   Fetch response; Kafka asks the leader for its log end (`ListOffsets`) or, below the
//!   leader's log start, starts over there.
//!
//! Eligible leader replicas (KIP-966) are the controller's, in
//! [`crate::controller::placement::partition_change`].

pub mod committed;
pub mod epoch_end;
pub mod high_watermark;
pub mod isr_join;
pub mod isr_lag;
pub mod majority;
pub mod truncation;
