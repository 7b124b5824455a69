//! The seam between Kafka's logic and the world that runs it.
//!
//! Every node — broker, controller, producer, consumer, database — is a state machine with one
//! entry point, [`Node::step`]: given the current simulated time and one [`Input`], it updates
//! its own state and writes what it wants done into an [`Outbox`] (send a message, set or cancel
//! a named timer, write or sync a file, reply to its client, record a trace event). It never
//! performs IO, reads a clock, spawns a thread or draws OS randomness. The simulator decides
//! when inputs arrive, so the same seed replays the same run — in the CLI, in a seed sweep and
//! in the browser.
//!
//! The idea comes from etcd-io/raft (`Step(msg)` returning a `Ready` of messages and entries to
//! persist) and stateright (`on_msg(.., &mut Out)`). A crashed node keeps nothing but its disk:
//! the simulator drops the value and later calls [`Node::boot`] again with the disk image.

use crate::disk::{DiskImage, DiskOp, DiskToken};
use crate::ids::NodeId;
use crate::prng::Prng;
use crate::time::Instant;
use serde::Serialize;
use std::fmt::Debug;

/// A message type that can describe itself in the trace.
pub trait Describe {
    /// The Kafka name of the message, e.g. `ProduceRequest`.
    fn name(&self) -> &'static str;
    /// A one-line human summary, e.g. `orders-0: 1 batch, 5 records, acks=1`.
    fn summary(&self) -> String;
}

/// A state machine the simulator can run.
pub trait Node: Sized {
    /// What nodes send each other.
    type Msg: Describe + Debug;
    /// The names of this node's timers; setting a timer with a key replaces the previous one.
    type Timer: Ord + Clone + Debug;
    /// Instructions from the scenario to this node (e.g. "send this record").
    type Command: Debug;
    /// What the node reports to the scenario (e.g. "record acknowledged at offset 7").
    type Reply: Clone + Debug + Serialize;
    /// State changes worth recording in the trace (e.g. `hw_advanced`).
    type Event: Debug + Serialize;
    /// What the node knows before reading its disk: its configuration. It survives crashes.
    type Config: Clone + Debug;

    /// Build the node from its configuration and what it finds on disk; the first thing a node
    /// does when it starts or restarts. It may already emit outputs (timers, recovery events).
    fn boot(boot: Boot<'_, Self::Config>, out: &mut Outbox<Self>) -> Self;

    /// Handle one input at simulated time `now`.
    fn step(&mut self, now: Instant, input: Input<Self>, out: &mut Outbox<Self>);
}

/// Everything a node receives when it (re)starts.
#[derive(Debug)]
pub struct Boot<'a, C> {
    /// Who the node is.
    pub id: NodeId,
    /// The simulated time of the start.
    pub now: Instant,
    /// How many times this node has started before (0 on first start).
    pub incarnation: u32,
    /// The node's configuration.
    pub config: &'a C,
    /// The files on its disk.
    pub disk: &'a DiskImage,
    /// The node's own random stream for this incarnation.
    pub prng: Prng,
}

/// One thing that happens to a node.
#[derive(Debug)]
pub enum Input<N: Node> {
    /// A message arrived from `from`.
    Recv {
        /// The sender.
        from: NodeId,
        /// The message.
        msg: N::Msg,
    },
    /// A timer the node set has fired.
    Timer(N::Timer),
    /// A disk operation that carried this token has completed.
    DiskDone(DiskToken),
    /// The scenario tells the node to do something.
    Command(N::Command),
    /// The connection to `peer` was reset: whatever was in flight on it is gone.
    Disconnected {
        /// The other end of the connection.
        peer: NodeId,
    },
}

/// One thing a node wants done.
#[derive(Debug)]
pub enum Output<N: Node> {
    /// Send `msg` to `to` over the (simulated, TCP-like) connection between them.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: N::Msg,
    },
    /// Fire `key` at `at`, replacing any earlier deadline with the same key.
    SetTimer {
        /// The timer's name.
        key: N::Timer,
        /// When it fires.
        at: Instant,
    },
    /// Forget the timer `key` if it is set.
    CancelTimer(N::Timer),
    /// Do something to a file.
    Disk(DiskOp),
    /// Tell the scenario something (a delivery report, polled records).
    Reply(N::Reply),
    /// Record a state change in the trace.
    Trace(N::Event),
}

/// Where a node writes its outputs during one step; the simulator drains it after the step.
/// Reusing one buffer across steps keeps the engine free of per-event allocation.
#[derive(Debug)]
pub struct Outbox<N: Node> {
    items: Vec<Output<N>>,
}

impl<N: Node> Default for Outbox<N> {
    fn default() -> Self {
        Outbox { items: Vec::new() }
    }
}

impl<N: Node> Outbox<N> {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }
    /// Send `msg` to `to`.
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.items.push(Output::Send { to, msg });
    }
    /// Fire `key` at `at`.
    pub fn set_timer(&mut self, key: N::Timer, at: Instant) {
        self.items.push(Output::SetTimer { key, at });
    }
    /// Cancel the timer `key`.
    pub fn cancel_timer(&mut self, key: N::Timer) {
        self.items.push(Output::CancelTimer(key));
    }
    /// Do a disk operation.
    pub fn disk(&mut self, op: DiskOp) {
        self.items.push(Output::Disk(op));
    }
    /// Do several disk operations, in order.
    pub fn disk_all(&mut self, ops: impl IntoIterator<Item = DiskOp>) {
        self.items.extend(ops.into_iter().map(Output::Disk));
    }
    /// Reply to the scenario.
    pub fn reply(&mut self, reply: N::Reply) {
        self.items.push(Output::Reply(reply));
    }
    /// Record a trace event.
    pub fn trace(&mut self, event: N::Event) {
        self.items.push(Output::Trace(event));
    }
    /// Push any output.
    pub fn push(&mut self, output: Output<N>) {
        self.items.push(output);
    }
    /// Take every output written so far, in order, leaving the outbox empty but keeping its
    /// allocation.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Output<N>> {
        self.items.drain(..)
    }
    /// The outputs written so far.
    pub fn items(&self) -> &[Output<N>] {
        &self.items
    }
    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
