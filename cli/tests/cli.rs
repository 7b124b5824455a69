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

fn hash_line(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find(|l| l.starts_with("trace hash: "))
        .expect("a trace hash line")
        .to_string()
}

#[test]
fn set_overrides_a_property_and_the_repro_line_carries_it() {
    let plain = kafkasim(&["run", "leader-failover", "--quiet"]);
    let set = kafkasim(&["run", "leader-failover", "--quiet", "--set", "acks=1"]);
    assert_ne!(hash_line(&plain), hash_line(&set), "acks=1 is another run");
    let out = String::from_utf8_lossy(&set.stdout);
    assert_eq!(
        out.lines().last(),
        Some("repro: kafkasim run leader-failover --seed 1 --set acks=1")
    );
    let again = kafkasim(&["run", "leader-failover", "--quiet", "--set", "acks=1"]);
    assert_eq!(hash_line(&set), hash_line(&again));
    for (bad, says) in [
        ("acks=2", "expected 0, 1 or all"),
        ("min.insync.replica=2", "did you mean `min.insync.replicas`"),
        ("acks", "is not name=value"),
    ] {
        let o = kafkasim(&["run", "leader-failover", "--set", bad]);
        assert_eq!(o.status.code(), Some(2), "--set {bad}");
        assert!(stderr(&o).contains(says), "--set {bad}: {}", stderr(&o));
    }
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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A scratch directory of this test process.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kafkasim-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `== checkers` block of a report, and its verdict line.
fn verdicts(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| *l != "== checkers")
        .take_while(|l| !l.starts_with("trace hash"))
        .filter(|l| !l.is_empty() && !l.starts_with("events:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn check_judges_a_saved_trace_as_the_run_did() {
    let dir = scratch("check");
    let trace = dir.join("t.jsonl");
    let t = trace.to_str().unwrap();
    let run = kafkasim(&["run", "leader-failover", "--seed", "1", "--trace", t]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let check = kafkasim(&["check", t]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let (run, check) = (stdout(&run), stdout(&check));
    assert!(!verdicts(&run).is_empty());
    assert_eq!(verdicts(&check), verdicts(&run));
    let hash = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("trace hash:"))
            .map(str::to_string)
    };
    assert_eq!(
        hash(&check),
        hash(&run),
        "the file is the run's whole trace"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_trace_is_refused_with_its_line() {
    let dir = scratch("damaged");
    let trace = dir.join("t.jsonl");
    let t = trace.to_str().unwrap();
    let run = kafkasim(&[
        "run",
        "wal-recovery",
        "--seed",
        "7",
        "--trace",
        t,
        "--quiet",
    ]);
    assert_eq!(run.status.code(), Some(0));
    let text = std::fs::read_to_string(&trace).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "{\"time\":1,\"seq\":2,\"node\":\"x\",\"kind\":\"no_such_kind\"}";
    std::fs::write(&trace, lines.join("\n")).unwrap();
    let o = kafkasim(&["check", t]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("t.jsonl: line 4:"), "{}", stderr(&o));
    std::fs::write(&trace, "not json\n").unwrap();
    let o = kafkasim(&["check", t]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("line 1: not a kafkasim trace header"),
        "{}",
        stderr(&o)
    );
    let o = kafkasim(&["check", "/nonexistent/t.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read /nonexistent/t.jsonl"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn at_prints_every_replica_at_that_moment() {
    let o = kafkasim(&["run", "leader-failover", "--seed", "1", "--at", "6s"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("== the world at 6.000s"), "{out}");
    // broker-1 led orders-0 and lost power at 4 s; at 6 s the controller has not fenced it.
    assert!(out.contains("broker-1 powered off"), "{out}");
    assert!(
        out.contains("orders-0: no leader up: the followers follow broker 1"),
        "{out}"
    );
    for replica in [
        "broker-2   follower",
        "broker-3   follower",
        "broker-2   leader",
    ] {
        assert!(out.contains(replica), "{replica} in {out}");
    }
    assert!(
        out.contains("LEO ") && out.contains("HW ") && out.contains("ISR ["),
        "{out}"
    );
    assert!(out.contains("repro: kafkasim run leader-failover --seed 1 --at 6.000s"));
    // The same moment from the saved trace.
    let dir = scratch("at");
    let trace = dir.join("t.jsonl");
    let t = trace.to_str().unwrap();
    kafkasim(&[
        "run",
        "leader-failover",
        "--seed",
        "1",
        "--trace",
        t,
        "--quiet",
    ]);
    let from_file = stdout(&kafkasim(&["check", t, "--at", "6s"]));
    let moment = |s: &str| {
        s[s.find("== the world").unwrap()..]
            .lines()
            .take_while(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(moment(&from_file), moment(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn at_refuses_a_moment_it_cannot_read_or_after_the_run() {
    let o = kafkasim(&["run", "leader-failover", "--at", "6"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("write it with a unit, e.g. 6s"),
        "{}",
        stderr(&o)
    );
    let o = kafkasim(&["run", "leader-failover", "--at", "999s"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("after the end of the run"),
        "{}",
        stderr(&o)
    );
}
