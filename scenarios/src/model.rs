//! A scenario, parsed and validated: what to run, what to break, what must hold.
//!
//! `format` turns a TOML file into this; `harness` runs it. Every name here has been checked
//! (nodes referenced by faults exist, topics referenced by clients exist), so the harness
//! never has to report a user error.

use kafkasim_core::config::{BrokerConfig, ConsumerConfig, ProducerConfig};
use kafkasim_core::controller::ControllerConfig;
use kafkasim_sim::WorldConfig;

/// A whole scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Short name, used by `kafkasim run <name>`.
    pub name: String,
    /// One-line title.
    pub title: String,
    /// The teaching text: what the scenario shows and why.
    pub description: String,
    /// Where it came from: `builtin:<name>` or a file path.
    pub source: String,
    /// How long to run, in simulated milliseconds.
    pub duration_ms: u64,
    /// Network and disk behaviour.
    pub world: WorldConfig,
    /// The KRaft controllers, in order (none: brokers run in static mode).
    pub controllers: Vec<ControllerSpec>,
    /// The brokers, in order.
    pub brokers: Vec<BrokerSpec>,
    /// The producers.
    pub producers: Vec<ProducerSpec>,
    /// The consumers.
    pub consumers: Vec<ConsumerSpec>,
    /// The database servers.
    pub databases: Vec<DatabaseSpec>,
    /// The schema registries.
    pub registries: Vec<RegistrySpec>,
    /// The Kafka Connect tasks, one node each.
    pub connectors: Vec<ConnectorSpec>,
    /// The stream-processing stages.
    pub stages: Vec<StageSpec>,
    /// Faults at fixed times, in time order.
    pub faults: Vec<ScheduledFault>,
    /// What must hold, and what must appear.
    pub expect: Expectations,
    /// Properties set on top of the file's (`kafkasim run --set`, the visualizer's knobs), as
    /// `name=value`, in the order they were applied: part of the trace header.
    pub overrides: Vec<String>,
}

impl Scenario {
    /// What the file asks for that Kafka accepts but that may not mean what it seems: today,
    /// a topic whose `min.insync.replicas` (its own, or the cluster's) is above its
    /// replication factor. Kafka creates it, and its brokers count the setting as the
    /// replication factor (`Partition.effectiveMinIsr`), so `acks=all` needs every replica
    /// in sync — and can never succeed while one is out.
    pub fn warnings(&self) -> Vec<String> {
        let (topics, cluster_min_isr) = match (self.controllers.first(), self.brokers.first()) {
            (Some(c), _) => (&c.config.topics, c.config.min_insync_replicas),
            (None, Some(b)) => (&b.config.topics, b.config.min_insync_replicas),
            (None, None) => return Vec::new(),
        };
        topics
            .iter()
            .filter_map(|t| {
                let min_isr = t.config.min_insync_replicas.unwrap_or(cluster_min_isr);
                let rf = usize::try_from(t.replication_factor.max(1)).unwrap_or(1);
                (min_isr > rf).then(|| {
                    format!(
                        "topic {}: min.insync.replicas = {min_isr} is above its replication factor {rf}; Kafka accepts it and its brokers count it as {rf}, so acks=all needs every replica in sync and fails with NOT_ENOUGH_REPLICAS while one is out",
                        t.name
                    )
                })
            })
            .collect()
    }
}

/// A database server and the transactions its applications run.
#[derive(Clone, Debug)]
pub struct DatabaseSpec {
    /// Node name, e.g. `db-1`.
    pub name: String,
    /// Its configuration (GUCs and tables).
    pub config: kafkasim_core::database::DatabaseConfig,
    /// The transactions run against it, if any.
    pub workload: Option<TransactionWorkload>,
    /// The applications reading its logical replication slots.
    pub slot_readers: Vec<SlotReader>,
    /// The schema changes its application runs, in time order.
    pub ddl: Vec<ScheduledDdl>,
}

/// An `ALTER TABLE` the application runs at a time (a migration).
#[derive(Clone, Debug)]
pub struct ScheduledDdl {
    /// When, in ms.
    pub at_ms: u64,
    /// The table.
    pub table: String,
    /// The change.
    pub alter: kafkasim_core::database::ddl::AlterTable,
}

/// A stream-processing stage node.
#[derive(Clone, Debug)]
pub struct StageSpec {
    /// Node name, also its `application.id`.
    pub name: String,
    /// Its configuration.
    pub config: kafkasim_core::stage::StageConfig,
}

/// A schema registry node.
#[derive(Clone, Debug)]
pub struct RegistrySpec {
    /// Node name, e.g. `registry-1`.
    pub name: String,
    /// Its configuration.
    pub config: kafkasim_core::registry::server::RegistryConfig,
}

/// One task of a Kafka Connect connector: a node.
#[derive(Clone, Debug)]
pub struct ConnectorSpec {
    /// Node name: Connect's task id, `<connector>-<task>`.
    pub name: String,
    /// The connector's name.
    pub connector: String,
    /// What the task does.
    pub task: ConnectorTask,
}

/// A source task or a sink task, configured.
#[derive(Clone, Debug)]
pub enum ConnectorTask {
    /// A CDC source of a database.
    Source {
        /// The database's node name.
        database: String,
        /// Its configuration, names resolved.
        config: kafkasim_core::connect::source::SourceConfig,
    },
    /// A sink into a warehouse table.
    Sink(kafkasim_core::connect::sink::SinkConfig),
}

impl ConnectorSpec {
    /// What the trace header says the node is.
    pub fn role(&self) -> crate::trace::NodeRole {
        use crate::trace::NodeRole;
        use kafkasim_core::connect::envelope::topic;
        match &self.task {
            ConnectorTask::Source { database, config } => NodeRole::Source {
                database: database.clone(),
                slot: config.slot_name.clone(),
                topics: config
                    .tables
                    .iter()
                    .map(|t| topic(&config.topic_prefix, &t.name))
                    .collect(),
            },
            ConnectorTask::Sink(config) => NodeRole::Sink {
                topic: config.topic.clone(),
                table: config.table.name.clone(),
                group: config.consumer.group_id.clone().unwrap_or_default(),
            },
        }
    }

    /// Set a connector property on this task, as `kafkasim run --set` does: a setting of
    /// the task itself (`offset.flush.interval.ms`, `kafkasim.bug.confirm.before.ack`, …),
    /// or of its client by Connect's `producer.override.` / `consumer.override.` prefixes.
    /// What names a node, a table or a topic is the file's to say.
    pub fn set(
        &mut self,
        name: &str,
        value: &kafkasim_core::config::properties::PropertyValue,
    ) -> Result<(), kafkasim_core::config::properties::PropertyError> {
        use kafkasim_core::config::properties::{Configurable, PropertyError, Role, Unknown};
        let unknown = || PropertyError::Unknown {
            name: name.to_string(),
            why: Unknown::NotModelled(Role::Connector),
        };
        match &mut self.task {
            ConnectorTask::Source { config, .. } => {
                if let Some(client) = name.strip_prefix("producer.override.") {
                    return config.producer.set(client, value);
                }
                config.set(name, value).ok_or_else(unknown)?
            }
            ConnectorTask::Sink(config) => {
                if let Some(client) = name.strip_prefix("consumer.override.") {
                    return config.consumer.set(client, value);
                }
                config.set(name, value).ok_or_else(unknown)?
            }
        }
    }

    /// The node's configuration in the world.
    pub fn actor_config(&self) -> kafkasim_core::actor::ActorConfig {
        use kafkasim_core::actor::ActorConfig;
        match &self.task {
            ConnectorTask::Source { config, .. } => ActorConfig::Source(config.clone()),
            ConnectorTask::Sink(config) => ActorConfig::Sink(config.clone()),
        }
    }
}

/// An application that calls `pg_logical_slot_get_changes(slot, NULL, NULL)` every
/// `poll_ms` from `start_ms` to the end of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotReader {
    /// The slot.
    pub slot: String,
    /// The first call.
    pub start_ms: u64,
    /// Time between calls.
    pub poll_ms: u64,
}

/// A steady stream of transactions on one table: `transactions` of them, one every
/// `interval_ms` from `start_ms`, each of one to three statements on keys `1..=keys`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionWorkload {
    /// The table written.
    pub table: String,
    /// When the first transaction runs.
    pub start_ms: u64,
    /// How many transactions.
    pub transactions: u64,
    /// Time between transactions.
    pub interval_ms: u64,
    /// Primary keys are drawn from `1..=keys`.
    pub keys: u64,
    /// The share of transactions, in percent, that end in ROLLBACK.
    pub rollback_percent: u64,
}

/// A KRaft controller node.
#[derive(Clone, Debug)]
pub struct ControllerSpec {
    /// Node name, e.g. `controller-1`.
    pub name: String,
    /// Its configuration (quorum voters resolved to node ids).
    pub config: ControllerConfig,
}

/// A broker node.
#[derive(Clone, Debug)]
pub struct BrokerSpec {
    /// Node name, e.g. `broker-1`.
    pub name: String,
    /// Its configuration (topics included).
    pub config: BrokerConfig,
}

/// A producer node and what it writes.
#[derive(Clone, Debug)]
pub struct ProducerSpec {
    /// Node name.
    pub name: String,
    /// Its configuration (`bootstrap.servers` resolved to node ids).
    pub config: ProducerConfig,
    /// The records it sends.
    pub workload: ProduceWorkload,
}

/// A steady stream of records: `records` sends, one every `interval_ms`, from `start_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceWorkload {
    /// The topic written.
    pub topic: String,
    /// When the first record is sent.
    pub start_ms: u64,
    /// How many records.
    pub records: u64,
    /// Time between sends.
    pub interval_ms: u64,
    /// Records get keys `k0..k{keys-1}` in turn; `None` sends keyless records.
    pub keys: Option<u64>,
    /// Minimum size of each value in bytes (values are `<producer>-<n>`, padded with dots).
    pub value_bytes: usize,
}

/// A consumer node and what it reads.
#[derive(Clone, Debug)]
pub struct ConsumerSpec {
    /// Node name.
    pub name: String,
    /// Its configuration.
    pub config: ConsumerConfig,
    /// The topic it reads; it assigns itself every partition (`assign`, no group).
    pub topic: String,
    /// When it starts polling.
    pub start_ms: u64,
}

/// A fault at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledFault {
    /// When, in simulated milliseconds.
    pub at_ms: u64,
    /// What.
    pub action: FaultAction,
}

/// A fault, with nodes named as in the scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// `process-crash`: kill -9.
    ProcessCrash {
        /// The victim.
        node: String,
    },
    /// `power-loss`: the node's machine loses power.
    PowerLoss {
        /// The victim.
        node: String,
    },
    /// `power-loss-all`: every server (broker and controller) loses power at once; clients
    /// run elsewhere and keep going.
    PowerLossAll,
    /// `shutdown`: SIGTERM to the node's process; it stops as it is written to (a broker
    /// with `controlled.shutdown.enable` moves its leaderships away first), then `restart`
    /// starts it again.
    Shutdown {
        /// The node.
        node: String,
    },
    /// `restart`: start a crashed node from its disk.
    Restart {
        /// The node.
        node: String,
    },
    /// `partition`: drop messages from `from` to `to` (and back if `two_way`).
    Partition {
        /// One side.
        from: String,
        /// The other side.
        to: String,
        /// Both directions.
        two_way: bool,
    },
    /// `heal`: remove every partition.
    Heal,
    /// `reset-connection`: break the connection between two nodes.
    ResetConnection {
        /// One end.
        a: String,
        /// The other end.
        b: String,
    },
    /// `stall-poll`: a consumer's application stops calling `poll()` for `duration_ms` (slow
    /// processing); past `max.poll.interval.ms` its heartbeat thread leaves the group.
    StallPoll {
        /// The consumer.
        node: String,
        /// How long the poll loop stalls.
        duration_ms: u64,
    },
    /// `close`: a consumer's application calls `close()`: it commits, leaves its group (unless
    /// it is a static member) and stops.
    Close {
        /// The consumer.
        node: String,
    },
    /// `seek-to-beginning`: a consumer's application calls `seekToBeginning()` on what it
    /// owns: it reads it all again, and its next commit moves its group back.
    SeekToBeginning {
        /// The consumer.
        node: String,
    },
    /// `promote`: `SELECT pg_promote()` on a standby: it ends recovery and accepts writes.
    Promote {
        /// The standby.
        node: String,
    },
    /// `restart-task`: an operator restarts a connector's failed task (Connect's
    /// `POST /connectors/<name>/restart?includeTasks=true`).
    RestartTask {
        /// The task.
        node: String,
    },
    /// `set-compatibility`: an operator changes a subject's mode on a schema registry
    /// (`PUT /config/<subject>`).
    SetCompatibility {
        /// The registry.
        node: String,
        /// The subject.
        subject: String,
        /// Its mode from then on.
        compatibility: kafkasim_core::registry::compatibility::Compatibility,
    },
}

/// The checks a run is judged by.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Expectations {
    /// Checkers that must find nothing.
    pub hold: Vec<String>,
    /// Checkers that must find something: the anomaly this scenario exists to show.
    pub anomalies: Vec<String>,
}
