//! When a follower may join the ISR.
//!
//! Being in the ISR is a promise: "this replica has every committed record, so it may be
//! elected leader without losing any". A follower outside the ISR earns its place once its log
//! end offset reaches two marks (Kafka's `Partition.isFollowerInSync`):
//!
//! 1. the leader's **high watermark** — it has every record committed so far;
//! 2. the **start offset of the leader's current epoch** — it has every record of earlier
//!    epochs the leader has. Records between the leader's high watermark and that start
//!    offset may become committed later in this epoch; a follower that joined without them
//!    and was then elected would lose them.
//!
//! ```text
//! leader log  [0 1 | 2 3 4 | 5 6]     epoch 8 wrote 0..5, epoch 10 starts at 5, HW = 1
//! follower at 1   -> reaches the HW, not the epoch start: stays out
//! follower at 5   -> joins
//! ```
//!
//! Kafka also refuses a follower that is fenced or in controlled shutdown, or whose fetches
//! carry a broker epoch older than its registration (KIP-903), and it proposes only one ISR
//! change at a time. Those checks belong to the caller and are left out here, as are eligible
//! leader replicas (KIP-966).

/// Whether a follower whose log ends at `follower_log_end_offset` has caught up enough to
/// join the ISR: at or past the leader's high watermark *and* at or past the start offset of
/// the leader's current epoch (`None` while the leader has not started one).
///
/// Example: HW 1, epoch start 5: a follower at 1 may not join, one at 5 may.
pub fn may_join_isr(
    follower_log_end_offset: i64,
    leader_high_watermark: i64,
    leader_epoch_start_offset: Option<i64>,
) -> bool {
    debug_assert!(follower_log_end_offset >= -1 && leader_high_watermark >= 0);
    follower_log_end_offset >= leader_high_watermark
        && leader_epoch_start_offset.is_some_and(|start| follower_log_end_offset >= start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Case {
        name: &'static str,
        follower_log_end_offset: i64,
        leader_high_watermark: i64,
        leader_epoch_start_offset: Option<i64>,
        expected: bool,
    }

    /// Reference: Kafka's `PartitionTest.scala`
    /// testFollowerDoesNotJoinISRUntilCaughtUpToOffsetWithinCurrentLeaderEpoch (HW 1, epoch
    /// start 5, follower fetches at 0, 1, then 5) and testIsrExpansion (10 records of epoch 4,
    /// epoch 5 starts at 10 and the lone leader's HW is 10; follower fetches at 3, then 10).
    #[test]
    fn may_join_isr_table() {
        #[rustfmt::skip]
        let cases = [
            Case { name: "testFollowerDoesNotJoinISR...: at the log start", follower_log_end_offset: 0, leader_high_watermark: 1, leader_epoch_start_offset: Some(5), expected: false },
            Case { name: "testFollowerDoesNotJoinISR...: at the HW, before the epoch start", follower_log_end_offset: 1, leader_high_watermark: 1, leader_epoch_start_offset: Some(5), expected: false },
            Case { name: "testFollowerDoesNotJoinISR...: at the epoch start", follower_log_end_offset: 5, leader_high_watermark: 1, leader_epoch_start_offset: Some(5), expected: true },
            Case { name: "testIsrExpansion: behind", follower_log_end_offset: 3, leader_high_watermark: 10, leader_epoch_start_offset: Some(10), expected: false },
            Case { name: "testIsrExpansion: caught up", follower_log_end_offset: 10, leader_high_watermark: 10, leader_epoch_start_offset: Some(10), expected: true },
            Case { name: "past the epoch start but below the HW", follower_log_end_offset: 6, leader_high_watermark: 8, leader_epoch_start_offset: Some(5), expected: false },
            Case { name: "never fetched", follower_log_end_offset: -1, leader_high_watermark: 0, leader_epoch_start_offset: Some(0), expected: false },
            Case { name: "no epoch started yet (not leader)", follower_log_end_offset: 10, leader_high_watermark: 0, leader_epoch_start_offset: None, expected: false },
        ];
        for c in cases {
            assert_eq!(
                may_join_isr(
                    c.follower_log_end_offset,
                    c.leader_high_watermark,
                    c.leader_epoch_start_offset
                ),
                c.expected,
                "case {}",
                c.name
            );
        }
    }

    proptest! {
        /// A follower that may join still may after fetching further.
        #[test]
        fn joining_is_monotone(leo in -1i64..100, by in 0i64..50, hw in 0i64..100, start in 0i64..100) {
            if may_join_isr(leo, hw, Some(start)) {
                prop_assert!(may_join_isr(leo + by, hw, Some(start)));
            }
        }
    }
}
