//! `[[registries]]`: schema registries in the style of Confluent's, by its property names.
//!
//! ```toml
//! [[registries]]
//! name = "registry-1"
//! [registries.config]
//! "schema.compatibility.level" = "BACKWARD"
//! "subject.compatibility.shop.public.orders-value" = "FULL"
//! ```
//!
//! `schema.compatibility.level` is the registry's default mode (Confluent's default,
//! `BACKWARD`); `subject.compatibility.<subject>` gives one subject its own mode from the
//! start, as a `PUT /config/<subject>` before the run would.

use super::Ctx;
use super::file::FileRegistry;
use crate::error::ScenarioError;
use crate::model::RegistrySpec;
use kafkasim_core::config::properties::{PropertyValue, string};
use kafkasim_core::registry::compatibility::Compatibility;
use kafkasim_core::registry::server::RegistryConfig;

const LEVEL: &str = "schema.compatibility.level";
const SUBJECT: &str = "subject.compatibility.";

/// `[[registries]]`.
pub(super) fn registries(
    ctx: &Ctx<'_>,
    raw: &[FileRegistry],
) -> Result<Vec<RegistrySpec>, ScenarioError> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| {
            let mut config = RegistryConfig::default();
            for (name, value, span) in r.config.flatten() {
                let field = format!("registries[{i}].config.{name}");
                let mode =
                    compatibility(value).map_err(|why| ctx.err(span.clone(), &field, why))?;
                if name == LEVEL {
                    config.compatibility = mode;
                } else if let Some(subject) = name.strip_prefix(SUBJECT) {
                    config.subjects.insert(subject.to_string(), mode);
                } else {
                    let why = format!(
                        "unknown registry property `{name}` (known: {LEVEL}, {SUBJECT}<subject>)"
                    );
                    return Err(ctx.err(span, field, why));
                }
            }
            Ok(RegistrySpec {
                name: r.name.get_ref().clone(),
                config,
            })
        })
        .collect()
}

/// A compatibility mode by the registry's name.
pub(super) fn compatibility(value: &PropertyValue) -> Result<Compatibility, String> {
    let text = string(value)?;
    Compatibility::parse(&text).ok_or_else(|| {
        let modes: Vec<&str> = Compatibility::ALL.iter().map(|m| m.name()).collect();
        format!(
            "unknown compatibility `{text}` (modes: {})",
            modes.join(", ")
        )
    })
}
