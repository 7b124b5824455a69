//! A run the page can play: the trace and everything read from it once, when it loads.
//!
//! Everything here comes from the trace alone (the header and the lines), whether the page
//! simulated the scenario itself or opened a file written by `kafkasim run --trace`: the
//! verdicts are [`harness::judge`]'s, the narration is the CLI's timeline, the markers and the
//! holds are read off the lines. Nothing here looks at a node's internals.

use super::findings::{self, Finding};
use super::marks::{self, Ack, Hold, Marker, Truncation};
use kafkasim_scenarios::harness::{self, RunOptions, Verdict};
use kafkasim_scenarios::model::Scenario;
use kafkasim_scenarios::narrate::{self, Entry};
use kafkasim_scenarios::overrides;
use kafkasim_scenarios::trace::{self, Header, Line};
use kafkasim_sim::trace::hash_hex;
use std::collections::BTreeMap;

/// A run, loaded.
#[derive(Debug)]
pub struct Loaded {
    /// The trace's header: what was run.
    pub header: Header,
    /// Every line of the trace, in order.
    pub lines: Vec<Line>,
    /// The trace hash (64 hex digits), as `kafkasim run` prints it.
    pub hash: String,
    /// Each checker's verdict on the whole run.
    pub verdicts: Vec<Verdict>,
    /// The CLI's timeline, each sentence with its line.
    pub narration: Vec<Entry>,
    /// The timeline's markers, in line order.
    pub markers: Vec<Marker>,
    /// Responses held in a purgatory, with the lines that hold and release them.
    pub holds: Vec<Hold>,
    /// Records acknowledged to a producer, by partition name, in line order.
    pub acks: BTreeMap<String, Vec<Ack>>,
    /// Every replica truncation, with the cells it cut.
    pub truncations: Vec<Truncation>,
    /// The command line that gives this run (none for an opened trace file).
    pub repro: Option<String>,
}

/// What the page can load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A built-in scenario, by name.
    Builtin(String),
    /// A scenario file's text the user pasted or opened.
    File {
        /// The file's name, for errors.
        name: String,
        /// Its text.
        text: String,
    },
    /// A trace written by `kafkasim run --trace`, opened to be played (not simulated again).
    Trace {
        /// The file's name.
        name: String,
    },
}

impl Loaded {
    /// Run `scenario` (with `sets`, `name=value` overrides) with `seed`, in this page.
    pub fn simulate(source: &Source, seed: u64, sets: &[String]) -> Result<Self, String> {
        let mut scenario = parse(source)?;
        for set in sets {
            let (name, value) = overrides::parse(set)?;
            overrides::apply(&mut scenario, &name, &value)?;
        }
        let repro_name = match source {
            Source::Builtin(name) | Source::File { name, .. } | Source::Trace { name } => {
                name.clone()
            }
        };
        let repro = overrides::repro(&repro_name, seed, &scenario.overrides);
        let simulation = harness::simulate(&scenario, RunOptions { seed, trace: None })
            .map_err(|e| format!("the run failed: {e}"))?;
        let hash = simulation.world.trace().hash_hex();
        let header = simulation.header.clone();
        let lines = simulation.lines().to_vec();
        Ok(Self::from_parts(header, lines, hash, Some(repro)))
    }

    /// Read a trace file written by `kafkasim run --trace`.
    pub fn open_trace(text: &str) -> Result<Self, String> {
        let saved =
            trace::read(text.as_bytes()).map_err(|e| format!("not a kafkasim trace: {e}"))?;
        let hash = hash_hex(text.as_bytes());
        Ok(Self::from_parts(saved.header, saved.lines, hash, None))
    }

    fn from_parts(header: Header, lines: Vec<Line>, hash: String, repro: Option<String>) -> Self {
        let judged = harness::judge(&header, &lines);
        let narration = narrate::entries(&lines);
        let read = marks::read(&lines);
        Loaded {
            verdicts: judged.verdicts,
            narration,
            markers: read.markers,
            holds: read.holds,
            acks: read.acks,
            truncations: read.truncations,
            header,
            lines,
            hash,
            repro,
        }
    }

    /// Where each checker that found something first finds it (a few more judgements of
    /// prefixes: the page does it after the first frame is drawn).
    pub fn locate_findings(&self) -> Vec<Finding> {
        findings::locate(&self.header, &self.lines, &self.verdicts)
    }

    /// The short form of the trace hash the CLI prints (`trace hash: 9ea7547c7b3bf607`).
    pub fn short_hash(&self) -> &str {
        &self.hash[..16.min(self.hash.len())]
    }

    /// Whether every verdict matches the scenario's expectations.
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(Verdict::ok)
    }
}

/// Parse a scenario source.
pub fn parse(source: &Source) -> Result<Scenario, String> {
    match source {
        Source::Builtin(name) => {
            let text = kafkasim_scenarios::catalog::find(name).ok_or_else(|| {
                format!(
                    "no built-in scenario is called `{name}`; pick one from the list (there are {})",
                    kafkasim_scenarios::catalog::names().len()
                )
            })?;
            kafkasim_scenarios::format::parse(&format!("builtin:{name}"), text)
                .map_err(|e| e.to_string())
        }
        Source::File { name, text } => {
            kafkasim_scenarios::format::parse(name, text).map_err(|e| e.to_string())
        }
        Source::Trace { name } => Err(format!(
            "{name} is a trace: it is played as it was recorded; pick a scenario to run one"
        )),
    }
}
