//! Determinism of the engine itself, over random workloads: property tests over seeds.

use kafkasim_sim::bench::ping_pong;
use kafkasim_sim::trace::TraceMode;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any seed, any number of balls: two runs give the same hash and the same event count.
    #[test]
    fn same_seed_same_trace(seed in any::<u64>(), balls in 1u32..8, hits in 1u64..200) {
        let run = || {
            let mut world = ping_pong(seed, balls, hits, TraceMode::Hash);
            world.run_to_quiescence(1_000_000);
            (world.trace().hash_hex(), world.events_processed())
        };
        prop_assert_eq!(run(), run());
    }
}
