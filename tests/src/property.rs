//! How the fault-schedule properties pick their cases: a fixed, recorded set in CI, fresh ones
//! when exploring.
//!
//! A property test that draws new random cases on every run turns CI into a lottery: a landing
//! can fail on an old bug nobody touched, and a green run promises nothing about the next one.
//! The product is reproducible — a scenario and a seed give the same run everywhere — and so
//! is its test suite:
//!
//! - **`cargo test`** (`./scripts/test`, CI) runs each property on the same cases every time.
//!   First its *regression cases*: cases that once failed, written out in the test file as a
//!   `REGRESSIONS` list of `(seed, "schedule")` lines (the schedule in
//!   [`nemesis::format_schedule`]'s one-line form), replayed before anything else. They are
//!   exact schedules, not generator seeds, so they keep meaning the same run when the
//!   generator changes. Then `cases` cases that proptest draws from the fixed seed
//!   [`RECORDED_SEED`]: the same cases on every machine and every run.
//! - **`./scripts/explore`** sets [`EXPLORE_SEED`] to a fresh seed (and may set
//!   [`EXPLORE_CASES`]): the same properties then run cases nobody has run before. A failure is
//!   shrunk by proptest to a minimal case and printed with the seed that reproduces the
//!   exploration and the line to add to the test's `REGRESSIONS`.
//!
//! Each property draws from its own stream, derived from the base seed and the property's
//! name with the project's [`Prng`] (one master seed, a stream per subsystem), so the
//! properties of one file do not all run the same simulation seeds.

use kafkasim_core::prng::Prng;
use kafkasim_scenarios::model::ScheduledFault;
use kafkasim_scenarios::nemesis::{self, NemesisSpec};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use std::fmt;

/// The environment variable that switches the properties from their recorded cases to
/// exploring: its value (a `u64`) is the seed new cases are drawn from.
pub const EXPLORE_SEED: &str = "KAFKASIM_EXPLORE_SEED";

/// The environment variable that sets how many cases each property explores (by default the
/// same number as in CI).
pub const EXPLORE_CASES: &str = "KAFKASIM_EXPLORE_CASES";

/// The base seed of the recorded cases CI runs. Changing it changes every recorded case: do it
/// only on purpose, and expect to look at whatever the new cases find.
pub const RECORDED_SEED: u64 = 0x6b61_666b_6173_696d; // "kafkasim" in ASCII

/// A property: where it is, what it is called, how many cases CI runs.
#[derive(Clone, Copy, Debug)]
pub struct Property<'a> {
    /// The test file (`file!()`), named in the message of a failure.
    pub file: &'a str,
    /// The property's name, which also names its stream of cases.
    pub name: &'a str,
    /// How many cases CI runs (after the regression cases).
    pub cases: u32,
}

/// Where the cases come from this run: the recorded seed, or an exploration's.
fn base_seed() -> (u64, bool) {
    match std::env::var(EXPLORE_SEED) {
        Ok(text) => match text.trim().parse() {
            Ok(seed) => (seed, true),
            Err(_) => panic!("{EXPLORE_SEED}={text:?} is not a u64"),
        },
        Err(_) => (RECORDED_SEED, false),
    }
}

/// The proptest configuration of `property`: its number of cases, its seed, no failure file
/// (regression cases are written in the test file, see the module doc).
fn config(property: &Property, seed: u64, exploring: bool) -> Config {
    let cases = match std::env::var(EXPLORE_CASES) {
        Ok(text) if exploring => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{EXPLORE_CASES}={text:?} is not a u32")),
        _ => property.cases,
    };
    Config {
        cases,
        rng_seed: RngSeed::Fixed(Prng::derive(seed, property.name, 0).next_u64()),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Check `test` on the regression cases, then on the property's cases drawn from `strategy`;
/// panic on the first failure with everything needed to reproduce it. `S::Value`'s `Debug`
/// should print the case as a line of the test's `REGRESSIONS` list.
pub fn check<S>(
    property: Property,
    strategy: S,
    regressions: &[S::Value],
    test: impl Fn(&S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: fmt::Debug,
{
    let Property { file, name, .. } = property;
    for (i, case) in regressions.iter().enumerate() {
        if let Err(e) = test(case) {
            panic!("{name}: regression case {i} of {file} fails again: {e}\ncase: {case:?}");
        }
    }
    let (seed, exploring) = base_seed();
    let config = config(&property, seed, exploring);
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    let found = match runner.run(&strategy, |case| test(&case)) {
        Ok(()) => {
            if exploring {
                eprintln!("{name}: {cases} new cases from {EXPLORE_SEED}={seed}: no failure");
            }
            return;
        }
        Err(TestError::Abort(why)) => panic!("{name}: proptest gave up: {why}"),
        Err(TestError::Fail(why, minimal)) => (why, minimal),
    };
    let (why, minimal) = found;
    let how = if exploring {
        format!("exploring with {EXPLORE_SEED}={seed}")
    } else {
        format!("on its recorded cases (seed {RECORDED_SEED:#x})")
    };
    panic!(
        "{name} failed {how}: {why}\n\
         minimal failing case (shrunk by proptest), as a regression case — to keep it, add this \
         line to REGRESSIONS in {file}:\n    {minimal:?},"
    );
}

/// One case of a fault-schedule property: the simulation's seed and the schedule. Its `Debug`
/// is a line of a `REGRESSIONS` list: `(seed, "schedule")`.
#[derive(Clone, PartialEq, Eq)]
pub struct Case {
    /// The seed of the run.
    pub seed: u64,
    /// The faults, heal phase included.
    pub faults: Vec<ScheduledFault>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({}, \"{}\")",
            self.seed,
            nemesis::format_schedule(&self.faults)
        )
    }
}

/// Cases for `spec`: any seed, any schedule the nemesis draws.
pub fn cases(spec: &NemesisSpec) -> impl Strategy<Value = Case> + use<> {
    (any::<u64>(), nemesis::strategy(spec)).prop_map(|(seed, faults)| Case { seed, faults })
}

/// The cases of a `REGRESSIONS` list. Panics on a schedule that cannot be read.
pub fn regressions(list: &[(u64, &str)]) -> Vec<Case> {
    list.iter()
        .map(|(seed, text)| Case {
            seed: *seed,
            faults: parse(text),
        })
        .collect()
}

/// A schedule written in a test; panics with the reason if it cannot be read.
pub fn parse(text: &str) -> Vec<ScheduledFault> {
    nemesis::parse_schedule(text).unwrap_or_else(|e| panic!("unreadable schedule: {e}"))
}

/// Run `scenario` with `faults` in place of its own, with simulation seed `seed`.
pub fn run_case(
    scenario: &kafkasim_scenarios::model::Scenario,
    seed: u64,
    faults: &[ScheduledFault],
) -> kafkasim_scenarios::harness::RunReport {
    let mut scenario = scenario.clone();
    scenario.faults = faults.to_vec();
    let options = kafkasim_scenarios::harness::RunOptions { seed, trace: None };
    kafkasim_scenarios::harness::run(&scenario, options).expect("no trace file, no IO error")
}

/// The findings of the `checkers` named, by checker, leaving out those that found nothing.
pub fn violations(
    report: &kafkasim_scenarios::harness::RunReport,
    checkers: &[&str],
) -> Vec<(String, Vec<String>)> {
    report
        .verdicts
        .iter()
        .filter(|v| checkers.contains(&v.checker.as_str()) && !v.findings.is_empty())
        .map(|v| (v.checker.clone(), v.findings.clone()))
        .collect()
}

/// A debugging aid for a property's failing case: run `scenario` with the schedule in
/// `SCHEDULE` (the nemesis's one-line form) and simulation seed `CASE`, writing its trace to
/// `TRACE` if set; print its timeline and the findings of `checkers`.
pub fn debug_case(scenario: &kafkasim_scenarios::model::Scenario, checkers: &[&str]) {
    use kafkasim_scenarios::harness::{RunOptions, run};
    let seed: u64 = std::env::var("CASE")
        .expect("CASE")
        .parse()
        .expect("a seed");
    let mut scenario = scenario.clone();
    scenario.faults = parse(&std::env::var("SCHEDULE").expect("SCHEDULE"));
    let trace: Option<Box<dyn std::io::Write>> = std::env::var("TRACE").ok().map(|path| {
        let file = std::fs::File::create(path).expect("the trace file can be created");
        Box::new(std::io::BufWriter::new(file)) as Box<dyn std::io::Write>
    });
    let report = run(&scenario, RunOptions { seed, trace }).expect("runs");
    for l in &report.timeline {
        eprintln!("{l}");
    }
    eprintln!("{:#?}", violations(&report, checkers));
}

/// A menu choice: crash one of `nodes` (kill -9) and restart it within 0.2–2.5 s.
pub fn bounce(nodes: &[String], weight: u32) -> nemesis::Choice {
    nemesis::Choice {
        weight,
        kind: nemesis::FaultKind::Bounce {
            nodes: nodes.to_vec(),
            down_ms: 200..=2500,
        },
    }
}

/// A menu choice: cut the power of one of `nodes` and restart it within 0.2–2.5 s.
pub fn power_cycle(nodes: &[String], weight: u32) -> nemesis::Choice {
    nemesis::Choice {
        weight,
        kind: nemesis::FaultKind::PowerCycle {
            nodes: nodes.to_vec(),
            together: 1..=1,
            down_ms: 200..=2500,
        },
    }
}

/// The fast failure detection of `connector-crash-resume`, as edits of a pipeline
/// scenario's text: a dead broker fenced in 3 s; a source that reconnects within a second
/// and a producer request timing out in 2 s.
pub const FAST_FAILOVER: &[(&str, &str)] = &[
    (
        "min.insync.replicas = 2\n",
        "min.insync.replicas = 2\nbroker.session.timeout.ms = 3000\n",
    ),
    (
        "\"topic.prefix\" = \"shop\"\n",
        "\"topic.prefix\" = \"shop\"\n\"retriable.restart.connector.wait.ms\" = 1000\n\"status.update.interval.ms\" = 1000\n\"producer.override.request.timeout.ms\" = 2000\n",
    ),
];

/// A sink task's consumer that leaves its group 6 s after it dies.
pub const FAST_SINK_CONSUMER: &str = "\"consumer.override.session.timeout.ms\" = 6000\n\"consumer.override.heartbeat.interval.ms\" = 2000\n\"consumer.override.request.timeout.ms\" = 5000\n";

/// `text` with each `(from, to)` edit made once; each must apply.
pub fn edited(text: &str, edits: &[(&str, &str)]) -> String {
    let mut text = text.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "the scenario no longer has {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}
