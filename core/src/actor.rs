//! The one node type the simulator runs for a Kafka cluster: a broker or a client.
//!
//! Each role is its own state machine ([`Broker`], [`Producer`], [`Consumer`]); this enum
//! dispatches to them and fixes the vocabulary they share with the simulator: timer names,
//! scenario commands, replies and trace events.

use crate::broker::Broker;
use crate::client::consumer::Consumer;
use crate::client::producer::Producer;
use crate::config::{BrokerConfig, ConsumerConfig, ProducerConfig};
use crate::controller::{Controller, ControllerConfig};
use crate::ids::TopicPartition;
use crate::log::RecoveryReport;
use crate::node::{Boot, Input, Node, Outbox};
use crate::protocol::{ErrorCode, Message};
use crate::time::Instant;
use serde::Serialize;

/// Named deadlines. Setting one replaces the previous deadline with the same name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// Broker: the log flusher's periodic check (`log.flush.scheduler.interval.ms`).
    FlushScheduler,
    /// Broker: a held Fetch reached `fetch.max.wait.ms`.
    FetchExpiry(u64),
    /// Producer: the batch for this partition has lingered `linger.ms`.
    Linger(TopicPartition),
    /// Client: no response to this correlation id within `request.timeout.ms`.
    RequestTimeout(i32),
    /// Client: `retry.backoff.ms` has passed; try again.
    RetryBackoff,
    /// Quorum: the election timeout, or a follower's fetch timeout, expired.
    QuorumElection,
    /// Quorum: retry a metadata fetch after an error.
    QuorumFetchRetry,
    /// Quorum leader: a held metadata Fetch reached its max wait.
    QuorumFetchExpiry(u64),
    /// Active controller: look for brokers whose session expired.
    BrokerSessionCheck,
    /// Broker: time to heartbeat to the controller.
    BrokerHeartbeat,
    /// Broker: look for followers that fell out of sync (`replica.lag.time.max.ms` / 2).
    IsrCheck,
    /// Broker: write the high watermarks to `replication-offset-checkpoint`.
    HighWatermarkCheckpoint,
    /// Broker: an `acks=all` produce waited its `timeout_ms`.
    ProduceExpiry(u64),
    /// Broker: fetch from partition leaders again after an error.
    ReplicaFetchRetry,
    /// Group coordinator: expire sessions, complete joins.
    GroupTick,
    /// Consumer: time to heartbeat to the group coordinator.
    GroupHeartbeat,
    /// Consumer: time to commit positions (`auto.commit.interval.ms`).
    AutoCommit,
    /// Consumer: `max.poll.interval.ms` has passed since the stalled poll loop last polled.
    PollTimeout,
    /// Consumer: the application's stall is over; it polls again.
    StallEnd,
}

/// What a scenario tells a client to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Producer: `send()` a record. `record_id` identifies it in replies and checkers.
    Send {
        /// The scenario's id for this record.
        record_id: u64,
        /// The topic.
        topic: String,
        /// The key, if any.
        key: Option<Vec<u8>>,
        /// The value.
        value: Vec<u8>,
    },
    /// Consumer: `assign()` every partition of `topic` and start polling.
    Assign {
        /// The topic.
        topic: String,
    },
    /// Consumer: `subscribe()` to `topic` as a member of its `group.id`.
    Subscribe {
        /// The topic.
        topic: String,
    },
    /// Consumer: the application spends `duration_ms` processing what `poll()` returned and
    /// does not call `poll()` meanwhile (slow processing, a long pause in the poll loop). The
    /// heartbeat thread runs on.
    StallPoll {
        /// How long the poll loop stalls.
        duration_ms: u64,
    },
    /// Consumer: `close()`: commit (with auto-commit), leave the group, stop.
    Close,
}

/// A record as a consumer's `poll()` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolledRecord {
    /// Its offset.
    pub offset: i64,
    /// Its key, as text.
    pub key: Option<String>,
    /// Its value, as text.
    pub value: String,
}

/// What clients report to the scenario: delivery callbacks and polled records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// Producer: the record was acknowledged (`offset` is `None` with `acks=0`).
    Acked {
        /// The scenario's id for the record.
        record_id: u64,
        /// Where it went.
        partition: TopicPartition,
        /// Its offset.
        offset: Option<i64>,
    },
    /// Producer: the record failed for good.
    Failed {
        /// The scenario's id for the record.
        record_id: u64,
        /// Where it was going.
        partition: TopicPartition,
        /// Why.
        error: ErrorCode,
        /// For an expired record (`delivery.timeout.ms`): the last error a broker gave.
        cause: Option<ErrorCode>,
    },
    /// Consumer: records returned by `poll()`.
    Polled {
        /// The partition.
        partition: TopicPartition,
        /// The records, in offset order.
        records: Vec<PolledRecord>,
        /// The high watermark the leader reported with them.
        high_watermark: i64,
    },
    /// Consumer: the group gave this member its partitions for a generation.
    Assigned {
        /// The group.
        group: String,
        /// The member id.
        member_id: String,
        /// The generation.
        generation: i32,
        /// Its partitions.
        partitions: Vec<TopicPartition>,
    },
    /// Consumer: partitions given up: before a rebalance (eager protocol: all of them), lost
    /// with the membership, or on `close()`.
    Revoked {
        /// The member id.
        member_id: String,
        /// The generation they were assigned in.
        generation: i32,
        /// The partitions.
        partitions: Vec<TopicPartition>,
        /// Why, in Kafka's terms (revoked before rejoining, lost, closed).
        reason: String,
    },
    /// Consumer: the member left its group (`LeaveGroup`).
    LeftGroup {
        /// The member id it had.
        member_id: String,
        /// The generation it had.
        generation: i32,
        /// Why, in Kafka's terms.
        reason: String,
    },
    /// Consumer: an offset commit was refused (e.g. `ILLEGAL_GENERATION` for a zombie).
    CommitFailed {
        /// The member id.
        member_id: String,
        /// Why.
        error: ErrorCode,
    },
    /// Consumer: a fetched batch failed its CRC check (`check.crcs=true`); nothing from it
    /// was returned.
    CorruptBatch {
        /// The partition.
        partition: TopicPartition,
        /// The batch's base offset.
        base_offset: i64,
        /// What was wrong.
        detail: String,
    },
    /// Consumer: the position was reset (`auto.offset.reset`).
    PositionReset {
        /// The partition.
        partition: TopicPartition,
        /// The new position.
        offset: i64,
        /// Why.
        reason: String,
    },
}

/// State changes inside nodes, recorded in the trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A consumer's application stalled in its poll loop (no `poll()` for a while).
    PollStalled {
        /// For how long.
        duration_ms: u64,
    },
    /// A consumer's application called `close()`.
    ConsumerClosed,
    /// A broker recovered a partition's log from its disk at start-up.
    LogRecovered {
        /// The partition.
        partition: TopicPartition,
        /// What recovery found and did.
        report: RecoveryReport,
    },
    /// A leader appended records to its log (in the page cache).
    LogAppended {
        /// The partition.
        partition: TopicPartition,
        /// First offset given.
        base_offset: i64,
        /// Last offset given.
        last_offset: i64,
        /// The new log end offset.
        log_end_offset: i64,
    },
    /// A flush (fsync) of a partition's log started.
    LogFlushStarted {
        /// The partition.
        partition: TopicPartition,
        /// Everything below this offset will be durable.
        up_to: i64,
        /// Which setting triggered it.
        trigger: &'static str,
    },
    /// A flush completed: everything below `recovery_point` is on durable storage.
    LogFlushed {
        /// The partition.
        partition: TopicPartition,
        /// The recovery point.
        recovery_point: i64,
    },
    /// The high watermark moved.
    HighWatermarkUpdated {
        /// The partition.
        partition: TopicPartition,
        /// The new value.
        high_watermark: i64,
    },
    /// A replica's view of its partition after a role change: role, epoch, LEO, HW, ISR.
    ReplicaState {
        /// The partition.
        partition: TopicPartition,
        /// `leader`, `follower` or `offline`.
        role: &'static str,
        /// The leader epoch.
        leader_epoch: i32,
        /// The replica's log end offset.
        log_end_offset: i64,
        /// The replica's high watermark.
        high_watermark: i64,
        /// The ISR as this replica knows it.
        isr: Vec<i32>,
    },
    /// A replica cut its log.
    ReplicaTruncated {
        /// The partition.
        partition: TopicPartition,
        /// The log end offset before.
        from: i64,
        /// The log end offset after.
        to: i64,
        /// Why.
        reason: &'static str,
    },
    /// A leader recognised a retried batch of an idempotent producer and answered with the
    /// original offsets instead of writing it twice (KIP-98).
    DuplicateBatchIgnored {
        /// The partition.
        partition: TopicPartition,
        /// The producer id.
        producer_id: i64,
        /// The batch's first sequence number.
        base_sequence: i32,
        /// Where the original batch went.
        base_offset: i64,
    },
    /// A consumer group started a new generation.
    GroupGenerationStarted {
        /// The group.
        group: String,
        /// The generation.
        generation: i32,
        /// Its members.
        members: Vec<String>,
    },
    /// A static member restarted and took its old place under a new member id (KIP-345).
    GroupStaticMemberReplaced {
        /// The group.
        group: String,
        /// Its `group.instance.id`.
        instance: String,
        /// The member id it had.
        old: String,
        /// The member id it has now.
        new: String,
        /// Whether the group kept its generation (no rebalance).
        kept_generation: bool,
    },
    /// A member left a group or was removed from it.
    GroupMemberRemoved {
        /// The group.
        group: String,
        /// The member.
        member: String,
        /// Why.
        reason: &'static str,
    },
    /// A group coordinator validated an `OffsetCommit` (member and generation, as Kafka does
    /// on arrival) and appended it to the group's `__consumer_offsets` partition. The offsets
    /// are not committed yet: that waits for the high watermark ([`Event::OffsetsCommitted`]).
    OffsetCommitAppended {
        /// The group.
        group: String,
        /// The committing member's id (empty for a consumer outside any generation).
        member: String,
        /// The generation the member committed in (-1 outside any generation).
        generation: i32,
        /// The offsets, per partition.
        offsets: Vec<(TopicPartition, i64)>,
    },
    /// An appended offset commit reached the high watermark: the coordinator now serves these
    /// offsets to `OffsetFetch`.
    OffsetsCommitted {
        /// The group.
        group: String,
        /// The offsets, per partition.
        offsets: Vec<(TopicPartition, i64)>,
    },
    /// A broker that became a group's coordinator loaded the group's committed offsets from
    /// its copy of the `__consumer_offsets` partition (only groups with offsets are reported).
    GroupOffsetsLoaded {
        /// The group.
        group: String,
        /// The offsets found, per partition (the last record of each wins).
        offsets: Vec<(TopicPartition, i64)>,
    },
    /// The ISR lost members.
    IsrShrunk {
        /// The partition.
        partition: TopicPartition,
        /// The new ISR.
        isr: Vec<i32>,
    },
    /// The ISR gained members.
    IsrExpanded {
        /// The partition.
        partition: TopicPartition,
        /// The new ISR.
        isr: Vec<i32>,
    },
    /// A client's request got no answer in time.
    RequestTimedOut {
        /// The request's correlation id.
        correlation_id: i32,
        /// Its Kafka name.
        request: &'static str,
    },
    /// A quorum member's role or epoch changed.
    QuorumStateChanged {
        /// The epoch.
        epoch: i32,
        /// `unattached`, `voted`, `candidate`, `leader` or `follower`.
        role: &'static str,
        /// The known leader, or -1.
        leader: i32,
    },
    /// The quorum leader's high watermark advanced: metadata below it is committed.
    QuorumHighWatermark {
        /// The new high watermark.
        high_watermark: i64,
    },
    /// A quorum follower truncated its metadata log after a divergence.
    QuorumTruncated {
        /// The new log end offset.
        to_offset: i64,
        /// The epoch the leader named as diverging.
        diverging_epoch: i32,
    },
    /// The active controller registered a broker (fenced until it catches up).
    BrokerRegistered {
        /// The broker's `node.id`.
        broker_id: i32,
        /// Its new broker epoch.
        broker_epoch: i64,
    },
    /// The active controller unfenced a broker: it may lead and follow partitions.
    BrokerUnfenced {
        /// The broker's `node.id`.
        broker_id: i32,
    },
    /// The active controller fenced a broker whose heartbeats stopped.
    BrokerFenced {
        /// The broker's `node.id`.
        broker_id: i32,
    },
    /// This controller became the active controller (it leads the metadata quorum).
    ControllerActivated {
        /// The quorum epoch.
        epoch: i32,
    },
    /// A producer put a batch back in the queue to send it again.
    BatchRetried {
        /// The partition.
        partition: TopicPartition,
        /// How many records.
        records: usize,
        /// Why.
        error: ErrorCode,
    },
}

/// The configuration of one node: which role, and its settings.
#[derive(Clone, Debug)]
pub enum ActorConfig {
    /// A broker.
    Broker(BrokerConfig),
    /// A producer.
    Producer(ProducerConfig),
    /// A consumer.
    Consumer(ConsumerConfig),
    /// A KRaft controller.
    Controller(ControllerConfig),
}

/// A node of a simulated Kafka cluster.
#[derive(Debug)]
pub enum Actor {
    /// A broker (boxed, like the controller: the roles differ a lot in size).
    Broker(Box<Broker>),
    /// A producer.
    Producer(Producer),
    /// A consumer.
    Consumer(Consumer),
    /// A KRaft controller (boxed: it is much larger than the other roles).
    Controller(Box<Controller>),
}

impl Actor {
    /// The controller inside, if this node is one.
    pub fn as_controller(&self) -> Option<&Controller> {
        match self {
            Actor::Controller(c) => Some(c),
            _ => None,
        }
    }

    /// The broker inside, if this node is one.
    pub fn as_broker(&self) -> Option<&Broker> {
        match self {
            Actor::Broker(b) => Some(b),
            _ => None,
        }
    }
}

impl Node for Actor {
    type Msg = Message;
    type Timer = Timer;
    type Command = Command;
    type Reply = Reply;
    type Event = Event;
    type Config = ActorConfig;

    fn boot(boot: Boot<'_, ActorConfig>, out: &mut Outbox<Self>) -> Self {
        match boot.config {
            ActorConfig::Broker(c) => Actor::Broker(Box::new(Broker::boot(&boot, c, out))),
            ActorConfig::Producer(c) => Actor::Producer(Producer::boot(&boot, c, out)),
            ActorConfig::Consumer(c) => Actor::Consumer(Consumer::boot(&boot, c, out)),
            ActorConfig::Controller(c) => {
                Actor::Controller(Box::new(Controller::boot(&boot, c, out)))
            }
        }
    }

    fn step(&mut self, now: Instant, input: Input<Self>, out: &mut Outbox<Self>) {
        match self {
            Actor::Broker(b) => b.step(now, input, out),
            Actor::Producer(p) => p.step(now, input, out),
            Actor::Consumer(c) => c.step(now, input, out),
            Actor::Controller(c) => c.step(now, input, out),
        }
    }
}
