//! The KRaft metadata quorum under faults: Raft's safety properties, checked on traces.
//!
//! Reference: KIP-595; the Raft paper's Election Safety (at most one leader per epoch) and
//! Log Matching / Leader Completeness (a committed entry is in every later leader's log).
//!
//! The fault schedules come from the nemesis ([`kafkasim_scenarios::nemesis`]; [`quorum_nemesis`]
//! says what may break), in the scenario's vocabulary over node names; [`to_sim`] turns each into
//! the simulator's [`Fault`] for this bare world of controllers. The property runs a fixed,
//! recorded set of cases (see [`kafkasim_tests::property`]): first the `REGRESSIONS` below —
//! `(seed, "schedule")` lines, cases that once failed, replayed exactly — then 200 cases that
//! proptest draws from the recorded seed. `./scripts/explore` runs it on fresh cases and prints any
//! failure as such a line.

use kafkasim_core::actor::{Actor, ActorConfig, Event};
use kafkasim_core::controller::ControllerConfig;
use kafkasim_core::ids::NodeId;
use kafkasim_core::quorum::{self, QuorumConfig};
use kafkasim_core::time::Instant;
use kafkasim_scenarios::model::FaultAction;
use kafkasim_scenarios::nemesis::{
    Choice, FaultKind, HealPhase, NemesisSpec, Timing, Victims, names,
};
use kafkasim_sim::faults::Fault;
use kafkasim_sim::trace::{TraceKind, TraceMode};
use kafkasim_sim::{World, WorldConfig};
use kafkasim_tests::property::{self, Case, Property};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// The five controllers of the property, as [`controllers`] names them.
const VOTERS: [&str; 5] = [
    "controller-100",
    "controller-101",
    "controller-102",
    "controller-103",
    "controller-104",
];

fn controllers(seed: u64, n: i32) -> (World<Actor>, Vec<NodeId>) {
    let mut world: World<Actor> = World::new(seed, WorldConfig::default(), TraceMode::Record);
    let voters: BTreeMap<i32, NodeId> = (0..n).map(|i| (100 + i, NodeId(i as u32))).collect();
    let ids: Vec<NodeId> = (0..n)
        .map(|i| {
            let config = ControllerConfig {
                quorum: QuorumConfig::new(100 + i, voters.clone()),
                ..ControllerConfig::new(100 + i, Vec::new())
            };
            world.add_node(
                &format!("controller-{}", 100 + i),
                ActorConfig::Controller(config),
            )
        })
        .collect();
    for id in &ids {
        world.start(*id);
    }
    (world, ids)
}

fn leaders_by_epoch(world: &World<Actor>) -> BTreeMap<i32, BTreeSet<String>> {
    let mut leaders: BTreeMap<i32, BTreeSet<String>> = BTreeMap::new();
    for e in world.trace().events() {
        if let TraceKind::Node {
            event:
                Event::Quorum(quorum::Event::StateChanged {
                    epoch,
                    role: quorum::QuorumRole::Leader,
                    ..
                }),
        } = &e.kind
        {
            leaders
                .entry(*epoch)
                .or_default()
                .insert(e.node.to_string());
        }
    }
    leaders
}

fn current_leaders(world: &World<Actor>, ids: &[NodeId]) -> Vec<NodeId> {
    ids.iter()
        .copied()
        .filter(|id| {
            world
                .node(*id)
                .and_then(Actor::as_controller)
                .is_some_and(|c| c.quorum().is_leader())
        })
        .collect()
}

#[test]
fn three_controllers_elect_one_leader_and_commit_its_epoch() {
    let (mut world, ids) = controllers(1, 3);
    world.run_until(Instant::from_millis(5000));
    let leaders = current_leaders(&world, &ids);
    assert_eq!(leaders.len(), 1, "{:?}", leaders_by_epoch(&world));
    let leader = world
        .node(leaders[0])
        .and_then(Actor::as_controller)
        .unwrap();
    assert!(
        leader.quorum().high_watermark() > 0,
        "the LeaderChangeMessage was not committed"
    );
    for id in &ids {
        let c = world.node(*id).and_then(Actor::as_controller).unwrap();
        assert_eq!(c.quorum().epoch(), leader.quorum().epoch());
        assert_eq!(
            c.image().quorum_leader,
            leader.image().quorum_leader,
            "{id}"
        );
    }
}

#[test]
fn a_single_controller_leads_alone() {
    let (mut world, ids) = controllers(1, 1);
    world.run_until(Instant::from_millis(3000));
    assert_eq!(current_leaders(&world, &ids), ids);
}

#[test]
fn the_leader_dies_and_another_takes_over() {
    let (mut world, ids) = controllers(2, 3);
    world.run_until(Instant::from_millis(4000));
    let first = current_leaders(&world, &ids)[0];
    let epoch = world
        .node(first)
        .and_then(Actor::as_controller)
        .unwrap()
        .quorum()
        .epoch();
    world.schedule_fault(
        Instant::from_millis(4000),
        Fault::ProcessCrash { node: first },
    );
    world.run_until(Instant::from_millis(10_000));
    let now = current_leaders(&world, &ids);
    assert_eq!(now.len(), 1);
    assert_ne!(now[0], first);
    let new_epoch = world
        .node(now[0])
        .and_then(Actor::as_controller)
        .unwrap()
        .quorum()
        .epoch();
    assert!(new_epoch > epoch);
    // The old leader returns and follows.
    world.schedule_fault(Instant::from_millis(10_000), Fault::Restart { node: first });
    world.run_until(Instant::from_millis(15_000));
    assert_eq!(current_leaders(&world, &ids), now);
    let c = world.node(now[0]).and_then(Actor::as_controller).unwrap();
    let old = world.node(first).and_then(Actor::as_controller).unwrap();
    assert_eq!(old.quorum().leader_id(), c.quorum().leader_id());
    assert_eq!(
        old.quorum().log().log_end_offset(),
        c.quorum().log().log_end_offset()
    );
}

/// Zero to eleven faults in the first 20 s: a controller crashes (kill -9), loses power or
/// restarts (twice as often as either), two controllers are cut off from each other, or every
/// partition heals. At 20 s everything heals and every controller restarts; the run goes on
/// to 40 s, for the quorum to settle.
fn quorum_nemesis() -> NemesisSpec {
    let voters = names(&VOTERS);
    NemesisSpec {
        window_ms: 0..20_000,
        faults: 0..=11,
        timing: Timing::Scattered,
        victims: Victims::AtRandom,
        menu: vec![
            Choice {
                weight: 1,
                kind: FaultKind::ProcessCrash {
                    nodes: voters.clone(),
                },
            },
            Choice {
                weight: 1,
                kind: FaultKind::PowerLoss {
                    nodes: voters.clone(),
                },
            },
            Choice {
                weight: 2,
                kind: FaultKind::Restart {
                    nodes: voters.clone(),
                },
            },
            Choice {
                weight: 1,
                kind: FaultKind::Partition {
                    from: voters.clone(),
                    to: voters.clone(),
                    two_way: true,
                },
            },
            Choice {
                weight: 1,
                kind: FaultKind::Heal,
            },
        ],
        heal: Some(HealPhase {
            at_ms: 20_000,
            restart: voters,
        }),
    }
}

/// The adapter from the nemesis's vocabulary (node names, as in a scenario) to the simulator's
/// (node ids), for a world built without a scenario.
fn to_sim(world: &World<Actor>, action: &FaultAction) -> Fault {
    let id = |name: &str| {
        world
            .node_id(name)
            .unwrap_or_else(|| panic!("no node {name}"))
    };
    match action {
        FaultAction::ProcessCrash { node } => Fault::ProcessCrash { node: id(node) },
        FaultAction::PowerLoss { node } => Fault::PowerLoss { node: id(node) },
        FaultAction::Shutdown { node } => Fault::Shutdown { node: id(node) },
        FaultAction::Restart { node } => Fault::Restart { node: id(node) },
        FaultAction::Partition { from, to, two_way } => Fault::Partition {
            from: id(from),
            to: id(to),
            two_way: *two_way,
        },
        FaultAction::Heal => Fault::HealAll,
        FaultAction::ResetConnection { a, b } => Fault::ResetConnection { a: id(a), b: id(b) },
        FaultAction::PowerLossAll => Fault::PowerLossAll,
        FaultAction::StallPoll { .. }
        | FaultAction::Close { .. }
        | FaultAction::SeekToBeginning { .. }
        | FaultAction::RestartTask { .. }
        | FaultAction::Promote { .. }
        | FaultAction::SetCompatibility { .. } => {
            panic!("{action:?} acts on an application or operator tool; a quorum has none")
        }
    }
}

/// Cases of [`raft_safety_under_faults`] that once failed (two found by the first version of
/// the property, when proptest kept its own failure file).
const REGRESSIONS: &[(u64, &str)] = &[
    (
        5848964770363551212,
        "1277 partition controller-101 <-> controller-100; 20000 heal; \
         20000 restart controller-100; 20000 restart controller-101; \
         20000 restart controller-102; 20000 restart controller-103; 20000 restart controller-104",
    ),
    (
        3704816850545143998,
        "1224 process-crash controller-102; 17290 partition controller-100 <-> controller-101; \
         20000 heal; 20000 restart controller-100; 20000 restart controller-101; \
         20000 restart controller-102; 20000 restart controller-103; 20000 restart controller-104",
    ),
];

/// Election safety and committed-entry durability under random faults; after healing,
/// the quorum has one leader again and every live log agrees with it.
#[test]
fn raft_safety_under_faults() {
    let property = Property {
        file: file!(),
        name: "raft_safety_under_faults",
        cases: 200,
    };
    let regressions = property::regressions(REGRESSIONS);
    property::check(
        property,
        property::cases(&quorum_nemesis()),
        &regressions,
        |case| {
            let Case { seed, faults } = case;
            let n = 5;
            let (mut world, ids) = controllers(*seed, n);
            for fault in faults {
                let sim_fault = to_sim(&world, &fault.action);
                world.schedule_fault(Instant::from_millis(fault.at_ms), sim_fault);
            }
            world.run_until(Instant::from_millis(40_000));

            for (epoch, leaders) in leaders_by_epoch(&world) {
                prop_assert!(leaders.len() <= 1, "epoch {epoch} had leaders {leaders:?}");
            }
            let leaders = current_leaders(&world, &ids);
            prop_assert_eq!(
                leaders.len(),
                1,
                "no single leader after healing: {:?}",
                leaders_by_epoch(&world)
            );
            let leader = world
                .node(leaders[0])
                .and_then(Actor::as_controller)
                .unwrap();
            let leader_log = leader.quorum().all_records();
            for id in &ids {
                let c = world.node(*id).and_then(Actor::as_controller).unwrap();
                let hw = c.quorum().high_watermark();
                let log = c.quorum().all_records();
                let committed: Vec<_> = log.iter().filter(|(o, _)| *o < hw).collect();
                let leader_prefix: Vec<_> = leader_log.iter().take(committed.len()).collect();
                prop_assert_eq!(
                    committed,
                    leader_prefix,
                    "{} disagrees with the leader below its high watermark",
                    id
                );
            }
            Ok(())
        },
    );
}
