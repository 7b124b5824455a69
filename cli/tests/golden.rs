//! Transcript tests: the full CLI output of built-in scenarios at fixed seeds, compared with
//! the files in `tests/golden/`. A change in the simulation shows up here as a readable diff
//! of the story, not just a different hash.
//!
//! Regenerate with `KAFKASIM_BLESS=1 cargo test -p kafkasim-cli --test golden` — and
//! commit the new transcripts only if you understand what caused the change.

use std::path::PathBuf;
use std::process::Command;

const CASES: &[(&str, u64)] = &[
    ("wal-recovery", 7),
    ("leader-failover", 1),
    ("eager-vs-cooperative", 1),
    ("zombie-consumer", 1),
    ("db-crash-recovery", 1),
    ("standby-promotion", 1),
    ("logical-decoding", 1),
    ("rolling-restart-controlled", 1),
    ("cdc-pipeline", 1),
    ("connector-crash-resume", 1),
    ("retention-consumer-falls-behind", 1),
    ("decoupled-pipelines", 1),
    ("compaction-rebuild", 1),
    ("schema-evolution", 1),
    ("raw-clean-aggregated", 1),
];

#[test]
fn transcripts_match() {
    let bless = std::env::var_os("KAFKASIM_BLESS").is_some();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for (name, seed) in CASES {
        let output = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
            .args(["run", name, "--seed", &seed.to_string()])
            .output()
            .expect("kafkasim runs");
        let actual = String::from_utf8(output.stdout).expect("utf-8 output");
        let path = dir.join(format!("{name}-seed-{seed}.txt"));
        if bless {
            std::fs::write(&path, &actual).expect("write golden file");
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "missing {}; run with KAFKASIM_BLESS=1 to create it",
                path.display()
            )
        });
        if actual != expected {
            let first = actual
                .lines()
                .zip(expected.lines())
                .position(|(a, e)| a != e)
                .unwrap_or(actual.lines().count().min(expected.lines().count()));
            panic!(
                "{name} --seed {seed} differs from {} at line {}:\n  expected: {:?}\n  actual:   {:?}\n(KAFKASIM_BLESS=1 regenerates)",
                path.display(),
                first + 1,
                expected.lines().nth(first),
                actual.lines().nth(first)
            );
        }
    }
}
