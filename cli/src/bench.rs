//! `kafkasim bench`: the engine's raw speed, the same measurement as `cargo bench -p
//! kafkasim-sim`. Reading the wall clock is the point here; simulated code never does.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use kafkasim_scenarios::harness::{self, RunOptions};
use kafkasim_scenarios::{catalog, format};
use kafkasim_sim::bench::ping_pong;
use kafkasim_sim::trace::TraceMode;
use std::io::Write;
use std::time::Instant;

fn measure(out: &mut dyn Write, label: &str, balls: u32, events: u64, mode: TraceMode) {
    let hits = (events / u64::from(balls)).max(1);
    let mut best = 0.0f64;
    for _ in 0..3 {
        let mut world = ping_pong(1, balls, hits, mode);
        let start = Instant::now();
        world.run_to_quiescence(u64::MAX);
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        best = best.max(world.events_processed() as f64 / secs);
    }
    let _ = writeln!(out, "{label:<44} {:>8.2} M events/s", best / 1e6);
}

/// Print the engine's speed in three settings.
pub fn run(events: u64, out: &mut dyn Write) {
    let _ = writeln!(
        out,
        "kafkasim engine benchmark: ping-pong between two nodes, best of 3"
    );
    if cfg!(debug_assertions) {
        let _ = writeln!(
            out,
            "(debug build: use `cargo run --release` for real figures)"
        );
    }
    measure(out, "1 ball, trace off", 1, events, TraceMode::Off);
    measure(
        out,
        "64 balls in flight, trace off",
        64,
        events,
        TraceMode::Off,
    );
    measure(
        out,
        "1 ball, trace hashed (JSON + SHA-256)",
        1,
        events / 20,
        TraceMode::Hash,
    );
}

/// Whole scenarios, as the CLI runs them (trace recorded and hashed, checkers included):
/// simulated events per wall second, and runs per second — what a seed sweep will cost.
pub fn scenarios(out: &mut dyn Write) {
    let _ = writeln!(
        out,
        "\nwhole scenarios (trace recorded and hashed, checkers run), best of 3:"
    );
    for name in ["wal-recovery", "leader-failover", "controller-failover"] {
        let Some(text) = catalog::find(name) else {
            continue;
        };
        let Ok(scenario) = format::parse(name, text) else {
            continue;
        };
        let mut best: Option<(f64, u64)> = None;
        for seed in 0..3 {
            let start = Instant::now();
            let Ok(report) = harness::run(&scenario, RunOptions { seed, trace: None }) else {
                continue;
            };
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            if best.is_none_or(|(s, _)| secs < s) {
                best = Some((secs, report.events));
            }
        }
        if let Some((secs, events)) = best {
            let _ = writeln!(
                out,
                "{name:<24} {events:>7} events in {:>6.1} ms: {:>5.2} M events/s, {:>6.1} runs/s",
                secs * 1e3,
                events as f64 / secs / 1e6,
                1.0 / secs
            );
        }
    }
}
