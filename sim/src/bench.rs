//! The engine's benchmark workload: two nodes playing ping-pong.
//!
//! Each delivery of a ball is one event; the receiver immediately sends it back. The measure
//! of the engine's raw speed is events per wall second with the trace off (the wall clock is
//! read by the benchmark harness, never here). Several balls can be in play at once to give the
//! event queue some depth, as a real cluster would.

use crate::trace::TraceMode;
use crate::world::{World, WorldConfig};
use kafkasim_core::ids::NodeId;
use kafkasim_core::node::{Boot, Describe, Input, Never, Node, Out, Vocabulary};
use kafkasim_core::time::Instant;

/// A ball: which one and how many times it has been hit.
#[derive(Clone, Copy, Debug)]
pub struct Ball {
    /// Which ball.
    pub id: u32,
    /// Hits so far.
    pub hits: u64,
}

impl Describe for Ball {
    fn name(&self) -> &'static str {
        "Ball"
    }
    fn summary(&self) -> String {
        format!("ball {} hit {}", self.id, self.hits)
    }
}

/// How a player is set up.
#[derive(Clone, Copy, Debug)]
pub struct PlayerConfig {
    /// The other player.
    pub peer: NodeId,
    /// Balls this player serves when it starts.
    pub serves: u32,
    /// A ball is no longer returned after this many hits.
    pub max_hits: u64,
}

/// One of the two players.
#[derive(Debug)]
pub struct Player {
    config: PlayerConfig,
    returned: u64,
}

impl Vocabulary for Player {
    type Msg = Ball;
    type Timer = ();
    type Command = Never;
    type Reply = Never;
    type Event = Never;
}

impl Node for Player {
    type Config = PlayerConfig;
    type View = u64;

    fn boot(boot: Boot<'_, PlayerConfig>, out: &mut dyn Out<Self>) -> Self {
        for id in 0..boot.config.serves {
            out.send(boot.config.peer, Ball { id, hits: 0 });
        }
        Player {
            config: *boot.config,
            returned: 0,
        }
    }

    fn view(&self) -> u64 {
        self.returned
    }

    fn step(&mut self, _now: Instant, input: Input<Self>, out: &mut dyn Out<Self>) {
        if let Input::Recv { from, msg } = input
            && msg.hits < self.config.max_hits
        {
            self.returned += 1;
            out.send(
                from,
                Ball {
                    id: msg.id,
                    hits: msg.hits + 1,
                },
            );
        }
    }
}

/// Two players ready to play `balls` balls for `max_hits` hits each.
pub fn ping_pong(seed: u64, balls: u32, max_hits: u64, trace: TraceMode) -> World<Player> {
    let mut world = World::new(seed, WorldConfig::default(), trace);
    let a = world.add_node(
        "ping",
        PlayerConfig {
            peer: NodeId(1),
            serves: balls,
            max_hits,
        },
    );
    let b = world.add_node(
        "pong",
        PlayerConfig {
            peer: NodeId(0),
            serves: 0,
            max_hits,
        },
    );
    world.start(b);
    world.start(a);
    world
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hit_is_one_event_and_the_game_ends() {
        let mut world = ping_pong(1, 3, 100, TraceMode::Off);
        assert!(world.run_to_quiescence(10_000));
        assert_eq!(world.events_processed(), 3 * 101);
    }

    #[test]
    fn same_seed_same_hash_other_seed_other_hash() {
        let run = |seed| {
            let mut world = ping_pong(seed, 4, 50, TraceMode::Hash);
            world.run_to_quiescence(10_000);
            world.trace().hash_hex()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
