//! The KRaft controller: a member of the metadata quorum that, while it leads, decides.
//!
//! Every controller replicates the metadata log ([`crate::quorum`]). The one that leads the
//! quorum is the *active controller*: it registers brokers, unfences them once they have
//! caught up with the metadata log, fences them when they miss heartbeats for
//! `broker.session.timeout.ms`, creates topics, elects partition leaders and accepts ISR
//! changes (`AlterPartition`) — each decision a record appended to the log. Answers to brokers
//! leave only once the record is committed, so a controller failover never forgets a decision
//! it announced.
//!
//! Brokers whose sessions expire are fenced one per metadata write, oldest contact first, as
//! Kafka's `ReplicationControlManager.maybeFenceOneStaleBroker` does; each fencing removes the
//! broker from the ISR of its partitions and elects where the leader is gone
//! ([`placement::partition_change`], Kafka's `PartitionChangeBuilder`).
//!
//! **Eligible leader replicas (KIP-966)** are on unless `kafkasim.legacy.pre.kip966` is set:
//! at its first activation the controller writes `eligible.leader.replicas.version=1` and the
//! cluster-wide `min.insync.replicas` (its own setting) to the metadata log, as
//! `kafka-storage format` bootstraps a Kafka 4.1 cluster. Replicas that leave an ISR smaller
//! than `min.insync.replicas` become eligible leader replicas; the ISR may become empty, the
//! leader it had being kept as the last known leader; a broker that registers again without
//! naming the epoch of a clean shutdown (`previousBrokerEpoch`) leaves every ISR and ELR. With
//! the legacy switch the last ISR member stays in the ISR however it died, as before Kafka 4.
//!
//! **Controlled shutdown**: a broker that asks in its heartbeat to shut down while it leads
//! enters controlled shutdown (`BrokerRegistrationChangeRecord`): it may no longer lead or join
//! an ISR, leaves the ISRs as a fenced broker would, and is told `shouldShutDown` (and fenced)
//! once it leads nothing and every unfenced broker has applied those changes, as Kafka's
//! `BrokerHeartbeatManager.calculateNextBrokerState` decides.
//!
//! **Preferred leaders** (`auto.leader.rebalance.enable`): after a write that leaves a
//! partition led by another replica than its first, the controller waits
//! `leader.imbalance.check.interval.seconds`, then gives each such leadership back to its
//! preferred replica if that one is in the ISR and active.
//!
//! ## Where this differs from Kafka's `ReplicationControlManager` (known, to be closed)
//!
//! - An unclean election (or of the last known leader) does not set the partition's leader
//!   recovery state to RECOVERING, and the new leader does not report RECOVERED.
//! - `min.insync.replicas` and `unclean.leader.election.enable` are read once, at topic
//!   creation (topic configs) or bootstrap (the cluster default); changing them later
//!   (`kafka-configs --alter`, which clears the ELRs in Kafka) is not modelled.
//! - Kafka's `canElectLastKnownLeader` does not check that the last known leader is unfenced
//!   (its log message reads as if it meant to); here a fenced one is not elected.
//! - `AlterPartition` proposals naming a replica outside the partition, or without the leader,
//!   get `INVALID_UPDATE_VERSION`, where Kafka answers `INVALID_REQUEST`.
//! - A preferred-leader rebalance moves every partition it can at once; Kafka's moves at most
//!   1,000 per run and runs again 10 ms later. `leader.imbalance.per.broker.percentage` is
//!   accepted and ignored, as Kafka's KRaft controller ignores it.
//! - A controller shutting down (SIGTERM) just exits; Kafka's active controller first resigns
//!   (`EndQuorumEpoch`) so that the next election starts at once.
//! - An unclean election happens in the same write that finds a partition leaderless; Kafka's
//!   KRaft controller runs it from a periodic task.
//! - Replica placement has no racks and no random starting broker
//!   ([`placement::assign_replicas`]).

pub mod placement;

use crate::config::TopicSpec;
use crate::ids::{NodeId, TopicPartition};
use crate::metadata::{
    ConfigResourceType, ELIGIBLE_LEADER_REPLICAS_VERSION, MetadataImage, MetadataRecord,
};
use crate::node::{Boot, Input, Never, Vocabulary};
use crate::protocol::{
    AlterPartitionRequest, AlterPartitionResponse, BrokerHeartbeatRequest, BrokerHeartbeatResponse,
    BrokerRegistrationRequest, BrokerRegistrationResponse, BrokerState, ErrorCode, Message,
    isr_ids,
};
use crate::purgatory::{Condition, Hold, Outcome, Purgatory, PurgatoryName};
use crate::quorum::{self, Quorum, QuorumConfig};
use crate::time::{Duration, Instant};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The controller's named deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// The active controller looks for brokers whose session expired.
    SessionCheck,
    /// The active controller moves leaderships back to preferred replicas.
    LeaderBalance,
    /// Its metadata quorum member's deadlines.
    Quorum(quorum::Timer),
}

impl From<quorum::Timer> for Timer {
    fn from(t: quorum::Timer) -> Self {
        Timer::Quorum(t)
    }
}

/// What the active controller records in the trace: its decisions about brokers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// This controller became the active controller (it leads the metadata quorum).
    Activated {
        /// The quorum epoch.
        epoch: i32,
    },
    /// It registered a broker (fenced until it catches up).
    BrokerRegistered {
        /// The broker's `node.id`.
        broker_id: i32,
        /// Its new broker epoch.
        broker_epoch: i64,
        /// It was registered before and did not say its last shutdown was clean (KIP-966's
        /// `previousBrokerEpoch`): its log may have lost unflushed records, so it leaves every
        /// ISR and ELR.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unclean_shutdown: bool,
    },
    /// A partition's eligible leader replicas changed (KIP-966).
    EligibleLeaderReplicasChanged {
        /// The partition.
        partition: TopicPartition,
        /// The new ELR (empty: cleared).
        eligible_leader_replicas: Vec<i32>,
        /// The ISR they stand beside.
        isr: Vec<i32>,
    },
    /// It chose a new leader for a partition.
    LeaderElected {
        /// The partition.
        partition: TopicPartition,
        /// The new leader's broker id.
        leader: i32,
        /// How it was chosen.
        election: placement::Election,
    },
    /// It unfenced a broker: the broker may lead and follow partitions.
    BrokerUnfenced {
        /// The broker's `node.id`.
        broker_id: i32,
    },
    /// A broker asked to shut down while leading partitions: it enters controlled shutdown,
    /// leaves every ISR it is not the last member of, and its leaderships move.
    ControlledShutdownStarted {
        /// The broker's `node.id`.
        broker_id: i32,
    },
    /// A broker that asked to shut down may stop: it leads nothing and every active broker
    /// knows it. It is fenced (Kafka's SHUTDOWN_NOW).
    ShutdownGranted {
        /// The broker's `node.id`.
        broker_id: i32,
    },
    /// It fenced a broker whose heartbeats stopped.
    BrokerFenced {
        /// The broker's `node.id`.
        broker_id: i32,
    },
    /// A controller applied a committed metadata record to its image of the cluster (every
    /// controller does, the active one and the standbys).
    RecordApplied {
        /// The record's offset in the metadata log.
        offset: i64,
        /// The record.
        record: crate::metadata::MetadataRecord,
    },
}

/// The words a controller speaks (its events are the node's: its own and its quorum's).
#[derive(Debug)]
pub enum Vocab {}

impl Vocabulary for Vocab {
    type Msg = Message;
    type Timer = Timer;
    type Event = crate::actor::Event;
    type Reply = Never;
    type Command = Never;
}

type Out<'a> = dyn crate::node::Out<Vocab> + 'a;

/// A controller's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerConfig {
    /// Quorum membership and timeouts (`node.id`, `controller.quorum.voters`, ...).
    pub quorum: QuorumConfig,
    /// `broker.session.timeout.ms`: fence a broker silent this long. Default 9000.
    pub broker_session_timeout_ms: u64,
    /// `unclean.leader.election.enable`: may a replica outside the ISR lead? Default false.
    /// A topic's own setting overrides it.
    pub unclean_leader_election_enable: bool,
    /// `min.insync.replicas`: the cluster-wide default, which the controller writes to the
    /// metadata log when eligible leader replicas are on (Kafka 4 then ignores brokers' own
    /// values). A topic's own setting overrides it. Default 1.
    pub min_insync_replicas: usize,
    /// Before KIP-966: `eligible.leader.replicas.version=0`, so no eligible leader replicas,
    /// no strict min-ISR rule on the brokers, and the last ISR member stays in the ISR however
    /// it died — the "last replica standing" loss. `kafkasim.legacy.pre.kip966`, default false
    /// (Kafka 4.1's default for new clusters is level 1).
    pub legacy_pre_kip966: bool,
    /// `auto.leader.rebalance.enable`: move leaderships back to preferred replicas. Default
    /// true.
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds`: how long after a write that leaves a
    /// partition away from its preferred leader the controller rebalances. Default 300.
    pub leader_imbalance_check_interval_seconds: u64,
    /// `leader.imbalance.per.broker.percentage`: accepted, and ignored as Kafka's KRaft
    /// controller ignores it (only the ZooKeeper controller used it). Default 10.
    pub leader_imbalance_per_broker_percentage: u32,
    /// Topics to create once enough brokers are alive.
    pub topics: Vec<TopicSpec>,
}

impl ControllerConfig {
    /// Kafka's defaults for the controller `node_id`, which creates `topics`. The quorum's
    /// voters are empty: they are known once every controller is.
    pub fn new(node_id: i32, topics: Vec<TopicSpec>) -> Self {
        ControllerConfig {
            quorum: QuorumConfig::new(node_id, BTreeMap::new()),
            broker_session_timeout_ms: 9000,
            unclean_leader_election_enable: false,
            min_insync_replicas: 1,
            legacy_pre_kip966: false,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_seconds: 300,
            leader_imbalance_per_broker_percentage: 10,
            topics,
        }
    }
}

/// Where a broker stands with the active controller (Kafka's `BrokerControlState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BrokerControlState {
    /// Registered, not yet caught up, or fenced since.
    Fenced,
    /// May lead and follow.
    Unfenced,
    /// Asked to shut down; its leaderships are moving away.
    ControlledShutdown,
    /// May stop now.
    ShutdownNow,
}

/// How often the active controller looks for brokers whose session expired.
const SESSION_CHECK_MS: u64 = 500;

/// A controller node.
#[derive(Debug)]
pub struct Controller {
    config: ControllerConfig,
    quorum: Quorum,
    /// Committed metadata.
    committed: MetadataImage,
    /// Committed plus this leader's uncommitted records: what decisions are based on.
    latest: MetadataImage,
    /// Last heartbeat per broker (the active controller's memory only).
    heartbeats: BTreeMap<i32, Instant>,
    /// The metadata offset each broker last said it had applied (memory only).
    metadata_offsets: BTreeMap<i32, i64>,
    /// Where each broker in controlled shutdown entered it: the offset of the records that
    /// moved its leaderships (memory only; a new active controller starts without).
    controlled_shutdown_offsets: BTreeMap<i32, i64>,
    /// Whether a preferred-leader rebalance is scheduled (Kafka's `imbalancedScheduled`).
    balance_scheduled: bool,
    /// Responses to send once the metadata log commits past an offset (Kafka's
    /// `DeferredEventQueue` of the `QuorumController`).
    awaiting_commit: Purgatory<(NodeId, Message)>,
    leading: bool,
}

impl Controller {
    /// Start from the disk: recover the metadata log and replay it.
    pub fn boot<C>(boot: &Boot<'_, C>, config: &ControllerConfig, out: &mut Out) -> Self {
        let quorum = Quorum::boot(
            config.quorum.clone(),
            true,
            boot.disk,
            boot.prng.clone(),
            boot.now,
            &mut out.scoped(),
        );
        let mut controller = Controller {
            config: config.clone(),
            quorum,
            committed: MetadataImage::default(),
            latest: MetadataImage::default(),
            heartbeats: BTreeMap::new(),
            metadata_offsets: BTreeMap::new(),
            controlled_shutdown_offsets: BTreeMap::new(),
            balance_scheduled: false,
            awaiting_commit: Purgatory::new(PurgatoryName::ControllerCommit),
            leading: false,
        };
        controller.after_step(boot.now, out);
        controller
    }

    /// The metadata quorum member.
    pub fn quorum(&self) -> &Quorum {
        &self.quorum
    }

    /// What the controller lets the world see: its quorum membership and the committed
    /// metadata.
    pub fn view(&self) -> crate::view::ControllerView {
        crate::view::ControllerView {
            quorum: self.quorum.view(),
            brokers: self.committed.registered_brokers(),
            partitions: self.committed.partition_assignments(),
        }
    }

    /// Committed metadata.
    pub fn image(&self) -> &MetadataImage {
        &self.committed
    }

    /// Handle one input.
    pub fn step(&mut self, now: Instant, input: Input<Vocab>, out: &mut Out) {
        match input {
            Input::Recv { from, msg } => {
                if let Some(msg) = self.quorum.on_message(now, from, msg, &mut out.scoped()) {
                    match msg {
                        Message::BrokerRegistrationRequest(r) => {
                            self.on_registration(now, from, r, out)
                        }
                        Message::BrokerHeartbeatRequest(r) => self.on_heartbeat(now, from, r, out),
                        Message::AlterPartitionRequest(r) => {
                            self.on_alter_partition(now, from, r, out)
                        }
                        _ => {}
                    }
                }
            }
            Input::Timer(Timer::Quorum(t)) => self.quorum.on_timer(now, t, &mut out.scoped()),
            Input::Timer(Timer::SessionCheck) => self.on_session_check(now, out),
            Input::Timer(Timer::LeaderBalance) => self.balance_partition_leaders(now, out),
            Input::Command(never) => match never {},
            // Every file of a controller is its metadata log's.
            Input::DiskDone { token, .. } => {
                self.quorum.on_disk_done(now, token, &mut out.scoped())
            }
            Input::Disconnected { peer } => {
                self.quorum.on_disconnected(now, peer, &mut out.scoped())
            }
            // Its metadata log is synced as it goes: nothing to finish (Kafka's active
            // controller also resigns with EndQuorumEpoch, not modelled; see the module doc).
            Input::Terminate => return out.exit(),
        }
        self.after_step(now, out);
    }

    /// Apply what was committed, release answers, and notice leadership changes.
    fn after_step(&mut self, now: Instant, out: &mut Out) {
        for (offset, record) in self.quorum.take_committed() {
            self.committed.apply(&record);
            out.trace(Event::RecordApplied { offset, record });
        }
        let hw = self.quorum.high_watermark();
        let ready = self.awaiting_commit.complete(
            |_, c| matches!(c, Condition::HighWatermark { offset, .. } if hw >= *offset),
            out,
        );
        for (_, w) in ready {
            let (to, message) = w.op;
            out.send(to, message);
        }
        let leading = self.quorum.is_leader();
        if leading && !self.leading {
            self.on_become_active(now, out);
        } else if !leading && self.leading {
            // Uncommitted decisions of a deposed leader may be truncated: forget them, and
            // the answers that announced them (the brokers will ask the next controller).
            self.latest = self.committed.clone();
            self.awaiting_commit.take_all(Outcome::Aborted, out);
            self.heartbeats.clear();
            self.metadata_offsets.clear();
            self.controlled_shutdown_offsets.clear();
            out.cancel_timer(Timer::SessionCheck);
            out.cancel_timer(Timer::LeaderBalance);
            self.balance_scheduled = false;
        }
        self.leading = leading;
        if leading {
            self.maybe_create_topics(now, out);
            self.maybe_schedule_balance(now, out);
        }
        if cfg!(debug_assertions) {
            self.quorum.debug_check_invariants();
        }
    }

    fn on_become_active(&mut self, now: Instant, out: &mut Out) {
        self.latest = MetadataImage::default();
        for (_, record) in self.quorum.all_records() {
            self.latest.apply(&record);
        }
        // Every broker gets a full session to reach the new active controller.
        self.heartbeats = self.latest.brokers.keys().map(|id| (*id, now)).collect();
        out.trace(Event::Activated {
            epoch: self.quorum.epoch(),
        });
        self.bootstrap(now, out);
        out.set_timer(
            Timer::SessionCheck,
            now + Duration::from_millis(SESSION_CHECK_MS),
        );
    }

    /// A new cluster's first records, as `kafka-storage format` bootstraps them: the
    /// `eligible.leader.replicas.version` feature and, with it on, the cluster-wide
    /// `min.insync.replicas` (Kafka 4 then takes it from the cluster, not from each broker).
    fn bootstrap(&mut self, now: Instant, out: &mut Out) {
        if self
            .latest
            .features
            .contains_key(ELIGIBLE_LEADER_REPLICAS_VERSION)
        {
            return;
        }
        let elr = !self.config.legacy_pre_kip966;
        let mut records = vec![MetadataRecord::FeatureLevelRecord {
            name: ELIGIBLE_LEADER_REPLICAS_VERSION.to_string(),
            feature_level: i16::from(elr),
        }];
        if elr {
            records.push(MetadataRecord::ConfigRecord {
                resource_type: ConfigResourceType::Broker,
                resource_name: String::new(),
                name: crate::config::MIN_INSYNC_REPLICAS.to_string(),
                value: Some(self.config.min_insync_replicas.to_string()),
            });
        }
        self.propose(now, records, out);
    }

    /// Append `records` (applying them to the latest image); returns the last offset.
    fn propose(
        &mut self,
        now: Instant,
        records: Vec<MetadataRecord>,
        out: &mut Out,
    ) -> Option<i64> {
        let offset = self.quorum.propose(now, &records, &mut out.scoped())?;
        for r in &records {
            self.latest.apply(r);
        }
        Some(offset)
    }

    /// Hold `message` for `to` until the metadata log commits the record at `offset`: a
    /// decision is announced only once a controller failover can no longer undo it.
    fn answer_once_committed(&mut self, offset: i64, to: NodeId, message: Message, out: &mut Out) {
        let hold = Hold {
            what: crate::node::Describe::name(&message),
            to: Some(to),
            until: vec![Condition::HighWatermark {
                partition: TopicPartition::new(quorum::METADATA_TOPIC, 0),
                offset: offset + 1,
            }],
            expires_at: None,
        };
        self.awaiting_commit.hold((to, message), hold, out);
    }

    fn not_controller(&self) -> ErrorCode {
        ErrorCode::NotController
    }

    fn on_registration(
        &mut self,
        now: Instant,
        from: NodeId,
        r: BrokerRegistrationRequest,
        out: &mut Out,
    ) {
        if !self.leading {
            let response = BrokerRegistrationResponse {
                correlation_id: r.correlation_id,
                error: self.not_controller(),
                broker_epoch: -1,
            };
            out.send(from, Message::BrokerRegistrationResponse(response));
            return;
        }
        // The broker epoch is the offset of the registration record, as in Kafka.
        let broker_epoch = self.quorum.log().log_end_offset();
        // Kafka's `ClusterControlManager.registerBroker`: a broker known before that does not
        // name its current epoch as the one it shut down cleanly in restarted uncleanly.
        let unclean_shutdown = self
            .latest
            .brokers
            .get(&r.broker_id)
            .is_some_and(|b| b.broker_epoch != r.previous_broker_epoch);
        let mut records = vec![MetadataRecord::RegisterBrokerRecord {
            broker_id: r.broker_id,
            address: from,
            broker_epoch,
        }];
        // A re-registering broker restarted: until it catches up it leads nothing.
        let mut after = self.latest.clone();
        after.apply(&records[0]);
        let unclean = unclean_shutdown.then_some(r.broker_id);
        records.extend(self.elections(&after, unclean, out));
        self.heartbeats.insert(r.broker_id, now);
        if let Some(offset) = self.propose(now, records, out) {
            out.trace(Event::BrokerRegistered {
                broker_id: r.broker_id,
                broker_epoch,
                unclean_shutdown,
            });
            let response = BrokerRegistrationResponse {
                correlation_id: r.correlation_id,
                error: ErrorCode::None,
                broker_epoch,
            };
            self.answer_once_committed(
                offset,
                from,
                Message::BrokerRegistrationResponse(response),
                out,
            );
        }
    }

    fn on_heartbeat(
        &mut self,
        now: Instant,
        from: NodeId,
        r: BrokerHeartbeatRequest,
        out: &mut Out,
    ) {
        let mut response = BrokerHeartbeatResponse {
            correlation_id: r.correlation_id,
            error: ErrorCode::None,
            is_caught_up: false,
            is_fenced: true,
            should_shut_down: false,
        };
        if !self.leading {
            response.error = self.not_controller();
            out.send(from, Message::BrokerHeartbeatResponse(response));
            return;
        }
        let Some(broker) = self.latest.brokers.get(&r.broker_id).cloned() else {
            response.error = ErrorCode::StaleBrokerEpoch;
            out.send(from, Message::BrokerHeartbeatResponse(response));
            return;
        };
        if broker.broker_epoch != r.broker_epoch {
            response.error = ErrorCode::StaleBrokerEpoch;
            out.send(from, Message::BrokerHeartbeatResponse(response));
            return;
        }
        self.heartbeats.insert(r.broker_id, now);
        self.metadata_offsets
            .insert(r.broker_id, r.current_metadata_offset);
        // Caught up: the broker has applied the metadata log past its own registration.
        response.is_caught_up = r.current_metadata_offset > broker.broker_epoch;
        let (current, next) = self.next_broker_state(&r, &broker);
        response.is_fenced = next == BrokerControlState::Fenced
            || (current == BrokerControlState::Fenced && next == BrokerControlState::ShutdownNow);
        response.should_shut_down = next == BrokerControlState::ShutdownNow;
        let change = match (current, next) {
            (BrokerControlState::Fenced, BrokerControlState::Unfenced) => {
                out.trace(Event::BrokerUnfenced {
                    broker_id: r.broker_id,
                });
                Some(MetadataRecord::UnfenceBrokerRecord {
                    broker_id: r.broker_id,
                    broker_epoch: r.broker_epoch,
                })
            }
            (BrokerControlState::Unfenced, BrokerControlState::ControlledShutdown) => {
                out.trace(Event::ControlledShutdownStarted {
                    broker_id: r.broker_id,
                });
                Some(MetadataRecord::BrokerRegistrationChangeRecord {
                    broker_id: r.broker_id,
                    broker_epoch: r.broker_epoch,
                    in_controlled_shutdown: true,
                })
            }
            // Kafka's `handleBrokerFenced` for SHUTDOWN_NOW: the broker leaves every ISR.
            (
                BrokerControlState::Unfenced | BrokerControlState::ControlledShutdown,
                BrokerControlState::ShutdownNow,
            ) => {
                out.trace(Event::ShutdownGranted {
                    broker_id: r.broker_id,
                });
                Some(MetadataRecord::FenceBrokerRecord {
                    broker_id: r.broker_id,
                    broker_epoch: r.broker_epoch,
                })
            }
            _ => None,
        };
        if let Some(record) = change {
            let mut after = self.latest.clone();
            after.apply(&record);
            let mut records = vec![record];
            records.extend(self.elections(&after, None, out));
            if let Some(offset) = self.propose(now, records, out) {
                if next == BrokerControlState::ControlledShutdown {
                    self.controlled_shutdown_offsets.insert(r.broker_id, offset);
                }
                self.answer_once_committed(
                    offset,
                    from,
                    Message::BrokerHeartbeatResponse(response),
                    out,
                );
                return;
            }
        }
        out.send(from, Message::BrokerHeartbeatResponse(response));
    }

    /// Where a heartbeat moves its broker, from where it stands (Kafka's
    /// `BrokerHeartbeatManager.calculateNextBrokerState`): a fenced broker is unfenced once it
    /// has caught up; one that wants to shut down stops at once if it leads nothing, and else
    /// enters controlled shutdown, leaving it only once it leads nothing and every active
    /// broker has applied the records that moved its leaderships.
    fn next_broker_state(
        &self,
        r: &BrokerHeartbeatRequest,
        broker: &crate::metadata::BrokerState,
    ) -> (BrokerControlState, BrokerControlState) {
        let leads = || {
            self.latest
                .partitions
                .values()
                .any(|p| p.leader == r.broker_id)
        };
        if broker.in_controlled_shutdown {
            let shutdown_offset = self
                .controlled_shutdown_offsets
                .get(&r.broker_id)
                .copied()
                .unwrap_or(-1);
            let next = if leads() || shutdown_offset >= self.lowest_active_offset() {
                BrokerControlState::ControlledShutdown
            } else {
                BrokerControlState::ShutdownNow
            };
            return (BrokerControlState::ControlledShutdown, next);
        }
        if broker.fenced {
            let next = if r.want_shut_down {
                BrokerControlState::ShutdownNow
            } else if r.current_metadata_offset > broker.broker_epoch {
                BrokerControlState::Unfenced
            } else {
                BrokerControlState::Fenced
            };
            return (BrokerControlState::Fenced, next);
        }
        let next = match (r.want_shut_down, leads()) {
            (false, _) => BrokerControlState::Unfenced,
            (true, true) => BrokerControlState::ControlledShutdown,
            (true, false) => BrokerControlState::ShutdownNow,
        };
        (BrokerControlState::Unfenced, next)
    }

    /// The metadata offset every unfenced broker has applied (exclusive: the next offset
    /// each will apply), as their heartbeats last reported it.
    fn lowest_active_offset(&self) -> i64 {
        self.latest
            .brokers
            .iter()
            .filter(|(_, b)| !b.fenced)
            .map(|(id, _)| self.metadata_offsets.get(id).copied().unwrap_or(0))
            .min()
            .unwrap_or(i64::MAX)
    }

    /// Fence the broker whose session expired longest ago, if any — one per check, as Kafka's
    /// `ReplicationControlManager.maybeFenceOneStaleBroker` does — and look again at once if
    /// another has expired too. Fencing one broker at a time matters when several die
    /// together: the first fenced leaves the ISR while the others still count as alive, so
    /// the ISR ends up naming the last of them only (Kafka keeps the last member), not all.
    fn on_session_check(&mut self, now: Instant, out: &mut Out) {
        if !self.leading {
            return;
        }
        let timeout = Duration::from_millis(self.config.broker_session_timeout_ms);
        let expired = |id: &i32| {
            self.heartbeats
                .get(id)
                .is_none_or(|t| now.saturating_since(*t) >= timeout)
        };
        let mut stale: Vec<(Option<Instant>, i32, i64)> = self
            .latest
            .brokers
            .iter()
            .filter(|(id, b)| !b.fenced && expired(id))
            .map(|(id, b)| (self.heartbeats.get(id).copied(), *id, b.broker_epoch))
            .collect();
        // The oldest contact first (Kafka's BrokerHeartbeatTracker order), then the lower id.
        stale.sort();
        let next_check = if stale.len() > 1 {
            now
        } else {
            now + Duration::from_millis(SESSION_CHECK_MS)
        };
        if let Some(&(_, broker_id, broker_epoch)) = stale.first() {
            out.trace(Event::BrokerFenced { broker_id });
            let fence = MetadataRecord::FenceBrokerRecord {
                broker_id,
                broker_epoch,
            };
            let mut after = self.latest.clone();
            after.apply(&fence);
            let mut records = vec![fence];
            records.extend(self.elections(&after, None, out));
            self.propose(now, records, out);
        }
        out.set_timer(Timer::SessionCheck, next_check);
    }

    /// After a write that leaves a partition away from its preferred leader, rebalance
    /// `leader.imbalance.check.interval.seconds` later (Kafka's
    /// `QuorumController.maybeScheduleNextBalancePartitionLeaders`, called after every write).
    fn maybe_schedule_balance(&mut self, now: Instant, out: &mut Out) {
        if self.balance_scheduled
            || !self.config.auto_leader_rebalance_enable
            || !self
                .latest
                .partitions
                .values()
                .any(placement::is_imbalanced)
        {
            return;
        }
        self.balance_scheduled = true;
        let interval =
            Duration::from_millis(self.config.leader_imbalance_check_interval_seconds * 1000);
        out.set_timer(Timer::LeaderBalance, now + interval);
    }

    /// Move every leadership whose preferred replica is back in the ISR to it (Kafka's
    /// `ReplicationControlManager.maybeBalancePartitionLeaders`).
    fn balance_partition_leaders(&mut self, now: Instant, out: &mut Out) {
        self.balance_scheduled = false;
        if !self.leading {
            return;
        }
        let alive = |b: i32| self.latest.is_alive(b);
        let changes: Vec<(
            TopicPartition,
            crate::metadata::PartitionState,
            placement::PartitionChange,
        )> = self
            .latest
            .partitions
            .iter()
            .filter_map(|(tp, p)| {
                let change = placement::preferred_leader_change(p, alive)?;
                Some((tp.clone(), p.clone(), change))
            })
            .collect();
        let records: Vec<MetadataRecord> = changes
            .into_iter()
            .map(|(tp, p, change)| self.change_record(&tp, &p, change, out))
            .collect();
        if !records.is_empty() {
            self.propose(now, records, out);
        }
        // Partitions whose preferred replica could not lead yet are tried again after the
        // next write, as in Kafka.
    }

    /// Partition changes needed in `image`: fenced brokers out of ISRs (into ELRs), the
    /// broker `unclean_shutdown` out of both, leaders for partitions that lost theirs.
    fn elections(
        &self,
        image: &MetadataImage,
        unclean_shutdown: Option<i32>,
        out: &mut Out,
    ) -> Vec<MetadataRecord> {
        let gone = |b: i32| !image.is_alive(b) || Some(b) == unclean_shutdown;
        let unclean: Vec<i32> = unclean_shutdown.into_iter().collect();
        image
            .partitions
            .iter()
            .filter_map(|(tp, p)| {
                let target = p.isr.iter().copied().filter(|b| !gone(*b)).collect();
                let rules = self.rules(image, tp, p);
                let change = placement::partition_change(p, target, &unclean, |b| !gone(b), rules)?;
                Some(self.change_record(tp, p, change, out))
            })
            .collect()
    }

    /// The rules `tp` changes by in `image`: its topic's settings, the cluster's features.
    fn rules(
        &self,
        image: &MetadataImage,
        tp: &TopicPartition,
        p: &crate::metadata::PartitionState,
    ) -> placement::ChangeRules {
        let topic = tp.topic.as_ref();
        let min_isr = image.min_insync_replicas(topic, self.config.min_insync_replicas);
        placement::ChangeRules {
            min_isr: min_isr.min(p.replicas.len()),
            elr: image.elr_enabled(),
            unclean: image
                .unclean_leader_election_enable(topic, self.config.unclean_leader_election_enable),
        }
    }

    /// The record of `change` to `p`, and the election and ELR change it makes in the trace.
    fn change_record(
        &self,
        tp: &TopicPartition,
        p: &crate::metadata::PartitionState,
        change: placement::PartitionChange,
        out: &mut Out,
    ) -> MetadataRecord {
        if let (Some(leader), Some(election)) = (change.leader, change.election) {
            out.trace(Event::LeaderElected {
                partition: tp.clone(),
                leader,
                election,
            });
        }
        if let Some(elr) = &change.eligible_leader_replicas {
            out.trace(Event::EligibleLeaderReplicasChanged {
                partition: tp.clone(),
                eligible_leader_replicas: elr.clone(),
                isr: change.isr.clone().unwrap_or_else(|| p.isr.clone()),
            });
        }
        MetadataRecord::PartitionChangeRecord {
            topic: tp.topic.to_string(),
            partition: tp.partition,
            isr: change.isr,
            leader: change.leader,
            eligible_leader_replicas: change.eligible_leader_replicas,
            last_known_elr: change.last_known_elr,
        }
    }

    fn on_alter_partition(
        &mut self,
        now: Instant,
        from: NodeId,
        r: AlterPartitionRequest,
        out: &mut Out,
    ) {
        let reply = |error: ErrorCode, p: Option<&crate::metadata::PartitionState>| {
            AlterPartitionResponse {
                correlation_id: r.correlation_id,
                partition: r.partition.clone(),
                error,
                isr: p.map(|p| p.isr.clone()).unwrap_or_default(),
                leader_epoch: p.map_or(-1, |p| p.leader_epoch),
                partition_epoch: p.map_or(-1, |p| p.partition_epoch),
            }
        };
        if !self.leading {
            out.send(
                from,
                Message::AlterPartitionResponse(reply(self.not_controller(), None)),
            );
            return;
        }
        let Some(p) = self.latest.partitions.get(&r.partition).cloned() else {
            out.send(
                from,
                Message::AlterPartitionResponse(reply(ErrorCode::UnknownTopicOrPartition, None)),
            );
            return;
        };
        let isr = isr_ids(&r.new_isr);
        let registered_epoch = self
            .latest
            .brokers
            .get(&r.broker_id)
            .map(|b| b.broker_epoch);
        let error = if registered_epoch != Some(r.broker_epoch) {
            // Kafka's `ClusterControlManager.checkBrokerEpoch`: a leader that restarted (or
            // was never registered) speaks for a process that is gone.
            ErrorCode::StaleBrokerEpoch
        } else if p.leader != r.broker_id || r.leader_epoch != p.leader_epoch {
            ErrorCode::FencedLeaderEpoch
        } else if r.partition_epoch != p.partition_epoch
            || !isr.contains(&r.broker_id)
            || isr.iter().any(|b| !p.replicas.contains(b))
        {
            // A stale view, or an ISR Kafka would call an INVALID_REQUEST.
            ErrorCode::InvalidUpdateVersion
        } else if r.new_isr.iter().any(|m| !self.eligible_for_isr(m)) {
            ErrorCode::IneligibleReplica
        } else {
            ErrorCode::None
        };
        if error != ErrorCode::None {
            out.send(
                from,
                Message::AlterPartitionResponse(reply(error, Some(&p))),
            );
            return;
        }
        let rules = self.rules(&self.latest, &r.partition, &p);
        let alive = |b: i32| self.latest.is_alive(b);
        let Some(change) = placement::partition_change(&p, isr, &[], alive, rules) else {
            // The ISR asked for is the ISR already: nothing to write.
            let response = reply(ErrorCode::None, Some(&p));
            out.send(from, Message::AlterPartitionResponse(response));
            return;
        };
        debug_assert!(change.leader.is_none(), "an ISR change keeps its leader");
        let record = self.change_record(&r.partition, &p, change, out);
        if let Some(offset) = self.propose(now, vec![record], out) {
            let p = self.latest.partitions.get(&r.partition).cloned();
            let response = reply(ErrorCode::None, p.as_ref());
            self.answer_once_committed(
                offset,
                from,
                Message::AlterPartitionResponse(response),
                out,
            );
        }
    }

    /// Whether a proposed ISR member may be in the ISR (Kafka's
    /// `ReplicationControlManager.ineligibleReplicasForIsr`, KIP-903 and KIP-841): registered,
    /// not fenced, not in controlled shutdown, and — when the leader names one — with the
    /// broker epoch it is registered with, so that a broker that restarted is not admitted on
    /// its previous process's fetches.
    fn eligible_for_isr(&self, member: &BrokerState) -> bool {
        self.latest.is_alive(member.broker_id)
            && self
                .latest
                .brokers
                .get(&member.broker_id)
                .is_some_and(|b| member.broker_epoch == -1 || member.broker_epoch == b.broker_epoch)
    }

    /// Create configured topics that do not exist yet, once enough brokers are alive.
    fn maybe_create_topics(&mut self, now: Instant, out: &mut Out) {
        let alive: Vec<i32> = self
            .latest
            .brokers
            .iter()
            .filter(|(_, b)| !b.fenced)
            .map(|(id, _)| *id)
            .collect();
        let mut records = Vec::new();
        for topic in &self.config.topics {
            if self.latest.topics.contains_key(&topic.name)
                || alive.len() < topic.replication_factor.max(1) as usize
            {
                continue;
            }
            records.push(MetadataRecord::TopicRecord {
                name: topic.name.clone(),
            });
            for (name, value) in topic.config.entries() {
                records.push(MetadataRecord::ConfigRecord {
                    resource_type: ConfigResourceType::Topic,
                    resource_name: topic.name.clone(),
                    name: name.to_string(),
                    value: Some(value),
                });
            }
            for partition in 0..topic.partitions {
                let replicas = placement::assign_replicas(
                    &alive,
                    partition,
                    topic.replication_factor.max(1) as usize,
                );
                records.push(MetadataRecord::PartitionRecord {
                    topic: topic.name.clone(),
                    partition,
                    isr: replicas.clone(),
                    leader: replicas[0],
                    replicas,
                    leader_epoch: 0,
                    partition_epoch: 0,
                });
            }
        }
        if !records.is_empty() {
            self.propose(now, records, out);
        }
    }

    /// The partitions of the committed image (for tests and the visualizer).
    pub fn partitions(&self) -> &BTreeMap<TopicPartition, crate::metadata::PartitionState> {
        &self.committed.partitions
    }
}

#[cfg(test)]
mod tests;
