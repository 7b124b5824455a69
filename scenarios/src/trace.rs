//! The trace of a run as the scenarios library reads it: the concrete types of its lines.

use kafkasim_core::actor::{Command, Event, Reply};
use kafkasim_core::view::NodeView;
use kafkasim_sim::trace::{Snapshot, TraceEvent, TraceKind};

/// One line of a run's trace.
pub type Line = TraceEvent<Event, Reply, Command, NodeView>;
/// What one line says happened.
pub type Kind = TraceKind<Event, Reply, Command, NodeView>;
/// A snapshot of the whole world.
pub type WorldSnapshot = Snapshot<NodeView>;
