//! kafkasim-scenarios: scenario files, workloads, checkers, narration and the `kafkasim` CLI.
#![warn(missing_docs)]

pub mod bench;
pub mod catalog;
pub mod checkers;
pub mod cli;
pub mod error;
pub mod format;
pub mod harness;
pub mod model;
pub mod narrate;
