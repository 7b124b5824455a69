//! The trace of a run as the scenarios library writes and reads it: its header, its lines,
//! and reading a saved trace back (`kafkasim check`, the visualizer).
//!
//! The header says what was run and what a reader needs to judge it without the scenario
//! file: each node's name and role, which producers write with `acks=all`, which consumers
//! read for which group, and what the scenario expects. Everything else — what was sent,
//! acknowledged, polled, written, truncated, elected — is in the lines.

use crate::model::{Expectations, Scenario};
use kafkasim_core::actor::{Command, Event, Reply};
use kafkasim_core::config::Acks;
use kafkasim_core::view::NodeView;
use kafkasim_sim::trace::{Snapshot, TRACE_VERSION, TraceEvent, TraceKind};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::BufRead;

/// One line of a run's trace.
pub type Line = TraceEvent<Event, Reply, Command, NodeView>;
/// What one line says happened.
pub type Kind = TraceKind<Event, Reply, Command, NodeView>;
/// A snapshot of the whole world.
pub type WorldSnapshot = Snapshot<NodeView>;

/// The engine's name and version, part of every trace header (and so of every hash).
pub const ENGINE: &str = concat!("kafkasim ", env!("CARGO_PKG_VERSION"));

/// What a node is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum NodeRole {
    /// A KRaft controller.
    Controller,
    /// A broker.
    Broker {
        /// Its `node.id`.
        node_id: i32,
    },
    /// A producer.
    Producer {
        /// Its `acks`.
        acks: Acks,
        /// The topic it writes.
        topic: String,
    },
    /// A consumer.
    Consumer {
        /// The topic it reads.
        topic: String,
        /// Its `group.id` (it subscribes), or none (it assigns itself every partition).
        group: Option<String>,
    },
    /// A database server.
    Database {
        /// Its `synchronous_commit`.
        synchronous_commit: kafkasim_core::database::SynchronousCommit,
        /// Its tables' names.
        tables: Vec<String>,
        /// The primary it is a standby of (`primary_conninfo`), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        primary: Option<String>,
        /// Its `synchronous_standby_names`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        synchronous_standby_names: Vec<String>,
    },
    /// A CDC source connector.
    Source {
        /// The database it reads.
        database: String,
        /// Its replication slot.
        slot: String,
        /// The topics it writes, one per table.
        topics: Vec<String>,
    },
    /// A task of a sink connector.
    Sink {
        /// The topic it reads.
        topic: String,
        /// The warehouse table it keeps.
        table: String,
        /// Its consumer group (`connect-<connector>`).
        group: String,
    },
    /// A stream-processing stage.
    Stage {
        /// The topic it reads.
        input: String,
        /// The topic it writes.
        output: String,
        /// What it does.
        transform: kafkasim_core::stage::transform::Transform,
    },
    /// A schema registry.
    Registry {
        /// Its default mode (`schema.compatibility.level`).
        compatibility: kafkasim_core::registry::compatibility::Compatibility,
    },
}

/// One node of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFacts {
    /// Its name.
    pub name: String,
    /// What it is.
    #[serde(flatten)]
    pub role: NodeRole,
}

/// The first line of every trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The trace format's version ([`TRACE_VERSION`]).
    pub trace_version: u32,
    /// The engine that wrote it ([`ENGINE`]).
    pub engine: String,
    /// The scenario's name.
    pub scenario: String,
    /// Its title.
    pub title: String,
    /// The run's seed.
    pub seed: u64,
    /// How long the run lasted, in simulated milliseconds.
    pub duration_ms: u64,
    /// Every node, in the order they were added to the world.
    pub nodes: Vec<NodeFacts>,
    /// What the scenario expects of its checkers.
    pub expect: Expectations,
    /// Properties set on top of the scenario file (`kafkasim run --set name=value`); absent
    /// when there are none, so a plain run's header is as it always was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

impl Header {
    /// The header of a run of `scenario` with `seed`.
    pub fn of(scenario: &Scenario, seed: u64) -> Self {
        let mut nodes = Vec::new();
        for c in &scenario.controllers {
            nodes.push(NodeFacts {
                name: c.name.clone(),
                role: NodeRole::Controller,
            });
        }
        for b in &scenario.brokers {
            let node_id = b.config.node_id;
            nodes.push(NodeFacts {
                name: b.name.clone(),
                role: NodeRole::Broker { node_id },
            });
        }
        for p in &scenario.producers {
            let (acks, topic) = (p.config.acks, p.workload.topic.clone());
            nodes.push(NodeFacts {
                name: p.name.clone(),
                role: NodeRole::Producer { acks, topic },
            });
        }
        for c in &scenario.consumers {
            let (topic, group) = (c.topic.clone(), c.config.group_id.clone());
            nodes.push(NodeFacts {
                name: c.name.clone(),
                role: NodeRole::Consumer { topic, group },
            });
        }
        for d in &scenario.databases {
            let role = NodeRole::Database {
                synchronous_commit: d.config.synchronous_commit,
                tables: d.config.tables.iter().map(|t| t.name.clone()).collect(),
                primary: d.config.primary_host.clone(),
                synchronous_standby_names: d.config.synchronous_standby_names.clone(),
            };
            nodes.push(NodeFacts {
                name: d.name.clone(),
                role,
            });
        }
        for r in &scenario.registries {
            let compatibility = r.config.compatibility;
            nodes.push(NodeFacts {
                name: r.name.clone(),
                role: NodeRole::Registry { compatibility },
            });
        }
        for c in &scenario.connectors {
            nodes.push(NodeFacts {
                name: c.name.clone(),
                role: c.role(),
            });
        }
        for s in &scenario.stages {
            let role = NodeRole::Stage {
                input: s.config.input.clone(),
                output: s.config.output.clone(),
                transform: s.config.transform.clone(),
            };
            nodes.push(NodeFacts {
                name: s.name.clone(),
                role,
            });
        }
        Header {
            trace_version: TRACE_VERSION,
            engine: ENGINE.to_string(),
            scenario: scenario.name.clone(),
            title: scenario.title.clone(),
            seed,
            duration_ms: scenario.duration_ms,
            nodes,
            expect: scenario.expect.clone(),
            overrides: scenario.overrides.clone(),
        }
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeFacts> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Whether `name` is a client (a producer or a consumer: it keeps nothing on disk).
    pub fn is_client(&self, name: &str) -> bool {
        self.node(name).is_some_and(|n| {
            matches!(
                n.role,
                NodeRole::Producer { .. } | NodeRole::Consumer { .. }
            )
        })
    }

    /// Whether the cluster has KRaft controllers (replication), or brokers run alone.
    pub fn replicated(&self) -> bool {
        self.nodes
            .iter()
            .any(|n| matches!(n.role, NodeRole::Controller))
    }

    /// The producers, in order.
    pub fn producers(&self) -> impl Iterator<Item = (&str, Acks)> {
        self.nodes.iter().filter_map(|n| match &n.role {
            NodeRole::Producer { acks, .. } => Some((n.name.as_str(), *acks)),
            _ => None,
        })
    }

    /// The consumers, in order.
    pub fn consumers(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().filter_map(|n| match &n.role {
            NodeRole::Consumer { .. } => Some(n.name.as_str()),
            _ => None,
        })
    }

    /// Who reads on behalf of whom: a consumer's group, or the consumer itself under
    /// `assign`.
    pub fn reader_of(&self, consumer: &str) -> String {
        match self.node(consumer).map(|n| &n.role) {
            Some(NodeRole::Consumer {
                group: Some(group), ..
            }) => group.clone(),
            _ => consumer.to_string(),
        }
    }
}

/// A saved trace, read back.
#[derive(Clone, Debug)]
pub struct SavedTrace {
    /// Its header.
    pub header: Header,
    /// Its lines, in order.
    pub lines: Vec<Line>,
}

/// Why a saved trace could not be read.
#[derive(Debug)]
pub struct TraceError {
    /// The line (1-based) that is wrong; 0 when the file could not be read at all.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for TraceError {}

/// Read a trace written by `kafkasim run --trace` (JSON Lines: the header, then one event
/// per line).
pub fn read(reader: impl BufRead) -> Result<SavedTrace, TraceError> {
    let mut lines = reader.lines();
    let io = |e: std::io::Error| TraceError {
        line: 0,
        message: format!("cannot read the trace: {e}"),
    };
    let first = lines.next().transpose().map_err(io)?.ok_or(TraceError {
        line: 1,
        message: "the trace is empty (expected a header line)".into(),
    })?;
    let header: Header = serde_json::from_str(&first).map_err(|e| TraceError {
        line: 1,
        message: header_problem(&first, &e),
    })?;
    let mut events = Vec::new();
    for (i, line) in lines.enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let mut event: Line = serde_json::from_str(&line).map_err(|e| TraceError {
            line: i + 2,
            message: format!("not a trace event of this engine: {e}"),
        })?;
        event.seq = events.len() as u64;
        events.push(event);
    }
    Ok(SavedTrace {
        header,
        lines: events,
    })
}

/// What is wrong with a header line, in terms a user can act on.
fn header_problem(text: &str, error: &serde_json::Error) -> String {
    let version = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("trace_version").and_then(|v| v.as_u64()));
    match version {
        Some(v) if v != u64::from(TRACE_VERSION) => format!(
            "this trace has format version {v}; this engine reads version {TRACE_VERSION} (run the scenario again to get a trace of this version)"
        ),
        _ => format!("not a kafkasim trace header: {error}"),
    }
}
