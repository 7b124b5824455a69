//! The active controller as a state machine: registering and unfencing brokers, creating a
//! topic, and electing partition leaders when brokers are fenced — clean elections from the
//! ISR, the last ISR member kept, and unclean elections when allowed. Driven through
//! `Controller::step` with a plain [`Outbox`]; the disk completes every fsync at once.

use super::*;
use crate::actor::Event as NodeEvent;
use crate::disk::DiskImage;
use crate::metadata::PartitionState;
use crate::node::Outbox;
use crate::prng::Prng;
use crate::purgatory::{self, Outcome};
use crate::testkit::{sends, syncs, timers_set, traces};
use placement::Election;
use std::collections::VecDeque;

const CONTROLLER: NodeId = NodeId(0);

fn broker_address(id: i32) -> NodeId {
    NodeId(10 + id as u32)
}

fn tp() -> TopicPartition {
    TopicPartition::new("t", 0)
}

/// A one-voter controller quorum and the brokers it has heard from.
struct Harness {
    controller: Controller,
    now: Instant,
    epochs: BTreeMap<i32, i64>,
}

impl Harness {
    /// Boot controller 1 for topic `t` (one partition, three replicas) and make it active;
    /// `configure` may change its configuration first.
    fn new(configure: impl FnOnce(&mut ControllerConfig)) -> Self {
        let mut config = ControllerConfig::new(
            1,
            vec![TopicSpec {
                name: "t".into(),
                partitions: 1,
                replication_factor: 3,
                config: Default::default(),
            }],
        );
        config.quorum.voters = [(1, CONTROLLER)].into();
        configure(&mut config);
        let disk = DiskImage::new();
        let boot = Boot {
            id: CONTROLLER,
            now: Instant::ZERO,
            incarnation: 0,
            config: &config,
            disk: &disk,
            prng: Prng::derive(1, "controller", 0),
        };
        let mut out = Outbox::new();
        let controller = Controller::boot(&boot, &config, out.writer());
        let mut h = Harness {
            controller,
            now: Instant::ZERO,
            epochs: BTreeMap::new(),
        };
        h.complete_syncs(&out);
        let out = h.step(Input::Timer(Timer::Quorum(quorum::Timer::ElectionTimeout)));
        assert!(
            traces(&out).contains(&&NodeEvent::Controller(Event::Activated { epoch: 1 })),
            "a lone voter wins its election: {:?}",
            traces(&out)
        );
        h
    }

    /// One input, then every fsync it (and what follows) asked for completes: the outputs of
    /// all those steps, in order.
    fn step(&mut self, input: Input<Vocab>) -> Outbox<Vocab> {
        let mut all = Outbox::new();
        let mut inputs = VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            let mut out = Outbox::new();
            self.controller.step(self.now, input, out.writer());
            for (file, token) in syncs(&out) {
                inputs.push_back(Input::DiskDone { file, token });
            }
            for output in out.drain() {
                all.writer().push(output);
            }
        }
        all
    }

    fn complete_syncs(&mut self, out: &Outbox<Vocab>) {
        for (file, token) in syncs(out) {
            self.step(Input::DiskDone { file, token });
        }
    }

    fn at(&mut self, t_ms: u64) -> &mut Self {
        self.now = Instant::from_millis(t_ms);
        self
    }

    /// Broker `id` registers; returns its broker epoch.
    fn register(&mut self, id: i32) -> i64 {
        let request = BrokerRegistrationRequest {
            correlation_id: id,
            broker_id: id,
            previous_broker_epoch: -1,
        };
        let out = self.step(Input::Recv {
            from: broker_address(id),
            msg: Message::BrokerRegistrationRequest(request),
        });
        let epoch = sends(&out)
            .into_iter()
            .find_map(|(to, m)| match m {
                Message::BrokerRegistrationResponse(r) if to == broker_address(id) => {
                    Some(r.broker_epoch)
                }
                _ => None,
            })
            .expect("answered once the registration is committed");
        self.epochs.insert(id, epoch);
        epoch
    }

    /// Broker `id` heartbeats, caught up with the metadata log.
    fn heartbeat(&mut self, id: i32) -> Outbox<Vocab> {
        self.heartbeat_wanting(id, false)
    }

    /// Broker `id` heartbeats, caught up, asking to shut down if `want_shut_down`.
    fn heartbeat_wanting(&mut self, id: i32, want_shut_down: bool) -> Outbox<Vocab> {
        let request = BrokerHeartbeatRequest {
            correlation_id: 0,
            broker_id: id,
            broker_epoch: self.epochs[&id],
            current_metadata_offset: i64::MAX,
            want_shut_down,
        };
        self.step(Input::Recv {
            from: broker_address(id),
            msg: Message::BrokerHeartbeatRequest(request),
        })
    }

    /// Broker 1, the leader, asks the controller to shrink the ISR to `isr`.
    fn shrink(&mut self, isr: &[i32]) -> Outbox<Vocab> {
        let p = self.partition();
        let shrink = AlterPartitionRequest {
            correlation_id: 1,
            broker_id: 1,
            broker_epoch: self.epochs[&1],
            partition: tp(),
            leader_epoch: p.leader_epoch,
            new_isr: members(self, isr),
            partition_epoch: p.partition_epoch,
        };
        self.step(Input::Recv {
            from: broker_address(1),
            msg: Message::AlterPartitionRequest(shrink),
        })
    }

    /// The partition's current leader asks the controller for the ISR `isr`.
    fn leader_proposes(&mut self, isr: &[i32]) -> Outbox<Vocab> {
        let p = self.partition();
        let request = AlterPartitionRequest {
            correlation_id: 9,
            broker_id: p.leader,
            broker_epoch: self.epochs[&p.leader],
            partition: tp(),
            leader_epoch: p.leader_epoch,
            new_isr: members(self, isr),
            partition_epoch: p.partition_epoch,
        };
        self.step(Input::Recv {
            from: broker_address(p.leader),
            msg: Message::AlterPartitionRequest(request),
        })
    }

    fn session_check(&mut self) -> Outbox<Vocab> {
        self.step(Input::Timer(Timer::SessionCheck))
    }

    fn partition(&self) -> PartitionState {
        self.controller.partitions()[&tp()].clone()
    }

    /// Three brokers registered and unfenced; `t-0` created on them, led by broker 1.
    fn with_topic(configure: impl FnOnce(&mut ControllerConfig)) -> Self {
        let mut h = Harness::new(configure);
        for id in 1..=3 {
            h.register(id);
            h.heartbeat(id);
        }
        let p = h.partition();
        assert_eq!(
            (p.replicas.clone(), p.isr.clone(), p.leader),
            (vec![1, 2, 3], vec![1, 2, 3], 1)
        );
        h
    }
}

/// `ids` as an ISR proposal names them: each with the epoch it registered with.
fn members(h: &Harness, ids: &[i32]) -> Vec<BrokerState> {
    ids.iter()
        .map(|&broker_id| BrokerState {
            broker_id,
            broker_epoch: h.epochs[&broker_id],
        })
        .collect()
}

/// The partition changes the controller applied in `out`.
fn partition_changes(out: &Outbox<Vocab>) -> Vec<(Option<Vec<i32>>, Option<i32>)> {
    traces(out)
        .into_iter()
        .filter_map(|e| match e {
            NodeEvent::Controller(Event::RecordApplied {
                record: MetadataRecord::PartitionChangeRecord { isr, leader, .. },
                ..
            }) => Some((isr.clone(), *leader)),
            _ => None,
        })
        .collect()
}

/// A registration is answered only once its record is committed: the answer waits in the
/// `controller_commit` purgatory until the metadata high watermark passes it.
#[test]
fn answers_wait_until_the_decision_is_committed() {
    let mut h = Harness::new(|_| {});
    let request = BrokerRegistrationRequest {
        correlation_id: 7,
        broker_id: 1,
        previous_broker_epoch: -1,
    };
    let mut out = Outbox::new();
    h.controller.step(
        h.now,
        Input::Recv {
            from: broker_address(1),
            msg: Message::BrokerRegistrationRequest(request),
        },
        out.writer(),
    );
    assert!(sends(&out).is_empty(), "not committed yet");
    let held = traces(&out).into_iter().any(|e| {
        matches!(e, NodeEvent::Purgatory(purgatory::Event::Held { what, to: Some(to), .. })
            if what == "BrokerRegistrationResponse" && *to == broker_address(1))
    });
    assert!(held, "{:?}", traces(&out));
    let mut released = Outbox::new();
    for (file, token) in syncs(&out) {
        h.controller
            .step(h.now, Input::DiskDone { file, token }, released.writer());
    }
    assert!(traces(&released).into_iter().any(|e| matches!(
        e,
        NodeEvent::Purgatory(purgatory::Event::Released {
            outcome: Outcome::Completed,
            ..
        })
    )));
    assert!(matches!(
        sends(&released)[..],
        [(to, Message::BrokerRegistrationResponse(_))] if to == broker_address(1)
    ));
}

/// Before KIP-966 (`eligible.leader.replicas.version=0`).
fn legacy(config: &mut ControllerConfig) {
    config.legacy_pre_kip966 = true;
}

/// Reference: kafka-semantics.md K3; Kafka's `PartitionChangeBuilderTest.java`
/// testElectLeader (a live leader in the ISR stays; otherwise the first live ISR member in
/// replica order leads). A broker whose session expired is fenced, leaves the ISR, and a
/// partition it led elects the next ISR member. Before KIP-966 the last ISR member is never
/// removed, and without it the partition stays offline; with it, see
/// [`fencing_the_last_isr_member_empties_the_isr_into_the_elr`].
#[test]
fn fenced_brokers_leave_the_isr_and_the_next_isr_member_leads() {
    let mut h = Harness::with_topic(legacy);
    let epoch = h.partition().leader_epoch;
    // Brokers 2 and 3 keep heartbeating; broker 1 goes silent.
    h.at(5_000).heartbeat(2);
    h.heartbeat(3);
    let out = h.at(9_500).session_check();
    assert!(
        traces(&out).contains(&&NodeEvent::Controller(Event::BrokerFenced {
            broker_id: 1
        }))
    );
    assert_eq!(partition_changes(&out), vec![(Some(vec![2, 3]), Some(2))]);
    let p = h.partition();
    assert_eq!(
        (p.isr.clone(), p.leader, p.leader_epoch),
        (vec![2, 3], 2, epoch + 1)
    );

    // Broker 2 goes silent too: broker 3 is the whole ISR and leads.
    h.at(14_000).heartbeat(3);
    let out = h.at(15_000).session_check();
    assert_eq!(partition_changes(&out), vec![(Some(vec![3]), Some(3))]);

    // And then broker 3: it stays in the ISR (it has every committed record), offline.
    let out = h.at(24_000).session_check();
    assert_eq!(partition_changes(&out), vec![(None, Some(-1))]);
    let p = h.partition();
    assert_eq!((p.isr.clone(), p.leader), (vec![3], -1));
}

/// Reference: KIP-966; Kafka's `PartitionChangeBuilderTest
/// .testEligibleLeaderReplicas_IsrCanShrinkToZero` and `ReplicationControlManager
/// .handleBrokerFenced` with `eligible.leader.replicas.version=1`: fencing the last ISR member
/// empties the ISR; the member becomes an eligible leader replica and the last known leader,
/// and leads again, cleanly, from the ELR when it comes back unfenced.
#[test]
fn fencing_the_last_isr_member_empties_the_isr_into_the_elr() {
    let mut h = Harness::with_topic(|_| {});
    h.at(5_000).heartbeat(3);
    h.at(9_500).session_check();
    h.session_check();
    assert_eq!(h.partition().isr, vec![3]);
    let out = h.at(24_000).session_check();
    assert_eq!(partition_changes(&out), vec![(Some(vec![]), Some(-1))]);
    let p = h.partition();
    assert_eq!(
        (
            p.isr.clone(),
            p.eligible_leader_replicas.clone(),
            p.last_known_elr.clone()
        ),
        (vec![], vec![3], vec![3])
    );
    // Broker 3 was only silent (the same process): it heartbeats again and is unfenced.
    let out = h.at(25_000).heartbeat(3);
    let elected = traces(&out).into_iter().any(|e| {
        matches!(
            e,
            NodeEvent::Controller(Event::LeaderElected {
                leader: 3,
                election: Election::EligibleLeaderReplicas,
                ..
            })
        )
    });
    assert!(elected, "{:?}", traces(&out));
    let p = h.partition();
    assert_eq!(
        (p.isr.clone(), p.leader, p.eligible_leader_replicas.clone()),
        (vec![3], 3, vec![])
    );
}

/// Reference: KIP-966 ("last replica standing"); Kafka's `ClusterControlManager
/// .registerBroker` (a `previousBrokerEpoch` that is not the registered epoch means an
/// unclean shutdown) and `ReplicationControlManager.handleBrokerUncleanShutdown`. With
/// `min.insync.replicas=2`, broker 2 is fenced while the ISR is {1, 2}: it becomes eligible.
/// Broker 1, the last ISR member, loses power and registers again: it leaves the ISR, and
/// though it is back first it may not lead; broker 2, complete, leads once unfenced. Before
/// KIP-966 broker 1 leads with whatever its disk kept.
#[test]
fn a_broker_back_from_an_unclean_shutdown_leaves_the_isr_and_the_elr() {
    for pre_kip966 in [false, true] {
        let mut h = Harness::with_topic(|c| {
            c.min_insync_replicas = 2;
            c.legacy_pre_kip966 = pre_kip966;
        });
        h.shrink(&[1, 2]);
        // Broker 2 goes silent; broker 1 keeps heartbeating until it loses power at 6 s.
        h.at(5_000).heartbeat(1);
        h.heartbeat(3);
        h.at(9_500).session_check();
        let p = h.partition();
        let elr: &[i32] = if pre_kip966 { &[] } else { &[2] };
        assert_eq!(
            (p.isr.clone(), p.eligible_leader_replicas.clone()),
            (vec![1], elr.to_vec()),
            "pre_kip966={pre_kip966}"
        );
        // Broker 1 restarts after a power loss: a new registration, no clean shutdown.
        h.at(10_000).register(1);
        h.heartbeat(1);
        let p = h.partition();
        let expected = if pre_kip966 {
            (vec![1], 1, vec![])
        } else {
            (vec![], -1, vec![2])
        };
        assert_eq!(
            (p.isr.clone(), p.leader, p.eligible_leader_replicas.clone()),
            expected,
            "pre_kip966={pre_kip966}"
        );
        if !pre_kip966 {
            h.heartbeat(2);
            let p = h.partition();
            assert_eq!((p.isr.clone(), p.leader), (vec![2], 2));
        }
    }
}

/// Reference: kafka-semantics.md R6; Kafka's `PartitionChangeBuilderTest.java` testElectLeader
/// (with `Election.UNCLEAN` and an ISR of dead replicas, the first live replica leads, and
/// the election is unclean). The ISR shrank to the leader, which dies: without
/// `unclean.leader.election.enable` the partition waits offline for it; with it, a lagging
/// live replica leads with an ISR of itself.
#[test]
fn only_an_unclean_election_gives_the_partition_a_replica_outside_the_isr() {
    // Before KIP-966 the dead leader stays in the ISR; with it the ISR empties into the ELR.
    let cases = [
        (true, false, (vec![1], -1)),
        (true, true, (vec![2], 2)),
        (false, false, (vec![], -1)),
        (false, true, (vec![2], 2)),
    ];
    for (pre_kip966, unclean, expected) in cases {
        let mut h = Harness::with_topic(|c| {
            c.unclean_leader_election_enable = unclean;
            c.legacy_pre_kip966 = pre_kip966;
        });
        let out = h.shrink(&[1]);
        let answered = sends(&out).into_iter().any(|(_, m)| {
            matches!(m, Message::AlterPartitionResponse(r) if r.error == ErrorCode::None && r.isr == vec![1])
        });
        assert!(
            answered,
            "the shrink is accepted and answered once committed"
        );
        h.at(5_000).heartbeat(2);
        h.heartbeat(3);
        h.at(9_500).session_check();
        let p = h.partition();
        assert_eq!(
            (p.isr.clone(), p.leader),
            expected,
            "pre_kip966={pre_kip966} unclean={unclean}"
        );
    }
}

/// Reference: Kafka's `ReplicationControlManager.maybeFenceOneStaleBroker` (called by the
/// `QuorumController`'s periodic fencing task, which runs again at once while another broker
/// is stale) and `handleBrokerFenced`: brokers whose sessions expire together are fenced one
/// per metadata write, oldest contact first. The first leaves the ISR while the second still
/// counts as alive, so the ISR ends as the second alone — Kafka keeps the last member — and
/// only it may lead cleanly when it returns. Fencing both in one write would keep the whole
/// ISR `[1, 2]`, and broker 1, which is no longer known to hold everything, could lead first.
#[test]
fn brokers_expiring_together_are_fenced_one_at_a_time() {
    let mut h = Harness::with_topic(legacy);
    h.shrink(&[1, 2]);
    assert_eq!(h.partition().isr, vec![1, 2]);
    // Brokers 1 and 2 go silent together; broker 3 (not in the ISR) keeps heartbeating.
    h.at(5_000).heartbeat(3);
    let first = h.at(9_500).session_check();
    let fenced = |out: &Outbox<Vocab>| -> Vec<i32> {
        traces(out)
            .into_iter()
            .filter_map(|e| match e {
                NodeEvent::Controller(Event::BrokerFenced { broker_id }) => Some(*broker_id),
                _ => None,
            })
            .collect()
    };
    assert_eq!(fenced(&first), vec![1], "one broker per check");
    assert_eq!(partition_changes(&first), vec![(Some(vec![2]), Some(2))]);
    let second = h.session_check();
    assert_eq!(fenced(&second), vec![2], "the next stale broker, at once");
    assert_eq!(partition_changes(&second), vec![(None, Some(-1))]);
    let p = h.partition();
    assert_eq!((p.isr.clone(), p.leader), (vec![2], -1));
}

/// Reference: KIP-903; Kafka's `ReplicationControlManager.ineligibleReplicasForIsr` and
/// `ClusterControlManager.checkBrokerEpoch`. An ISR expansion naming a follower
/// with the broker epoch of a process that has since re-registered is refused with
/// INELIGIBLE_REPLICA (the leader saw the *old* process fetch), as is one naming a fenced
/// broker; a request from a leader whose own broker epoch is stale gets STALE_BROKER_EPOCH;
/// the same proposal with the current epochs is accepted.
#[test]
fn an_isr_member_must_be_named_with_the_broker_epoch_it_is_registered_with() {
    let mut h = Harness::with_topic(|_| {});
    let answer = |h: &mut Harness, broker_epoch: i64, new_isr: Vec<BrokerState>| {
        let p = h.partition();
        let request = AlterPartitionRequest {
            correlation_id: 7,
            broker_id: 1,
            broker_epoch,
            partition: tp(),
            leader_epoch: p.leader_epoch,
            new_isr,
            partition_epoch: p.partition_epoch,
        };
        let out = h.step(Input::Recv {
            from: broker_address(1),
            msg: Message::AlterPartitionRequest(request),
        });
        sends(&out).into_iter().find_map(|(_, m)| match m {
            Message::AlterPartitionResponse(r) => Some(r.error),
            _ => None,
        })
    };
    let old_epoch_of_3 = h.epochs[&3];
    // Broker 3 restarts: a new process registers with a new broker epoch and, caught up,
    // is unfenced — only the epoch tells the old process from the new one.
    h.register(3);
    h.heartbeat(3);
    assert!(!h.controller.latest.brokers[&3].fenced);
    assert_ne!(h.epochs[&3], old_epoch_of_3);
    let stale_member = vec![
        BrokerState {
            broker_id: 1,
            broker_epoch: h.epochs[&1],
        },
        BrokerState {
            broker_id: 2,
            broker_epoch: h.epochs[&2],
        },
        BrokerState {
            broker_id: 3,
            broker_epoch: old_epoch_of_3,
        },
    ];
    let leader = h.epochs[&1];
    assert_eq!(
        answer(&mut h, leader, stale_member),
        Some(ErrorCode::IneligibleReplica)
    );
    assert_eq!(
        {
            let isr = members(&h, &[1, 2]);
            answer(&mut h, leader - 1, isr)
        },
        Some(ErrorCode::StaleBrokerEpoch)
    );
    // Broker 2 goes silent and is fenced: naming it is refused too.
    h.at(5_000).heartbeat(1);
    h.heartbeat(3);
    h.at(9_500).session_check();
    assert_eq!(
        {
            let isr = members(&h, &[1, 2]);
            answer(&mut h, leader, isr)
        },
        Some(ErrorCode::IneligibleReplica)
    );
    // With the epochs the brokers are registered with now, the shrink is accepted (answered
    // once committed, in a later step; no error now).
    assert_eq!(
        {
            let isr = members(&h, &[1]);
            answer(&mut h, leader, isr)
        },
        Some(ErrorCode::None)
    );
}

/// The heartbeat response the controller sent broker `id` in `out`.
fn heartbeat_response(out: &Outbox<Vocab>, id: i32) -> BrokerHeartbeatResponse {
    sends(out)
        .into_iter()
        .find_map(|(to, m)| match m {
            Message::BrokerHeartbeatResponse(r) if to == broker_address(id) => Some(r.clone()),
            _ => None,
        })
        .expect("every heartbeat is answered")
}

/// Kafka's `BrokerHeartbeatManager.calculateNextBrokerState` and
/// `ReplicationControlManager.handleBrokerInControlledShutdown`: an unfenced broker that
/// wants to shut down while it leads enters controlled shutdown — it leaves the ISR and its
/// leadership moves — and is told to shut down (and fenced) only once it leads nothing.
#[test]
fn a_leader_that_wants_to_shut_down_is_released_once_its_leadership_moved() {
    let mut h = Harness::with_topic(|_| {});
    let out = h.at(100).heartbeat_wanting(1, true);
    assert!(
        traces(&out).contains(&&NodeEvent::Controller(Event::ControlledShutdownStarted {
            broker_id: 1
        }))
    );
    let answer = heartbeat_response(&out, 1);
    assert!(!answer.should_shut_down && !answer.is_fenced, "{answer:?}");
    let p = h.partition();
    assert_ne!(p.leader, 1, "the leadership moved");
    assert!(
        !p.isr.contains(&1),
        "a broker in controlled shutdown leaves the ISR"
    );
    assert!(h.controller.latest.brokers[&1].in_controlled_shutdown);
    // Every active broker applied the change (they report i64::MAX): it may go.
    let out = h.at(2100).heartbeat_wanting(1, true);
    let answer = heartbeat_response(&out, 1);
    assert!(answer.should_shut_down, "{answer:?}");
    assert!(
        h.controller.latest.brokers[&1].fenced,
        "SHUTDOWN_NOW fences it"
    );
}

/// `calculateNextBrokerState`: a broker that leads nothing, or is fenced, may shut down at once.
#[test]
fn a_broker_that_leads_nothing_may_shut_down_at_once() {
    let mut h = Harness::with_topic(|_| {});
    let out = h.at(100).heartbeat_wanting(3, true);
    assert!(heartbeat_response(&out, 3).should_shut_down);
    assert!(
        !traces(&out).contains(&&NodeEvent::Controller(Event::ControlledShutdownStarted {
            broker_id: 3
        })),
        "no controlled shutdown for a broker that leads nothing"
    );
    assert!(!h.partition().isr.contains(&3), "fenced, it left the ISR");
    let out = h.at(200).heartbeat_wanting(3, true);
    assert!(
        heartbeat_response(&out, 3).should_shut_down,
        "fenced: at once"
    );
}

/// A broker in controlled shutdown may not rejoin an ISR (KIP-841's
/// `ineligibleReplicasForIsr`): the leader's proposal naming it is refused.
#[test]
fn a_broker_in_controlled_shutdown_is_ineligible_for_the_isr() {
    let mut h = Harness::with_topic(|_| {});
    let out = h.at(100).heartbeat_wanting(1, true);
    assert!(!heartbeat_response(&out, 1).should_shut_down);
    let out = h.leader_proposes(&[1, 2, 3]);
    let error = sends(&out).into_iter().find_map(|(_, m)| match m {
        Message::AlterPartitionResponse(r) => Some(r.error),
        _ => None,
    });
    assert_eq!(error, Some(ErrorCode::IneligibleReplica));
}

/// `QuorumController.maybeScheduleNextBalancePartitionLeaders` and
/// `ReplicationControlManager.maybeBalancePartitionLeaders`: a write that leaves a partition
/// away from its preferred leader schedules a rebalance `leader.imbalance.check.interval.seconds`
/// later, which gives the leadership back once the preferred replica is in the ISR again.
#[test]
fn the_leadership_goes_back_to_the_preferred_replica_after_the_check_interval() {
    let mut h = Harness::with_topic(|c| c.leader_imbalance_check_interval_seconds = 10);
    h.at(100).heartbeat_wanting(1, true);
    h.at(2100).heartbeat_wanting(1, true);
    assert_ne!(h.partition().leader, 1);
    // Broker 1 comes back and the leader lets it into the ISR.
    h.at(3000).register(1);
    h.at(3100).heartbeat(1);
    let p = h.partition();
    h.at(3200).leader_proposes(&[1, 2, 3]);
    assert_eq!(h.partition().isr, vec![1, 2, 3]);
    let out = h.at(10_100).step(Input::Timer(Timer::LeaderBalance));
    assert!(
        traces(&out).contains(&&NodeEvent::Controller(Event::LeaderElected {
            partition: tp(),
            leader: 1,
            election: Election::Preferred,
        }))
    );
    assert_eq!(h.partition().leader, 1);
    assert_eq!(h.partition().leader_epoch, p.leader_epoch + 1);
}

/// With `auto.leader.rebalance.enable=false` the controller never schedules the rebalance.
#[test]
fn without_auto_leader_rebalance_no_rebalance_is_scheduled() {
    for enabled in [true, false] {
        let mut h = Harness::with_topic(|c| c.auto_leader_rebalance_enable = enabled);
        let out = h.at(100).heartbeat_wanting(1, true);
        let scheduled = timers_set(&out).contains(&&Timer::LeaderBalance);
        assert_eq!(scheduled, enabled, "auto.leader.rebalance.enable={enabled}");
    }
}
