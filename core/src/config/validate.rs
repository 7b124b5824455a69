//! Checks across properties: settings that are each valid but cannot hold together.
//!
//! A single property is checked when it is set ([`super::properties`]); some rules need
//! several. Kafka runs them once the whole configuration is parsed and throws a
//! `ConfigException` before the client starts: a misconfigured producer never sends a record.
//! kafkasim does the same, with [`ConfigConflict`] for the exception.
//!
//! ## The idempotent producer (KIP-98)
//!
//! Idempotence lets a broker drop a retried batch it already has, by its producer id and
//! sequence number. That only works if the producer retries (`retries > 0`), waits for every
//! in-sync replica (`acks=all`: a batch acknowledged by the leader alone can vanish with it,
//! and its sequence numbers with it) and keeps at most five batches in flight per connection
//! (the broker remembers the last five per partition). Asking for idempotence explicitly
//! (`enable.idempotence=true`) with any of these unmet is an error; leaving it unset lets the
//! producer turn idempotence off quietly instead ([`ProducerConfig::idempotent`]).
//!
//! Reference: `ProducerConfig.postProcessAndValidateIdempotenceConfigs`, whose messages are
//! "Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee
//! idempotence.", "Must set retries to non-zero when using the idempotent producer." and "To use
//! the idempotent producer, max.in.flight.requests.per.connection must be set to at most 5."
//! Two differences from Kafka, kept so every scenario runs as before: when several settings
//! conflict, kafkasim names `acks` first, then the requests in flight, then `retries` (Kafka
//! checks `retries` first); and with idempotence left unset, more than five requests in flight
//! turn it off here, where Kafka (since 3.0) still refuses the configuration.

use super::{Acks, BrokerConfig, ProducerConfig};
use std::fmt;

/// The most requests in flight per connection an idempotent producer may have: the broker keeps
/// the metadata of the last five batches of each producer, per partition, to spot duplicates.
pub const MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_FOR_IDEMPOTENCE: u32 = 5;

/// Kafka's `ConfigException` for settings that cannot hold together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigConflict {
    /// The property the user asked for that cannot be honoured (`enable.idempotence`).
    pub property: &'static str,
    /// The property that stands in its way (`acks`).
    pub conflicts_with: &'static str,
    /// What to change.
    pub message: &'static str,
}

impl fmt::Display for ConfigConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for ConfigConflict {}

/// Check a producer's configuration once every property is set.
pub fn producer(config: &ProducerConfig) -> Result<(), ConfigConflict> {
    if config.enable_idempotence != Some(true) {
        return Ok(());
    }
    let conflict = |conflicts_with, message| ConfigConflict {
        property: "enable.idempotence",
        conflicts_with,
        message,
    };
    if config.acks != Acks::All {
        Err(conflict(
            "acks",
            "must set acks to all in order to use the idempotent producer",
        ))
    } else if config.max_in_flight_requests_per_connection
        > MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_FOR_IDEMPOTENCE
    {
        Err(conflict(
            "max.in.flight.requests.per.connection",
            "must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer",
        ))
    } else if config.retries == 0 {
        Err(conflict(
            "retries",
            "must set retries to a non-zero value to use the idempotent producer",
        ))
    } else {
        Ok(())
    }
}

/// Check a broker's configuration once every property is set: the relations Kafka's
/// `KafkaConfig.validateValues` requires of the replica fetcher, with its messages. A follower
/// whose fetch may wait longer than `replica.lag.time.max.ms` would drop out of the ISR while
/// its long poll is merely waiting, and one whose socket times out before its fetch may
/// answer would reconnect for nothing.
pub fn broker(config: &BrokerConfig) -> Result<(), ConfigConflict> {
    if config.replica_fetch_wait_max_ms > config.replica_socket_timeout_ms {
        Err(ConfigConflict {
            property: "replica.fetch.wait.max.ms",
            conflicts_with: "replica.socket.timeout.ms",
            message: "replica.socket.timeout.ms should always be at least replica.fetch.wait.max.ms to prevent unnecessary socket timeouts",
        })
    } else if config.replica_fetch_wait_max_ms > config.replica_lag_time_max_ms {
        Err(ConfigConflict {
            property: "replica.fetch.wait.max.ms",
            conflicts_with: "replica.lag.time.max.ms",
            message: "replica.fetch.wait.max.ms should always be less than or equal to replica.lag.time.max.ms to prevent frequent changes in ISR",
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: Kafka's `KafkaConfig.validateValues` (the `require`s on
    /// `replica.fetch.wait.max.ms`) and `KafkaConfigTest`.
    #[test]
    fn broker_fetcher_relations() {
        let with = |wait, socket, lag| BrokerConfig {
            replica_fetch_wait_max_ms: wait,
            replica_socket_timeout_ms: socket,
            replica_lag_time_max_ms: lag,
            ..BrokerConfig::default()
        };
        assert_eq!(
            broker(&BrokerConfig::default()),
            Ok(()),
            "Kafka's defaults hold"
        );
        assert_eq!(broker(&with(500, 500, 500)), Ok(()), "equal is allowed");
        let socket = broker(&with(1000, 999, 30_000)).unwrap_err();
        assert_eq!(socket.conflicts_with, "replica.socket.timeout.ms");
        let lag = broker(&with(2000, 30_000, 1999)).unwrap_err();
        assert_eq!(lag.conflicts_with, "replica.lag.time.max.ms");
        assert!(lag.message.contains("prevent frequent changes in ISR"));
    }

    fn idempotent() -> ProducerConfig {
        ProducerConfig {
            enable_idempotence: Some(true),
            ..ProducerConfig::default()
        }
    }

    /// Kafka's defaults make an idempotent producer (KIP-679, Kafka 3.0).
    #[test]
    fn the_defaults_hold_together() {
        assert_eq!(producer(&ProducerConfig::default()), Ok(()));
        assert_eq!(producer(&idempotent()), Ok(()));
        assert!(ProducerConfig::default().idempotent());
    }

    /// Reference: ProducerConfig.java, "Must set acks to all in order to use the idempotent
    /// producer. Otherwise we cannot guarantee idempotence."
    #[test]
    fn acks_other_than_all() {
        for acks in [Acks::Zero, Acks::One] {
            let error = producer(&ProducerConfig {
                acks,
                ..idempotent()
            })
            .unwrap_err();
            assert_eq!(
                (error.property, error.conflicts_with),
                ("enable.idempotence", "acks")
            );
            assert!(
                error
                    .to_string()
                    .contains("acks to all in order to use the idempotent producer")
            );
        }
    }

    /// Reference: ProducerConfig.java, "To use the idempotent producer,
    /// max.in.flight.requests.per.connection must be set to at most 5."
    #[test]
    fn more_than_five_in_flight() {
        let five = ProducerConfig {
            max_in_flight_requests_per_connection: 5,
            ..idempotent()
        };
        assert_eq!(producer(&five), Ok(()));
        let six = ProducerConfig {
            max_in_flight_requests_per_connection: 6,
            ..idempotent()
        };
        let error = producer(&six).unwrap_err();
        assert_eq!(
            error.conflicts_with,
            "max.in.flight.requests.per.connection"
        );
        assert!(error.to_string().contains("at most 5"));
    }

    /// Reference: ProducerConfig.java, "Must set retries to non-zero when using the idempotent
    /// producer."
    #[test]
    fn no_retries() {
        let error = producer(&ProducerConfig {
            retries: 0,
            ..idempotent()
        })
        .unwrap_err();
        assert_eq!(error.conflicts_with, "retries");
        assert!(error.to_string().contains("retries to a non-zero value"));
    }

    /// Left unset, idempotence gives way quietly (Kafka logs "Idempotence will be disabled
    /// because acks is set to 1"); explicitly off, nothing is checked.
    #[test]
    fn unset_or_off_is_never_an_error() {
        for enable_idempotence in [None, Some(false)] {
            let config = ProducerConfig {
                acks: Acks::One,
                retries: 0,
                max_in_flight_requests_per_connection: 10,
                enable_idempotence,
                ..ProducerConfig::default()
            };
            assert_eq!(producer(&config), Ok(()));
            assert!(!config.idempotent());
        }
    }

    /// With several conflicts, kafkasim names `acks` first (see the module documentation).
    #[test]
    fn acks_is_named_first() {
        let config = ProducerConfig {
            acks: Acks::One,
            retries: 0,
            max_in_flight_requests_per_connection: 6,
            ..idempotent()
        };
        assert_eq!(producer(&config).unwrap_err().conflicts_with, "acks");
    }
}
