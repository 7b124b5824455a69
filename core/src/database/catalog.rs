//! The system catalog: every table's definition, and its earlier definitions with the LSN
//! from which each held.
//!
//! Logical decoding needs the history: a transaction read from the WAL long after it
//! committed must be decoded with the columns its table had *then* — PostgreSQL keeps old
//! catalog rows visible to the decoder through historic snapshots for the same reason. The
//! catalog is written with the data files at each checkpoint (`base/5/pg_attribute`) and
//! redo adds what the WAL altered after it. Simplified: one file for the whole catalog, as
//! JSON, and versions are never pruned.

use super::heap::TableSchema;
use super::wal::Lsn;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The catalog's file.
pub const CATALOG_FILE: &str = "base/5/pg_attribute";

/// Every table's definitions, oldest first, each with the LSN it holds from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    versions: BTreeMap<String, Vec<(Lsn, TableSchema)>>,
}

impl Catalog {
    /// The catalog of a new cluster: the configured tables, from the start of the WAL.
    pub fn created(tables: &[TableSchema]) -> Self {
        let versions = tables
            .iter()
            .map(|t| (t.name.clone(), vec![(Lsn(0), t.clone())]))
            .collect();
        Catalog { versions }
    }

    /// The catalog in `bytes`, if they hold one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("the catalog serialises")
    }

    /// `table`'s definition now.
    pub fn current(&self, table: &str) -> Option<&TableSchema> {
        self.versions.get(table)?.last().map(|(_, s)| s)
    }

    /// Every table's definition now, by name.
    pub fn tables(&self) -> Vec<TableSchema> {
        self.versions
            .values()
            .filter_map(|v| v.last().map(|(_, s)| s.clone()))
            .collect()
    }

    /// `table`'s definition as a transaction beginning at `lsn` saw it.
    pub fn at(&self, table: &str, lsn: Lsn) -> Option<&TableSchema> {
        let versions = self.versions.get(table)?;
        versions
            .iter()
            .rev()
            .find(|(from, _)| *from <= lsn)
            .or(versions.first())
            .map(|(_, s)| s)
    }

    /// `table` is `schema` from `lsn` on. A version already known (redo of a change the
    /// checkpoint's catalog holds) is not added twice.
    pub fn alter(&mut self, table: &str, lsn: Lsn, schema: TableSchema) {
        let versions = self.versions.entry(table.to_string()).or_default();
        if versions.last().is_some_and(|(from, _)| *from >= lsn) {
            return;
        }
        versions.push((lsn, schema));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::heap::{Column, ColumnType};

    #[test]
    fn a_transaction_sees_the_definition_of_its_time() {
        let v1 = crate::database::heap::orders_schema();
        let mut v2 = v1.clone();
        v2.columns.push(Column {
            name: "note".into(),
            kind: ColumnType::Text,
            default: None,
        });
        let mut catalog = Catalog::created(std::slice::from_ref(&v1));
        catalog.alter("orders", Lsn(500), v2.clone());
        catalog.alter("orders", Lsn(400), v1.clone());
        assert_eq!(catalog.at("orders", Lsn(499)), Some(&v1));
        assert_eq!(catalog.at("orders", Lsn(500)), Some(&v2));
        assert_eq!(catalog.current("orders"), Some(&v2));
        assert_eq!(Catalog::decode(&catalog.encode()), Some(catalog.clone()));
        assert_eq!(catalog.at("items", Lsn(1)), None);
    }
}
