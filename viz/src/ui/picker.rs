//! The scenario picker: the catalog with each scenario's title and teaching description, the
//! seed, the knobs, a scenario file or a trace to open or paste, and the share buttons.

use super::browser;
use super::state::{Action, Request};
use crate::model::knobs::{self, KNOBS};
use crate::model::loaded::{Loaded, Source};
use crate::model::url::Query;
use kafkasim_scenarios::{catalog, format};
use std::rc::Rc;
use std::sync::OnceLock;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// A built-in scenario as the picker lists it.
pub struct Entry {
    /// Its name.
    pub name: &'static str,
    /// Its title.
    pub title: String,
    /// Its teaching description.
    pub description: String,
}

/// The catalog, parsed once.
pub fn catalog_entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        catalog::BUILTIN
            .iter()
            .map(|(name, text)| {
                let parsed = format::parse(name, text).ok();
                Entry {
                    name,
                    title: parsed.as_ref().map(|s| s.title.clone()).unwrap_or_default(),
                    description: parsed.map(|s| s.description).unwrap_or_default(),
                }
            })
            .collect()
    })
}

/// The picker's inputs.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// What is on screen (or being run).
    pub request: Request,
    /// Whether a run is being simulated.
    pub busy: bool,
    /// The command line of the run on screen.
    pub repro: Option<String>,
    /// Where actions go.
    pub dispatch: Callback<Action>,
}

/// The picker.
#[function_component(Picker)]
pub fn picker(props: &Props) -> Html {
    let request = &props.request;
    let seed_ref = use_node_ref();
    let paste_ref = use_node_ref();
    let (current, other) = match &request.source {
        Source::Builtin(name) => (name.clone(), None),
        Source::File { name, .. } => (String::new(), Some(format!("(your file {name})"))),
        Source::Trace { name } => (String::new(), Some(format!("(trace {name})"))),
    };
    let playing_a_trace = matches!(request.source, Source::Trace { .. });
    let on_scenario = {
        let (dispatch, request) = (props.dispatch.clone(), request.clone());
        Callback::from(move |e: Event| {
            let Some(select) = e.target_dyn_into::<HtmlSelectElement>() else {
                return;
            };
            dispatch.emit(Action::Run(Request {
                source: Source::Builtin(select.value()),
                sets: Vec::new(),
                at: None,
                ..request.clone()
            }));
        })
    };
    let run = {
        let (dispatch, request, seed_ref) =
            (props.dispatch.clone(), request.clone(), seed_ref.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let text = seed_ref
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            match text.trim().parse::<u64>() {
                Ok(seed) => dispatch.emit(Action::Run(Request {
                    seed,
                    at: None,
                    ..request.clone()
                })),
                Err(_) => dispatch.emit(Action::Error(format!(
                    "seed `{text}` is not a whole number from 0 to 18446744073709551615"
                ))),
            }
        })
    };
    let description = catalog_entries()
        .iter()
        .find(|e| e.name == current)
        .map(|e| e.description.clone())
        .unwrap_or_default();
    html! {
        <div class="picker">
            <form class="pick" onsubmit={run}>
                <label>{ "Scenario " }
                    <select data-testid="scenario-select" onchange={on_scenario} aria-label="scenario">
                        if let Some(other) = &other {
                            <option selected=true value="">{ other.clone() }</option>
                        }
                        { for catalog_entries().iter().map(|e| html! {
                            <option value={e.name} selected={e.name == current} title={e.title.clone()}>
                                { format!("{} — {}", e.name, e.title) }
                            </option>
                        }) }
                    </select>
                </label>
                <label>{ "Seed " }
                    <input data-testid="seed-input" ref={seed_ref} type="number" min="0"
                        value={request.seed.to_string()} aria-label="seed" />
                </label>
                <button type="submit" data-testid="run" disabled={props.busy || playing_a_trace}
                    title={if playing_a_trace { "a trace is played as recorded: pick a scenario to run one" } else { "run the scenario with this seed" }}>
                    { if props.busy { "Running…" } else { "Run" } }
                </button>
            </form>
            if playing_a_trace {
                <p class="knobs">{ format!("Playing a recorded trace (seed {}{}): the knobs re-run a scenario, so they are off.",
                    request.seed, if request.sets.is_empty() { String::new() } else { format!(", {}", request.sets.join(" ")) }) }</p>
            } else {
                <Knobs request={request.clone()} dispatch={props.dispatch.clone()} />
            }
            <details class="about">
                <summary>{ "About this scenario" }</summary>
                <pre class="description">{ description }</pre>
            </details>
            <details class="open">
                <summary>{ "Open or paste a scenario or a trace" }</summary>
                <input type="file" accept=".toml,.jsonl,.json,.txt" aria-label="open a file"
                    onchange={open_file(props.dispatch.clone(), request.clone())} />
                <textarea ref={paste_ref.clone()} rows="6" aria-label="paste a scenario or a trace"
                    placeholder="Paste a scenario file (TOML) or a trace written by kafkasim run --trace" />
                <button onclick={run_pasted(props.dispatch.clone(), request.clone(), paste_ref)}>
                    { "Run what I pasted" }
                </button>
            </details>
            <Share request={request.clone()} repro={props.repro.clone()} />
        </div>
    }
}

/// The knobs: each a select of "as the scenario says" and the values offered.
#[function_component(Knobs)]
fn knobs_row(props: &KnobProps) -> Html {
    html! {
        <div class="knobs">
            { for KNOBS.iter().map(|knob| {
                let chosen = knobs::value_in(&props.request.sets, knob.property).map(str::to_string);
                let onchange = {
                    let (dispatch, request) = (props.dispatch.clone(), props.request.clone());
                    let property = knob.property;
                    Callback::from(move |e: Event| {
                        let Some(select) = e.target_dyn_into::<HtmlSelectElement>() else { return };
                        let value = select.value();
                        let value = (!value.is_empty()).then_some(value.as_str());
                        dispatch.emit(Action::Run(Request {
                            sets: knobs::with(&request.sets, property, value),
                            at: None,
                            ..request.clone()
                        }));
                    })
                };
                html! {
                    <label class="knob" title={knob.help}>{ knob.label }
                        <select {onchange} data-knob={knob.property} aria-label={knob.property}>
                            <option value="" selected={chosen.is_none()}>{ "as in file" }</option>
                            { for knob.values.iter().map(|v| html! {
                                <option value={*v} selected={chosen.as_deref() == Some(*v)}>{ *v }</option>
                            }) }
                        </select>
                    </label>
                }
            }) }
        </div>
    }
}

/// The knobs' inputs.
#[derive(Properties, PartialEq)]
struct KnobProps {
    request: Request,
    dispatch: Callback<Action>,
}

/// Copy a link to this frame, or the equivalent command line.
#[function_component(Share)]
fn share(props: &ShareProps) -> Html {
    let link = match &props.request.source {
        Source::Builtin(name) => Some(browser::url_with(
            &Query {
                scenario: Some(name.clone()),
                seed: Some(props.request.seed),
                at: props.request.at,
                sets: props.request.sets.clone(),
                problems: Vec::new(),
            }
            .to_search(),
        )),
        Source::File { .. } | Source::Trace { .. } => None,
    };
    let copy = |text: String| Callback::from(move |_| browser::copy(&text));
    html! {
        <div class="share">
            if let Some(link) = link {
                <button onclick={copy(link)} title="copy a link that reopens this frame">{ "Copy link" }</button>
            }
            if let Some(repro) = &props.repro {
                <button onclick={copy(repro.clone())} data-testid="copy-cli"
                    title="the command that gives the same trace hash">{ "Copy as CLI" }</button>
                <code class="repro" data-testid="repro">{ repro }</code>
            }
        </div>
    }
}

/// The share row's inputs.
#[derive(Properties, PartialEq)]
struct ShareProps {
    request: Request,
    repro: Option<String>,
}

/// A scenario file's or a trace's text, whichever it is, to show; `name` is the file's, or
/// none for pasted text.
fn load_text(dispatch: &Callback<Action>, request: &Request, name: Option<String>, text: String) {
    let trace = text.trim_start().starts_with('{');
    let name = name.unwrap_or_else(|| if trace { "pasted.jsonl" } else { "pasted.toml" }.into());
    if trace {
        let result = Loaded::open_trace(&text).map(Rc::new);
        dispatch.emit(Action::OpenedTrace(name, result));
    } else {
        dispatch.emit(Action::Run(Request {
            source: Source::File { name, text },
            at: None,
            ..request.clone()
        }));
    }
}

fn run_pasted(dispatch: Callback<Action>, request: Request, area: NodeRef) -> Callback<MouseEvent> {
    Callback::from(move |_| {
        let text = area
            .cast::<HtmlTextAreaElement>()
            .map(|a| a.value())
            .unwrap_or_default();
        if text.trim().is_empty() {
            dispatch.emit(Action::Error(
                "nothing pasted: paste a scenario file or a trace first".into(),
            ));
        } else {
            load_text(&dispatch, &request, None, text);
        }
    })
}

fn open_file(dispatch: Callback<Action>, request: Request) -> Callback<Event> {
    Callback::from(move |e: Event| {
        let Some(input) = e.target_dyn_into::<HtmlInputElement>() else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        let Ok(reader) = web_sys::FileReader::new() else {
            return;
        };
        let (name, dispatch, request) = (file.name(), dispatch.clone(), request.clone());
        let reader_in = reader.clone();
        let onload = Closure::once_into_js(move || {
            match reader_in.result().ok().and_then(|r| r.as_string()) {
                Some(text) => load_text(&dispatch, &request, Some(name), text),
                None => dispatch.emit(Action::Error(format!("{name} could not be read as text"))),
            }
        });
        reader.set_onload(Some(onload.unchecked_ref()));
        let _ = reader.read_as_text(&file);
    })
}
