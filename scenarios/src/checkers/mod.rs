//! Checkers: named judgements over a run's history, each after its source.

/// Every checker a scenario may name in `[expect]`, with a one-line explanation.
pub const KNOWN: &[(&str, &str)] = &[
    (
        "lost-write",
        "an acknowledged record below the highest polled offset was never polled (Jepsen)",
    ),
    (
        "unseen",
        "an acknowledged record was never polled by the end of the run (Jepsen)",
    ),
    (
        "inconsistent-offsets",
        "one offset of one partition was seen holding two different values (Jepsen)",
    ),
    ("duplicate", "one value was seen at two offsets (Jepsen)"),
    (
        "nonmonotonic-poll",
        "a consumer's successive polls of a partition went backwards (Jepsen)",
    ),
    (
        "fsynced-survives",
        "every record fsynced before a crash is still in the log after recovery",
    ),
    (
        "no-corrupt-read",
        "no consumer was ever served a batch that fails its CRC",
    ),
    (
        "offsets-dense",
        "every partition the consumers read holds dense, increasing offsets",
    ),
];

/// Whether `name` is a checker.
pub fn is_known(name: &str) -> bool {
    KNOWN.iter().any(|(n, _)| *n == name)
}
