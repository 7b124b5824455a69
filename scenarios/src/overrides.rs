//! Setting Kafka properties on top of a scenario file: `kafkasim run --set name=value` and the
//! visualizer's knobs (acks, `min.insync.replicas`, `unclean.leader.election.enable`, the
//! `kafkasim.legacy.*` fix switches).
//!
//! A property is set on every node whose role reads it — `acks` on every producer,
//! `min.insync.replicas` on every broker and controller — by core's own setters, so the value is checked as
//! a `config` table in the file would be; a producer left in a state Kafka refuses to start in
//! (`enable.idempotence=true` with `acks=1`) is refused too. Properties that name a node
//! (`node.id`, `bootstrap.servers`, …) differ per node by design and cannot be set for all.
//! Each override is recorded in the scenario, and so in the trace header: a run with
//! overrides never has the hash of the run without them, and the same overrides on the
//! command line and in the page give the same hash.

use crate::model::Scenario;
use kafkasim_core::config::properties::{
    Configurable, PropertyError, PropertyValue, Role, explain_unknown,
};
use kafkasim_core::config::validate;

/// Properties that identify a node or its peers: one value for every node makes no sense.
const PER_NODE: &[&str] = &[
    "node.id",
    "bootstrap.servers",
    "client.id",
    "group.id",
    "group.instance.id",
    "transactional.id",
];

/// Read `name=value` as written on a command line or in a URL: `true`/`false` are booleans,
/// whole numbers are integers, anything else is text (`all`, `earliest`).
pub fn parse(text: &str) -> Result<(String, PropertyValue), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!(
            "`{text}` is not name=value (for example acks=1 or min.insync.replicas=2)"
        ));
    };
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() {
        return Err(format!("`{text}` has no property name before `=`"));
    }
    let value = match value {
        "true" => PropertyValue::Bool(true),
        "false" => PropertyValue::Bool(false),
        v => v
            .parse::<i64>()
            .map_or_else(|_| PropertyValue::Str(v.to_string()), PropertyValue::Int),
    };
    Ok((name.to_string(), value))
}

/// Set `name` to `value` on every node of `scenario` whose role reads it, and record it.
/// Returns how many nodes took it; on an error `scenario` is left as it was.
pub fn apply(scenario: &mut Scenario, name: &str, value: &PropertyValue) -> Result<usize, String> {
    let mut changed = scenario.clone();
    let set = apply_to(&mut changed, name, value)?;
    *scenario = changed;
    Ok(set)
}

/// [`apply`] on `scenario` itself (which an error may leave half-changed).
fn apply_to(scenario: &mut Scenario, name: &str, value: &PropertyValue) -> Result<usize, String> {
    if PER_NODE.contains(&name) {
        return Err(format!(
            "`{name}` is different for every node: set it in the scenario file"
        ));
    }
    let mut set = 0;
    let mut first_error = None;
    let mut note = |result: Result<(), PropertyError>| match result {
        Ok(()) => set += 1,
        Err(PropertyError::Invalid { reason, .. }) => {
            first_error.get_or_insert(reason);
        }
        Err(PropertyError::Unknown { .. }) => {}
    };
    // An unknown name is not an error per node: another role may read it.
    for c in &mut scenario.controllers {
        note(c.config.set(name, value));
    }
    for b in &mut scenario.brokers {
        note(b.config.set(name, value));
    }
    for p in &mut scenario.producers {
        note(p.config.set(name, value));
    }
    for c in &mut scenario.consumers {
        note(c.config.set(name, value));
    }
    for c in &mut scenario.connectors {
        note(c.set(name, value));
    }
    if let Some(reason) = first_error {
        return Err(format!("{name}={value}: {reason}"));
    }
    if set == 0 {
        return Err(nobody_reads(name));
    }
    for p in &scenario.producers {
        validate::producer(&p.config)
            .map_err(|conflict| format!("{name}={value}: {}: {conflict}", p.name))?;
    }
    for b in &scenario.brokers {
        validate::broker(&b.config)
            .map_err(|conflict| format!("{name}={value}: {}: {conflict}", b.name))?;
    }
    scenario.overrides.push(format!("{name}={value}"));
    Ok(set)
}

/// The command line that runs `scenario` with `seed` and `overrides` (as recorded by
/// [`apply`]): the CLI's repro line and the visualizer's "copy as CLI" — the same run, the
/// same trace hash.
pub fn repro(scenario: &str, seed: u64, overrides: &[String]) -> String {
    let mut line = format!("kafkasim run {} --seed {seed}", shell_word(scenario));
    for o in overrides {
        line.push_str(" --set ");
        line.push_str(&shell_word(o));
    }
    line
}

/// `word` as a POSIX shell reads it back unchanged: bare when it is plain, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._-=/:,+@".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Why no node took `name`: only a role this scenario has no node of reads it, or none does.
fn nobody_reads(name: &str) -> String {
    use kafkasim_core::config::{BrokerConfig, ConsumerConfig, ProducerConfig};
    use kafkasim_core::controller::ControllerConfig;
    let readers = [
        (Role::Controller, reads::<ControllerConfig>(name)),
        (Role::Broker, reads::<BrokerConfig>(name)),
        (Role::Producer, reads::<ProducerConfig>(name)),
        (Role::Consumer, reads::<ConsumerConfig>(name)),
        (
            Role::Connector,
            reads::<kafkasim_core::connect::config::ConnectorSettings>(name),
        ),
    ];
    match readers.iter().find(|(_, read)| *read) {
        Some((role, _)) => format!(
            "`{name}` is read by the {} and this scenario has none",
            role.noun()
        ),
        None => PropertyError::Unknown {
            name: name.to_string(),
            why: explain_unknown(Role::Broker, name),
        }
        .to_string(),
    }
}

/// Whether role `C` reads a property called `name`.
fn reads<C: Configurable>(name: &str) -> bool {
    C::PROPERTIES.iter().any(|(n, _)| *n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leader_failover() -> Scenario {
        let text = crate::catalog::find("leader-failover").unwrap();
        crate::format::parse("builtin:leader-failover", text).unwrap()
    }

    #[test]
    fn a_server_property_is_set_on_every_server_and_recorded() {
        let mut s = leader_failover();
        let (name, value) = parse("min.insync.replicas=1").unwrap();
        assert_eq!(
            apply(&mut s, &name, &value),
            Ok(4),
            "a controller and 3 brokers"
        );
        assert!(s.brokers.iter().all(|b| b.config.min_insync_replicas == 1));
        assert_eq!(s.controllers[0].config.min_insync_replicas, 1);
        assert_eq!(s.overrides, vec!["min.insync.replicas=1"]);
    }

    #[test]
    fn a_controller_property_reaches_the_controllers() {
        let mut s = leader_failover();
        let (name, value) = parse("unclean.leader.election.enable=true").unwrap();
        assert_eq!(apply(&mut s, &name, &value), Ok(1));
        assert!(s.controllers[0].config.unclean_leader_election_enable);
    }

    #[test]
    fn values_are_checked_by_kafkas_rules() {
        let mut s = leader_failover();
        let err = apply(&mut s, "acks", &PropertyValue::Str("most".into())).unwrap_err();
        assert!(err.starts_with("acks=\"most\":"), "{err}");
        assert!(s.overrides.is_empty());
    }

    #[test]
    fn a_producer_kafka_refuses_to_start_is_refused() {
        let mut s = leader_failover();
        apply(&mut s, "enable.idempotence", &PropertyValue::Bool(true)).unwrap();
        let err = apply(&mut s, "acks", &PropertyValue::Int(1)).unwrap_err();
        assert!(err.contains("producer-1"), "{err}");
    }

    #[test]
    fn a_broker_kafka_refuses_to_start_is_refused() {
        let mut s = leader_failover();
        let err = apply(
            &mut s,
            "replica.fetch.wait.max.ms",
            &PropertyValue::Int(5000),
        )
        .unwrap_err();
        assert!(
            err.contains("broker-1") && err.contains("replica.lag.time.max.ms"),
            "{err}"
        );
        assert!(s.overrides.is_empty());
    }

    #[test]
    fn unknown_and_per_node_names_are_refused_with_the_reason() {
        let mut s = leader_failover();
        let typo = apply(&mut s, "min.insync.replica", &PropertyValue::Int(1)).unwrap_err();
        assert!(
            typo.contains("did you mean `min.insync.replicas`"),
            "{typo}"
        );
        let id = apply(&mut s, "node.id", &PropertyValue::Int(1)).unwrap_err();
        assert!(id.contains("different for every node"), "{id}");
    }

    #[test]
    fn the_repro_line_quotes_what_a_shell_would_split() {
        let o = vec!["acks=1".to_string(), "x=\"a b\"".to_string()];
        assert_eq!(
            repro("my run.toml", 3, &o),
            "kafkasim run 'my run.toml' --seed 3 --set acks=1 --set 'x=\"a b\"'"
        );
        assert_eq!(
            repro("leader-failover", 1, &[]),
            "kafkasim run leader-failover --seed 1"
        );
    }

    #[test]
    fn text_is_read_as_a_command_line_writes_it() {
        assert_eq!(
            parse("acks=all").unwrap().1,
            PropertyValue::Str("all".into())
        );
        assert_eq!(parse("acks=-1").unwrap().1, PropertyValue::Int(-1));
        assert_eq!(
            parse(" x = true ").unwrap(),
            ("x".into(), PropertyValue::Bool(true))
        );
        assert!(parse("acks").is_err());
        assert!(parse("=1").is_err());
    }
}
