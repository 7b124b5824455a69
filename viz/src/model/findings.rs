//! Where in a run each checker's anomaly becomes provable.
//!
//! A checker judges a history; the history of a prefix of the trace is what a reader knows
//! at that line. So the first line at which a checker finds something is the first prefix
//! whose judgement has a finding — found by bisection over prefixes, a dozen judgements per
//! firing checker. A checker that judges the run's end state ("never polled by the end of
//! the run") proves nothing on a prefix: its findings belong to the last line. The predicate is "the prefix's judgement has the whole run's finding,
//! word for word": a prefix can seem to show other anomalies (a record acknowledged and not
//! read *yet*), which the rest of the run withdraws. Where even that predicate is not
//! monotone, bisection lands on *a* line whose prefix proves the finding, not always the
//! first; every line it returns does prove it.

use kafkasim_core::time::Instant;
use kafkasim_scenarios::checkers;
use kafkasim_scenarios::harness::{self, Verdict};
use kafkasim_scenarios::trace::{Header, Line};

/// A checker's finding and the line from which the trace proves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The checker.
    pub checker: String,
    /// Its first finding on the whole run.
    pub text: String,
    /// The first line at which a judgement of the trace so far finds it.
    pub line: usize,
    /// That line's simulated time.
    pub time: Instant,
    /// Whether the scenario expects this anomaly (a before-the-fix scenario shows it on
    /// purpose).
    pub expected: bool,
}

/// The findings of `verdicts` (judged on the whole of `lines`), each with its first line.
pub fn locate(header: &Header, lines: &[Line], verdicts: &[Verdict]) -> Vec<Finding> {
    verdicts
        .iter()
        .filter(|v| !v.findings.is_empty())
        .filter_map(|v| {
            let text = &v.findings[0];
            let at_end = checkers::find(&v.checker).is_some_and(|c| c.at_end);
            let line = if at_end {
                lines.len()
            } else {
                first_prefix(lines.len(), |n| {
                    finds(header, &lines[..n], &v.checker, text)
                })?
            };
            Some(Finding {
                checker: v.checker.clone(),
                text: v.findings[0].clone(),
                line: line - 1,
                time: lines[line - 1].time,
                expected: v.expectation == Some(true),
            })
        })
        .collect()
}

/// Whether `checker` finds exactly `text` in the trace `lines`: the same anomaly as on the
/// whole run, not another that a prefix only seems to show (a record acknowledged and not
/// read *yet* is not lost).
fn finds(header: &Header, lines: &[Line], checker: &str, text: &str) -> bool {
    harness::judge(header, lines)
        .verdicts
        .iter()
        .any(|v| v.checker == checker && v.findings.iter().any(|f| f == text))
}

/// The smallest `n` in `1..=len` with `holds(n)`, given that `holds(len)`; bisection.
fn first_prefix(len: usize, holds: impl Fn(usize) -> bool) -> Option<usize> {
    if len == 0 || !holds(len) {
        return None;
    }
    let (mut lo, mut hi) = (1, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if holds(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

/// The `partition@offset` pairs a finding's text names (`orders-0@115`), to highlight.
pub fn offsets_named(text: &str) -> Vec<(String, i64)> {
    let token = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let before = &text[..at];
        let start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| token(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let digits: String = text[at + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let partition = &text[start..at];
        let numbered = partition.rsplit_once('-').is_some_and(|(t, n)| {
            !t.is_empty() && !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())
        });
        if numbered && let Ok(offset) = digits.parse() {
            found.push((partition.to_string(), offset));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_read_from_a_findings_words() {
        assert_eq!(
            offsets_named("record 12 acknowledged at orders-0@115, gone; read orders-1@3."),
            vec![("orders-0".to_string(), 115), ("orders-1".to_string(), 3)]
        );
        assert!(offsets_named("user@host and x@ and -0@1").is_empty());
    }

    #[test]
    fn bisection_finds_the_first_prefix_of_a_monotone_predicate() {
        for first in 1..=20 {
            assert_eq!(first_prefix(20, |n| n >= first), Some(first));
        }
        assert_eq!(first_prefix(20, |_| false), None);
        assert_eq!(first_prefix(0, |_| true), None);
    }
}
