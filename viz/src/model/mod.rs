//! Everything the page knows, as plain Rust with no browser in it: a loaded run, the cursor
//! over it, the ladders drawn from the state there, the URL. Tested natively; the
//! components in [`crate::ui`] only draw what this computes.

pub mod findings;
pub mod knobs;
pub mod ladder;
pub mod loaded;
pub mod marks;
pub mod player;
pub mod url;

#[cfg(test)]
mod tests;
