//! The knobs the scenario picker offers: the properties a learner turns to see a story change.
//! Each is a Kafka property (or a `kafkasim.legacy.*` fix switch) set on every node that
//! reads it, exactly as `kafkasim run --set` does.

/// A knob: a property and the values offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Knob {
    /// The property.
    pub property: &'static str,
    /// What it does, in a few words (the knob's label).
    pub label: &'static str,
    /// The values offered (the first option, "as the scenario says", is implied).
    pub values: &'static [&'static str],
    /// What it changes (the knob's tooltip).
    pub help: &'static str,
}

/// The knobs, in the picker's order.
pub const KNOBS: &[Knob] = &[
    Knob {
        property: "acks",
        help: "Producer acks: 0 no answer, 1 the leader alone, all every in-sync replica",
        label: "acks",
        values: &["0", "1", "all"],
    },
    Knob {
        property: "min.insync.replicas",
        help: "Broker: with acks=all, how many ISR members must have a record before it is acknowledged",
        label: "min.insync.replicas",
        values: &["1", "2", "3"],
    },
    Knob {
        property: "unclean.leader.election.enable",
        help: "Controller: may an out-of-sync replica become leader when no ISR member is left (availability over durability)",
        label: "unclean.leader.election.enable",
        values: &["false", "true"],
    },
    Knob {
        property: "kafkasim.legacy.truncate.to.high.watermark",
        help: "kafkasim.legacy.truncate.to.high.watermark: a new follower cuts its log to its own high watermark, as Kafka did before KIP-101",
        label: "pre-KIP-101",
        values: &["false", "true"],
    },
    Knob {
        property: "kafkasim.legacy.pre.kip279.truncation",
        help: "kafkasim.legacy.pre.kip279.truncation: one OffsetForLeaderEpoch round trip only, as before KIP-279",
        label: "pre-KIP-279",
        values: &["false", "true"],
    },
    Knob {
        property: "kafkasim.legacy.pre.kip320",
        help: "kafkasim.legacy.pre.kip320: the consumer does not check for log truncation after a leader change, as before KIP-320",
        label: "pre-KIP-320",
        values: &["false", "true"],
    },
];

/// The value `sets` gives `property`, if any (the last one wins, as on a command line).
pub fn value_in<'s>(sets: &'s [String], property: &str) -> Option<&'s str> {
    sets.iter()
        .rev()
        .filter_map(|s| s.split_once('='))
        .find(|(k, _)| *k == property)
        .map(|(_, v)| v)
}

/// `sets` with `property` set to `value`, or removed when `value` is `None`.
pub fn with(sets: &[String], property: &str, value: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = sets
        .iter()
        .filter(|s| s.split_once('=').is_none_or(|(k, _)| k != property))
        .cloned()
        .collect();
    if let Some(v) = value {
        out.push(format!("{property}={v}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_is_a_property_some_role_reads() {
        let text = kafkasim_scenarios::catalog::find("leader-failover").unwrap();
        let scenario = kafkasim_scenarios::format::parse("builtin:leader-failover", text).unwrap();
        for knob in KNOBS {
            for value in knob.values {
                let (name, v) =
                    kafkasim_scenarios::overrides::parse(&format!("{}={value}", knob.property))
                        .unwrap();
                let mut s = scenario.clone();
                let r = kafkasim_scenarios::overrides::apply(&mut s, &name, &v);
                // acks=0/1 conflicts with an explicitly idempotent producer only; this one is not.
                assert!(r.is_ok(), "{}={value}: {r:?}", knob.property);
            }
        }
    }

    #[test]
    fn setting_a_knob_replaces_its_earlier_value() {
        let sets = vec!["acks=1".to_string(), "x=2".to_string()];
        let sets = with(&sets, "acks", Some("all"));
        assert_eq!(sets, vec!["x=2", "acks=all"]);
        assert_eq!(value_in(&sets, "acks"), Some("all"));
        assert_eq!(with(&sets, "acks", None), vec!["x=2"]);
    }
}
