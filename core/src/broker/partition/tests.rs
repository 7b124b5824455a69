//! A partition replica as a state machine: becoming leader or follower, appends, the high
//! watermark over the ISR, the leader's check of a follower's fetch, truncation, and ISR
//! changes — each driven through `Partition`'s public methods with a plain [`Outbox`], and
//! checked on the answers and trace events. The tests mirror Kafka's `PartitionTest.scala`.

use super::*;
use crate::node::Outbox;
use crate::testkit::log_image;

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
    }
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
