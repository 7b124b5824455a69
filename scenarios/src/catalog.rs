//! The built-in scenarios: files in `scenarios/catalog/`, embedded in the binary so
//! `kafkasim run <name>` works anywhere. Users run their own files the same way.

/// `(name, text)` pairs for files named `<name>.toml` in `scenarios/catalog/`.
macro_rules! catalog {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../catalog/", $name, ".toml")))),*]
    };
}

/// Every built-in scenario: (name, file text), in the order `kafkasim list` shows them.
pub const BUILTIN: &[(&str, &str)] = catalog![
    "db-crash-recovery",
    "standby-promotion",
    "logical-decoding",
    "cdc-pipeline",
    "connector-crash-resume",
    "retention-consumer-falls-behind",
    "decoupled-pipelines",
    "compaction-rebuild",
    "schema-evolution",
    "raw-clean-aggregated",
    "wal-recovery",
    "leader-failover",
    "min-isr-unavailable",
    "acks1-loss",
    "follower-lag-isr",
    "unclean-election-loss",
    "zombie-leader",
    "controller-failover",
    "kip-101-hw-truncation",
    "kip-101-hw-truncation-fixed",
    "kip-101-power-loss-divergence",
    "kip-101-power-loss-divergence-fixed",
    "idempotent-retry",
    "idempotent-retry-fixed",
    "inflight-reorder",
    "inflight-reorder-fixed",
    "kip-320-truncation-detection",
    "kip-320-truncation-detection-legacy",
    "kip-966-last-replica-standing",
    "kip-966-last-replica-standing-fixed",
    "rolling-restart-controlled",
    "rolling-restart-uncontrolled",
    "preferred-leader-election",
    "consumer-join-rebalance",
    "consumer-crash-rebalance",
    "coordinator-failover",
    "zombie-consumer",
    "zombie-consumer-partitioned",
    "static-membership-bounce",
    "eager-vs-cooperative",
    "auto-commit-redelivery",
];

/// The text of the built-in scenario `name`.
pub fn find(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The names of every built-in scenario.
pub fn names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each built-in file parses, and is filed under the name it declares.
    #[test]
    fn every_builtin_parses_under_its_own_name() {
        for (name, text) in BUILTIN {
            let scenario = crate::format::parse(&format!("builtin:{name}"), text)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&scenario.name, name);
            assert!(
                !scenario.description.trim().is_empty(),
                "{name} has no description"
            );
        }
    }
}
