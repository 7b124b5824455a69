//! The cursor over a loaded run and the world's state there.
//!
//! Moving forward applies the next lines to the state in hand; any other move (back, a
//! jump, a reload) seeks through the trace's snapshots with the scenarios library's
//! [`Reducer`], so it costs at most one snapshot interval of lines however long the run.
//! Playing moves a clock in simulated time and applies the lines it passes; between two
//! lines the clock still runs, so messages in flight move smoothly along their links.

use super::loaded::Loaded;
use kafkasim_core::time::Instant;
use kafkasim_scenarios::trace::Kind;
use kafkasim_scenarios::view::{Reducer, WorldView};

/// The cursor and the state just after its line.
#[derive(Clone, Debug)]
pub struct Player {
    /// The line the state is just after.
    pub cursor: usize,
    /// The world's state there.
    pub view: WorldView,
    /// The simulated time shown: the cursor's line's time, or later while playing.
    pub clock: Instant,
}

impl Player {
    /// The first line the page can show: the first snapshot (a trace starts with one).
    pub fn first_line(loaded: &Loaded) -> usize {
        loaded
            .lines
            .iter()
            .position(|l| matches!(l.kind, Kind::Snapshot { .. }))
            .unwrap_or(0)
    }

    /// The state at line `line` (clamped into the run); none for a trace with no snapshot.
    pub fn at(loaded: &Loaded, line: usize) -> Option<Player> {
        let last = loaded.lines.len().checked_sub(1)?;
        let cursor = line.clamp(Self::first_line(loaded), last);
        let view = Reducer::new(&loaded.header, &loaded.lines).at_line(cursor)?;
        Some(Player {
            cursor,
            clock: view.time,
            view,
        })
    }

    /// Move to `line`: forward by applying lines when that is short, else by seeking.
    pub fn seek(&mut self, loaded: &Loaded, line: usize) {
        let last = loaded.lines.len().saturating_sub(1);
        let line = line.clamp(Self::first_line(loaded), last);
        if line > self.cursor && line - self.cursor <= 256 {
            while self.cursor < line {
                self.cursor += 1;
                self.view.apply(&loaded.lines[self.cursor]);
            }
            self.clock = self.view.time;
        } else if line != self.cursor
            && let Some(p) = Player::at(loaded, line)
        {
            *self = p;
        }
    }

    /// One line forward.
    pub fn step_forward(&mut self, loaded: &Loaded) {
        self.seek(loaded, self.cursor + 1);
    }

    /// One line back.
    pub fn step_back(&mut self, loaded: &Loaded) {
        self.seek(loaded, self.cursor.saturating_sub(1));
    }

    /// Run the clock to `time`, applying every line at or before it. Returns false at the
    /// end of the run.
    pub fn play_to(&mut self, loaded: &Loaded, time: Instant) -> bool {
        while let Some(next) = loaded.lines.get(self.cursor + 1) {
            if next.time > time {
                self.clock = time.max(self.view.time);
                return true;
            }
            self.cursor += 1;
            self.view.apply(next);
        }
        self.clock = self.view.time;
        false
    }

    /// Whether the cursor is on the last line.
    pub fn at_end(&self, loaded: &Loaded) -> bool {
        self.cursor + 1 >= loaded.lines.len()
    }
}
