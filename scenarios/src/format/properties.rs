//! A node's `config` table: Kafka properties written as in a `.properties` file.
//!
//! TOML reads `linger.ms = 5` as a table `linger` holding `ms`; Kafka means one property named
//! `linger.ms`. So a `config` table is read as nested tables ([`Properties`]) and flattened back
//! into dotted names, each value converted into core's [`PropertyValue`] with its place in the
//! file. Kafka's rules — which names a role reads, what a value may be — are core's
//! ([`kafkasim_core::config::properties`]); this module only says where in the file a
//! mistake is.

use super::Ctx;
use crate::error::ScenarioError;
use kafkasim_core::config::properties::{
    BOOTSTRAP_SERVERS, Configurable, PropertyError, PropertyValue, Role, Unknown, explain_unknown,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// A properties table: nested tables of dotted keys, each leaf with its place in the file.
#[derive(Debug, Default)]
pub(super) struct Properties(BTreeMap<String, Spanned<Node>>);

#[derive(Debug)]
enum Node {
    Leaf(PropertyValue),
    Table(BTreeMap<String, Spanned<Node>>),
}

/// One item of a list value (`bootstrap.servers = ["b1", "b2"]`).
struct Item(PropertyValue);

/// What every value visitor below shares: TOML's scalars and arrays as [`PropertyValue`]s.
macro_rules! scalar_and_list_visits {
    ($wrap:expr) => {
        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            Ok($wrap(PropertyValue::Bool(v)))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok($wrap(PropertyValue::Int(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(|v| $wrap(PropertyValue::Int(v)))
                .map_err(|_| E::custom("integer too large"))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
            Ok($wrap(PropertyValue::Float(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok($wrap(PropertyValue::Str(v.to_string())))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(Item(item)) = seq.next_element::<Item>()? {
                items.push(item);
            }
            Ok($wrap(PropertyValue::List(items)))
        }
    };
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Item;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a boolean, a number, a string or a list of them")
            }
            scalar_and_list_visits!(Item);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a property value or a table of properties")
            }
            scalar_and_list_visits!(Node::Leaf);
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut table = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, Spanned<Node>>()? {
                    table.insert(k, v);
                }
                Ok(Node::Table(table))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Properties {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::<String, Spanned<Node>>::deserialize(d).map(Properties)
    }
}

impl Properties {
    /// Every property as (dotted name, value, span), in name order.
    pub(super) fn flatten(&self) -> Vec<(String, &PropertyValue, Range<usize>)> {
        fn walk<'a>(
            prefix: &str,
            table: &'a BTreeMap<String, Spanned<Node>>,
            out: &mut Vec<(String, &'a PropertyValue, Range<usize>)>,
        ) {
            for (key, node) in table {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                match node.get_ref() {
                    Node::Leaf(v) => out.push((name, v, node.span())),
                    Node::Table(t) => walk(&name, t, out),
                }
            }
        }
        let mut out = Vec::new();
        walk("", &self.0, &mut out);
        out
    }

    /// Whether the table sets `name`.
    pub(super) fn sets(&self, name: &str) -> bool {
        self.flatten().iter().any(|(n, _, _)| n == name)
    }
}

/// A `bootstrap.servers` value with its span and field path, left for the caller to resolve.
pub(super) type Unresolved<'p> = (&'p PropertyValue, Range<usize>, String);

/// Apply a node's `config` table with its role's properties. `bootstrap.servers` names nodes,
/// which only the caller can resolve: it comes back as (value, span, field), after every other
/// property is set.
pub(super) fn apply<'p, C: Configurable>(
    ctx: &Ctx<'_>,
    props: &'p Properties,
    field: &str,
    config: &mut C,
) -> Result<Option<Unresolved<'p>>, ScenarioError> {
    let mut bootstrap = None;
    for (prop, value, span) in props.flatten() {
        let pfield = format!("{field}.config.{prop}");
        if prop == BOOTSTRAP_SERVERS {
            bootstrap = Some((value, span, pfield));
            continue;
        }
        config
            .set(&prop, value)
            .map_err(|e| ctx.err(span, pfield, message(&e)))?;
    }
    Ok(bootstrap)
}

/// [`apply`] for a server (controller or broker), which has no `bootstrap.servers`.
pub(super) fn apply_server<C: Configurable>(
    ctx: &Ctx<'_>,
    props: &Properties,
    field: &str,
    config: &mut C,
) -> Result<(), ScenarioError> {
    match apply(ctx, props, field, config)? {
        None => Ok(()),
        Some((_, span, pfield)) => {
            let error = PropertyError::Unknown {
                name: BOOTSTRAP_SERVERS.to_string(),
                why: explain_unknown(C::ROLE, BOOTSTRAP_SERVERS),
            };
            Err(ctx.err(span, pfield, message(&error)))
        }
    }
}

/// Core's message, with the section of the file named where a property belongs elsewhere.
pub(super) fn message(error: &PropertyError) -> String {
    match error {
        PropertyError::Unknown {
            name,
            why: Unknown::ReadBy(role),
        } => format!(
            "`{name}` is read by the {}: set it in the {} config",
            role.noun(),
            section(*role)
        ),
        other => other.to_string(),
    }
}

/// The file's section for a role's nodes.
fn section(role: Role) -> &'static str {
    match role {
        Role::Controller => "[[controllers]]",
        Role::Broker => "[[brokers]]",
        Role::Producer => "[[producers]]",
        Role::Consumer => "[[consumers]]",
        Role::Topic => "[[topics]]",
        Role::Database => "[[databases]]",
        Role::Connector => "[[connectors]]",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn properties(text: &str) -> Properties {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn dotted_keys_flatten_to_kafka_names() {
        let props = properties("linger.ms = 5\n\"batch.size\" = 10\n[retry]\nbackoff.ms = 7\n");
        let flat: Vec<(String, String)> = props
            .flatten()
            .into_iter()
            .map(|(n, v, _)| (n, v.to_string()))
            .collect();
        assert_eq!(
            flat,
            [
                ("batch.size".to_string(), "10".to_string()),
                ("linger.ms".into(), "5".into()),
                ("retry.backoff.ms".into(), "7".into())
            ]
        );
        assert!(props.sets("linger.ms") && !props.sets("linger"));
    }

    /// Error messages quote a value as TOML writes it, as they did when values were TOML's own.
    #[test]
    fn values_display_as_toml_does() {
        for literal in [
            "5",
            "-1",
            "9223372036854775807",
            "\"all\"",
            "\"two words\"",
            "true",
            "1.5",
            "2.0",
            "[1, \"a\", [true]]",
            "[]",
        ] {
            let text = format!("v = {literal}\n");
            let ours = properties(&text);
            let theirs: toml::Table = toml::from_str(&text).unwrap();
            assert_eq!(
                ours.flatten()[0].1.to_string(),
                theirs["v"].to_string(),
                "{literal}"
            );
        }
    }

    #[test]
    fn a_table_inside_a_list_is_refused_with_its_place() {
        let error = toml::from_str::<Properties>("v = [{ a = 1 }]\n").unwrap_err();
        assert!(error.span().is_some(), "{error}");
        assert!(error.message().contains("invalid type"), "{error}");
    }
}
