//! The trace: the record of a run, and the contract between the simulator, the CLI, the
//! visualizer and the book.
//!
//! Every event has a time, a sequence number (its place in the trace: implicit in the file),
//! the node it concerns, and a kind. The canonical encoding is JSON Lines — one header line,
//! then one line per event, fields in a fixed order — and the **trace hash** is SHA-256 over
//! those lines. Same scenario, same seed, same engine:
//! same bytes, same hash, in the CLI, in a sweep and in the browser.

use crate::disk::FileLoss;
use kafkasim_core::time::Instant;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::io::Write;
use std::sync::Arc;

/// A node's name in the trace, shared rather than copied into every line.
pub type Name = Arc<str>;

/// Version of the trace format; bump it whenever an event's encoding changes.
/// 2: events scoped by subsystem, typed reasons and roles, commands, snapshots.
/// 3: SIGTERM and clean exits (`shutdown_requested`, `stopped`), shutdown events, recovery
/// from a recovery point.
pub const TRACE_VERSION: u32 = 3;

/// Why a message never arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// A partition blocked the link.
    Partitioned,
    /// The connection was reset (or broke) while the message was in flight.
    ConnectionReset,
    /// The receiver was down when the message arrived.
    ReceiverDown,
    /// The connection belonged to an earlier process of the receiver (it was killed or lost
    /// power, and restarted): the new process's kernel resets it, nothing is delivered.
    ReceiverRestarted,
}

/// How a node went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashKind {
    /// kill -9: memory gone, the page cache survives.
    Process,
    /// Power loss or machine crash: memory and page cache gone, only synced bytes survive.
    Power,
}

/// Whether a node is running, and if not, how it went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// Running.
    Up,
    /// Its process was killed; the machine is up (connections are refused).
    Killed,
    /// Its machine has no power (silent).
    PoweredOff,
    /// Its process shut down cleanly (SIGTERM); the machine is up (connections are refused).
    Stopped,
}

/// One node in a snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeSnapshot<S> {
    /// Its name.
    pub node: Name,
    /// Up or down.
    pub status: NodeStatus,
    /// How many times it started before.
    pub incarnation: u32,
    /// What it lets the world see, while it is up.
    pub view: Option<S>,
}

/// A message on its way, in a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// Identifies it across sent/delivered/dropped.
    pub msg_id: u64,
    /// The sender.
    pub from: Name,
    /// The receiver.
    pub to: Name,
    /// Kafka's name of the message.
    pub name: Cow<'static, str>,
    /// When it was sent.
    pub sent: Instant,
    /// When it will arrive if nothing breaks.
    pub arrives: Instant,
}

/// The whole world's visible state at one moment: what a reader starts from to seek.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot<S> {
    /// Every node, in the order they were added.
    pub nodes: Vec<NodeSnapshot<S>>,
    /// Directed links a partition blocks: (from, to), in name order.
    pub cut: Vec<(Name, Name)>,
    /// Messages sent and not yet delivered or dropped, by message id.
    pub in_flight: Vec<InFlight>,
}

/// What happened.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceKind<E, R, C, S> {
    /// A node sent a message.
    MessageSent {
        /// Identifies the message across sent/delivered/dropped.
        msg_id: u64,
        /// The receiver.
        to: Name,
        /// Kafka's name of the message.
        name: Cow<'static, str>,
        /// A one-line summary.
        summary: String,
        /// When it will arrive if nothing breaks.
        arrives: Instant,
    },
    /// A message arrived and was handed to its receiver (its sender and name are on the
    /// line that sent it, with the same `msg_id`).
    MessageDelivered {
        /// The message.
        msg_id: u64,
    },
    /// A message was lost.
    MessageDropped {
        /// The message.
        msg_id: u64,
        /// The sender.
        from: Name,
        /// The receiver.
        to: Name,
        /// Kafka's name of the message.
        name: Cow<'static, str>,
        /// Why.
        reason: DropReason,
    },
    /// A connection reset was noticed by this node.
    Disconnected {
        /// The other end.
        peer: Name,
    },
    /// A timer fired.
    TimerFired {
        /// The timer's name.
        timer: String,
    },
    /// A write reached the page cache.
    DiskWrite {
        /// The file.
        file: String,
        /// What was done to it.
        op: DiskWriteOp,
        /// Bytes written, or the new length for a truncate.
        bytes: u64,
    },
    /// An fsync was issued.
    DiskSyncStarted {
        /// The file.
        file: String,
    },
    /// An fsync completed: the file is durable up to `durable_len`.
    DiskSynced {
        /// The file.
        file: String,
        /// Its durable length.
        durable_len: u64,
    },
    /// The node went down.
    Crashed {
        /// How.
        how: CrashKind,
    },
    /// The operator sent the node's process SIGTERM: it begins to shut down.
    ShutdownRequested,
    /// The node's process finished shutting down and exited.
    Stopped,
    /// What a power loss did to the node's files.
    PowerLost {
        /// One entry per file that changed.
        files: Vec<FileLoss>,
    },
    /// The node started again from its disk.
    Restarted {
        /// How many times it started before.
        incarnation: u32,
    },
    /// A partition started blocking `from → to` (and back if `two_way`).
    PartitionStarted {
        /// One side.
        from: Name,
        /// The other side.
        to: Name,
        /// Both directions.
        two_way: bool,
    },
    /// Every partition was removed.
    PartitionsHealed,
    /// The connection between the node and `peer` was reset.
    ConnectionReset {
        /// The other end.
        peer: Name,
    },
    /// A state change inside a node.
    Node {
        /// What changed.
        event: E,
    },
    /// What a node reported to the scenario.
    Reply {
        /// The report.
        reply: R,
    },
    /// What the scenario told a node to do.
    Command {
        /// The instruction.
        command: C,
    },
    /// The visible state of the whole world (periodically, and after every fault).
    Snapshot {
        /// The state.
        snapshot: Snapshot<S>,
    },
    /// A line of narration from the scenario.
    Note {
        /// The text.
        text: String,
    },
}

/// What a disk write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskWriteOp {
    /// Appended bytes.
    Append,
    /// Replaced the whole file.
    Replace,
    /// Cut the file.
    Truncate,
    /// Removed the file.
    Delete,
}

/// One line of the trace.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TraceEvent<E, R, C, S> {
    /// Simulated time, microseconds.
    pub time: Instant,
    /// Position in the trace: 0 for the line after the header. Not written out — a line's
    /// place in the file says it — and set again when a trace is read back.
    #[serde(skip)]
    pub seq: u64,
    /// The node concerned, by name ("" for the world itself).
    pub node: Name,
    /// What happened.
    #[serde(flatten)]
    pub kind: TraceKind<E, R, C, S>,
}

/// What the trace keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMode {
    /// Nothing: fastest, for benchmarks.
    Off,
    /// Only the hash (and the optional JSON Lines writer).
    Hash,
    /// The hash and every event in memory, for checkers and the visualizer.
    Record,
}

/// The trace hash of a trace's bytes (a file written by the trace's writer): SHA-256, as 64
/// hex digits. Equal to the run's own hash when the file is the whole, unchanged trace.
pub fn hash_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Collects events: hashes their canonical encoding, optionally keeps them and writes them.
pub struct Trace<E, R, C, S> {
    mode: TraceMode,
    hasher: Sha256,
    next_seq: u64,
    events: Vec<TraceEvent<E, R, C, S>>,
    writer: Option<Box<dyn Write>>,
    line: Vec<u8>,
    write_error: Option<std::io::Error>,
}

impl<E, R, C, S> std::fmt::Debug for Trace<E, R, C, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("mode", &self.mode)
            .field("events", &self.next_seq)
            .finish()
    }
}

impl<E: Serialize, R: Serialize, C: Serialize, S: Serialize> Trace<E, R, C, S> {
    /// A trace in `mode`.
    pub fn new(mode: TraceMode) -> Self {
        Trace {
            mode,
            hasher: Sha256::new(),
            next_seq: 0,
            events: Vec::new(),
            writer: None,
            line: Vec::with_capacity(256),
            write_error: None,
        }
    }

    /// Also write every line (header included) to `writer`, as JSON Lines.
    pub fn write_to(&mut self, writer: Box<dyn Write>) {
        self.writer = Some(writer);
    }

    /// Whether events are wanted at all (lets the world skip building them).
    pub fn enabled(&self) -> bool {
        self.mode != TraceMode::Off
    }

    /// The first line: what was run, with which seed and engine. It is part of the hash.
    pub fn header(&mut self, header: &impl Serialize) {
        if self.enabled() {
            self.line.clear();
            serde_json::to_writer(&mut self.line, header).expect("header serializes");
            self.emit_line();
        }
    }

    /// Append an event.
    pub fn push(&mut self, time: Instant, node: &Name, kind: TraceKind<E, R, C, S>) {
        if !self.enabled() {
            return;
        }
        let event = TraceEvent {
            time,
            seq: self.next_seq,
            node: node.clone(),
            kind,
        };
        self.next_seq += 1;
        self.line.clear();
        serde_json::to_writer(&mut self.line, &event).expect("trace events serialize");
        self.emit_line();
        if self.mode == TraceMode::Record {
            self.events.push(event);
        }
    }

    fn emit_line(&mut self) {
        self.line.push(b'\n');
        self.hasher.update(&self.line);
        if let Some(w) = &mut self.writer
            && self.write_error.is_none()
            && let Err(e) = w.write_all(&self.line)
        {
            self.write_error = Some(e);
        }
    }

    /// The events kept so far (empty unless the mode is `Record`).
    pub fn events(&self) -> &[TraceEvent<E, R, C, S>] {
        &self.events
    }

    /// How many events were pushed.
    pub fn len(&self) -> u64 {
        self.next_seq
    }

    /// True when no event was pushed.
    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }

    /// The hash of everything so far, as 64 hex digits.
    pub fn hash_hex(&self) -> String {
        let digest = self.hasher.clone().finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Flush the writer; reports the first write error, if any.
    pub fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.write_error.take() {
            return Err(e);
        }
        if let Some(w) = &mut self.writer {
            w.flush()?;
        }
        Ok(())
    }
}
