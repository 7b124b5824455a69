//! The nemesis's proptest side and the way properties pick their cases.
//!
//! `kafkasim_scenarios::nemesis` tests its pure generator itself (same seed, same schedule;
//! nodes, windows, heal phase, forbidden kinds). Its proptest [`strategy`] lives behind a cargo
//! feature that this crate turns on, so it is tested here: it yields schedules of the same
//! shape, and it shrinks a failing one to the simplest schedule that still fails. Then
//! [`property::check`], which every fault-schedule property goes through: it replays the
//! regression cases first, runs the same cases on every run, and prints a failure as a line
//! ready to paste into `REGRESSIONS`.

use kafkasim_scenarios::model::{FaultAction, ScheduledFault};
use kafkasim_scenarios::nemesis::{
    self, Choice, FaultKind, HealPhase, NemesisSpec, Timing, Victims, names, strategy,
};
use kafkasim_tests::property::{self, Case, Property};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestError, TestRunner};
use std::cell::RefCell;
use std::collections::BTreeSet;

fn spec() -> NemesisSpec {
    let brokers = names(&["broker-1", "broker-2", "broker-3"]);
    NemesisSpec {
        window_ms: 2000..14_000,
        faults: 1..=7,
        timing: Timing::Scattered,
        victims: Victims::AtRandom,
        menu: vec![
            Choice {
                weight: 2,
                kind: FaultKind::ProcessCrash {
                    nodes: brokers.clone(),
                },
            },
            Choice {
                weight: 1,
                kind: FaultKind::PowerLoss {
                    nodes: brokers.clone(),
                },
            },
            Choice {
                weight: 1,
                kind: FaultKind::Partition {
                    from: brokers.clone(),
                    to: brokers.clone(),
                    two_way: true,
                },
            },
        ],
        heal: Some(HealPhase {
            at_ms: 15_000,
            restart: brokers,
        }),
    }
}

fn runner(seed: u64) -> TestRunner {
    TestRunner::new(Config {
        cases: 300,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

/// The schedule without its heal phase (a heal and three restarts at 15 s).
fn safety_phase(faults: &[ScheduledFault]) -> &[ScheduledFault] {
    assert_eq!(faults[faults.len() - 4].action, FaultAction::Heal);
    assert!(faults[faults.len() - 4..].iter().all(|f| f.at_ms == 15_000));
    &faults[..faults.len() - 4]
}

#[test]
fn the_strategy_yields_schedules_of_the_spec() {
    let spec = spec();
    let known: BTreeSet<String> = spec.node_names().iter().map(|n| n.to_string()).collect();
    let counts = RefCell::new(BTreeSet::new());
    runner(1)
        .run(&strategy(&spec), |faults| {
            let safety = safety_phase(&faults);
            counts.borrow_mut().insert(safety.len());
            for f in safety {
                prop_assert!(spec.window_ms.contains(&f.at_ms), "{f:?}");
                let nodes = match &f.action {
                    FaultAction::ProcessCrash { node } | FaultAction::PowerLoss { node } => {
                        vec![node]
                    }
                    FaultAction::Partition { from, to, two_way } => {
                        prop_assert!(*two_way && from != to);
                        vec![from, to]
                    }
                    other => {
                        return Err(TestCaseError::fail(format!("not on the menu: {other:?}")));
                    }
                };
                prop_assert!(nodes.iter().all(|n| known.contains(*n)));
            }
            prop_assert!(safety.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        *counts.borrow(),
        (1..=7).collect(),
        "every count of the range, no other"
    );
}

/// What a sample of schedules contains: fault counts, and (kind, victim) pairs.
fn census(schedules: &[Vec<ScheduledFault>]) -> (BTreeSet<usize>, BTreeSet<String>) {
    let mut counts = BTreeSet::new();
    let mut faults = BTreeSet::new();
    for s in schedules {
        let safety = safety_phase(s);
        counts.insert(safety.len());
        for f in safety {
            // "2345 power-loss broker-2" without its time.
            let text = nemesis::format_schedule(std::slice::from_ref(f));
            faults.insert(text.split_once(' ').unwrap().1.to_string());
        }
    }
    (counts, faults)
}

/// The strategy and the seeded generator draw the same kind of schedules: over a sample of
/// each, the same fault counts and the same faults (kind, victim and peer) appear.
#[test]
fn strategy_and_seeded_schedules_are_alike() {
    let spec = spec();
    let mut runner = runner(2);
    let strategy = strategy(&spec);
    let from_proptest: Vec<_> = (0..300)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let from_seeds: Vec<_> = (0..300)
        .map(|seed| nemesis::schedule(&spec, seed))
        .collect();
    let (a, b) = (census(&from_proptest), census(&from_seeds));
    assert_eq!(a, b);
    // 3 crashes, 3 power losses, 6 partitions (three brokers, never to themselves).
    assert_eq!(a.1.len(), 12, "{:?}", a.1);
}

/// proptest shrinks a failing schedule to the simplest one that still fails: here "any power
/// loss" fails, and the minimal schedule is one power loss of the first broker at the window's
/// start (then the heal phase, which is never shrunk away).
#[test]
fn a_failing_schedule_shrinks_to_its_one_guilty_fault() {
    let result = runner(3).run(&strategy(&spec()), |faults| {
        let lost_power = faults
            .iter()
            .any(|f| matches!(f.action, FaultAction::PowerLoss { .. }));
        prop_assert!(!lost_power);
        Ok(())
    });
    let Err(TestError::Fail(_, minimal)) = result else {
        panic!("300 schedules without a power loss: {result:?}");
    };
    assert_eq!(
        nemesis::format_schedule(&minimal),
        "2000 power-loss broker-1; 15000 heal; 15000 restart broker-1; 15000 restart broker-2; \
         15000 restart broker-3"
    );
}

/// The message of a failure names the property, says where its cases came from, and gives the
/// minimal case as a line for `REGRESSIONS`; regression cases are replayed before the rest.
#[test]
fn check_replays_regressions_first_and_prints_a_failure_as_a_regression_line() {
    let property = Property {
        file: file!(),
        name: "no_power_loss_ever",
        cases: 100,
    };
    let no_power_loss = |case: &Case| {
        let lost_power = case
            .faults
            .iter()
            .any(|f| matches!(f.action, FaultAction::PowerLoss { .. }));
        prop_assert!(!lost_power, "a power loss");
        Ok(())
    };
    let panic_message = |regressions: Vec<Case>| {
        let spec = spec();
        let caught = std::panic::catch_unwind(|| {
            property::check(
                property,
                property::cases(&spec),
                &regressions,
                no_power_loss,
            )
        });
        let payload = caught.expect_err("the property fails");
        payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    };
    // A regression case fails first, and is named as one.
    let message = panic_message(property::regressions(&[(7, "3000 power-loss broker-2")]));
    assert!(message.contains("regression case 0"), "{message}");
    assert!(
        message.contains("(7, \"3000 power-loss broker-2\")"),
        "{message}"
    );
    // Then the drawn cases: the minimal one is printed as a line of REGRESSIONS. (The test runs
    // without KAFKASIM_EXPLORE_SEED in CI; under ./scripts/explore it says so instead.)
    let message = panic_message(Vec::new());
    assert!(message.contains("no_power_loss_ever failed"), "{message}");
    assert!(message.contains("add this line to REGRESSIONS in tests/tests/nemesis.rs"));
    let line = message.lines().last().unwrap().trim();
    assert!(
        line.ends_with(
            "power-loss broker-1; 15000 heal; 15000 restart broker-1; \
                            15000 restart broker-2; 15000 restart broker-3\"),"
        ),
        "{line}"
    );
    // The printed line reads back as the same case.
    let (seed, text) = line
        .trim_start_matches('(')
        .trim_end_matches("),")
        .split_once(", ")
        .unwrap();
    let case = &property::regressions(&[(seed.parse().unwrap(), text.trim_matches('"'))])[0];
    assert!(no_power_loss(case).is_err());
}

/// The recorded cases are the same on every run: two runs of a property see the same cases.
#[test]
fn the_recorded_cases_are_the_same_on_every_run() {
    if std::env::var(property::EXPLORE_SEED).is_ok() {
        return; // exploring: cases are meant to be new
    }
    let seen = || {
        let cases = RefCell::new(Vec::new());
        let property = Property {
            file: file!(),
            name: "records",
            cases: 20,
        };
        property::check(property, property::cases(&spec()), &[], |case| {
            cases.borrow_mut().push(format!("{case:?}"));
            Ok(())
        });
        cases.into_inner()
    };
    let first = seen();
    assert_eq!(first.len(), 20);
    assert_eq!(first, seen());
}
