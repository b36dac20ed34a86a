//! `postgresql`: the rows of a schema's tables, with the reference's configuration and
//! documents (`sources/postgresql/*`): every column as `<schema>_<table>_<column>` lower-cased,
//! plus `database`, `schema` and `table`; `_id` = `<database>_<schema>_<table>_<key values>`;
//! `_timestamp` = the table's latest commit time when `track_commit_timestamp` is on, else the
//! time the table was read.
//!
//! Unlike the reference (`LIMIT 1000 OFFSET n`, a full `COUNT(*)`, whole pages buffered), each
//! table is read in primary-key order by keyset chunks (`WHERE (pk) > (last) ORDER BY pk
//! LIMIT n`), streamed row by row into pages by a background task; see [`crate::database`].
//! This module holds the source's descriptor and settings; `dialect` and `plan` the
//! PostgreSQL [`Dialect`](crate::database::dialect::Dialect).
//!
//! Driver: tokio-postgres, the maintained async driver with the least build weight (no macros,
//! no OpenSSL; TLS through the workspace's rustls), whose binary protocol we decode ourselves
//! to reproduce asyncpg's values exactly (`decode`).

mod decode;
mod dialect;
mod plan;
mod tls;

use std::sync::Arc;

use connectors_protocol::Configuration;
use connectors_sdk::{DataSource, SourceDescriptor, SourceError, SourceFeatures};

use crate::database::fields;
use crate::database::settings::{self, Fields, Server, Settings, TRACKING_KEY};
use crate::database::source::{self, DatabaseSource};

/// The reference's defaults (`generic_database.py`).
pub const DEFAULT_FETCH_SIZE: i64 = 50;
pub const DEFAULT_RETRY_COUNT: i64 = 3;
/// The reference reads 1000 rows per query (`FETCH_LIMIT`); `fetch_size` may raise it.
pub const FETCH_LIMIT: usize = 1000;

/// The `postgresql` source.
#[derive(Debug, Clone, Default)]
pub struct PostgresSource;

impl SourceDescriptor for PostgresSource {
    fn service_type(&self) -> &'static str {
        "postgresql"
    }

    fn name(&self) -> &'static str {
        "PostgreSQL"
    }

    fn default_configuration(&self) -> Configuration {
        let mut tables = fields::tables(7);
        tables.tooltip =
            Some("This configurable field is ignored when Advanced Sync Rules are used.".into());
        let mut c = Configuration::from_iter(fields::server("username"));
        c.insert("schema".into(), fields::field("Schema", 6));
        c.insert("tables".into(), tables);
        c.extend(fields::tuning(8, DEFAULT_FETCH_SIZE, DEFAULT_RETRY_COUNT));
        c.extend(fields::tls("Enable SSL verification", 10));
        c.insert(TRACKING_KEY.into(), settings::tracking_field(12));
        c
    }

    fn features(&self) -> SourceFeatures {
        source::features()
    }

    fn build(&self, configuration: &Configuration) -> Result<Box<dyn DataSource>, SourceError> {
        Ok(Box::new(DatabaseSource::new(Postgres::read(
            configuration,
        )?)))
    }
}

/// The PostgreSQL dialect, with the connector's settings.
struct Postgres {
    s: Settings,
    schema: String,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Postgres {
    fn read(c: &Configuration) -> Result<Self, SourceError> {
        let f = Fields(c);
        let fetch_size = settings::fetch_size(&f, DEFAULT_FETCH_SIZE)?;
        let retry_count = settings::retry_count(&f, DEFAULT_RETRY_COUNT)?;
        let tls = if f.bool("ssl_enabled") {
            Some(settings::tls_config(&f.required_text("ssl_ca")?)?)
        } else {
            None
        };
        let tables = settings::tables(&f)?;
        let server = Server::read(&f, "username")?;
        let schema = f.required_text("schema")?;
        let s = Settings::new(&f, server, tables, fetch_size, retry_count)?;
        Ok(Postgres { s, schema, tls })
    }

    /// Rows per keyset chunk.
    fn chunk(&self) -> usize {
        self.s.fetch_size.max(FETCH_LIMIT)
    }

    fn qualified(&self, table: &str) -> String {
        format!("{}.{}", ident(&self.schema), ident(table))
    }
}

/// A quoted identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The reference's `map_column_names` prefix: `<schema>_<sorted tables joined by _>_`.
fn column_prefix(schema: &str, tables: &[String]) -> String {
    let mut prefix = String::new();
    if !schema.trim().is_empty() {
        prefix.push_str(schema.trim());
        prefix.push('_');
    }
    if !tables.is_empty() {
        let mut sorted: Vec<&str> = tables.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        prefix.push_str(&sorted.join("_"));
        prefix.push('_');
    }
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::plan::field_name;
    use serde_json::json;

    fn mapped(prefix: &str, column: &str) -> String {
        field_name(Some(prefix), column)
    }

    #[test]
    fn configuration_matches_the_reference() {
        let c = PostgresSource.default_configuration();
        let keys: Vec<&str> = c.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "host",
                "port",
                "username",
                "password",
                "database",
                "schema",
                "tables",
                "fetch_size",
                "retry_count",
                "ssl_enabled",
                "ssl_ca",
                TRACKING_KEY
            ]
        );
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["fetch_size"]["default_value"], json!(50));
        assert_eq!(v["fetch_size"]["ui_restrictions"], json!(["advanced"]));
        assert_eq!(v["tables"]["value"], json!("*"));
        assert_eq!(v["tables"]["display"], json!("textarea"));
        assert_eq!(v["password"]["sensitive"], json!(true));
        assert_eq!(
            v["ssl_ca"]["depends_on"],
            json!([{"field": "ssl_enabled", "value": true}])
        );
        assert_eq!(v["ssl_enabled"]["label"], json!("Enable SSL verification"));
        assert_eq!(v[TRACKING_KEY]["required"], json!(false));
    }

    #[test]
    fn column_names_like_map_column_names() {
        let p = column_prefix("Public", &["T2".into(), "T1".into()]);
        assert_eq!(mapped(&p, "Id"), "public_t1_t2_id");
        assert_eq!(column_prefix("", &[]), "");
    }
}
