//! The KRaft metadata quorum under faults: Raft's safety properties, checked on traces.
//!
//! Reference: KIP-595; the Raft paper's Election Safety (at most one leader per epoch) and
//! Log Matching / Leader Completeness (a committed entry is in every later leader's log).

use kafkasim_core::actor::{Actor, ActorConfig, Event};
use kafkasim_core::controller::ControllerConfig;
use kafkasim_core::ids::NodeId;
use kafkasim_core::quorum::{self, QuorumConfig};
use kafkasim_core::time::Instant;
use kafkasim_sim::faults::Fault;
use kafkasim_sim::trace::{TraceKind, TraceMode};
use kafkasim_sim::{World, WorldConfig};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn controllers(seed: u64, n: i32) -> (World<Actor>, Vec<NodeId>) {
    let mut world: World<Actor> = World::new(seed, WorldConfig::default(), TraceMode::Record);
    let voters: BTreeMap<i32, NodeId> = (0..n).map(|i| (100 + i, NodeId(i as u32))).collect();
    let ids: Vec<NodeId> = (0..n)
        .map(|i| {
            let config = ControllerConfig {
                quorum: QuorumConfig::new(100 + i, voters.clone()),
                broker_session_timeout_ms: 9000,
                unclean_leader_election_enable: false,
                topics: Vec::new(),
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
            leaders.entry(*epoch).or_default().insert(e.node.clone());
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

/// One random fault schedule: crashes (either kind), restarts, partitions, heals.
fn schedule() -> impl Strategy<Value = Vec<(u64, u8, u8, u8)>> {
    proptest::collection::vec((0u64..20_000, 0u8..6, 0u8..5, 0u8..5), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Election safety and committed-entry durability under random faults; after healing,
    /// the quorum has one leader again and every live log agrees with it.
    #[test]
    fn raft_safety_under_faults(seed in any::<u64>(), faults in schedule()) {
        let n = 5;
        let (mut world, ids) = controllers(seed, n);
        for (at, kind, a, b) in &faults {
            let (a, b) = (ids[*a as usize % ids.len()], ids[*b as usize % ids.len()]);
            let fault = match kind {
                0 => Fault::ProcessCrash { node: a },
                1 => Fault::PowerLoss { node: a },
                2 | 3 => Fault::Restart { node: a },
                4 => Fault::Partition { from: a, to: b, two_way: true },
                _ => Fault::HealAll,
            };
            world.schedule_fault(Instant::from_millis(*at), fault);
        }
        world.schedule_fault(Instant::from_millis(20_000), Fault::HealAll);
        for id in &ids {
            world.schedule_fault(Instant::from_millis(20_000), Fault::Restart { node: *id });
        }
        world.run_until(Instant::from_millis(40_000));

        for (epoch, leaders) in leaders_by_epoch(&world) {
            prop_assert!(leaders.len() <= 1, "epoch {epoch} had leaders {leaders:?}");
        }
        let leaders = current_leaders(&world, &ids);
        prop_assert_eq!(leaders.len(), 1, "no single leader after healing: {:?}", leaders_by_epoch(&world));
        let leader = world.node(leaders[0]).and_then(Actor::as_controller).unwrap();
        let leader_log = leader.quorum().all_records();
        for id in &ids {
            let c = world.node(*id).and_then(Actor::as_controller).unwrap();
            let hw = c.quorum().high_watermark();
            let log = c.quorum().all_records();
            let committed: Vec<_> = log.iter().filter(|(o, _)| *o < hw).collect();
            let leader_prefix: Vec<_> = leader_log.iter().take(committed.len()).collect();
            prop_assert_eq!(committed, leader_prefix, "{} disagrees with the leader below its high watermark", id);
        }
    }
}
