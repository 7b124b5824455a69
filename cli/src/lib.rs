//! The parts of the `kafkasim` command line that are worth testing in-process.
//!
//! The binary (`src/main.rs`) is the command line itself; this library holds what its
//! integration tests drive directly rather than through a child process: the static server
//! of `kafkasim viz`, which tests bind on a free port and stop after a few seconds.

pub mod serve;
