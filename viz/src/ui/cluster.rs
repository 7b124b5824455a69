//! The cluster: controllers, brokers and clients; the messages in flight moving along their
//! links, labelled with Kafka's request names; crashed, powered-off and fenced nodes; cut
//! links (one-way partitions with an arrow); and the responses held in a purgatory.

use super::state::Shown;
use kafkasim_core::connect::{sink, source};
use kafkasim_core::quorum::QuorumRole;
use kafkasim_core::view::NodeView;
use kafkasim_scenarios::trace::NodeRole;
use kafkasim_scenarios::view::WorldView;
use kafkasim_sim::trace::NodeStatus;
use std::collections::BTreeMap;
use yew::prelude::*;

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 230.0;
/// Beyond this many messages in flight, only dots are drawn (labels would pile up).
const LABELLED: usize = 10;

/// The cluster's inputs.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The run on screen.
    pub shown: Shown,
}

/// The cluster view.
#[function_component(Cluster)]
pub fn cluster(props: &Props) -> Html {
    let loaded = &props.shown.loaded;
    let view = &props.shown.player.view;
    let cursor = props.shown.player.cursor;
    let places = layout(&loaded.header.nodes);
    let fenced = fenced_brokers(view);
    let holds: Vec<_> = loaded.holds.iter().filter(|h| h.held_at(cursor)).collect();
    let held_by = |name: &str| holds.iter().filter(|h| h.node == name).count();
    let labelled = view.in_flight.len() <= LABELLED;
    let now = props.shown.player.clock.as_micros() as f64;
    html! {
        <section class="cluster" aria-label="cluster">
            <h2>{ "Cluster" }<span class="sub">{ format!(" — {} messages in flight", view.in_flight.len()) }</span></h2>
            <svg viewBox={format!("0 0 {WIDTH} {HEIGHT}")} role="img" aria-label="nodes and messages in flight">
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" class="cut-arrow" />
                    </marker>
                </defs>
                { for view.cut.iter().filter_map(|(from, to)| {
                    let (a, b) = (places.get(&**from)?, places.get(&**to)?);
                    let two_way = view.cut.contains(&(to.clone(), from.clone()));
                    if two_way && from > to { return None; }
                    let (mx, my) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
                    Some(html! {
                        <g class="cut" data-testid="cut-link" data-from={from.to_string()} data-to={to.to_string()}>
                            <line x1={a.0.to_string()} y1={a.1.to_string()} x2={b.0.to_string()} y2={b.1.to_string()}
                                marker-end={(!two_way).then_some("url(#arrow)")} />
                            <text x={mx.to_string()} y={my.to_string()} class="cut-x">{ "✕" }</text>
                        </g>
                    })
                }) }
                { for loaded.header.nodes.iter().filter_map(|n| {
                    let (x, y) = *places.get(n.name.as_str())?;
                    let snap = view.node(&n.name);
                    let status = snap.map_or(NodeStatus::Up, |s| s.status);
                    let is_fenced = matches!(n.role, NodeRole::Broker { node_id } if fenced.contains(&node_id));
                    let (class, state) = match status {
                        NodeStatus::Up if is_fenced => ("fenced", "fenced"),
                        NodeStatus::Up => ("up", "up"),
                        NodeStatus::Killed => ("killed", "killed (kill -9)"),
                        NodeStatus::PoweredOff => ("off", "powered off"),
                        NodeStatus::Stopped => ("stopped", "shut down (SIGTERM)"),
                    };
                    let sub = subtitle(&n.role, snap.and_then(|s| s.view.as_ref()));
                    let held = held_by(&n.name);
                    Some(html! {
                        <g class={classes!("node", class)} data-testid="node" data-node={n.name.clone()} data-status={class}>
                            <title>{ format!("{}: {state}", n.name) }</title>
                            <rect x={(x - 62.0).to_string()} y={(y - 24.0).to_string()} width="124" height="48" rx="6" />
                            <text x={x.to_string()} y={(y - 5.0).to_string()} class="name">{ n.name.clone() }</text>
                            <text x={x.to_string()} y={(y + 13.0).to_string()} class="role">
                                { if status == NodeStatus::Up && !is_fenced { sub } else { state.to_string() } }
                            </text>
                            if held > 0 {
                                <text x={(x + 58.0).to_string()} y={(y - 28.0).to_string()} class="held-badge">
                                    { format!("holds {held}") }
                                </text>
                            }
                        </g>
                    })
                }) }
                { for view.in_flight.values().filter_map(|m| {
                    let (a, b) = (places.get(&*m.from)?, places.get(&*m.to)?);
                    let span = (m.arrives.as_micros() as f64 - m.sent.as_micros() as f64).max(1.0);
                    let t = ((now - m.sent.as_micros() as f64) / span).clamp(0.0, 1.0);
                    let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
                    Some(html! {
                        <g class={classes!("msg", message_class(&m.name))} data-testid="message" data-name={m.name.to_string()}>
                            <title>{ format!("{} {} → {}", m.name, m.from, m.to) }</title>
                            <circle cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="5" />
                            if labelled {
                                <text x={format!("{:.1}", x + 7.0)} y={format!("{:.1}", y + if m.msg_id % 2 == 0 { -6.0 } else { 14.0 })}>{ m.name.to_string() }</text>
                            }
                        </g>
                    })
                }) }
            </svg>
            if !holds.is_empty() {
                <ul class="holds" data-testid="holds">
                    { for holds.iter().take(3).map(|h| html! {
                        <li data-testid="hold">{ format!("{} holds {}{} until {}", h.node, h.what,
                            h.to.as_ref().map(|t| format!(" → {t}")).unwrap_or_default(), h.until) }</li>
                    }) }
                    if holds.len() > 3 { <li>{ format!("… and {} more held", holds.len() - 3) }</li> }
                </ul>
            }
        </section>
    }
}

/// Where each node is drawn: controllers on top, brokers and databases in the middle,
/// clients — producers, consumers, connectors, stages, registries — below.
fn layout(nodes: &[kafkasim_scenarios::trace::NodeFacts]) -> BTreeMap<&str, (f64, f64)> {
    let rows: [(f64, Vec<&str>); 3] = [
        (32.0, by_role(nodes, |r| matches!(r, NodeRole::Controller))),
        (
            150.0,
            by_role(nodes, |r| {
                matches!(r, NodeRole::Broker { .. } | NodeRole::Database { .. })
            }),
        ),
        (
            198.0,
            by_role(nodes, |r| {
                matches!(
                    r,
                    NodeRole::Producer { .. }
                        | NodeRole::Consumer { .. }
                        | NodeRole::Source { .. }
                        | NodeRole::Sink { .. }
                        | NodeRole::Stage { .. }
                        | NodeRole::Registry { .. }
                )
            }),
        ),
    ];
    let mut places = BTreeMap::new();
    for (y, names) in rows {
        let step = WIDTH / (names.len() as f64 + 1.0);
        for (i, name) in names.into_iter().enumerate() {
            places.insert(name, (step * (i as f64 + 1.0), y));
        }
    }
    places
}

fn by_role(
    nodes: &[kafkasim_scenarios::trace::NodeFacts],
    keep: impl Fn(&NodeRole) -> bool,
) -> Vec<&str> {
    nodes
        .iter()
        .filter(|n| keep(&n.role))
        .map(|n| n.name.as_str())
        .collect()
}

/// The brokers the active controller has fenced.
fn fenced_brokers(view: &WorldView) -> Vec<i32> {
    view.nodes
        .iter()
        .filter_map(|n| match &n.view {
            Some(NodeView::Controller(c)) if c.quorum.role == QuorumRole::Leader => Some(c),
            _ => None,
        })
        .flat_map(|c| c.brokers.iter().filter(|b| b.fenced).map(|b| b.broker_id))
        .collect()
}

/// A node's second line: what it is doing.
fn subtitle(role: &NodeRole, view: Option<&NodeView>) -> String {
    match (role, view) {
        (NodeRole::Controller, Some(NodeView::Controller(c))) => {
            format!("quorum {:?}, epoch {}", c.quorum.role, c.quorum.epoch).to_lowercase()
        }
        (NodeRole::Broker { node_id }, Some(NodeView::Broker(b))) => {
            let leads = b
                .replicas
                .iter()
                .filter(|r| r.role == kafkasim_core::broker::ReplicaRole::Leader)
                .filter(|r| !r.partition.topic.starts_with("__"))
                .count();
            format!("id {node_id}, leads {leads}")
        }
        (NodeRole::Producer { acks, .. }, _) => format!("producer, acks={acks}"),
        (NodeRole::Consumer { group, .. }, _) => match group {
            Some(g) => format!("consumer of {g}"),
            None => "consumer (assign)".into(),
        },
        // The gap between the two is what synchronous_commit=off risks.
        (NodeRole::Database { .. }, Some(NodeView::Database(d))) => {
            format!("commit {}, flushed {}", d.commit_lsn, d.flush_lsn)
        }
        (NodeRole::Source { .. }, Some(NodeView::Source(s))) => match s.phase {
            source::Phase::Streaming { start_lsn } => format!("streams from {start_lsn}"),
            source::Phase::Snapshotting => "snapshotting".into(),
            source::Phase::Waiting => "waiting".into(),
            source::Phase::Failed => "FAILED".into(),
        },
        (NodeRole::Sink { .. }, Some(NodeView::Sink(s))) if s.failed => "FAILED".into(),
        (NodeRole::Sink { .. }, Some(NodeView::Sink(s))) => {
            format!("{} rows", sink::live(&s.rows).len())
        }
        (NodeRole::Stage { .. }, Some(NodeView::Stage(s))) => {
            format!("transformed {}", s.processed)
        }
        (NodeRole::Registry { .. }, Some(NodeView::Registry(r))) => {
            format!("{} subject(s)", r.subjects.len())
        }
        _ => String::new(),
    }
}

/// A CSS class per family of messages, so produce, fetch and group traffic read apart.
fn message_class(name: &str) -> &'static str {
    if name.starts_with("Produce") {
        "produce"
    } else if name.starts_with("Fetch") {
        "fetch"
    } else if name.contains("Group")
        || name.starts_with("Heartbeat")
        || name.starts_with("OffsetCommit")
    {
        "group"
    } else {
        "control"
    }
}
