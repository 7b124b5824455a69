use super::*;
use proptest::prelude::*;

struct IsrCase {
    name: &'static str,
    leader_log_end_offset: i64,
    followers: &'static [i64],
    expected: i64,
}

/// Reference: Kafka's `PartitionTest.scala` testIsrExpansion, testMaybeShrinkIsr,
/// testRetryShrinkIsr, testFollowerDoesNotJoinISRUntilCaughtUpToOffsetWithinCurrentLeaderEpoch
/// (offsets as in those tests: a leader seeded with 10 records).
#[test]
fn isr_high_watermark_table() {
    #[rustfmt::skip]
    let cases = [
        IsrCase { name: "ISR of one commits the leader's LEO (testRetryShrinkIsr, after the shrink)", leader_log_end_offset: 10, followers: &[], expected: 10 },
        IsrCase { name: "a follower with unknown offset holds it (testMaybeShrinkIsr, before any fetch)", leader_log_end_offset: 10, followers: &[10, UNKNOWN_OFFSET], expected: UNKNOWN_OFFSET },
        IsrCase { name: "the slowest ISR member decides", leader_log_end_offset: 10, followers: &[10, 3], expected: 3 },
        IsrCase { name: "everyone caught up", leader_log_end_offset: 10, followers: &[10, 10], expected: 10 },
        IsrCase { name: "follower fetched the first batch (testFollowerDoesNotJoinISR...)", leader_log_end_offset: 5, followers: &[1], expected: 1 },
    ];
    for c in cases {
        assert_eq!(
            isr_high_watermark(c.leader_log_end_offset, c.followers),
            c.expected,
            "case {}",
            c.name
        );
    }
}

struct MaximalCase {
    name: &'static str,
    committed: &'static [i32],
    proposed: Option<&'static [i32]>,
    expected: &'static [i32],
}

/// Reference: Kafka's `PartitionTest.scala` testIsrExpansion (maximalIsr includes the
/// replica being added before the controller answers), testMaybeShrinkIsr and
/// testRetryShrinkIsr (maximalIsr keeps the replica being removed until the shrink is
/// committed); `Partition.scala` `PendingExpandIsr` / `PendingShrinkIsr`.
#[test]
fn maximal_isr_table() {
    #[rustfmt::skip]
    let cases = [
        MaximalCase { name: "nothing in flight", committed: &[0, 1], proposed: None, expected: &[0, 1] },
        MaximalCase { name: "expansion in flight: the new replica counts", committed: &[0], proposed: Some(&[0, 1]), expected: &[0, 1] },
        MaximalCase { name: "shrink in flight: the removed replica still counts", committed: &[0, 1, 2], proposed: Some(&[0, 1]), expected: &[0, 1, 2] },
        MaximalCase { name: "unsorted input", committed: &[2, 0], proposed: Some(&[2, 1, 0]), expected: &[0, 1, 2] },
    ];
    for c in cases {
        assert_eq!(
            maximal_isr(c.committed, c.proposed),
            c.expected,
            "case {}",
            c.name
        );
    }
}

/// The maximal-ISR rule end to end: leader 0 at 10; replica 1 (being added) at 4 holds the
/// high watermark at 4; in a shrink of replica 2 (at 3) from {0, 1, 2}, replica 2 holds it
/// at 3 until the controller commits the shrink.
/// Reference: Kafka's `PartitionTest.scala` testMaybeShrinkIsr ("After the ISR shrink
/// completes ... the high watermark should be advanced").
#[test]
fn maximal_isr_holds_the_high_watermark() {
    let leo = |b: i32| [10, 4, 3][b as usize];
    let hw = |isr: &[i32], proposed: Option<&[i32]>| {
        let followers: Vec<i64> = maximal_isr(isr, proposed)
            .into_iter()
            .filter(|b| *b != 0)
            .map(leo)
            .collect();
        isr_high_watermark(10, &followers)
    };
    assert_eq!(hw(&[0], None), 10, "leader alone");
    assert_eq!(hw(&[0], Some(&[0, 1])), 4, "replica 1 being added");
    assert_eq!(hw(&[0, 1, 2], Some(&[0, 1])), 3, "replica 2 being removed");
    assert_eq!(hw(&[0, 1], None), 4, "shrink committed");
}

/// Reference: Kafka's `PartitionTest.scala`
/// testHighWatermarkIncreasesWithFencedOrShutdownFollower ("fenced", "shutdown",
/// "unfenced": a caught-up follower outside the ISR holds the HW unless it is ineligible).
#[test]
fn who_counts_table() {
    let cases = [
        ("in the maximal ISR", true, false, false, true),
        (
            "outside, caught up, eligible (unfenced)",
            false,
            true,
            true,
            true,
        ),
        (
            "outside, caught up, fenced or shutting down",
            false,
            true,
            false,
            false,
        ),
        ("outside, lagging", false, false, true, false),
    ];
    for (name, in_isr, caught_up, eligible, expected) in cases {
        assert_eq!(
            counts_toward_high_watermark(in_isr, caught_up, eligible),
            expected,
            "case {name}"
        );
    }
}

/// Reference: Kafka's `PartitionTest.scala` testIsUnderMinIsr, testAtMinIsr,
/// testHighWatermarkAdvanceShouldNotAdvanceWhenUnderMinISR.
#[test]
fn under_min_isr_table() {
    let cases = [
        ("testIsUnderMinIsr: ISR 2 of 2, min 2", 2, 2, 2, false),
        ("testIsUnderMinIsr: ISR 1 of 2, min 2", 1, 2, 2, true),
        ("testAtMinIsr: ISR 1 of 3, min 1", 1, 1, 3, false),
        (
            "testHighWatermarkAdvanceShouldNotAdvanceWhenUnderMinISR: ISR 2, min 3",
            2,
            3,
            3,
            true,
        ),
        ("min above the replication factor is capped", 2, 3, 2, false),
    ];
    for (name, isr, min, replicas, expected) in cases {
        assert_eq!(
            is_under_min_isr(isr, min, replicas),
            expected,
            "case {name}"
        );
    }
}

struct RaftCase {
    name: &'static str,
    voters: &'static [i64],
    epoch_start_offset: i64,
    expected: Option<i64>,
}

/// Reference: Kafka's `LeaderStateTest.java` testUpdateHighWatermarkQuorumSizeOne,
/// testUpdateHighWatermarkQuorumSizeTwo, testUpdateHighWatermarkQuorumSizeThree
/// (the leader's end offset first; epoch start offsets 15, 10 and 10 as in the tests).
#[test]
fn raft_high_watermark_table() {
    const U: i64 = UNKNOWN_OFFSET;
    #[rustfmt::skip]
    let cases = [
        RaftCase { name: "QuorumSizeOne: end at the epoch start, nothing of this epoch", voters: &[15], epoch_start_offset: 15, expected: None },
        RaftCase { name: "QuorumSizeOne: one record of this epoch", voters: &[16], epoch_start_offset: 15, expected: Some(16) },
        RaftCase { name: "QuorumSizeOne: more", voters: &[20], epoch_start_offset: 15, expected: Some(20) },
        RaftCase { name: "QuorumSizeTwo: follower unknown", voters: &[13, U], epoch_start_offset: 10, expected: None },
        RaftCase { name: "QuorumSizeTwo: follower at the epoch start", voters: &[13, 10], epoch_start_offset: 10, expected: None },
        RaftCase { name: "QuorumSizeTwo: follower past it", voters: &[13, 11], epoch_start_offset: 10, expected: Some(11) },
        RaftCase { name: "QuorumSizeTwo: follower caught up", voters: &[13, 13], epoch_start_offset: 10, expected: Some(13) },
        RaftCase { name: "QuorumSizeThree: both followers unknown", voters: &[15, U, U], epoch_start_offset: 10, expected: None },
        RaftCase { name: "QuorumSizeThree: both at the epoch start", voters: &[15, 10, 10], epoch_start_offset: 10, expected: None },
        RaftCase { name: "QuorumSizeThree: one follower caught up is a majority", voters: &[15, 10, 15], epoch_start_offset: 10, expected: Some(15) },
        RaftCase { name: "QuorumSizeThree: the leader alone moving on counts for nothing", voters: &[20, 10, 15], epoch_start_offset: 10, expected: Some(15) },
        RaftCase { name: "QuorumSizeThree: a second voter reaches 20", voters: &[20, 20, 15], epoch_start_offset: 10, expected: Some(20) },
        RaftCase { name: "five voters: the third highest", voters: &[30, 25, 20, 12, U], epoch_start_offset: 10, expected: Some(20) },
        RaftCase { name: "five voters: two unknown, one behind", voters: &[30, 25, 5, U, U], epoch_start_offset: 4, expected: Some(5) },
        RaftCase { name: "five voters: no majority past the epoch start", voters: &[30, 25, 5, U, U], epoch_start_offset: 5, expected: None },
    ];
    for c in cases {
        assert_eq!(
            raft_high_watermark(c.voters, c.epoch_start_offset),
            c.expected,
            "case {}",
            c.name
        );
    }
}

proptest! {
    /// The ISR high watermark is at most the leader's log end offset and at most every
    /// counted follower's offset, and it equals one of them.
    #[test]
    fn isr_high_watermark_is_a_lower_bound(leo in 0i64..100, followers in prop::collection::vec(-1i64..100, 0..5)) {
        let hw = isr_high_watermark(leo, &followers);
        prop_assert!(hw <= leo);
        prop_assert!(followers.iter().all(|f| hw <= *f));
        prop_assert!(hw == leo || followers.contains(&hw));
    }

    /// A KRaft high watermark is past the epoch start and held by a majority.
    #[test]
    fn raft_high_watermark_is_held_by_a_majority(voters in prop::collection::vec(-1i64..100, 1..8), start in 0i64..100) {
        if let Some(hw) = raft_high_watermark(&voters, start) {
            prop_assert!(hw > start);
            prop_assert!(voters.iter().filter(|v| **v >= hw).count() >= majority(voters.len()));
        }
    }
}
