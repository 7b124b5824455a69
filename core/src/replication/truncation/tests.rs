use super::*;
use crate::replication::epoch_end::{FetchCheck, check_fetch, leader_epoch_end_offset};
use crate::replication::epoch_end::{legacy_epoch_end_offset, tests::history};
use proptest::prelude::*;

const U: i32 = UNDEFINED_EPOCH;
const UO: i64 = UNDEFINED_EPOCH_OFFSET;

struct Case {
    name: &'static str,
    leader: (i32, i64),
    history: &'static [(i32, i64)],
    log_end_offset: i64,
    high_watermark: i64,
    expected: Truncation,
}

const fn done(offset: i64) -> Truncation {
    Truncation {
        offset,
        complete: true,
    }
}

const fn again(offset: i64) -> Truncation {
    Truncation {
        offset,
        complete: false,
    }
}

/// Reference: Kafka's `ReplicaFetcherThreadTest.scala` (follower log end 200 everywhere, its
/// stubbed `endOffsetForEpoch` answers given by a history that answers the same):
/// shouldTruncateToOffsetSpecifiedInEpochOffsetResponse,
/// shouldTruncateToOffsetSpecifiedInEpochOffsetResponseIfFollowerHasNoMoreEpochs,
/// shouldFetchLeaderEpochSecondTimeIfLeaderRepliesWithEpochNotKnownToFollower,
/// shouldTruncateIfLeaderRepliesWithDivergingEpochNotKnownToFollower,
/// shouldUseLeaderEndOffsetIfInterBrokerVersionBelow20,
/// shouldTruncateToInitialFetchOffsetIfLeaderReturnsUndefinedOffset; and
/// `AbstractFetcherThread.scala` getOffsetTruncationState's doc comment.
#[test]
fn follower_truncation_table() {
    const FIVE: &[(i32, i64)] = &[(5, 0)];
    const THREE_THEN_FIVE: &[(i32, i64)] = &[(3, 0), (5, 120)];
    const NOT_KNOWN: &[(i32, i64)] = &[(1, 0), (2, 119), (4, 129), (5, 149)];
    #[rustfmt::skip]
    let cases = [
        Case { name: "shouldTruncateToOffsetSpecifiedInEpochOffsetResponse (t1p0)", leader: (5, 156), history: FIVE, log_end_offset: 200, high_watermark: 0, expected: done(156) },
        Case { name: "shouldTruncateToOffsetSpecifiedInEpochOffsetResponse (t2p1)", leader: (5, 172), history: FIVE, log_end_offset: 200, high_watermark: 0, expected: done(172) },
        Case { name: "...IfFollowerHasNoMoreEpochs: below the log end", leader: (4, 156), history: &[], log_end_offset: 200, high_watermark: 0, expected: done(156) },
        Case { name: "...IfFollowerHasNoMoreEpochs: beyond the log end", leader: (4, 202), history: &[], log_end_offset: 200, high_watermark: 0, expected: done(200) },
        Case { name: "shouldFetchLeaderEpochSecondTime...: epoch 4 unknown here (t1p0)", leader: (4, 155), history: THREE_THEN_FIVE, log_end_offset: 200, high_watermark: 0, expected: again(120) },
        Case { name: "shouldFetchLeaderEpochSecondTime...: epoch 4 unknown here (t1p1)", leader: (4, 143), history: THREE_THEN_FIVE, log_end_offset: 200, high_watermark: 0, expected: again(120) },
        Case { name: "shouldFetchLeaderEpochSecondTime...: second answer (t1p0)", leader: (3, 101), history: &[(3, 0)], log_end_offset: 120, high_watermark: 0, expected: done(101) },
        Case { name: "shouldFetchLeaderEpochSecondTime...: second answer (t1p1)", leader: (3, 102), history: &[(3, 0)], log_end_offset: 120, high_watermark: 0, expected: done(102) },
        Case { name: "shouldTruncateIfLeaderRepliesWithDivergingEpochNotKnownToFollower (t1p0)", leader: (4, 140), history: NOT_KNOWN, log_end_offset: 200, high_watermark: 0, expected: done(140) },
        Case { name: "shouldTruncateIfLeaderRepliesWithDivergingEpochNotKnownToFollower (t1p1)", leader: (4, 141), history: NOT_KNOWN, log_end_offset: 200, high_watermark: 0, expected: done(141) },
        Case { name: "shouldUseLeaderEndOffsetIfInterBrokerVersionBelow20 (t1p0)", leader: (U, 155), history: THREE_THEN_FIVE, log_end_offset: 200, high_watermark: 198, expected: done(155) },
        Case { name: "shouldUseLeaderEndOffsetIfInterBrokerVersionBelow20 (t1p1)", leader: (U, 143), history: THREE_THEN_FIVE, log_end_offset: 200, high_watermark: 198, expected: done(143) },
        Case { name: "shouldTruncateToInitialFetchOffsetIfLeaderReturnsUndefinedOffset", leader: (U, UO), history: FIVE, log_end_offset: 200, high_watermark: 100, expected: done(100) },
        Case { name: "the follower's epoch ends first (KIP-279's min)", leader: (0, 5), history: &[(0, 0), (1, 3)], log_end_offset: 6, high_watermark: 3, expected: done(3) },
    ];
    for c in cases {
        let leader = EpochEndOffset::new(c.leader.0, c.leader.1);
        assert_eq!(
            follower_truncation(
                leader,
                &history(c.history),
                c.log_end_offset,
                c.high_watermark
            ),
            c.expected,
            "case {}",
            c.name
        );
    }
}

/// Fetch, check, truncate, until the leader serves records: the truncation offsets on the way
/// and the follower's last epoch at the end.
fn reconcile(
    leader: &[(i32, i64)],
    leader_leo: i64,
    follower: &[(i32, i64)],
    leo: i64,
) -> (Vec<i64>, Option<i32>) {
    let leader = history(leader);
    let (mut follower, mut leo) = (history(follower), leo);
    let mut cuts = Vec::new();
    while let FetchCheck::Diverging(answer) =
        check_fetch(&leader, 0, leader_leo, leo, follower.latest_epoch())
    {
        let cut = follower_truncation(answer, &follower, leo, 0);
        assert!(cuts.len() < 20, "no convergence: {cuts:?}");
        cuts.push(cut.offset);
        leo = cut.offset;
        follower.truncate_from_end(leo);
    }
    (cuts, follower.latest_epoch())
}

/// Reference: Kafka's `AbstractFetcherThreadTest.scala` testTruncation (no record in common:
/// the follower cuts to 2, 1, then 0, asking again each time it did not know the leader's
/// epoch) and testDivergingEpochs (one cut to 2; verifyLastFetchedEpoch(partition, Some(2))).
#[test]
fn fetcher_reconciles_with_the_leader() {
    let follower = &[(0, 0), (2, 1), (4, 2)];
    assert_eq!(
        reconcile(&[(1, 0), (3, 1), (5, 2)], 3, follower, 3),
        (vec![2, 1, 0], None),
        "case testTruncation"
    );
    assert_eq!(
        reconcile(&[(0, 0), (2, 1), (5, 2)], 3, follower, 3),
        (vec![2], Some(2)),
        "case testDivergingEpochs"
    );
}

/// KIP-279's problem end to end (see `epoch_end` tests): the leader's epoch 0 runs to 5 and it
/// never had epoch 1; the follower wrote epoch 1 from offset 3. Before the fix the follower
/// cuts to 5 and keeps its offsets 3 and 4, records the leader holds differently; with it,
/// the follower cuts to 3. Reference: KIP-279; kafka-semantics.md R3.
#[test]
fn kip_279_truncates_to_the_smaller_end() {
    let leader = history(&[(0, 0), (2, 5)]);
    let follower = history(&[(0, 0), (1, 3)]);
    let legacy = legacy_follower_truncation(legacy_epoch_end_offset(&leader, 1, 8), 6, 3);
    assert_eq!(legacy, 5, "case pre-KIP-279: a divergent suffix survives");
    let answer = leader_epoch_end_offset(&leader, 1, 8);
    assert_eq!(
        follower_truncation(answer, &follower, 6, 3),
        done(3),
        "case KIP-279"
    );
}

/// Reference: Kafka 1.1's `ReplicaFetcherThread.maybeTruncate` (before KAFKA-6361) and its
/// `ReplicaFetcherThreadTest.scala` shouldTruncateToOffsetSpecifiedInEpochOffsetResponse,
/// shouldTruncateToInitialFetchOffsetIfLeaderReturnsUndefinedOffset.
#[test]
fn legacy_follower_truncation_table() {
    let cases = [
        ("the leader's offset", 156, 200, 0, 156),
        ("beyond the log end: nothing to cut", 202, 200, 0, 200),
        ("undefined: the high watermark", UO, 200, 100, 100),
    ];
    for (name, leader_end, leo, hw, expected) in cases {
        assert_eq!(
            legacy_follower_truncation(leader_end, leo, hw),
            expected,
            "case {name}"
        );
    }
}

/// Reference: Kafka's `KafkaRaftClientTest.java` testFollowerLogReconciliation (three records
/// of epoch 3, the leader says epoch 3 ends at 2) and `ReplicatedLog.java`
/// truncateToEndOffset's three branches.
#[test]
fn kraft_truncation_table() {
    let cases = [
        ("testFollowerLogReconciliation", (3, 2), &[(3, 0)][..], 3, 2),
        (
            "the primordial epoch: the leader's end",
            (0, 4),
            &[][..],
            6,
            4,
        ),
        (
            "the follower's epoch 1 ends first",
            (1, 5),
            &[(1, 0), (2, 3)][..],
            7,
            3,
        ),
        (
            "the follower never had epoch 2",
            (2, 6),
            &[(1, 0), (3, 4)][..],
            9,
            4,
        ),
        ("the leader's end first", (3, 5), &[(3, 0)][..], 9, 5),
    ];
    for (name, (epoch, end), entries, leo, expected) in cases {
        let diverging = EpochEndOffset::new(epoch, end);
        assert_eq!(
            kraft_truncation_offset(diverging, &history(entries), leo),
            expected,
            "case {name}"
        );
    }
}

fn histories() -> impl Strategy<Value = (Vec<(i32, i64)>, i64)> {
    prop::collection::vec((0i32..3, 0i64..4), 0..5).prop_map(|steps| {
        let (mut epoch, mut offset, mut entries) = (-1, 0, Vec::new());
        for (de, dofs) in steps {
            epoch += de + 1;
            offset += dofs;
            entries.push((epoch, offset));
        }
        (entries, offset + 2)
    })
}

proptest! {
    /// A truncation never cuts above the follower's log end, and a complete one with a
    /// defined leader answer never keeps anything past the leader's end.
    #[test]
    fn truncation_is_bounded((entries, leo) in histories(), epoch in -1i32..8, end in -1i64..12, hw_back in 0i64..3) {
        let hw = (leo - hw_back).max(0);
        let t = follower_truncation(EpochEndOffset::new(epoch, end), &history(&entries), leo, hw);
        prop_assert!(t.offset <= leo && t.offset >= 0);
        if t.complete && end >= 0 {
            prop_assert!(t.offset <= end);
        }
        if epoch >= 0 && end >= 0 {
            prop_assert!(kraft_truncation_offset(EpochEndOffset::new(epoch, end), &history(&entries), leo) <= leo);
        }
    }

    /// Fetch-time reconciliation always converges, and afterwards the leader serves the
    /// follower (its last epoch agrees with the leader's history at its log end).
    #[test]
    fn reconciliation_converges((leader, leader_leo) in histories(), (follower, leo) in histories()) {
        prop_assume!(!leader.is_empty());
        let (cuts, _) = reconcile(&leader, leader_leo, &follower, leo);
        prop_assert!(cuts.windows(2).all(|w| w[1] <= w[0]));
    }
}
