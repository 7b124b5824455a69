//! The CLI's contract with its users: bad input exits with code 2 and a clear message on
//! stderr, never a panic; a good run ends with the trace hash and a repro line.

use std::process::{Command, Output};

fn kafkasim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .output()
        .expect("kafkasim runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn unknown_scenario_lists_the_known_ones() {
    let o = kafkasim(&["run", "no-such-scenario"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.starts_with("error: unknown scenario `no-such-scenario`"),
        "{e}"
    );
    assert!(e.contains("wal-recovery"), "{e}");
}

#[test]
fn missing_file_names_the_path() {
    let o = kafkasim(&["run", "/nonexistent/dir/x.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read /nonexistent/dir/x.toml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn invalid_file_names_file_line_and_field() {
    let dir = std::env::temp_dir().join(format!("kafkasim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "name = \"x\"\nduration_ms = 100\n\n[[brokers]]\n[brokers.config]\nlog.flush.interval.mesages = 1\n").unwrap();
    let o = kafkasim(&["run", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("bad.toml:6:"), "{e}");
    assert!(
        e.contains("brokers[0].config.log.flush.interval.mesages"),
        "{e}"
    );
    assert!(
        e.contains("did you mean `log.flush.interval.messages`"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flag_values_exit_2() {
    let o = kafkasim(&["run", "wal-recovery", "--seed", "notanumber"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid value 'notanumber'"),
        "{}",
        stderr(&o)
    );
    let o = kafkasim(&["run", "wal-recovery", "--trace", "/nonexistent/dir/t.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot create trace file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn list_and_show() {
    let o = kafkasim(&["list"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("wal-recovery"));
    let o = kafkasim(&["show", "wal-recovery"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("[[brokers]]"));
    assert_eq!(kafkasim(&["show", "nope"]).status.code(), Some(2));
}

#[test]
fn a_run_ends_with_hash_and_repro() {
    let o = kafkasim(&["run", "wal-recovery", "--seed", "3", "--quiet"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.last(),
        Some(&"repro: kafkasim run wal-recovery --seed 3")
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("trace hash: ") && l.len() >= "trace hash: ".len() + 16)
    );
}

#[test]
fn a_sweep_lists_every_failing_seed_with_its_repro() {
    let dir = std::env::temp_dir().join(format!("kafkasim-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("no-loss.toml");
    // A healthy single broker, wrongly expected to lose writes: every seed fails.
    let text = kafkasim_scenarios::catalog::find("wal-recovery")
        .unwrap()
        .split("[[faults]]")
        .next()
        .unwrap()
        .to_string()
        + "\n[expect]\nanomalies = [\"lost-write\"]\n";
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    let o = kafkasim(&["sweep", p, "--seeds", "3", "--from", "5"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("0 of 3 seeds met"), "{out}");
    for seed in 5..8 {
        assert!(
            out.contains(&format!(
                "seed {seed}: lost-write — repro: kafkasim run {p} --seed {seed}"
            )),
            "{out}"
        );
    }
    let ok = kafkasim(&["sweep", "wal-recovery", "--seeds", "2"]);
    assert_eq!(ok.status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
