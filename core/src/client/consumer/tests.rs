//! The consumer's group path driven message by message: what it sends when its coordinator
//! dies between the assignment and the committed offsets.

use super::*;
use crate::disk::DiskImage;
use crate::node::Outbox;
use crate::prng::Prng;
use crate::protocol::{
    BrokerMetadata, FindCoordinatorResponse, JoinGroupResponse, MetadataResponse,
    OffsetFetchRequest, OffsetFetchResponse, PartitionMetadata, Subscription, SyncGroupResponse,
    TopicMetadata,
};
use crate::testkit::{sends, traces};

const BROKER_1: NodeId = NodeId(1);
const BROKER_2: NodeId = NodeId(2);

fn tp() -> TopicPartition {
    TopicPartition::new("t", 0)
}

struct Harness {
    consumer: Consumer,
    now: Instant,
}

impl Harness {
    fn new() -> Self {
        let config = ConsumerConfig {
            bootstrap_servers: vec![BROKER_1],
            group_id: Some("g".into()),
            auto_offset_reset: AutoOffsetReset::Earliest,
            ..ConsumerConfig::default()
        };
        let disk = DiskImage::new();
        let boot = Boot {
            id: NodeId(10),
            now: Instant::ZERO,
            incarnation: 0,
            config: &config,
            disk: &disk,
            prng: Prng::derive(1, "consumer", 10),
        };
        let consumer = Consumer::boot(&boot, &config, Outbox::new().writer());
        Harness {
            consumer,
            now: Instant::ZERO,
        }
    }

    fn step(&mut self, input: Input<Vocab>) -> Outbox<Vocab> {
        self.now += Duration::from_millis(1);
        let mut out = Outbox::new();
        self.consumer.step(self.now, input, out.writer());
        out
    }

    /// Answer the single request of `kind` in `out` with `answer(correlation_id)`.
    fn answer(
        &mut self,
        out: &Outbox<Vocab>,
        pick: impl Fn(&Message) -> Option<i32>,
        answer: impl FnOnce(i32) -> Message,
    ) -> Outbox<Vocab> {
        let (from, id) = sends(out)
            .into_iter()
            .find_map(|(to, m)| pick(m).map(|id| (to, id)))
            .expect("the request was sent");
        self.step(Input::Recv {
            from,
            msg: answer(id),
        })
    }

    /// Subscribe, learn the metadata, find `BROKER_2` as coordinator, join and be assigned
    /// `t-0`. Returns the outputs of the SyncGroup answer.
    fn assigned(&mut self) -> Outbox<Vocab> {
        let out = self.step(Input::Command(Command::Subscribe { topic: "t".into() }));
        let out = self.answer(&out, metadata_request, metadata);
        let out = self.answer(&out, find_coordinator, |id| coordinator(id, 2, BROKER_2));
        let out = self.answer(&out, join_request, |id| joined(id, "other", Vec::new()));
        self.answer(&out, sync_request, |id| synced(id, vec![tp()]))
    }
}

/// Topic `t` with one partition, led by broker 1.
fn metadata(correlation_id: i32) -> Message {
    Message::MetadataResponse(MetadataResponse {
        correlation_id,
        brokers: vec![
            BrokerMetadata {
                node_id: 1,
                address: BROKER_1,
            },
            BrokerMetadata {
                node_id: 2,
                address: BROKER_2,
            },
        ],
        topics: vec![TopicMetadata {
            error: ErrorCode::None,
            name: "t".into(),
            partitions: vec![PartitionMetadata {
                error: ErrorCode::None,
                partition: 0,
                leader_id: 1,
                leader_epoch: 0,
            }],
        }],
    })
}

fn join_request(m: &Message) -> Option<i32> {
    match m {
        Message::JoinGroupRequest(r) => Some(r.correlation_id),
        _ => None,
    }
}

fn sync_request(m: &Message) -> Option<i32> {
    match m {
        Message::SyncGroupRequest(r) => Some(r.correlation_id),
        _ => None,
    }
}

/// Generation 1, this member being `me`, led by `leader`, with `members` listed.
fn joined(correlation_id: i32, leader: &str, members: Vec<(String, Subscription)>) -> Message {
    Message::JoinGroupResponse(JoinGroupResponse {
        correlation_id,
        error: ErrorCode::None,
        generation_id: 1,
        protocol: "range".into(),
        leader: leader.into(),
        member_id: "me".into(),
        members,
    })
}

fn synced(correlation_id: i32, assignment: Vec<TopicPartition>) -> Message {
    Message::SyncGroupResponse(SyncGroupResponse {
        correlation_id,
        error: ErrorCode::None,
        assignment,
    })
}

fn metadata_request(m: &Message) -> Option<i32> {
    match m {
        Message::MetadataRequest(r) => Some(r.correlation_id),
        _ => None,
    }
}

fn find_coordinator(m: &Message) -> Option<i32> {
    match m {
        Message::FindCoordinatorRequest(r) => Some(r.correlation_id),
        _ => None,
    }
}

fn coordinator(correlation_id: i32, node_id: i32, address: NodeId) -> Message {
    Message::FindCoordinatorResponse(FindCoordinatorResponse {
        correlation_id,
        error: ErrorCode::None,
        node_id,
        address,
    })
}

fn offset_fetches(out: &Outbox<Vocab>) -> Vec<(NodeId, &OffsetFetchRequest)> {
    sends(out)
        .into_iter()
        .filter_map(|(to, m)| match m {
            Message::OffsetFetchRequest(r) => Some((to, r)),
            _ => None,
        })
        .collect()
}

fn resets_or_fetches(out: &Outbox<Vocab>) -> usize {
    sends(out)
        .into_iter()
        .filter(|(_, m)| matches!(m, Message::ListOffsetsRequest(_) | Message::FetchRequest(_)))
        .count()
}

/// Kafka's `refreshCommittedOffsetsIfNeeded`: a partition assigned without its committed
/// offset is neither reset nor fetched while the coordinator is gone, and the question is
/// asked again of the next coordinator (once a lost OffsetFetch left the member fetching
/// nothing for the rest of the run).
#[test]
fn a_lost_offset_fetch_is_asked_again_of_the_next_coordinator() {
    let mut h = Harness::new();
    let out = h.assigned();
    let asked = offset_fetches(&out);
    assert_eq!(asked.len(), 1, "the committed offsets are asked for");
    assert_eq!(asked[0].0, BROKER_2);
    assert_eq!(resets_or_fetches(&out), 0, "no position before the answer");

    // The coordinator dies with the question unanswered.
    let out = h.step(Input::Disconnected { peer: BROKER_2 });
    assert_eq!(resets_or_fetches(&out), 0);
    h.now += Duration::from_millis(1000);
    let out = h.step(Input::Timer(Timer::RetryBackoff));
    assert_eq!(
        resets_or_fetches(&out),
        0,
        "auto.offset.reset waits for the committed offset"
    );
    // Metadata again (the view was dropped on the disconnect), then the new coordinator.
    let out = h.answer(&out, metadata_request, metadata);
    assert_eq!(resets_or_fetches(&out), 0);
    let out = h.answer(&out, find_coordinator, |id| coordinator(id, 1, BROKER_1));
    let asked = offset_fetches(&out);
    assert_eq!(asked.len(), 1, "asked again");
    assert_eq!(asked[0].0, BROKER_1, "of the new coordinator");
    assert_eq!(asked[0].1.partitions, vec![tp()]);

    // The committed offset becomes the position, and fetching starts there.
    let id = asked[0].1.correlation_id;
    let out = h.step(Input::Recv {
        from: BROKER_1,
        msg: Message::OffsetFetchResponse(OffsetFetchResponse {
            correlation_id: id,
            error: ErrorCode::None,
            offsets: vec![(tp(), 42)],
        }),
    });
    let fetch = sends(&out).into_iter().find_map(|(_, m)| match m {
        Message::FetchRequest(r) => Some(r.partitions[0].fetch_offset),
        _ => None,
    });
    assert_eq!(fetch, Some(42));
    assert_eq!(h.consumer.positions().get(&tp()), Some(&42));
}

/// Kafka's assignment snapshot: a leader that assigned while its metadata did not know the
/// topic (dropped after a broker died under it) gave everyone nothing; once the metadata
/// shows the topic it rejoins, instead of leaving the group idle for good.
#[test]
fn a_leader_that_assigned_without_metadata_rejoins_once_it_has_some() {
    let mut h = Harness::new();
    let out = h.step(Input::Command(Command::Subscribe { topic: "t".into() }));
    let out = h.answer(&out, metadata_request, metadata);
    let out = h.answer(&out, find_coordinator, |id| coordinator(id, 2, BROKER_2));
    let join = sends(&out)
        .into_iter()
        .find_map(|(_, m)| join_request(m))
        .expect("joins");
    // The metadata is dropped (a broker went away) while the join waits.
    h.step(Input::Disconnected { peer: BROKER_1 });
    let me = (
        "me".to_string(),
        Subscription {
            topics: vec!["t".into()],
            owned: Vec::new(),
        },
    );
    let out = h.step(Input::Recv {
        from: BROKER_2,
        msg: joined(join, "me", vec![me]),
    });
    let assigned: Vec<_> = sends(&out)
        .into_iter()
        .filter_map(|(_, m)| match m {
            Message::SyncGroupRequest(r) => Some(r.assignments.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        assigned,
        vec![vec![("me".to_string(), Vec::new())]],
        "nothing to hand out"
    );
    let out = h.answer(&out, sync_request, |id| synced(id, Vec::new()));
    assert!(
        !sends(&out).iter().any(|(_, m)| join_request(m).is_some()),
        "no reason to rejoin before the metadata comes back"
    );
    h.now += Duration::from_millis(1000);
    let out = h.step(Input::Timer(Timer::RetryBackoff));
    let out = h.answer(&out, metadata_request, metadata);
    assert!(
        traces(&out).iter().any(|e| matches!(
            e,
            Event::AssignmentMetadataChanged {
                assigned_with: -1,
                now: 1,
                ..
            }
        )),
        "the change is traced"
    );
    assert!(
        sends(&out).iter().any(|(_, m)| join_request(m).is_some()),
        "the leader rejoins"
    );
}

/// `seekToBeginning()` while a fetch is on its way: the position goes to the log start
/// (whatever `auto.offset.reset` says) and the answer to the old fetch is discarded, as
/// Kafka's fetcher discards a fetch whose offset no longer matches the position — once it
/// moved the position past the seek and nothing was read again.
#[test]
fn seek_to_beginning_rereads_and_discards_the_fetch_in_flight() {
    use crate::log::batch::set_base_offset;
    use crate::protocol::{FetchPartitionResponse, FetchResponse, ListOffsetsPartitionResponse};
    use crate::testkit::{batch, replies};
    let mut h = Harness::new();
    let out = h.assigned();
    let asked = offset_fetches(&out)[0].1.correlation_id;
    let out = h.step(Input::Recv {
        from: BROKER_2,
        msg: Message::OffsetFetchResponse(OffsetFetchResponse {
            correlation_id: asked,
            error: ErrorCode::None,
            offsets: vec![(tp(), 5)],
        }),
    });
    let fetch = sends(&out)
        .into_iter()
        .find_map(|(_, m)| match m {
            Message::FetchRequest(r) => Some(r.correlation_id),
            _ => None,
        })
        .expect("fetches from the committed offset");

    let out = h.step(Input::Command(Command::SeekToBeginning));
    assert!(
        h.consumer.positions().is_empty(),
        "the position is forgotten"
    );
    let list = sends(&out)
        .into_iter()
        .find_map(|(_, m)| match m {
            Message::ListOffsetsRequest(r) => Some(r.clone()),
            _ => None,
        })
        .expect("asks where the log starts");
    assert_eq!(list.partitions, vec![(tp(), OffsetSpec::Earliest)]);

    // The old fetch's answer, records 5..8, arrives: it does not follow the position.
    let mut records = batch(3);
    set_base_offset(&mut records, 5);
    let out = h.step(Input::Recv {
        from: BROKER_1,
        msg: Message::FetchResponse(FetchResponse {
            correlation_id: fetch,
            partitions: vec![FetchPartitionResponse {
                partition: tp(),
                error: ErrorCode::None,
                high_watermark: 8,
                log_start_offset: 0,
                records,
                diverging_epoch: None,
            }],
        }),
    });
    assert!(
        !replies(&out)
            .iter()
            .any(|r| matches!(r, Reply::Polled { .. })),
        "nothing polled from the stale fetch"
    );
    let out = h.step(Input::Recv {
        from: BROKER_1,
        msg: Message::ListOffsetsResponse(ListOffsetsResponse {
            correlation_id: list.correlation_id,
            partitions: vec![ListOffsetsPartitionResponse {
                partition: tp(),
                error: ErrorCode::None,
                offset: 0,
            }],
        }),
    });
    assert!(replies(&out).iter().any(|r| matches!(
        r,
        Reply::PositionReset {
            offset: 0,
            reason: ResetReason::SeekToBeginning,
            ..
        }
    )));
    let from = sends(&out).into_iter().find_map(|(_, m)| match m {
        Message::FetchRequest(r) => Some(r.partitions[0].fetch_offset),
        _ => None,
    });
    assert_eq!(from, Some(0), "reads again from the log start");
}
