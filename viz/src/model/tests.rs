//! The model against real runs of the catalog: what the page will draw, checked natively.

use super::ladder::{self, Cell};
use super::loaded::{Loaded, Source};
use super::marks::MarkerKind;
use super::player::Player;
use kafkasim_core::broker::TruncationCause;
use kafkasim_scenarios::catalog;
use kafkasim_scenarios::harness::{self, RunOptions};

fn load(name: &str, seed: u64, sets: &[&str]) -> Loaded {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Loaded::simulate(&Source::Builtin(name.into()), seed, &sets).unwrap()
}

#[test]
fn the_page_gets_the_clis_trace_hash_and_verdicts() {
    let loaded = load("leader-failover", 1, &[]);
    let text = catalog::find("leader-failover").unwrap();
    let scenario = kafkasim_scenarios::format::parse("builtin:leader-failover", text).unwrap();
    let report = harness::run(
        &scenario,
        RunOptions {
            seed: 1,
            trace: None,
        },
    )
    .unwrap();
    assert_eq!(loaded.hash, report.trace_hash);
    assert_eq!(loaded.verdicts, report.verdicts);
    let timeline: Vec<String> = loaded
        .narration
        .iter()
        .map(|e| format!("{} {}", e.when, e.text))
        .collect();
    assert_eq!(
        timeline, report.timeline,
        "the narration is the CLI's, word for word"
    );
}

#[test]
fn a_saved_trace_opens_with_the_same_hash_and_verdicts() {
    let text = catalog::find("kip-101-hw-truncation").unwrap();
    let scenario = kafkasim_scenarios::format::parse("builtin:x", text).unwrap();
    let buffer = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    struct Sink(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let trace = Some(Box::new(Sink(buffer.clone())) as Box<dyn std::io::Write>);
    let report = harness::run(&scenario, RunOptions { seed: 3, trace }).unwrap();
    let saved = String::from_utf8(buffer.borrow().clone()).unwrap();
    let opened = Loaded::open_trace(&saved).unwrap();
    assert_eq!(opened.hash, report.trace_hash);
    assert_eq!(opened.verdicts, report.verdicts);
    assert!(opened.repro.is_none());
    let broken = Loaded::open_trace("{\"not\": \"a header\"}\n").unwrap_err();
    assert!(broken.contains("line 1"), "{broken}");
}

#[test]
fn knobs_change_the_run_and_bad_ones_are_refused() {
    let plain = load("leader-failover", 1, &[]);
    let acks1 = load("leader-failover", 1, &["acks=1"]);
    assert_ne!(plain.hash, acks1.hash);
    assert_eq!(
        acks1.repro.as_deref(),
        Some("kafkasim run leader-failover --seed 1 --set acks=1")
    );
    let err = Loaded::simulate(
        &Source::Builtin("leader-failover".into()),
        1,
        &["acks=2".into()],
    )
    .unwrap_err();
    assert!(err.contains("acks"), "{err}");
    let err = Loaded::simulate(&Source::Builtin("no-such".into()), 1, &[]).unwrap_err();
    assert!(err.contains("no built-in scenario"), "{err}");
}

#[test]
fn stepping_back_gives_exactly_the_state_seeking_gives() {
    let loaded = load("leader-failover", 1, &[]);
    let mut player = Player::at(&loaded, 0).unwrap();
    for target in [1500usize, 1501, 3000, 4200] {
        player.seek(&loaded, target);
        let mut back = player.clone();
        back.step_back(&loaded);
        let sought = Player::at(&loaded, target - 1).unwrap();
        assert_eq!(back.cursor, target - 1);
        assert_eq!(back.view.to_snapshot(), sought.view.to_snapshot());
        let mut forward = back.clone();
        forward.step_forward(&loaded);
        assert_eq!(forward.view.to_snapshot(), player.view.to_snapshot());
    }
}

#[test]
fn the_crash_is_followed_by_an_election_with_a_higher_epoch() {
    let loaded = load("leader-failover", 1, &[]);
    let fault = loaded
        .markers
        .iter()
        .find(|m| m.kind == MarkerKind::Fault)
        .expect("a fault marker");
    assert_eq!(fault.time.as_millis(), 4000);
    let before = Player::at(&loaded, fault.line - 1).unwrap();
    let old = ladder::ladders(&loaded, &before.view, before.cursor);
    let election = loaded
        .markers
        .iter()
        .find(|m| m.kind == MarkerKind::Election && m.line > fault.line)
        .expect("an election after the crash");
    let after = Player::at(&loaded, election.line).unwrap();
    let new = ladder::ladders(&loaded, &after.view, after.cursor);
    let leader_epoch = |ls: &[ladder::Ladder], p: &str| {
        ls.iter().find(|l| l.partition == p).and_then(|l| {
            l.rows.iter().find_map(|r| {
                r.replica
                    .as_ref()
                    .filter(|x| x.role == kafkasim_core::broker::ReplicaRole::Leader)
                    .map(|x| (r.broker.clone(), x.leader_epoch))
            })
        })
    };
    let partition = election.label.split_whitespace().nth(2).unwrap();
    let (old_leader, old_epoch) = leader_epoch(&old, partition).unwrap();
    let (new_leader, new_epoch) = leader_epoch(&new, partition).unwrap();
    assert_ne!(old_leader, new_leader);
    assert!(new_epoch > old_epoch, "{old_epoch} -> {new_epoch}");
}

#[test]
fn the_kip_101_truncation_is_drawn_with_its_cut_cells() {
    let loaded = load("kip-101-hw-truncation", 1, &[]);
    let cut = loaded
        .truncations
        .iter()
        .find(|t| t.cause == TruncationCause::HighWatermarkOnBecomingFollower)
        .expect("the pre-KIP-101 truncation");
    let at = Player::at(&loaded, cut.line).unwrap();
    let ladders = ladder::ladders(&loaded, &at.view, at.cursor);
    let l = ladders
        .iter()
        .find(|l| l.partition == cut.partition)
        .unwrap();
    let row = l.rows.iter().find(|r| r.broker == cut.node).unwrap();
    assert!(row.truncation.is_some());
    let cut_cells = row
        .cells
        .iter()
        .filter(|c| matches!(c, Cell::Cut { .. }))
        .count();
    assert_eq!(cut_cells as i64, cut.from - cut.to);
}

#[test]
fn an_expected_anomaly_is_located_where_the_trace_proves_it() {
    let loaded = load("unclean-election-loss", 1, &[]);
    let findings = loaded.locate_findings();
    assert!(
        findings
            .iter()
            .any(|f| !kafkasim_scenarios::checkers::find(&f.checker)
                .unwrap()
                .at_end),
        "the scenario shows an anomaly a prefix proves: {findings:?}"
    );
    let last = loaded.lines.len() - 1;
    for f in &findings {
        let at_end = kafkasim_scenarios::checkers::find(&f.checker)
            .unwrap()
            .at_end;
        if at_end {
            assert_eq!(f.line, last, "{} judges the end state", f.checker);
            continue;
        }
        assert!(f.line < last);
        let judged = harness::judge(&loaded.header, &loaded.lines[..=f.line]);
        let v = judged
            .verdicts
            .iter()
            .find(|v| v.checker == f.checker)
            .unwrap();
        assert!(
            v.findings.contains(&f.text),
            "{} proven at its line",
            f.checker
        );
        if f.line > 0 {
            let earlier = harness::judge(&loaded.header, &loaded.lines[..f.line]);
            let v = earlier
                .verdicts
                .iter()
                .find(|v| v.checker == f.checker)
                .unwrap();
            assert!(
                !v.findings.contains(&f.text),
                "{} not proven a line earlier",
                f.checker
            );
        }
    }
}

/// KIP-966 in the ladder: while broker-2 is cut off and broker-1 is back from its power loss
/// (10 s), the partition has no leader, an empty ISR and broker 2 as its only eligible
/// leader replica — what the ladder's head shows, from the controller's metadata.
#[test]
fn the_ladder_shows_the_eligible_leader_replicas_of_a_leaderless_partition() {
    let loaded = load("kip-966-last-replica-standing-fixed", 1, &[]);
    let line = loaded
        .lines
        .iter()
        .rposition(|l| l.time.as_millis() <= 10_000)
        .unwrap();
    let at = Player::at(&loaded, line).unwrap();
    let ladders = ladder::ladders(&loaded, &at.view, at.cursor);
    let m = ladders[0]
        .metadata
        .clone()
        .expect("the controller's metadata");
    assert_eq!(
        (
            m.leader,
            m.isr,
            m.eligible_leader_replicas,
            m.last_known_elr
        ),
        (-1, vec![], vec![2], vec![1])
    );
}

/// Every scenario the page offers loads, and its ladders can be drawn at its start, its
/// middle and its end — the database scenarios, which have no partitions, included.
#[test]
fn every_built_in_scenario_loads_and_draws() {
    for name in catalog::names() {
        let loaded = load(name, 1, &[]);
        assert!(!loaded.lines.is_empty(), "{name}: an empty trace");
        let last = loaded.lines.len() - 1;
        for line in [0, last / 2, last] {
            let player = Player::at(&loaded, line).unwrap_or_else(|| panic!("{name}: no view"));
            let ladders = ladder::ladders(&loaded, &player.view, player.cursor);
            let databases =
                loaded.header.nodes.iter().all(|n| {
                    matches!(n.role, kafkasim_scenarios::trace::NodeRole::Database { .. })
                });
            assert!(
                databases || line == 0 || !ladders.is_empty(),
                "{name}: no partition drawn at line {line}"
            );
        }
    }
}
