//! What the page reads off a trace's lines once, to draw at any moment without replaying:
//! the timeline's markers, the responses held in a purgatory, the offsets acknowledged to
//! producers, and the cells each truncation cut.

use kafkasim_core::actor::{Event, Reply};
use kafkasim_core::broker::{ReplicaEvent, ReplicaRole, TruncationCause};
use kafkasim_core::client::producer;
use kafkasim_core::group;
use kafkasim_core::purgatory::{self, Condition};
use kafkasim_core::time::Instant;
use kafkasim_core::view::NodeView;
use kafkasim_scenarios::trace::{Kind, Line};
use std::collections::BTreeMap;

/// What a marker on the timeline stands for (each has its colour and its `data-kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MarkerKind {
    /// A scheduled fault: a crash, a power loss, a restart, a partition, a heal, a reset.
    Fault,
    /// A broker became the leader of a partition.
    Election,
    /// An ISR shrank or expanded.
    Isr,
    /// A consumer group started a generation.
    Rebalance,
    /// A checker's finding became provable.
    Finding,
}

impl MarkerKind {
    /// The kind as the page's `data-kind` and CSS class spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerKind::Fault => "fault",
            MarkerKind::Election => "election",
            MarkerKind::Isr => "isr",
            MarkerKind::Rebalance => "rebalance",
            MarkerKind::Finding => "finding",
        }
    }
}

/// A marker on the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// The trace line it marks.
    pub line: usize,
    /// Its simulated time.
    pub time: Instant,
    /// What it stands for.
    pub kind: MarkerKind,
    /// What happened, in a few words (the marker's tooltip).
    pub label: String,
}

impl Marker {
    /// The marker of a checker's finding.
    pub fn finding(f: &super::findings::Finding) -> Marker {
        Marker {
            line: f.line,
            time: f.time,
            kind: MarkerKind::Finding,
            label: format!("{}: {}", f.checker, f.text),
        }
    }
}

/// A response a node holds in a purgatory until something happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    /// The node holding it.
    pub node: String,
    /// The response held (`ProduceResponse`).
    pub what: String,
    /// Whom it will go to, when it is a response to a node.
    pub to: Option<String>,
    /// What it waits for, in words (`HW of orders-0 reaches 115`).
    pub until: String,
    /// The line that held it.
    pub from_line: usize,
    /// The line that released it (or the node's crash); none if it is held to the end.
    pub to_line: Option<usize>,
}

impl Hold {
    /// Whether it is held just after line `cursor`.
    pub fn held_at(&self, cursor: usize) -> bool {
        self.from_line <= cursor && self.to_line.is_none_or(|end| cursor < end)
    }
}

/// A record acknowledged to a producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ack {
    /// The line of the acknowledgement.
    pub line: usize,
    /// The record's offset.
    pub offset: i64,
}

/// A replica truncation and the cells it cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Truncation {
    /// The line of the truncation.
    pub line: usize,
    /// Its simulated time.
    pub time: Instant,
    /// The broker.
    pub node: String,
    /// The partition (`orders-0`).
    pub partition: String,
    /// The log end offset before.
    pub from: i64,
    /// The log end offset after.
    pub to: i64,
    /// Why.
    pub cause: TruncationCause,
    /// The leader epoch of each cut offset, `to..from`, as the replica's epoch cache had it.
    pub cut_epochs: Vec<Option<i32>>,
}

/// Everything [`read`] finds.
#[derive(Debug, Default)]
pub struct Read {
    /// The markers, in line order.
    pub markers: Vec<Marker>,
    /// The holds, in the order they were held.
    pub holds: Vec<Hold>,
    /// Acknowledged offsets by partition.
    pub acks: BTreeMap<String, Vec<Ack>>,
    /// The truncations, in line order.
    pub truncations: Vec<Truncation>,
}

/// The epoch of `offset` in an epoch cache (each entry: an epoch and its start offset).
pub fn epoch_of(epochs: &[(i32, i64)], offset: i64) -> Option<i32> {
    epochs
        .iter()
        .take_while(|(_, start)| *start <= offset)
        .last()
        .map(|(epoch, _)| *epoch)
}

/// Read the lines once.
pub fn read(lines: &[Line]) -> Read {
    let mut reader = Reader::default();
    for (i, line) in lines.iter().enumerate() {
        reader.line(i, line);
    }
    reader.read
}

/// The reading under way.
#[derive(Default)]
struct Reader {
    read: Read,
    /// Open holds by (node, purgatory, id): their index in `read.holds`.
    open: BTreeMap<(String, String, u64), usize>,
    /// Every replica's epoch cache as of the line being read, by (node, partition).
    epochs: BTreeMap<(String, String), Vec<(i32, i64)>>,
    /// Nodes' names by their simulated address (the order the header lists them).
    names: Vec<String>,
}

impl Reader {
    fn line(&mut self, i: usize, line: &Line) {
        let node = &*line.node;
        match &line.kind {
            Kind::Snapshot { snapshot } => {
                if self.names.is_empty() {
                    self.names = snapshot.nodes.iter().map(|n| n.node.to_string()).collect();
                }
                self.epochs_from_snapshot(snapshot);
            }
            Kind::Crashed { how } => {
                self.close_holds_of(node, i);
                self.mark(
                    i,
                    line,
                    MarkerKind::Fault,
                    format!("{node} {}", crash_words(*how)),
                );
            }
            Kind::Restarted { .. } => {
                self.mark(i, line, MarkerKind::Fault, format!("{node} restarts"))
            }
            Kind::ShutdownRequested => {
                let label = format!("{node} is asked to shut down (SIGTERM)");
                self.mark(i, line, MarkerKind::Fault, label)
            }
            Kind::Stopped => {
                self.close_holds_of(node, i);
                self.mark(i, line, MarkerKind::Fault, format!("{node} has shut down"));
            }
            Kind::PartitionStarted { from, to, two_way } => {
                let arrow = if *two_way { "<-/->" } else { "-/->" };
                let label = format!("network partition {from} {arrow} {to}");
                self.mark(i, line, MarkerKind::Fault, label)
            }
            Kind::PartitionsHealed => {
                self.mark(i, line, MarkerKind::Fault, "partitions healed".into())
            }
            Kind::ConnectionReset { peer } => {
                let label = format!("connection {node} <-> {peer} reset");
                self.mark(i, line, MarkerKind::Fault, label)
            }
            Kind::Node { event } => self.node_event(i, line, event),
            Kind::Reply {
                reply:
                    Reply::Producer(producer::Reply::Acked {
                        partition,
                        offset: Some(offset),
                        ..
                    }),
            } => {
                let ack = Ack {
                    line: i,
                    offset: *offset,
                };
                self.read
                    .acks
                    .entry(partition.to_string())
                    .or_default()
                    .push(ack);
            }
            _ => {}
        }
    }

    fn mark(&mut self, i: usize, line: &Line, kind: MarkerKind, label: String) {
        self.read.markers.push(Marker {
            line: i,
            time: line.time,
            kind,
            label,
        });
    }

    fn node_event(&mut self, i: usize, line: &Line, event: &Event) {
        let node = &*line.node;
        match event {
            Event::Replica(e) if e.partition().topic.starts_with("__") => {}
            Event::Replica(e) => self.replica_event(i, line, e),
            Event::Group(group::Event::GenerationStarted {
                group, generation, ..
            }) => {
                let label = format!("{group} starts generation {generation}");
                self.mark(i, line, MarkerKind::Rebalance, label);
            }
            Event::Purgatory(e) => self.purgatory_event(i, node, e),
            _ => {}
        }
    }

    fn replica_event(&mut self, i: usize, line: &Line, event: &ReplicaEvent) {
        let node = &*line.node;
        match event {
            ReplicaEvent::ReplicaState {
                partition,
                role: ReplicaRole::Leader,
                leader_epoch,
                ..
            } => {
                let label = format!("{node} leads {partition} in epoch {leader_epoch}");
                self.mark(i, line, MarkerKind::Election, label);
            }
            ReplicaEvent::IsrShrunk { partition, isr, .. } => {
                let label = format!("ISR of {partition} shrinks to {isr:?}");
                self.mark(i, line, MarkerKind::Isr, label);
            }
            ReplicaEvent::IsrExpanded { partition, isr, .. } => {
                let label = format!("ISR of {partition} expands to {isr:?}");
                self.mark(i, line, MarkerKind::Isr, label);
            }
            ReplicaEvent::LeaderEpochsChanged { partition, epochs } => {
                let key = (node.to_string(), partition.to_string());
                self.epochs.insert(key, epochs.clone());
            }
            ReplicaEvent::ReplicaTruncated {
                partition,
                from,
                to,
                cause,
                ..
            } => {
                let key = (node.to_string(), partition.to_string());
                let epochs = self.epochs.get(&key).map_or(&[][..], Vec::as_slice);
                let cut_epochs = (*to..*from).map(|o| epoch_of(epochs, o)).collect();
                self.read.truncations.push(Truncation {
                    line: i,
                    time: line.time,
                    node: node.to_string(),
                    partition: partition.to_string(),
                    from: *from,
                    to: *to,
                    cause: *cause,
                    cut_epochs,
                });
            }
            _ => {}
        }
    }

    fn purgatory_event(&mut self, i: usize, node: &str, event: &purgatory::Event) {
        match event {
            purgatory::Event::Held {
                purgatory,
                id,
                what,
                to,
                until,
                ..
            } => {
                let to = to.and_then(|id| self.names.get(id.0 as usize).cloned());
                self.open.insert(
                    (node.into(), format!("{purgatory:?}"), *id),
                    self.read.holds.len(),
                );
                self.read.holds.push(Hold {
                    node: node.to_string(),
                    what: what.to_string(),
                    to,
                    until: until
                        .iter()
                        .map(condition_words)
                        .collect::<Vec<_>>()
                        .join(" and "),
                    from_line: i,
                    to_line: None,
                });
            }
            purgatory::Event::Released { purgatory, id, .. } => {
                if let Some(h) = self
                    .open
                    .remove(&(node.into(), format!("{purgatory:?}"), *id))
                {
                    self.read.holds[h].to_line = Some(i);
                }
            }
        }
    }

    /// A crashed node's purgatories die with its memory.
    fn close_holds_of(&mut self, node: &str, i: usize) {
        let keys: Vec<_> = self.open.keys().filter(|k| k.0 == node).cloned().collect();
        for key in keys {
            if let Some(h) = self.open.remove(&key) {
                self.read.holds[h].to_line = Some(i);
            }
        }
    }

    fn epochs_from_snapshot(&mut self, snapshot: &kafkasim_scenarios::trace::WorldSnapshot) {
        for n in &snapshot.nodes {
            if let Some(NodeView::Broker(b)) = &n.view {
                for r in &b.replicas {
                    let key = (n.node.to_string(), r.partition.to_string());
                    self.epochs.insert(key, r.epochs.clone());
                }
            }
        }
    }
}

fn crash_words(how: kafkasim_sim::trace::CrashKind) -> &'static str {
    match how {
        kafkasim_sim::trace::CrashKind::Process => "is killed (kill -9)",
        kafkasim_sim::trace::CrashKind::Power => "loses power",
    }
}

/// What a held response waits for, in words.
pub fn condition_words(c: &Condition) -> String {
    match c {
        Condition::HighWatermark { partition, offset } => {
            format!("the HW of {partition} reaches {offset}")
        }
        Condition::Fsync { file, .. } => format!("the fsync of {file}"),
        Condition::Records { min_bytes } => format!("{min_bytes} bytes of records"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_belongs_to_the_last_epoch_starting_at_or_before_it() {
        let epochs = [(0, 0), (2, 10), (3, 15)];
        let cases = [
            (0, Some(0)),
            (9, Some(0)),
            (10, Some(2)),
            (14, Some(2)),
            (99, Some(3)),
        ];
        for (offset, epoch) in cases {
            assert_eq!(epoch_of(&epochs, offset), epoch, "offset {offset}");
        }
        assert_eq!(epoch_of(&[(1, 5)], 4), None);
        assert_eq!(epoch_of(&[], 0), None);
    }

    #[test]
    fn a_hold_covers_the_lines_from_its_hold_to_its_release() {
        let h = Hold {
            node: "b".into(),
            what: "ProduceResponse".into(),
            to: None,
            until: String::new(),
            from_line: 5,
            to_line: Some(8),
        };
        let held: Vec<usize> = (0..10).filter(|&c| h.held_at(c)).collect();
        assert_eq!(held, vec![5, 6, 7]);
    }
}
