//! The page's state and the actions that change it (yew's `use_reducer`): a plain value, one
//! `enum` of actions, one function that applies them. Effects (running the simulation,
//! timers, the URL) live in [`super::app`].

use crate::model::findings::Finding;
use crate::model::loaded::{Loaded, Source};
use crate::model::marks::Marker;
use crate::model::player::Player;
use kafkasim_core::time::Instant;
use std::rc::Rc;
use yew::Reducible;

/// Playback speeds: simulated milliseconds per real millisecond.
pub const SPEEDS: &[(f64, &str)] = &[
    (0.05, "0.05×"),
    (0.1, "0.1×"),
    (0.25, "0.25×"),
    (0.5, "0.5×"),
    (1.0, "1×"),
    (2.0, "2×"),
    (5.0, "5×"),
];

/// What to run: the picker's choice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The scenario.
    pub source: Source,
    /// The seed.
    pub seed: u64,
    /// Property overrides, `name=value`.
    pub sets: Vec<String>,
    /// Where to put the cursor once loaded (from the URL).
    pub at: Option<usize>,
}

/// A run on screen.
#[derive(Clone, Debug)]
pub struct Shown {
    /// What made it (the picker goes back to it when a later request fails).
    pub request: Request,
    /// The run.
    pub loaded: Rc<Loaded>,
    /// The cursor and the state there.
    pub player: Player,
    /// Where each finding becomes provable (empty until located).
    pub findings: Rc<Vec<Finding>>,
    /// The timeline's markers, findings included once located.
    pub markers: Rc<Vec<Marker>>,
}

/// The page's state.
#[derive(Clone, Debug)]
pub struct State {
    /// What is (to be) run.
    pub request: Request,
    /// Whether a run is being simulated.
    pub busy: bool,
    /// The run on screen.
    pub shown: Option<Shown>,
    /// What went wrong last, in words.
    pub error: Option<String>,
    /// Whether playing.
    pub playing: bool,
    /// The index of the speed in [`SPEEDS`].
    pub speed: usize,
    /// Bumped on every change the URL should record (not on every frame while playing).
    pub url_version: u64,
    /// Bumped on every request to simulate, even one equal to the last ("Run" again).
    pub runs: u64,
}

impl State {
    /// The state a URL asks for.
    pub fn new(request: Request, error: Option<String>) -> Self {
        State {
            request,
            busy: true,
            shown: None,
            error,
            playing: false,
            speed: 4,
            url_version: 0,
            runs: 1,
        }
    }
}

/// Everything that changes the state.
pub enum Action {
    /// Run this.
    Run(Request),
    /// A run finished simulating (or failed to).
    Loaded(Result<Rc<Loaded>, String>),
    /// Show a trace file the user opened (its name, and what reading it gave).
    OpenedTrace(String, Result<Rc<Loaded>, String>),
    /// The findings of the run on screen were located.
    Findings(Rc<Vec<Finding>>),
    /// Move the cursor by this many lines.
    Step(i64),
    /// Put the cursor on this line.
    Seek(usize),
    /// To the next (`true`) or previous marker.
    Marker(bool),
    /// Play or pause.
    TogglePlay,
    /// Change the speed by this many steps.
    Speed(i32),
    /// Playing: this many real milliseconds passed.
    Tick(f64),
    /// Show an error.
    Error(String),
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Run(request) => {
                s.request = request;
                s.busy = true;
                s.playing = false;
                s.runs += 1;
            }
            Action::Loaded(result) => {
                s.busy = false;
                s.show(result);
            }
            Action::OpenedTrace(name, result) => {
                if let Ok(loaded) = &result {
                    s.request = Request {
                        source: Source::Trace { name },
                        seed: loaded.header.seed,
                        sets: loaded.header.overrides.clone(),
                        at: None,
                    };
                }
                s.playing = false;
                s.show(result);
            }
            Action::Findings(findings) => s.with_findings(findings),
            Action::Step(by) => s.move_cursor(|cursor| (cursor as i64 + by).max(0) as usize),
            Action::Seek(line) => s.move_cursor(|_| line),
            Action::Marker(forward) => s.jump_to_marker(forward),
            Action::TogglePlay => s.toggle_play(),
            Action::Speed(by) => {
                let last = SPEEDS.len() as i32 - 1;
                s.speed = (s.speed as i32 + by).clamp(0, last) as usize;
            }
            Action::Tick(real_ms) => s.tick(real_ms),
            Action::Error(message) => s.error = Some(message),
        }
        Rc::new(s)
    }
}

impl State {
    fn show(&mut self, result: Result<Rc<Loaded>, String>) {
        match result {
            Ok(loaded) => match Player::at(&loaded, self.request.at.unwrap_or(0)) {
                Some(player) => {
                    self.error = None;
                    let markers = Rc::new(loaded.markers.clone());
                    self.shown = Some(Shown {
                        request: self.request.clone(),
                        loaded,
                        player,
                        findings: Rc::new(Vec::new()),
                        markers,
                    });
                    self.url_version += 1;
                }
                None => self.error = Some("the trace has no snapshot to start from".into()),
            },
            Err(message) => {
                self.error = Some(message);
                // The picker shows what is on screen, not the request that failed.
                if let Some(shown) = &self.shown {
                    self.request = Request {
                        at: Some(shown.player.cursor),
                        ..shown.request.clone()
                    };
                }
            }
        }
    }

    fn with_findings(&mut self, findings: Rc<Vec<Finding>>) {
        if let Some(shown) = &mut self.shown {
            let mut markers = shown.loaded.markers.clone();
            markers.extend(findings.iter().map(Marker::finding));
            markers.sort_by_key(|m| m.line);
            shown.markers = Rc::new(markers);
            shown.findings = findings;
        }
    }

    fn move_cursor(&mut self, to: impl FnOnce(usize) -> usize) {
        if let Some(shown) = &mut self.shown {
            let line = to(shown.player.cursor);
            shown.player.seek(&shown.loaded, line);
            self.request.at = Some(shown.player.cursor);
            self.playing = false;
            self.url_version += 1;
        }
    }

    fn jump_to_marker(&mut self, forward: bool) {
        let Some(shown) = &self.shown else {
            return;
        };
        let cursor = shown.player.cursor;
        let target = if forward {
            shown.markers.iter().find(|m| m.line > cursor)
        } else {
            shown.markers.iter().rev().find(|m| m.line < cursor)
        };
        if let Some(line) = target.map(|m| m.line) {
            self.move_cursor(|_| line);
        }
    }

    fn toggle_play(&mut self) {
        let Some(shown) = &mut self.shown else {
            return;
        };
        if self.playing {
            self.playing = false;
            self.request.at = Some(shown.player.cursor);
            self.url_version += 1;
        } else {
            if shown.player.at_end(&shown.loaded) {
                shown.player.seek(&shown.loaded, 0);
            }
            self.playing = true;
        }
    }

    fn tick(&mut self, real_ms: f64) {
        if !self.playing {
            return;
        }
        let Some(shown) = &mut self.shown else {
            return;
        };
        // At most a quarter of a second per frame: a tab in the background must not jump.
        let sim_us = (real_ms.min(250.0) * SPEEDS[self.speed].0 * 1000.0) as u64;
        let to = Instant::from_micros(shown.player.clock.as_micros() + sim_us);
        if !shown.player.play_to(&shown.loaded, to) {
            self.playing = false;
            self.request.at = Some(shown.player.cursor);
            self.url_version += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str) -> Request {
        Request {
            source: Source::Builtin(name.into()),
            seed: 1,
            sets: Vec::new(),
            at: None,
        }
    }

    fn reduce(state: Rc<State>, action: Action) -> Rc<State> {
        state.reduce(action)
    }

    fn loaded(name: &str) -> Rc<Loaded> {
        Rc::new(Loaded::simulate(&Source::Builtin(name.into()), 1, &[]).unwrap())
    }

    fn showing(name: &str) -> Rc<State> {
        let s = Rc::new(State::new(request(name), None));
        reduce(s, Action::Loaded(Ok(loaded(name))))
    }

    #[test]
    fn running_the_same_request_again_simulates_again() {
        let s = showing("leader-failover");
        let again = reduce(s.clone(), Action::Run(s.request.clone()));
        assert!(
            again.runs > s.runs,
            "the simulation effect is keyed on the run count"
        );
        assert!(again.busy);
    }

    #[test]
    fn a_failed_request_leaves_the_picker_on_what_is_shown() {
        let s = showing("leader-failover");
        let s = reduce(s, Action::Step(500));
        let cursor = s.shown.as_ref().unwrap().player.cursor;
        let bad = Request {
            source: Source::File {
                name: "pasted.toml".into(),
                text: "not toml [".into(),
            },
            ..request("x")
        };
        let s = reduce(s, Action::Run(bad));
        let s = reduce(s, Action::Loaded(Err("pasted.toml:1:5: bad".into())));
        assert_eq!(s.error.as_deref(), Some("pasted.toml:1:5: bad"));
        assert_eq!(s.request.source, Source::Builtin("leader-failover".into()));
        assert_eq!(s.request.at, Some(cursor));
        assert!(!s.busy);
    }

    #[test]
    fn an_opened_trace_starts_at_its_first_frame_and_names_itself() {
        let s = showing("leader-failover");
        let s = reduce(s, Action::Step(3000));
        let l = loaded("kip-101-hw-truncation");
        let s = reduce(s, Action::OpenedTrace("t.jsonl".into(), Ok(l.clone())));
        assert_eq!(
            s.request.source,
            Source::Trace {
                name: "t.jsonl".into()
            }
        );
        let shown = s.shown.as_ref().unwrap();
        assert_eq!(shown.player.cursor, Player::first_line(&l));
        assert!(Rc::ptr_eq(&shown.loaded, &l));
    }

    #[test]
    fn markers_playing_and_the_end() {
        let s = showing("leader-failover");
        let markers = s.shown.as_ref().unwrap().markers.clone();
        let s = reduce(s, Action::Marker(true));
        assert_eq!(s.shown.as_ref().unwrap().player.cursor, markers[0].line);
        let s = reduce(s, Action::Marker(false));
        assert_eq!(
            s.shown.as_ref().unwrap().player.cursor,
            markers[0].line,
            "none before the first"
        );
        let second = markers
            .iter()
            .find(|m| m.line > markers[0].line)
            .unwrap()
            .line;
        let s = reduce(s, Action::Marker(true));
        assert_eq!(s.shown.as_ref().unwrap().player.cursor, second);
        let s = reduce(s, Action::Marker(false));
        assert_eq!(s.shown.as_ref().unwrap().player.cursor, markers[0].line);
        let s = reduce(s, Action::TogglePlay);
        assert!(s.playing);
        let before = s.shown.as_ref().unwrap().player.clock;
        let s = reduce(s, Action::Tick(100.0));
        let after = s.shown.as_ref().unwrap().player.clock;
        assert_eq!(
            after.saturating_since(before).as_micros(),
            100_000,
            "1× plays 100 ms in 100 ms"
        );
        let s = reduce(s, Action::Seek(usize::MAX));
        assert!(!s.playing, "a seek pauses");
        let s = reduce(s, Action::TogglePlay);
        assert_eq!(
            s.shown.as_ref().unwrap().player.cursor,
            Player::first_line(&s.shown.as_ref().unwrap().loaded),
            "play at the end starts again from the beginning"
        );
    }
}
