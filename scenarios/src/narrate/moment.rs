//! One moment of a run, in words: who is up, which links are cut, what is in flight, each
//! partition's replica ladder, each group, each controller and consumer — the text form of
//! what the visualizer draws at its cursor, from the same [`WorldView`].

use crate::trace::{Header, NodeRole};
use crate::view::WorldView;
use kafkasim_core::broker::ReplicaRole;
use kafkasim_core::ids::TopicPartition;
use kafkasim_core::view::{NodeView, ReplicaView};
use kafkasim_sim::trace::NodeStatus;
use std::collections::BTreeMap;

/// The state at `view.time`, as lines of text.
pub fn moment(header: &Header, view: &WorldView) -> Vec<String> {
    let mut lines = vec![nodes_line(view)];
    if !view.cut.is_empty() {
        let cut: Vec<String> = view
            .cut
            .iter()
            .map(|(from, to)| format!("{from} -/-> {to}"))
            .collect();
        lines.push(format!("cut links: {}", cut.join(", ")));
    }
    lines.extend(in_flight(view));
    lines.extend(partitions(header, view));
    lines.extend(groups(view));
    lines.extend(controllers(view));
    lines.extend(consumers(view));
    lines.extend(databases(view));
    lines
}

/// Each database's WAL positions — the gap between commit and flush is what
/// `synchronous_commit = off` risks — and its tables' sizes.
fn databases(view: &WorldView) -> Vec<String> {
    view.nodes
        .iter()
        .filter_map(|n| match &n.view {
            Some(NodeView::Database(d)) => Some((&n.node, d)),
            _ => None,
        })
        .map(|(name, d)| {
            let tables: Vec<String> = d
                .tables
                .iter()
                .map(|(t, rows)| format!("public.{t} {} rows", rows.len()))
                .collect();
            format!(
                "{name}: last commit ends at {}, WAL flushed to {}, redo point {}; {}",
                d.commit_lsn,
                d.flush_lsn,
                d.redo_lsn,
                tables.join(", ")
            )
        })
        .collect()
}

fn nodes_line(view: &WorldView) -> String {
    let nodes: Vec<String> = view
        .nodes
        .iter()
        .map(|n| format!("{} {}", n.node, status_text(n.status)))
        .collect();
    format!("nodes: {}", nodes.join(", "))
}

/// How many messages are in flight, and the first few, oldest first.
fn in_flight(view: &WorldView) -> Vec<String> {
    const SHOWN: usize = 8;
    if view.in_flight.is_empty() {
        return vec!["in flight: nothing".into()];
    }
    let mut lines = vec![format!("in flight: {} message(s)", view.in_flight.len())];
    for m in view.in_flight.values().take(SHOWN) {
        lines.push(format!(
            "  {} {} -> {} (sent {}, arrives {})",
            m.name, m.from, m.to, m.sent, m.arrives
        ));
    }
    if view.in_flight.len() > SHOWN {
        lines.push(format!("  ... and {} more", view.in_flight.len() - SHOWN));
    }
    lines
}

/// `0:[0,120) 1:[120,185)`: which offsets each leader epoch wrote.
fn epoch_ranges(r: &ReplicaView) -> String {
    let mut parts = Vec::new();
    for (i, (epoch, start)) in r.epochs.iter().enumerate() {
        let end = r
            .epochs
            .get(i + 1)
            .map_or(r.log_end_offset, |(_, next)| *next);
        let start = (*start).max(r.log_start_offset);
        if end > start {
            parts.push(format!("{epoch}:[{start},{end})"));
        }
    }
    if parts.is_empty() {
        "empty".into()
    } else {
        parts.join(" ")
    }
}

/// Each partition's replica ladder: a line for the partition, a line per replica.
fn partitions(header: &Header, view: &WorldView) -> Vec<String> {
    let mut by_partition: BTreeMap<&TopicPartition, Vec<(&str, &ReplicaView)>> = BTreeMap::new();
    for n in &view.nodes {
        if let Some(NodeView::Broker(b)) = &n.view {
            for r in &b.replicas {
                if !r.partition.topic.starts_with("__") {
                    by_partition
                        .entry(&r.partition)
                        .or_default()
                        .push((&n.node, r));
                }
            }
        }
    }
    let mut lines = Vec::new();
    for (tp, replicas) in by_partition {
        let leader = replicas
            .iter()
            .find(|(_, r)| r.role == ReplicaRole::Leader)
            .map_or_else(
                || no_leader(header, view, &replicas),
                |(node, r)| {
                    format!(
                        "leader {node} in epoch {}, ISR {:?}, high watermark {}",
                        r.leader_epoch, r.isr, r.high_watermark
                    )
                },
            );
        lines.push(format!("{tp}: {leader}"));
        for (node, r) in replicas {
            lines.push(format!(
                "  {node:<10} {:<8} epoch {:<3} log start {:<4} LEO {:<5} HW {:<5} ISR {:?}  offsets by epoch {}",
                r.role.to_string(),
                r.leader_epoch,
                r.log_start_offset,
                r.log_end_offset,
                r.high_watermark,
                r.isr,
                epoch_ranges(r)
            ));
        }
    }
    lines
}

/// Why no replica that is up leads: the leader its followers name is down, or none is known.
fn no_leader(header: &Header, view: &WorldView, replicas: &[(&str, &ReplicaView)]) -> String {
    let named = replicas.iter().map(|(_, r)| r.leader).find(|l| *l >= 0);
    let Some(id) = named else {
        return "no leader (offline)".to_string();
    };
    let name = header.nodes.iter().find_map(|n| match n.role {
        NodeRole::Broker { node_id } if node_id == id => Some(n.name.as_str()),
        _ => None,
    });
    let status = name
        .and_then(|name| view.node(name))
        .map_or(String::new(), |n| format!(", {}", status_text(n.status)));
    format!(
        "no leader up: the followers follow broker {id} ({}{status})",
        name.unwrap_or("unknown")
    )
}

fn status_text(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Up => "up",
        NodeStatus::Killed => "killed",
        NodeStatus::PoweredOff => "powered off",
        NodeStatus::Stopped => "shut down",
    }
}

fn groups(view: &WorldView) -> Vec<String> {
    let mut lines = Vec::new();
    for n in &view.nodes {
        let Some(NodeView::Broker(b)) = &n.view else {
            continue;
        };
        for g in &b.groups {
            lines.push(format!(
                "group {} (coordinator {}): {}, generation {}{}",
                g.group,
                n.node,
                g.state,
                g.generation,
                if g.leader.is_empty() {
                    String::new()
                } else {
                    format!(", leader {}", g.leader)
                }
            ));
            for (member, partitions) in &g.members {
                let owned: Vec<String> = partitions.iter().map(ToString::to_string).collect();
                lines.push(format!("  {member}: {}", owned.join(", ")));
            }
            if !g.committed.is_empty() {
                lines.push(format!(
                    "  committed: {}",
                    super::timeline::offsets_text(&g.committed)
                ));
            }
        }
    }
    lines
}

fn controllers(view: &WorldView) -> Vec<String> {
    let mut lines = Vec::new();
    for n in &view.nodes {
        let Some(NodeView::Controller(c)) = &n.view else {
            continue;
        };
        let q = &c.quorum;
        let fenced: Vec<String> = c
            .brokers
            .iter()
            .filter(|b| b.fenced)
            .map(|b| b.broker_id.to_string())
            .collect();
        lines.push(format!(
            "{}: quorum {} in epoch {}{}, metadata log end {}, high watermark {}; {} broker(s) registered{}",
            n.node,
            q.role,
            q.epoch,
            if q.role == kafkasim_core::quorum::QuorumRole::Leader {
                " (the active controller)".to_string()
            } else if q.leader >= 0 {
                format!(" (leader {})", q.leader)
            } else {
                String::new()
            },
            q.log_end_offset,
            q.high_watermark,
            c.brokers.len(),
            if fenced.is_empty() {
                String::new()
            } else {
                format!(", fenced: {}", fenced.join(", "))
            }
        ));
    }
    lines
}

fn consumers(view: &WorldView) -> Vec<String> {
    let mut lines = Vec::new();
    for n in &view.nodes {
        let Some(NodeView::Consumer(c)) = &n.view else {
            continue;
        };
        let reads = match &c.group {
            Some(group) if c.member_id.is_empty() => format!("group {group}, not joined"),
            Some(group) => format!(
                "group {group} as {} in generation {}",
                c.member_id, c.generation
            ),
            None => "assign()".to_string(),
        };
        let positions: Vec<String> = c
            .positions
            .iter()
            .map(|(tp, o)| format!("{tp}@{o}"))
            .collect();
        lines.push(format!(
            "{}: {reads}; positions {}",
            n.node,
            if positions.is_empty() {
                "none".to_string()
            } else {
                positions.join(", ")
            }
        ));
    }
    lines
}
