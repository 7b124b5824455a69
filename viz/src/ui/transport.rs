//! The transport: play, pause, step one event forward and back, speed, and the timeline to
//! scrub, with a marker for every fault, election, ISR change, rebalance and finding.

use super::state::{Action, SPEEDS, Shown};
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The transport's inputs.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The run on screen.
    pub shown: Shown,
    /// Whether playing.
    pub playing: bool,
    /// The speed's index.
    pub speed: usize,
    /// Where actions go.
    pub dispatch: Callback<Action>,
}

impl PartialEq for Shown {
    fn eq(&self, other: &Self) -> bool {
        std::rc::Rc::ptr_eq(&self.loaded, &other.loaded)
            && self.player.cursor == other.player.cursor
            && self.player.clock == other.player.clock
            && std::rc::Rc::ptr_eq(&self.markers, &other.markers)
    }
}

/// The transport.
#[function_component(Transport)]
pub fn transport(props: &Props) -> Html {
    let (loaded, player) = (&props.shown.loaded, &props.shown.player);
    let last = loaded.lines.len().saturating_sub(1);
    let send = |a: fn() -> Action| {
        let d = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| d.emit(a()))
    };
    let on_scrub = {
        let d = props.dispatch.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(i) = e.target_dyn_into::<HtmlInputElement>()
                && let Ok(line) = i.value().parse::<usize>()
            {
                d.emit(Action::Seek(line));
            }
        })
    };
    let line = &loaded.lines[player.cursor];
    html! {
        <div class="transport" role="toolbar" aria-label="playback">
            <button data-testid="step-back" onclick={send(|| Action::Step(-1))}
                title="one event back (←)" aria-label="one event back">{ "◀ 1" }</button>
            <button data-testid="play" onclick={send(|| Action::TogglePlay)}
                title="play / pause (space)" aria-label={if props.playing {"pause"} else {"play"}}>
                { if props.playing { "❚❚ pause" } else { "▶ play" } }
            </button>
            <button data-testid="step-forward" onclick={send(|| Action::Step(1))}
                title="one event forward (→)" aria-label="one event forward">{ "1 ▶" }</button>
            <span class="speed">
                <button onclick={send(|| Action::Speed(-1))} title="slower (-)" aria-label="slower">{ "−" }</button>
                <span data-testid="speed">{ SPEEDS[props.speed].1 }</span>
                <button onclick={send(|| Action::Speed(1))} title="faster (+)" aria-label="faster">{ "+" }</button>
            </span>
            <span class="cursor" data-testid="cursor" data-line={player.cursor.to_string()}
                data-lines={loaded.lines.len().to_string()}>
                <strong>{ player.clock.to_string() }</strong>
                { format!(" · line {} of {} · {} {}", player.cursor, last, line.node, kind_name(&line.kind)) }
            </span>
            <div class="timeline">
                <input type="range" data-testid="timeline" min="0" max={last.to_string()}
                    value={player.cursor.to_string()} oninput={on_scrub} aria-label="timeline" />
                <div class="markers">
                    { for props.shown.markers.iter().map(|m| {
                        let left = if last == 0 { 0.0 } else { m.line as f64 * 100.0 / last as f64 };
                        let d = props.dispatch.clone();
                        let line = m.line;
                        html! {
                            <button class={classes!("marker", m.kind.as_str())} data-testid="marker"
                                data-kind={m.kind.as_str()} data-line={m.line.to_string()}
                                style={format!("left:{left:.3}%")} title={format!("{} {}", m.time, m.label)}
                                aria-label={m.label.clone()}
                                onclick={Callback::from(move |_: MouseEvent| d.emit(Action::Seek(line)))} />
                        }
                    }) }
                </div>
            </div>
        </div>
    }
}

/// The kind of a trace line, in a word or two, for the cursor's caption.
fn kind_name(kind: &kafkasim_scenarios::trace::Kind) -> String {
    use kafkasim_scenarios::trace::Kind;
    match kind {
        Kind::MessageSent { name, to, .. } => format!("sends {name} to {to}"),
        Kind::MessageDelivered { .. } => "receives a message".into(),
        Kind::MessageDropped { .. } => "a message is dropped".into(),
        Kind::Node { .. } => "changes state".into(),
        Kind::Snapshot { .. } => "(snapshot)".into(),
        Kind::Crashed { .. } => "crashes".into(),
        Kind::Restarted { .. } => "restarts".into(),
        Kind::PowerLost { .. } => "loses power".into(),
        Kind::TimerFired { .. } => "timer fires".into(),
        Kind::DiskWrite { .. } => "writes to disk".into(),
        Kind::DiskSyncStarted { .. } => "starts an fsync".into(),
        Kind::DiskSynced { .. } => "fsync completes".into(),
        Kind::Reply { .. } => "tells the application".into(),
        Kind::Command { .. } => "is asked by the application".into(),
        _ => String::new(),
    }
}
