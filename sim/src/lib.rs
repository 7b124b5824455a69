//! kafkasim-sim: the deterministic world that runs kafkasim's nodes.
//!
//! One event queue drives everything: messages over a TCP-like [`network`], named timers,
//! [`disk`]s with a page cache over durable storage, and the [`faults`] a scenario or nemesis
//! injects. Every run is a pure function of (nodes, scenario, seed) and leaves a [`trace`]
//! whose hash proves it. Like `kafkasim-core`, this crate compiles to wasm32 so the browser
//! runs the same engine as the CLI.
#![warn(missing_docs)]

pub mod bench;
mod connections;
pub mod disk;
pub mod faults;
pub mod network;
mod queue;
pub mod trace;
pub mod world;

pub use world::{Observed, World, WorldConfig};
