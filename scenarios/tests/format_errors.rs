//! Scenario files: every mistake is reported with file, line, column and field — never a panic.

use kafkasim_core::config::Acks;
use kafkasim_scenarios::format::{node_order, parse};
use proptest::prelude::*;

const BASE: &str = r#"name = "t"
duration_ms = 1000

[[topics]]
name = "orders"
partitions = 2

[[brokers]]
name = "b1"

[[producers]]
name = "p1"
topic = "orders"
records = 10
interval_ms = 10

[[consumers]]
name = "c1"
topic = "orders"
"#;

/// A scenario of one database and nothing else: no Kafka cluster needed.
const DB_BASE: &str = r#"name = "d"
duration_ms = 1000

[[databases]]
name = "db-1"
[databases.config]
synchronous_commit = "on"
[[databases.tables]]
name = "orders"
columns = ["id integer", "customer text"]
[databases.workload]
table = "orders"
transactions = 10
interval_ms = 10
keys = 5
"#;

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// (file text, expected line, expected field, a fragment of the message)
fn error_cases() -> Vec<(String, usize, &'static str, &'static str)> {
    vec![
        (
            "name = \"t\"\nduration_ms = \n".to_string(),
            2,
            "",
            "string values must be quoted",
        ),
        (
            BASE.replace("records = 10", "records = \"ten\""),
            14,
            "",
            "invalid type",
        ),
        (
            BASE.replace("interval_ms = 10", "interval_ms = 10\ncolour = 3"),
            16,
            "colour",
            "unknown field",
        ),
        (
            BASE.replace(
                "topic = \"orders\"\nrecords",
                "topic = \"payments\"\nrecords",
            ),
            13,
            "producers[0].topic",
            "unknown topic `payments`",
        ),
        (
            with("\n[[faults]]\nat_ms = 10\naction = \"power-loss\"\nnode = \"b9\"\n"),
            24,
            "faults[0].node",
            "unknown node `b9`",
        ),
        (
            with("\n[[faults]]\nat_ms = 10\naction = \"explode\"\nnode = \"b1\"\n"),
            23,
            "faults[0].action",
            "unknown action",
        ),
        (
            with("\n[[faults]]\nat_ms = 5000\naction = \"heal\"\n"),
            22,
            "faults[0].at_ms",
            "after the end",
        ),
        (
            with("\n[producers.config]\nlinger.sm = 5\n"),
            22,
            "producers[0].config.linger.sm",
            "did you mean `linger.ms`",
        ),
        (
            with("\n[producers.config]\ntransactional.id = \"t\"\n"),
            22,
            "producers[0].config.transactional.id",
            "does not model it yet",
        ),
        (
            with(
                "\n[brokers.config]\nreplica.fetch.wait.max.ms = 3000\nreplica.lag.time.max.ms = 2000\n",
            ),
            9,
            "brokers[0].config.replica.fetch.wait.max.ms",
            "less than or equal to replica.lag.time.max.ms",
        ),
        (
            with("\n[producers.config]\nenable.idempotence = true\nacks = 1\n"),
            12,
            "producers[0].config.enable.idempotence",
            "must set acks to all",
        ),
        (
            with("\n[producers.config]\nacks = 2\n"),
            22,
            "producers[0].config.acks",
            "expected 0, 1 or all",
        ),
        (
            with("\n[consumers.config]\nauto.offset.reset = \"sometimes\"\n"),
            22,
            "consumers[0].config.auto.offset.reset",
            "earliest, latest or none",
        ),
        (
            with("\n[consumers.config]\nbootstrap.servers = [\"p1\"]\n"),
            22,
            "consumers[0].config.bootstrap.servers",
            "not a broker",
        ),
        (
            with("\n[expect]\nhold = [\"lost-wirte\"]\n"),
            22,
            "expect.hold[0]",
            "unknown checker `lost-wirte`",
        ),
        (
            BASE.replace("name = \"p1\"", "name = \"b1\""),
            12,
            "producers[0].name",
            "used twice",
        ),
        (
            BASE.replace("partitions = 2", "partitions = 0"),
            6,
            "topics[0].partitions",
            "between 1 and 10000",
        ),
        (
            "name = \"t\"\nduration_ms = 10\n".to_string(),
            1,
            "brokers",
            "at least one [[brokers]]",
        ),
        (
            with("\n[[faults]]\nat_ms = 5\naction = \"close\"\nnode = \"b1\"\n"),
            24,
            "faults[0].node",
            "acts on a consumer",
        ),
        (
            with("\n[[faults]]\nat_ms = 5\naction = \"stall-poll\"\nnode = \"c1\"\n"),
            23,
            "faults[0].duration_ms",
            "needs `duration_ms`",
        ),
        (
            with("commit = \"sometimes\"\n"),
            20,
            "consumers[0].commit",
            "unknown commit `sometimes`",
        ),
        (
            BASE.replace("name = \"t\"", "name = \"my scenario\""),
            1,
            "name",
            "letters, digits, '-' and '_'",
        ),
        (
            BASE.replace("duration_ms = 1000", "duration_ms = 0"),
            2,
            "duration_ms",
            "more than 0",
        ),
        (
            with("\n[network]\nlatency_min_us = 500\nlatency_max_us = 100\n"),
            23,
            "network.latency_max_us",
            "must not be below latency_min_us",
        ),
        (
            BASE.replace(
                "partitions = 2",
                "partitions = 2\n\n[[topics]]\nname = \"orders\"\npartitions = 1",
            ),
            9,
            "topics[1].name",
            "defined twice",
        ),
        (
            BASE.replace("name = \"orders\"", "name = \"__orders\""),
            5,
            "topics[0].name",
            "not start with `__`",
        ),
        (
            BASE.replace("partitions = 2", "partitions = 2\nreplication_factor = 2"),
            7,
            "topics[0].replication_factor",
            "between 1 and the number of brokers (1)",
        ),
        (
            with("\n[[brokers]]\nname = \"b2\"\n")
                .replace("partitions = 2", "partitions = 2\nreplication_factor = 2"),
            7,
            "topics[0].replication_factor",
            "need a controller",
        ),
        (
            with("\n[[brokers]]\nname = \"b2\"\n[brokers.config]\nnode.id = 1\n"),
            // The place of the [[brokers]] section: the id may be a default, written nowhere.
            8,
            "brokers[1].config.node.id",
            "node.id 1 is used twice",
        ),
        (
            with("\n[brokers.config]\nunclean.leader.election.enable = true\n"),
            22,
            "brokers[0].config.unclean.leader.election.enable",
            "is read by the controller: set it in the [[controllers]] config",
        ),
        (
            with("\n[brokers.config]\nbootstrap.servers = \"b1\"\n"),
            22,
            "brokers[0].config.bootstrap.servers",
            "unknown property `bootstrap.servers`",
        ),
        (
            BASE.replace("records = 10", "records = 10\nkeys = 0"),
            15,
            "producers[0].keys",
            "at least 1",
        ),
        (
            with("start_ms = 1000\n"),
            20,
            "consumers[0].start_ms",
            "at or after the end of the run (1000 ms)",
        ),
        (
            with("\n[expect]\nhold = [\"lost-write\"]\nanomalies = [\"lost-write\"]\n"),
            22,
            "expect",
            "cannot both hold and appear",
        ),
        (
            with("\n[producers.config]\nretries = 0\nenable.idempotence = true\n"),
            12,
            "producers[0].config.enable.idempotence",
            "retries to a non-zero value",
        ),
        (
            BASE.replace(
                "partitions = 2",
                "partitions = 2\n[topics.config]\ncompression.type = \"zstd\"",
            ),
            8,
            "topics[0].config.compression.type",
            "kafkasim does not model it yet",
        ),
        (
            BASE.replace(
                "partitions = 2",
                "partitions = 2\n[topics.config]\ncleanup.policy = \"compact,remove\"",
            ),
            8,
            "topics[0].config.cleanup.policy",
            "expected delete, compact or compact,delete",
        ),
        (
            BASE.replace(
                "partitions = 2",
                "partitions = 2\n[topics.config]\nmin.cleanable.dirty.ratio = 1.5",
            ),
            8,
            "topics[0].config.min.cleanable.dirty.ratio",
            "between 0 and 1",
        ),
        (
            BASE.replace(
                "partitions = 2",
                "partitions = 2\n[topics.config]\nmin.insync.replicas = 0",
            ),
            8,
            "topics[0].config.min.insync.replicas",
            "at least 1",
        ),
        (
            BASE.replace(
                "[[topics]]",
                "[[controllers]]\nname = \"k1\"\n[controllers.config]\nmin.insync.replicas = 2\n\n[[topics]]",
            )
            .replace(
                "name = \"b1\"",
                "name = \"b1\"\n[brokers.config]\nmin.insync.replicas = 1",
            ),
            14,
            "brokers[0].config.min.insync.replicas",
            "the cluster-wide value applies, which the controllers set (2)",
        ),
        (
            DB_BASE.replace("\"on\"", "\"sometimes\""),
            7,
            "databases[0].config.synchronous_commit",
            "available values: local, remote_write, remote_apply, on, off",
        ),
        (
            DB_BASE.replace("synchronous_commit = \"on\"", "archive_mode = \"on\""),
            7,
            "databases[0].config.archive_mode",
            "a real PostgreSQL setting, but kafkasim does not model it yet",
        ),
        (
            DB_BASE.replace("\"id integer\"", "\"id text\""),
            10,
            "databases[0].tables[0].columns",
            "the first column is the primary key and must be an integer",
        ),
        (
            DB_BASE.replace("customer text", "customer jsonb"),
            10,
            "databases[0].tables[0].columns[1]",
            "type \"jsonb\" is not modelled",
        ),
        (
            DB_BASE.replace("table = \"orders\"", "table = \"payments\""),
            12,
            "databases[0].workload.table",
            "no table `payments` (tables: orders)",
        ),
        (
            DB_BASE.replace("keys = 5", "keys = 0"),
            15,
            "databases[0].workload.keys",
            "must be at least 1",
        ),
        (
            format!("{DB_BASE}[[databases.slots]]\nname = \"cdc\"\npoll_ms = 100\n"),
            17,
            "databases[0].slots[0].name",
            "logical decoding requires wal_level >= logical",
        ),
        (
            format!(
                "{}[[databases.slots]]\nname = \"cdc\"\nplugin = \"wal2json\"\npoll_ms = 100\n",
                DB_BASE.replace("synchronous_commit = \"on\"", "wal_level = \"logical\"")
            ),
            18,
            "databases[0].slots[0].plugin",
            "output plugin \"wal2json\" is not modelled",
        ),
        (
            format!(
                "{}[[databases.slots]]\nname = \"CDC\"\npoll_ms = 100\n",
                DB_BASE.replace("synchronous_commit = \"on\"", "wal_level = \"logical\"")
            ),
            17,
            "databases[0].slots[0].name",
            "may only contain lower case letters",
        ),
        (
            format!(
                "{DB_BASE}[[databases.ddl]]\nat_ms = 500\nsql = \"ALTER TABLE orders DROP COLUMN customer\"\n"
            ),
            18,
            "databases[0].ddl[0].sql",
            "expected `ALTER TABLE <table> ADD COLUMN",
        ),
        (
            format!(
                "{DB_BASE}[[databases.ddl]]\nat_ms = 500\nsql = \"ALTER TABLE orders ADD COLUMN note text\"\n"
            ),
            18,
            "databases[0].ddl[0].sql",
            "expected `ALTER TABLE",
        ),
        (
            format!(
                "{DB_BASE}[[databases.ddl]]\nat_ms = 5000\nsql = \"ALTER TABLE orders ALTER COLUMN customer TYPE text\"\n"
            ),
            17,
            "databases[0].ddl[0].at_ms",
            "after the run ends",
        ),
        (
            format!(
                "{DB_BASE}[[registries]]\nname = \"registry-1\"\n[registries.config]\n\"schema.compatibility.level\" = \"SIDEWAYS\"\n"
            ),
            19,
            "registries[0].config.schema.compatibility.level",
            "unknown compatibility `SIDEWAYS` (modes: BACKWARD, BACKWARD_TRANSITIVE",
        ),
        (
            format!(
                "{DB_BASE}[[faults]]\nat_ms = 100\naction = \"set-compatibility\"\nnode = \"db-1\"\n"
            ),
            19,
            "faults[0].node",
            "`set-compatibility` acts on a schema registry; `db-1` is not one",
        ),
    ]
}

/// A database alone is a whole scenario: no `[[brokers]]` needed.
#[test]
fn a_database_needs_no_kafka_cluster() {
    let s = parse("d", DB_BASE).expect("a scenario of one database");
    assert!(s.brokers.is_empty());
    assert_eq!(node_order(&s), ["db-1"]);
    let w = s.databases[0].workload.as_ref().expect("a workload");
    assert_eq!((w.transactions, w.keys, w.rollback_percent), (10, 5, 0));
}

#[test]
fn each_mistake_points_at_its_line_and_field() {
    for (text, line, field, fragment) in error_cases() {
        let error = parse("case.toml", &text).expect_err(&format!("should fail:\n{text}"));
        assert_eq!(error.file, "case.toml");
        assert_eq!(error.line, line, "line of {error}\n---\n{text}");
        if !field.is_empty() {
            assert_eq!(error.field, field, "field of {error}");
        }
        assert!(
            error.message.contains(fragment),
            "message of {error} lacks {fragment:?}"
        );
        assert!(
            error.to_string().starts_with(&format!("case.toml:{line}:")),
            "{error}"
        );
    }
}

#[test]
fn dotted_and_quoted_property_names_are_the_same() {
    let dotted = parse(
        "a",
        &with("\n[producers.config]\nlinger.ms = 7\nacks = \"all\"\n"),
    )
    .unwrap();
    let quoted = parse(
        "b",
        &with("\n[producers.config]\n\"linger.ms\" = 7\nacks = -1\n"),
    )
    .unwrap();
    assert_eq!(dotted.producers[0].config, quoted.producers[0].config);
    assert_eq!(dotted.producers[0].config.linger_ms, 7);
    assert_eq!(dotted.producers[0].config.acks, Acks::All);
}

#[test]
fn defaults_are_kafkas_and_nodes_are_ordered() {
    let s = parse("a", BASE).unwrap();
    assert_eq!(node_order(&s), ["b1", "p1", "c1"]);
    let p = &s.producers[0].config;
    assert_eq!(
        (p.acks, p.linger_ms, p.batch_size, p.request_timeout_ms),
        (Acks::All, 5, 16_384, 30_000)
    );
    assert_eq!(
        s.brokers[0].config.log_flush_interval_messages, None,
        "Kafka never fsyncs by default"
    );
    assert_eq!(s.brokers[0].config.topics.len(), 1);
    assert_eq!(p.bootstrap_servers.len(), 1);
}

/// Kafka's `Partition.effectiveMinIsr`: a `min.insync.replicas` above the replication factor
/// is accepted (no error), counted as the replication factor, and worth a warning.
#[test]
fn min_insync_replicas_above_the_replication_factor_is_accepted_with_a_warning() {
    let topic = |min_isr: usize| {
        BASE.replace(
            "partitions = 2",
            &format!("partitions = 2\n[topics.config]\nmin.insync.replicas = {min_isr}"),
        )
    };
    let warned = parse("a", &topic(2)).expect("accepted, as Kafka accepts it");
    let warnings = warned.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .contains("topic orders: min.insync.replicas = 2 is above its replication factor 1"),
        "{warnings:?}"
    );
    assert!(parse("a", &topic(1)).unwrap().warnings().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Arbitrary text never panics the parser.
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = parse("fuzz.toml", &text);
    }

    /// Neither does a valid file with a slice cut out or a byte replaced.
    #[test]
    fn mutated_valid_files_never_panic(cut in 0usize..400, len in 0usize..40, at in 0usize..400, byte in 32u8..127) {
        let text = with("\n[producers.config]\nlinger.ms = 7\n[[faults]]\nat_ms = 10\naction = \"power-loss\"\nnode = \"b1\"\n");
        let mut bytes = text.into_bytes();
        let cut = cut % bytes.len();
        let end = (cut + len).min(bytes.len());
        bytes.drain(cut..end);
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = byte;
        }
        let _ = parse("fuzz.toml", &String::from_utf8_lossy(&bytes));
    }
}

/// A CDC source into `shop.public.orders`, for the stages' cases.
fn pipeline(stages: &str) -> String {
    format!(
        r#"name = "p"
duration_ms = 5000

[[topics]]
name = "shop.public.orders"
partitions = 1

[[topics]]
name = "orders-clean"
partitions = 1

[[brokers]]
name = "b1"

[[databases]]
name = "db-1"
[databases.config]
wal_level = "logical"
[[databases.tables]]
name = "orders"
columns = ["id integer", "customer text", "amount integer"]

[[connectors]]
name = "src"
[connectors.config]
"connector.class" = "io.debezium.connector.postgresql.PostgresConnector"
"database.hostname" = "db-1"
"topic.prefix" = "shop"
{stages}"#
    )
}

/// The pipeline graph: a cycle, a stage reading a topic no change events reach, a stage
/// that is neither a filter nor an aggregate — each refused with its field.
#[test]
fn a_pipeline_that_cannot_flow_is_refused() {
    let stage = |input: &str, output: &str, what: &str| {
        format!(
            "\n[[stages]]\nname = \"s-{output}\"\ninput = \"{input}\"\noutput = \"{output}\"\n{what}\n"
        )
    };
    let filter = "filter = \"amount >= 5\"";
    let ok = pipeline(&stage("shop.public.orders", "orders-clean", filter));
    parse("p.toml", &ok).expect("a source, then a filter");
    let cases = [
        (
            stage("shop.public.orders", "shop.public.orders", filter),
            "stages",
            "the pipeline has a cycle through",
        ),
        (
            stage("orders-clean", "shop.public.orders", filter),
            "stages[0].input",
            "topic `orders-clean` carries the change events of no source connector or filter stage",
        ),
        (
            stage(
                "shop.public.orders",
                "orders-clean",
                "group_by = \"customer\"",
            ),
            "stages[0]",
            "a stage is a filter",
        ),
        (
            stage(
                "shop.public.orders",
                "orders-clean",
                "filter = \"price > 3\"",
            ),
            "stages[0].filter",
            "column \"price\" of relation \"orders\" does not exist",
        ),
    ];
    for (stages, field, fragment) in cases {
        let text = pipeline(&stages);
        let error = parse("p.toml", &text).expect_err(&text);
        assert_eq!(error.field, field, "{error}");
        assert!(error.message.contains(fragment), "{error}");
    }
}

/// A standby names another database of the file, takes its tables, and only a standby can
/// be promoted.
#[test]
fn a_standby_is_checked_against_its_primary() {
    let standby = |config: &str, extra: &str| {
        format!("{DB_BASE}\n[[databases]]\nname = \"db-2\"\n[databases.config]\n{config}\n{extra}")
    };
    let ok = standby("primary_conninfo = \"host=db-1\"", "");
    let s = parse("s.toml", &ok).expect("a standby of db-1");
    assert_eq!(s.databases[1].config.tables, s.databases[0].config.tables);
    let cases = [
        (
            standby("primary_conninfo = \"host=db-9\"", ""),
            "databases[1].config.primary_conninfo",
            "`db-9` is not another database of this file",
        ),
        (
            standby(
                "primary_conninfo = \"host=db-1\"",
                "[[databases.tables]]\nname = \"t\"\ncolumns = [\"id integer\"]\n",
            ),
            "databases[1].tables",
            "a standby's tables are its primary's",
        ),
        (
            standby(
                "",
                "[[faults]]\nat_ms = 100\naction = \"promote\"\nnode = \"db-2\"\n",
            ),
            "faults[0].node",
            "`promote` acts on a standby database; `db-2` is not one",
        ),
        (
            standby("synchronous_standby_names = \"ANY 2 (a, b)\"", ""),
            "databases[1].config.synchronous_standby_names",
            "quorum commit (ANY n) is not modelled",
        ),
    ];
    for (text, field, fragment) in cases {
        let error = parse("s.toml", &text).expect_err(&text);
        assert_eq!(error.field, field, "{error}");
        assert!(error.message.contains(fragment), "{error}");
    }
}
