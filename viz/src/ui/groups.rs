//! Consumer groups, as their coordinator sees them: state, generation, members and what each
//! owns, committed offsets and the lag behind each partition's high watermark; and what each
//! consumer itself believes (its generation, assignment and positions) — during a rebalance
//! the two differ, which is the point.

use super::state::Shown;
use kafkasim_core::broker::ReplicaRole;
use kafkasim_core::view::{ConsumerView, GroupView, NodeView};
use kafkasim_scenarios::view::WorldView;
use yew::prelude::*;

/// The groups' inputs.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The run on screen.
    pub shown: Shown,
}

/// The groups panel.
#[function_component(Groups)]
pub fn groups(props: &Props) -> Html {
    let view = &props.shown.player.view;
    let groups = coordinated(view);
    let consumers: Vec<(String, &ConsumerView)> = view
        .nodes
        .iter()
        .filter_map(|n| match &n.view {
            Some(NodeView::Consumer(c)) => Some((n.node.to_string(), c)),
            _ => None,
        })
        .collect();
    if groups.is_empty() && consumers.is_empty() {
        return html! {};
    }
    html! {
        <section class="groups" aria-label="consumer groups">
            <h2>{ "Consumer groups" }</h2>
            { for groups.iter().map(|(coordinator, g)| html! {
                <div class="group" data-testid="group" data-group={g.group.clone()}
                    data-state={format!("{:?}", g.state)} data-generation={g.generation.to_string()}>
                    <div class="group-head">
                        <strong>{ g.group.clone() }</strong>
                        { format!("  {:?} · generation {} · {} · coordinator {coordinator}", g.state, g.generation, protocol_words(&g.protocol)) }
                        if !g.leader.is_empty() { { format!(" · leader {}", g.leader) } }
                    </div>
                    <ol class="steps" aria-label="the group's latest steps">
                        { for steps(&props.shown, &g.group).into_iter().map(|e| html! {
                            <li>{ format!("{} {}", e.when, e.text) }</li>
                        }) }
                    </ol>
                    <table>
                        <thead><tr><th>{ "member" }</th><th>{ "owns" }</th></tr></thead>
                        <tbody>
                            { for g.members.iter().map(|(member, owned)| html! {
                                <tr><td>{ member.clone() }</td><td>{ list(owned.iter().map(ToString::to_string)) }</td></tr>
                            }) }
                        </tbody>
                    </table>
                    <table>
                        <thead><tr><th>{ "partition" }</th><th>{ "committed" }</th><th>{ "HW" }</th><th>{ "lag" }</th></tr></thead>
                        <tbody>
                            { for g.committed.iter().map(|(tp, offset)| {
                                let hw = leader_hw(view, &tp.to_string());
                                html! { <tr>
                                    <td>{ tp.to_string() }</td><td>{ offset }</td>
                                    <td>{ hw.map_or("?".into(), |h| h.to_string()) }</td>
                                    <td>{ hw.map_or("?".into(), |h| (h - offset).max(0).to_string()) }</td>
                                </tr> }
                            }) }
                        </tbody>
                    </table>
                </div>
            }) }
            if !consumers.is_empty() {
                <table class="consumers">
                    <thead><tr><th>{ "consumer" }</th><th>{ "generation" }</th><th>{ "assigned" }</th><th>{ "positions" }</th></tr></thead>
                    <tbody>
                        { for consumers.iter().map(|(name, c)| html! {
                            <tr data-testid="consumer" data-consumer={name.clone()}>
                                <td>{ name.clone() }</td>
                                <td>{ if c.generation < 0 { "—".to_string() } else { c.generation.to_string() } }</td>
                                <td>{ list(c.assignment.iter().map(ToString::to_string)) }</td>
                                <td>{ list(c.positions.iter().map(|(tp, o)| format!("{tp}@{o}"))) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
        </section>
    }
}

/// How many of a group's latest steps are listed.
const STEPS: usize = 4;

/// The group's latest steps up to the cursor (joins, generations, assignments, revocations,
/// commits), from the narration.
fn steps<'s>(shown: &'s Shown, group: &str) -> Vec<&'s kafkasim_scenarios::narrate::Entry> {
    let cursor = shown.player.cursor;
    let upto = shown.loaded.narration.partition_point(|e| e.line <= cursor);
    let mut latest: Vec<_> = shown.loaded.narration[..upto]
        .iter()
        .rev()
        .filter(|e| e.text.contains(group))
        .take(STEPS)
        .collect();
    latest.reverse();
    latest
}

/// The assignor, and whether it rebalances eagerly (everyone gives everything back) or
/// cooperatively (only what moves is revoked, KIP-429).
fn protocol_words(protocol: &str) -> String {
    match protocol {
        "" => "assignor not known yet".into(),
        p if p.starts_with("cooperative") => format!("{p} (cooperative)"),
        p => format!("{p} (eager)"),
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        "—".into()
    } else {
        items.join(", ")
    }
}

/// Every group with the broker coordinating it.
fn coordinated(view: &WorldView) -> Vec<(String, &GroupView)> {
    view.nodes
        .iter()
        .filter_map(|n| match &n.view {
            Some(NodeView::Broker(b)) => Some((n.node.to_string(), b)),
            _ => None,
        })
        .flat_map(|(name, b)| b.groups.iter().map(move |g| (name.clone(), g)))
        .collect()
}

/// The high watermark of `partition` at its leader.
fn leader_hw(view: &WorldView, partition: &str) -> Option<i64> {
    view.nodes.iter().find_map(|n| match &n.view {
        Some(NodeView::Broker(b)) => b
            .replicas
            .iter()
            .find(|r| r.role == ReplicaRole::Leader && r.partition.to_string() == partition)
            .map(|r| r.high_watermark),
        _ => None,
    })
}
