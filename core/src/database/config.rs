//! The database's settings, by PostgreSQL's names (its GUCs), with PostgreSQL's defaults and
//! its units (`wal_writer_delay = '200ms'`, `checkpoint_timeout = '5min'`).

use super::heap::TableSchema;
use crate::config::properties::{
    Configurable, PropertyValue, Role, Setter, boolean, integer, string,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// `synchronous_commit`: when a commit is acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SynchronousCommit {
    /// At once, before the commit record is flushed: a crash may lose the last commits
    /// (at most about three times `wal_writer_delay`), never corrupt the database.
    Off,
    /// Once the commit record is flushed to the local WAL.
    Local,
    /// With a synchronous standby, once it has written the WAL; without one, as `local`.
    RemoteWrite,
    /// The default. With a synchronous standby, once it has flushed the WAL; without one,
    /// as `local`.
    #[default]
    On,
    /// With a synchronous standby, once it has replayed the WAL; without one, as `local`.
    RemoteApply,
}

impl SynchronousCommit {
    /// Whether the commit waits for the local WAL flush.
    pub fn waits_for_flush(self) -> bool {
        self != SynchronousCommit::Off
    }
}

impl fmt::Display for SynchronousCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SynchronousCommit::Off => "off",
            SynchronousCommit::Local => "local",
            SynchronousCommit::RemoteWrite => "remote_write",
            SynchronousCommit::On => "on",
            SynchronousCommit::RemoteApply => "remote_apply",
        })
    }
}

/// `wal_level`: how much the WAL says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalLevel {
    /// Only what crash recovery needs.
    Minimal,
    /// The default: enough for a physical standby and archiving.
    #[default]
    Replica,
    /// Enough for logical decoding too (replication slots of an output plugin).
    Logical,
}

/// A database server's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// `synchronous_commit`. Default `on`.
    pub synchronous_commit: SynchronousCommit,
    /// `wal_writer_delay`: how often the WAL writer flushes what asynchronous commits left
    /// unflushed, in ms. Default 200.
    pub wal_writer_delay_ms: u64,
    /// `checkpoint_timeout`: time between automatic checkpoints, in ms. Default 5 min.
    pub checkpoint_timeout_ms: u64,
    /// `wal_segment_size` (set at `initdb`): bytes per WAL segment file, a power of two.
    /// Default 16 MB; scenarios use small ones so that segments come and go.
    pub wal_segment_size: u64,
    /// `wal_level`. Default `replica`; logical slots need `logical`.
    pub wal_level: WalLevel,
    /// The tables, created at the first start (`CREATE TABLE`).
    pub tables: Vec<TableSchema>,
    /// Logical replication slots of the `test_decoding` plugin, created at the first start
    /// (`pg_create_logical_replication_slot(name, 'test_decoding')`).
    pub slots: Vec<String>,
    /// The host `primary_conninfo` names (`host=db-1`): this server starts as a standby of
    /// it (`standby.signal`). As written; the scenario resolves it to [`Self::primary`].
    pub primary_host: Option<String>,
    /// The primary's node, once resolved.
    pub primary: Option<crate::ids::NodeId>,
    /// `synchronous_standby_names`: the standbys whose confirmation a commit waits for —
    /// the first of them connected (`FIRST 1`); `*` is any. Empty: replication is
    /// asynchronous.
    pub synchronous_standby_names: Vec<String>,
    /// `application_name`: the name a standby gives its primary (its node's name).
    pub application_name: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            synchronous_commit: SynchronousCommit::On,
            wal_writer_delay_ms: 200,
            checkpoint_timeout_ms: 300_000,
            wal_segment_size: 16 * 1024 * 1024,
            wal_level: WalLevel::Replica,
            tables: Vec::new(),
            slots: Vec::new(),
            primary_host: None,
            primary: None,
            synchronous_standby_names: Vec::new(),
            application_name: String::new(),
        }
    }
}

/// A GUC's text value split into its number and its unit (`"200ms"` → 200, `"ms"`);
/// `example` shows a good value in the message for a bad one.
fn number_and_unit<'a>(s: &'a str, example: &str) -> Result<(u64, &'a str), String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n = number
        .parse()
        .map_err(|_| format!("expected a value such as '{example}', found \"{s}\""))?;
    Ok((n, unit.trim()))
}

/// A duration in `unit_ms` units (a bare number) or with PostgreSQL's units (`ms`, `s`,
/// `min`, `h`, `d`), of at least `min_ms`.
fn duration_ms(v: &PropertyValue, unit_ms: u64, min_ms: u64) -> Result<u64, String> {
    let ms = match v {
        PropertyValue::Str(s) => {
            let (n, unit) = number_and_unit(s, "200ms")?;
            let scale = match unit {
                "" => unit_ms,
                "ms" => 1,
                "s" => 1000,
                "min" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                other => {
                    return Err(format!(
                        "unknown unit \"{other}\" (valid units: ms, s, min, h, d)"
                    ));
                }
            };
            n * scale
        }
        other => integer(other, 0)? as u64 * unit_ms,
    };
    if ms < min_ms {
        return Err(format!("must be at least {min_ms} ms"));
    }
    Ok(ms)
}

/// A size in bytes, a bare number or with PostgreSQL's units (`kB`, `MB`, `GB`).
fn size_bytes(v: &PropertyValue) -> Result<u64, String> {
    let bytes = match v {
        PropertyValue::Str(s) => {
            let (n, unit) = number_and_unit(s, "16MB")?;
            n * match unit {
                "" | "B" => 1,
                "kB" => 1024,
                "MB" => 1024 * 1024,
                "GB" => 1024 * 1024 * 1024,
                other => {
                    return Err(format!(
                        "unknown unit \"{other}\" (valid units: B, kB, MB, GB)"
                    ));
                }
            }
        }
        other => integer(other, 1)? as u64,
    };
    if !bytes.is_power_of_two() || bytes < 1024 {
        return Err(format!(
            "must be a power of two of at least 1kB, not {bytes}"
        ));
    }
    Ok(bytes)
}

/// `primary_conninfo`: a libpq connection string; its `host` names the primary.
fn primary_host(v: &PropertyValue) -> Result<String, String> {
    let text = string(v)?;
    text.split_whitespace()
        .find_map(|kv| kv.strip_prefix("host="))
        .map(str::to_string)
        .ok_or_else(|| {
            format!("expected a connection string such as 'host=db-1', found \"{text}\"")
        })
}

/// `synchronous_standby_names`: `a, b`, `FIRST 1 (a, b)` or `*`.
fn standby_names(v: &PropertyValue) -> Result<Vec<String>, String> {
    let text = string(v)?;
    let mut list = text.trim();
    if let Some(rest) = list
        .strip_prefix("FIRST ")
        .or_else(|| list.strip_prefix("first "))
    {
        let (n, names) = rest.split_once('(').ok_or("expected FIRST 1 (name, ...)")?;
        if n.trim() != "1" {
            return Err("simplified: one synchronous standby (FIRST 1)".into());
        }
        list = names.trim_end().trim_end_matches(')');
    } else if list.to_ascii_uppercase().starts_with("ANY ") {
        return Err("quorum commit (ANY n) is not modelled: use FIRST 1 (...)".into());
    }
    Ok(list
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

fn synchronous_commit(v: &PropertyValue) -> Result<SynchronousCommit, String> {
    let text = match v {
        PropertyValue::Bool(b) => {
            return Ok(if *b {
                SynchronousCommit::On
            } else {
                SynchronousCommit::Off
            });
        }
        PropertyValue::Str(s) => s.trim().to_ascii_lowercase(),
        other => {
            return Err(format!(
                "expected on, off, local, remote_write or remote_apply, found {other}"
            ));
        }
    };
    Ok(match text.as_str() {
        "on" | "true" | "yes" | "1" => SynchronousCommit::On,
        "off" | "false" | "no" | "0" => SynchronousCommit::Off,
        "local" => SynchronousCommit::Local,
        "remote_write" => SynchronousCommit::RemoteWrite,
        "remote_apply" => SynchronousCommit::RemoteApply,
        other => {
            return Err(format!(
                "invalid value \"{other}\" (available values: local, remote_write, remote_apply, on, off)"
            ));
        }
    })
}

/// A database server's GUCs.
impl Configurable for DatabaseConfig {
    const ROLE: Role = Role::Database;
    const PROPERTIES: &'static [(&'static str, Setter<Self>)] = &[
        ("synchronous_commit", |c, v| {
            c.synchronous_commit = synchronous_commit(v)?;
            Ok(())
        }),
        ("wal_writer_delay", |c, v| {
            c.wal_writer_delay_ms = duration_ms(v, 1, 1)?;
            Ok(())
        }),
        ("checkpoint_timeout", |c, v| {
            // PostgreSQL's minimum is 30 s; 1 s lets short scenarios checkpoint.
            c.checkpoint_timeout_ms = duration_ms(v, 1000, 1000)?;
            Ok(())
        }),
        ("wal_segment_size", |c, v| {
            c.wal_segment_size = size_bytes(v)?;
            Ok(())
        }),
        ("wal_level", |c, v| {
            c.wal_level = match string(v)?.trim() {
                "minimal" => WalLevel::Minimal,
                "replica" | "archive" | "hot_standby" => WalLevel::Replica,
                "logical" => WalLevel::Logical,
                other => {
                    return Err(format!(
                        "invalid value \"{other}\" (available values: minimal, replica, logical)"
                    ));
                }
            };
            Ok(())
        }),
        ("primary_conninfo", |c, v| {
            c.primary_host = Some(primary_host(v)?);
            Ok(())
        }),
        ("synchronous_standby_names", |c, v| {
            c.synchronous_standby_names = standby_names(v)?;
            Ok(())
        }),
        ("fsync", |_, v| {
            if boolean(v)? {
                Ok(())
            } else {
                Err("fsync = off is not modelled (it risks unrecoverable corruption)".into())
            }
        }),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use PropertyValue::{Int, Str};

    fn text(s: &str) -> PropertyValue {
        Str(s.to_string())
    }

    #[test]
    fn gucs_take_postgresql_units_and_values() {
        let mut c = DatabaseConfig::default();
        assert_eq!(c.synchronous_commit, SynchronousCommit::On);
        c.set("wal_writer_delay", &text("1s")).unwrap();
        assert_eq!(c.wal_writer_delay_ms, 1000);
        c.set("wal_writer_delay", &Int(50)).unwrap();
        assert_eq!(c.wal_writer_delay_ms, 50);
        c.set("checkpoint_timeout", &text("5min")).unwrap();
        assert_eq!(c.checkpoint_timeout_ms, 300_000);
        c.set("checkpoint_timeout", &Int(30)).unwrap();
        assert_eq!(c.checkpoint_timeout_ms, 30_000);
        c.set("wal_segment_size", &text("64kB")).unwrap();
        assert_eq!(c.wal_segment_size, 65_536);
        assert!(c.set("wal_segment_size", &text("3000")).is_err());
        c.set("synchronous_commit", &text("remote_apply")).unwrap();
        assert_eq!(c.synchronous_commit, SynchronousCommit::RemoteApply);
        c.set("synchronous_commit", &PropertyValue::Bool(false))
            .unwrap();
        assert_eq!(c.synchronous_commit, SynchronousCommit::Off);
        c.set("primary_conninfo", &text("host=db-1 port=5432"))
            .unwrap();
        assert_eq!(c.primary_host.as_deref(), Some("db-1"));
        c.set("synchronous_standby_names", &text("FIRST 1 (db-2, db-3)"))
            .unwrap();
        assert_eq!(c.synchronous_standby_names, ["db-2", "db-3"]);
        assert!(
            c.set("synchronous_standby_names", &text("ANY 2 (a, b, c)"))
                .is_err()
        );
        let err = c.set("synchronous_commit", &text("sometimes")).unwrap_err();
        assert!(format!("{err}").contains("available values"), "{err}");
        assert!(c.set("wal_writer_delay", &text("2 fortnights")).is_err());
    }
}
