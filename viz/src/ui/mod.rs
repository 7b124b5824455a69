//! The page's components. They draw what [`crate::model`] computes, nothing more.

mod app;
mod browser;
mod cluster;
mod groups;
mod ladder;
mod legend;
mod picker;
mod state;
mod story;
mod transport;

pub use app::App;
