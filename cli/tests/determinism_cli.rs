//! The same scenario and seed, run by two separate `kafkasim` processes, print the same trace
//! hash and write byte-identical traces; another seed gives another hash.

use std::process::Command;

fn run(seed: &str, trace: &std::path::Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(["run", "wal-recovery", "--seed", seed, "--trace"])
        .arg(trace)
        .output()
        .expect("kafkasim runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "kafkasim run failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("trace hash: "))
        .unwrap_or_else(|| panic!("no 'trace hash:' line in\n{stdout}"))
        .to_string()
}

#[test]
fn two_processes_same_seed_same_trace() {
    let dir = std::env::temp_dir().join(format!("kafkasim-determinism-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (a, b, c) = (
        dir.join("a.jsonl"),
        dir.join("b.jsonl"),
        dir.join("c.jsonl"),
    );
    let hash_a = run("7", &a);
    let hash_b = run("7", &b);
    let hash_c = run("8", &c);
    assert!(
        hash_a.len() >= 16 && hash_a.chars().all(|c| c.is_ascii_hexdigit()),
        "{hash_a}"
    );
    assert_eq!(hash_a, hash_b, "same seed, two processes, different hashes");
    assert_ne!(hash_a, hash_c, "seeds 7 and 8 gave the same hash");
    let (bytes_a, bytes_b) = (
        std::fs::read(&a).expect("trace a"),
        std::fs::read(&b).expect("trace b"),
    );
    assert!(!bytes_a.is_empty());
    assert!(
        bytes_a == bytes_b,
        "same seed, two processes, different trace bytes"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
