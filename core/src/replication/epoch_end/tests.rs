use super::*;
use proptest::prelude::*;

const U: i32 = UNDEFINED_EPOCH;
const UO: i64 = UNDEFINED_EPOCH_OFFSET;

/// An epoch history from `(epoch, start_offset)` entries, as `EpochCache::assign` keeps them.
pub(crate) fn history(entries: &[(i32, i64)]) -> EpochCache {
    let mut cache = EpochCache::new();
    for (epoch, start) in entries {
        cache.assign(*epoch, *start);
    }
    cache
}

struct EndCase {
    name: &'static str,
    history: &'static [(i32, i64)],
    log_end_offset: i64,
    requested: i32,
    expected: (i32, i64),
}

/// Reference: Kafka's `LeaderEpochFileCacheTest.scala`, every `endOffsetFor` case, with the
/// histories as those tests' `assign` calls leave them. This table is also the check that the
/// project's `EpochCache::end_offset_for` answers as Kafka does.
#[test]
fn leader_epoch_end_offset_table() {
    #[rustfmt::skip]
    let cases = [
        EndCase { name: "shouldAddEpochAndMessageOffsetToCache", history: &[(2, 10)], log_end_offset: 11, requested: 2, expected: (2, 11) },
        EndCase { name: "shouldReturnLogEndOffsetIfLatestEpochRequested", history: &[(2, 11), (2, 12)], log_end_offset: 14, requested: 2, expected: (2, 14) },
        EndCase { name: "shouldReturnUndefinedOffsetIfUndefinedEpochRequested", history: &[(2, 11), (3, 12)], log_end_offset: 0, requested: U, expected: (U, UO) },
        EndCase { name: "shouldReturnUnsupportedIfNoEpochRecorded", history: &[], log_end_offset: 0, requested: 0, expected: (U, UO) },
        EndCase { name: "shouldReturnUnsupportedIfNoEpochRecordedAndUndefinedEpochRequested", history: &[], log_end_offset: 73, requested: U, expected: (U, UO) },
        EndCase { name: "shouldReturnFirstEpochIfRequestedEpochLessThanFirstEpoch", history: &[(5, 11), (6, 12), (7, 13)], log_end_offset: 0, requested: 4, expected: (4, 11) },
        // Kafka's assign(7, 12) after (7, 13) drops (6, 12) and (7, 13); EpochCache ignores a
        // repeated epoch, so the resulting history is built directly.
        EndCase { name: "shouldTruncateIfMatchingEpochButEarlierStartingOffset (5)", history: &[(5, 11), (7, 12)], log_end_offset: 0, requested: 5, expected: (5, 12) },
        EndCase { name: "shouldTruncateIfMatchingEpochButEarlierStartingOffset (6)", history: &[(5, 11), (7, 12)], log_end_offset: 0, requested: 6, expected: (5, 12) },
        EndCase { name: "shouldGetFirstOffsetOfSubsequentEpochWhenOffsetRequestedForPreviousEpoch", history: &[(1, 11), (1, 12), (2, 13), (2, 14), (3, 15), (3, 16)], log_end_offset: 17, requested: 2, expected: (2, 15) },
        EndCase { name: "shouldReturnNextAvailableEpochIfThereIsNoExactEpochForTheOneRequested (1)", history: &[(0, 10), (2, 13), (4, 17)], log_end_offset: 0, requested: 1, expected: (0, 13) },
        EndCase { name: "shouldReturnNextAvailableEpochIfThereIsNoExactEpochForTheOneRequested (2)", history: &[(0, 10), (2, 13), (4, 17)], log_end_offset: 0, requested: 2, expected: (2, 17) },
        EndCase { name: "shouldReturnNextAvailableEpochIfThereIsNoExactEpochForTheOneRequested (3)", history: &[(0, 10), (2, 13), (4, 17)], log_end_offset: 0, requested: 3, expected: (2, 17) },
        EndCase { name: "shouldReturnInvalidOffsetIfEpochIsRequestedWhichIsNotCurrentlyTracked", history: &[(2, 100)], log_end_offset: 100, requested: 3, expected: (U, UO) },
        EndCase { name: "shouldSupportEpochsThatDoNotStartFromZero", history: &[(2, 6)], log_end_offset: 7, requested: 2, expected: (2, 7) },
        EndCase { name: "shouldFetchEndOffsetOfEmptyCache", history: &[], log_end_offset: 0, requested: 7, expected: (U, UO) },
        EndCase { name: "shouldIncreaseAndTrackEpochsAsLeadersChangeManyTimes (1 at 0)", history: &[(0, 0), (1, 0)], log_end_offset: 0, requested: 1, expected: (1, 0) },
        EndCase { name: "shouldIncreaseAndTrackEpochsAsLeadersChangeManyTimes (0 at 0)", history: &[(0, 0), (1, 0)], log_end_offset: 0, requested: 0, expected: (0, 0) },
        EndCase { name: "shouldIncreaseAndTrackEpochsAsLeadersChangeManyTimes (1 at 5)", history: &[(0, 0), (1, 0)], log_end_offset: 5, requested: 1, expected: (1, 5) },
        EndCase { name: "shouldIncreaseAndTrackEpochsAsLeadersChangeManyTimes (2 at 10)", history: &[(0, 0), (1, 0), (2, 5)], log_end_offset: 10, requested: 2, expected: (2, 10) },
        EndCase { name: "shouldIncreaseAndTrackEpochsAsLeadersChangeManyTimes (1 at 10)", history: &[(0, 0), (1, 0), (2, 5)], log_end_offset: 10, requested: 1, expected: (1, 5) },
        EndCase { name: "shouldIncreaseAndTrackEpochsAsLeadersChangeManyTimes (0 at 10)", history: &[(0, 0), (1, 0), (2, 5)], log_end_offset: 10, requested: 0, expected: (0, 0) },
    ];
    for c in cases {
        let answer = leader_epoch_end_offset(&history(c.history), c.requested, c.log_end_offset);
        assert_eq!(
            (answer.epoch, answer.end_offset),
            c.expected,
            "case {}",
            c.name
        );
    }
}

/// Reference: Kafka 1.1's `LeaderEpochFileCacheTest.scala` (before KAFKA-6361 / KIP-279,
/// commit 9679c44d2b5^): shouldReturnUnsupportedIfRequestedEpochLessThanFirstEpoch,
/// shouldGetFirstOffsetOfSubsequentEpochWhenOffsetRequestedForPreviousEpoch,
/// shouldReturnNextAvailableEpochIfThereIsNoExactEpochForTheOneRequested,
/// shouldReturnInvalidOffsetIfEpochIsRequestedWhichIsNotCurrentlyTracked,
/// shouldReturnLogEndOffsetIfLatestEpochRequested, shouldReturnUndefinedOffsetIfUndefinedEpochRequested.
#[test]
fn legacy_epoch_end_offset_table() {
    #[rustfmt::skip]
    let cases = [
        EndCase { name: "shouldReturnUnsupportedIfRequestedEpochLessThanFirstEpoch", history: &[(5, 11), (6, 12), (7, 13)], log_end_offset: 14, requested: 4, expected: (U, UO) },
        EndCase { name: "shouldGetFirstOffsetOfSubsequentEpochWhenOffsetRequestedForPreviousEpoch", history: &[(1, 11), (2, 13), (3, 15)], log_end_offset: 17, requested: 2, expected: (U, 15) },
        EndCase { name: "shouldReturnNextAvailableEpochIfThereIsNoExactEpochForTheOneRequested", history: &[(0, 10), (2, 13), (4, 17)], log_end_offset: 20, requested: 1, expected: (U, 13) },
        EndCase { name: "shouldReturnInvalidOffsetIfEpochIsRequestedWhichIsNotCurrentlyTracked", history: &[(2, 100)], log_end_offset: 100, requested: 3, expected: (U, UO) },
        EndCase { name: "shouldReturnLogEndOffsetIfLatestEpochRequested", history: &[(2, 11)], log_end_offset: 14, requested: 2, expected: (U, 14) },
        EndCase { name: "shouldReturnUndefinedOffsetIfUndefinedEpochRequested", history: &[(2, 11), (3, 12)], log_end_offset: 14, requested: U, expected: (U, UO) },
    ];
    for c in cases {
        let end = legacy_epoch_end_offset(&history(c.history), c.requested, c.log_end_offset);
        assert_eq!(end, c.expected.1, "case {}", c.name);
    }
}

/// KIP-279's problem in one history. The leader never had epoch 1: its epoch 0 ran to offset
/// 5, epoch 2 followed. The follower led briefly in epoch 1 from offset 3 (records nobody else
/// got). Asked about epoch 1, the pre-KIP-279 leader says "5" and the follower keeps offsets 3
/// and 4 of epoch 1, which the leader holds as different records of epoch 0: the logs stay
/// diverged. The KIP-279 leader says "(0, 5)": the follower cuts to the end of *its* epoch 0,
/// offset 3 (see `truncation.rs`).
/// Reference: KIP-279 (Kafka 2.0), "Fix log divergence between leader and follower after fast
/// leader fail over"; kafka-semantics.md R3.
#[test]
fn kip_279_motivating_case() {
    let leader = history(&[(0, 0), (2, 5)]);
    assert_eq!(legacy_epoch_end_offset(&leader, 1, 8), 5);
    assert_eq!(
        leader_epoch_end_offset(&leader, 1, 8),
        EpochEndOffset::new(0, 5)
    );
}

struct KraftCase {
    name: &'static str,
    history: &'static [(i32, i64)],
    log_end_offset: i64,
    requested: i32,
    expected: EpochEndOffset,
}

/// Reference: Kafka's `KafkaMetadataLog.scala` endOffsetForEpoch (the `None` branch answers
/// the log end and the last fetched epoch) and `KafkaMetadataLogTest.scala`.
#[test]
fn kraft_epoch_end_offset_table() {
    #[rustfmt::skip]
    let cases = [
        KraftCase { name: "a known epoch", history: &[(1, 0), (3, 7)], log_end_offset: 9, requested: 1, expected: EpochEndOffset::new(1, 7) },
        KraftCase { name: "the latest epoch", history: &[(1, 0), (3, 7)], log_end_offset: 9, requested: 3, expected: EpochEndOffset::new(3, 9) },
        KraftCase { name: "an epoch above the latest: the log end", history: &[(1, 0), (3, 7)], log_end_offset: 9, requested: 4, expected: EpochEndOffset::new(3, 9) },
        KraftCase { name: "an empty log: the primordial epoch 0", history: &[], log_end_offset: 0, requested: 2, expected: EpochEndOffset::new(0, 0) },
    ];
    for c in cases {
        assert_eq!(
            kraft_epoch_end_offset(&history(c.history), c.requested, c.log_end_offset),
            c.expected,
            "case {}",
            c.name
        );
    }
}

struct FetchCase {
    name: &'static str,
    history: &'static [(i32, i64)],
    log_start_offset: i64,
    log_end_offset: i64,
    fetch_offset: i64,
    last_fetched_epoch: Option<i32>,
    expected: FetchCheck,
}

/// Reference: Kafka's `PartitionTest.scala` testLastFetchedOffsetValidation (every read of
/// it: a leader in epoch 10 whose log holds epochs 0, 3, 4, 7 and 9, log end 17; then with the
/// log start moved to 5 and to 10), `AbstractFetcherThreadTest.scala` testDivergingEpochs and
/// testTruncation (their leader logs, one record per batch).
#[test]
fn check_fetch_table() {
    use FetchCheck::*;
    const VALIDATION: &[(i32, i64)] = &[(0, 0), (3, 2), (4, 8), (7, 13), (9, 14), (10, 17)];
    const FROM_5: &[(i32, i64)] = &[(3, 5), (4, 8), (7, 13), (9, 14), (10, 17)];
    const FROM_10: &[(i32, i64)] = &[(4, 10), (7, 13), (9, 14), (10, 17)];
    const fn d(epoch: i32, end_offset: i64) -> FetchCheck {
        Diverging(EpochEndOffset::new(epoch, end_offset))
    }
    const DIVERGING_LEADER: &[(i32, i64)] = &[(0, 0), (2, 1), (5, 2)];
    const TRUNCATION_LEADER: &[(i32, i64)] = &[(1, 0), (3, 1), (5, 2)];
    #[rustfmt::skip]
    let cases = [
        FetchCase { name: "testLastFetchedOffsetValidation: read(2, 5)", history: VALIDATION, log_start_offset: 0, log_end_offset: 17, fetch_offset: 5, last_fetched_epoch: Some(2), expected: d(0, 2) },
        FetchCase { name: "testLastFetchedOffsetValidation: read(0, 4)", history: VALIDATION, log_start_offset: 0, log_end_offset: 17, fetch_offset: 4, last_fetched_epoch: Some(0), expected: d(0, 2) },
        FetchCase { name: "testLastFetchedOffsetValidation: read(6, 6)", history: VALIDATION, log_start_offset: 0, log_end_offset: 17, fetch_offset: 6, last_fetched_epoch: Some(6), expected: d(4, 13) },
        FetchCase { name: "testLastFetchedOffsetValidation: read(5, 9)", history: VALIDATION, log_start_offset: 0, log_end_offset: 17, fetch_offset: 9, last_fetched_epoch: Some(5), expected: d(4, 13) },
        FetchCase { name: "testLastFetchedOffsetValidation: read(10, 18)", history: VALIDATION, log_start_offset: 0, log_end_offset: 17, fetch_offset: 18, last_fetched_epoch: Some(10), expected: d(10, 17) },
        FetchCase { name: "testLastFetchedOffsetValidation: read(0, 2)", history: VALIDATION, log_start_offset: 0, log_end_offset: 17, fetch_offset: 2, last_fetched_epoch: Some(0), expected: Consistent },
        FetchCase { name: "testLastFetchedOffsetValidation: read(7, 14)", history: VALIDATION, log_start_offset: 0, log_end_offset: 17, fetch_offset: 14, last_fetched_epoch: Some(7), expected: Consistent },
        FetchCase { name: "testLastFetchedOffsetValidation: read(9, 17)", history: VALIDATION, log_start_offset: 0, log_end_offset: 17, fetch_offset: 17, last_fetched_epoch: Some(9), expected: Consistent },
        FetchCase { name: "testLastFetchedOffsetValidation: read(10, 17)", history: VALIDATION, log_start_offset: 0, log_end_offset: 17, fetch_offset: 17, last_fetched_epoch: Some(10), expected: Consistent },
        FetchCase { name: "testLastFetchedOffsetValidation: read(11, 5), an epoch above the leader's", history: VALIDATION, log_start_offset: 0, log_end_offset: 17, fetch_offset: 5, last_fetched_epoch: Some(11), expected: OffsetOutOfRange },
        FetchCase { name: "testLastFetchedOffsetValidation: start 5, read(2, 8)", history: FROM_5, log_start_offset: 5, log_end_offset: 17, fetch_offset: 8, last_fetched_epoch: Some(2), expected: d(2, 5) },
        FetchCase { name: "testLastFetchedOffsetValidation: start 5, read(0, 5)", history: FROM_5, log_start_offset: 5, log_end_offset: 17, fetch_offset: 5, last_fetched_epoch: Some(0), expected: Consistent },
        FetchCase { name: "testLastFetchedOffsetValidation: start 5, read(3, 5)", history: FROM_5, log_start_offset: 5, log_end_offset: 17, fetch_offset: 5, last_fetched_epoch: Some(3), expected: Consistent },
        FetchCase { name: "testLastFetchedOffsetValidation: start 5, read(0, 0)", history: FROM_5, log_start_offset: 5, log_end_offset: 17, fetch_offset: 0, last_fetched_epoch: Some(0), expected: OffsetOutOfRange },
        FetchCase { name: "testLastFetchedOffsetValidation: start 10, read(5, 6), diverging", history: FROM_10, log_start_offset: 10, log_end_offset: 17, fetch_offset: 6, last_fetched_epoch: Some(5), expected: OffsetOutOfRange },
        FetchCase { name: "testLastFetchedOffsetValidation: start 10, read(3, 6), not diverging", history: FROM_10, log_start_offset: 10, log_end_offset: 17, fetch_offset: 6, last_fetched_epoch: Some(3), expected: OffsetOutOfRange },
        FetchCase { name: "testDivergingEpochs: follower's epoch 4 unknown to the leader", history: DIVERGING_LEADER, log_start_offset: 0, log_end_offset: 3, fetch_offset: 3, last_fetched_epoch: Some(4), expected: Diverging(EpochEndOffset::new(2, 2)) },
        FetchCase { name: "testDivergingEpochs: after truncating to 2, epoch 2", history: DIVERGING_LEADER, log_start_offset: 0, log_end_offset: 3, fetch_offset: 2, last_fetched_epoch: Some(2), expected: Consistent },
        FetchCase { name: "testTruncation: first fetch", history: TRUNCATION_LEADER, log_start_offset: 0, log_end_offset: 3, fetch_offset: 3, last_fetched_epoch: Some(4), expected: Diverging(EpochEndOffset::new(3, 2)) },
        FetchCase { name: "testTruncation: epoch 0 older than the leader's first", history: TRUNCATION_LEADER, log_start_offset: 0, log_end_offset: 3, fetch_offset: 1, last_fetched_epoch: Some(0), expected: Diverging(EpochEndOffset::new(0, 0)) },
        FetchCase { name: "a follower in sync with the current epoch", history: DIVERGING_LEADER, log_start_offset: 0, log_end_offset: 3, fetch_offset: 3, last_fetched_epoch: Some(5), expected: Consistent },
        FetchCase { name: "a follower behind within a shared epoch", history: DIVERGING_LEADER, log_start_offset: 0, log_end_offset: 3, fetch_offset: 1, last_fetched_epoch: Some(0), expected: Consistent },
        FetchCase { name: "same epoch, but longer than the leader's epoch", history: DIVERGING_LEADER, log_start_offset: 0, log_end_offset: 3, fetch_offset: 4, last_fetched_epoch: Some(2), expected: Diverging(EpochEndOffset::new(2, 2)) },
        FetchCase { name: "no last fetched epoch: nothing to compare", history: DIVERGING_LEADER, log_start_offset: 0, log_end_offset: 3, fetch_offset: 3, last_fetched_epoch: None, expected: Consistent },
        FetchCase { name: "an epoch newer than the leader knows", history: DIVERGING_LEADER, log_start_offset: 0, log_end_offset: 3, fetch_offset: 3, last_fetched_epoch: Some(6), expected: OffsetOutOfRange },
        FetchCase { name: "a leader with no epoch history", history: &[], log_start_offset: 0, log_end_offset: 0, fetch_offset: 3, last_fetched_epoch: Some(1), expected: OffsetOutOfRange },
        FetchCase { name: "below the log start, diverging or not", history: DIVERGING_LEADER, log_start_offset: 2, log_end_offset: 3, fetch_offset: 1, last_fetched_epoch: Some(4), expected: OffsetOutOfRange },
    ];
    let mut moved = history(VALIDATION);
    moved.truncate_from_start(5);
    assert_eq!(moved, history(FROM_5), "the log start moved to 5");
    moved.truncate_from_start(10);
    assert_eq!(moved, history(FROM_10), "the log start moved to 10");
    for c in cases {
        assert_eq!(
            check_fetch(
                &history(c.history),
                c.log_start_offset,
                c.log_end_offset,
                c.fetch_offset,
                c.last_fetched_epoch
            ),
            c.expected,
            "case {}",
            c.name
        );
    }
}

/// Reference: Kafka's `KafkaMetadataLogTest.scala` testValidateEpochGreaterThanLastKnownEpoch,
/// testValidateOffsetGreatThanEndOffset, testValidateOffsetLessThanLEO,
/// testValidateValidEpochAndOffset (the cases without snapshots; `ReplicatedLog.java`
/// validateOffsetAndEpoch), and `KafkaRaftClientTest.java` testLeaderImmediatelySendsDivergingEpoch
/// (epochs 1, 3, 5 of three records each, then the leader's own epoch 6 starting at 9).
#[test]
fn check_kraft_fetch_table() {
    use FetchCheck::*;
    let cases = [
        ("the primordial fetch", &[][..], 0, 0, 0, Consistent),
        (
            "testLeaderImmediatelySendsDivergingEpoch",
            &[(1, 0), (3, 3), (5, 6), (6, 9)][..],
            10,
            6,
            2,
            Diverging(EpochEndOffset::new(1, 3)),
        ),
        (
            "testValidateEpochGreaterThanLastKnownEpoch",
            &[(1, 0)][..],
            1,
            1,
            2,
            Diverging(EpochEndOffset::new(1, 1)),
        ),
        (
            "testValidateOffsetGreatThanEndOffset",
            &[(1, 0)][..],
            1,
            2,
            1,
            Diverging(EpochEndOffset::new(1, 1)),
        ),
        (
            "testValidateOffsetLessThanLEO",
            &[(1, 0), (2, 10)][..],
            20,
            11,
            1,
            Diverging(EpochEndOffset::new(1, 10)),
        ),
        (
            "testValidateValidEpochAndOffset",
            &[(1, 0)][..],
            5,
            4,
            1,
            Consistent,
        ),
        (
            "an epoch the leader never wrote",
            &[(1, 0), (3, 7)][..],
            9,
            8,
            2,
            Diverging(EpochEndOffset::new(1, 7)),
        ),
    ];
    for (name, entries, leo, fetch_offset, epoch, expected) in cases {
        assert_eq!(
            check_kraft_fetch(&history(entries), 0, leo, fetch_offset, epoch),
            expected,
            "case {name}"
        );
    }
}

fn histories() -> impl Strategy<Value = (EpochCache, i64)> {
    prop::collection::vec((0i32..4, 0i64..5), 0..6).prop_map(|steps| {
        // Increasing epochs and start offsets, as a real log's history is.
        let mut cache = EpochCache::new();
        let (mut epoch, mut offset) = (-1, 0);
        for (de, dofs) in steps {
            epoch += de + 1;
            offset += dofs;
            cache.assign(epoch, offset);
        }
        (cache, offset + 3)
    })
}

proptest! {
    /// A defined answer never names an epoch above the one asked, ends no later than the log,
    /// and the fetch check never calls a fetch at the answer's own (epoch, end) diverging.
    #[test]
    fn answers_are_bounded((cache, leo) in histories(), requested in -1i32..20) {
        let answer = leader_epoch_end_offset(&cache, requested, leo);
        if !answer.is_undefined() {
            prop_assert!(answer.epoch <= requested);
            prop_assert!(answer.end_offset <= leo);
            if cache.entries().iter().any(|e| e.epoch == answer.epoch) {
                prop_assert_eq!(
                    check_fetch(&cache, 0, leo, answer.end_offset, Some(answer.epoch)),
                    FetchCheck::Consistent
                );
            }
        }
        let kraft = kraft_epoch_end_offset(&cache, requested.max(0), leo);
        prop_assert!(kraft.end_offset <= leo && kraft.end_offset >= 0);
    }
}
