//! A broker as a state machine, driven through `Broker::step` with a plain [`Outbox`]: it
//! registers with the controller, learns the metadata as a quorum observer, follows and
//! leads partitions. The tests look at what it sends and what it records in the trace.
//!
//! Cluster of the tests: controller `NodeId(0)` (voter 100); broker 1 (this one, at
//! `NodeId(11)`) and broker 2 (`NodeId(12)`); topic `t` with partitions 0 and 1 led by broker
//! 2, partition 2 led by broker 1, each on both brokers and in sync.

use super::*;
use crate::actor::Event;
use crate::log::{Log, LogConfig};
use crate::metadata::MetadataRecord;
use crate::node::{Boot, Outbox};
use crate::prng::Prng;
use crate::protocol::{
    BrokerHeartbeatResponse, BrokerRegistrationResponse, FetchPartition, FetchPartitionResponse,
    FetchRequest, FetchResponse, ProducePartitionData, ProduceRequest, QuorumFetchResponse,
};
use crate::purgatory::{self, Outcome};
use crate::testkit::{batch, sends, timers_set, traces};

const CONTROLLER: NodeId = NodeId(0);
const ME: NodeId = NodeId(11);
const OTHER: NodeId = NodeId(12);

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

/// The metadata log's first records, as the quorum leader would return them to a Fetch.
fn metadata_batch() -> Vec<u8> {
    let partition = |p: i32, leader: i32| MetadataRecord::PartitionRecord {
        topic: "t".into(),
        partition: p,
        replicas: vec![leader, 3 - leader],
        isr: vec![1, 2],
        leader,
        leader_epoch: 0,
        partition_epoch: 0,
    };
    let records = [
        MetadataRecord::RegisterBrokerRecord {
            broker_id: 1,
            address: ME,
            broker_epoch: 0,
        },
        MetadataRecord::RegisterBrokerRecord {
            broker_id: 2,
            address: OTHER,
            broker_epoch: 1,
        },
        MetadataRecord::UnfenceBrokerRecord {
            broker_id: 1,
            broker_epoch: 0,
        },
        MetadataRecord::UnfenceBrokerRecord {
            broker_id: 2,
            broker_epoch: 1,
        },
        MetadataRecord::TopicRecord { name: "t".into() },
        partition(0, 2),
        partition(1, 2),
        partition(2, 1),
    ];
    let batch = crate::log::batch::RecordBatch::from_records(
        records
            .iter()
            .map(|r| crate::log::batch::Record {
                timestamp: 0,
                key: None,
                value: Some(r.to_bytes()),
                headers: Vec::new(),
            })
            .collect(),
    );
    let mut log = Log::new(METADATA_DIR, LogConfig::default());
    log.append_as_leader(&batch.encode(), 1, &mut Vec::new())
        .expect("a valid batch");
    log.read(0, usize::MAX).expect("readable")
}

struct Harness {
    broker: Broker,
    now: Instant,
}

impl Harness {
    /// Broker 1, registered, unfenced, following `t-0` and `t-1` and leading `t-2`. Returns
    /// the outputs of the step that unfenced it too.
    fn new() -> (Self, Outbox<Vocab>) {
        let config = BrokerConfig {
            node_id: 1,
            controller_quorum_voters: [(100, CONTROLLER)].into(),
            ..BrokerConfig::default()
        };
        let disk = DiskImage::new();
        let boot = Boot {
            id: ME,
            now: Instant::ZERO,
            incarnation: 0,
            config: &config,
            disk: &disk,
            prng: Prng::derive(1, "broker", 1),
        };
        let mut out = Outbox::new();
        let broker = Broker::boot(&boot, &config, out.writer());
        let mut h = Harness {
            broker,
            now: Instant::ZERO,
        };
        let (mut registration, mut metadata_fetch) = (None, None);
        for (to, m) in sends(&out) {
            assert_eq!(to, CONTROLLER);
            match m {
                Message::BrokerRegistrationRequest(r) => registration = Some(r.correlation_id),
                Message::QuorumFetchRequest(r) => metadata_fetch = Some(r.correlation_id),
                other => panic!("unexpected {other:?}"),
            }
        }
        h.recv(
            CONTROLLER,
            Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
                correlation_id: registration.expect("a registration"),
                error: ErrorCode::None,
                broker_epoch: 0,
            }),
        );
        let records = metadata_batch();
        h.recv(
            CONTROLLER,
            Message::QuorumFetchResponse(QuorumFetchResponse {
                correlation_id: metadata_fetch.expect("a metadata fetch"),
                error: ErrorCode::None,
                leader_epoch: 1,
                leader_id: 100,
                high_watermark: 8,
                diverging_epoch: None,
                records,
            }),
        );
        assert_eq!(h.broker.image().partitions.len(), 3);
        assert!(h.broker.partitions().is_empty(), "fenced: no roles yet");
        let out = h.recv(
            CONTROLLER,
            Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                correlation_id: 0,
                error: ErrorCode::None,
                is_caught_up: true,
                is_fenced: false,
                should_shut_down: false,
            }),
        );
        let roles: Vec<ReplicaRole> = h
            .broker
            .partitions()
            .values()
            .map(|p| p.role_name())
            .collect();
        assert_eq!(
            roles,
            vec![
                ReplicaRole::Follower,
                ReplicaRole::Follower,
                ReplicaRole::Leader
            ]
        );
        (h, out)
    }

    fn step(&mut self, input: Input<Vocab>) -> Outbox<Vocab> {
        let mut out = Outbox::new();
        self.broker.step(self.now, input, out.writer());
        out
    }

    fn recv(&mut self, from: NodeId, msg: Message) -> Outbox<Vocab> {
        self.step(Input::Recv { from, msg })
    }

    fn at(&mut self, t_ms: u64) -> &mut Self {
        self.now = ms(t_ms);
        self
    }
}

/// The replica Fetches in `out`.
fn fetches(out: &Outbox<Vocab>) -> Vec<(NodeId, FetchRequest)> {
    sends(out)
        .into_iter()
        .filter_map(|(to, m)| match m {
            Message::FetchRequest(r) => Some((to, r.clone())),
            _ => None,
        })
        .collect()
}

/// The leader's answer to `request`: nothing new, or `error` for every partition.
fn answer(request: &FetchRequest, error: ErrorCode) -> Message {
    Message::FetchResponse(FetchResponse {
        correlation_id: request.correlation_id,
        partitions: request
            .partitions
            .iter()
            .map(|p| FetchPartitionResponse {
                partition: p.partition.clone(),
                error,
                high_watermark: 0,
                log_start_offset: 0,
                records: Vec::new(),
                diverging_epoch: None,
            })
            .collect(),
    })
}

/// Reference: Kafka's `AbstractFetcherThreadTest.scala` testSimpleFetch, and
/// `AbstractFetcherManager` (with `num.replica.fetchers=1`, one fetcher per source broker): the follower sends one Fetch to
/// each leader for every partition it follows there, from each log's end, and no second one
/// while the first is in flight.
#[test]
fn one_fetch_per_leader_at_a_time() {
    let (mut h, out) = Harness::new();
    let sent = fetches(&out);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (to, request) = &sent[0];
    assert_eq!(*to, OTHER);
    assert_eq!(request.replica_id, 1);
    let asked: Vec<(TopicPartition, i64, i32)> = request
        .partitions
        .iter()
        .map(|p: &FetchPartition| (p.partition.clone(), p.fetch_offset, p.current_leader_epoch))
        .collect();
    assert_eq!(asked, vec![(tp(0), 0, 0), (tp(1), 0, 0)]);
    // Anything else happening meanwhile sends no second Fetch.
    let out = h.at(100).step(Input::Timer(Timer::ReplicaFetchRetry));
    assert!(fetches(&out).is_empty());
    // The answer comes: the next Fetch leaves at once.
    let out = h.at(200).recv(OTHER, answer(request, ErrorCode::None));
    let again = fetches(&out);
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].1.correlation_id, request.correlation_id);
}

/// Reference: Kafka's `AbstractFetcherThreadTest.scala` testDelay (after a failed fetch the
/// next one waits `replica.fetch.backoff.ms`). Kafka delays only the partitions in error
/// (testPartitionsInError); this broker backs off the whole leader, which is what happens
/// when, as here, every partition of the Fetch failed.
#[test]
fn a_failed_fetch_backs_off_for_replica_fetch_backoff_ms() {
    let (mut h, out) = Harness::new();
    let (_, request) = fetches(&out).pop().expect("a fetch");
    let out = h
        .at(50)
        .recv(OTHER, answer(&request, ErrorCode::NotLeaderOrFollower));
    assert!(fetches(&out).is_empty(), "no fetch right after the error");
    assert!(timers_set(&out).contains(&&Timer::ReplicaFetchRetry));
    let out = h.at(500).step(Input::Timer(Timer::ReplicaFetchRetry));
    assert!(fetches(&out).is_empty(), "still backing off");
    let out = h.at(1_050).step(Input::Timer(Timer::ReplicaFetchRetry));
    assert_eq!(
        fetches(&out).len(),
        1,
        "replica.fetch.backoff.ms (1000) passed"
    );
}

/// Reference: Kafka's `DelayedProduce.tryComplete` (an `acks=-1` produce completes once the
/// high watermark passes every partition's last offset). An `acks=all` produce to `t-2` (ISR {1, 2}) waits in the `produce` purgatory
/// until broker 2's fetch moves the high watermark past its records; then the
/// `ProduceResponse` leaves.
#[test]
fn an_acks_all_produce_is_held_until_the_high_watermark_passes_it() {
    let (mut h, _) = Harness::new();
    let producer = NodeId(30);
    let produce = ProduceRequest {
        correlation_id: 9,
        acks: -1,
        timeout_ms: 30_000,
        partitions: vec![ProducePartitionData {
            partition: tp(2),
            records: batch(1),
        }],
    };
    let out = h.at(10).recv(producer, Message::ProduceRequest(produce));
    assert!(
        !sends(&out)
            .iter()
            .any(|(_, m)| matches!(m, Message::ProduceResponse(_))),
        "not committed yet"
    );
    let held = purgatory::Event::Held {
        purgatory: PurgatoryName::Produce,
        id: 0,
        what: "ProduceResponse".into(),
        to: Some(producer),
        until: vec![Condition::HighWatermark {
            partition: tp(2),
            offset: 1,
        }],
        expires_at_ms: Some(30_010),
    };
    assert!(traces(&out).contains(&&Event::Purgatory(held)));
    assert!(timers_set(&out).contains(&&Timer::ProduceExpiry(0)));

    // Broker 2 fetches at offset 1: it has the record.
    let follower_fetch = FetchRequest {
        correlation_id: 1,
        replica_id: 2,
        replica_epoch: 1,
        max_wait_ms: 0,
        min_bytes: 1,
        max_bytes: 1 << 20,
        partitions: vec![FetchPartition {
            partition: tp(2),
            fetch_offset: 1,
            partition_max_bytes: 1 << 20,
            current_leader_epoch: 0,
            last_fetched_epoch: 0,
        }],
    };
    let out = h.at(20).recv(OTHER, Message::FetchRequest(follower_fetch));
    assert_eq!(h.broker.partitions()[&tp(2)].high_watermark(), 1);
    assert!(
        traces(&out).contains(&&Event::Purgatory(purgatory::Event::Released {
            purgatory: PurgatoryName::Produce,
            id: 0,
            outcome: Outcome::Completed,
        }))
    );
    let answered: Vec<(NodeId, i64, ErrorCode)> = sends(&out)
        .into_iter()
        .filter_map(|(to, m)| match m {
            Message::ProduceResponse(r) => {
                Some((to, r.partitions[0].base_offset, r.partitions[0].error))
            }
            _ => None,
        })
        .collect();
    assert_eq!(answered, vec![(producer, 0, ErrorCode::None)]);
}
