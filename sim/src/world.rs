//! The world: one event queue that drives every node, the network, the disks and the faults.
//!
//! The loop is event-driven, not tick-stepped: the queue holds `(time, sequence, event)` and
//! [`World::step`] pops the earliest, advances the clock to it and hands it to its node, whose
//! outputs become new events. Two events at the same time run in the order they were
//! scheduled (the sequence number breaks the tie), so a run is a pure function of the scenario
//! and the seed.
//!
//! A crashed node is dropped entirely; what it keeps is its [`Disk`]. Its timers and pending
//! disk completions are stamped with its incarnation and silently ignored once it has died.
//!
//! Connections belong to processes, as TCP's do. A request travels on the sender's connection
//! to the receiver's process it was opened with (the first request after a disconnect opens a
//! new one, to whatever process runs then); a response travels on the connection its request
//! came in on. A machine without power answers nothing; a message that reached it then was
//! never acknowledged, so its sender retransmits, and learns of the reset once the machine
//! is back. A message whose receiving process is not the one its connection was made with —
//! the receiver was killed or lost power and has restarted since — is dropped
//! ([`DropReason::ReceiverRestarted`]) and its sender is told the connection was reset, so a
//! new process never reads an answer to its predecessor's request.

use crate::connections::Connections;
use crate::disk::{Disk, DiskConfig};
use crate::faults::Fault;
use crate::network::{Network, NetworkConfig, Route};
use crate::queue::EventQueue;
use crate::trace::{
    CrashKind, DiskWriteOp, DropReason, InFlight, Name, NodeSnapshot, NodeStatus, Snapshot, Trace,
    TraceKind, TraceMode,
};
use kafkasim_core::disk::{DiskOp, DiskToken};
use kafkasim_core::ids::NodeId;
use kafkasim_core::node::{Boot, Describe, Input, Node, Outbox, Output};
use kafkasim_core::prng::Prng;
use kafkasim_core::time::{Duration, Instant};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// Settings of the environment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorldConfig {
    /// Latency and jitter of the network.
    pub network: NetworkConfig,
    /// fsync latency and torn-write behaviour of every disk.
    pub disk: DiskConfig,
}

/// The trace of a world of `N`s.
pub type NodeTrace<N> = Trace<
    <N as kafkasim_core::node::Vocabulary>::Event,
    <N as kafkasim_core::node::Vocabulary>::Reply,
    <N as kafkasim_core::node::Vocabulary>::Command,
    <N as Node>::View,
>;

/// One kind of line of the trace of a world of `N`s.
pub type NodeTraceKind<N> = TraceKind<
    <N as kafkasim_core::node::Vocabulary>::Event,
    <N as kafkasim_core::node::Vocabulary>::Reply,
    <N as kafkasim_core::node::Vocabulary>::Command,
    <N as Node>::View,
>;

enum Event<N: Node> {
    Deliver {
        from: NodeId,
        to: NodeId,
        connection: u32,
        msg_id: u64,
        sent: Instant,
        /// The sender's incarnation when it sent.
        from_incarnation: u32,
        /// The receiver's incarnation the connection was made with.
        to_incarnation: u32,
        msg: N::Msg,
    },
    Disconnect {
        node: NodeId,
        incarnation: u32,
        peer: NodeId,
        /// For the reset of a connection to a process that restarted: (whether the lost
        /// message was a response, the process it was for). Checked again on arrival: a
        /// node that has meanwhile started talking to the new process learns nothing.
        stale: Option<(bool, u32)>,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        key: N::Timer,
        generation: u64,
    },
    SyncDone {
        node: NodeId,
        incarnation: u32,
        power_cycles: u32,
        file: String,
        token: DiskToken,
    },
    Command {
        node: NodeId,
        command: N::Command,
    },
    Fault(Fault),
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Down {
    /// It crashed (kill -9, power loss).
    Crashed(CrashKind),
    /// It exited by itself, its shutdown complete.
    Exited,
}

/// The two ends of a message in flight: who sent it and for whom, process by process.
#[derive(Clone, Copy, Debug)]
struct Ends {
    from: NodeId,
    to: NodeId,
    from_incarnation: u32,
    to_incarnation: u32,
}

/// Everything the world keeps about one node.
struct Slot<N: Node> {
    name: Name,
    config: N::Config,
    /// `None` while the node is down.
    state: Option<N>,
    incarnation: u32,
    /// Current generation of each set timer; a fired timer with another generation is stale.
    timers: BTreeMap<N::Timer, u64>,
    disk: Disk,
    /// Power losses so far: an fsync that straddles one never completes.
    power_cycles: u32,
    /// Whether the machine has power (a killed process leaves it up; a power loss does not).
    powered: bool,
    /// Whether the process, now down, exited by itself after SIGTERM (rather than crashed).
    exited: bool,
    disk_prng: Prng,
    /// Messages that reached the machine while it had no power, by sender: nothing
    /// acknowledged them, so the sender's TCP retransmits them until the machine is back,
    /// and its kernel answers the retransmission with a reset. (Messages it had received
    /// before losing power were acknowledged: their senders wait for their own timeouts.)
    unacknowledged: BTreeSet<Unacknowledged>,
}

/// A message that arrived at a machine without power: who sent it, from which process, to
/// which process of the receiver, and whether it was a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Unacknowledged {
    from: NodeId,
    from_incarnation: u32,
    is_response: bool,
    to_incarnation: u32,
}

/// A node's reply to the scenario, with when and who.
#[derive(Debug)]
pub struct Observed<R> {
    /// When the node replied.
    pub time: Instant,
    /// Who replied.
    pub node: NodeId,
    /// The reply.
    pub reply: R,
}

/// The simulated world.
pub struct World<N: Node> {
    seed: u64,
    config: WorldConfig,
    now: Instant,
    next_seq: u64,
    next_msg_id: u64,
    next_timer_generation: u64,
    queue: EventQueue<Event<N>>,
    slots: Vec<Slot<N>>,
    network: Network,
    /// Which process each connection belongs to.
    connections: Connections,
    outbox: Outbox<N>,
    trace: NodeTrace<N>,
    replies: Vec<Observed<N::Reply>>,
    events_processed: u64,
    /// How often the trace gets a snapshot of the world, if at all.
    snapshot_interval: Option<Duration>,
    /// When the next periodic snapshot is due.
    next_snapshot: Instant,
    /// The trace's name for the world itself: empty.
    world_name: Name,
}

impl<N: Node> std::fmt::Debug for World<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("nodes", &self.slots.len())
            .field("queued", &self.queue.len())
            .finish()
    }
}

impl<N: Node> World<N> {
    /// An empty world for the run with seed `seed`.
    pub fn new(seed: u64, config: WorldConfig, trace_mode: TraceMode) -> Self {
        World {
            seed,
            config,
            now: Instant::ZERO,
            next_seq: 0,
            next_msg_id: 0,
            next_timer_generation: 0,
            queue: EventQueue::new(),
            slots: Vec::new(),
            network: Network::new(seed, config.network),
            connections: Connections::default(),
            outbox: Outbox::new(),
            trace: Trace::new(trace_mode),
            replies: Vec::new(),
            events_processed: 0,
            snapshot_interval: None,
            next_snapshot: Instant::ZERO,
            world_name: Name::from(""),
        }
    }

    /// Record a snapshot of the world in the trace every `interval` of simulated time (from
    /// time zero), and after every fault.
    pub fn snapshot_every(&mut self, interval: Duration) {
        debug_assert!(interval > Duration::ZERO, "a snapshot interval is positive");
        self.snapshot_interval = Some(interval);
        self.next_snapshot = self.now + interval;
    }

    /// Add a node, down until [`World::start`] boots it. Names must be unique; they name the
    /// node's random streams, so adding a node never changes another node's draws.
    pub fn add_node(&mut self, name: &str, config: N::Config) -> NodeId {
        assert!(
            self.slots.iter().all(|s| &*s.name != name),
            "node name {name} used twice"
        );
        let id = NodeId(self.slots.len() as u32);
        self.network.add_node(name);
        self.slots.push(Slot {
            name: Name::from(name),
            config,
            state: None,
            incarnation: 0,
            timers: BTreeMap::new(),
            disk: Disk::new(),
            power_cycles: 0,
            powered: true,
            exited: false,
            disk_prng: Prng::derive(self.seed, &format!("disk/{name}"), 0),
            unacknowledged: BTreeSet::new(),
        });
        id
    }

    /// Boot a node that is down, from its disk, now.
    pub fn start(&mut self, node: NodeId) {
        let slot = &mut self.slots[node.index()];
        if slot.state.is_some() {
            return;
        }
        let image = slot.disk.image();
        let incarnation = slot.incarnation;
        let prng = Prng::derive(
            self.seed,
            &format!("node/{}", slot.name),
            u64::from(incarnation),
        );
        let boot = Boot {
            id: node,
            now: self.now,
            incarnation,
            config: &slot.config,
            disk: &image,
            prng,
        };
        let state = N::boot(boot, self.outbox.writer());
        self.slots[node.index()].state = Some(state);
        if incarnation > 0 {
            let name = self.slots[node.index()].name.clone();
            self.trace
                .push(self.now, &name, TraceKind::Restarted { incarnation });
        }
        self.flush_outbox(node);
    }

    /// The seed of the run.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// The environment's settings.
    pub fn config(&self) -> WorldConfig {
        self.config
    }
    /// The current simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }
    /// The name of a node.
    pub fn name(&self, node: NodeId) -> &str {
        &self.slots[node.index()].name
    }

    fn slot_name(&self, node: NodeId) -> Name {
        self.slots[node.index()].name.clone()
    }
    /// The node called `name`.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.slots
            .iter()
            .position(|s| &*s.name == name)
            .map(|i| NodeId(i as u32))
    }
    /// Every node, in the order they were added.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.slots.len()).map(|i| NodeId(i as u32))
    }
    /// The node's state, or `None` while it is down.
    pub fn node(&self, node: NodeId) -> Option<&N> {
        self.slots[node.index()].state.as_ref()
    }
    /// The node's disk.
    pub fn disk(&self, node: NodeId) -> &Disk {
        &self.slots[node.index()].disk
    }
    /// The trace so far.
    pub fn trace(&self) -> &NodeTrace<N> {
        &self.trace
    }
    /// The trace, to write its header or attach a writer.
    pub fn trace_mut(&mut self) -> &mut NodeTrace<N> {
        &mut self.trace
    }
    /// Every reply nodes gave so far, in order.
    pub fn replies(&self) -> &[Observed<N::Reply>] {
        &self.replies
    }
    /// How many events the loop has processed.
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }
    /// The time of the next event, if any.
    pub fn next_event_time(&self) -> Option<Instant> {
        self.queue.peek_time()
    }

    /// Write a line of narration into the trace.
    pub fn note(&mut self, text: impl Into<String>) {
        self.trace.push(
            self.now,
            &self.world_name.clone(),
            TraceKind::Note { text: text.into() },
        );
    }

    fn schedule(&mut self, at: Instant, event: Event<N>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.push(at, seq, event);
    }

    /// Make `fault` happen at `at`.
    pub fn schedule_fault(&mut self, at: Instant, fault: Fault) {
        self.schedule(at.max(self.now), Event::Fault(fault));
    }

    /// Hand `command` to `node` at `at` (dropped if the node is down then).
    pub fn schedule_command(&mut self, at: Instant, node: NodeId, command: N::Command) {
        self.schedule(at.max(self.now), Event::Command { node, command });
    }

    /// Process the earliest event. Returns false when the queue is empty.
    pub fn step(&mut self) -> bool {
        // Snapshots due before the next event see it still queued (a message in flight).
        let Some(next) = self.next_event_time() else {
            return false;
        };
        self.snapshots_due(next);
        let Some((at, event)) = self.queue.pop() else {
            return false;
        };
        debug_assert!(at >= self.now, "time went backwards");
        self.now = at;
        self.events_processed += 1;
        self.dispatch(event);
        true
    }

    /// Process every event up to and including time `until`, then set the clock to `until`.
    pub fn run_until(&mut self, until: Instant) {
        while self.queue.peek_time().is_some_and(|at| at <= until) {
            self.step();
        }
        self.snapshots_due(until);
        self.now = self.now.max(until);
    }

    /// Record the periodic snapshots due up to `until` (excluded: what happens at `until`
    /// comes after them), each at its own time: the world has not changed since the last
    /// event.
    fn snapshots_due(&mut self, until: Instant) {
        let Some(interval) = self.snapshot_interval else {
            return;
        };
        while self.next_snapshot < until {
            let at = self.next_snapshot.max(self.now);
            self.push_snapshot(at);
            self.next_snapshot += interval;
        }
    }

    /// Record a snapshot of the world now.
    pub fn snapshot(&mut self) {
        self.push_snapshot(self.now);
    }

    fn push_snapshot(&mut self, at: Instant) {
        if !self.trace.enabled() {
            return;
        }
        let nodes = self
            .slots
            .iter()
            .map(|slot| NodeSnapshot {
                node: slot.name.clone(),
                status: match (&slot.state, slot.powered, slot.exited) {
                    (Some(_), _, _) => NodeStatus::Up,
                    (None, true, true) => NodeStatus::Stopped,
                    (None, true, false) => NodeStatus::Killed,
                    (None, false, _) => NodeStatus::PoweredOff,
                },
                incarnation: slot.incarnation,
                view: slot.state.as_ref().map(N::view),
            })
            .collect();
        let mut cut = Vec::new();
        for from in self.nodes() {
            for to in self.nodes() {
                if from != to && self.network.is_blocked(from, to) {
                    cut.push((self.slot_name(from), self.slot_name(to)));
                }
            }
        }
        cut.sort();
        let mut in_flight: Vec<InFlight> = self
            .queue
            .iter()
            .filter_map(|(arrives, event)| match event {
                Event::Deliver {
                    from,
                    to,
                    msg_id,
                    sent,
                    msg,
                    ..
                } => Some(InFlight {
                    msg_id: *msg_id,
                    from: self.slot_name(*from),
                    to: self.slot_name(*to),
                    name: Cow::Borrowed(msg.name()),
                    sent: *sent,
                    arrives,
                }),
                _ => None,
            })
            .collect();
        in_flight.sort_by_key(|m| m.msg_id);
        let snapshot = Snapshot {
            nodes,
            cut,
            in_flight,
        };
        let world = self.world_name.clone();
        self.trace
            .push(at, &world, TraceKind::Snapshot { snapshot });
    }

    /// Process events until none is left or `max_events` were processed; returns whether the
    /// world went quiet. Periodic timers keep a world busy forever: the limit makes that a
    /// visible outcome instead of a hang.
    pub fn run_to_quiescence(&mut self, max_events: u64) -> bool {
        for _ in 0..max_events {
            if !self.step() {
                return true;
            }
        }
        self.queue.is_empty()
    }

    fn dispatch(&mut self, event: Event<N>) {
        match event {
            Event::Deliver {
                from,
                to,
                connection,
                msg_id,
                from_incarnation,
                to_incarnation,
                msg,
                ..
            } => {
                let ends = Ends {
                    from,
                    to,
                    from_incarnation,
                    to_incarnation,
                };
                self.deliver(ends, connection, msg_id, msg)
            }
            Event::Disconnect {
                node,
                incarnation,
                peer,
                stale,
            } => {
                let replaced = stale.is_some_and(|(is_response, old)| {
                    !self.connections.is_current(node, peer, is_response, old)
                });
                if self.is_up(node, incarnation) && !replaced {
                    self.connections.disconnected(node, peer);
                    if self.trace.enabled() {
                        let peer_name = self.slots[peer.index()].name.clone();
                        self.trace_node(node, TraceKind::Disconnected { peer: peer_name });
                    }
                    self.step_node(node, Input::Disconnected { peer });
                }
            }
            Event::Timer {
                node,
                incarnation,
                key,
                generation,
            } => {
                let slot = &mut self.slots[node.index()];
                if slot.incarnation != incarnation || slot.timers.get(&key) != Some(&generation) {
                    return;
                }
                slot.timers.remove(&key);
                if self.trace.enabled() {
                    self.trace_node(
                        node,
                        TraceKind::TimerFired {
                            timer: format!("{key:?}"),
                        },
                    );
                }
                self.step_node(node, Input::Timer(key));
            }
            Event::SyncDone {
                node,
                incarnation,
                power_cycles,
                file,
                token,
            } => {
                let slot = &mut self.slots[node.index()];
                if slot.power_cycles != power_cycles {
                    return; // the power went out before the fsync finished
                }
                // The kernel finishes an fsync even if the process died meanwhile.
                let durable_len = slot.disk.sync(&file);
                if let Some(durable_len) = durable_len {
                    let file = file.clone();
                    self.trace_node(node, TraceKind::DiskSynced { file, durable_len });
                }
                if self.is_up(node, incarnation) {
                    self.step_node(node, Input::DiskDone { file, token });
                }
            }
            Event::Command { node, command } => {
                if self.slots[node.index()].state.is_some() {
                    if self.trace.enabled() {
                        let command = command.clone();
                        self.trace_node(node, TraceKind::Command { command });
                    }
                    self.step_node(node, Input::Command(command));
                }
            }
            Event::Fault(fault) => {
                self.apply_fault(fault);
                if self.snapshot_interval.is_some() {
                    self.snapshot();
                }
            }
        }
    }

    fn is_up(&self, node: NodeId, incarnation: u32) -> bool {
        let slot = &self.slots[node.index()];
        slot.state.is_some() && slot.incarnation == incarnation
    }

    fn deliver(&mut self, ends: Ends, connection: u32, msg_id: u64, msg: N::Msg) {
        let Ends { from, to, .. } = ends;
        let receiver = &self.slots[to.index()];
        let reason = if !self.network.is_current(from, to, connection) {
            Some(if self.network.is_blocked(from, to) {
                DropReason::Partitioned
            } else {
                DropReason::ConnectionReset
            })
        } else if receiver.state.is_none() {
            Some(DropReason::ReceiverDown)
        } else if receiver.incarnation != ends.to_incarnation {
            Some(DropReason::ReceiverRestarted)
        } else {
            None
        };
        if self.trace.enabled() {
            let from_name = self.slots[from.index()].name.clone();
            let kind = match reason {
                Some(reason) => TraceKind::MessageDropped {
                    msg_id,
                    from: from_name,
                    to: self.slots[to.index()].name.clone(),
                    name: Cow::Borrowed(msg.name()),
                    reason,
                },
                None => TraceKind::MessageDelivered { msg_id },
            };
            let node = if reason.is_some() { from } else { to };
            self.trace_node(node, kind);
        }
        match reason {
            None => {
                if !msg.is_response() {
                    self.connections
                        .request_read(to, from, ends.from_incarnation);
                }
                self.step_node(to, Input::Recv { from, msg })
            }
            // A machine whose process is dead answers a new connection with a reset
            // ("connection refused"): the sender learns at once. A machine without power
            // answers nothing, and the sender waits for its timeouts. A restarted process's
            // kernel resets the old process's connection; the sender's process, if it is still
            // the one that sent, learns it — unless, by the time it learns, it already talks to
            // the new process on a new connection (a server that has read the restarted
            // client's first request).
            Some(DropReason::ReceiverDown) if self.slots[to.index()].powered => {
                self.notify_disconnect(from, to);
            }
            // Nothing acknowledges what reaches a machine without power, whether its
            // connection broke with the power loss or the message came later.
            Some(DropReason::ReceiverDown | DropReason::ConnectionReset)
                if !self.slots[to.index()].powered =>
            {
                self.slots[to.index()]
                    .unacknowledged
                    .insert(Unacknowledged {
                        from,
                        from_incarnation: ends.from_incarnation,
                        is_response: msg.is_response(),
                        to_incarnation: ends.to_incarnation,
                    });
            }
            Some(DropReason::ReceiverRestarted)
                if self.slots[from.index()].incarnation == ends.from_incarnation =>
            {
                let stale = (msg.is_response(), ends.to_incarnation);
                self.notify_disconnect_of(from, to, Some(stale));
            }
            Some(_) => {}
        }
    }

    fn step_node(&mut self, node: NodeId, input: Input<N>) {
        let now = self.now;
        let Some(state) = self.slots[node.index()].state.as_mut() else {
            return;
        };
        state.step(now, input, self.outbox.writer());
        self.flush_outbox(node);
    }

    fn trace_node(&mut self, node: NodeId, kind: NodeTraceKind<N>) {
        if self.trace.enabled() {
            let now = self.now;
            let name = self.slots[node.index()].name.clone();
            self.trace.push(now, &name, kind);
        }
    }

    /// Turn a node's outputs into events, disk writes and trace lines.
    fn flush_outbox(&mut self, node: NodeId) {
        let mut outbox = std::mem::take(&mut self.outbox);
        let mut exits = false;
        for output in outbox.drain() {
            match output {
                Output::Send { to, msg } => self.send(node, to, msg),
                Output::SetTimer { key, at } => {
                    let generation = self.next_timer_generation;
                    self.next_timer_generation += 1;
                    let slot = &mut self.slots[node.index()];
                    slot.timers.insert(key.clone(), generation);
                    let incarnation = slot.incarnation;
                    self.schedule(
                        at.max(self.now),
                        Event::Timer {
                            node,
                            incarnation,
                            key,
                            generation,
                        },
                    );
                }
                Output::CancelTimer(key) => {
                    self.slots[node.index()].timers.remove(&key);
                }
                Output::Disk(op) => self.disk_op(node, op),
                Output::Reply(reply) => {
                    if self.trace.enabled() {
                        let kind = TraceKind::Reply {
                            reply: reply.clone(),
                        };
                        self.trace_node(node, kind);
                    }
                    self.replies.push(Observed {
                        time: self.now,
                        node,
                        reply,
                    });
                }
                Output::Trace(event) => self.trace_node(node, TraceKind::Node { event }),
                Output::Exit => exits = true,
            }
        }
        self.outbox = outbox;
        if exits {
            self.take_down(node, Down::Exited);
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: N::Msg) {
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        let from_incarnation = self.slots[from.index()].incarnation;
        let current = self.slots[to.index()].incarnation;
        let to_incarnation = self.connections.stamp(from, to, msg.is_response(), current);
        match self.network.route(self.now, from, to) {
            Route::Deliver { at, connection } => {
                if self.trace.enabled() {
                    let kind = TraceKind::MessageSent {
                        msg_id,
                        to: self.slots[to.index()].name.clone(),
                        name: Cow::Borrowed(msg.name()),
                        summary: msg.summary(),
                        arrives: at,
                    };
                    self.trace_node(from, kind);
                }
                self.schedule(
                    at,
                    Event::Deliver {
                        from,
                        to,
                        connection,
                        msg_id,
                        sent: self.now,
                        from_incarnation,
                        to_incarnation,
                        msg,
                    },
                );
            }
            Route::Partitioned => {
                if self.trace.enabled() {
                    let kind = TraceKind::MessageDropped {
                        msg_id,
                        from: self.slots[from.index()].name.clone(),
                        to: self.slots[to.index()].name.clone(),
                        name: Cow::Borrowed(msg.name()),
                        reason: DropReason::Partitioned,
                    };
                    self.trace_node(from, kind);
                }
            }
        }
    }

    fn disk_op(&mut self, node: NodeId, op: DiskOp) {
        let slot = &mut self.slots[node.index()];
        slot.disk.apply(&op);
        let (incarnation, power_cycles) = (slot.incarnation, slot.power_cycles);
        let kind = match op {
            DiskOp::Sync { file, token } => {
                let at = self.now + self.config.disk.fsync_latency;
                self.trace_node(node, TraceKind::DiskSyncStarted { file: file.clone() });
                self.schedule(
                    at,
                    Event::SyncDone {
                        node,
                        incarnation,
                        power_cycles,
                        file,
                        token,
                    },
                );
                return;
            }
            DiskOp::Append { file, bytes } => TraceKind::DiskWrite {
                file,
                op: DiskWriteOp::Append,
                bytes: bytes.len() as u64,
            },
            DiskOp::Replace { file, bytes } => TraceKind::DiskWrite {
                file,
                op: DiskWriteOp::Replace,
                bytes: bytes.len() as u64,
            },
            DiskOp::Truncate { file, len } => TraceKind::DiskWrite {
                file,
                op: DiskWriteOp::Truncate,
                bytes: len,
            },
            DiskOp::Delete { file } => TraceKind::DiskWrite {
                file,
                op: DiskWriteOp::Delete,
                bytes: 0,
            },
        };
        self.trace_node(node, kind);
    }

    fn apply_fault(&mut self, fault: Fault) {
        match fault {
            Fault::ProcessCrash { node } => self.crash(node, CrashKind::Process),
            Fault::PowerLoss { node } => self.crash(node, CrashKind::Power),
            Fault::Shutdown { node } => {
                if self.slots[node.index()].state.is_some() {
                    self.trace_node(node, TraceKind::ShutdownRequested);
                    self.step_node(node, Input::Terminate);
                }
            }
            Fault::PowerLossAll => {
                for i in 0..self.slots.len() {
                    self.crash(NodeId(i as u32), CrashKind::Power);
                }
            }
            Fault::Restart { node } => {
                if self.slots[node.index()].state.is_none() {
                    self.slots[node.index()].powered = true;
                    self.slots[node.index()].exited = false;
                    self.reset_retransmitting_senders(node);
                    self.start(node);
                }
            }
            Fault::Partition { from, to, two_way } => {
                self.network.block(from, to);
                if two_way {
                    self.network.block(to, from);
                }
                if self.trace.enabled() {
                    let to_name = self.slots[to.index()].name.clone();
                    self.trace_node(
                        from,
                        TraceKind::PartitionStarted {
                            from: self.slots[from.index()].name.clone(),
                            to: to_name,
                            two_way,
                        },
                    );
                }
            }
            Fault::HealAll => {
                self.network.heal_all();
                let world = self.world_name.clone();
                self.trace
                    .push(self.now, &world, TraceKind::PartitionsHealed);
            }
            Fault::ResetConnection { a, b } => {
                self.network.reset(a, b);
                if self.trace.enabled() {
                    let peer = self.slots[b.index()].name.clone();
                    self.trace_node(a, TraceKind::ConnectionReset { peer });
                }
                self.notify_disconnect(a, b);
                self.notify_disconnect(b, a);
            }
        }
    }

    /// Tell `node` (if up) that its connection to `peer` broke, one network latency from now.
    fn notify_disconnect(&mut self, node: NodeId, peer: NodeId) {
        self.notify_disconnect_of(node, peer, None);
    }

    /// [`Self::notify_disconnect`], for the connection `stale` names if any.
    fn notify_disconnect_of(&mut self, node: NodeId, peer: NodeId, stale: Option<(bool, u32)>) {
        let slot = &self.slots[node.index()];
        if slot.state.is_some() {
            let incarnation = slot.incarnation;
            let at = self.now + self.config.network.latency_min;
            self.schedule(
                at,
                Event::Disconnect {
                    node,
                    incarnation,
                    peer,
                    stale,
                },
            );
        }
    }

    /// The machine is back: each sender still retransmitting to it hears a reset, unless it
    /// has restarted since it sent, or talks to the machine on a newer connection by then.
    fn reset_retransmitting_senders(&mut self, node: NodeId) {
        for u in std::mem::take(&mut self.slots[node.index()].unacknowledged) {
            if self.slots[u.from.index()].incarnation == u.from_incarnation {
                let stale = (u.is_response, u.to_incarnation);
                self.notify_disconnect_of(u.from, node, Some(stale));
            }
        }
    }

    fn crash(&mut self, node: NodeId, how: CrashKind) {
        if self.slots[node.index()].state.is_none() && how == CrashKind::Process {
            return;
        }
        self.take_down(node, Down::Crashed(how));
    }

    /// The node's process ends — it crashed, or exited after SIGTERM — and with it its
    /// memory, its timers and its connections; a power loss takes the page cache too.
    fn take_down(&mut self, node: NodeId, down: Down) {
        let slot = &mut self.slots[node.index()];
        let was_up = slot.state.take().is_some();
        if was_up {
            slot.incarnation += 1;
            slot.timers.clear();
            slot.exited = down == Down::Exited;
            self.connections.process_died(node);
            self.trace_node(
                node,
                match down {
                    Down::Crashed(how) => TraceKind::Crashed { how },
                    Down::Exited => TraceKind::Stopped,
                },
            );
        }
        let how = match down {
            Down::Crashed(how) => how,
            // An exiting process's kernel closes its sockets, as a killed one's does.
            Down::Exited => CrashKind::Process,
        };
        // Messages on their way to the dead process are lost; its own sent messages already
        // left the machine and still arrive.
        let mut peers_to_notify = Vec::new();
        for i in 0..self.slots.len() {
            let peer = NodeId(i as u32);
            if peer == node {
                continue;
            }
            let used = self.network.break_direction(peer, node);
            if used && how == CrashKind::Process {
                peers_to_notify.push(peer);
            }
        }
        // A killed process's kernel resets its connections; a machine without power is silent.
        for peer in peers_to_notify {
            self.notify_disconnect(peer, node);
        }
        if how == CrashKind::Power {
            let config = self.config.disk;
            let slot = &mut self.slots[node.index()];
            slot.power_cycles += 1;
            slot.powered = false;
            let losses = slot.disk.power_loss(&config, &mut slot.disk_prng);
            self.trace_node(node, TraceKind::PowerLost { files: losses });
        }
    }
}
