//! The nemesis: one seeded generator of fault schedules.
//!
//! Jepsen calls the part of a test that breaks things the *nemesis*: while clients write and
//! read, it kills processes, cuts the network and pulls power plugs, and afterwards a checker
//! reads the history to see whether any promise was broken. TigerBeetle's simulator (the
//! VOPR) adds a second half that this module keeps: after a *safety phase* full of faults
//! comes a *heal phase* — every partition removed, every node restarted — so that a test can
//! also judge *liveness*: did the cluster recover and finish the work?
//!
//! A [`NemesisSpec`] says what may be broken: which nodes may crash or lose power, which
//! links may be partitioned or reset, which consumer applications may stall or close, each
//! with a weight; in which time window; how many faults; and which nodes the heal phase
//! restarts. From a spec there are two ways to get a schedule, and both give the same kind
//! of schedule because they share one interpretation step:
//!
//! ```text
//!   seed ──► schedule():  draws from a Prng ──┐
//!                                              ├──► decode(spec, draws) ──► Vec<ScheduledFault>
//!   proptest ──► strategy(): draws it shrinks ─┘
//! ```
//!
//! A [`FaultDraw`] is a handful of raw numbers (when, which kind, which victim, which peer,
//! how long), each read as a fraction of its range; [`decode`] turns them into faults over
//! the spec's named nodes. [`schedule`] takes the numbers from the project's own
//! [`Prng`] (stream `"nemesis"` of the seed), so the CLI and the browser can draw schedules
//! without proptest and a seed names a schedule everywhere. `strategy` (cargo feature
//! `proptest`) takes them from proptest, which can then *shrink* a failing schedule: fewer
//! faults, earlier, of the first kinds on the menu, on the first nodes of each list.
//!
//! The output is the scenario's own vocabulary ([`ScheduledFault`] over node names), so a
//! schedule can be added to a [`Scenario`](crate::model::Scenario)'s `faults` as it is.
//! [`format_schedule`] writes one on a line (`2300 process-crash broker-1; 15000 heal`) and
//! [`parse_schedule`] reads it back, so a failing schedule can be printed, pasted into a test
//! as a regression case and replayed.

use crate::model::{FaultAction, ScheduledFault};
use kafkasim_core::prng::Prng;
use std::collections::BTreeSet;
use std::ops::{Range, RangeInclusive};

/// The PRNG stream [`schedule`] draws from: the seed's `("nemesis", 0)` stream, independent of
/// the streams the simulation itself derives from the same seed (network, disks, nodes).
pub const STREAM: &str = "nemesis";

/// What may be broken, when, and how much: the input of the generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisSpec {
    /// The safety phase: every fault happens at or after `start` and before `end`
    /// (simulated milliseconds).
    pub window_ms: Range<u64>,
    /// How many faults a schedule has (drawn uniformly in this range). A [`FaultKind::Bounce`]
    /// counts once, though it is two entries (the crash and the restart).
    pub faults: RangeInclusive<usize>,
    /// How the faults are spread over the window.
    pub timing: Timing,
    /// How each fault's victim is picked from its kind's list of nodes.
    pub victims: Victims,
    /// What may happen, each kind with its weight: a kind of weight 4 is drawn twice as often
    /// as one of weight 2. A kind that is not on the menu never happens.
    pub menu: Vec<Choice>,
    /// The heal phase after the window, if any.
    pub heal: Option<HealPhase>,
}

/// How fault times are laid out over the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timing {
    /// Each fault at its own uniformly drawn time in the window, in any order: faults overlap
    /// freely (a crash during a partition during another crash). Jepsen's random nemesis.
    Scattered,
    /// One fault after another: the first at the window's start, each next one a pause after
    /// the previous one *ended* (a bounce ends at its restart, a stalled poll loop when it
    /// resumes). Faults that would start after the window are not drawn. Kafka's
    /// fast-leader-change test: kill one broker, restart it, pause, kill the other, ...
    Sequential {
        /// The pause between the end of one fault and the start of the next.
        pause_ms: RangeInclusive<u64>,
    },
}

/// How a fault's victim is picked from the nodes its kind lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Victims {
    /// Uniformly at random.
    AtRandom,
    /// In turn: the `i`-th fault of the schedule hits node `i mod n` of its list, so with two
    /// brokers the victims alternate (for a partition or a reset, this picks the first end).
    InTurn,
}

/// One kind of fault on the menu, with its weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// Relative frequency; must be at least 1.
    pub weight: u32,
    /// The kind of fault and the nodes it may hit.
    pub kind: FaultKind,
}

/// A kind of fault and the nodes it may hit: a template that [`decode`] fills in. The names
/// are the scenario file's (`process-crash`, `partition`, ...); see [`FaultAction`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// `process-crash` (kill -9) of one of `nodes`: the page cache survives.
    ProcessCrash {
        /// The nodes that may crash.
        nodes: Vec<String>,
    },
    /// `power-loss` of one of `nodes`: only fsynced bytes survive.
    PowerLoss {
        /// The nodes whose machine may lose power.
        nodes: Vec<String>,
    },
    /// `power-loss-all`: every server at once.
    PowerLossAll,
    /// `restart` of one of `nodes` (nothing happens if it is running).
    Restart {
        /// The nodes that may be restarted.
        nodes: Vec<String>,
    },
    /// `partition` between a node of `from` and a different node of `to`.
    Partition {
        /// The first end (the victim).
        from: Vec<String>,
        /// The other end, never the same node as the first.
        to: Vec<String>,
        /// Both directions, or only messages from the first end to the other.
        two_way: bool,
    },
    /// `reset-connection` between a node of `a` and a different node of `b`.
    ResetConnection {
        /// The first end (the victim).
        a: Vec<String>,
        /// The other end, never the same node as the first.
        b: Vec<String>,
    },
    /// `heal`: remove every partition, in the middle of the safety phase.
    Heal,
    /// `stall-poll`: one of `consumers` stops calling `poll()` for a while.
    StallPoll {
        /// The consumer applications that may stall.
        consumers: Vec<String>,
        /// How long the poll loop stalls.
        duration_ms: RangeInclusive<u64>,
    },
    /// `close`: one of `consumers` closes (commits, leaves its group, stops).
    Close {
        /// The consumer applications that may close.
        consumers: Vec<String>,
    },
    /// A `process-crash` of one of `nodes` and, `down_ms` later (at the latest at the end of
    /// the window), its `restart`: a bounce, as an operator's rolling restart or a crash loop.
    Bounce {
        /// The nodes that may bounce.
        nodes: Vec<String>,
        /// How long the node stays down.
        down_ms: RangeInclusive<u64>,
    },
    /// A `shutdown` (SIGTERM) of one of `nodes` and, `down_ms` after it was asked, its
    /// `restart`: an operator's rolling restart, as clean as the node's shutdown is.
    CleanBounce {
        /// The nodes that may be restarted cleanly.
        nodes: Vec<String>,
        /// How long after SIGTERM the node is started again (a restart of a node still
        /// shutting down does nothing).
        down_ms: RangeInclusive<u64>,
    },
    /// A `power-loss` of several of `nodes` at the same moment — machines that share a rack
    /// or a power supply — and, `down_ms` later, their `restart`s: a correlated power cycle.
    /// The victims are the drawn one and the next ones in `nodes`' order.
    PowerCycle {
        /// The nodes that may lose power.
        nodes: Vec<String>,
        /// How many lose power together (at most the number of nodes).
        together: RangeInclusive<u64>,
        /// How long they stay down.
        down_ms: RangeInclusive<u64>,
    },
}

/// The phase after the window: every partition removed, then `restart` started again, all at
/// `at_ms`, so the rest of the run shows whether the cluster recovers (liveness).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealPhase {
    /// When; at or after the end of the window.
    pub at_ms: u64,
    /// The nodes restarted (a restart of a running node does nothing).
    pub restart: Vec<String>,
}

/// One fault before it has a meaning: raw numbers, each read as a fraction `x / 2^32` of the
/// range it chooses in. Small numbers mean early, the first kind on the menu, the first node
/// of a list, the shortest duration: that is the direction proptest shrinks in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultDraw {
    /// When: in the window ([`Timing::Scattered`]) or the pause before it
    /// ([`Timing::Sequential`], unused for the first fault).
    pub time: u32,
    /// Which kind of fault, by weight.
    pub choice: u32,
    /// Which node of the kind's list ([`Victims::AtRandom`]).
    pub victim: u32,
    /// Which node at the other end of a partition or a reset.
    pub peer: u32,
    /// How long a stall or a bounce lasts.
    pub extent: u32,
}

/// `names(&["broker-1", "broker-2"])`: a node list for a spec.
pub fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| n.to_string()).collect()
}

impl NemesisSpec {
    /// Every node name the spec may put in a schedule (heal phase included).
    pub fn node_names(&self) -> BTreeSet<&str> {
        let mut all = BTreeSet::new();
        for choice in &self.menu {
            for list in choice.kind.node_lists() {
                all.extend(list.iter().map(String::as_str));
            }
        }
        if let Some(heal) = &self.heal {
            all.extend(heal.restart.iter().map(String::as_str));
        }
        all
    }

    /// Whether the spec can be drawn from; the error says what is wrong. [`schedule`] and
    /// `strategy` panic on an invalid spec, so a spec a user wrote is checked here first.
    pub fn validate(&self) -> Result<(), String> {
        if self.window_ms.is_empty() {
            return Err(format!("the window {:?} ms is empty", self.window_ms));
        }
        if self.faults.is_empty() {
            return Err(format!("the fault count range {:?} is empty", self.faults));
        }
        if let Timing::Sequential { pause_ms } = &self.timing
            && pause_ms.is_empty()
        {
            return Err(format!("the pause range {pause_ms:?} ms is empty"));
        }
        if *self.faults.end() > 0 && self.menu.is_empty() {
            return Err("the menu is empty but faults are asked for".into());
        }
        for choice in &self.menu {
            let kind = choice.kind.name();
            if choice.weight == 0 {
                return Err(format!(
                    "`{kind}` has weight 0: leave it off the menu instead"
                ));
            }
            if choice.kind.node_lists().iter().any(|list| list.is_empty()) {
                return Err(format!("`{kind}` has an empty node list"));
            }
            let (from, to) = match &choice.kind {
                FaultKind::Partition { from, to, .. } => (from, to),
                FaultKind::ResetConnection { a, b } => (a, b),
                _ => (&Vec::new(), &Vec::new()),
            };
            if let Some(lonely) = from.iter().find(|f| to.iter().all(|t| t == *f)) {
                return Err(format!(
                    "`{kind}` from `{lonely}` has no other node to reach"
                ));
            }
            let range = match &choice.kind {
                FaultKind::StallPoll { duration_ms, .. } => Some(duration_ms),
                FaultKind::Bounce { down_ms, .. }
                | FaultKind::CleanBounce { down_ms, .. }
                | FaultKind::PowerCycle { down_ms, .. } => Some(down_ms),
                _ => None,
            };
            if let FaultKind::PowerCycle {
                nodes, together, ..
            } = &choice.kind
                && (together.is_empty()
                    || *together.start() == 0
                    || *together.end() > nodes.len() as u64)
            {
                return Err(format!(
                    "`{kind}` together {together:?} must lie within 1..={}",
                    nodes.len()
                ));
            }
            if let Some(range) = range
                && range.is_empty()
            {
                return Err(format!("`{kind}` has an empty duration range {range:?} ms"));
            }
        }
        if let Some(heal) = &self.heal
            && heal.at_ms < self.window_ms.end
        {
            return Err(format!(
                "the heal phase at {} ms is inside the window {:?} ms",
                heal.at_ms, self.window_ms
            ));
        }
        Ok(())
    }

    fn total_weight(&self) -> u64 {
        self.menu.iter().map(|c| u64::from(c.weight)).sum()
    }
}

impl FaultKind {
    /// The scenario file's name of the kind (`bounce` is this module's own).
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::ProcessCrash { .. } => "process-crash",
            FaultKind::PowerLoss { .. } => "power-loss",
            FaultKind::PowerLossAll => "power-loss-all",
            FaultKind::Restart { .. } => "restart",
            FaultKind::Partition { .. } => "partition",
            FaultKind::ResetConnection { .. } => "reset-connection",
            FaultKind::Heal => "heal",
            FaultKind::StallPoll { .. } => "stall-poll",
            FaultKind::Close { .. } => "close",
            FaultKind::Bounce { .. } => "bounce",
            FaultKind::CleanBounce { .. } => "clean-bounce",
            FaultKind::PowerCycle { .. } => "power-cycle",
        }
    }

    fn node_lists(&self) -> Vec<&Vec<String>> {
        match self {
            FaultKind::ProcessCrash { nodes }
            | FaultKind::PowerLoss { nodes }
            | FaultKind::Restart { nodes }
            | FaultKind::Bounce { nodes, .. }
            | FaultKind::CleanBounce { nodes, .. }
            | FaultKind::PowerCycle { nodes, .. } => vec![nodes],
            FaultKind::StallPoll { consumers, .. } | FaultKind::Close { consumers } => {
                vec![consumers]
            }
            FaultKind::Partition { from, to, .. } => vec![from, to],
            FaultKind::ResetConnection { a, b } => vec![a, b],
            FaultKind::PowerLossAll | FaultKind::Heal => Vec::new(),
        }
    }
}

/// `fraction / 2^32` of `n`: a number in `0..n` (0 when `n` is 0). Multiplying instead of
/// taking a remainder keeps the order: a smaller draw never gives a larger result, which is
/// what lets proptest's shrinking of draws shrink the schedule.
fn scale(fraction: u32, n: u64) -> u64 {
    ((u128::from(fraction) * u128::from(n)) >> 32) as u64
}

/// A value in the inclusive range, chosen by `fraction`.
fn within(fraction: u32, range: &RangeInclusive<u64>) -> u64 {
    let width = range.end() - range.start() + 1;
    range.start() + scale(fraction, width)
}

/// Turn raw draws into a schedule over the spec's nodes, sorted by time, the heal phase last.
/// This is the whole meaning of a schedule; [`schedule`] and `strategy` only differ in
/// where the draws come from. Panics if the spec is invalid ([`NemesisSpec::validate`]).
pub fn decode(spec: &NemesisSpec, draws: &[FaultDraw]) -> Vec<ScheduledFault> {
    if let Err(e) = spec.validate() {
        panic!("invalid nemesis spec: {e}");
    }
    let window = &spec.window_ms;
    let last_ms = window.end - 1;
    let total_weight = spec.total_weight();
    let mut faults = Vec::new();
    // Where the previous fault ended (only `Timing::Sequential` looks at it).
    let mut previous_end_ms = window.start;
    for (i, draw) in draws.iter().enumerate() {
        let at_ms = match &spec.timing {
            Timing::Scattered => window.start + scale(draw.time, window.end - window.start),
            Timing::Sequential { .. } if i == 0 => window.start,
            Timing::Sequential { pause_ms } => previous_end_ms + within(draw.time, pause_ms),
        };
        if at_ms > last_ms {
            break; // sequential faults have filled the window
        }
        let mut pick = scale(draw.choice, total_weight);
        let kind = &spec
            .menu
            .iter()
            .find(|c| {
                let hit = pick < u64::from(c.weight);
                pick = pick.saturating_sub(u64::from(c.weight));
                hit
            })
            .expect("a pick below the total weight falls on a choice")
            .kind;
        let victim = |list: &[String]| -> String {
            let index = match spec.victims {
                Victims::AtRandom => scale(draw.victim, list.len() as u64) as usize,
                Victims::InTurn => i % list.len(),
            };
            list[index].clone()
        };
        let peer = |list: &[String], victim: &str| -> String {
            let others: Vec<&String> = list.iter().filter(|n| *n != victim).collect();
            others[scale(draw.peer, others.len() as u64) as usize].clone()
        };
        let mut end_ms = at_ms;
        let mut push = |at_ms: u64, action: FaultAction| {
            faults.push(ScheduledFault { at_ms, action });
        };
        match kind {
            FaultKind::ProcessCrash { nodes } => push(
                at_ms,
                FaultAction::ProcessCrash {
                    node: victim(nodes),
                },
            ),
            FaultKind::PowerLoss { nodes } => push(
                at_ms,
                FaultAction::PowerLoss {
                    node: victim(nodes),
                },
            ),
            FaultKind::PowerLossAll => push(at_ms, FaultAction::PowerLossAll),
            FaultKind::Restart { nodes } => push(
                at_ms,
                FaultAction::Restart {
                    node: victim(nodes),
                },
            ),
            FaultKind::Partition { from, to, two_way } => {
                let from = victim(from);
                let to = peer(to, &from);
                let two_way = *two_way;
                push(at_ms, FaultAction::Partition { from, to, two_way });
            }
            FaultKind::ResetConnection { a, b } => {
                let a = victim(a);
                let b = peer(b, &a);
                push(at_ms, FaultAction::ResetConnection { a, b });
            }
            FaultKind::Heal => push(at_ms, FaultAction::Heal),
            FaultKind::StallPoll {
                consumers,
                duration_ms,
            } => {
                let duration_ms = within(draw.extent, duration_ms);
                let node = victim(consumers);
                push(at_ms, FaultAction::StallPoll { node, duration_ms });
                end_ms = at_ms + duration_ms;
            }
            FaultKind::Close { consumers } => push(
                at_ms,
                FaultAction::Close {
                    node: victim(consumers),
                },
            ),
            FaultKind::Bounce { nodes, down_ms } => {
                let node = victim(nodes);
                let up_ms = (at_ms + within(draw.extent, down_ms)).min(last_ms);
                push(at_ms, FaultAction::ProcessCrash { node: node.clone() });
                push(up_ms, FaultAction::Restart { node });
                end_ms = up_ms;
            }
            FaultKind::CleanBounce { nodes, down_ms } => {
                let node = victim(nodes);
                let up_ms = (at_ms + within(draw.extent, down_ms)).min(last_ms);
                push(at_ms, FaultAction::Shutdown { node: node.clone() });
                push(up_ms, FaultAction::Restart { node });
                end_ms = up_ms;
            }
            FaultKind::PowerCycle {
                nodes,
                together,
                down_ms,
            } => {
                let first = nodes.iter().position(|n| *n == victim(nodes)).unwrap_or(0);
                let count = within(draw.peer, together) as usize;
                let up_ms = (at_ms + within(draw.extent, down_ms)).min(last_ms);
                for k in 0..count {
                    let node = nodes[(first + k) % nodes.len()].clone();
                    push(at_ms, FaultAction::PowerLoss { node: node.clone() });
                    push(up_ms, FaultAction::Restart { node });
                }
                end_ms = up_ms;
            }
        }
        previous_end_ms = end_ms;
    }
    // Stable: faults drawn at the same millisecond keep the order they were drawn in.
    faults.sort_by_key(|f| f.at_ms);
    if let Some(heal) = &spec.heal {
        faults.push(ScheduledFault {
            at_ms: heal.at_ms,
            action: FaultAction::Heal,
        });
        for node in &heal.restart {
            faults.push(ScheduledFault {
                at_ms: heal.at_ms,
                action: FaultAction::Restart { node: node.clone() },
            });
        }
    }
    faults
}

/// The raw draws of the schedule named by `seed`: a fault count, then five numbers per fault,
/// all from the seed's [`STREAM`].
pub fn draws(spec: &NemesisSpec, seed: u64) -> Vec<FaultDraw> {
    let mut prng = Prng::derive(seed, STREAM, 0);
    let (min, max) = (*spec.faults.start() as u64, *spec.faults.end() as u64);
    let count = prng.between(min, max);
    let mut fraction = || (prng.next_u64() >> 32) as u32;
    (0..count)
        .map(|_| FaultDraw {
            time: fraction(),
            choice: fraction(),
            victim: fraction(),
            peer: fraction(),
            extent: fraction(),
        })
        .collect()
}

/// The schedule named by `seed`: a pure function of the spec and the seed, the same on every
/// platform (wasm included). Panics if the spec is invalid ([`NemesisSpec::validate`]).
pub fn schedule(spec: &NemesisSpec, seed: u64) -> Vec<ScheduledFault> {
    decode(spec, &draws(spec, seed))
}

/// The same schedules as [`schedule`] (the same fault counts, kinds, weights, nodes and
/// times), drawn by proptest so that it can shrink a failing one. Panics if the spec is
/// invalid ([`NemesisSpec::validate`]).
#[cfg(feature = "proptest")]
pub fn strategy(
    spec: &NemesisSpec,
) -> impl proptest::strategy::Strategy<Value = Vec<ScheduledFault>> + use<> {
    use proptest::prelude::*;
    if let Err(e) = spec.validate() {
        panic!("invalid nemesis spec: {e}");
    }
    let spec = spec.clone();
    let draw =
        any::<(u32, u32, u32, u32, u32)>().prop_map(|(time, choice, victim, peer, extent)| {
            FaultDraw {
                time,
                choice,
                victim,
                peer,
                extent,
            }
        });
    proptest::collection::vec(draw, spec.faults.clone())
        .prop_map(move |draws| decode(&spec, &draws))
}

/// A schedule on one line, faults separated by `; `, each `<at_ms> <action> <arguments>` with
/// the scenario file's action names: `2300 process-crash broker-1`, `4100 partition broker-1
/// -> controller-1` (one way), `4100 partition broker-1 <-> broker-2` (both ways),
/// `5000 reset-connection broker-1 broker-2`, `6000 stall-poll consumer-1 4000` (for 4000 ms),
/// `7000 close consumer-2`, `8000 power-loss broker-3`, `9000 power-loss-all`,
/// `12000 shutdown broker-2`,
/// `15000 heal`, `15000 restart broker-1`. [`parse_schedule`] reads it back.
pub fn format_schedule(faults: &[ScheduledFault]) -> String {
    let line = |f: &ScheduledFault| {
        let what = match &f.action {
            FaultAction::ProcessCrash { node } => format!("process-crash {node}"),
            FaultAction::PowerLoss { node } => format!("power-loss {node}"),
            FaultAction::PowerLossAll => "power-loss-all".to_string(),
            FaultAction::Shutdown { node } => format!("shutdown {node}"),
            FaultAction::Restart { node } => format!("restart {node}"),
            FaultAction::Partition { from, to, two_way } => {
                let arrow = if *two_way { "<->" } else { "->" };
                format!("partition {from} {arrow} {to}")
            }
            FaultAction::Heal => "heal".to_string(),
            FaultAction::ResetConnection { a, b } => format!("reset-connection {a} {b}"),
            FaultAction::StallPoll { node, duration_ms } => {
                format!("stall-poll {node} {duration_ms}")
            }
            FaultAction::Close { node } => format!("close {node}"),
            FaultAction::SeekToBeginning { node } => format!("seek-to-beginning {node}"),
            FaultAction::RestartTask { node } => format!("restart-task {node}"),
            FaultAction::Promote { node } => format!("promote {node}"),
            FaultAction::SetCompatibility {
                node,
                subject,
                compatibility,
            } => format!("set-compatibility {node} {subject} {compatibility}"),
        };
        format!("{} {what}", f.at_ms)
    };
    faults.iter().map(line).collect::<Vec<_>>().join("; ")
}

/// Read a schedule written by [`format_schedule`] (faults separated by `;` or new lines; blank
/// entries are skipped). Faults keep the order they are written in. The error names the
/// fault that cannot be read and why.
pub fn parse_schedule(text: &str) -> Result<Vec<ScheduledFault>, String> {
    let mut faults = Vec::new();
    for entry in text.split([';', '\n']).map(str::trim) {
        if entry.is_empty() {
            continue;
        }
        let words: Vec<&str> = entry.split_whitespace().collect();
        let at_ms = words[0].parse::<u64>().map_err(|_| {
            format!(
                "`{entry}`: expected a time in ms first, found `{}`",
                words[0]
            )
        })?;
        let node = |i: usize| -> Result<String, String> {
            words
                .get(i)
                .map(|w| w.to_string())
                .ok_or_else(|| format!("`{entry}`: a node name is missing"))
        };
        let action = match (words.get(1).copied().unwrap_or(""), words.len()) {
            ("process-crash", 3) => FaultAction::ProcessCrash { node: node(2)? },
            ("power-loss", 3) => FaultAction::PowerLoss { node: node(2)? },
            ("power-loss-all", 2) => FaultAction::PowerLossAll,
            ("shutdown", 3) => FaultAction::Shutdown { node: node(2)? },
            ("restart", 3) => FaultAction::Restart { node: node(2)? },
            ("partition", 5) => FaultAction::Partition {
                from: node(2)?,
                to: node(4)?,
                two_way: match words[3] {
                    "<->" => true,
                    "->" => false,
                    other => {
                        return Err(format!("`{entry}`: expected `->` or `<->`, not `{other}`"));
                    }
                },
            },
            ("heal", 2) => FaultAction::Heal,
            ("reset-connection", 4) => FaultAction::ResetConnection {
                a: node(2)?,
                b: node(3)?,
            },
            ("stall-poll", 4) => FaultAction::StallPoll {
                node: node(2)?,
                duration_ms: words[3].parse().map_err(|_| {
                    format!("`{entry}`: expected a duration in ms, not `{}`", words[3])
                })?,
            },
            ("close", 3) => FaultAction::Close { node: node(2)? },
            ("seek-to-beginning", 3) => FaultAction::SeekToBeginning { node: node(2)? },
            ("restart-task", 3) => FaultAction::RestartTask { node: node(2)? },
            ("promote", 3) => FaultAction::Promote { node: node(2)? },
            ("set-compatibility", 5) => FaultAction::SetCompatibility {
                node: node(2)?,
                subject: node(3)?,
                compatibility: kafkasim_core::registry::compatibility::Compatibility::parse(
                    words[4],
                )
                .ok_or_else(|| format!("`{entry}`: unknown compatibility `{}`", words[4]))?,
            },
            (action, _) => {
                return Err(format!(
                    "`{entry}`: expected `<at_ms> <action> <arguments>` with an action of \
                     process-crash NODE, power-loss NODE, power-loss-all, restart NODE, \
                     partition NODE ->|<-> NODE, heal, reset-connection NODE NODE, \
                     stall-poll NODE MS, close NODE, seek-to-beginning NODE, restart-task NODE, promote NODE, \
                     set-compatibility NODE SUBJECT MODE (found `{action}` \
                     with {} words)",
                    words.len()
                ));
            }
        };
        faults.push(ScheduledFault { at_ms, action });
    }
    Ok(faults)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec with every kind on the menu, over a small cluster.
    fn everything() -> NemesisSpec {
        let brokers = names(&["broker-1", "broker-2", "broker-3"]);
        let servers = names(&["broker-1", "broker-2", "broker-3", "controller-1"]);
        let consumers = names(&["consumer-1", "consumer-2"]);
        NemesisSpec {
            window_ms: 2000..14_000,
            faults: 0..=10,
            timing: Timing::Scattered,
            victims: Victims::AtRandom,
            menu: vec![
                Choice {
                    weight: 2,
                    kind: FaultKind::ProcessCrash {
                        nodes: brokers.clone(),
                    },
                },
                Choice {
                    weight: 1,
                    kind: FaultKind::PowerLoss {
                        nodes: brokers.clone(),
                    },
                },
                Choice {
                    weight: 1,
                    kind: FaultKind::PowerLossAll,
                },
                Choice {
                    weight: 1,
                    kind: FaultKind::Restart {
                        nodes: brokers.clone(),
                    },
                },
                Choice {
                    weight: 1,
                    kind: FaultKind::Partition {
                        from: brokers.clone(),
                        to: servers.clone(),
                        two_way: true,
                    },
                },
                Choice {
                    weight: 1,
                    kind: FaultKind::ResetConnection {
                        a: brokers.clone(),
                        b: servers.clone(),
                    },
                },
                Choice {
                    weight: 1,
                    kind: FaultKind::Heal,
                },
                Choice {
                    weight: 1,
                    kind: FaultKind::StallPoll {
                        consumers: consumers.clone(),
                        duration_ms: 1000..=9000,
                    },
                },
                Choice {
                    weight: 1,
                    kind: FaultKind::Close { consumers },
                },
                Choice {
                    weight: 1,
                    kind: FaultKind::Bounce {
                        nodes: brokers.clone(),
                        down_ms: 100..=1500,
                    },
                },
            ],
            heal: Some(HealPhase {
                at_ms: 15_000,
                restart: brokers,
            }),
        }
    }

    fn nodes_of(action: &FaultAction) -> Vec<&str> {
        match action {
            FaultAction::ProcessCrash { node }
            | FaultAction::PowerLoss { node }
            | FaultAction::Shutdown { node }
            | FaultAction::Restart { node }
            | FaultAction::StallPoll { node, .. }
            | FaultAction::Close { node }
            | FaultAction::SeekToBeginning { node }
            | FaultAction::RestartTask { node }
            | FaultAction::Promote { node }
            | FaultAction::SetCompatibility { node, .. } => vec![node],
            FaultAction::Partition { from, to, .. } => vec![from, to],
            FaultAction::ResetConnection { a, b } => vec![a, b],
            FaultAction::PowerLossAll | FaultAction::Heal => vec![],
        }
    }

    fn name_of(action: &FaultAction) -> &'static str {
        match action {
            FaultAction::ProcessCrash { .. } => "process-crash",
            FaultAction::PowerLoss { .. } => "power-loss",
            FaultAction::PowerLossAll => "power-loss-all",
            FaultAction::Shutdown { .. } => "shutdown",
            FaultAction::Restart { .. } => "restart",
            FaultAction::Partition { .. } => "partition",
            FaultAction::Heal => "heal",
            FaultAction::ResetConnection { .. } => "reset-connection",
            FaultAction::StallPoll { .. } => "stall-poll",
            FaultAction::Close { .. } => "close",
            FaultAction::SeekToBeginning { .. } => "seek-to-beginning",
            FaultAction::RestartTask { .. } => "restart-task",
            FaultAction::Promote { .. } => "promote",
            FaultAction::SetCompatibility { .. } => "set-compatibility",
        }
    }

    /// Splits a schedule into the safety phase and the heal phase (`Heal`, then restarts, all at
    /// the heal time), checking that the heal phase is the tail.
    fn split_heal<'a>(
        spec: &NemesisSpec,
        faults: &'a [ScheduledFault],
    ) -> (&'a [ScheduledFault], &'a [ScheduledFault]) {
        let heal = spec.heal.as_ref().expect("spec heals");
        let tail = 1 + heal.restart.len();
        assert!(faults.len() >= tail);
        let (safety, healing) = faults.split_at(faults.len() - tail);
        assert_eq!(healing[0].action, FaultAction::Heal);
        for (f, node) in healing[1..].iter().zip(&heal.restart) {
            assert_eq!(f.action, FaultAction::Restart { node: node.clone() });
        }
        assert!(healing.iter().all(|f| f.at_ms == heal.at_ms));
        (safety, healing)
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        let spec = everything();
        for seed in 0..50 {
            assert_eq!(schedule(&spec, seed), schedule(&spec, seed));
        }
        let distinct: BTreeSet<String> = (0..50)
            .map(|seed| format_schedule(&schedule(&spec, seed)))
            .collect();
        assert!(distinct.len() > 45, "seeds barely change the schedule");
    }

    /// Pins the stream: a change here changes every schedule a seed names (CLI lines,
    /// browser links, recorded sweeps). Change it only on purpose.
    #[test]
    fn a_seed_names_a_pinned_schedule() {
        let spec = NemesisSpec {
            faults: 3..=3,
            ..everything()
        };
        let text = format_schedule(&schedule(&spec, 7));
        assert_eq!(
            text,
            "3673 partition broker-1 <-> broker-3; 9314 heal; 10314 power-loss-all; \
             15000 heal; 15000 restart broker-1; 15000 restart broker-2; 15000 restart broker-3"
        );
        assert_eq!(parse_schedule(&text).unwrap(), schedule(&spec, 7));
        assert_eq!(draws(&spec, 7).len(), 3);
    }

    #[test]
    fn every_fault_names_a_node_of_the_spec_and_falls_in_the_window() {
        let spec = everything();
        let known = spec.node_names();
        let mut kinds = BTreeSet::new();
        for seed in 0..500 {
            let faults = schedule(&spec, seed);
            let (safety, _) = split_heal(&spec, &faults);
            for f in &faults {
                for node in nodes_of(&f.action) {
                    assert!(
                        known.contains(node),
                        "seed {seed}: {node} is not in the spec"
                    );
                }
                if let FaultAction::Partition { from, to, .. } = &f.action {
                    assert_ne!(from, to, "seed {seed}");
                }
                if let FaultAction::ResetConnection { a, b } = &f.action {
                    assert_ne!(a, b, "seed {seed}");
                }
                if let FaultAction::StallPoll { duration_ms, .. } = &f.action {
                    assert!((1000..=9000).contains(duration_ms), "seed {seed}");
                }
            }
            for f in safety {
                assert!(spec.window_ms.contains(&f.at_ms), "seed {seed}: {f:?}");
                kinds.insert(name_of(&f.action));
            }
            assert!(safety.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        }
        // Over many seeds, every kind appears (a bounce shows as a crash and a restart).
        assert_eq!(kinds.len(), 9, "{kinds:?}");
    }

    #[test]
    fn the_fault_count_stays_in_its_range() {
        let spec = NemesisSpec {
            faults: 2..=5,
            ..everything()
        };
        let mut counts = BTreeSet::new();
        for seed in 0..300 {
            let n = draws(&spec, seed).len();
            assert!((2..=5).contains(&n));
            counts.insert(n);
        }
        assert_eq!(counts.len(), 4);
    }

    #[test]
    fn the_heal_phase_is_last() {
        let spec = everything();
        for seed in 0..200 {
            let faults = schedule(&spec, seed);
            let (safety, healing) = split_heal(&spec, &faults);
            assert!(safety.iter().all(|f| f.at_ms < healing[0].at_ms));
        }
        // Without a heal phase, the schedule ends with the safety phase.
        let spec = NemesisSpec {
            heal: None,
            faults: 1..=1,
            menu: vec![Choice {
                weight: 1,
                kind: FaultKind::PowerLossAll,
            }],
            ..everything()
        };
        assert_eq!(schedule(&spec, 3).len(), 1);
    }

    /// The kinds on a menu that can yield `action`: a bounce yields a crash and a restart.
    fn sources(action: &FaultAction) -> &'static [&'static str] {
        match action {
            FaultAction::ProcessCrash { .. } => &["process-crash", "bounce"],
            FaultAction::Restart { .. } => &["restart", "bounce", "clean-bounce"],
            FaultAction::PowerLoss { .. } => &["power-loss"],
            FaultAction::PowerLossAll => &["power-loss-all"],
            FaultAction::Partition { .. } => &["partition"],
            FaultAction::Heal => &["heal"],
            FaultAction::ResetConnection { .. } => &["reset-connection"],
            FaultAction::StallPoll { .. } => &["stall-poll"],
            FaultAction::Close { .. } => &["close"],
            FaultAction::SeekToBeginning { .. } => &["seek-to-beginning"],
            FaultAction::Shutdown { .. } => &["clean-bounce"],
            FaultAction::RestartTask { .. } => &["restart-task"],
            FaultAction::Promote { .. } => &["promote"],
            FaultAction::SetCompatibility { .. } => &["set-compatibility"],
        }
    }

    /// A clean bounce is a `shutdown` (SIGTERM) and, within its range, a `restart` of the
    /// same node.
    #[test]
    fn a_clean_bounce_is_a_shutdown_then_a_restart() {
        let spec = NemesisSpec {
            faults: 1..=1,
            menu: vec![Choice {
                weight: 1,
                kind: FaultKind::CleanBounce {
                    nodes: names(&["broker-1", "broker-2"]),
                    down_ms: 500..=900,
                },
            }],
            heal: None,
            ..everything()
        };
        for seed in 0..50 {
            let faults = schedule(&spec, seed);
            let [down, up] = faults.as_slice() else {
                panic!("seed {seed}: {faults:?}");
            };
            let FaultAction::Shutdown { node } = &down.action else {
                panic!("seed {seed}: {down:?}");
            };
            assert_eq!(up.action, FaultAction::Restart { node: node.clone() });
            let gap = up.at_ms - down.at_ms;
            assert!(
                (500..=900).contains(&gap) || up.at_ms == spec.window_ms.end - 1,
                "seed {seed}: {gap} ms"
            );
        }
    }

    #[test]
    fn a_spec_that_forbids_a_kind_never_yields_it() {
        let all = everything();
        // Leave each kind off the menu in turn, then pairs of kinds.
        let mut menus: Vec<Vec<usize>> = (0..all.menu.len()).map(|i| vec![i]).collect();
        for i in 0..all.menu.len() {
            for j in i + 1..all.menu.len() {
                menus.push(vec![i, j]);
            }
        }
        for forbidden in menus {
            let mut spec = all.clone();
            spec.menu = (0..all.menu.len())
                .filter(|i| !forbidden.contains(i))
                .map(|i| all.menu[i].clone())
                .collect();
            let allowed: BTreeSet<&str> = spec.menu.iter().map(|c| c.kind.name()).collect();
            for seed in 0..50 {
                let faults = schedule(&spec, seed);
                let (safety, _) = split_heal(&spec, &faults);
                for f in safety {
                    assert!(
                        sources(&f.action).iter().any(|k| allowed.contains(k)),
                        "seed {seed}: {f:?} from a menu of {allowed:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn weights_set_the_frequencies() {
        let spec = NemesisSpec {
            faults: 10..=10,
            heal: None,
            menu: vec![
                Choice {
                    weight: 3,
                    kind: FaultKind::Heal,
                },
                Choice {
                    weight: 1,
                    kind: FaultKind::PowerLossAll,
                },
            ],
            ..everything()
        };
        let heals = (0..200)
            .flat_map(|seed| schedule(&spec, seed))
            .filter(|f| f.action == FaultAction::Heal)
            .count();
        // 2000 faults, 3/4 of them heals: 1500 expected.
        assert!((1400..1600).contains(&heals), "{heals} heals of 2000");
    }

    #[test]
    fn sequential_bounces_alternate_and_do_not_overlap() {
        let brokers = names(&["broker-1", "broker-2"]);
        let spec = NemesisSpec {
            window_ms: 2500..30_000,
            faults: 2..=6,
            timing: Timing::Sequential { pause_ms: 0..=999 },
            victims: Victims::InTurn,
            menu: vec![Choice {
                weight: 1,
                kind: FaultKind::Bounce {
                    nodes: brokers,
                    down_ms: 100..=1499,
                },
            }],
            heal: None,
        };
        for seed in 0..100 {
            let faults = schedule(&spec, seed);
            assert_eq!(faults[0].at_ms, 2500);
            assert_eq!(faults.len(), 2 * draws(&spec, seed).len());
            for (i, pair) in faults.chunks(2).enumerate() {
                let node = format!("broker-{}", i % 2 + 1);
                assert_eq!(
                    pair[0].action,
                    FaultAction::ProcessCrash { node: node.clone() }
                );
                assert_eq!(pair[1].action, FaultAction::Restart { node });
                assert!((100..=1499).contains(&(pair[1].at_ms - pair[0].at_ms)));
            }
            for gap in faults[1..].chunks(2) {
                if let [restart, next_crash] = gap {
                    assert!((0..=999).contains(&(next_crash.at_ms - restart.at_ms)));
                }
            }
        }
    }

    /// A power cycle takes down 1 to 3 distinct brokers at one moment and brings each back
    /// `down_ms` later; over many seeds, every group size happens.
    #[test]
    fn a_power_cycle_cuts_several_brokers_at_once_and_restarts_them() {
        let brokers = names(&["broker-1", "broker-2", "broker-3"]);
        let spec = NemesisSpec {
            window_ms: 2000..14_000,
            faults: 1..=1,
            timing: Timing::Scattered,
            victims: Victims::AtRandom,
            menu: vec![Choice {
                weight: 1,
                kind: FaultKind::PowerCycle {
                    nodes: brokers.clone(),
                    together: 1..=3,
                    down_ms: 10..=500,
                },
            }],
            heal: None,
        };
        let mut sizes = BTreeSet::new();
        for seed in 0..200 {
            let faults = schedule(&spec, seed);
            let (losses, restarts): (Vec<_>, Vec<_>) = faults
                .iter()
                .partition(|f| matches!(f.action, FaultAction::PowerLoss { .. }));
            let at: BTreeSet<u64> = losses.iter().map(|f| f.at_ms).collect();
            let up: BTreeSet<u64> = restarts.iter().map(|f| f.at_ms).collect();
            let victims: BTreeSet<&str> = losses.iter().flat_map(|f| nodes_of(&f.action)).collect();
            assert_eq!((at.len(), up.len()), (1, 1), "seed {seed}: one moment each");
            assert_eq!(victims.len(), losses.len(), "seed {seed}: distinct victims");
            assert_eq!(restarts.len(), losses.len());
            let down = up.first().unwrap() - at.first().unwrap();
            assert!((10..=500).contains(&down), "seed {seed}: down {down} ms");
            sizes.insert(losses.len());
        }
        assert_eq!(sizes, BTreeSet::from([1, 2, 3]));
        let too_many = FaultKind::PowerCycle {
            nodes: brokers,
            together: 1..=4,
            down_ms: 10..=500,
        };
        let spec = NemesisSpec {
            menu: vec![Choice {
                weight: 1,
                kind: too_many,
            }],
            ..spec
        };
        assert!(spec.validate().unwrap_err().contains("together"));
    }

    #[test]
    fn sequential_faults_stop_at_the_end_of_the_window() {
        let spec = NemesisSpec {
            window_ms: 0..1000,
            faults: 50..=50,
            timing: Timing::Sequential {
                pause_ms: 100..=100,
            },
            victims: Victims::AtRandom,
            menu: vec![Choice {
                weight: 1,
                kind: FaultKind::Heal,
            }],
            heal: None,
        };
        let times: Vec<u64> = schedule(&spec, 1).iter().map(|f| f.at_ms).collect();
        assert_eq!(times, vec![0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    }

    /// The draws' order carries over to the schedule: all-zero draws are the simplest
    /// schedule (the first kind, the first node, the window's start), which is where proptest
    /// shrinks to.
    #[test]
    fn zero_draws_decode_to_the_simplest_faults() {
        let spec = everything();
        let faults = decode(&spec, &[FaultDraw::default(); 2]);
        let (safety, _) = split_heal(&spec, &faults);
        let crash = FaultAction::ProcessCrash {
            node: "broker-1".into(),
        };
        assert_eq!(
            safety,
            [
                ScheduledFault {
                    at_ms: 2000,
                    action: crash.clone()
                },
                ScheduledFault {
                    at_ms: 2000,
                    action: crash
                },
            ]
        );
        let largest = FaultDraw {
            time: u32::MAX,
            choice: u32::MAX,
            victim: u32::MAX,
            peer: u32::MAX,
            extent: u32::MAX,
        };
        let faults = decode(&spec, &[largest]);
        // The last kind (a bounce) of the last node, at the window's last millisecond, its
        // restart clamped to the window.
        assert_eq!(
            faults[0],
            ScheduledFault {
                at_ms: 13_999,
                action: FaultAction::ProcessCrash {
                    node: "broker-3".into()
                }
            }
        );
        assert_eq!(
            faults[1],
            ScheduledFault {
                at_ms: 13_999,
                action: FaultAction::Restart {
                    node: "broker-3".into()
                }
            }
        );
    }

    #[test]
    fn schedules_round_trip_through_text() {
        let spec = everything();
        for seed in 0..100 {
            let faults = schedule(&spec, seed);
            let text = format_schedule(&faults);
            assert_eq!(parse_schedule(&text), Ok(faults), "{text}");
        }
        let text = "2300 process-crash broker-1; 4100 partition broker-1 -> controller-1\n\
                    4100 partition broker-1 <-> broker-2;; 6000 stall-poll consumer-1 4000";
        let faults = parse_schedule(text).unwrap();
        assert_eq!(faults.len(), 4);
        assert_eq!(
            faults[1].action,
            FaultAction::Partition {
                from: "broker-1".into(),
                to: "controller-1".into(),
                two_way: false
            }
        );
    }

    #[test]
    fn unreadable_schedules_say_which_fault() {
        for (text, says) in [
            ("soon process-crash broker-1", "expected a time"),
            ("100 process-crash", "with 2 words"),
            ("100 partition a => b", "expected `->` or `<->`"),
            ("100 stall-poll consumer-1 long", "expected a duration"),
            ("100 explode broker-1", "found `explode`"),
        ] {
            let e = parse_schedule(text).unwrap_err();
            assert!(e.contains(says) && e.contains(text), "{text}: {e}");
        }
    }

    #[test]
    fn invalid_specs_are_explained() {
        let spec = everything();
        let broken = [
            (
                NemesisSpec {
                    window_ms: 5..5,
                    ..spec.clone()
                },
                "window",
            ),
            (
                NemesisSpec {
                    heal: Some(HealPhase {
                        at_ms: 10_000,
                        restart: vec![],
                    }),
                    ..spec.clone()
                },
                "inside the window",
            ),
            (
                NemesisSpec {
                    menu: vec![Choice {
                        weight: 0,
                        kind: FaultKind::Heal,
                    }],
                    ..spec.clone()
                },
                "weight 0",
            ),
            (
                NemesisSpec {
                    menu: vec![Choice {
                        weight: 1,
                        kind: FaultKind::Partition {
                            from: names(&["broker-1"]),
                            to: names(&["broker-1"]),
                            two_way: true,
                        },
                    }],
                    ..spec.clone()
                },
                "no other node",
            ),
            (
                NemesisSpec {
                    menu: vec![Choice {
                        weight: 1,
                        kind: FaultKind::ProcessCrash { nodes: vec![] },
                    }],
                    ..spec.clone()
                },
                "empty node list",
            ),
            (
                NemesisSpec {
                    menu: vec![],
                    ..spec.clone()
                },
                "menu is empty",
            ),
        ];
        for (spec, says) in broken {
            let e = spec.validate().unwrap_err();
            assert!(e.contains(says), "{e}");
        }
        assert_eq!(spec.validate(), Ok(()));
    }
}
