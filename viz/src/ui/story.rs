//! The checkers' verdicts, live, and the narration: the same sentences as the CLI's timeline,
//! up to the cursor, each a link to its moment.

use super::state::{Action, Shown};
use yew::prelude::*;

/// The story panels' inputs.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The run on screen.
    pub shown: Shown,
    /// Where actions go.
    pub dispatch: Callback<Action>,
}

/// Each checker's verdict as of the cursor: a finding shows once the trace so far proves it.
#[function_component(Verdicts)]
pub fn verdicts(props: &Props) -> Html {
    let shown = &props.shown;
    let cursor = shown.player.cursor;
    let judged: Vec<_> = shown
        .loaded
        .verdicts
        .iter()
        .filter(|v| v.expectation.is_some() || !v.findings.is_empty())
        .collect();
    html! {
        <section class="verdicts" aria-label="checkers">
            <h2>{ "Checkers" }
                <span class={classes!("sub", if shown.loaded.passed() { "pass" } else { "fail" })}>
                    { if shown.loaded.passed() { " — the run meets its expectations" } else { " — the run misses its expectations" } }
                </span>
            </h2>
            <p class="hash">{ "trace hash " }<code data-testid="trace-hash" title={shown.loaded.hash.clone()}>{ shown.loaded.short_hash() }</code>
                { format!(" · {} trace lines", shown.loaded.lines.len()) }</p>
            <ul>
                { for judged.iter().map(|v| {
                    let finding = shown.findings.iter().find(|f| f.checker == v.checker);
                    let found_now = finding.is_some_and(|f| f.line <= cursor);
                    let expected = match v.expectation {
                        Some(true) => "anomaly expected",
                        Some(false) => "",
                        None => "reported",
                    };
                    let at_end = kafkasim_scenarios::checkers::find(&v.checker).is_some_and(|c| c.at_end);
                    let (class, words) = match (found_now, v.findings.is_empty()) {
                        (true, _) => ("found", "FOUND"),
                        (false, true) => ("holds", "holds"),
                        (false, false) if finding.is_none() => ("pending", "judging…"),
                        (false, false) if at_end => ("pending", "judged at the end"),
                        (false, false) => ("holds", "holds so far"),
                    };
                    html! {
                        <li class={classes!("verdict", class)} data-testid="verdict" data-checker={v.checker.clone()} data-state={class}
                            title={format!("{}: {}", v.checker, kafkasim_scenarios::checkers::find(&v.checker).map_or("", |c| c.about))}>
                            <span class="checker">{ v.checker.clone() }</span>
                            <span class="state">{ words }</span>
                            if !expected.is_empty() { <span class="expect">{ expected }</span> }
                            if let (true, Some(f)) = (found_now, finding) {
                                <button class="jump" onclick={{
                                    let (d, line) = (props.dispatch.clone(), f.line);
                                    Callback::from(move |_: MouseEvent| d.emit(Action::Seek(line)))
                                }}>{ format!("at {} ↩", f.time) }</button>
                                <div class="finding-text">{ f.text.clone() }</div>
                            }
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}

/// How many sentences the narration shows before the cursor.
const SHOWN: usize = 8;

/// The narration up to the cursor.
#[function_component(Narration)]
pub fn narration(props: &Props) -> Html {
    let shown = &props.shown;
    let cursor = shown.player.cursor;
    let upto = shown.loaded.narration.partition_point(|e| e.line <= cursor);
    let from = upto.saturating_sub(SHOWN);
    html! {
        <section class="narration" aria-label="what happened" aria-live="polite">
            <h2>{ "What happened" }<span class="sub">{ format!(" — {} of {}", upto, shown.loaded.narration.len()) }</span></h2>
            <ol start={(from + 1).to_string()}>
                { for shown.loaded.narration[from..upto].iter().enumerate().map(|(i, e)| {
                    let (d, line) = (props.dispatch.clone(), e.line);
                    html! {
                        <li class={classes!((from + i + 1 == upto).then_some("latest"))} data-testid="sentence">
                            <button class="when" onclick={Callback::from(move |_: MouseEvent| d.emit(Action::Seek(line)))}>
                                { e.when.clone() }
                            </button>
                            { format!(" {}", e.text) }
                        </li>
                    }
                }) }
            </ol>
        </section>
    }
}
