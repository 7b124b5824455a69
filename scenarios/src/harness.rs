//! Runs a [`Scenario`] on the simulated world and judges it.

use crate::model::Scenario;
use std::io::Write;

/// How to run.
pub struct RunOptions {
    /// The run's seed.
    pub seed: u64,
    /// Where to write the trace as JSON Lines, if anywhere.
    pub trace: Option<Box<dyn Write>>,
}

/// A checker's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The checker's name.
    pub checker: String,
    /// True when the scenario expects the checker to find the anomaly.
    pub anomaly_expected: bool,
    /// What it found (empty: nothing).
    pub findings: Vec<String>,
    /// Whether the finding matches the expectation.
    pub ok: bool,
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Parameters derived from the seed, printed before anything else.
    pub parameters: Vec<String>,
    /// The narrated timeline, one line per notable event.
    pub timeline: Vec<String>,
    /// The summary, in Kafka's terms.
    pub summary: Vec<String>,
    /// Verdicts of every checker named by the scenario.
    pub verdicts: Vec<Verdict>,
    /// Events processed by the simulator.
    pub events: u64,
    /// The trace hash (64 hex digits).
    pub trace_hash: String,
}

impl RunReport {
    /// Whether every verdict matched the scenario's expectations.
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.ok)
    }
}

/// Run `scenario`. Errors are IO errors writing the trace.
pub fn run(scenario: &Scenario, options: RunOptions) -> std::io::Result<RunReport> {
    let _ = (scenario, options);
    todo!("harness under construction")
}
