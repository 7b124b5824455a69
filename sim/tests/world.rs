//! The world's promises, each checked with a tiny node: timers fire once unless cancelled or
//! the node died; a process crash keeps the page cache; a power loss keeps only synced bytes
//! and cancels an fsync in progress; a restart boots from the disk; messages to a dead node
//! are dropped and a killed process's peers are told; a connection belongs to the processes
//! at its ends.

use kafkasim_core::disk::{DiskImage, DiskOp, DiskToken};
use kafkasim_core::ids::NodeId;
use kafkasim_core::node::{Boot, Describe, Input, Node, Out, Vocabulary};
use kafkasim_core::time::{Duration, Instant};
use kafkasim_sim::disk::DiskConfig;
use kafkasim_sim::faults::Fault;
use kafkasim_sim::trace::{TraceKind, TraceMode};
use kafkasim_sim::{World, WorldConfig};
use serde::Serialize;

#[derive(Debug)]
struct Note(&'static str);
impl Describe for Note {
    /// A note starting with "answer" answers a request (it travels back on its connection).
    fn name(&self) -> &'static str {
        if self.0.starts_with("answer") {
            "NoteResponse"
        } else {
            "Note"
        }
    }
    fn summary(&self) -> String {
        self.0.to_string()
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
enum Seen {
    Booted { files: Vec<(String, String)> },
    Timer(u8),
    Synced(u64),
    Got(&'static str),
    Disconnected(u32),
}

#[derive(Clone, Debug, Serialize)]
enum Cmd {
    Write(&'static str),
    Sync(u64),
    Timer(u8, u64),
    Cancel(u8),
    Send(NodeId, &'static str),
}

#[derive(Debug)]
struct Probe;

impl Vocabulary for Probe {
    type Msg = Note;
    type Timer = u8;
    type Command = Cmd;
    type Reply = Seen;
    type Event = ();
}

impl Node for Probe {
    type Config = ();
    type View = ();

    fn view(&self) {}

    fn boot(boot: Boot<'_, ()>, out: &mut dyn Out<Self>) -> Self {
        let files = files(boot.disk);
        out.reply(Seen::Booted { files });
        Probe
    }

    fn step(&mut self, now: Instant, input: Input<Self>, out: &mut dyn Out<Self>) {
        match input {
            Input::Command(Cmd::Write(text)) => out.disk(DiskOp::Append {
                file: "f".into(),
                bytes: text.as_bytes().to_vec(),
            }),
            Input::Command(Cmd::Sync(token)) => out.disk(DiskOp::Sync {
                file: "f".into(),
                token: DiskToken(token),
            }),
            Input::Command(Cmd::Timer(key, after_ms)) => {
                out.set_timer(key, now + Duration::from_millis(after_ms))
            }
            Input::Command(Cmd::Cancel(key)) => out.cancel_timer(key),
            Input::Command(Cmd::Send(to, text)) => out.send(to, Note(text)),
            Input::Timer(key) => out.reply(Seen::Timer(key)),
            Input::DiskDone {
                token: DiskToken(t),
                ..
            } => out.reply(Seen::Synced(t)),
            Input::Recv { msg, .. } => out.reply(Seen::Got(msg.0)),
            Input::Disconnected { peer } => out.reply(Seen::Disconnected(peer.0)),
            Input::Terminate => out.exit(),
        }
    }
}

fn files(disk: &DiskImage) -> Vec<(String, String)> {
    disk.iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

fn world(torn_writes: bool) -> (World<Probe>, NodeId, NodeId) {
    let config = WorldConfig {
        disk: DiskConfig {
            torn_writes,
            ..DiskConfig::default()
        },
        ..WorldConfig::default()
    };
    let mut w = World::new(1, config, TraceMode::Record);
    let a = w.add_node("a", ());
    let b = w.add_node("b", ());
    w.start(a);
    w.start(b);
    (w, a, b)
}

fn replies(w: &World<Probe>, node: NodeId) -> Vec<Seen> {
    w.replies()
        .iter()
        .filter(|o| o.node == node)
        .map(|o| o.reply.clone())
        .collect()
}

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

#[test]
fn timers_fire_once_and_cancel_or_reset_by_name() {
    let (mut w, a, _) = world(false);
    w.schedule_command(ms(1), a, Cmd::Timer(1, 10));
    w.schedule_command(ms(1), a, Cmd::Timer(2, 10));
    w.schedule_command(ms(2), a, Cmd::Cancel(2));
    w.schedule_command(ms(1), a, Cmd::Timer(3, 10));
    w.schedule_command(ms(5), a, Cmd::Timer(3, 50)); // resetting replaces the deadline
    w.run_until(ms(100));
    assert_eq!(replies(&w, a)[1..], [Seen::Timer(1), Seen::Timer(3)]);
}

#[test]
fn process_crash_keeps_the_page_cache_and_forgets_timers() {
    let (mut w, a, _) = world(false);
    w.schedule_command(ms(1), a, Cmd::Write("unsynced"));
    w.schedule_command(ms(1), a, Cmd::Timer(9, 50));
    w.schedule_fault(ms(10), Fault::ProcessCrash { node: a });
    w.schedule_fault(ms(20), Fault::Restart { node: a });
    w.run_until(ms(100));
    let seen = replies(&w, a);
    assert_eq!(
        seen.last(),
        Some(&Seen::Booted {
            files: vec![("f".into(), "unsynced".into())]
        })
    );
    assert!(
        !seen.contains(&Seen::Timer(9)),
        "a timer of the dead incarnation fired"
    );
}

#[test]
fn power_loss_keeps_only_synced_bytes() {
    let (mut w, a, _) = world(false);
    w.schedule_command(ms(1), a, Cmd::Write("durable;"));
    w.schedule_command(ms(1), a, Cmd::Sync(1));
    w.schedule_command(ms(5), a, Cmd::Write("lost"));
    w.schedule_fault(ms(10), Fault::PowerLoss { node: a });
    w.schedule_fault(ms(20), Fault::Restart { node: a });
    w.run_until(ms(100));
    let seen = replies(&w, a);
    assert!(seen.contains(&Seen::Synced(1)));
    assert_eq!(
        seen.last(),
        Some(&Seen::Booted {
            files: vec![("f".into(), "durable;".into())]
        })
    );
}

#[test]
fn an_fsync_cut_short_by_power_loss_never_completes() {
    let (mut w, a, _) = world(false);
    w.schedule_command(ms(1), a, Cmd::Write("x"));
    w.schedule_command(ms(1), a, Cmd::Sync(1)); // takes 2 ms
    w.schedule_fault(Instant::from_micros(2_000), Fault::PowerLoss { node: a });
    w.schedule_fault(ms(20), Fault::Restart { node: a });
    w.run_until(ms(100));
    let seen = replies(&w, a);
    assert!(!seen.contains(&Seen::Synced(1)));
    assert_eq!(
        seen.last(),
        Some(&Seen::Booted { files: vec![] }),
        "a never-synced file vanishes"
    );
}

#[test]
fn power_loss_of_every_node_at_once() {
    let (mut w, a, b) = world(false);
    for node in [a, b] {
        w.schedule_command(ms(1), node, Cmd::Write("gone"));
    }
    w.schedule_fault(ms(10), Fault::PowerLossAll);
    w.run_until(ms(15));
    assert!(w.node(a).is_none() && w.node(b).is_none());
    assert!(w.disk(a).image().is_empty() && w.disk(b).image().is_empty());
}

#[test]
fn messages_to_a_dead_node_are_dropped_and_killed_peers_are_noticed() {
    let (mut w, a, b) = world(false);
    w.schedule_command(ms(1), a, Cmd::Send(b, "hello"));
    w.schedule_fault(ms(10), Fault::ProcessCrash { node: b });
    w.schedule_command(ms(11), a, Cmd::Send(b, "into the void"));
    w.run_until(ms(100));
    assert!(replies(&w, b).contains(&Seen::Got("hello")));
    assert!(
        replies(&w, a).contains(&Seen::Disconnected(b.0)),
        "a's connection to b was reset by b's kernel"
    );
    let dropped = w
        .trace()
        .events()
        .iter()
        .any(|e| matches!(&e.kind, TraceKind::MessageDropped { reason, .. } if format!("{reason:?}") == "ReceiverDown"));
    assert!(dropped);
}

/// Reference: TCP — a segment that reaches a machine without power is never acknowledged,
/// so the sender retransmits it; once the machine is back, its kernel answers the
/// retransmission with a reset. A request the machine had received before it lost power was
/// acknowledged: nothing is retransmitted, and the sender only has its own timeouts.
#[test]
fn a_request_lost_to_a_machine_without_power_is_reset_once_it_is_back() {
    let (mut w, a, b) = world(false);
    w.schedule_command(ms(1), a, Cmd::Send(b, "hello"));
    w.schedule_fault(ms(10), Fault::PowerLoss { node: b });
    w.schedule_command(ms(11), a, Cmd::Send(b, "into the dark"));
    w.run_until(ms(50));
    assert!(
        !replies(&w, a).contains(&Seen::Disconnected(b.0)),
        "a machine without power is silent"
    );
    w.schedule_fault(ms(60), Fault::Restart { node: b });
    w.run_until(ms(100));
    assert!(
        replies(&w, a).contains(&Seen::Disconnected(b.0)),
        "the retransmission met the restarted machine's reset"
    );

    // Only "hello" went before the power loss: it was received, and nothing resets it.
    let (mut w, a, b) = world(false);
    w.schedule_command(ms(1), a, Cmd::Send(b, "hello"));
    w.schedule_fault(ms(10), Fault::PowerLoss { node: b });
    w.schedule_fault(ms(60), Fault::Restart { node: b });
    w.run_until(ms(100));
    assert!(!replies(&w, a).contains(&Seen::Disconnected(b.0)));
}

#[test]
fn a_partition_drops_messages_one_way_until_healed() {
    let (mut w, a, b) = world(false);
    w.schedule_fault(
        ms(1),
        Fault::Partition {
            from: a,
            to: b,
            two_way: false,
        },
    );
    w.schedule_command(ms(2), a, Cmd::Send(b, "blocked"));
    w.schedule_command(ms(2), b, Cmd::Send(a, "fine"));
    w.schedule_fault(ms(5), Fault::HealAll);
    w.schedule_command(ms(6), a, Cmd::Send(b, "after heal"));
    w.run_until(ms(100));
    assert_eq!(replies(&w, b)[1..], [Seen::Got("after heal")]);
    assert!(replies(&w, a).contains(&Seen::Got("fine")));
}

fn dropped_because(w: &World<Probe>, why: &str) -> Vec<String> {
    w.trace()
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::MessageDropped { reason, name, .. } if format!("{reason:?}") == why => {
                Some(name.to_string())
            }
            _ => None,
        })
        .collect()
}

/// Reference: TCP — a connection is between two processes, and a restarted process's kernel
/// resets its predecessor's — as Kafka's `NetworkClient` relies on: a response is matched to
/// its request by correlation id on one connection, so a new process (whose ids start again)
/// must never read its predecessor's answers. `a` asks, loses power and restarts; `b`'s
/// answer to the old `a` is reset, not delivered, and `b` learns the connection is gone. What
/// the new `a` asks afterwards is answered normally.
#[test]
fn an_answer_to_a_dead_process_never_reaches_its_successor() {
    let (mut w, a, b) = world(false);
    w.schedule_command(ms(1), a, Cmd::Send(b, "question"));
    w.schedule_fault(ms(5), Fault::PowerLoss { node: a });
    w.schedule_fault(ms(6), Fault::Restart { node: a });
    w.schedule_command(ms(10), b, Cmd::Send(a, "answer to the old a"));
    w.schedule_command(ms(30), a, Cmd::Send(b, "question 2"));
    w.schedule_command(ms(50), b, Cmd::Send(a, "answer 2"));
    w.run_until(ms(100));
    assert!(replies(&w, b).contains(&Seen::Got("question")));
    let got_by_a = replies(&w, a);
    assert!(
        !got_by_a.contains(&Seen::Got("answer to the old a")),
        "{got_by_a:?}"
    );
    assert!(got_by_a.contains(&Seen::Got("answer 2")), "{got_by_a:?}");
    assert_eq!(
        dropped_because(&w, "ReceiverRestarted"),
        vec!["NoteResponse"]
    );
    assert!(
        replies(&w, b).contains(&Seen::Disconnected(a.0)),
        "the new a's kernel reset the old connection"
    );
}

/// The same for a request on a connection opened to the old process (a follower's fetch
/// session to a leader that lost power): it is reset, and the next request, on a new
/// connection, reaches the new process.
#[test]
fn a_request_on_a_connection_to_a_dead_process_is_reset_then_reconnects() {
    let (mut w, a, b) = world(false);
    w.schedule_command(ms(1), b, Cmd::Send(a, "ping 0"));
    w.schedule_fault(ms(5), Fault::PowerLoss { node: a });
    w.schedule_fault(ms(6), Fault::Restart { node: a });
    w.schedule_command(ms(10), b, Cmd::Send(a, "ping 1"));
    w.schedule_command(ms(40), b, Cmd::Send(a, "ping 2"));
    w.run_until(ms(100));
    let got = replies(&w, a);
    assert!(
        got.contains(&Seen::Got("ping 0")) && got.contains(&Seen::Got("ping 2")),
        "{got:?}"
    );
    assert!(!got.contains(&Seen::Got("ping 1")), "{got:?}");
    assert_eq!(dropped_because(&w, "ReceiverRestarted"), vec!["Note"]);
}
