//! The PostgreSQL [`Dialect`]: connections (TLS, fixed session settings), which failures are
//! transient and what their messages say, the catalog, running prepared statements, and the
//! values of rows (decoded from the binary protocol by `decode`).

use std::pin::Pin;
use std::sync::Arc;

use connectors_sdk::SourceError;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Row, RowStream, Statement};
use tracing::{info, warn};

use super::decode::{self, Dec, Raw};
use super::plan::{self, Decoding};
use super::{Postgres, column_prefix, ident, tls};
use crate::database::dialect::{Cells, Dialect, Reading, TableScan, Wording};
use crate::database::rules::QueryRule;
use crate::database::settings::{CONNECT_TIMEOUT, Settings};

/// An open connection; dropping it aborts its I/O task, which closes the socket and so stops
/// any query the server is still sending.
pub struct Conn {
    pub client: Client,
    task: JoinHandle<()>,
    /// Whether `track_commit_timestamp` is on (asked once).
    commit_ts: Option<bool>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

fn text_params(values: &[String]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

fn columns(statement: &Statement) -> Vec<(String, Type)> {
    statement
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().clone()))
        .collect()
}

/// Cell `i`'s raw bytes.
fn cell(row: &Row, i: usize) -> Result<Option<&[u8]>, SourceError> {
    row.try_get::<_, Option<Raw>>(i)
        .map(|r| r.map(|r| r.0))
        .map_err(|e| SourceError::Other(format!("reading column {i}: {e}")))
}

impl Dialect for Postgres {
    const WORDING: Wording = Wording {
        product: "PostgreSQL",
        table_field: "table",
        quote: Some('\''),
        rows_of: "document for",
        stall_says_what: true,
        reading_table: "Fetching records for table",
        reading_query: "Fetching records using a custom query",
    };

    type Conn = Conn;
    type Error = tokio_postgres::Error;
    type Row = Row;
    type Rows<'c> = Pin<Box<RowStream>>;
    type Statement = Statement;
    /// Values are bound as text and cast to the column's type in the statement.
    type Param = String;
    type ColumnType = Type;
    type Decoding = Decoding;

    const KEEPS_CHECK_CONNECTION: bool = true;

    fn settings(&self) -> &Settings {
        &self.s
    }

    async fn connect(&self) -> Result<Conn, tokio_postgres::Error> {
        let server = &self.s.server;
        let mut cfg = tokio_postgres::Config::new();
        cfg.host(&server.host)
            .port(server.port)
            .user(&server.user)
            .password(&server.password)
            .dbname(&server.database)
            .application_name("elastic-connectors")
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true);
        let (client, task) = match &self.tls {
            Some(tls) => {
                cfg.ssl_mode(tokio_postgres::config::SslMode::Require);
                let (client, connection) = cfg.connect(tls::MakeRustls(Arc::clone(tls))).await?;
                (
                    client,
                    tokio::spawn(async move {
                        let _ = connection.await;
                    }),
                )
            }
            None => {
                cfg.ssl_mode(tokio_postgres::config::SslMode::Disable);
                let (client, connection) = cfg.connect(NoTls).await?;
                (
                    client,
                    tokio::spawn(async move {
                        let _ = connection.await;
                    }),
                )
            }
        };
        let conn = Conn {
            client,
            task,
            commit_ts: None,
        };
        // Fixed text forms for the key values kept in cursors, whatever the role's defaults.
        conn.client
            .batch_execute(
                "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET IntervalStyle = 'postgres'",
            )
            .await?;
        Ok(conn)
    }

    fn is_closed(conn: &Conn) -> bool {
        conn.client.is_closed()
    }

    async fn close(conn: Conn) {
        drop(conn);
    }

    /// Not: credentials, missing objects, bad SQL, TLS verification.
    fn transient(e: &tokio_postgres::Error) -> bool {
        if let Some(code) = e.code() {
            let c = code.code();
            return c.starts_with("08")
                || c.starts_with("57P")
                || *code == SqlState::TOO_MANY_CONNECTIONS
                || *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED;
        }
        if e.is_closed() {
            return true;
        }
        let text = e.to_string();
        text.starts_with("error connecting to server")
            || text.starts_with("error communicating with the server")
            || text.starts_with("timeout")
    }

    fn describe(&self, e: &tokio_postgres::Error) -> SourceError {
        let s = &self.s.server;
        let at = s.at();
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            {
                return SourceError::Unavailable(s.redact(format!(
                    "PostgreSQL at {at} refused user '{}': {} (check the username and password).",
                    s.user,
                    db.message()
                )));
            }
            if *code == SqlState::INVALID_CATALOG_NAME {
                return SourceError::config(
                    "database",
                    format!(
                        "Database '{}' does not exist on PostgreSQL at {at}.",
                        s.database
                    ),
                );
            }
            return SourceError::Other(s.redact(format!(
                "PostgreSQL error {}: {}",
                code.code(),
                db.message()
            )));
        }
        let text = s.redact(chain(e));
        if text.starts_with("error connecting to server") || text.starts_with("timeout") {
            let hint = if text.contains("refused") {
                " (is the server running, and listening on this host and port?)"
            } else if text.contains("lookup") {
                " (is the host name right?)"
            } else {
                ""
            };
            return SourceError::Unavailable(format!(
                "Cannot connect to PostgreSQL at {at}: {text}{hint}"
            ));
        }
        if text.starts_with("error performing TLS handshake") {
            return SourceError::Unavailable(format!(
                "TLS with PostgreSQL at {at} failed: {text} (check 'SSL certificate' and the host name)."
            ));
        }
        SourceError::Unavailable(format!("PostgreSQL at {at}: {text}"))
    }

    async fn ping(&self, conn: &mut Conn) -> Result<(), tokio_postgres::Error> {
        conn.client.simple_query("SELECT 1+1").await.map(|_| ())
    }

    async fn can_read(&self, conn: &mut Conn, table: &str) -> bool {
        let probe = format!("SELECT 1 FROM {} LIMIT 1", self.qualified(table));
        conn.client.simple_query(&probe).await.is_ok()
    }

    fn scope(&self) -> String {
        format!("schema '{}'", self.schema)
    }

    async fn all_tables(&self, conn: &mut Conn) -> Result<Vec<String>, tokio_postgres::Error> {
        let rows = conn
            .client
            .query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_catalog::text = $1 AND table_schema::text = $2 ORDER BY table_name",
                &[&self.s.server.database, &self.schema],
            )
            .await?;
        rows.iter().map(|r| r.try_get::<_, String>(0)).collect()
    }

    fn tables_found(&self, tables: &[String]) {
        info!(schema = %self.schema, "Fetching all tables");
        if tables.is_empty() {
            warn!(
                "Fetched 0 tables for schema: {} and database: {}",
                self.schema, self.s.server.database
            );
        }
    }

    async fn primary_key(
        &self,
        conn: &mut Conn,
        table: &str,
    ) -> Result<Vec<String>, tokio_postgres::Error> {
        let rows = conn
            .client
            .query(
                "SELECT a.attname::text FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 JOIN pg_class t ON t.oid = i.indrelid \
                 JOIN pg_constraint c ON c.conindid = i.indexrelid \
                 WHERE i.indrelid = $1::text::regclass AND t.relkind = 'r' AND c.contype = 'p' \
                 ORDER BY array_position(i.indkey, a.attnum)",
                &[&self.qualified(table)],
            )
            .await?;
        rows.iter().map(|r| r.try_get::<_, String>(0)).collect()
    }

    /// `pg_class.reltuples`, as of the last `ANALYZE` or `VACUUM` (-1 before the first).
    async fn estimated_rows(
        &self,
        conn: &mut Conn,
        table: &str,
    ) -> Result<Option<u64>, tokio_postgres::Error> {
        let row = conn
            .client
            .query_opt(
                "SELECT c.reltuples::float8 FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname::text = $1 AND c.relname::text = $2",
                &[&self.schema, &table],
            )
            .await?;
        let rows = row.map(|r| r.try_get::<_, f64>(0)).transpose()?;
        Ok(rows.filter(|n| *n >= 0.0).map(|n| n as u64))
    }

    async fn has_column(
        &self,
        conn: &mut Conn,
        table: &str,
        column: &str,
    ) -> Result<bool, tokio_postgres::Error> {
        Ok(!conn
            .client
            .query(
                "SELECT 1 FROM information_schema.columns WHERE table_schema::text = $1 \
                 AND table_name::text = $2 AND column_name::text = $3",
                &[&self.schema, &table, &column],
            )
            .await?
            .is_empty())
    }

    /// The reference's `MAX(pg_xact_commit_timestamp(xmin))`, or now when commit timestamps
    /// are off.
    async fn table_timestamp(
        &self,
        conn: &mut Conn,
        table: &str,
    ) -> Result<Option<String>, tokio_postgres::Error> {
        if conn.commit_ts.is_none() {
            let on = conn
                .client
                .query_one("SELECT current_setting('track_commit_timestamp')", &[])
                .await?
                .try_get::<_, String>(0)?
                == "on";
            conn.commit_ts = Some(on);
        }
        if conn.commit_ts != Some(true) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT MAX(pg_xact_commit_timestamp(xmin)) FROM {}",
            self.qualified(table)
        );
        match conn.client.query_one(&sql, &[]).await {
            Ok(row) => Ok(match row.try_get::<_, Option<Raw>>(0)? {
                Some(raw) => match decode::to_json(&Dec::TimestampTz, raw.0) {
                    Ok(Value::String(t)) => Some(t),
                    _ => None,
                },
                None => None,
            }),
            Err(e) if Self::transient(&e) => Err(e),
            Err(e) => {
                warn!(table, error = %self.describe(&e), "Unable to fetch last_updated_time for table");
                Ok(None)
            }
        }
    }

    async fn max_tracking(
        &self,
        conn: &mut Conn,
        table: &str,
        column: &str,
    ) -> Result<Value, tokio_postgres::Error> {
        let sql = format!(
            "SELECT MAX({})::text FROM {}",
            ident(column),
            self.qualified(table)
        );
        let value = conn
            .client
            .query_one(&sql, &[])
            .await?
            .try_get::<_, Option<String>>(0)?;
        Ok(json!(value))
    }

    fn field_prefix(&self, tables: &[String]) -> Option<String> {
        Some(column_prefix(&self.schema, tables))
    }

    async fn table_columns(
        &self,
        conn: &mut Conn,
        table: &str,
    ) -> Result<Vec<(String, Type)>, tokio_postgres::Error> {
        let sql = format!("SELECT * FROM {}", self.qualified(table));
        Ok(columns(&conn.client.prepare(&sql).await?))
    }

    async fn table_reading(
        &self,
        conn: &mut Conn,
        scan: &TableScan<'_, Self>,
    ) -> Result<Option<Reading<Self>>, tokio_postgres::Error> {
        plan::table_reading(self, conn, scan).await
    }

    async fn query_columns(
        &self,
        conn: &mut Conn,
        rule: &QueryRule,
    ) -> Result<Vec<(String, Type)>, tokio_postgres::Error> {
        Ok(columns(&conn.client.prepare(rule.bare_query()).await?))
    }

    async fn rule_reading(
        &self,
        conn: &mut Conn,
        rule: &QueryRule,
        columns: &[(String, Type)],
        order: &[usize],
    ) -> Result<Reading<Self>, tokio_postgres::Error> {
        plan::rule_reading(conn, rule, columns, order).await
    }

    async fn query<'c>(
        &'c self,
        conn: &'c mut Conn,
        statement: &'c Statement,
        params: Vec<String>,
    ) -> Result<Self::Rows<'c>, tokio_postgres::Error> {
        let rows = conn
            .client
            .query_raw(statement, text_params(&params))
            .await?;
        Ok(Box::pin(rows))
    }

    async fn next_row(rows: &mut Self::Rows<'_>) -> Result<Option<Row>, tokio_postgres::Error> {
        rows.next().await.transpose()
    }

    fn resume_params(
        reading: &Reading<Self>,
        after: &[Value],
        tracking_after: Option<&Value>,
    ) -> Option<Vec<String>> {
        plan::resume_params(reading, after, tracking_after)
    }

    fn key_from_cursor(value: &Value) -> Option<String> {
        value.as_str().map(str::to_string)
    }

    fn key_to_cursor(param: &String) -> Value {
        Value::String(param.clone())
    }

    /// The key and tracking values follow the columns as text.
    fn cursor_value(row: &Row, i: usize) -> Result<Value, tokio_postgres::Error> {
        Ok(match row.try_get::<_, Option<&str>>(i)? {
            Some(t) => Value::String(t.to_string()),
            None => Value::Null,
        })
    }

    fn members(&self, table_value: &Value) -> Vec<(&'static str, Value)> {
        vec![
            ("database", Value::String(self.s.server.database.clone())),
            ("table", table_value.clone()),
            ("schema", Value::String(self.schema.clone())),
        ]
    }

    fn id_prefix(&self) -> String {
        format!("{}_{}_", self.s.server.database, self.schema)
    }
}

impl Cells<Row> for Decoding {
    fn id_text(&self, row: &Row, i: usize) -> Result<Option<String>, SourceError> {
        match cell(row, i)? {
            None => Ok(None),
            Some(raw) => decode::python_str(&self.decs[i], raw)
                .map(Some)
                .map_err(|e| SourceError::Other(e.to_string())),
        }
    }

    fn write(&self, row: &Row, i: usize, name: &str, out: &mut Vec<u8>) -> Result<(), SourceError> {
        match cell(row, i)? {
            None => {
                out.extend_from_slice(b"null");
                Ok(())
            }
            Some(raw) => decode::write_json(&self.decs[i], raw, out)
                .map_err(|e| SourceError::Other(format!("column '{name}': {e}"))),
        }
    }
}
