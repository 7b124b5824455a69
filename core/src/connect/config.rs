//! A connector's settings as a Kafka Connect worker reads them from its REST call or its
//! `.properties` file, by Connect's and Debezium's names, with their defaults.
//!
//! These are the settings as written; the scenario format resolves the names they hold
//! (`database.hostname`, `table.include.list`, `topics`) to nodes and tables and builds a
//! [`SourceConfig`](super::source::SourceConfig) or
//! [`SinkConfig`](super::sink::SinkConfig).

use super::source::SnapshotMode;
use crate::config::properties::{
    Configurable, PropertyValue, Role, Setter, boolean, string, unsigned,
};

/// Debezium's PostgreSQL connector.
pub const POSTGRES_SOURCE: &str = "io.debezium.connector.postgresql.PostgresConnector";
/// Confluent's JDBC sink connector.
pub const JDBC_SINK: &str = "io.confluent.connect.jdbc.JdbcSinkConnector";

/// What a connector is: `connector.class`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnectorClass {
    /// Not given yet (an error once the whole config is read).
    #[default]
    Unset,
    /// A CDC source of the database ([`POSTGRES_SOURCE`]).
    PostgresSource,
    /// A sink into a warehouse table ([`JDBC_SINK`]).
    JdbcSink,
}

/// A connector's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectorSettings {
    /// `connector.class`.
    pub class: ConnectorClass,
    /// `tasks.max`. Default 1; a source task of the PostgreSQL connector is always one.
    pub tasks_max: u32,
    /// `database.hostname`: the database node's name.
    pub database_hostname: Option<String>,
    /// `slot.name`. Default `debezium`.
    pub slot_name: String,
    /// `topic.prefix`: required for a source.
    pub topic_prefix: Option<String>,
    /// `table.include.list`: `public.<table>` names, comma-separated; none = every table.
    pub table_include_list: Option<Vec<String>>,
    /// `snapshot.mode`. Default `initial`.
    pub snapshot_mode: SnapshotMode,
    /// `tombstones.on.delete`. Default true.
    pub tombstones_on_delete: bool,
    /// `offset.flush.interval.ms` (a worker setting, per connector here). Default 60000.
    pub offset_flush_interval_ms: u64,
    /// `retriable.restart.connector.wait.ms`. Default 10000.
    pub retriable_restart_connector_wait_ms: u64,
    /// `status.update.interval.ms`. Default 10000.
    pub status_update_interval_ms: u64,
    /// `topics`: what a sink reads (one topic here).
    pub topics: Option<String>,
    /// `kafkasim.bug.confirm.before.ack`: a deliberately broken source. Default false.
    pub confirm_before_ack: bool,
    /// `value.converter`: Connect's `JsonConverter` (the default here) or the registry's
    /// `AvroConverter`.
    pub value_converter: ValueConverter,
    /// `value.converter.schema.registry.url`: the registry node's name.
    pub schema_registry_url: Option<String>,
}

/// Connect's `JsonConverter` with `schemas.enable=false`.
pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";

/// `value.converter`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValueConverter {
    /// [`JSON_CONVERTER`]: the event as JSON, no schema.
    #[default]
    Json,
    /// [`super::converter::AVRO_CONVERTER`]: the registry's framing and schema ids.
    Avro,
}

impl Default for ConnectorSettings {
    fn default() -> Self {
        ConnectorSettings {
            class: ConnectorClass::Unset,
            tasks_max: 1,
            database_hostname: None,
            slot_name: "debezium".into(),
            topic_prefix: None,
            table_include_list: None,
            snapshot_mode: SnapshotMode::Initial,
            tombstones_on_delete: true,
            offset_flush_interval_ms: 60_000,
            retriable_restart_connector_wait_ms: 10_000,
            status_update_interval_ms: 10_000,
            topics: None,
            confirm_before_ack: false,
            value_converter: ValueConverter::Json,
            schema_registry_url: None,
        }
    }
}

fn class(v: &PropertyValue) -> Result<ConnectorClass, String> {
    match string(v)?.trim() {
        POSTGRES_SOURCE => Ok(ConnectorClass::PostgresSource),
        JDBC_SINK => Ok(ConnectorClass::JdbcSink),
        other => Err(format!(
            "class {other} is not modelled (connector classes: {POSTGRES_SOURCE}, {JDBC_SINK})"
        )),
    }
}

fn snapshot_mode(v: &PropertyValue) -> Result<SnapshotMode, String> {
    match string(v)?.trim() {
        "initial" => Ok(SnapshotMode::Initial),
        "never" | "no_data" => Ok(SnapshotMode::Never),
        other => Err(format!(
            "snapshot mode `{other}` is not modelled (modelled: initial, never)"
        )),
    }
}

/// A name is what PostgreSQL allows a replication slot: lower-case letters, digits, '_'.
fn slot_name(v: &PropertyValue) -> Result<String, String> {
    let name = string(v)?;
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    if name.is_empty() || !name.chars().all(ok) {
        return Err(format!(
            "replication slot name \"{name}\" contains invalid character (lower case letters, numbers and the underscore only)"
        ));
    }
    Ok(name)
}

fn list(v: &PropertyValue) -> Result<Vec<String>, String> {
    let items: Vec<String> = match v {
        PropertyValue::List(items) => items
            .iter()
            .map(|i| string(i).map(|s| s.trim().to_string()))
            .collect::<Result<_, _>>()?,
        other => string(other)?
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    };
    if items.is_empty() {
        return Err("expected at least one name".into());
    }
    Ok(items)
}

impl Configurable for ConnectorSettings {
    const ROLE: Role = Role::Connector;
    const PROPERTIES: &'static [(&'static str, Setter<Self>)] = &[
        ("connector.class", |c, v| {
            c.class = class(v)?;
            Ok(())
        }),
        ("tasks.max", |c, v| {
            c.tasks_max = unsigned(v, 1)?.min(16) as u32;
            Ok(())
        }),
        ("database.hostname", |c, v| {
            c.database_hostname = Some(string(v)?);
            Ok(())
        }),
        ("slot.name", |c, v| {
            c.slot_name = slot_name(v)?;
            Ok(())
        }),
        ("topic.prefix", |c, v| {
            c.topic_prefix = Some(string(v)?);
            Ok(())
        }),
        ("table.include.list", |c, v| {
            c.table_include_list = Some(list(v)?);
            Ok(())
        }),
        ("snapshot.mode", |c, v| {
            c.snapshot_mode = snapshot_mode(v)?;
            Ok(())
        }),
        ("tombstones.on.delete", |c, v| {
            c.tombstones_on_delete = boolean(v)?;
            Ok(())
        }),
        ("offset.flush.interval.ms", |c, v| {
            c.offset_flush_interval_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("retriable.restart.connector.wait.ms", |c, v| {
            c.retriable_restart_connector_wait_ms = unsigned(v, 0)?;
            Ok(())
        }),
        ("status.update.interval.ms", |c, v| {
            c.status_update_interval_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("topics", |c, v| {
            let topics = list(v)?;
            if topics.len() > 1 {
                return Err("one topic per sink connector is modelled".into());
            }
            c.topics = topics.into_iter().next();
            Ok(())
        }),
        ("kafkasim.bug.confirm.before.ack", |c, v| {
            c.confirm_before_ack = boolean(v)?;
            Ok(())
        }),
        ("value.converter", |c, v| {
            c.value_converter = match string(v)?.trim() {
                JSON_CONVERTER => ValueConverter::Json,
                super::converter::AVRO_CONVERTER => ValueConverter::Avro,
                other => {
                    return Err(format!(
                        "converter {other} is not modelled (converters: {JSON_CONVERTER}, {})",
                        super::converter::AVRO_CONVERTER
                    ));
                }
            };
            Ok(())
        }),
        ("value.converter.schema.registry.url", |c, v| {
            c.schema_registry_url = Some(string(v)?);
            Ok(())
        }),
    ];
}

/// `name = value` checked by the connector's own rules, on default settings.
fn checked(
    name: &str,
    value: &PropertyValue,
) -> Result<ConnectorSettings, crate::config::properties::PropertyError> {
    let mut s = ConnectorSettings::default();
    s.set(name, value)?;
    Ok(s)
}

impl super::source::SourceConfig {
    /// Set a property that a running source task reads (checked as the connector's config
    /// would check it); none if the property is not one of those.
    pub fn set(
        &mut self,
        name: &str,
        value: &PropertyValue,
    ) -> Option<Result<(), crate::config::properties::PropertyError>> {
        let s = match checked(name, value) {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        match name {
            "offset.flush.interval.ms" => {
                self.offset_flush_interval_ms = s.offset_flush_interval_ms
            }
            "retriable.restart.connector.wait.ms" => {
                self.retriable_restart_connector_wait_ms = s.retriable_restart_connector_wait_ms
            }
            "status.update.interval.ms" => {
                self.status_update_interval_ms = s.status_update_interval_ms
            }
            "snapshot.mode" => self.snapshot_mode = s.snapshot_mode,
            "tombstones.on.delete" => self.tombstones_on_delete = s.tombstones_on_delete,
            "kafkasim.bug.confirm.before.ack" => self.confirm_before_ack = s.confirm_before_ack,
            _ => return None,
        }
        Some(Ok(()))
    }
}

impl super::sink::SinkConfig {
    /// Set a property that a running sink task reads; none if the property is not one.
    pub fn set(
        &mut self,
        name: &str,
        value: &PropertyValue,
    ) -> Option<Result<(), crate::config::properties::PropertyError>> {
        let s = match checked(name, value) {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        match name {
            "offset.flush.interval.ms" => {
                self.offset_flush_interval_ms = s.offset_flush_interval_ms
            }
            _ => return None,
        }
        Some(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_by_debeziums_and_connects_names() {
        let mut s = ConnectorSettings::default();
        assert_eq!(s.slot_name, "debezium", "Debezium's default slot");
        s.set(
            "connector.class",
            &PropertyValue::Str(POSTGRES_SOURCE.into()),
        )
        .unwrap();
        s.set(
            "table.include.list",
            &PropertyValue::Str("public.orders, public.customers".into()),
        )
        .unwrap();
        assert_eq!(s.class, ConnectorClass::PostgresSource);
        assert_eq!(
            s.table_include_list.as_deref(),
            Some(&["public.orders".to_string(), "public.customers".to_string()][..])
        );
        let bad = s.set("slot.name", &PropertyValue::Str("My-Slot".into()));
        assert!(bad.unwrap_err().to_string().contains("invalid character"));
        let unknown = s.set("database.hostnam", &PropertyValue::Str("db".into()));
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("did you mean `database.hostname`")
        );
        let class = s.set(
            "connector.class",
            &PropertyValue::Str("com.acme.Sink".into()),
        );
        assert!(class.unwrap_err().to_string().contains("not modelled"));
    }
}
