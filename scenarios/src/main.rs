//! The `kafkasim` command line.
fn main() {}
