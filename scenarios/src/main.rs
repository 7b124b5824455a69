//! The `kafkasim` command line; see `kafkasim --help`.
fn main() {
    let code = kafkasim_scenarios::cli::main_with(
        std::env::args(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::exit(code);
}
