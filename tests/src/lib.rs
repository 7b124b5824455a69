//! End-to-end tests live in `tests/tests/`; this library only holds shared helpers.

pub mod property;

use kafkasim_scenarios::harness::{self, RunOptions, RunReport};
use kafkasim_scenarios::{catalog, format};

/// Run the built-in scenario `name` with `seed`, without writing a trace file.
pub fn run_builtin(name: &str, seed: u64) -> RunReport {
    let text = catalog::find(name).unwrap_or_else(|| panic!("no built-in scenario {name}"));
    let scenario =
        format::parse(&format!("builtin:{name}"), text).expect("catalog scenarios parse");
    harness::run(&scenario, RunOptions { seed, trace: None }).expect("no trace file, no IO error")
}

/// Simulate the scenario in `text` (a scenario file's contents) with `seed`, keeping its trace.
pub fn simulate_text(name: &str, text: &str, seed: u64) -> harness::Simulation {
    let scenario = format::parse(name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
    harness::simulate(&scenario, RunOptions { seed, trace: None }).expect("no trace file")
}

/// Simulate the built-in scenario `name` with `seed`, keeping its trace.
pub fn simulate_builtin(name: &str, seed: u64) -> harness::Simulation {
    let text = catalog::find(name).unwrap_or_else(|| panic!("no built-in scenario {name}"));
    simulate_text(&format!("builtin:{name}"), text, seed)
}

/// The findings of checker `name` in `report`.
pub fn findings(report: &RunReport, name: &str) -> Vec<String> {
    report
        .verdicts
        .iter()
        .find(|v| v.checker == name)
        .unwrap_or_else(|| panic!("no checker {name}"))
        .findings
        .clone()
}
