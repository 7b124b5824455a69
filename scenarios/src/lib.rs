//! kafkasim-scenarios: what to run and how to judge it — scenario files, the harness that runs
//! them on the simulated world, the checkers and the narration.
//!
//! Everything here is a library with no terminal, file or clock of its own, so it builds for
//! `wasm32-unknown-unknown`: the browser runs a scenario with exactly the code the `kafkasim`
//! command line (the `kafkasim-cli` package) runs, and gets the same trace hash.
#![warn(missing_docs)]

pub mod catalog;
pub mod checkers;
pub mod error;
pub mod format;
pub mod harness;
pub mod logs;
pub mod model;
pub mod narrate;
pub mod nemesis;
pub mod overrides;
pub mod pipeline;
pub mod trace;
pub mod view;
pub mod workload;
