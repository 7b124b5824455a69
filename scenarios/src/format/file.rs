//! The shape of a scenario file, as serde reads it: one struct per TOML section, each value
//! kept with its place in the file (`Spanned`) so the section parsers can point at it.
//! `deny_unknown_fields` everywhere: a misspelt key is an error, not a silent default.

use super::properties::Properties;
use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub name: Spanned<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub duration_ms: Spanned<u64>,
    #[serde(default)]
    pub network: Option<FileNetwork>,
    #[serde(default)]
    pub disk: Option<FileDisk>,
    #[serde(default)]
    pub topics: Vec<FileTopic>,
    #[serde(default)]
    pub controllers: Vec<FileController>,
    pub brokers: Option<Spanned<Vec<FileBroker>>>,
    #[serde(default)]
    pub producers: Vec<FileProducer>,
    #[serde(default)]
    pub consumers: Vec<FileConsumer>,
    #[serde(default)]
    pub databases: Vec<FileDatabase>,
    #[serde(default)]
    pub registries: Vec<FileRegistry>,
    #[serde(default)]
    pub connectors: Vec<FileConnector>,
    #[serde(default)]
    pub stages: Vec<FileStage>,
    #[serde(default)]
    pub faults: Vec<FileFault>,
    #[serde(default)]
    pub expect: FileExpect,
}

/// `[network]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileNetwork {
    pub latency_min_us: Option<Spanned<u64>>,
    pub latency_max_us: Option<Spanned<u64>>,
}

/// `[disk]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileDisk {
    pub fsync_latency_us: Option<u64>,
    pub torn_writes: Option<bool>,
}

/// One `[[topics]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileTopic {
    pub name: Spanned<String>,
    pub partitions: Spanned<i64>,
    pub replication_factor: Option<Spanned<i64>>,
    #[serde(default)]
    pub config: Properties,
}

/// One `[[controllers]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileController {
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub config: Properties,
}

/// One `[[brokers]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileBroker {
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub config: Properties,
}

/// One `[[producers]]` entry: a producer and its workload.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileProducer {
    pub name: Spanned<String>,
    pub topic: Spanned<String>,
    pub records: u64,
    pub start_ms: Option<Spanned<u64>>,
    pub interval_ms: u64,
    pub keys: Option<Spanned<u64>>,
    pub value_bytes: Option<usize>,
    #[serde(default)]
    pub config: Properties,
}

/// One `[[consumers]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConsumer {
    pub name: Spanned<String>,
    pub topic: Spanned<String>,
    pub start_ms: Option<Spanned<u64>>,
    /// How the application commits: "auto" (enable.auto.commit decides), "sync", "async".
    pub commit: Option<Spanned<String>>,
    #[serde(default)]
    pub config: Properties,
}

/// One `[[databases]]` entry: a database server, its tables and its workload.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileDatabase {
    pub name: Spanned<String>,
    #[serde(default)]
    pub config: Properties,
    #[serde(default)]
    pub tables: Vec<FileTable>,
    pub workload: Option<FileTransactions>,
    #[serde(default)]
    pub slots: Vec<FileSlot>,
    #[serde(default)]
    pub ddl: Vec<FileDdl>,
}

/// One `[[databases.ddl]]` entry: a schema change the application runs at a time.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileDdl {
    pub at_ms: Spanned<u64>,
    pub sql: Spanned<String>,
}

/// One `[[stages]]` entry: a filter or an aggregate between two topics.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileStage {
    pub name: Spanned<String>,
    pub input: Spanned<String>,
    pub output: Spanned<String>,
    pub start_ms: Option<Spanned<u64>>,
    pub filter: Option<Spanned<String>>,
    pub group_by: Option<Spanned<String>>,
    pub sum: Option<Spanned<String>>,
    #[serde(default)]
    pub config: Properties,
}

/// One `[[registries]]` entry: a schema registry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRegistry {
    pub name: Spanned<String>,
    #[serde(default)]
    pub config: Properties,
}

/// One `[[connectors]]` entry: a connector as created on a Connect worker, its settings by
/// Connect's and Debezium's names.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConnector {
    pub name: Spanned<String>,
    pub start_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub config: Properties,
}

/// One `[[databases.slots]]` entry: a logical replication slot, and the application that
/// reads it with `pg_logical_slot_get_changes` every `poll_ms`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSlot {
    pub name: Spanned<String>,
    pub plugin: Option<Spanned<String>>,
    pub start_ms: Option<Spanned<u64>>,
    pub poll_ms: Spanned<u64>,
}

/// One `[[databases.tables]]` entry: `columns = ["id integer", "customer text"]`, the first
/// column being the primary key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileTable {
    pub name: Spanned<String>,
    pub columns: Spanned<Vec<Spanned<String>>>,
}

/// `[databases.workload]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileTransactions {
    pub table: Spanned<String>,
    pub transactions: u64,
    pub start_ms: Option<Spanned<u64>>,
    pub interval_ms: Spanned<u64>,
    pub keys: Spanned<u64>,
    pub rollback_percent: Option<Spanned<u64>>,
}

/// One `[[faults]]` entry; which keys it needs depends on its `action`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileFault {
    pub at_ms: Spanned<u64>,
    pub action: Spanned<String>,
    pub node: Option<Spanned<String>>,
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<String>>,
    #[serde(default)]
    pub two_way: bool,
    pub a: Option<Spanned<String>>,
    pub b: Option<Spanned<String>>,
    pub duration_ms: Option<Spanned<u64>>,
    pub subject: Option<Spanned<String>>,
    pub compatibility: Option<Spanned<String>>,
}

/// `[expect]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct FileExpect {
    #[serde(default)]
    pub hold: Vec<Spanned<String>>,
    #[serde(default)]
    pub anomalies: Vec<Spanned<String>>,
}
