//! kafkasim-viz: the visualizer. The page runs the scenarios library — the same engine, the
//! same harness, the same checkers and narration as `kafkasim run` — and draws the trace:
//! a scenario and a seed give the same trace hash here as on the command line.
//!
//! [`model`] holds what the page knows (plain Rust, tested natively); [`ui`] draws it with
//! yew. No Kafka logic lives here: every rule is the engine's, every fact is read from the
//! trace.
#![warn(missing_docs)]

pub mod model;
pub mod ui;

/// The page's entry point: mount the app on `<body>`.
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<ui::App>::new().render();
}
