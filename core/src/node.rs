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

use crate::disk::{DiskImage, DiskOp, DiskToken, DiskWrites};
use crate::ids::NodeId;
use crate::prng::Prng;
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::marker::PhantomData;

/// A message type that can describe itself in the trace.
pub trait Describe {
    /// The Kafka name of the message, e.g. `ProduceRequest`.
    fn name(&self) -> &'static str;
    /// A one-line human summary, e.g. `orders-0: 1 batch, 5 records, acks=1`.
    fn summary(&self) -> String;
    /// Whether it answers a request, and so travels on the connection the request came in on
    /// (Kafka's own names say it: `…Response`). A server never opens a connection to answer:
    /// if the requesting process is gone, so is the connection, and the answer with it.
    fn is_response(&self) -> bool {
        self.name().ends_with("Response")
    }
}

/// The words a state machine — a whole node or a subsystem embedded in one — speaks: what it
/// sends, the names of its timers, the trace events it records, what it reports to the
/// scenario and what the scenario may tell it.
///
/// Each role and subsystem has its own vocabulary (the quorum's timers are
/// `quorum::Timer`, the group coordinator's events `group::Event`, ...). An embedding role
/// wraps its subsystems' words in its own (`Timer::Quorum(quorum::Timer::Election)`) through
/// [`Scoped`], so two subsystems of one node never need to share, or carve up, one
/// namespace of timers or ids.
pub trait Vocabulary {
    /// What nodes send each other.
    type Msg: Describe + Debug;
    /// The names of timers; setting a timer with a key replaces the previous one.
    type Timer: Ord + Clone + Debug;
    /// State changes worth recording in the trace (e.g. a high watermark update).
    type Event: Debug + Serialize;
    /// What is reported to the scenario (e.g. "record acknowledged at offset 7").
    type Reply: Clone + Debug + Serialize;
    /// Instructions from the scenario (e.g. "send this record"), recorded in the trace too.
    type Command: Clone + Debug + Serialize;
}

/// A state machine the simulator can run.
pub trait Node: Vocabulary + Sized {
    /// What the node knows before reading its disk: its configuration. It survives crashes.
    type Config: Clone + Debug;
    /// What a snapshot of the trace shows of this node: its visible state, nothing private.
    type View: Debug + Serialize;

    /// Build the node from its configuration and what it finds on disk; the first thing a node
    /// does when it starts or restarts. It may already emit outputs (timers, recovery events).
    fn boot(boot: Boot<'_, Self::Config>, out: &mut dyn Out<Self>) -> Self;

    /// Handle one input at simulated time `now`.
    fn step(&mut self, now: Instant, input: Input<Self>, out: &mut dyn Out<Self>);

    /// The node's visible state, for the trace's periodic snapshots.
    fn view(&self) -> Self::View;
}

/// A vocabulary with nothing in one of its slots: a subsystem that never replies, or is never
/// commanded, says so with `Never`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Never {}

impl Describe for Never {
    fn name(&self) -> &'static str {
        match *self {}
    }
    fn summary(&self) -> String {
        match *self {}
    }
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

/// One thing that happens to a state machine.
#[derive(Debug)]
pub enum Input<V: Vocabulary> {
    /// A message arrived from `from`.
    Recv {
        /// The sender.
        from: NodeId,
        /// The message.
        msg: V::Msg,
    },
    /// A timer the node set has fired.
    Timer(V::Timer),
    /// An fsync the node asked for has completed.
    DiskDone {
        /// The file that was synced: it says which subsystem asked (the metadata log's files
        /// belong to the quorum, a partition's to its replica).
        file: String,
        /// The token the node gave the sync.
        token: DiskToken,
    },
    /// The scenario tells the node to do something.
    Command(V::Command),
    /// The connection to `peer` was reset: whatever was in flight on it is gone.
    Disconnected {
        /// The other end of the connection.
        peer: NodeId,
    },
    /// SIGTERM: the operator asks the process to stop. It finishes what it must (a broker's
    /// controlled shutdown, its last flushes and checkpoints) and then says [`Output::Exit`];
    /// a node with nothing to finish exits at once.
    Terminate,
}

/// One thing a state machine wants done.
#[derive(Debug)]
pub enum Output<V: Vocabulary> {
    /// Send `msg` to `to` over the (simulated, TCP-like) connection between them.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: V::Msg,
    },
    /// Fire `key` at `at`, replacing any earlier deadline with the same key.
    SetTimer {
        /// The timer's name.
        key: V::Timer,
        /// When it fires.
        at: Instant,
    },
    /// Forget the timer `key` if it is set.
    CancelTimer(V::Timer),
    /// Do something to a file.
    Disk(DiskOp),
    /// Tell the scenario something (a delivery report, polled records).
    Reply(V::Reply),
    /// Record a state change in the trace.
    Trace(V::Event),
    /// The process has finished shutting down and exits: the simulator takes it down, as
    /// after a crash, but what it wrote stays (a clean exit loses nothing it wrote).
    Exit,
}

/// Where a state machine writes what it wants done. The simulator's [`Outbox`] is one; a
/// [`Scoped`] view of another is one too, so an embedded subsystem writes its own vocabulary
/// and never learns what it is embedded in.
pub trait Out<V: Vocabulary> {
    /// Write one output.
    fn push(&mut self, output: Output<V>);
}

impl<V: Vocabulary> DiskWrites for dyn Out<V> + '_ {
    fn write(&mut self, op: DiskOp) {
        self.push(Output::Disk(op));
    }
}

impl<V: Vocabulary> dyn Out<V> + '_ {
    /// Send `msg` to `to`.
    pub fn send(&mut self, to: NodeId, msg: V::Msg) {
        self.push(Output::Send { to, msg });
    }
    /// Fire `key` at `at`.
    pub fn set_timer(&mut self, key: impl Into<V::Timer>, at: Instant) {
        self.push(Output::SetTimer {
            key: key.into(),
            at,
        });
    }
    /// Cancel the timer `key`.
    pub fn cancel_timer(&mut self, key: impl Into<V::Timer>) {
        self.push(Output::CancelTimer(key.into()));
    }
    /// Do a disk operation.
    pub fn disk(&mut self, op: DiskOp) {
        self.push(Output::Disk(op));
    }
    /// Do several disk operations, in order.
    pub fn disk_all(&mut self, ops: impl IntoIterator<Item = DiskOp>) {
        for op in ops {
            self.push(Output::Disk(op));
        }
    }
    /// Report to the scenario.
    pub fn reply(&mut self, reply: impl Into<V::Reply>) {
        self.push(Output::Reply(reply.into()));
    }
    /// Record a trace event.
    pub fn trace(&mut self, event: impl Into<V::Event>) {
        self.push(Output::Trace(event.into()));
    }
    /// Exit the process: its shutdown is complete.
    pub fn exit(&mut self) {
        self.push(Output::Exit);
    }
    /// A view of this outbox for an embedded subsystem speaking vocabulary `C`: what it
    /// writes is wrapped into this vocabulary's words on the way in.
    pub fn scoped<C>(&mut self) -> Scoped<'_, V, C>
    where
        C: Vocabulary<Msg = V::Msg>,
        V::Timer: From<C::Timer>,
        V::Event: From<C::Event>,
        V::Reply: From<C::Reply>,
    {
        Scoped {
            parent: self,
            vocabulary: PhantomData,
        }
    }
}

/// An outbox seen by an embedded subsystem: it speaks vocabulary `C`, its embedder `P`.
pub struct Scoped<'a, P: Vocabulary, C> {
    parent: &'a mut dyn Out<P>,
    vocabulary: PhantomData<fn(C)>,
}

impl<P, C> Out<C> for Scoped<'_, P, C>
where
    P: Vocabulary,
    C: Vocabulary<Msg = P::Msg>,
    P::Timer: From<C::Timer>,
    P::Event: From<C::Event>,
    P::Reply: From<C::Reply>,
{
    fn push(&mut self, output: Output<C>) {
        self.parent.push(match output {
            Output::Send { to, msg } => Output::Send { to, msg },
            Output::SetTimer { key, at } => Output::SetTimer {
                key: key.into(),
                at,
            },
            Output::CancelTimer(key) => Output::CancelTimer(key.into()),
            Output::Disk(op) => Output::Disk(op),
            Output::Reply(reply) => Output::Reply(reply.into()),
            Output::Trace(event) => Output::Trace(event.into()),
            Output::Exit => Output::Exit,
        });
    }
}

/// Where a node writes its outputs during one step; the simulator drains it after the step.
/// Reusing one buffer across steps keeps the engine free of per-event allocation.
#[derive(Debug)]
pub struct Outbox<V: Vocabulary> {
    items: Vec<Output<V>>,
}

impl<V: Vocabulary> Default for Outbox<V> {
    fn default() -> Self {
        Outbox { items: Vec::new() }
    }
}

impl<V: Vocabulary> Out<V> for Outbox<V> {
    fn push(&mut self, output: Output<V>) {
        self.items.push(output);
    }
}

impl<V: Vocabulary> Outbox<V> {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }
    /// This outbox as a writer, to call the writing helpers of [`Out`] on it.
    pub fn writer(&mut self) -> &mut dyn Out<V> {
        self
    }
    /// Take every output written so far, in order, leaving the outbox empty but keeping its
    /// allocation.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Output<V>> {
        self.items.drain(..)
    }
    /// The outputs written so far.
    pub fn items(&self) -> &[Output<V>] {
        &self.items
    }
    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
