//! The replica ladder of one partition at one moment: a row per replica, the log as cells
//! coloured by leader epoch, the log start, log end and high watermark, the leader and the
//! ISR, the offsets acknowledged to producers, and the cells a recent truncation cut.
//!
//! Long logs are windowed: every row shows the same offsets (so columns line up) — the
//! last [`WINDOW`] offsets up to the furthest log end, where replication happens — and the
//! offsets before the window are counted, not drawn.

use super::loaded::Loaded;
use super::marks::{Truncation, epoch_of};
use kafkasim_core::broker::{ReplicaRole, TruncationCause};
use kafkasim_core::time::Duration;
use kafkasim_core::view::{NodeView, PartitionAssignment, ReplicaView};
use kafkasim_scenarios::trace::NodeRole;
use kafkasim_scenarios::view::WorldView;
use kafkasim_sim::trace::NodeStatus;
use std::collections::BTreeSet;

/// How many offsets a ladder draws.
pub const WINDOW: i64 = 40;

/// How long the cells a truncation cut stay drawn, struck through, after it.
pub const TRUNCATION_SHOWN: Duration = Duration::from_millis(1500);

/// One partition's ladder.
#[derive(Clone, Debug, PartialEq)]
pub struct Ladder {
    /// The partition (`orders-0`).
    pub partition: String,
    /// The first offset drawn.
    pub start: i64,
    /// One past the last offset drawn.
    pub end: i64,
    /// How many offsets come before `start` and are not drawn.
    pub elided: i64,
    /// The rows, in broker order.
    pub rows: Vec<Row>,
    /// What the controllers' metadata says of the partition, when a controller knows it.
    pub metadata: Option<PartitionAssignment>,
}

/// A replica's row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The broker's name.
    pub broker: String,
    /// Its `node.id`.
    pub broker_id: i32,
    /// The replica as its broker sees it; none while the broker is down.
    pub replica: Option<ReplicaRow>,
    /// The broker's status.
    pub status: NodeStatus,
    /// The cells drawn, `start..end` of the ladder.
    pub cells: Vec<Cell>,
    /// A truncation shown now, if one happened a moment ago.
    pub truncation: Option<Cut>,
}

/// What a replica's broker says of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaRow {
    /// Leader, follower or offline.
    pub role: ReplicaRole,
    /// Its leader epoch.
    pub leader_epoch: i32,
    /// Its log start offset.
    pub log_start: i64,
    /// Its log end offset.
    pub log_end: i64,
    /// Its high watermark.
    pub high_watermark: i64,
    /// The ISR as it knows it (broker ids).
    pub isr: Vec<i32>,
}

/// One offset of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// The replica has no record there (beyond its log end, or before its log start).
    Empty,
    /// A record, written in leader epoch `epoch`.
    Record {
        /// Its leader epoch (none if the epoch cache does not say).
        epoch: Option<i32>,
        /// Whether a producer was told it is written there.
        acked: bool,
        /// Whether it is below this replica's high watermark.
        committed: bool,
    },
    /// A record a recent truncation cut.
    Cut {
        /// Its leader epoch before the cut.
        epoch: Option<i32>,
        /// Whether a producer had been told it is written there.
        acked: bool,
    },
}

/// A truncation being shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    /// The log end offset before.
    pub from: i64,
    /// The log end offset after.
    pub to: i64,
    /// Why, in Kafka's terms.
    pub cause: TruncationCause,
}

/// The ladders of every partition (internal topics aside) just after line `cursor`.
pub fn ladders(loaded: &Loaded, view: &WorldView, cursor: usize) -> Vec<Ladder> {
    partitions(view)
        .into_iter()
        .map(|p| ladder(loaded, view, cursor, &p))
        .collect()
}

/// Every partition some broker or controller knows, internal topics aside, in name order.
fn partitions(view: &WorldView) -> Vec<String> {
    let mut found = BTreeSet::new();
    for n in &view.nodes {
        match &n.view {
            Some(NodeView::Broker(b)) => {
                found.extend(b.replicas.iter().map(|r| r.partition.to_string()))
            }
            Some(NodeView::Controller(c)) => {
                found.extend(c.partitions.iter().map(|p| p.partition.to_string()))
            }
            _ => {}
        }
    }
    found.retain(|p: &String| !p.starts_with("__"));
    found.into_iter().collect()
}

fn ladder(loaded: &Loaded, view: &WorldView, cursor: usize, partition: &str) -> Ladder {
    let mut rows: Vec<(Row, Option<&ReplicaView>)> = brokers(loaded, view, partition)
        .into_iter()
        .map(|(broker, broker_id, status, replica)| {
            let truncation = recent_truncation(loaded, view, cursor, &broker, partition);
            let row = Row {
                broker,
                broker_id,
                replica: replica.map(replica_row),
                status,
                cells: Vec::new(),
                truncation: truncation.map(|t| Cut {
                    from: t.from,
                    to: t.to,
                    cause: t.cause,
                }),
            };
            (row, replica)
        })
        .collect();
    let end = rows
        .iter()
        .flat_map(|(r, _)| {
            let leo = r.replica.as_ref().map_or(0, |x| x.log_end);
            [leo, r.truncation.as_ref().map_or(0, |t| t.from)]
        })
        .max()
        .unwrap_or(0);
    let first = rows
        .iter()
        .filter_map(|(r, _)| r.replica.as_ref().map(|x| x.log_start))
        .min()
        .unwrap_or(0);
    let start = first.max(end - WINDOW);
    let acked = acked_offsets(loaded, partition, cursor, start);
    for (row, replica) in &mut rows {
        let cut = recent_truncation(loaded, view, cursor, &row.broker, partition);
        row.cells = (start..end)
            .map(|o| cell(*replica, cut, o, acked.contains(&o)))
            .collect();
    }
    Ladder {
        partition: partition.to_string(),
        start,
        end,
        elided: start - first,
        rows: rows.into_iter().map(|(r, _)| r).collect(),
        metadata: metadata(view, partition),
    }
}

/// The partition by the controllers' metadata (any controller that has it).
fn metadata(view: &WorldView, partition: &str) -> Option<PartitionAssignment> {
    view.nodes
        .iter()
        .filter_map(|n| match &n.view {
            Some(NodeView::Controller(c)) => c
                .partitions
                .iter()
                .find(|p| p.partition.to_string() == partition)
                .cloned(),
            _ => None,
        })
        .next()
}

/// The brokers hosting `partition`: name, id, status and their view of the replica. A broker
/// that is down is listed if the controller names it a replica.
fn brokers<'v>(
    loaded: &Loaded,
    view: &'v WorldView,
    partition: &str,
) -> Vec<(String, i32, NodeStatus, Option<&'v ReplicaView>)> {
    let assigned = assigned_replicas(view, partition);
    loaded
        .header
        .nodes
        .iter()
        .filter_map(|facts| {
            let NodeRole::Broker { node_id } = facts.role else {
                return None;
            };
            let node = view.node(&facts.name)?;
            let replica = match &node.view {
                Some(NodeView::Broker(b)) => b
                    .replicas
                    .iter()
                    .find(|r| r.partition.to_string() == partition),
                _ => None,
            };
            (replica.is_some() || assigned.contains(&node_id))
                .then(|| (facts.name.clone(), node_id, node.status, replica))
        })
        .collect()
}

/// The replicas of `partition` by the controllers' metadata.
fn assigned_replicas(view: &WorldView, partition: &str) -> Vec<i32> {
    metadata(view, partition)
        .map(|p| p.replicas)
        .unwrap_or_default()
}

fn replica_row(r: &ReplicaView) -> ReplicaRow {
    ReplicaRow {
        role: r.role,
        leader_epoch: r.leader_epoch,
        log_start: r.log_start_offset,
        log_end: r.log_end_offset,
        high_watermark: r.high_watermark,
        isr: r.isr.clone(),
    }
}

fn cell(replica: Option<&ReplicaView>, cut: Option<&Truncation>, offset: i64, acked: bool) -> Cell {
    if let Some(r) = replica
        && offset >= r.log_start_offset
        && offset < r.log_end_offset
    {
        return Cell::Record {
            epoch: epoch_of(&r.epochs, offset),
            acked,
            committed: offset < r.high_watermark,
        };
    }
    let beyond_log = replica.is_none_or(|r| offset >= r.log_end_offset);
    match cut {
        Some(t) if beyond_log && offset >= t.to && offset < t.from => Cell::Cut {
            epoch: t.cut_epochs[(offset - t.to) as usize],
            acked,
        },
        _ => Cell::Empty,
    }
}

/// The last truncation of `broker`'s replica of `partition` at or before `cursor`, if it is
/// recent enough to draw.
fn recent_truncation<'l>(
    loaded: &'l Loaded,
    view: &WorldView,
    cursor: usize,
    broker: &str,
    partition: &str,
) -> Option<&'l Truncation> {
    loaded
        .truncations
        .iter()
        .take_while(|t| t.line <= cursor)
        .filter(|t| t.node == broker && t.partition == partition)
        .last()
        .filter(|t| view.time.saturating_since(t.time) <= TRUNCATION_SHOWN)
}

/// Offsets from `start` on acknowledged to a producer by line `cursor`.
fn acked_offsets(loaded: &Loaded, partition: &str, cursor: usize, start: i64) -> BTreeSet<i64> {
    let Some(acks) = loaded.acks.get(partition) else {
        return BTreeSet::new();
    };
    let upto = acks.partition_point(|a| a.line <= cursor);
    acks[..upto]
        .iter()
        .filter(|a| a.offset >= start)
        .map(|a| a.offset)
        .collect()
}
