//! The heart of the product: same scenario, same seed, same trace — byte for byte.
//! (The two-process version of this test runs the CLI binary, in `cli/tests/`.)

use kafkasim_tests::run_builtin;

#[test]
fn same_seed_gives_the_same_trace_hash_in_one_process() {
    let a = run_builtin("wal-recovery", 7);
    let b = run_builtin("wal-recovery", 7);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.timeline, b.timeline);
    assert_eq!(a.summary, b.summary);
}

#[test]
fn different_seeds_give_different_traces() {
    let hashes: std::collections::BTreeSet<String> = (0..5)
        .map(|seed| run_builtin("wal-recovery", seed).trace_hash)
        .collect();
    assert_eq!(
        hashes.len(),
        5,
        "five seeds, {} distinct hashes",
        hashes.len()
    );
}
