//! `cargo bench -p kafkasim-sim`: the engine's raw speed, in simulated events per wall second.
//!
//! Target (issue 2): at least 5 million events/s on one core with the trace off. The figure
//! with the trace hashed shows what a normal CLI run pays for its trace.
// Measuring wall time is the point of a benchmark; simulated code never does this.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use kafkasim_sim::bench::ping_pong;
use kafkasim_sim::trace::TraceMode;
use std::time::Instant;

fn measure(label: &str, balls: u32, hits: u64, mode: TraceMode) {
    let mut best = 0.0f64;
    for _ in 0..3 {
        let mut world = ping_pong(1, balls, hits, mode);
        let start = Instant::now();
        world.run_to_quiescence(u64::MAX);
        let secs = start.elapsed().as_secs_f64();
        best = best.max(world.events_processed() as f64 / secs);
    }
    println!("{label:<44} {:>8.2} M events/s", best / 1e6);
}

fn main() {
    println!("kafkasim engine benchmark (ping-pong between two nodes, best of 3)");
    measure("1 ball, trace off", 1, 5_000_000, TraceMode::Off);
    measure("64 balls in flight, trace off", 64, 80_000, TraceMode::Off);
    measure(
        "1 ball, trace hashed (JSON + SHA-256)",
        1,
        200_000,
        TraceMode::Hash,
    );
}
