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
//! # Where kafkasim's broker differs from these rules today
//!
//! The broker (`broker/partition.rs`) predates this module and uses simpler rules; they are
//! listed here so that whoever wires the kernels in knows what will change.
//!
//! - **Caught up.** The broker marks a follower caught up only when a fetch reaches the
//!   leader's log end offset *at that moment* (`on_follower_fetch`), and shrinks an ISR member
//!   whose last such moment is older than `replica.lag.time.max.ms` (`isr_to_shrink`). Kafka
//!   also counts a fetch that reaches the leader's end *as of the previous fetch* (so a
//!   follower of a busy partition, always one batch behind, stays in the ISR), and never
//!   shrinks a follower whose log end equals the leader's, however long ago it fetched (an
//!   idle partition loses nothing). See [`isr_lag`].
//! - **Non-ISR followers after an election** start with a caught-up time of zero in Kafka;
//!   the broker gives every follower a fresh `now`.
//! - **Who holds the high watermark.** Kafka also waits for a caught-up, eligible follower
//!   outside the ISR, and stops advancing below `min.insync.replicas`
//!   ([`high_watermark::counts_toward_high_watermark`], [`high_watermark::is_under_min_isr`]).
//! - **An undefined epoch answer** to a fetch is OFFSET_OUT_OF_RANGE in Kafka
//!   ([`epoch_end::check_fetch`]); the broker answers a diverging epoch `(-1, 0)`.
//!
//! Broker epochs (KIP-903) and eligible leader replicas (KIP-966) are not modelled here yet.

pub mod committed;
pub mod epoch_end;
pub mod high_watermark;
pub mod isr_join;
pub mod isr_lag;
pub mod majority;
pub mod truncation;
