//! Determinism across processes, for every built-in scenario: the same scenario and seed, run
//! by two separate `kafkasim` processes, print the same trace hash, the same verdicts and
//! write byte-identical traces.
//!
//! One process running a seed twice cannot see what differs between processes: `HashMap`
//! iteration order (its hasher is seeded per process), addresses, the environment. So each
//! run here is its own process, as a user replaying someone's `repro:` line would start it.
//! The two processes of a pair run at the same time, which halves the wait and also shows
//! that runs do not interfere through anything shared.
//!
//! Reference: ../shared/DESIGN.md, "Determinism rules": "a test that runs seeds twice (and in
//! two processes) and compares trace hashes".

use kafkasim_scenarios::catalog;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Three seeds per scenario: the one the README and the golden files use most, and two more.
const SEEDS: [u64; 3] = [1, 7, 1234];

/// A started `kafkasim run <scenario> --seed <seed> --trace <trace> --quiet`.
fn start(scenario: &str, seed: u64, trace: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args([
            "run",
            scenario,
            "--seed",
            &seed.to_string(),
            "--quiet",
            "--trace",
        ])
        .arg(trace)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kafkasim starts")
}

/// What a finished run showed: its exit code, its trace hash and its report (stdout without
/// the line naming the trace file, which differs by design).
struct Run {
    code: Option<i32>,
    hash: Option<String>,
    report: String,
    stderr: String,
}

fn finish(child: Child) -> Run {
    let output = child.wait_with_output().expect("kafkasim runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let hash = stdout
        .lines()
        .find_map(|l| l.strip_prefix("trace hash: "))
        .map(str::to_string);
    let report = stdout
        .lines()
        .filter(|l| !l.starts_with("trace written to "))
        .collect::<Vec<_>>()
        .join("\n");
    Run {
        code: output.status.code(),
        hash,
        report,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The first line where two traces differ (1-based), for a readable failure.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or(a.lines().count().min(b.lines().count()))
        + 1
}

/// Run `scenario` at `seed` in two processes at once; the problems found, if any, and the hash.
fn pair(dir: &Path, scenario: &str, seed: u64) -> (Vec<String>, Option<String>) {
    let traces: [PathBuf; 2] = ["a", "b"].map(|p| dir.join(format!("{scenario}-{seed}-{p}.jsonl")));
    let children = [
        start(scenario, seed, &traces[0]),
        start(scenario, seed, &traces[1]),
    ];
    let [a, b] = children.map(finish);
    let repro = format!("kafkasim run {scenario} --seed {seed}");
    let mut problems = Vec::new();
    for run in [&a, &b] {
        // 0 and 1 are verdicts (a built-in may fail a checker at some seed); 2 is bad input.
        if !matches!(run.code, Some(0 | 1)) || run.hash.is_none() {
            problems.push(format!(
                "{repro}: exit {:?}, no trace hash\n{}\n{}",
                run.code, run.report, run.stderr
            ));
            return (problems, None);
        }
    }
    let hex = |h: &str| h.len() >= 16 && h.chars().all(|c| c.is_ascii_hexdigit());
    if !a.hash.as_deref().is_some_and(hex) {
        problems.push(format!("{repro}: trace hash {:?} is not hex", a.hash));
    }
    if a.hash != b.hash {
        problems.push(format!(
            "{repro}: trace hashes {:?} and {:?}",
            a.hash, b.hash
        ));
    }
    if (a.code, &a.report) != (b.code, &b.report) {
        problems.push(format!(
            "{repro}: reports differ\n--- a (exit {:?})\n{}\n--- b (exit {:?})\n{}",
            a.code, a.report, b.code, b.report
        ));
    }
    let bytes = traces
        .each_ref()
        .map(|t| std::fs::read(t).expect("trace written"));
    if bytes[0].is_empty() {
        problems.push(format!("{repro}: empty trace"));
    } else if bytes[0] != bytes[1] {
        problems.push(format!(
            "{repro}: traces differ from line {}",
            first_difference(&bytes[0], &bytes[1])
        ));
    }
    for t in &traces {
        let _ = std::fs::remove_file(t);
    }
    (problems, a.hash)
}

#[test]
fn every_builtin_scenario_gives_the_same_trace_in_two_processes() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("determinism-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut problems = Vec::new();
    let names = catalog::names();
    assert!(names.len() > 20, "built-in scenarios: {names:?}");
    for name in &names {
        let mut hashes = Vec::new();
        for seed in SEEDS {
            let (found, hash) = pair(&dir, name, seed);
            problems.extend(found);
            hashes.extend(hash);
        }
        // The seed drives the run (and is in the trace's header): three seeds, three hashes.
        hashes.sort();
        hashes.dedup();
        if hashes.len() != SEEDS.len() {
            problems.push(format!("{name}: seeds {SEEDS:?} gave hashes {hashes:?}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        problems.is_empty(),
        "{} problem(s) across {} scenarios x {} seeds:\n{}",
        problems.len(),
        names.len(),
        SEEDS.len(),
        problems.join("\n")
    );
}
