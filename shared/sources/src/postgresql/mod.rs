//! `postgresql`: the rows of a schema's tables, with the reference's configuration and
//! documents (`sources/postgresql/*`): every column as `<schema>_<table>_<column>` lower-cased,
//! plus `database`, `schema` and `table`; `_id` = `<database>_<schema>_<table>_<key values>`;
//! `_timestamp` = the table's latest commit time when `track_commit_timestamp` is on, else the
//! time the table was read.
//!
//! Unlike the reference (`LIMIT 1000 OFFSET n`, a full `COUNT(*)`, whole pages buffered), each
//! table is read in primary-key order by keyset chunks (`WHERE (pk) > (last) ORDER BY pk
//! LIMIT n`), streamed row by row into pages by a background task; see [`crate::database`].
//!
//! Driver: tokio-postgres, the maintained async driver with the least build weight (no macros,
//! no OpenSSL; TLS through the workspace's rustls), whose binary protocol we decode ourselves
//! to reproduce asyncpg's values exactly (`decode`).

mod decode;
mod tls;

use std::sync::Arc;

use async_trait::async_trait;
use connectors_sdk::{
    DataSource, JsonDocument, Page, PageRequest, SourceDescriptor, SourceError, SourceFeatures,
    SourceItem, UnreadScope,
};
use connectors_protocol::{ConfigField, Configuration, Dependency, Display, FieldType};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Row, Statement};
use tracing::{info, warn};

use crate::database::layout::Layout;
use crate::database::pager::{Closed, PageSink, Pager, Position};
use crate::database::rules::{self, QueryRule};
use crate::database::settings::{
    self, CONNECT_TIMEOUT, Fields, READ_TIMEOUT, RETRY_BASE, TRACKING_KEY, Tracking,
};
use crate::database::{self as db, Mode, python};
use decode::{Dec, Raw};

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
        let field = |label: &str, order: i64| {
            let mut f = ConfigField::new(label);
            f.order = order;
            f
        };
        let numeric = |label: &str, order: i64| {
            let mut f = field(label, order);
            f.display = Display::Numeric;
            f.field_type = FieldType::Int;
            f
        };
        let advanced_int = |label: &str, order: i64, default: i64| {
            let mut f = numeric(label, order);
            f.default_value = json!(default);
            f.required = false;
            f.ui_restrictions = vec!["advanced".into()];
            f
        };
        let mut password = field("Password", 4);
        password.sensitive = true;
        let mut tables = field("Comma-separated list of tables", 7);
        tables.display = Display::Textarea;
        tables.field_type = FieldType::List;
        tables.value = json!("*");
        tables.tooltip =
            Some("This configurable field is ignored when Advanced Sync Rules are used.".into());
        let mut ssl_enabled = field("Enable SSL verification", 10);
        ssl_enabled.display = Display::Toggle;
        ssl_enabled.field_type = FieldType::Bool;
        ssl_enabled.value = json!(false);
        let mut ssl_ca = field("SSL certificate", 11);
        ssl_ca.depends_on = vec![Dependency {
            field: "ssl_enabled".into(),
            value: json!(true),
        }];
        Configuration::from([
            ("host".to_string(), field("Host", 1)),
            ("port".to_string(), numeric("Port", 2)),
            ("username".to_string(), field("Username", 3)),
            ("password".to_string(), password),
            ("database".to_string(), field("Database", 5)),
            ("schema".to_string(), field("Schema", 6)),
            ("tables".to_string(), tables),
            (
                "fetch_size".to_string(),
                advanced_int("Rows fetched per request", 8, DEFAULT_FETCH_SIZE),
            ),
            (
                "retry_count".to_string(),
                advanced_int("Retries per request", 9, DEFAULT_RETRY_COUNT),
            ),
            ("ssl_enabled".to_string(), ssl_enabled),
            ("ssl_ca".to_string(), ssl_ca),
            (TRACKING_KEY.to_string(), settings::tracking_field(12)),
        ])
    }

    fn features(&self) -> SourceFeatures {
        SourceFeatures {
            advanced_rules: true,
            // With `tracking_columns` set, incremental syncs read only changed rows; without,
            // they read everything and deletions are swept as in a full sync.
            incremental_sync: true,
            ..SourceFeatures::default()
        }
    }

    fn build(&self, configuration: &Configuration) -> Result<Box<dyn DataSource>, SourceError> {
        Ok(Box::new(Postgres {
            s: Arc::new(Settings::read(configuration)?),
            pager: Pager::default(),
            control: tokio::sync::Mutex::new(None),
        }))
    }
}

/// The connector's settings, typed.
struct Settings {
    host: String,
    port: u16,
    user: String,
    password: String,
    database: String,
    schema: String,
    tables: Vec<String>,
    fetch_size: usize,
    retry_count: u32,
    tls: Option<Arc<rustls::ClientConfig>>,
    tracking: Tracking,
}

impl Settings {
    fn read(c: &Configuration) -> Result<Self, SourceError> {
        let f = Fields(c);
        let fetch_size = f.int("fetch_size", DEFAULT_FETCH_SIZE)?;
        if fetch_size < 1 {
            return Err(SourceError::config(
                "fetch_size",
                "'Rows fetched per request' must be at least 1.",
            ));
        }
        let retry_count = f.int("retry_count", DEFAULT_RETRY_COUNT)?;
        let tls = if f.bool("ssl_enabled") {
            Some(settings::tls_config(&f.required_text("ssl_ca")?)?)
        } else {
            None
        };
        let tables = settings::dedup(f.list("tables"));
        if tables.is_empty() {
            return Err(SourceError::config(
                "tables",
                "'Comma-separated list of tables' cannot be empty; use * for every table.",
            ));
        }
        Ok(Settings {
            host: f.required_text("host")?,
            port: f.port("port")?,
            user: f.required_text("username")?,
            password: f.raw_text("password"),
            database: f.required_text("database")?,
            schema: f.required_text("schema")?,
            tables,
            fetch_size: fetch_size as usize,
            retry_count: retry_count.clamp(0, 100) as u32,
            tls,
            tracking: Tracking::parse(&f.list(TRACKING_KEY))?,
        })
    }

    fn at(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn chunk(&self) -> usize {
        self.fetch_size.max(FETCH_LIMIT)
    }

    fn qualified(&self, table: &str) -> String {
        format!("{}.{}", ident(&self.schema), ident(table))
    }

    /// Never lets the password through, whatever a driver message contains.
    fn redact(&self, text: String) -> String {
        if self.password.len() >= 4 {
            text.replace(&self.password, "********")
        } else {
            text
        }
    }
}

/// A quoted identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The type of a column, for casting a text parameter to it.
fn type_name(ty: &Type) -> String {
    format!("{}.{}", ident(ty.schema()), ident(ty.name()))
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

fn mapped(prefix: &str, column: &str) -> String {
    format!("{prefix}{column}").to_lowercase()
}

/// An open connection; dropping it aborts its I/O task, which closes the socket and so stops
/// any query the server is still sending.
struct Conn {
    client: Client,
    task: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn connect_once(s: &Settings) -> Result<Conn, tokio_postgres::Error> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&s.host)
        .port(s.port)
        .user(&s.user)
        .password(&s.password)
        .dbname(&s.database)
        .application_name("elastic-connectors")
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true);
    let (client, task) = match &s.tls {
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
    let conn = Conn { client, task };
    // Fixed text forms for the key values kept in cursors, whatever the role's defaults.
    conn.client
        .batch_execute(
            "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET IntervalStyle = 'postgres'",
        )
        .await?;
    Ok(conn)
}

async fn connect(s: &Settings) -> Result<Conn, tokio_postgres::Error> {
    settings::retry(s.retry_count, transient, || connect_once(s)).await
}

/// Worth retrying: the server could not be reached or dropped the connection, or is
/// momentarily refusing work. Not: credentials, missing objects, bad SQL, TLS verification.
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

/// A driver error as a message that says what to fix, never with the password.
fn describe(e: &tokio_postgres::Error, s: &Settings) -> SourceError {
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

struct Postgres {
    s: Arc<Settings>,
    pager: Pager,
    /// A connection for checks (ping, validation), opened on first use.
    control: tokio::sync::Mutex<Option<Conn>>,
}

impl Postgres {
    async fn control(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Conn>>, SourceError> {
        let mut guard = self.control.lock().await;
        if guard.as_ref().is_none_or(|c| c.client.is_closed()) {
            *guard = Some(connect(&self.s).await.map_err(|e| describe(&e, &self.s))?);
        }
        Ok(guard)
    }
}

/// Every table of the schema, as the reference lists them for `*` and for rule validation.
async fn all_tables(client: &Client, s: &Settings) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_catalog::text = $1 AND table_schema::text = $2 ORDER BY table_name",
            &[&s.database, &s.schema],
        )
        .await?;
    rows.iter().map(|r| r.try_get::<_, String>(0)).collect()
}

async fn primary_key(
    client: &Client,
    s: &Settings,
    table: &str,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             JOIN pg_class t ON t.oid = i.indrelid \
             JOIN pg_constraint c ON c.conindid = i.indexrelid \
             WHERE i.indrelid = $1::text::regclass AND t.relkind = 'r' AND c.contype = 'p' \
             ORDER BY array_position(i.indkey, a.attnum)",
            &[&s.qualified(table)],
        )
        .await?;
    rows.iter().map(|r| r.try_get::<_, String>(0)).collect()
}

#[async_trait]
impl DataSource for Postgres {
    async fn validate_config(&self) -> Result<(), SourceError> {
        let guard = self.control().await?;
        let Some(conn) = guard.as_ref() else {
            return Ok(());
        };
        // Every listed table must be readable, as the reference's MySQL source checks: a
        // misspelled name fails the job here instead of syncing nothing and sweeping the index.
        if !settings::is_wildcard(&self.s.tables) {
            let mut inaccessible = Vec::new();
            for table in &self.s.tables {
                let probe = format!("SELECT 1 FROM {} LIMIT 1", self.s.qualified(table));
                if conn.client.simple_query(&probe).await.is_err() {
                    inaccessible.push(table.as_str());
                }
            }
            if let Some(e) = settings::inaccessible_tables(&inaccessible, &self.s.user) {
                return Err(e);
            }
        }
        for (table, column) in self.s.tracking.pairs() {
            if table == settings::WILDCARD {
                continue;
            }
            let found = conn
                .client
                .query(
                    "SELECT 1 FROM information_schema.columns WHERE table_schema::text = $1 \
                     AND table_name::text = $2 AND column_name::text = $3",
                    &[&self.s.schema, table, column],
                )
                .await
                .map_err(|e| describe(&e, &self.s))?;
            if found.is_empty() {
                return Err(SourceError::config(
                    TRACKING_KEY,
                    format!(
                        "Tracking column '{column}' of table '{table}' does not exist in schema '{}'.",
                        self.s.schema
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), SourceError> {
        let guard = self.control().await?;
        if let Some(conn) = guard.as_ref() {
            conn.client
                .simple_query("SELECT 1+1")
                .await
                .map_err(|e| describe(&e, &self.s))?;
        }
        Ok(())
    }

    async fn validate_advanced_rules(&self, value: &Value) -> Vec<String> {
        let rules = match rules::parse(value) {
            Ok(r) => r,
            Err(messages) => return messages,
        };
        if rules.is_empty() {
            return Vec::new();
        }
        let guard = match self.control().await {
            Ok(g) => g,
            Err(e) => return vec![format!("Cannot validate the advanced rules: {e}")],
        };
        let Some(conn) = guard.as_ref() else {
            return Vec::new();
        };
        let existing = match all_tables(&conn.client, &self.s).await {
            Ok(t) => t,
            Err(e) => return vec![describe(&e, &self.s).to_string()],
        };
        let mut messages = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let n = i + 1;
            let mut missing: Vec<&str> = rule
                .tables
                .iter()
                .filter(|t| !existing.contains(t))
                .map(String::as_str)
                .collect();
            missing.sort_unstable();
            missing.dedup();
            if !missing.is_empty() {
                messages.push(format!(
                    "Rule {n}: tables not found or inaccessible: {}.",
                    missing.join(", ")
                ));
                continue;
            }
            match plan_rule(&conn.client, &self.s, rule).await {
                Ok(RulePlan::Ready(_)) => {}
                Ok(RulePlan::Skip(why)) => messages.push(format!("Rule {n}: {why}")),
                Err(e) => messages.push(format!(
                    "Rule {n}: the query cannot be run: {}",
                    describe(&e, &self.s)
                )),
            }
        }
        messages
    }

    fn incremental_lists_everything(&self) -> bool {
        // Without tracking columns an incremental sync reads every row, so what it did not
        // see is gone; with them, unchanged rows are not read and deletions wait for a full
        // sync.
        self.s.tracking.is_empty()
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let position = Position::parse(request.cursor)?;
        let rules = if rules::is_empty(request.advanced_rules) {
            None
        } else {
            let value = request.advanced_rules.cloned().unwrap_or(Value::Null);
            Some(rules::parse(&value).map_err(|m| SourceError::Config {
                field: None,
                message: format!("Invalid advanced rules: {}", m.join(" ")),
            })?)
        };
        let fingerprint = db::fingerprint(&request.mode, request.advanced_rules);
        let mode = Mode::from(&request.mode);
        let s = Arc::clone(&self.s);
        let with_sync_cursor = !s.tracking.is_empty();
        self.pager
            .next_page(
                request.cursor,
                fingerprint,
                request.page_size,
                with_sync_cursor,
                move |sink| tokio::spawn(produce(s, sink, position, mode, rules)),
            )
            .await
    }
}

/// Why a listing stopped early.
enum Stop {
    /// The engine is no longer listening.
    Closed,
    /// A database failure (retried when transient).
    Db(tokio_postgres::Error),
    /// Anything else; ends the sync with this error.
    Fail(SourceError),
}

impl From<tokio_postgres::Error> for Stop {
    fn from(e: tokio_postgres::Error) -> Self {
        Stop::Db(e)
    }
}

impl From<Closed> for Stop {
    fn from(_: Closed) -> Self {
        Stop::Closed
    }
}

/// The listing task: runs until the listing is complete, the engine stops listening, or a
/// failure outlasts the retries. Transient failures reconnect and resume from the last row
/// sent.
async fn produce(
    s: Arc<Settings>,
    mut sink: PageSink,
    mut pos: Position,
    mode: Mode,
    rules: Option<Vec<QueryRule>>,
) {
    let mut attempts = 0u32;
    let mut failed_at: Option<Value> = None;
    loop {
        let result = match connect(&s).await {
            Ok(conn) => {
                let mut lister = Lister {
                    s: &s,
                    client: &conn.client,
                    mode: &mode,
                    commit_ts: None,
                };
                match &rules {
                    Some(rules) => lister.rules(&mut sink, &mut pos, rules).await,
                    None => lister.tables(&mut sink, &mut pos).await,
                }
            }
            Err(e) => Err(Stop::Db(e)),
        };
        match result {
            Ok(()) => {
                let _ = sink.finish(&pos).await;
                return;
            }
            Err(Stop::Closed) => return,
            Err(Stop::Fail(e)) => {
                sink.fail(e).await;
                return;
            }
            Err(Stop::Db(e)) => {
                let here = Some(pos.to_value());
                if failed_at != here {
                    attempts = 0;
                    failed_at = here;
                }
                if transient(&e) && attempts < s.retry_count {
                    attempts += 1;
                    let pause = RETRY_BASE * 2u32.saturating_pow(attempts - 1);
                    warn!(error = %describe(&e, &s), attempt = attempts, "PostgreSQL listing failed; resuming after a pause");
                    tokio::time::sleep(pause).await;
                    continue;
                }
                sink.fail(describe(&e, &s)).await;
                return;
            }
        }
    }
}

/// How a table (or custom query) is read.
struct Plan {
    /// Output field name of each selected column.
    names: Vec<String>,
    decs: Vec<Dec>,
    /// Positions (among the columns) whose values make the `_id`, in the reference's order.
    id_cols: Vec<usize>,
    /// Number of key text columns following the selected ones (the keyset order).
    keys: usize,
    /// Whether a tracking text column follows the key texts.
    tracking_text: bool,
    /// `_id` prefix: `<database>_<schema>_`.
    id_prefix: String,
    /// The tables making the `_id` (sorted in it).
    id_tables: Vec<String>,
}

impl Plan {
    /// The row's document, written as `layout` says.
    fn document(&self, row: &Row, layout: &Layout) -> Result<JsonDocument, SourceError> {
        let cell = |i: usize| -> Result<Option<&[u8]>, SourceError> {
            row.try_get::<_, Option<Raw>>(i)
                .map(|r| r.map(|r| r.0))
                .map_err(|e| SourceError::Other(format!("reading column {i}: {e}")))
        };
        let mut values = Vec::with_capacity(self.id_cols.len());
        for &i in &self.id_cols {
            values.push(match cell(i)? {
                None => None,
                Some(raw) => Some(
                    decode::python_str(&self.decs[i], raw)
                        .map_err(|e| SourceError::Other(e.to_string()))?,
                ),
            });
        }
        let id = format!(
            "{}{}",
            self.id_prefix,
            db::doc_id(&self.id_tables, values.iter().map(Option::as_deref))
        );
        layout.document(id, |i, out| match cell(i)? {
            None => {
                out.extend_from_slice(b"null");
                Ok(())
            }
            Some(raw) => decode::write_json(&self.decs[i], raw, out)
                .map_err(|e| SourceError::Other(format!("column '{}': {e}", self.names[i]))),
        })
    }

    /// The key texts (and tracking text) that follow the columns.
    fn cursor_values(
        &self,
        row: &Row,
    ) -> Result<(Vec<Value>, Option<Value>), tokio_postgres::Error> {
        let base = self.names.len();
        let mut keys = Vec::with_capacity(self.keys);
        for k in 0..self.keys {
            keys.push(match row.try_get::<_, Option<&str>>(base + k)? {
                Some(t) => Value::String(t.to_string()),
                None => Value::Null,
            });
        }
        let tracking = if self.tracking_text {
            Some(match row.try_get::<_, Option<&str>>(base + self.keys)? {
                Some(t) => Value::String(t.to_string()),
                None => Value::Null,
            })
        } else {
            None
        };
        Ok((keys, tracking))
    }
}

/// The select list of a statement's columns: decodable columns as they are, the others as
/// text. `alias` names each column instead of its own name (custom queries).
fn select_list(
    columns: &[(String, Type)],
    alias: Option<&dyn Fn(usize) -> String>,
) -> (Vec<String>, Vec<Dec>) {
    let mut sql = Vec::with_capacity(columns.len());
    let mut decs = Vec::with_capacity(columns.len());
    for (i, (name, ty)) in columns.iter().enumerate() {
        let col = match alias {
            Some(a) => a(i),
            None => ident(name),
        };
        match decode::decoder(ty) {
            Some(d) => {
                sql.push(col);
                decs.push(d);
            }
            None => {
                sql.push(format!("{col}::text"));
                decs.push(Dec::Text);
            }
        }
    }
    (sql, decs)
}

fn text_params(values: &[String]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// `(a, b) > ($n::text::T, ...)`, numbering parameters from `first`.
fn keyset(columns: &[String], types: &[String], first: usize) -> String {
    let params: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::text::{t}", first + i))
        .collect();
    format!("({}) > ({})", columns.join(", "), params.join(", "))
}

fn cursor_texts(after: &[Value]) -> Option<Vec<String>> {
    after
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// A table's statements.
struct TableQueries {
    plan: Plan,
    first: Statement,
    next: Statement,
}

enum RulePlan {
    Ready(Box<RuleQuery>),
    /// The rule cannot be run as written (no key, id columns not in the query).
    Skip(String),
}

struct RuleQuery {
    plan: Plan,
    /// The wrapped query, without and with the resume condition.
    first: String,
    next: String,
    key_types: Vec<String>,
}

/// Prepares a custom query: its columns, `_id` columns, and the wrapped, ordered statements.
async fn plan_rule(
    client: &Client,
    s: &Settings,
    rule: &QueryRule,
) -> Result<RulePlan, tokio_postgres::Error> {
    let prefix = column_prefix(&s.schema, &rule.tables);
    let mut id_names: Vec<String> = Vec::new();
    if rule.id_columns.is_empty() {
        for table in &rule.tables {
            for key in primary_key(client, s, table).await? {
                id_names.push(mapped(&prefix, &key));
            }
        }
    } else {
        id_names = rule.id_columns.iter().map(|c| mapped(&prefix, c)).collect();
    }
    if id_names.is_empty() {
        return Ok(RulePlan::Skip(format!(
            "tables {} have no primary key; set id_columns.",
            rule.tables.join(", ")
        )));
    }
    let raw = client.prepare(rule.bare_query()).await?;
    let columns: Vec<(String, Type)> = raw
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().clone()))
        .collect();
    let names: Vec<String> = columns.iter().map(|(n, _)| mapped(&prefix, n)).collect();
    // The row is a dict in the reference: a repeated name keeps the last column's value.
    let mut id_cols = Vec::with_capacity(id_names.len());
    let mut missing = Vec::new();
    for id in &id_names {
        match names.iter().rposition(|n| n == id) {
            Some(i) => id_cols.push(i),
            None => missing.push(id.clone()),
        }
    }
    if !missing.is_empty() {
        return Ok(RulePlan::Skip(format!(
            "the primary key or id columns {} are not among the query's columns.",
            missing.join(", ")
        )));
    }
    let mut order: Vec<usize> = Vec::new();
    for &i in &id_cols {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    let alias = |i: usize| format!("\"__q\".\"c{i}\"");
    let (select, decs) = select_list(&columns, Some(&alias));
    let order_cols: Vec<String> = order.iter().map(|&i| alias(i)).collect();
    let key_texts: Vec<String> = order_cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c}::text AS \"__k{i}\""))
        .collect();
    let key_types: Vec<String> = order.iter().map(|&i| type_name(&columns[i].1)).collect();
    let aliases: Vec<String> = (0..columns.len()).map(|i| format!("\"c{i}\"")).collect();
    let from = format!(
        "FROM ({}) AS \"__q\"({})",
        rule.bare_query(),
        aliases.join(", ")
    );
    let head = format!(
        "SELECT {}, {} {from}",
        select.join(", "),
        key_texts.join(", ")
    );
    let order_by = format!("ORDER BY {}", order_cols.join(", "));
    let first = format!("{head} {order_by}");
    let next = format!(
        "{head} WHERE {} {order_by}",
        keyset(&order_cols, &key_types, 1)
    );
    // Check that both forms are valid (orderable id columns, ...), as validation promises.
    client.prepare(&next).await?;
    let mut id_tables = rule.tables.clone();
    id_tables.sort();
    Ok(RulePlan::Ready(Box::new(RuleQuery {
        plan: Plan {
            names,
            decs,
            id_cols,
            keys: order.len(),
            tracking_text: false,
            id_prefix: format!("{}_{}_", s.database, s.schema),
            id_tables,
        },
        first,
        next,
        key_types,
    })))
}

struct Lister<'a> {
    s: &'a Settings,
    client: &'a Client,
    mode: &'a Mode,
    /// Whether `track_commit_timestamp` is on (asked once).
    commit_ts: Option<bool>,
}

impl Lister<'_> {
    async fn tables(&mut self, sink: &mut PageSink, pos: &mut Position) -> Result<(), Stop> {
        let tables = if settings::is_wildcard(&self.s.tables) {
            info!(schema = %self.s.schema, "Fetching all tables");
            all_tables(self.client, self.s).await?
        } else {
            self.s.tables.clone()
        };
        if tables.is_empty() {
            warn!(
                "Fetched 0 tables for schema: {} and database: {}",
                self.s.schema, self.s.database
            );
        }
        let start = pos.resume_index(&tables);
        for (i, table) in tables.iter().enumerate().skip(start) {
            pos.enter(i, table);
            self.table(sink, pos, table).await?;
        }
        Ok(())
    }

    async fn rules(
        &mut self,
        sink: &mut PageSink,
        pos: &mut Position,
        rules: &[QueryRule],
    ) -> Result<(), Stop> {
        let names: Vec<String> = rules.iter().map(|r| r.query.clone()).collect();
        for i in pos.resume_index(&names)..rules.len() {
            pos.enter(i, &names[i]);
            self.rule(sink, pos, &rules[i]).await?;
        }
        Ok(())
    }

    /// `_timestamp` of a table's documents: the reference's
    /// `MAX(pg_xact_commit_timestamp(xmin))`, or now when commit timestamps are off.
    async fn table_timestamp(
        &mut self,
        table: &str,
    ) -> Result<Option<String>, tokio_postgres::Error> {
        if self.commit_ts.is_none() {
            let on = self
                .client
                .query_one("SELECT current_setting('track_commit_timestamp')", &[])
                .await?
                .try_get::<_, String>(0)?
                == "on";
            self.commit_ts = Some(on);
        }
        if self.commit_ts != Some(true) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT MAX(pg_xact_commit_timestamp(xmin)) FROM {}",
            self.s.qualified(table)
        );
        match self.client.query_one(&sql, &[]).await {
            Ok(row) => Ok(match row.try_get::<_, Option<Raw>>(0)? {
                Some(raw) => match decode::to_json(&Dec::TimestampTz, raw.0) {
                    Ok(Value::String(t)) => Some(t),
                    _ => None,
                },
                None => None,
            }),
            Err(e) if transient(&e) => Err(e),
            Err(e) => {
                warn!(table, error = %describe(&e, self.s), "Unable to fetch last_updated_time for table");
                Ok(None)
            }
        }
    }

    async fn plan_table(
        &mut self,
        table: &str,
        tracking: Option<&str>,
        delta: bool,
    ) -> Result<Option<TableQueries>, tokio_postgres::Error> {
        let keys = primary_key(self.client, self.s, table).await?;
        if keys.is_empty() {
            return Ok(None);
        }
        let qualified = self.s.qualified(table);
        let star = self
            .client
            .prepare(&format!("SELECT * FROM {qualified}"))
            .await?;
        let columns: Vec<(String, Type)> = star
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.type_().clone()))
            .collect();
        let type_of = |name: &str| {
            columns
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| type_name(t))
        };
        // Columns are referred to through the alias, so that ORDER BY and WHERE never pick an
        // output column (a `::text` cast keeps its column's name).
        let col = |name: &str| format!("\"__t\".{}", ident(name));
        let (select, decs) = select_list(&columns, Some(&|i: usize| col(&columns[i].0)));
        let key_cols: Vec<String> = keys.iter().map(|k| col(k)).collect();
        let mut key_types = Vec::new();
        for k in &keys {
            match type_of(k) {
                Some(t) => key_types.push(t),
                None => return Ok(None),
            }
        }
        let prefix = column_prefix(&self.s.schema, &[table.to_string()]);
        let names: Vec<String> = columns.iter().map(|(n, _)| mapped(&prefix, n)).collect();
        let id_cols: Vec<usize> = keys
            .iter()
            .filter_map(|k| columns.iter().position(|(n, _)| n == k))
            .collect();
        let mut extra: Vec<String> = key_cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}::text AS \"__k{i}\""))
            .collect();
        let from = format!("FROM {qualified} AS \"__t\"");
        let limit = self.s.chunk();
        let (first, next) = match (tracking, delta) {
            (Some(t), true) => {
                let tc = col(t);
                let Some(tc_type) = type_of(t) else {
                    return Ok(None);
                };
                extra.push(format!("{tc}::text AS \"__tracking\""));
                let head = format!("SELECT {}, {} {from}", select.join(", "), extra.join(", "));
                let mut order = vec![tc.clone()];
                order.extend(key_cols.iter().cloned());
                let mut types = vec![tc_type.clone()];
                types.extend(key_types.iter().cloned());
                let order_by = format!("ORDER BY {} LIMIT {limit}", order.join(", "));
                (
                    format!("{head} WHERE {tc} >= $1::text::{tc_type} {order_by}"),
                    format!(
                        "{head} WHERE {tc} >= $1::text::{tc_type} AND {} {order_by}",
                        keyset(&order, &types, 2)
                    ),
                )
            }
            _ => {
                let head = format!("SELECT {}, {} {from}", select.join(", "), extra.join(", "));
                let order_by = format!("ORDER BY {} LIMIT {limit}", key_cols.join(", "));
                (
                    format!("{head} {order_by}"),
                    format!(
                        "{head} WHERE {} {order_by}",
                        keyset(&key_cols, &key_types, 1)
                    ),
                )
            }
        };
        Ok(Some(TableQueries {
            plan: Plan {
                names,
                decs,
                id_cols,
                keys: keys.len(),
                tracking_text: delta && tracking.is_some(),
                id_prefix: format!("{}_{}_", self.s.database, self.s.schema),
                id_tables: vec![table.to_string()],
            },
            first: self.client.prepare(&first).await?,
            next: self.client.prepare(&next).await?,
        }))
    }

    /// Whether `table` has column `column`.
    async fn has_column(&self, table: &str, column: &str) -> Result<bool, tokio_postgres::Error> {
        Ok(!self
            .client
            .query(
                "SELECT 1 FROM information_schema.columns WHERE table_schema::text = $1 \
                 AND table_name::text = $2 AND column_name::text = $3",
                &[&self.s.schema, &table, &column],
            )
            .await?
            .is_empty())
    }

    async fn table(
        &mut self,
        sink: &mut PageSink,
        pos: &mut Position,
        table: &str,
    ) -> Result<(), Stop> {
        // The tracking column, when configured and present.
        let mut tracking = self.s.tracking.column_for(table);
        if let Some(column) = tracking
            && !self.has_column(table, column).await?
        {
            if self.s.tracking.is_explicit(table) {
                warn!(
                    table,
                    column, "the tracking column does not exist; reading the table in full"
                );
            }
            tracking = None;
        }
        let since = tracking.and_then(|c| {
            self.mode
                .previous(table, c)
                .and_then(|v| v.as_str().map(str::to_string))
        });
        let delta = since.is_some();
        let queries = match self.plan_table(table, tracking, delta).await {
            Ok(Some(q)) => q,
            Ok(None) => {
                warn!(
                    "Skipping table '{table}' from database '{}' since no primary key is associated with it. Assign primary key to the table to index it in the next sync interval.",
                    self.s.database
                );
                return Ok(());
            }
            Err(e) if transient(&e) => return Err(Stop::Db(e)),
            Err(e) => {
                let reason = format!(
                    "Something went wrong while fetching document for table '{table}'. Error: {}",
                    describe(&e, self.s)
                );
                warn!("{reason}");
                // Its documents stay in the index: this sync did not see them.
                sink.push(SourceItem::Unreadable(UnreadScope {
                    field: "table".into(),
                    value: Value::String(table.to_string()),
                    reason,
                }));
                return Ok(());
            }
        };
        if pos.ts.is_none() {
            pos.ts = Some(match self.table_timestamp(table).await? {
                Some(t) => t,
                None => python::now_iso(),
            });
        }
        if let Some(column) = tracking
            && !pos.tracking.contains_key(table)
        {
            let value = match &since {
                Some(v) => Some(v.clone()),
                None => {
                    // Read before the rows: anything changed from now on has a value at least
                    // this high and is read by the next incremental sync.
                    let sql = format!(
                        "SELECT MAX({})::text FROM {}",
                        ident(column),
                        self.s.qualified(table)
                    );
                    self.client
                        .query_one(&sql, &[])
                        .await?
                        .try_get::<_, Option<String>>(0)?
                }
            };
            pos.tracking
                .insert(table.to_string(), db::tracking_entry(column, json!(value)));
        }
        info!(table, delta, "Fetching records for table");
        let timestamp = Value::String(pos.ts.clone().unwrap_or_default());
        let table_value = Value::String(table.to_string());
        let chunk = self.s.chunk();
        loop {
            let mut params: Vec<String> = Vec::new();
            if let Some(v) = &since {
                params.push(v.clone());
            }
            let resume = match (&pos.after, delta) {
                (Some(after), true) => {
                    let tc = pos.tracking_after.as_ref().and_then(Value::as_str);
                    match (tc, cursor_texts(after)) {
                        (Some(tc), Some(keys)) => {
                            params.push(tc.to_string());
                            params.extend(keys);
                            true
                        }
                        _ => return Err(Stop::Fail(SourceError::Cursor("bad keyset".into()))),
                    }
                }
                (Some(after), false) => match cursor_texts(after) {
                    Some(keys) => {
                        params.extend(keys);
                        true
                    }
                    None => return Err(Stop::Fail(SourceError::Cursor("bad keyset".into()))),
                },
                (None, _) => false,
            };
            let statement = if resume {
                &queries.next
            } else {
                &queries.first
            };
            let rows = self
                .client
                .query_raw(statement, text_params(&params))
                .await?;
            let what = format!("reading table '{table}'");
            let n = self
                .drain(
                    rows,
                    &queries.plan,
                    sink,
                    pos,
                    &timestamp,
                    &table_value,
                    Some(table),
                    &what,
                )
                .await?;
            if n < chunk {
                return Ok(());
            }
        }
    }

    /// Streams rows into pages. The position follows the last row sent: it is brought up to
    /// date before each page closes and when the stream ends or fails (a retry resumes there),
    /// not for every row.
    #[allow(clippy::too_many_arguments)]
    async fn drain(
        &self,
        rows: tokio_postgres::RowStream,
        plan: &Plan,
        sink: &mut PageSink,
        pos: &mut Position,
        timestamp: &Value,
        table_value: &Value,
        tracked: Option<&str>,
        what: &str,
    ) -> Result<usize, Stop> {
        fn advance(
            pos: &mut Position,
            plan: &Plan,
            row: &Row,
            tracked: Option<&str>,
        ) -> Result<(), tokio_postgres::Error> {
            let (keys, tc) = plan.cursor_values(row)?;
            pos.after = Some(keys);
            if let Some(tc) = tc {
                if let (Some(entry), Some(_)) =
                    (tracked.and_then(|t| pos.tracking.get_mut(t)), tc.as_str())
                {
                    entry["value"] = tc.clone();
                }
                pos.tracking_after = Some(tc);
            }
            Ok(())
        }
        futures_util::pin_mut!(rows);
        let database = Value::String(self.s.database.clone());
        let schema = Value::String(self.s.schema.clone());
        let layout = Layout::new(
            &plan.names,
            timestamp,
            &[
                ("database", &database),
                ("table", table_value),
                ("schema", &schema),
            ],
            false,
        );
        let mut n = 0usize;
        let mut last: Option<Row> = None;
        let streamed: Result<(), Stop> = async {
            loop {
                let next = tokio::time::timeout(READ_TIMEOUT, rows.next())
                    .await
                    .map_err(|_| {
                        Stop::Fail(SourceError::Unavailable(format!(
                            "PostgreSQL at {} sent nothing for {} s while {what}.",
                            self.s.at(),
                            READ_TIMEOUT.as_secs()
                        )))
                    })?;
                let Some(row) = next else { return Ok(()) };
                let row = row?;
                n += 1;
                let doc = plan.document(&row, &layout).map_err(Stop::Fail)?;
                sink.push(layout.item(doc).map_err(Stop::Fail)?);
                if sink.is_full() {
                    advance(pos, plan, &row, tracked)?;
                    sink.flush(pos).await?;
                }
                last = Some(row);
            }
        }
        .await;
        if let Some(row) = &last {
            advance(pos, plan, row, tracked)?;
        }
        streamed.map(|()| n)
    }

    async fn rule(
        &mut self,
        sink: &mut PageSink,
        pos: &mut Position,
        rule: &QueryRule,
    ) -> Result<(), Stop> {
        info!(tables = ?rule.tables, query = %rule.query, "Fetching records using a custom query");
        let query = match plan_rule(self.client, self.s, rule).await {
            Ok(RulePlan::Ready(q)) => q,
            Ok(RulePlan::Skip(why)) => {
                warn!(query = %rule.query, "Skipping the custom query: {why}");
                return Ok(());
            }
            Err(e) if transient(&e) => return Err(Stop::Db(e)),
            Err(e) => {
                return Err(Stop::Fail(SourceError::Other(format!(
                    "The custom query on tables {} failed: {}",
                    rule.tables.join(", "),
                    describe(&e, self.s)
                ))));
            }
        };
        if pos.ts.is_none() {
            let mut latest: Option<String> = None;
            for table in &rule.tables {
                if let Some(t) = self.table_timestamp(table).await? {
                    latest = latest.max(Some(t));
                }
            }
            pos.ts = Some(latest.unwrap_or_else(python::now_iso));
        }
        let timestamp = Value::String(pos.ts.clone().unwrap_or_default());
        let tables_value = json!(rule.tables);
        let (sql, params) = match &pos.after {
            Some(after) => match cursor_texts(after) {
                Some(keys) if keys.len() == query.key_types.len() => (query.next.as_str(), keys),
                _ => return Err(Stop::Fail(SourceError::Cursor("bad keyset".into()))),
            },
            None => (query.first.as_str(), Vec::new()),
        };
        let statement = self.client.prepare(sql).await?;
        let rows = self
            .client
            .query_raw(&statement, text_params(&params))
            .await?;
        self.drain(
            rows,
            &query.plan,
            sink,
            pos,
            &timestamp,
            &tables_value,
            None,
            "running a custom query",
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
