//! `kafkasim`, the command line of the simulation: list, show, run, check, sweep and bench
//! scenarios, and serve the browser visualizer; see `kafkasim --help`.
//!
//! Everything it runs comes from the `kafkasim-scenarios` library, which the browser uses too;
//! this package adds only what a terminal needs: argument parsing (clap), a progress bar
//! (indicatif), files, the wall clock of `kafkasim bench` and the static server of
//! `kafkasim viz` (the package's library, `src/serve.rs`).

mod bench;
mod cli;

fn main() {
    let code = cli::main_with(
        std::env::args(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::exit(code);
}
