//! kafkasim-core: Kafka's broker and client logic as pure, deterministic state machines.
//!
//! Nothing in this crate performs IO, reads a clock, spawns a thread or draws OS randomness;
//! it compiles to `wasm32-unknown-unknown` so the browser visualizer runs the very same code as
//! the CLI. The simulator (`kafkasim-sim`) drives it through the seam in [`node`].
#![warn(missing_docs)]

pub mod actor;
pub mod broker;
pub mod client;
pub mod config;
pub mod connect;
pub mod controller;
pub mod database;
pub mod disk;
pub mod group;
pub mod ids;
pub mod log;
pub mod metadata;
pub mod node;
pub mod prng;
pub mod protocol;
pub mod purgatory;
pub mod quorum;
pub mod registry;
pub mod replication;
pub mod stage;
#[cfg(test)]
pub(crate) mod testkit;
pub mod time;
pub mod view;
