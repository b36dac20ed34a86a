//! `mysql`: the rows of a MySQL or MariaDB database's tables, with the reference's
//! configuration and documents (`sources/mysql/*`): every column under its own name, plus
//! `Table`; `_id` = `<table>_<key values>`; `_timestamp` = the table's `UPDATE_TIME` (else the
//! time it was read).
//!
//! Each table is read by keyset chunks of `fetch_size` rows in primary-key order, as the
//! reference does since PR #3719, but as prepared statements with typed parameters, streamed
//! into pages by a background task, with a cursor that resumes mid-table in another process;
//! custom queries are keyset-paginated on their id columns instead of `LIMIT/OFFSET`. See
//! [`crate::database`]. This module holds the source's descriptor and settings; `dialect` and
//! `plan` the MySQL [`Dialect`](crate::database::dialect::Dialect).
//!
//! Driver: mysql_async, the maintained async driver for both servers, built without its
//! defaults: pure-Rust compression and TLS through the workspace's rustls (no OpenSSL).

mod decode;
mod dialect;
mod plan;

use connectors_protocol::Configuration;
use connectors_sdk::{DataSource, SourceDescriptor, SourceError, SourceFeatures};
use mysql_async::{Opts, OptsBuilder, SslOpts};

use crate::database::fields;
use crate::database::settings::{self, Fields, Server, Settings, TRACKING_KEY};
use crate::database::source::{self, DatabaseSource};

/// The reference's defaults (`sources/mysql/common.py`).
pub const DEFAULT_FETCH_SIZE: i64 = 5000;
pub const DEFAULT_RETRY_COUNT: i64 = 3;

/// The `mysql` source.
#[derive(Debug, Clone, Default)]
pub struct MySqlSource;

impl SourceDescriptor for MySqlSource {
    fn build(&self, configuration: &Configuration) -> Result<Box<dyn DataSource>, SourceError> {
        Ok(Box::new(DatabaseSource::new(MySql::read(configuration)?)))
    }

    fn service_type(&self) -> &'static str {
        "mysql"
    }

    fn name(&self) -> &'static str {
        "MySQL"
    }

    fn default_configuration(&self) -> Configuration {
        let mut c = Configuration::from_iter(fields::server("user"));
        c.insert("tables".into(), fields::tables(6));
        c.extend(fields::tls("Enable SSL", 7));
        c.extend(fields::tuning(9, DEFAULT_FETCH_SIZE, DEFAULT_RETRY_COUNT));
        c.insert(TRACKING_KEY.into(), settings::tracking_field(11));
        c
    }

    fn features(&self) -> SourceFeatures {
        source::features()
    }
}

/// The MySQL dialect, with the connector's settings.
struct MySql {
    s: Settings,
    /// DER certificates of `ssl_ca`, when TLS is on.
    ca: Option<Vec<Vec<u8>>>,
}

impl MySql {
    fn read(c: &Configuration) -> Result<Self, SourceError> {
        let f = Fields(c);
        let fetch_size = settings::fetch_size(&f, DEFAULT_FETCH_SIZE)?;
        let ca = if f.bool("ssl_enabled") {
            let certs = settings::ca_certificates(&f.required_text("ssl_ca")?)?;
            Some(certs.into_iter().map(|c| c.to_vec()).collect())
        } else {
            None
        };
        let tables = settings::tables(&f)?;
        let server = Server::read(&f, "user")?;
        let retry_count = settings::retry_count(&f, DEFAULT_RETRY_COUNT)?;
        Ok(MySql {
            s: Settings::new(&f, server, tables, fetch_size, retry_count)?,
            ca,
        })
    }

    fn opts(&self) -> Opts {
        let s = &self.s.server;
        let mut b = OptsBuilder::default()
            .ip_or_hostname(s.host.clone())
            .tcp_port(s.port)
            .user(Some(s.user.clone()))
            .pass(Some(s.password.clone()))
            .db_name(Some(s.database.clone()))
            .prefer_socket(false)
            .tcp_nodelay(true)
            .stmt_cache_size(64);
        if let Some(ca) = &self.ca {
            let roots = ca.iter().map(|der| der.clone().into()).collect();
            b = b.ssl_opts(
                SslOpts::default()
                    .with_root_certs(roots)
                    .with_disable_built_in_roots(true),
            );
        }
        b.into()
    }

    fn qualified(&self, table: &str) -> String {
        format!("{}.{}", ident(&self.s.server.database), ident(table))
    }

    /// The reference's message for a database the user cannot use.
    fn database_error(&self) -> SourceError {
        let s = &self.s.server;
        SourceError::config(
            "database",
            format!(
                "The database '{}' is either not present or not accessible for the user '{}'.",
                s.database, s.user
            ),
        )
    }
}

fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value as Json, json};

    #[test]
    fn configuration_matches_the_reference() {
        let c = MySqlSource.default_configuration();
        let keys: Vec<&str> = c.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "host",
                "port",
                "user",
                "password",
                "database",
                "tables",
                "ssl_enabled",
                "ssl_ca",
                "fetch_size",
                "retry_count",
                TRACKING_KEY
            ]
        );
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["fetch_size"]["default_value"], json!(5000));
        assert_eq!(v["ssl_enabled"]["label"], json!("Enable SSL"));
        assert_eq!(v["tables"]["tooltip"], Json::Null);
        assert_eq!(v["user"]["label"], json!("Username"));
    }
}
