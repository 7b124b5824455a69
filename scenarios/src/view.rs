//! The view reducer: the world's visible state at any line of a trace.
//!
//! A trace holds snapshots of the whole world — every node's view, the cut links, the
//! messages in flight — when the run starts, periodically, and after every fault. Between
//! two snapshots each line changes the state in a way this module knows: a message sent is in
//! flight until it is delivered or dropped, a crash takes a node's view away, a replica's
//! append moves its log end, a coordinator's event moves its group... So the state at line
//! `i` is the last snapshot at or before `i` with the lines after it applied: seeking is
//! instant however long the run, and stepping back is seeking one line earlier. The browser
//! draws what this returns; `kafkasim run --at` prints it. Every change here mirrors one
//! traced change in a node, and a test checks that replaying from one snapshot gives exactly
//! the next.

use crate::trace::{Header, Kind, Line, NodeRole, WorldSnapshot};
use kafkasim_core::actor::{Event, Reply};
use kafkasim_core::broker::{LogEvent, ReplicaEvent, ReplicaRole};
use kafkasim_core::client::consumer;
use kafkasim_core::connect::{sink::SinkView, source::SourceView};
use kafkasim_core::controller;
use kafkasim_core::database::{self, DatabaseView, heap::Rows};
use kafkasim_core::group;
use kafkasim_core::ids::TopicPartition;
use kafkasim_core::metadata::MetadataImage;
use kafkasim_core::quorum::{self, QuorumRole};
use kafkasim_core::registry::server::RegistryView;
use kafkasim_core::stage::StageView;
use kafkasim_core::time::Instant;
use kafkasim_core::view::{
    BrokerView, ConsumerView, ControllerView, GroupView, NodeView, QuorumView, ReplicaView,
};
use kafkasim_sim::trace::{CrashKind, InFlight, Name, NodeSnapshot, NodeStatus};
use std::collections::{BTreeMap, BTreeSet};

/// The world's visible state at one line of a trace.
#[derive(Clone, Debug)]
pub struct WorldView {
    /// The simulated time of the line.
    pub time: Instant,
    /// Every node, in the order they were added to the world.
    pub nodes: Vec<NodeSnapshot<NodeView>>,
    /// Directed links a partition blocks: (from, to).
    pub cut: BTreeSet<(Name, Name)>,
    /// Messages sent and not yet delivered or dropped, by message id.
    pub in_flight: BTreeMap<u64, InFlight>,
    /// What each node is, to give a restarted node the view of a fresh one.
    roles: BTreeMap<Name, NodeRole>,
    /// Each controller's metadata image: records apply to it by the image's own rules.
    images: BTreeMap<Name, MetadataImage>,
}

/// The view of a node that has just started, before it reads its disk.
fn started(role: &NodeRole) -> NodeView {
    match role {
        NodeRole::Broker { .. } => NodeView::Broker(BrokerView::default()),
        NodeRole::Controller => NodeView::Controller(ControllerView {
            quorum: QuorumView {
                epoch: 0,
                role: QuorumRole::Unattached,
                leader: -1,
                high_watermark: 0,
                log_end_offset: 0,
            },
            brokers: Vec::new(),
            partitions: Vec::new(),
        }),
        NodeRole::Producer { .. } => NodeView::Producer,
        NodeRole::Consumer { .. } => NodeView::Consumer(ConsumerView::started()),
        NodeRole::Database { tables, .. } => NodeView::Database(DatabaseView {
            tables: tables.iter().map(|t| (t.clone(), Rows::new())).collect(),
            ..DatabaseView::default()
        }),
        NodeRole::Source { .. } => NodeView::Source(SourceView::started()),
        NodeRole::Sink { table, .. } => NodeView::Sink(SinkView {
            table: table.clone(),
            ..SinkView::default()
        }),
        NodeRole::Stage { .. } => NodeView::Stage(StageView::default()),
        NodeRole::Registry { compatibility } => NodeView::Registry(RegistryView {
            compatibility: *compatibility,
            ..RegistryView::default()
        }),
    }
}

impl WorldView {
    /// The state a snapshot records, for the run `header` describes.
    pub fn from_snapshot(header: &Header, time: Instant, snapshot: &WorldSnapshot) -> Self {
        let mut view = WorldView {
            time,
            nodes: Vec::new(),
            cut: BTreeSet::new(),
            in_flight: BTreeMap::new(),
            roles: header
                .nodes
                .iter()
                .map(|n| (Name::from(n.name.as_str()), n.role.clone()))
                .collect(),
            images: BTreeMap::new(),
        };
        view.reset_to(time, snapshot);
        view
    }

    fn reset_to(&mut self, time: Instant, snapshot: &WorldSnapshot) {
        self.time = time;
        self.nodes = snapshot.nodes.clone();
        self.cut = snapshot.cut.iter().cloned().collect();
        self.in_flight = snapshot
            .in_flight
            .iter()
            .map(|m| (m.msg_id, m.clone()))
            .collect();
        self.images = self
            .nodes
            .iter()
            .filter_map(|n| match &n.view {
                Some(NodeView::Controller(c)) => Some((
                    n.node.clone(),
                    MetadataImage::from_visible(&c.brokers, &c.partitions),
                )),
                _ => None,
            })
            .collect();
    }

    /// This state as a snapshot records it (to compare with one).
    pub fn to_snapshot(&self) -> WorldSnapshot {
        WorldSnapshot {
            nodes: self.nodes.clone(),
            cut: self.cut.iter().cloned().collect(),
            in_flight: self.in_flight.values().cloned().collect(),
        }
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeSnapshot<NodeView>> {
        self.nodes.iter().find(|n| &*n.node == name)
    }

    fn node_mut(&mut self, name: &str) -> Option<&mut NodeSnapshot<NodeView>> {
        self.nodes.iter_mut().find(|n| &*n.node == name)
    }

    /// Take one line into account.
    pub fn apply(&mut self, line: &Line) {
        self.time = line.time;
        let node = &*line.node;
        match &line.kind {
            Kind::Snapshot { snapshot } => self.reset_to(line.time, snapshot),
            Kind::MessageSent {
                msg_id,
                to,
                name,
                arrives,
                ..
            } => {
                let message = InFlight {
                    msg_id: *msg_id,
                    from: line.node.clone(),
                    to: to.clone(),
                    name: name.clone(),
                    sent: line.time,
                    arrives: *arrives,
                };
                self.in_flight.insert(*msg_id, message);
            }
            Kind::MessageDelivered { msg_id, .. } | Kind::MessageDropped { msg_id, .. } => {
                self.in_flight.remove(msg_id);
            }
            Kind::Crashed { how } => self.crashed(node, *how),
            Kind::PowerLost { .. } => {
                if let Some(n) = self.node_mut(node) {
                    n.status = NodeStatus::PoweredOff;
                }
            }
            Kind::Restarted { incarnation } => self.restarted(node, *incarnation),
            Kind::Stopped => self.went_down(node, NodeStatus::Stopped),
            Kind::PartitionStarted { from, to, two_way } => {
                self.cut.insert((from.clone(), to.clone()));
                if *two_way {
                    self.cut.insert((to.clone(), from.clone()));
                }
            }
            Kind::PartitionsHealed => self.cut.clear(),
            Kind::Node { event } => self.node_event(node, event),
            Kind::Reply {
                reply: Reply::Consumer(reply),
            } => {
                if let Some(NodeView::Consumer(c)) =
                    self.node_mut(node).and_then(|n| n.view.as_mut())
                {
                    consumer_reply(c, reply);
                }
            }
            _ => {}
        }
    }

    fn crashed(&mut self, node: &str, how: CrashKind) {
        let status = match how {
            CrashKind::Process => NodeStatus::Killed,
            CrashKind::Power => NodeStatus::PoweredOff,
        };
        self.went_down(node, status);
    }

    /// The node's process ended: it crashed, or shut down.
    fn went_down(&mut self, node: &str, status: NodeStatus) {
        if let Some(n) = self.node_mut(node) {
            n.status = status;
            n.incarnation += 1;
            n.view = None;
        }
        self.images.remove(node);
    }

    fn restarted(&mut self, node: &str, incarnation: u32) {
        let fresh = self.roles.get(node).map(started);
        if matches!(fresh, Some(NodeView::Controller(_))) {
            self.images
                .insert(Name::from(node), MetadataImage::default());
        }
        if let Some(n) = self.node_mut(node) {
            n.status = NodeStatus::Up;
            n.incarnation = incarnation;
            n.view = fresh;
        }
    }

    fn node_event(&mut self, node: &str, event: &Event) {
        if let Event::Controller(controller::Event::RecordApplied { record, .. }) = event
            && let Some(image) = self.images.get_mut(node)
        {
            image.apply(record);
            let (brokers, partitions) = (image.registered_brokers(), image.partition_assignments());
            if let Some(NodeView::Controller(c)) = self.node_mut(node).and_then(|n| n.view.as_mut())
            {
                c.brokers = brokers;
                c.partitions = partitions;
            }
            return;
        }
        let Some(view) = self.node_mut(node).and_then(|n| n.view.as_mut()) else {
            return;
        };
        match (view, event) {
            (NodeView::Broker(b), Event::Log(e)) => log_event(b, e),
            (NodeView::Broker(b), Event::Replica(e)) => replica_event(b, e),
            (NodeView::Broker(b), Event::Group(e)) => group_event(b, e),
            (NodeView::Controller(c), Event::Quorum(e)) => quorum_event(&mut c.quorum, e),
            (NodeView::Consumer(c), Event::Consumer(e)) => consumer_event(c, e),
            (NodeView::Database(d), Event::Database(e)) => database_event(d, e),
            (NodeView::Source(s), Event::Source(e)) => s.apply(e),
            (NodeView::Sink(s), Event::Sink(e)) => s.apply(e),
            (NodeView::Registry(r), Event::Registry(e)) => r.apply(e),
            (NodeView::Stage(s), Event::Stage(e)) => s.apply(e),
            _ => {}
        }
    }
}

/// What a database's event changes of its view.
fn database_event(d: &mut DatabaseView, e: &database::Event) {
    match e {
        database::Event::Committed { lsn, changes, .. } => {
            d.commit_lsn = *lsn;
            for change in changes {
                database::recovery::apply(&mut d.tables, change);
            }
        }
        database::Event::WalFlushed { flush_lsn } => d.flush_lsn = *flush_lsn,
        database::Event::CheckpointCompleted { redo, .. } => d.redo_lsn = *redo,
        database::Event::Recovered {
            report,
            tables,
            slots,
        } => {
            d.commit_lsn = report.end;
            d.flush_lsn = report.redo;
            d.redo_lsn = report.redo;
            d.tables.clone_from(tables);
            d.slots.clone_from(slots);
        }
        database::Event::SlotAdvanced { slot, position } => {
            d.slots.insert(slot.clone(), *position);
        }
        database::Event::Replayed { lsn, changes, .. } => {
            d.commit_lsn = *lsn;
            for change in changes {
                database::recovery::apply(&mut d.tables, change);
            }
        }
        database::Event::Promoted { lsn, .. } => d.commit_lsn = *lsn,
        database::Event::StandbyConnected { .. } | database::Event::StandbyConfirmed { .. } => {}
    }
}

/// The replica of `tp` on broker `b`, created empty if unknown.
fn replica<'a>(b: &'a mut BrokerView, tp: &TopicPartition) -> &'a mut ReplicaView {
    let i = match b.replicas.binary_search_by(|r| r.partition.cmp(tp)) {
        Ok(i) => i,
        Err(i) => {
            b.replicas.insert(i, empty_replica(tp));
            i
        }
    };
    &mut b.replicas[i]
}

/// A replica a broker has just created: offline, nothing known, an empty log.
fn empty_replica(tp: &TopicPartition) -> ReplicaView {
    ReplicaView {
        partition: tp.clone(),
        role: ReplicaRole::Offline,
        leader: -1,
        leader_epoch: -1,
        partition_epoch: -1,
        replicas: Vec::new(),
        isr: Vec::new(),
        log_start_offset: 0,
        log_end_offset: 0,
        high_watermark: 0,
        epochs: Vec::new(),
    }
}

fn log_event(b: &mut BrokerView, event: &LogEvent) {
    if let LogEvent::SegmentsDeleted { partition, deleted } = event {
        replica(b, partition).log_start_offset = deleted.log_start_offset;
    }
    if let LogEvent::Recovered {
        partition,
        report,
        log_start_offset,
        epochs,
        high_watermark,
    } = event
    {
        let r = replica(b, partition);
        *r = empty_replica(partition);
        r.log_start_offset = *log_start_offset;
        r.log_end_offset = report.log_end_offset;
        r.high_watermark = *high_watermark;
        r.epochs.clone_from(epochs);
    }
}

fn replica_event(b: &mut BrokerView, event: &ReplicaEvent) {
    let r = replica(b, event.partition());
    match event {
        ReplicaEvent::ReplicaCreated { partition } => *r = empty_replica(partition),
        ReplicaEvent::LogAppended { log_end_offset, .. } => r.log_end_offset = *log_end_offset,
        ReplicaEvent::HighWatermarkUpdated { high_watermark, .. } => {
            r.high_watermark = *high_watermark
        }
        ReplicaEvent::ReplicaState {
            role,
            leader_epoch,
            partition_epoch,
            leader,
            log_end_offset,
            high_watermark,
            replicas,
            isr,
            ..
        } => {
            r.role = *role;
            r.leader_epoch = *leader_epoch;
            r.partition_epoch = *partition_epoch;
            r.leader = *leader;
            r.log_end_offset = *log_end_offset;
            r.high_watermark = *high_watermark;
            r.replicas.clone_from(replicas);
            r.isr.clone_from(isr);
        }
        ReplicaEvent::LeaderEpochsChanged { epochs, .. } => r.epochs.clone_from(epochs),
        ReplicaEvent::ReplicaTruncated {
            to,
            log_start_offset,
            high_watermark,
            ..
        } => {
            r.log_end_offset = *to;
            r.log_start_offset = *log_start_offset;
            r.high_watermark = *high_watermark;
        }
        ReplicaEvent::PartitionEpochBumped {
            partition_epoch, ..
        } => r.partition_epoch = *partition_epoch,
        ReplicaEvent::IsrShrunk {
            isr,
            partition_epoch,
            ..
        }
        | ReplicaEvent::IsrExpanded {
            isr,
            partition_epoch,
            ..
        } => {
            r.isr.clone_from(isr);
            r.partition_epoch = *partition_epoch;
        }
        ReplicaEvent::DuplicateBatchIgnored { .. } => {}
    }
}

/// The group called `name` on broker `b`, created Empty if unknown.
fn group_view<'a>(b: &'a mut BrokerView, name: &str) -> &'a mut GroupView {
    let i = match b.groups.binary_search_by(|g| g.group.as_str().cmp(name)) {
        Ok(i) => i,
        Err(i) => {
            let empty = GroupView {
                group: name.to_string(),
                state: group::GroupState::Empty,
                generation: 0,
                leader: String::new(),
                protocol: String::new(),
                members: Vec::new(),
                committed: Vec::new(),
            };
            b.groups.insert(i, empty);
            i
        }
    };
    &mut b.groups[i]
}

/// Set `key`'s value in a list kept in key order.
fn set_sorted<K: Ord + Clone, V>(list: &mut Vec<(K, V)>, key: &K, value: V) {
    match list.binary_search_by(|(k, _)| k.cmp(key)) {
        Ok(i) => list[i].1 = value,
        Err(i) => list.insert(i, (key.clone(), value)),
    }
}

fn group_event(b: &mut BrokerView, event: &group::Event) {
    use group::Event as G;
    if let G::GroupsUnloaded { groups, .. } = event {
        b.groups.retain(|g| !groups.contains(&g.group));
        return;
    }
    let Some(name) = event.group() else { return };
    let g = group_view(b, name);
    match event {
        G::Created { .. } | G::OffsetCommitAppended { .. } | G::GroupsUnloaded { .. } => {}
        G::GroupLoaded {
            generation,
            protocol,
            leader,
            members,
            ..
        } => {
            g.generation = *generation;
            g.protocol.clone_from(protocol);
            g.leader.clone_from(leader);
            g.members.clone_from(members);
        }
        G::StateChanged { state, .. } => g.state = *state,
        G::MemberJoined { member, .. } => {
            if g.members.binary_search_by(|(m, _)| m.cmp(member)).is_err() {
                set_sorted(&mut g.members, member, Vec::new());
            }
        }
        G::GenerationStarted {
            generation,
            members,
            leader,
            protocol,
            ..
        } => {
            g.generation = *generation;
            g.leader.clone_from(leader);
            g.protocol.clone_from(protocol);
            g.members = members.iter().map(|m| (m.clone(), Vec::new())).collect();
        }
        G::AssignmentReceived { assignment, .. } => {
            for (member, partitions) in assignment {
                if let Ok(i) = g.members.binary_search_by(|(m, _)| m.cmp(member)) {
                    g.members[i].1.clone_from(partitions);
                }
            }
        }
        G::StaticMemberReplaced { old, new, .. } => {
            if let Ok(i) = g.members.binary_search_by(|(m, _)| m.cmp(old)) {
                let (_, partitions) = g.members.remove(i);
                set_sorted(&mut g.members, new, partitions);
            }
            if g.leader == *old {
                g.leader.clone_from(new);
            }
        }
        G::MemberRemoved { member, .. } => g.members.retain(|(m, _)| m != member),
        G::OffsetsCommitted { offsets, .. } | G::OffsetsLoaded { offsets, .. } => {
            for (tp, offset) in offsets {
                set_sorted(&mut g.committed, tp, *offset);
            }
        }
    }
}

fn quorum_event(q: &mut QuorumView, event: &quorum::Event) {
    match event {
        quorum::Event::Started {
            epoch,
            role,
            leader,
            log_end_offset,
        } => {
            *q = QuorumView {
                epoch: *epoch,
                role: *role,
                leader: *leader,
                high_watermark: 0,
                log_end_offset: *log_end_offset,
            }
        }
        quorum::Event::StateChanged {
            epoch,
            role,
            leader,
        } => {
            q.epoch = *epoch;
            q.role = *role;
            q.leader = *leader;
        }
        quorum::Event::LogAppended { log_end_offset } => q.log_end_offset = *log_end_offset,
        quorum::Event::HighWatermark { high_watermark } => q.high_watermark = *high_watermark,
        quorum::Event::Truncated { to_offset, .. } => q.log_end_offset = *to_offset,
    }
}

fn consumer_event(c: &mut ConsumerView, event: &consumer::Event) {
    use consumer::Event as C;
    match event {
        C::Subscribed { group } => c.group = Some(group.clone()),
        C::PartitionsAssigned { partitions } => c.assignment.clone_from(partitions),
        C::Joined {
            member_id,
            generation,
        } => {
            c.member_id.clone_from(member_id);
            c.generation = *generation;
        }
        C::MembershipReset => {
            c.member_id.clear();
            c.generation = -1;
        }
        C::PositionInvalid { partition } => c.positions.retain(|(tp, _)| tp != partition),
        C::SeekedToBeginning { partitions } => {
            c.positions.retain(|(tp, _)| !partitions.contains(tp))
        }
        C::PollStalled { .. }
        | C::Closed
        | C::RequestTimedOut { .. }
        | C::AssignmentMetadataChanged { .. } => {}
    }
}

fn consumer_reply(c: &mut ConsumerView, reply: &consumer::Reply) {
    use consumer::Reply as R;
    match reply {
        R::Polled {
            partition, records, ..
        } => {
            if let Some(last) = records.last() {
                set_sorted(&mut c.positions, partition, last.offset + 1);
            }
        }
        R::PositionReset {
            partition, offset, ..
        } if *offset >= 0 => set_sorted(&mut c.positions, partition, *offset),
        R::Assigned {
            member_id,
            generation,
            partitions,
            ..
        } => {
            c.member_id.clone_from(member_id);
            c.generation = *generation;
            c.assignment.clone_from(partitions);
        }
        R::Revoked { partitions, .. } => {
            c.assignment.retain(|tp| !partitions.contains(tp));
            c.positions.retain(|(tp, _)| !partitions.contains(tp));
        }
        R::LeftGroup { .. } => {
            c.member_id.clear();
            c.generation = -1;
        }
        R::PositionReset { .. } | R::CommitFailed { .. } | R::CorruptBatch { .. } => {}
    }
}

/// Seeking in a trace: the state at any line, from the nearest snapshot before it.
#[derive(Debug)]
pub struct Reducer<'a> {
    header: &'a Header,
    lines: &'a [Line],
    /// Where the snapshots are, in line order.
    snapshots: Vec<usize>,
}

impl<'a> Reducer<'a> {
    /// The run's pipeline — who writes and who reads each topic — for drawing it: it is
    /// the header's, the same at every moment.
    pub fn pipeline(&self) -> crate::pipeline::Flows {
        crate::pipeline::flows(self.header)
    }

    /// A reducer over a run's lines.
    pub fn new(header: &'a Header, lines: &'a [Line]) -> Self {
        let snapshots = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l.kind, Kind::Snapshot { .. }))
            .map(|(i, _)| i)
            .collect();
        Reducer {
            header,
            lines,
            snapshots,
        }
    }

    /// How many snapshots the trace holds.
    pub fn snapshot_count(&self) -> usize {
        self.snapshots.len()
    }

    /// The state just after line `index`, or `None` before the first snapshot.
    pub fn at_line(&self, index: usize) -> Option<WorldView> {
        let index = index.min(self.lines.len().checked_sub(1)?);
        let start = match self.snapshots.binary_search(&index) {
            Ok(i) => self.snapshots[i],
            Err(0) => return None,
            Err(i) => self.snapshots[i - 1],
        };
        let Kind::Snapshot { snapshot } = &self.lines[start].kind else {
            unreachable!("snapshot indices point at snapshots");
        };
        let mut view = WorldView::from_snapshot(self.header, self.lines[start].time, snapshot);
        for line in &self.lines[start + 1..=index] {
            view.apply(line);
        }
        Some(view)
    }

    /// The state at the end of simulated time `time` (after every line at or before it).
    pub fn at_time(&self, time: Instant) -> Option<WorldView> {
        let after = self.lines.partition_point(|l| l.time <= time);
        let mut view = self.at_line(after.checked_sub(1)?)?;
        view.time = time;
        Some(view)
    }

    /// The state at the end of the run.
    pub fn at_end(&self) -> Option<WorldView> {
        self.at_line(self.lines.len().checked_sub(1)?)
    }
}
