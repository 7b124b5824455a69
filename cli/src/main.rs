//! `kafkasim`, the command line of the simulation: list, show, run, sweep and bench scenarios;
//! see `kafkasim --help`.
//!
//! Everything it runs comes from the `kafkasim-scenarios` library, which the browser uses too;
//! this package adds only what a terminal needs: argument parsing (clap), a progress bar
//! (indicatif), files, and the wall clock of `kafkasim bench`.

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
