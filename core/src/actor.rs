//! The one node type the simulator runs for a Kafka cluster: a broker, a controller or a
//! client.
//!
//! Each role is its own state machine ([`Broker`], [`Controller`], [`Producer`],
//! [`Consumer`]) with its own vocabulary; this module fixes the node's vocabulary as the sum
//! of theirs — `Timer::Broker(broker::Timer::Quorum(quorum::Timer::FetchTimeout))`,
//! `Event::Replica(..)`, `Reply::Consumer(..)` — and narrows what arrives to the role it is
//! for. No role ever sees another's words, and none needs to carve ids out of a shared range.

use crate::broker::{self, Broker, LogEvent, ReplicaEvent};
use crate::client::consumer::{self, Consumer};
use crate::client::producer::{self, Producer};
use crate::config::{BrokerConfig, ConsumerConfig, ProducerConfig};
use crate::connect::sink::{self, SinkConfig, SinkConnector};
use crate::connect::source::{self, SourceConfig, SourceConnector};
use crate::controller::{self, Controller, ControllerConfig};
use crate::database::{self, Database, DatabaseConfig};
use crate::group;
use crate::node::{Boot, Input, Never, Node, Out, Vocabulary};
use crate::protocol::Message;
use crate::purgatory;
use crate::quorum;
use crate::registry::server::{self as registry, RegistryConfig, SchemaRegistry};
use crate::stage::{self, Stage, StageConfig};
use crate::time::Instant;
use crate::view::NodeView;
use serde::{Deserialize, Serialize};

/// A node's named deadlines, by the role that set them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// A broker's (its quorum observer's and group coordinator's included).
    Broker(broker::Timer),
    /// A controller's (its quorum member's included).
    Controller(controller::Timer),
    /// A producer's.
    Producer(producer::Timer),
    /// A consumer's.
    Consumer(consumer::Timer),
    /// A database's.
    Database(database::Timer),
    /// A CDC source connector's (its producer's included).
    Source(source::Timer),
    /// A sink connector's (its consumer's included).
    Sink(sink::Timer),
    /// A stream-processing stage's (its clients' included).
    Stage(stage::Timer),
}

/// What the scenario tells a client to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Command {
    /// To a producer.
    Producer(producer::Command),
    /// To a consumer.
    Consumer(consumer::Command),
    /// To a database (its workload's transactions).
    Database(database::Command),
    /// To a source connector (an operator's restart).
    Source(source::Command),
    /// To a schema registry (an operator's configuration change).
    Registry(registry::Command),
}

/// What clients report to the scenario: delivery callbacks and polled records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Reply {
    /// A producer's.
    Producer(producer::Reply),
    /// A consumer's.
    Consumer(consumer::Reply),
    /// A database's (COMMIT and ROLLBACK returning).
    Database(database::Reply),
}

/// State changes inside nodes, recorded in the trace, by the subsystem they concern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Event {
    /// A partition's log on disk: recovery and fsync.
    Log(LogEvent),
    /// Replication: appends, high watermarks, roles, truncations, the ISR.
    Replica(ReplicaEvent),
    /// The metadata quorum (KRaft's Raft).
    Quorum(quorum::Event),
    /// The active controller's decisions.
    Controller(controller::Event),
    /// A group coordinator.
    Group(group::Event),
    /// A producer.
    Producer(producer::Event),
    /// A consumer.
    Consumer(consumer::Event),
    /// Answers held until a high watermark or an fsync, and their release (any role).
    Purgatory(purgatory::Event),
    /// A broker's shutdown after SIGTERM.
    Shutdown(broker::shutdown::Event),
    /// A database: commits, WAL flushes, checkpoints, recovery.
    Database(database::Event),
    /// A CDC source connector: snapshot, stream, acknowledged events, offsets.
    Source(source::Event),
    /// A sink connector: events applied or absorbed, flushes.
    Sink(sink::Event),
    /// A schema registry: registrations and refusals.
    Registry(registry::Event),
    /// A stream-processing stage: what it transformed and committed.
    Stage(stage::Event),
}

macro_rules! wraps {
    ($outer:ident :: $variant:ident ( $inner:ty )) => {
        impl From<$inner> for $outer {
            fn from(inner: $inner) -> Self {
                $outer::$variant(inner)
            }
        }
    };
}

/// A role that sets no timers (the schema registry) has none to wrap.
impl From<Never> for Timer {
    fn from(never: Never) -> Self {
        match never {}
    }
}

wraps!(Timer::Broker(broker::Timer));
wraps!(Timer::Controller(controller::Timer));
wraps!(Timer::Producer(producer::Timer));
wraps!(Timer::Consumer(consumer::Timer));
wraps!(Timer::Database(database::Timer));
wraps!(Command::Database(database::Command));
wraps!(Reply::Database(database::Reply));
wraps!(Event::Database(database::Event));
wraps!(Timer::Source(source::Timer));
wraps!(Timer::Sink(sink::Timer));
wraps!(Event::Source(source::Event));
wraps!(Event::Registry(registry::Event));
wraps!(Timer::Stage(stage::Timer));
wraps!(Event::Stage(stage::Event));
wraps!(Event::Sink(sink::Event));
wraps!(Command::Producer(producer::Command));
wraps!(Command::Consumer(consumer::Command));
wraps!(Reply::Producer(producer::Reply));
wraps!(Reply::Consumer(consumer::Reply));
wraps!(Event::Log(LogEvent));
wraps!(Event::Replica(ReplicaEvent));
wraps!(Event::Quorum(quorum::Event));
wraps!(Event::Controller(controller::Event));
wraps!(Event::Group(group::Event));
wraps!(Event::Producer(producer::Event));
wraps!(Event::Consumer(consumer::Event));
wraps!(Event::Purgatory(purgatory::Event));
wraps!(Event::Shutdown(broker::shutdown::Event));

/// The quorum traces its own events and its purgatory's: each goes to its own scope.
impl From<quorum::Trace> for Event {
    fn from(trace: quorum::Trace) -> Self {
        match trace {
            quorum::Trace::Quorum(e) => Event::Quorum(e),
            quorum::Trace::Purgatory(e) => Event::Purgatory(e),
        }
    }
}

/// A subsystem that never replies, or records nothing, writes `Never` in that slot.
macro_rules! from_never {
    ($($t:ty),*) => {
        $(impl From<Never> for $t {
            fn from(never: Never) -> Self {
                match never {}
            }
        })*
    };
}

from_never!(
    Reply,
    Event,
    quorum::Event,
    quorum::Trace,
    producer::Event,
    producer::Reply,
    consumer::Event,
    consumer::Reply
);

/// The configuration of one node: which role, and its settings.
#[derive(Clone, Debug)]
pub enum ActorConfig {
    /// A broker.
    Broker(BrokerConfig),
    /// A producer.
    Producer(ProducerConfig),
    /// A consumer.
    Consumer(ConsumerConfig),
    /// A KRaft controller.
    Controller(ControllerConfig),
    /// A database server.
    Database(DatabaseConfig),
    /// A CDC source connector.
    Source(SourceConfig),
    /// A sink connector.
    Sink(SinkConfig),
    /// A schema registry.
    Registry(RegistryConfig),
    /// A stream-processing stage (boxed: it holds a consumer's and a producer's configs).
    Stage(Box<StageConfig>),
}

/// A node of a simulated Kafka cluster.
#[derive(Debug)]
pub enum Actor {
    /// A broker (boxed, like the controller: the roles differ a lot in size).
    Broker(Box<Broker>),
    /// A producer (boxed, like every role: their sizes differ).
    Producer(Box<Producer>),
    /// A consumer (boxed: its group membership makes it the largest client).
    Consumer(Box<Consumer>),
    /// A KRaft controller (boxed: it is much larger than the other roles).
    Controller(Box<Controller>),
    /// A database server.
    Database(Box<Database>),
    /// A CDC source connector (boxed: it holds a producer).
    Source(Box<SourceConnector>),
    /// A sink connector (boxed: it holds a consumer).
    Sink(Box<SinkConnector>),
    /// A schema registry.
    Registry(Box<SchemaRegistry>),
    /// A stream-processing stage (boxed: it holds a consumer and a producer).
    Stage(Box<Stage>),
}

impl Actor {
    /// The controller inside, if this node is one.
    pub fn as_controller(&self) -> Option<&Controller> {
        match self {
            Actor::Controller(c) => Some(c),
            _ => None,
        }
    }

    /// The broker inside, if this node is one.
    pub fn as_broker(&self) -> Option<&Broker> {
        match self {
            Actor::Broker(b) => Some(b),
            _ => None,
        }
    }
}

impl Vocabulary for Actor {
    type Msg = Message;
    type Timer = Timer;
    type Event = Event;
    type Reply = Reply;
    type Command = Command;
}

/// `input`, in the words of the role `V` it is for: a timer of another role, or a command
/// to another role, is not for it (`None`).
fn narrow<V: Vocabulary<Msg = Message>>(
    input: Input<Actor>,
    timer: impl FnOnce(Timer) -> Option<V::Timer>,
    command: impl FnOnce(Command) -> Option<V::Command>,
) -> Option<Input<V>> {
    Some(match input {
        Input::Recv { from, msg } => Input::Recv { from, msg },
        Input::Timer(t) => Input::Timer(timer(t)?),
        Input::DiskDone { file, token } => Input::DiskDone { file, token },
        Input::Command(c) => Input::Command(command(c)?),
        Input::Disconnected { peer } => Input::Disconnected { peer },
        Input::Terminate => Input::Terminate,
    })
}

impl Node for Actor {
    type Config = ActorConfig;
    type View = NodeView;

    fn boot(boot: Boot<'_, ActorConfig>, out: &mut dyn Out<Self>) -> Self {
        match boot.config {
            ActorConfig::Broker(c) => {
                Actor::Broker(Box::new(Broker::boot(&boot, c, &mut out.scoped())))
            }
            ActorConfig::Producer(c) => {
                Actor::Producer(Box::new(Producer::boot(&boot, c, &mut out.scoped())))
            }
            ActorConfig::Consumer(c) => {
                Actor::Consumer(Box::new(Consumer::boot(&boot, c, &mut out.scoped())))
            }
            ActorConfig::Controller(c) => {
                Actor::Controller(Box::new(Controller::boot(&boot, c, &mut out.scoped())))
            }
            ActorConfig::Database(c) => {
                Actor::Database(Box::new(Database::boot(&boot, c, &mut out.scoped())))
            }
            ActorConfig::Source(c) => {
                Actor::Source(Box::new(SourceConnector::boot(&boot, c, &mut out.scoped())))
            }
            ActorConfig::Sink(c) => {
                Actor::Sink(Box::new(SinkConnector::boot(&boot, c, &mut out.scoped())))
            }
            ActorConfig::Registry(c) => {
                Actor::Registry(Box::new(SchemaRegistry::boot(&boot, c, &mut out.scoped())))
            }
            ActorConfig::Stage(c) => {
                Actor::Stage(Box::new(Stage::boot(&boot, c, &mut out.scoped())))
            }
        }
    }

    fn step(&mut self, now: Instant, input: Input<Self>, out: &mut dyn Out<Self>) {
        match self {
            Actor::Broker(b) => {
                let timer = |t| match t {
                    Timer::Broker(t) => Some(t),
                    _ => None,
                };
                if let Some(input) = narrow::<broker::Vocab>(input, timer, |_| None) {
                    b.step(now, input, &mut out.scoped());
                }
            }
            Actor::Controller(c) => {
                let timer = |t| match t {
                    Timer::Controller(t) => Some(t),
                    _ => None,
                };
                if let Some(input) = narrow::<controller::Vocab>(input, timer, |_| None) {
                    c.step(now, input, &mut out.scoped());
                }
            }
            Actor::Producer(p) => {
                let timer = |t| match t {
                    Timer::Producer(t) => Some(t),
                    _ => None,
                };
                let command = |c| match c {
                    Command::Producer(c) => Some(c),
                    _ => None,
                };
                if let Some(input) = narrow::<producer::Vocab>(input, timer, command) {
                    p.step(now, input, &mut out.scoped());
                }
            }
            Actor::Database(d) => {
                let timer = |t| match t {
                    Timer::Database(t) => Some(t),
                    _ => None,
                };
                let command = |c| match c {
                    Command::Database(c) => Some(c),
                    _ => None,
                };
                if let Some(input) = narrow::<database::Vocab>(input, timer, command) {
                    d.step(now, input, &mut out.scoped());
                }
            }
            Actor::Source(c) => {
                let timer = |t| match t {
                    Timer::Source(t) => Some(t),
                    _ => None,
                };
                let command = |cmd| match cmd {
                    Command::Source(cmd) => Some(cmd),
                    _ => None,
                };
                if let Some(input) = narrow::<source::Vocab>(input, timer, command) {
                    c.step(now, input, &mut out.scoped());
                }
            }
            Actor::Stage(s) => {
                let timer = |t| match t {
                    Timer::Stage(t) => Some(t),
                    _ => None,
                };
                if let Some(input) = narrow::<stage::Vocab>(input, timer, |_| None) {
                    s.step(now, input, &mut out.scoped());
                }
            }
            Actor::Registry(r) => {
                let command = |cmd| match cmd {
                    Command::Registry(cmd) => Some(cmd),
                    _ => None,
                };
                if let Some(input) = narrow::<registry::Vocab>(input, |_| None, command) {
                    r.step(now, input, &mut out.scoped());
                }
            }
            Actor::Sink(c) => {
                let timer = |t| match t {
                    Timer::Sink(t) => Some(t),
                    _ => None,
                };
                if let Some(input) = narrow::<sink::Vocab>(input, timer, |_| None) {
                    c.step(now, input, &mut out.scoped());
                }
            }
            Actor::Consumer(c) => {
                let timer = |t| match t {
                    Timer::Consumer(t) => Some(t),
                    _ => None,
                };
                let command = |cmd| match cmd {
                    Command::Consumer(cmd) => Some(cmd),
                    _ => None,
                };
                if let Some(input) = narrow::<consumer::Vocab>(input, timer, command) {
                    c.step(now, input, &mut out.scoped());
                }
            }
        }
    }

    fn view(&self) -> NodeView {
        match self {
            Actor::Broker(b) => NodeView::Broker(b.view()),
            Actor::Controller(c) => NodeView::Controller(c.view()),
            Actor::Producer(_) => NodeView::Producer,
            Actor::Consumer(c) => NodeView::Consumer(c.view()),
            Actor::Database(d) => NodeView::Database(d.view()),
            Actor::Source(c) => NodeView::Source(c.view()),
            Actor::Sink(c) => NodeView::Sink(c.view()),
            Actor::Registry(r) => NodeView::Registry(r.view()),
            Actor::Stage(s) => NodeView::Stage(s.view()),
        }
    }
}
