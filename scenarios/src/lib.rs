//! kafkasim-scenarios: scenario files, workloads, checkers and the `kafkasim` CLI.
#![warn(missing_docs)]

pub mod checkers;
pub mod harness;
pub mod model;
pub mod narrate;
