//! A partition replica as a state machine: becoming leader or follower, appends, the high
//! watermark over the ISR, the leader's check of a follower's fetch, truncation, and ISR
//! changes — each driven through `Partition`'s public methods with a plain [`Outbox`], and
//! checked on the answers and trace events. The tests mirror Kafka's `PartitionTest.scala`.

use super::*;
use crate::actor::Event;
use crate::node::Outbox;
use crate::testkit::{batch, log_image, traces};

/// Recovery that checks every batch, as after a crash with no recovery-point checkpoint.
const FULL_SCAN: RecoveryStart = RecoveryStart::RecoveryPoint(0);

type Vocab = crate::broker::Vocab;

fn tp() -> TopicPartition {
    TopicPartition::new("t", 0)
}

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

/// Broker 1's replica of `t-0`, recovered from a log written as `runs` (`(epoch, records)`,
/// one record per batch).
fn replica(runs: &[(i32, usize)]) -> Partition {
    let disk = log_image(&log_dir(&tp()), runs);
    let mut out = Outbox::<Vocab>::new();
    Partition::recover(
        tp(),
        &BrokerConfig::default(),
        &disk,
        0,
        FULL_SCAN,
        ms(0),
        out.writer(),
    )
}

fn state(leader: i32, leader_epoch: i32, replicas: &[i32], isr: &[i32]) -> PartitionState {
    PartitionState {
        replicas: replicas.to_vec(),
        isr: isr.to_vec(),
        leader,
        leader_epoch,
        partition_epoch: 0,
        eligible_leader_replicas: Vec::new(),
        last_known_elr: Vec::new(),
    }
}

/// The replication events in `out`.
fn replica_events(out: &Outbox<Vocab>) -> Vec<ReplicaEvent> {
    traces(out)
        .into_iter()
        .filter_map(|e| match e {
            Event::Replica(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// `replica.lag.time.max.ms` in these tests: the elapsed times of Kafka's tests assume 10 s.
const LAG_MAX: Duration = Duration::from_millis(10_000);

/// Append `records` records (one batch each) as leader.
fn produce(p: &mut Partition, records: usize) {
    let mut out = Outbox::<Vocab>::new();
    for _ in 0..records {
        p.append_as_leader(&batch(1), out.writer())
            .expect("the leader appends");
    }
}

/// A follower's fetch at `offset` at time `t_ms`; returns the ISR the leader asks for, if any.
fn fetch(p: &mut Partition, t_ms: u64, replica: i32, offset: i64) -> Option<Vec<i32>> {
    let mut out = Outbox::<Vocab>::new();
    let follower = BrokerState {
        broker_id: replica,
        broker_epoch: 1,
    };
    p.on_follower_fetch(ms(t_ms), follower, offset, true, out.writer())
}

/// Kafka's `testLastFetchedOffsetValidation` log: a leader in epoch 10 whose log holds epochs
/// 0, 3, 4, 7 and 9 — history `(0,0) (3,2) (4,8) (7,13) (9,14) (10,17)`, log end 17.
fn validation_leader() -> Partition {
    let mut p = replica(&[(0, 2), (3, 6), (4, 5), (7, 1), (9, 3)]);
    let mut out = Outbox::<Vocab>::new();
    p.become_leader(ms(0), &state(1, 10, &[1, 2], &[1, 2]), 1, out.writer());
    assert_eq!(p.log_end_offset(), 17);
    p
}

/// Reference: Kafka's `PartitionTest.scala` testLastFetchedOffsetValidation: the leader
/// answers a follower's fetch by where the follower's last epoch ends in its own log.
#[test]
fn the_leader_checks_a_follower_fetch_against_its_epochs() {
    let p = validation_leader();
    let diverging = |epoch, end| FetchCheck::Diverging(EpochEndOffset::new(epoch, end));
    #[rustfmt::skip]
    let cases = [
        // (last fetched epoch, fetch offset, expected)
        (2, 5, diverging(0, 2)),
        (0, 4, diverging(0, 2)),
        (6, 6, diverging(4, 13)),
        (5, 9, diverging(4, 13)),
        (10, 18, diverging(10, 17)),
        (0, 2, FetchCheck::Consistent),
        (7, 14, FetchCheck::Consistent),
        (9, 17, FetchCheck::Consistent),
        (10, 17, FetchCheck::Consistent),
        (-1, 17, FetchCheck::Consistent),
    ];
    for (epoch, offset, expected) in cases {
        assert_eq!(
            p.check_follower_fetch(epoch, offset, false),
            expected,
            "read({epoch}, {offset})"
        );
    }
}

/// Regression test (bug b). Reference: Kafka's `PartitionTest.scala`
/// testLastFetchedOffsetValidation, `read(lastFetchedEpoch = 11, fetchOffset = 5)`: an epoch
/// the leader cannot place is OFFSET_OUT_OF_RANGE. The broker used to answer it with a
/// diverging epoch `(-1, 0)`, which made the follower truncate its whole log.
#[test]
fn an_epoch_the_leader_cannot_place_is_offset_out_of_range() {
    let p = validation_leader();
    assert_eq!(
        p.check_follower_fetch(11, 5, false),
        FetchCheck::OffsetOutOfRange
    );
}

/// Reference: Kafka's `PartitionTest.scala` testMakeLeaderUpdatesEpochCache: a new leader
/// notes where its epoch starts before it appends, so that a follower asking about that epoch
/// learns it ends at the leader's log end.
#[test]
fn a_new_leader_notes_where_its_epoch_starts() {
    let mut p = replica(&[(0, 2), (5, 2)]);
    let mut out = Outbox::<Vocab>::new();
    p.become_leader(ms(0), &state(1, 8, &[1, 2], &[1, 2]), 1, out.writer());
    assert!(p.is_leader());
    assert_eq!(p.view().epochs, vec![(0, 0), (5, 2), (8, 4)]);
    let answer = epoch_end::leader_epoch_end_offset(p.log().epoch_cache(), 8, p.log_end_offset());
    assert_eq!(answer, EpochEndOffset::new(8, 4));
    let events = replica_events(&out);
    assert!(
        events.contains(&ReplicaEvent::LeaderEpochsChanged {
            partition: tp(),
            epochs: vec![(0, 0), (5, 2), (8, 4)],
        }),
        "{events:?}"
    );
    assert!(matches!(
        events.last(),
        Some(ReplicaEvent::ReplicaState {
            role: ReplicaRole::Leader,
            leader_epoch: 8,
            high_watermark: 0,
            ..
        })
    ));
}

/// A leader alone in its ISR commits what it has at once, and every append after (Kafka's
/// `maybeIncrementLeaderHW` with an ISR of one).
#[test]
fn a_lone_leader_commits_at_once() {
    let mut p = replica(&[(0, 3)]);
    let mut out = Outbox::<Vocab>::new();
    p.become_leader(ms(0), &state(1, 1, &[1], &[1]), 1, out.writer());
    assert_eq!(p.high_watermark(), 3);
    let mut out = Outbox::<Vocab>::new();
    p.append_as_leader(&batch(2), out.writer()).unwrap();
    assert_eq!(p.high_watermark(), 5);
    assert_eq!(
        replica_events(&out).last(),
        Some(&ReplicaEvent::HighWatermarkUpdated {
            partition: tp(),
            high_watermark: 5
        })
    );
}

/// A follower refuses nothing it is asked to append and follows the leader's high watermark
/// one fetch late, never beyond its own log end. Reference: Kafka's
/// `AbstractFetcherThreadTest.scala` testSimpleFetch (log end 2, high watermark 2).
#[test]
fn a_follower_takes_the_leaders_high_watermark_up_to_its_log_end() {
    let mut leader = replica(&[(0, 2)]);
    let mut out = Outbox::<Vocab>::new();
    leader.become_leader(ms(0), &state(1, 0, &[1], &[1]), 1, out.writer());
    let records = leader.read(0, usize::MAX, 2).unwrap();
    let mut follower = replica(&[]);
    follower.become_follower(&state(1, 0, &[1, 2], &[1, 2]), false, out.writer());
    let mut out = Outbox::<Vocab>::new();
    follower
        .append_as_follower(&records[..records.len() / 2], 2, out.writer())
        .unwrap();
    assert_eq!(
        (follower.log_end_offset(), follower.high_watermark()),
        (1, 1)
    );
    follower
        .append_as_follower(&records[records.len() / 2..], 2, out.writer())
        .unwrap();
    assert_eq!(
        (follower.log_end_offset(), follower.high_watermark()),
        (2, 2)
    );
    assert_eq!(follower.view().epochs, vec![(0, 0)]);
}

/// Reference: KIP-101 and kafka-semantics.md R1: before KIP-101 a replica that became
/// follower cut its log to its high watermark; since, it keeps everything and lets the leader
/// say where it diverges.
#[test]
fn only_a_pre_kip_101_follower_truncates_to_its_high_watermark() {
    for (legacy, expected_end) in [(false, 5), (true, 2)] {
        let disk = log_image(&log_dir(&tp()), &[(0, 5)]);
        let mut out = Outbox::<Vocab>::new();
        let config = BrokerConfig::default();
        let mut p = Partition::recover(tp(), &config, &disk, 2, FULL_SCAN, ms(0), out.writer());
        let mut out = Outbox::<Vocab>::new();
        p.become_follower(&state(2, 1, &[1, 2], &[1, 2]), legacy, out.writer());
        assert_eq!(p.log_end_offset(), expected_end, "legacy={legacy}");
        let truncated = replica_events(&out).into_iter().any(|e| {
            matches!(
                e,
                ReplicaEvent::ReplicaTruncated {
                    from: 5,
                    to: 2,
                    cause: TruncationCause::HighWatermarkOnBecomingFollower,
                    ..
                }
            )
        });
        assert_eq!(truncated, legacy);
    }
}

/// Reference: Kafka's `AbstractFetcherThreadTest.scala` testDivergingEpochs and
/// `ReplicaFetcherThreadTest.scala` (the follower's history against the leader's answer).
/// Leader `(0,0) (2,1) (5,2)`; follower `(0,0) (2,1) (4,2)`, log end 3: told "epoch 2 ends at
/// 2" it cuts to 2; told "epoch 3 ends at 2", an epoch it never had, it cuts to its own end of
/// epoch 2, which is 2 as well. Before KIP-279 it takes the leader's offset alone, and an
/// undefined answer sends it back to its high watermark.
#[test]
fn a_diverging_follower_truncates_where_the_kernel_says() {
    #[rustfmt::skip]
    let cases = [
        // (leader's answer, legacy, expected log end)
        ((2, 2), false, 2),
        ((0, 1), false, 1),
        ((4, 3), false, 3),
        ((3, 2), false, 2),
        ((2, 2), true, 2),
        ((-1, -1), true, 1),
    ];
    for ((epoch, end), legacy, expected) in cases {
        let disk = log_image(&log_dir(&tp()), &[(0, 1), (2, 1), (4, 1)]);
        let mut out = Outbox::<Vocab>::new();
        let config = BrokerConfig::default();
        let mut p = Partition::recover(tp(), &config, &disk, 1, FULL_SCAN, ms(0), out.writer());
        p.become_follower(&state(2, 5, &[1, 2], &[1, 2]), false, out.writer());
        let mut out = Outbox::<Vocab>::new();
        p.truncate_diverging(epoch, end, legacy, out.writer());
        assert_eq!(
            p.log_end_offset(),
            expected,
            "answer ({epoch}, {end}), legacy={legacy}"
        );
        assert!(p.high_watermark() <= p.log_end_offset());
        let events = replica_events(&out);
        if expected < 3 {
            assert!(
                events.iter().any(|e| matches!(
                    e,
                    ReplicaEvent::ReplicaTruncated { from: 3, to, cause: TruncationCause::DivergingEpoch, .. }
                        if *to == expected
                )),
                "{events:?}"
            );
        } else {
            assert!(events.is_empty(), "nothing to cut: {events:?}");
        }
    }
}

/// Reference: Kafka's `PartitionTest.scala` testMaybeShrinkIsr. ISR {1, 2, 3}; follower 2
/// fetches at the log end, follower 3 never fetches. On election both have a full
/// `replica.lag.time.max.ms`; after it, 3 is shrunk away but 2 — at the leader's log end —
/// is not. While the shrink is in flight, 3 still holds the high watermark (maximal ISR);
/// once it is committed, the high watermark moves to the log end.
#[test]
fn a_follower_that_never_fetches_is_shrunk_and_stops_holding_the_high_watermark() {
    let mut p = replica(&[(4, 10)]);
    let mut out = Outbox::<Vocab>::new();
    p.become_leader(ms(0), &state(1, 5, &[1, 2, 3], &[1, 2, 3]), 1, out.writer());
    assert_eq!(p.high_watermark(), 0);
    assert_eq!(fetch(&mut p, 0, 2, 10), None);
    assert_eq!(
        p.isr_to_shrink(ms(0), LAG_MAX),
        None,
        "everyone starts caught up"
    );
    let later = ms(10_001);
    assert_eq!(p.isr_to_shrink(later, LAG_MAX), Some(vec![1, 2]));
    assert_eq!(
        p.isr_to_shrink(later, LAG_MAX),
        None,
        "one AlterPartition at a time"
    );
    let mut out = Outbox::<Vocab>::new();
    assert!(!p.maybe_advance_high_watermark(out.writer()));
    assert_eq!(
        p.high_watermark(),
        0,
        "3 counts until the shrink is committed"
    );
    p.update_isr(&[1, 2], 2, out.writer());
    assert_eq!(p.isr(), &[1, 2]);
    assert_eq!(p.high_watermark(), 10);
    assert_eq!(
        replica_events(&out),
        vec![
            ReplicaEvent::IsrShrunk {
                partition: tp(),
                isr: vec![1, 2],
                partition_epoch: 2
            },
            ReplicaEvent::HighWatermarkUpdated {
                partition: tp(),
                high_watermark: 10
            },
        ]
    );
}

/// Reference: Kafka's `PartitionTest.scala` testShouldNotShrinkIsrIfPreviousFetchIsCaughtUp:
/// a follower of a busy partition never fetches at the leader's log end of the moment, but
/// it reaches the end the leader had at its previous fetch — caught up as of then.
#[test]
fn a_follower_that_reaches_the_previous_log_end_stays_in_the_isr() {
    let mut p = replica(&[(4, 10)]);
    let mut out = Outbox::<Vocab>::new();
    p.become_leader(ms(0), &state(1, 5, &[1, 2], &[1, 2]), 1, out.writer());
    fetch(&mut p, 5_000, 2, 5);
    assert_eq!(p.high_watermark(), 5);
    produce(&mut p, 5);
    fetch(&mut p, 10_001, 2, 10);
    assert_eq!(p.high_watermark(), 10);
    let f = p.followers().unwrap()[&2];
    assert_eq!(
        f.last_caught_up_time,
        ms(5_000),
        "caught up as of the first fetch"
    );
    assert_eq!(p.isr_to_shrink(ms(10_001), LAG_MAX), None);
}

/// Reference: Kafka's `PartitionTest.scala` testShouldNotShrinkIsrIfFollowerCaughtUpToLogEnd:
/// a follower at the leader's log end misses nothing, however long ago it fetched.
#[test]
fn a_follower_at_the_log_end_of_an_idle_partition_stays_in_the_isr() {
    let mut p = replica(&[(4, 10)]);
    let mut out = Outbox::<Vocab>::new();
    p.become_leader(ms(0), &state(1, 5, &[1, 2], &[1, 2]), 1, out.writer());
    fetch(&mut p, 0, 2, 10);
    assert_eq!(p.high_watermark(), 10);
    assert_eq!(p.isr_to_shrink(ms(30_001), LAG_MAX), None);
    // Once the leader writes again, the follower has `replica.lag.time.max.ms` to catch up.
    produce(&mut p, 1);
    assert_eq!(p.isr_to_shrink(ms(30_001), LAG_MAX), Some(vec![1]));
}

/// Reference: Kafka's `PartitionTest.scala` testIsrExpansion: a follower outside the ISR is
/// proposed once it reaches the high watermark (and the leader's epoch start), and from the
/// proposal on it holds the high watermark (maximal ISR), so that a committed expansion never
/// admits a replica that misses a committed record.
#[test]
fn a_follower_that_caught_up_is_proposed_for_the_isr_and_counts_at_once() {
    let mut p = replica(&[(4, 10)]);
    let mut out = Outbox::<Vocab>::new();
    p.become_leader(ms(0), &state(1, 5, &[1, 2], &[1]), 1, out.writer());
    assert_eq!(p.high_watermark(), 10, "a lone leader commits at once");
    assert_eq!(fetch(&mut p, 1, 2, 3), None, "behind the high watermark");
    assert_eq!(fetch(&mut p, 2, 2, 10), Some(vec![1, 2]));
    assert_eq!(p.isr(), &[1], "not before the controller says so");
    produce(&mut p, 2);
    assert_eq!(
        p.high_watermark(),
        10,
        "2 is in the maximal ISR: it holds the HW"
    );
    let mut out = Outbox::<Vocab>::new();
    p.update_isr(&[1, 2], 2, out.writer());
    assert_eq!(
        replica_events(&out),
        vec![ReplicaEvent::IsrExpanded {
            partition: tp(),
            isr: vec![1, 2],
            partition_epoch: 2
        }]
    );
    fetch(&mut p, 3, 2, 12);
    assert_eq!(p.high_watermark(), 12);
}

/// Reference: Kafka's `PartitionTest.scala`
/// testFollowerDoesNotJoinISRUntilCaughtUpToOffsetWithinCurrentLeaderEpoch: records between
/// the high watermark and the start of the leader's current epoch may yet be committed in
/// this epoch, so a follower joins only once it has them.
#[test]
fn a_follower_joins_the_isr_only_past_the_start_of_the_leaders_epoch() {
    let mut p = replica(&[]);
    let mut out = Outbox::<Vocab>::new();
    let isr = [1, 3];
    p.become_leader(ms(0), &state(1, 8, &[1, 2, 3], &isr), 1, out.writer());
    produce(&mut p, 5);
    fetch(&mut p, 0, 3, 0);
    fetch(&mut p, 0, 3, 2);
    assert_eq!(p.high_watermark(), 2);
    // Leader, then follower, then leader again: epoch 10 starts at the log end, 5.
    p.become_follower(&state(3, 9, &[1, 2, 3], &isr), false, out.writer());
    p.become_leader(ms(0), &state(1, 10, &[1, 2, 3], &isr), 1, out.writer());
    produce(&mut p, 2);
    assert_eq!(fetch(&mut p, 0, 2, 0), None);
    assert_eq!(
        fetch(&mut p, 0, 2, 2),
        None,
        "at the high watermark, before the epoch start"
    );
    assert_eq!(fetch(&mut p, 0, 2, 5), Some(vec![1, 2, 3]));
}

/// Reference: KIP-966 (the strict min-ISR rule); Kafka's `Partition.maybeIncrementLeaderHW`
/// ("Not increasing HWM because partition is under min ISR") and `effectiveMinIsr`. With
/// `min.insync.replicas=2` a leader alone in the ISR appends but does not commit; once a
/// follower is back in the ISR it commits what both have. Before KIP-966 the lone leader
/// commits at once. A setting above the replica count asks for every replica.
#[test]
fn the_high_watermark_stays_while_the_isr_is_below_min_insync_replicas() {
    for (strict, expected) in [(true, 0), (false, 3)] {
        let mut p = replica(&[]);
        p.set_min_isr_rule(2, strict);
        let mut out = Outbox::<Vocab>::new();
        p.become_leader(ms(0), &state(1, 1, &[1, 2], &[1]), 1, out.writer());
        produce(&mut p, 3);
        assert_eq!(p.high_watermark(), expected, "strict={strict}");
        assert_eq!(p.min_insync_replicas(), 2);
    }
    let mut p = replica(&[]);
    p.set_min_isr_rule(2, true);
    let mut out = Outbox::<Vocab>::new();
    p.become_leader(ms(0), &state(1, 1, &[1, 2], &[1]), 1, out.writer());
    produce(&mut p, 3);
    p.update_isr(&[1, 2], 1, out.writer());
    assert_eq!(p.high_watermark(), 0, "broker 2 has not fetched yet");
    fetch(&mut p, 10, 2, 3);
    assert_eq!(p.high_watermark(), 3, "both have 3 records");
    let mut lone = replica(&[]);
    lone.set_min_isr_rule(3, true);
    lone.become_leader(ms(0), &state(1, 1, &[1], &[1]), 1, out.writer());
    produce(&mut lone, 2);
    assert_eq!(
        (lone.min_insync_replicas(), lone.high_watermark()),
        (1, 2),
        "min.insync.replicas above the replication factor is capped at it"
    );
}

/// Kafka's `LogValidator`: a compacted topic keeps the latest record of each key, so a record
/// without a key has no place in it and is refused whole (`INVALID_RECORD`).
#[test]
fn a_compacted_topic_refuses_records_without_a_key() {
    let mut p = replica(&[]);
    let mut out = Outbox::<Vocab>::new();
    p.become_leader(ms(0), &state(1, 0, &[1], &[1]), 1, out.writer());
    let mut settings = TopicLogSettings::of_broker(&BrokerConfig::default());
    settings.cleanup = CleanupPolicy::Compact;
    p.set_log_settings(settings);
    assert_eq!(
        p.append_as_leader(&batch(1), out.writer()).unwrap_err(),
        ErrorCode::InvalidRecord
    );
    assert_eq!(p.log_end_offset(), 0);
    settings.cleanup = CleanupPolicy::Delete;
    p.set_log_settings(settings);
    assert!(p.append_as_leader(&batch(1), out.writer()).is_ok());
}
