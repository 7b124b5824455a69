//! The replica ladders: one per partition, one row per replica, the log as cells coloured by
//! leader epoch (and numbered, so colour is never the only cue), with the log start, the log
//! end and the high watermark marked, the leader and the ISR shown, acknowledged records
//! dotted, and the cells a truncation just cut struck through, with why.

use super::state::Shown;
use crate::model::ladder::{self, Cell, Ladder, Row};
use kafkasim_core::broker::{ReplicaRole, TruncationCause};
use yew::prelude::*;

/// The width of a cell in pixels (the marks are placed with it).
const CELL_PX: i64 = 15;

/// The ladders' inputs.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The run on screen.
    pub shown: Shown,
}

/// Every partition's ladder.
#[function_component(Ladders)]
pub fn ladders(props: &Props) -> Html {
    let shown = &props.shown;
    let all = ladder::ladders(&shown.loaded, &shown.player.view, shown.player.cursor);
    let highlighted = highlighted_offsets(shown);
    html! {
        <section class="ladders" aria-label="replica ladders">
            <h2>{ "Replicas" }<span class="sub">{ " — each cell one offset, coloured by leader epoch" }</span></h2>
            if all.is_empty() {
                <p class="empty">{ "No partition yet: the brokers have not been told of any." }</p>
            }
            { for all.iter().map(|l| draw(l, &highlighted)) }
        </section>
    }
}

fn draw(l: &Ladder, highlighted: &[(String, i64)]) -> Html {
    let leader = l.rows.iter().find(|r| {
        r.replica
            .as_ref()
            .is_some_and(|x| x.role == ReplicaRole::Leader)
    });
    let isr = leader
        .and_then(|r| r.replica.as_ref())
        .map(|r| r.isr.clone());
    let marked: Vec<i64> = highlighted
        .iter()
        .filter(|(p, _)| *p == l.partition)
        .map(|(_, o)| *o)
        .collect();
    html! {
        <div class="ladder" data-testid="ladder" data-partition={l.partition.clone()}>
            <div class="ladder-head">
                <strong>{ l.partition.clone() }</strong>
                { match (&leader, &isr) {
                    (Some(r), Some(isr)) => format!("  leader {} · ISR {isr:?}", r.broker),
                    _ => "  no leader".to_string(),
                } }
                { eligible(l) }
                if l.elided > 0 {
                    <span class="elided">{ format!("  · offsets 0–{} not drawn", l.start - 1) }</span>
                }
            </div>
            <div class="offsets">
                { for (l.start..l.end).filter(|o| o % 10 == 0).map(|o| html! {
                    <span style={format!("left:{}px", (o - l.start) * CELL_PX)}>{ o }</span>
                }) }
            </div>
            { for l.rows.iter().map(|r| row(l, r, isr.as_deref(), &marked)) }
        </div>
    }
}

/// The controller's eligible leader replicas (KIP-966) and last known leader, when it has any:
/// who may lead once the ISR is empty.
fn eligible(l: &Ladder) -> Html {
    let Some(m) = &l.metadata else {
        return Html::default();
    };
    let mut parts = Vec::new();
    if l.rows
        .iter()
        .all(|r| !matches!(&r.replica, Some(x) if x.role == ReplicaRole::Leader))
    {
        parts.push(format!("ISR {:?}", m.isr));
    }
    if !m.eligible_leader_replicas.is_empty() {
        parts.push(format!("ELR {:?}", m.eligible_leader_replicas));
    }
    if let [last] = m.last_known_elr[..] {
        parts.push(format!("last known leader {last}"));
    }
    if parts.is_empty() {
        return Html::default();
    }
    html! {
        <span class="elr" data-testid="elr" title="eligible leader replicas (KIP-966): out of the ISR, yet holding every committed record">
            { format!("  · {}", parts.join(" · ")) }
        </span>
    }
}

fn row(l: &Ladder, r: &Row, isr: Option<&[i32]>, marked: &[i64]) -> Html {
    let role = match (&r.replica, r.status) {
        (Some(x), kafkasim_sim::trace::NodeStatus::Up) => match x.role {
            ReplicaRole::Leader => "leader",
            ReplicaRole::Follower => "follower",
            ReplicaRole::Offline => "offline",
        },
        _ => "offline",
    };
    let in_isr = isr.is_some_and(|isr| isr.contains(&r.broker_id));
    let x = r.replica.as_ref();
    let at = |offset: i64| format!("left:{}px", (offset - l.start) * CELL_PX);
    html! {
        <div class={classes!("replica", role)} data-testid="replica-row" data-broker={r.broker.clone()}
            data-role={role} data-leader-epoch={x.map(|x| x.leader_epoch.to_string())}
            data-hw={x.map(|x| x.high_watermark.to_string())} data-leo={x.map(|x| x.log_end.to_string())}
            data-in-isr={in_isr.to_string()}>
            <div class="label">
                <span class="who">{ r.broker.clone() }</span>
                <span class={classes!("badge", role)}>{ role }</span>
                if in_isr { <span class="badge isr" title="in the ISR">{ "ISR" }</span> }
                <div class="numbers">
                    { match x {
                        Some(x) => format!("epoch {} · LEO {} · HW {}", x.leader_epoch, x.log_end, x.high_watermark),
                        None => status_words(r.status).to_string(),
                    } }
                </div>
            </div>
            <div class="cells" style={format!("width:{}px", (l.end - l.start).max(1) * CELL_PX)}>
                { for r.cells.iter().enumerate().map(|(i, c)| cell(l.start + i as i64, c, marked)) }
                if let Some(x) = x.filter(|x| x.log_end < l.start) {
                    <span class="behind" data-testid="behind">
                        { format!("◀ its log ends at {}, {} offsets before the first drawn", x.log_end, l.start - x.log_end) }
                    </span>
                }
                if let Some(x) = x {
                    if x.log_start > l.start && x.log_start <= l.end {
                        <span class="mark log-start" data-testid="log-start-mark" style={at(x.log_start)} title={format!("log start offset {}", x.log_start)} />
                    }
                    if x.high_watermark >= l.start {
                        <span class="mark hw" data-testid="hw-mark" style={at(x.high_watermark)} title={format!("high watermark {}", x.high_watermark)}>{ "HW" }</span>
                    }
                    if x.log_end >= l.start {
                        <span class="mark leo" data-testid="leo-mark" style={at(x.log_end)} title={format!("log end offset {}", x.log_end)} />
                    }
                }
            </div>
            if let Some(cut) = &r.truncation {
                <div class="truncation" data-testid="truncated">
                    { format!("✂ truncated {} → {}: {}", cut.from, cut.to, cause_words(cut.cause)) }
                </div>
            }
        </div>
    }
}

fn cell(offset: i64, c: &Cell, marked: &[i64]) -> Html {
    let hit = marked.contains(&offset);
    match c {
        Cell::Empty => html! { <span class="cell empty" /> },
        Cell::Record {
            epoch,
            acked,
            committed,
        } => {
            let e = epoch.unwrap_or(-1);
            html! {
                <span class={classes!("cell", format!("e{}", e.rem_euclid(7)), (!committed).then_some("uncommitted"), hit.then_some("finding"))}
                    title={format!("offset {offset}, leader epoch {e}{}{}", if *acked {", acknowledged to the producer"} else {""}, if *committed {", committed (below the HW)"} else {", not yet committed"})}>
                    { if *acked { "•" } else { "" } }
                </span>
            }
        }
        Cell::Cut { epoch, acked } => {
            let e = epoch.unwrap_or(-1);
            html! {
                <span class={classes!("cell", "cut", format!("e{}", e.rem_euclid(7)), hit.then_some("finding"))} data-testid="cut-cell"
                    title={format!("offset {offset} (epoch {e}) cut by the truncation{}", if *acked {" — it had been acknowledged"} else {""})}>
                    { "✕" }
                </span>
            }
        }
    }
}

fn status_words(status: kafkasim_sim::trace::NodeStatus) -> &'static str {
    match status {
        kafkasim_sim::trace::NodeStatus::Up => "not hosting it yet",
        kafkasim_sim::trace::NodeStatus::Killed => "broker killed: its log waits on disk",
        kafkasim_sim::trace::NodeStatus::PoweredOff => {
            "broker powered off: what was not fsynced is gone"
        }
        kafkasim_sim::trace::NodeStatus::Stopped => {
            "broker shut down: its log is flushed and waits on disk"
        }
    }
}

fn cause_words(cause: TruncationCause) -> &'static str {
    match cause {
        TruncationCause::HighWatermarkOnBecomingFollower => {
            "cut to its own high watermark on becoming a follower (the pre-KIP-101 rule)"
        }
        TruncationCause::DivergingEpoch => {
            "the leader named where its epoch diverges (KIP-101/KIP-279 OffsetForLeaderEpoch)"
        }
        TruncationCause::LeaderLogEndsBelow => "the leader's log ends below (OFFSET_OUT_OF_RANGE)",
        TruncationCause::BelowLeaderLogStart => {
            "retention moved the leader's log start past its end: it starts afresh there"
        }
    }
}

/// The offsets the findings visible now name (`orders-0@115`), to highlight in the ladder.
fn highlighted_offsets(shown: &Shown) -> Vec<(String, i64)> {
    shown
        .findings
        .iter()
        .filter(|f| f.line <= shown.player.cursor)
        .flat_map(|f| crate::model::findings::offsets_named(&f.text))
        .collect()
}
