//! The simulated network: TCP-like connections between every pair of nodes.
//!
//! What a learner should know about TCP to read a Kafka trace, and all this module models:
//! - messages on one connection arrive in the order they were sent (per-link FIFO), each after
//!   a latency drawn from the seeded PRNG (jitter), never overtaking the previous one;
//! - a connection that breaks (a reset, a crashed receiver, a partition) loses what was in
//!   flight, and a later message travels on a *new* connection: a stream never has a hole in
//!   the middle, as TCP guarantees;
//! - a partition drops everything that would cross it, in one direction or both, silently:
//!   nobody is told, and clients notice only through their request timeouts.
//!
//! Every directed link (from → to) has its own random stream derived from the run seed and the
//! two node names, so adding a node never changes the jitter drawn on existing links.

use kafkasim_core::ids::NodeId;
use kafkasim_core::prng::Prng;
use kafkasim_core::time::{Duration, Instant};

/// Latency settings for every link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The smallest one-way latency.
    pub latency_min: Duration,
    /// The largest one-way latency; each message draws uniformly between the two.
    pub latency_max: Duration,
}

impl Default for NetworkConfig {
    /// A local network: 0.5 ms to 1.5 ms one way.
    fn default() -> Self {
        NetworkConfig {
            latency_min: Duration::from_micros(500),
            latency_max: Duration::from_micros(1500),
        }
    }
}

/// One direction of the connection between two nodes.
#[derive(Debug, Default)]
struct Link {
    /// Incarnation of the connection; a message stamped with an older one is dropped.
    connection: u32,
    /// When the latest message sent on the link will arrive (FIFO: none arrives earlier).
    last_arrival: Instant,
    /// Messages are dropped while a partition blocks this direction.
    blocked: bool,
    /// Whether a message was ever sent on this connection (so a reset has someone to notify).
    used: bool,
    /// The link's own jitter stream, created on first use.
    prng: Option<Prng>,
}

/// Where a message goes: a ticket for delivery, or the reason it was dropped at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Deliver at `at` if connection `connection` still exists then.
    Deliver {
        /// Arrival time.
        at: Instant,
        /// The connection the message travels on.
        connection: u32,
    },
    /// A partition blocks the link.
    Partitioned,
}

/// Every link between `n` nodes.
#[derive(Debug)]
pub struct Network {
    config: NetworkConfig,
    seed: u64,
    names: Vec<String>,
    links: Vec<Link>,
}

impl Network {
    /// A network with no nodes yet.
    pub fn new(seed: u64, config: NetworkConfig) -> Self {
        Network {
            config,
            seed,
            names: Vec::new(),
            links: Vec::new(),
        }
    }

    /// The latency settings.
    pub fn config(&self) -> NetworkConfig {
        self.config
    }

    /// Add a node; its links start connected and unblocked.
    pub fn add_node(&mut self, name: &str) {
        let old = self.names.len();
        let new = old + 1;
        let mut links = Vec::with_capacity(new * new);
        let mut old_links = std::mem::take(&mut self.links).into_iter();
        for from in 0..new {
            for to in 0..new {
                if from < old && to < old {
                    links.push(old_links.next().expect("old link"));
                } else {
                    links.push(Link::default());
                }
            }
        }
        self.links = links;
        self.names.push(name.to_string());
    }

    fn link_mut(&mut self, from: NodeId, to: NodeId) -> &mut Link {
        let n = self.names.len();
        &mut self.links[from.index() * n + to.index()]
    }

    fn link(&self, from: NodeId, to: NodeId) -> &Link {
        let n = self.names.len();
        &self.links[from.index() * n + to.index()]
    }

    /// Decide the fate of a message sent now from `from` to `to`.
    pub fn route(&mut self, now: Instant, from: NodeId, to: NodeId) -> Route {
        let (min, max) = (self.config.latency_min, self.config.latency_max);
        let seed = self.seed;
        let n = self.names.len();
        let (from_name, to_name) = (&self.names[from.index()], &self.names[to.index()]);
        let link = &mut self.links[from.index() * n + to.index()];
        if link.blocked {
            return Route::Partitioned;
        }
        let prng = link.prng.get_or_insert_with(|| {
            Prng::derive(seed, &format!("network/{from_name}->{to_name}"), 0)
        });
        let latency = Duration::from_micros(prng.between(min.as_micros(), max.as_micros()));
        let at = (now + latency).max(link.last_arrival);
        link.last_arrival = at;
        link.used = true;
        Route::Deliver {
            at,
            connection: link.connection,
        }
    }

    /// Whether a message stamped with `connection` may still be delivered on `from → to`.
    pub fn is_current(&self, from: NodeId, to: NodeId, connection: u32) -> bool {
        let link = self.link(from, to);
        !link.blocked && link.connection == connection
    }

    /// Break the connection in the direction `from → to`: what is in flight is lost.
    /// Returns whether the connection had carried anything (someone to notify).
    pub fn break_direction(&mut self, from: NodeId, to: NodeId) -> bool {
        let link = self.link_mut(from, to);
        let used = link.used;
        link.connection = link.connection.wrapping_add(1);
        link.used = false;
        used
    }

    /// Reset the connection between `a` and `b` in both directions; returns whether it had
    /// carried anything.
    pub fn reset(&mut self, a: NodeId, b: NodeId) -> bool {
        let x = self.break_direction(a, b);
        let y = self.break_direction(b, a);
        x || y
    }

    /// Block `from → to` (a one-way partition); in-flight messages are lost.
    pub fn block(&mut self, from: NodeId, to: NodeId) {
        self.break_direction(from, to);
        self.link_mut(from, to).blocked = true;
    }

    /// Unblock `from → to`; later messages travel on a new connection.
    pub fn unblock(&mut self, from: NodeId, to: NodeId) {
        self.link_mut(from, to).blocked = false;
    }

    /// Remove every partition.
    pub fn heal_all(&mut self) {
        for link in &mut self.links {
            link.blocked = false;
        }
    }

    /// Whether `from → to` is blocked by a partition.
    pub fn is_blocked(&self, from: NodeId, to: NodeId) -> bool {
        self.link(from, to).blocked
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(n: usize) -> Network {
        let mut net = Network::new(1, NetworkConfig::default());
        for i in 0..n {
            net.add_node(&format!("n{i}"));
        }
        net
    }

    #[test]
    fn one_link_is_fifo_even_with_jitter() {
        let mut net = net(2);
        let mut last = Instant::ZERO;
        for i in 0..1000u64 {
            let Route::Deliver { at, .. } =
                net.route(Instant::from_micros(i * 10), NodeId(0), NodeId(1))
            else {
                panic!("not blocked");
            };
            assert!(at >= last, "message {i} overtook the previous one");
            last = at;
        }
    }

    #[test]
    fn latency_stays_within_bounds() {
        let mut net = net(2);
        let now = Instant::from_millis(10);
        let Route::Deliver { at, .. } = net.route(now, NodeId(1), NodeId(0)) else {
            panic!()
        };
        let latency = at - now;
        assert!(latency >= Duration::from_micros(500) && latency <= Duration::from_micros(1500));
    }

    #[test]
    fn partition_is_directional_and_breaks_in_flight_messages() {
        let mut net = net(2);
        let Route::Deliver { connection, .. } = net.route(Instant::ZERO, NodeId(0), NodeId(1))
        else {
            panic!()
        };
        net.block(NodeId(0), NodeId(1));
        assert!(!net.is_current(NodeId(0), NodeId(1), connection));
        assert_eq!(
            net.route(Instant::ZERO, NodeId(0), NodeId(1)),
            Route::Partitioned
        );
        assert!(matches!(
            net.route(Instant::ZERO, NodeId(1), NodeId(0)),
            Route::Deliver { .. }
        ));
        net.unblock(NodeId(0), NodeId(1));
        let Route::Deliver {
            connection: new, ..
        } = net.route(Instant::ZERO, NodeId(0), NodeId(1))
        else {
            panic!()
        };
        assert_ne!(new, connection, "a healed link uses a new connection");
    }

    #[test]
    fn adding_a_node_keeps_existing_links_and_their_draws() {
        let mut a = net(2);
        let mut b = net(2);
        b.add_node("n2");
        for i in 0..50 {
            let now = Instant::from_micros(i * 5000);
            assert_eq!(
                a.route(now, NodeId(0), NodeId(1)),
                b.route(now, NodeId(0), NodeId(1))
            );
        }
    }
}
