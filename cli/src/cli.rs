//! The `kafkasim` command line: list, show, run, check, sweep and bench scenarios, and serve
//! the browser visualizer.
//!
//! Exit codes: 0 when the run met its scenario's expectations, 1 when a checker verdict
//! failed, 2 for bad input (unknown scenario, unreadable or invalid file, bad flag). Errors go
//! to stderr as `error: ...`; nothing panics on user input.

use clap::{Parser, Subcommand};
use kafkasim_cli::serve;
use kafkasim_core::time::Instant;
use kafkasim_scenarios::harness::{self, RunOptions, RunReport, Verdict};
use kafkasim_scenarios::model::Scenario;
use kafkasim_scenarios::trace::Header;
use kafkasim_scenarios::view::{Reducer, WorldView};
use kafkasim_scenarios::{catalog, format, narrate, overrides, trace};
use kafkasim_sim::trace::hash_hex;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// kafkasim: a deterministic simulation of Apache Kafka, for learning and fault injection.
///
/// Brokers, producers and consumers run on a simulated network, clock and disk. A scenario
/// plus a seed always gives the same run — the same trace, byte for byte — so any run you
/// see can be replayed, shared and debugged.
#[derive(Parser, Debug)]
#[command(name = "kafkasim", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Cmd,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// List the built-in scenarios.
    List,
    /// Print a built-in scenario's file, to read or to copy and edit.
    ///
    /// Example: kafkasim show wal-recovery > my.toml
    Show {
        /// A built-in scenario name (see `kafkasim list`).
        name: String,
    },
    /// Run a scenario and judge it.
    ///
    /// Prints the run's parameters (including what the seed decided), a timeline of what
    /// mattered, a summary in Kafka's terms, each checker's verdict, the trace hash and a
    /// one-line repro command. The seed drives every random choice: network jitter, how a
    /// power loss tears the last write. Same scenario + same seed = same trace hash.
    ///
    /// With --at, prints instead the timeline up to that moment and the state of the world
    /// then: every node, the cut links, the messages in flight, each partition's replicas
    /// (role, leader epoch, log start, log end, high watermark, ISR, offsets by epoch), the
    /// groups, the controllers and the consumers.
    ///
    /// Examples:
    ///   kafkasim run wal-recovery --seed 7
    ///   kafkasim run my.toml --seed 3 --trace run.jsonl
    ///   kafkasim run leader-failover --seed 1 --at 6s
    #[command(verbatim_doc_comment)]
    Run {
        /// A built-in scenario name, or the path of a scenario file (.toml).
        scenario: String,
        /// The seed of the run (any 64-bit unsigned integer).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write the full trace as JSON Lines to this file (one event per line).
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Print only the verdicts, the trace hash and the repro line.
        #[arg(long)]
        quiet: bool,
        /// Print the state of the world at this moment of the run (e.g. 6s, 6.2s, 6200ms).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Set a Kafka property on every node that reads it, on top of the scenario file
        /// (e.g. --set acks=1 --set unclean.leader.election.enable=true). Repeatable.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
    },
    /// Judge a saved trace again: the same verdicts as the run that wrote it.
    ///
    /// Reads a trace written by `kafkasim run --trace FILE` and judges it from its lines
    /// alone — no scenario file, no simulation: what was sent, acknowledged, polled,
    /// written and elected is all in the trace. Prints the verdicts and the trace hash (the
    /// run's, if the file is unchanged). With --at, prints the state of the world at that
    /// moment, as `kafkasim run --at` does.
    ///
    /// Examples:
    ///   kafkasim run leader-failover --seed 1 --trace t.jsonl && kafkasim check t.jsonl
    ///   kafkasim check t.jsonl --at 6s
    #[command(verbatim_doc_comment)]
    Check {
        /// The trace file (JSON Lines).
        trace: PathBuf,
        /// Print the state of the world at this moment of the run instead of the verdicts.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Run a scenario over many seeds and report every seed whose expectations failed.
    ///
    /// Each seed is a different run: other network jitter, other torn writes. A sweep is how
    /// to find the rare interleaving; each failure comes with its repro command.
    ///
    /// Example: kafkasim sweep leader-failover --seeds 500
    Sweep {
        /// A built-in scenario name, or the path of a scenario file (.toml).
        scenario: String,
        /// How many seeds.
        #[arg(long, default_value_t = 100)]
        seeds: u64,
        /// The first seed.
        #[arg(long, default_value_t = 0)]
        from: u64,
    },
    /// Measure the engine's raw speed: simulated events per wall-clock second.
    ///
    /// Two nodes play ping-pong through the simulated network; each delivery is one event.
    Bench {
        /// Events per measurement.
        #[arg(long, default_value_t = 5_000_000)]
        events: u64,
    },
    /// Serve the browser visualizer on http://127.0.0.1:PORT/ (build it with ./scripts/viz).
    ///
    /// A static server of the built app (index.html, the JavaScript glue and the wasm
    /// module): the simulation itself runs in the browser. It listens on 127.0.0.1 only and
    /// serves only the files that are in DIR when it starts. `./scripts/viz` builds the app
    /// and runs this.
    ///
    /// Example: kafkasim viz --port 8080 --dir viz/dist
    Viz {
        /// The port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The directory of the built app (written by ./scripts/viz).
        #[arg(long, value_name = "DIR", default_value = "viz/dist")]
        dir: PathBuf,
        /// Stop serving after this many seconds (tests use it; default: serve until killed).
        #[arg(long, value_name = "SECONDS")]
        exit_after: Option<u64>,
    },
}

/// A user error: printed as `error: ...`, exit code 2.
#[derive(Debug)]
pub struct UserError(pub String);

/// Run the CLI with `args`, writing to `out`; returns the exit code.
pub fn main_with(
    args: impl IntoIterator<Item = String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = if e.use_stderr() {
                write!(err, "{e}")
            } else {
                write!(out, "{e}")
            };
            return code;
        }
    };
    match execute(cli.command, out) {
        Ok(code) => code,
        Err(UserError(message)) => {
            let _ = writeln!(err, "error: {message}");
            2
        }
    }
}

fn execute(command: Cmd, out: &mut dyn Write) -> Result<i32, UserError> {
    match command {
        Cmd::List => {
            let width = catalog::BUILTIN
                .iter()
                .map(|(n, _)| n.len())
                .max()
                .unwrap_or(0);
            for (name, text) in catalog::BUILTIN {
                let title = format::parse(name, text)
                    .map(|s| s.title)
                    .unwrap_or_default();
                let _ = writeln!(out, "{name:<width$}  {title}");
            }
            Ok(0)
        }
        Cmd::Show { name } => {
            let text = catalog::find(&name).ok_or_else(|| unknown_scenario(&name))?;
            let _ = write!(out, "{text}");
            Ok(0)
        }
        Cmd::Run {
            scenario,
            seed,
            trace,
            quiet,
            at,
            sets,
        } => {
            let at = at.as_deref().map(parse_moment).transpose()?;
            let scenario_spec = load_with(&scenario, &sets)?;
            run(
                &scenario,
                scenario_spec,
                seed,
                trace.as_deref(),
                quiet,
                at,
                out,
            )
        }
        Cmd::Check { trace, at } => {
            let at = at.as_deref().map(parse_moment).transpose()?;
            check(&trace, at, out)
        }
        Cmd::Sweep {
            scenario,
            seeds,
            from,
        } => sweep(&scenario, from, seeds, out),
        Cmd::Bench { events } => {
            crate::bench::run(events, out);
            crate::bench::scenarios(out);
            Ok(0)
        }
        Cmd::Viz {
            port,
            dir,
            exit_after,
        } => viz(&dir, port, exit_after.map(Duration::from_secs), out),
    }
}

/// The scenario whose URL `kafkasim viz` prints: the visualizer's showcase, a leader failover.
const VIZ_SHOWCASE: &str = "?scenario=leader-failover&seed=1";

/// `kafkasim viz`: serve `dir` on 127.0.0.1:`port`, for `limit` or until killed.
fn viz(
    dir: &Path,
    port: u16,
    limit: Option<Duration>,
    out: &mut dyn Write,
) -> Result<i32, UserError> {
    let server = serve::Server::bind(dir, port).map_err(|e| UserError(e.to_string()))?;
    let addr = server
        .local_addr()
        .map_err(|e| UserError(format!("cannot read the listening address: {e}")))?;
    let url = format!("http://{addr}/");
    let _ = writeln!(out, "kafkasim visualizer: {url}");
    let _ = writeln!(out, "  a leader failover: {url}{VIZ_SHOWCASE}");
    let _ = writeln!(out, "  serving {} (Ctrl-C stops)", dir.display());
    // Whoever waits for the URL line (a test, a script) must see it before the first request.
    let _ = out.flush();
    match limit {
        Some(limit) => server.run_for(limit),
        None => server.run_forever(),
    }
    Ok(0)
}

fn unknown_scenario(name: &str) -> UserError {
    UserError(format!(
        "unknown scenario `{name}`; built-in scenarios: {} (or give the path of a .toml file)",
        catalog::names().join(", ")
    ))
}

fn looks_like_path(s: &str) -> bool {
    s.contains('/') || s.contains('\\') || s.ends_with(".toml") || Path::new(s).is_file()
}

/// [`load`], then the `--set` overrides on top.
fn load_with(name: &str, sets: &[String]) -> Result<Scenario, UserError> {
    let mut scenario = load(name)?;
    for set in sets {
        let (property, value) =
            overrides::parse(set).map_err(|e| UserError(format!("--set {e}")))?;
        overrides::apply(&mut scenario, &property, &value)
            .map_err(|e| UserError(format!("--set {e}")))?;
    }
    Ok(scenario)
}

/// Find and parse a scenario by built-in name or path.
fn load(name: &str) -> Result<Scenario, UserError> {
    let (source, text) = match catalog::find(name) {
        Some(text) if !Path::new(name).is_file() => (format!("builtin:{name}"), text.to_string()),
        _ if looks_like_path(name) => {
            let text = std::fs::read_to_string(name)
                .map_err(|e| UserError(format!("cannot read {name}: {e}")))?;
            (name.to_string(), text)
        }
        _ => return Err(unknown_scenario(name)),
    };
    format::parse(&source, &text).map_err(|e| UserError(e.to_string()))
}

/// Run seeds `from..from+count`; print a progress bar on a terminal, then the failures.
fn sweep(name: &str, from: u64, count: u64, out: &mut dyn Write) -> Result<i32, UserError> {
    let scenario = load(name)?;
    let progress = indicatif::ProgressBar::new(count);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut failures = Vec::new();
    let mut events = 0;
    for seed in from..from.saturating_add(count) {
        let report = harness::run(&scenario, RunOptions { seed, trace: None })
            .map_err(|e| UserError(format!("run failed: {e}")))?;
        events += report.events;
        if !report.passed() {
            let failed: Vec<String> = report
                .verdicts
                .iter()
                .filter(|v| !v.ok())
                .map(|v| v.checker.clone())
                .collect();
            failures.push((seed, failed));
        }
        progress.set_message(format!("{} failed", failures.len()));
        progress.inc(1);
    }
    progress.finish_and_clear();
    let _ = writeln!(
        out,
        "{name}: {} of {count} seeds met the scenario's expectations ({events} events simulated)",
        count - failures.len() as u64
    );
    for (seed, failed) in &failures {
        let _ = writeln!(
            out,
            "  seed {seed}: {} — repro: kafkasim run {name} --seed {seed}",
            failed.join(", ")
        );
    }
    Ok(if failures.is_empty() { 0 } else { 1 })
}

fn parse_moment(text: &str) -> Result<Instant, UserError> {
    text.parse::<Instant>()
        .map_err(|e| UserError(format!("--at: {e}")))
}

fn run(
    name: &str,
    scenario: Scenario,
    seed: u64,
    trace: Option<&Path>,
    quiet: bool,
    at: Option<Instant>,
    out: &mut dyn Write,
) -> Result<i32, UserError> {
    let repro = overrides::repro(name, seed, &scenario.overrides);
    let writer: Option<Box<dyn Write>> = match trace {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| {
                UserError(format!("cannot create trace file {}: {e}", path.display()))
            })?;
            Some(Box::new(std::io::BufWriter::new(file)))
        }
        None => None,
    };
    let options = RunOptions {
        seed,
        trace: writer,
    };
    let simulation = harness::simulate(&scenario, options)
        .map_err(|e| UserError(format!("writing the trace failed: {e}")))?;
    if let Some(at) = at {
        let end = Instant::from_millis(scenario.duration_ms);
        if at > end {
            return Err(UserError(format!(
                "--at {at} is after the end of the run ({end}, the scenario's duration)"
            )));
        }
        let timeline = narrate::timeline(simulation.lines());
        print_moment(&simulation.header, &timeline, simulation.at(at), at, out);
        let hash = simulation.world.trace().hash_hex();
        let _ = writeln!(out, "\ntrace hash: {}", &hash[..16]);
        let _ = writeln!(out, "repro: {repro} --at {at}");
        return Ok(0);
    }
    let report = simulation.report();
    print_report(&report, quiet, out);
    if let Some(path) = trace {
        let _ = writeln!(out, "trace written to {}", path.display());
    }
    let _ = writeln!(out, "repro: {repro}");
    Ok(if report.passed() { 0 } else { 1 })
}

/// The timeline up to `at`, then the world's state at `at`.
fn print_moment(
    header: &Header,
    timeline: &[String],
    view: Option<WorldView>,
    at: Instant,
    out: &mut dyn Write,
) {
    let _ = writeln!(out, "== timeline up to {at}");
    for line in timeline {
        // Each line starts with its time, or a time range (`1.000s..1.200s`).
        let when = line.split(' ').next().unwrap_or_default();
        let first = when.split("..").next().unwrap_or(when);
        if first.parse::<Instant>().is_ok_and(|t| t > at) {
            break;
        }
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "\n== the world at {at}");
    match view {
        Some(view) => {
            for line in narrate::moment(header, &view) {
                let _ = writeln!(out, "  {line}");
            }
        }
        None => {
            let _ = writeln!(out, "  (the trace has no snapshot before this moment)");
        }
    }
}

/// `kafkasim check`: judge a saved trace again, or print a moment of it.
fn check(path: &Path, at: Option<Instant>, out: &mut dyn Write) -> Result<i32, UserError> {
    let file = std::fs::File::open(path)
        .map_err(|e| UserError(format!("cannot read {}: {e}", path.display())))?;
    let saved = trace::read(std::io::BufReader::new(file))
        .map_err(|e| UserError(format!("{}: {e}", path.display())))?;
    let h = &saved.header;
    if let Some(at) = at {
        let timeline = narrate::timeline(&saved.lines);
        print_moment(
            h,
            &timeline,
            Reducer::new(h, &saved.lines).at_time(at),
            at,
            out,
        );
        return Ok(0);
    }
    let _ = writeln!(
        out,
        "trace of {} (seed {}), written by {}: {} lines",
        h.scenario,
        h.seed,
        h.engine,
        saved.lines.len() + 1
    );
    let judged = harness::judge(h, &saved.lines);
    let passed = judged.verdicts.iter().all(|v| v.ok());
    print_verdicts(&judged.verdicts, false, out);
    let _ = writeln!(out, "\nresult: {}", if passed { "PASS" } else { "FAIL" });
    let bytes = std::fs::read(path)
        .map_err(|e| UserError(format!("cannot read {}: {e}", path.display())))?;
    let _ = writeln!(out, "trace hash: {}", &hash_hex(&bytes)[..16]);
    Ok(if passed { 0 } else { 1 })
}

fn print_report(report: &RunReport, quiet: bool, out: &mut dyn Write) {
    if !quiet {
        let _ = writeln!(out, "== parameters");
        for line in &report.parameters {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out, "\n== timeline");
        for line in &report.timeline {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out, "\n== summary");
        for line in &report.summary {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out);
    }
    print_verdicts(&report.verdicts, quiet, out);
    let _ = writeln!(
        out,
        "\nresult: {}",
        if report.passed() { "PASS" } else { "FAIL" }
    );
    let _ = writeln!(out, "events: {}", report.events);
    let _ = writeln!(out, "trace hash: {}", &report.trace_hash[..16]);
}

fn print_verdicts(verdicts: &[Verdict], quiet: bool, out: &mut dyn Write) {
    let _ = writeln!(out, "== checkers");
    for v in verdicts {
        let verdict = match (v.expectation, v.ok()) {
            (Some(true), true) => "ok (anomaly expected, found)",
            (Some(true), false) => "FAILED (anomaly expected, not found)",
            (Some(false), true) => "ok",
            (Some(false), false) => "FAILED",
            (None, _) if v.findings.is_empty() => "none (not judged)",
            (None, _) => "found (not judged)",
        };
        let _ = writeln!(
            out,
            "  {:<22} {verdict}{}",
            v.checker,
            count(v.findings.len())
        );
        let limit = if quiet { 3 } else { 5 };
        for finding in v.findings.iter().take(limit) {
            let _ = writeln!(out, "      {finding}");
        }
        if v.findings.len() > limit {
            let _ = writeln!(out, "      ... and {} more", v.findings.len() - limit);
        }
    }
}

fn count(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(": {n} finding(s)")
    }
}
