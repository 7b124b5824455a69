//! The app: the state, the effects around it (simulate, locate findings, play, keyboard,
//! URL), and the layout of the panels.

use super::browser;
use super::state::{Action, Request, State};
use super::{cluster, groups, ladder, legend, picker, story, transport};
use crate::model::loaded::{Loaded, Source};
use crate::model::url::Query;
use gloo_events::{EventListener, EventListenerOptions};
use gloo_render::{AnimationFrame, request_animation_frame};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// The scenario a first visit opens.
pub const DEFAULT_SCENARIO: &str = "leader-failover";

/// What the page's URL asks for, with its problems as an error to show.
fn initial_state() -> State {
    let query = Query::parse(&browser::search());
    let request = Request {
        source: Source::Builtin(
            query
                .scenario
                .clone()
                .unwrap_or_else(|| DEFAULT_SCENARIO.into()),
        ),
        seed: query.seed.unwrap_or(1),
        sets: query.sets.clone(),
        at: query.at,
    };
    let error = (!query.problems.is_empty()).then(|| query.problems.join("; "));
    State::new(request, error)
}

/// The visualizer.
#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(initial_state);
    use_simulation(&state);
    use_findings(&state);
    use_playback(&state);
    use_keyboard(&state);
    use_url(&state);
    use_first_frame(&state);
    let dispatch = {
        let state = state.clone();
        Callback::from(move |a: Action| state.dispatch(a))
    };
    html! {
        <div class="app">
            <header class="top">
                <h1>{ "kafkasim" }</h1>
                <picker::Picker request={state.request.clone()} busy={state.busy}
                    repro={state.shown.as_ref().and_then(|s| s.loaded.repro.clone())}
                    dispatch={dispatch.clone()} />
            </header>
            if let Some(error) = &state.error {
                <div class="error" role="alert" data-testid="error">{ error }</div>
            }
            if let Some(shown) = &state.shown {
                <transport::Transport shown={shown.clone()} playing={state.playing}
                    speed={state.speed} dispatch={dispatch.clone()} />
                <main class="panels">
                    <section class="left">
                        <cluster::Cluster shown={shown.clone()} />
                        <ladder::Ladders shown={shown.clone()} />
                        <groups::Groups shown={shown.clone()} />
                    </section>
                    <aside class="right">
                        <story::Verdicts shown={shown.clone()} dispatch={dispatch.clone()} />
                        <story::Narration shown={shown.clone()} dispatch={dispatch.clone()} />
                        <legend::Legend />
                    </aside>
                </main>
            } else if state.busy {
                <p class="busy">{ "Simulating…" }</p>
            }
        </div>
    }
}

/// Simulate whenever the request (scenario, seed, overrides) changes. Runs after the page
/// has painted "Simulating…", so the click is answered at once.
#[hook]
fn use_simulation(state: &UseReducerHandle<State>) {
    let request = state.request.clone();
    let state = state.clone();
    use_effect_with(state.runs, move |_| {
        let timeout = gloo_timers::callback::Timeout::new(0, move || {
            let result = Loaded::simulate(&request.source, request.seed, &request.sets);
            state.dispatch(Action::Loaded(result.map(Rc::new)));
        });
        move || drop(timeout)
    });
}

/// Once a run is on screen, find where its findings become provable (off the first frame).
#[hook]
fn use_findings(state: &UseReducerHandle<State>) {
    let loaded = state.shown.as_ref().map(|s| s.loaded.clone());
    let key = loaded.as_ref().map(|l| l.hash.clone());
    let state = state.clone();
    use_effect_with(key, move |_| {
        let timeout = loaded.map(|loaded| {
            gloo_timers::callback::Timeout::new(50, move || {
                state.dispatch(Action::Findings(Rc::new(loaded.locate_findings())));
            })
        });
        move || drop(timeout)
    });
}

/// While playing, one tick per animation frame.
#[hook]
fn use_playback(state: &UseReducerHandle<State>) {
    let playing = state.playing;
    let state = state.clone();
    use_effect_with(playing, move |playing| {
        let frame: Rc<RefCell<Option<AnimationFrame>>> = Rc::new(RefCell::new(None));
        if *playing {
            schedule(frame.clone(), state, None);
        }
        move || drop(frame.borrow_mut().take())
    });
}

/// Ask for the next frame; on it, tick by the time since the last one.
fn schedule(
    slot: Rc<RefCell<Option<AnimationFrame>>>,
    state: UseReducerHandle<State>,
    last: Option<f64>,
) {
    let next = slot.clone();
    let handle = request_animation_frame(move |now| {
        if let Some(last) = last {
            state.dispatch(Action::Tick(now - last));
        }
        browser::count_frame();
        schedule(next, state, Some(now));
    });
    *slot.borrow_mut() = Some(handle);
}

/// Space plays or pauses, arrows step, `[` and `]` jump between markers, Home and End.
#[hook]
fn use_keyboard(state: &UseReducerHandle<State>) {
    let state = state.clone();
    use_effect_with((), move |_| {
        let listener = browser::document().map(|doc| {
            // Not passive: the keys are the page's, so space must not scroll it.
            let options = EventListenerOptions::enable_prevent_default();
            EventListener::new_with_options(&doc, "keydown", options, move |event| {
                let Some(key) = event.dyn_ref::<web_sys::KeyboardEvent>() else {
                    return;
                };
                if browser::typing_in_a_field(key) || key.ctrl_key() || key.meta_key() {
                    return;
                }
                let action = match key.key().as_str() {
                    " " => Action::TogglePlay,
                    "ArrowRight" if key.shift_key() => Action::Step(100),
                    "ArrowLeft" if key.shift_key() => Action::Step(-100),
                    "ArrowRight" => Action::Step(1),
                    "ArrowLeft" => Action::Step(-1),
                    "]" => Action::Marker(true),
                    "[" => Action::Marker(false),
                    "Home" => Action::Seek(0),
                    "End" => Action::Seek(usize::MAX),
                    "+" | "=" => Action::Speed(1),
                    "-" => Action::Speed(-1),
                    _ => return,
                };
                key.prevent_default();
                state.dispatch(action);
            })
        });
        move || drop(listener)
    });
}

/// Keep the URL equal to the state (scenario, seed, overrides, cursor), so that a reload or
/// a shared link opens this frame.
#[hook]
fn use_url(state: &UseReducerHandle<State>) {
    let version = state.url_version;
    let request = state.request.clone();
    let cursor = state.shown.as_ref().map(|s| s.player.cursor);
    use_effect_with(version, move |_| match &request.source {
        Source::Builtin(name) => {
            let query = Query {
                scenario: Some(name.clone()),
                seed: Some(request.seed),
                at: cursor,
                sets: request.sets.clone(),
                problems: Vec::new(),
            };
            browser::replace_search(&query.to_search());
        }
        // A pasted file or an opened trace is not in the URL: a reload must not claim to
        // show it, so the URL goes back to the page's plain address.
        Source::File { .. } | Source::Trace { .. } => browser::clear_search(),
    });
}

/// Note when the first frame with a run in it is drawn (the browser test measures it).
#[hook]
fn use_first_frame(state: &UseReducerHandle<State>) {
    let drawn = state.shown.is_some();
    use_effect_with(drawn, move |drawn| {
        if *drawn {
            browser::mark_first_frame();
        }
    });
}
