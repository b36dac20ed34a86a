//! `mysql`: the rows of a MySQL or MariaDB database's tables, with the reference's
//! configuration and documents (`sources/mysql/*`): every column under its own name, plus
//! `Table`; `_id` = `<table>_<key values>`; `_timestamp` = the table's `UPDATE_TIME` (else the
//! time it was read).
//!
//! Each table is read by keyset chunks of `fetch_size` rows in primary-key order, as the
//! reference does since PR #3719, but as prepared statements with typed parameters, streamed
//! into pages by a background task, with a cursor that resumes mid-table in another process;
//! custom queries are keyset-paginated on their id columns instead of `LIMIT/OFFSET`. See
//! [`crate::database`].
//!
//! Driver: mysql_async, the maintained async driver for both servers, built without its
//! defaults: pure-Rust compression and TLS through the workspace's rustls (no OpenSSL).

mod decode;

use std::sync::Arc;

use async_trait::async_trait;
use connectors_sdk::{
    DataSource, JsonDocument, Page, PageRequest, SourceDescriptor, SourceError, SourceFeatures,
    SourceItem, UnreadScope,
};
use connectors_protocol::{ConfigField, Configuration, Dependency, Display, FieldType};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Params, Row, SslOpts, Value};
use serde_json::{Value as Json, json};
use tracing::{info, warn};

use crate::database::layout::Layout;
use crate::database::pager::{Closed, PageSink, Pager, Position};
use crate::database::rules::{self, QueryRule};
use crate::database::settings::{
    self, CONNECT_TIMEOUT, Fields, READ_TIMEOUT, RETRY_BASE, TRACKING_KEY, Tracking,
};
use crate::database::{self as db, Mode, python};
use decode::{ColInfo, Flavor};

/// The reference's defaults (`sources/mysql/common.py`).
pub const DEFAULT_FETCH_SIZE: i64 = 5000;
pub const DEFAULT_RETRY_COUNT: i64 = 3;

/// The `mysql` source.
#[derive(Debug, Clone, Default)]
pub struct MySqlSource;

impl SourceDescriptor for MySqlSource {
    fn service_type(&self) -> &'static str {
        "mysql"
    }

    fn name(&self) -> &'static str {
        "MySQL"
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
        let mut tables = field("Comma-separated list of tables", 6);
        tables.display = Display::Textarea;
        tables.field_type = FieldType::List;
        tables.value = json!("*");
        let mut ssl_enabled = field("Enable SSL", 7);
        ssl_enabled.display = Display::Toggle;
        ssl_enabled.field_type = FieldType::Bool;
        ssl_enabled.value = json!(false);
        let mut ssl_ca = field("SSL certificate", 8);
        ssl_ca.depends_on = vec![Dependency {
            field: "ssl_enabled".into(),
            value: json!(true),
        }];
        Configuration::from([
            ("host".to_string(), field("Host", 1)),
            ("port".to_string(), numeric("Port", 2)),
            ("user".to_string(), field("Username", 3)),
            ("password".to_string(), password),
            ("database".to_string(), field("Database", 5)),
            ("tables".to_string(), tables),
            ("ssl_enabled".to_string(), ssl_enabled),
            ("ssl_ca".to_string(), ssl_ca),
            (
                "fetch_size".to_string(),
                advanced_int("Rows fetched per request", 9, DEFAULT_FETCH_SIZE),
            ),
            (
                "retry_count".to_string(),
                advanced_int("Retries per request", 10, DEFAULT_RETRY_COUNT),
            ),
            (TRACKING_KEY.to_string(), settings::tracking_field(11)),
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
        Ok(Box::new(MySql {
            s: Arc::new(Settings::read(configuration)?),
            pager: Pager::default(),
        }))
    }
}

struct Settings {
    host: String,
    port: u16,
    user: String,
    password: String,
    database: String,
    tables: Vec<String>,
    fetch_size: usize,
    retry_count: u32,
    /// DER certificates of `ssl_ca`, when TLS is on.
    ca: Option<Vec<Vec<u8>>>,
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
        let ca = if f.bool("ssl_enabled") {
            let certs = settings::ca_certificates(&f.required_text("ssl_ca")?)?;
            Some(certs.into_iter().map(|c| c.to_vec()).collect())
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
            user: f.required_text("user")?,
            password: f.raw_text("password"),
            database: f.required_text("database")?,
            tables,
            fetch_size: fetch_size as usize,
            retry_count: f.int("retry_count", DEFAULT_RETRY_COUNT)?.clamp(0, 100) as u32,
            ca,
            tracking: Tracking::parse(&f.list(TRACKING_KEY))?,
        })
    }

    fn at(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn opts(&self) -> Opts {
        let mut b = OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(Some(self.password.clone()))
            .db_name(Some(self.database.clone()))
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
        format!("{}.{}", ident(&self.database), ident(table))
    }

    fn redact(&self, text: String) -> String {
        if self.password.len() >= 4 {
            text.replace(&self.password, "********")
        } else {
            text
        }
    }

    /// The reference's message for a database the user cannot use.
    fn database_error(&self) -> SourceError {
        SourceError::config(
            "database",
            format!(
                "The database '{}' is either not present or not accessible for the user '{}'.",
                self.database, self.user
            ),
        )
    }
}

fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A failure talking to the server.
#[derive(Debug)]
enum MyError {
    Driver(mysql_async::Error),
    ConnectTimeout,
}

impl From<mysql_async::Error> for MyError {
    fn from(e: mysql_async::Error) -> Self {
        MyError::Driver(e)
    }
}

/// Server error codes worth a retry: too many connections, lock wait, deadlock, shutdown,
/// connection killed, lost connection.
const TRANSIENT_CODES: &[u16] = &[1040, 1053, 1205, 1213, 1927, 2006, 2013];

fn transient(e: &MyError) -> bool {
    match e {
        MyError::ConnectTimeout => true,
        MyError::Driver(mysql_async::Error::Io(mysql_async::IoError::Io(_))) => true,
        MyError::Driver(mysql_async::Error::Io(_)) => false,
        MyError::Driver(mysql_async::Error::Server(s)) => TRANSIENT_CODES.contains(&s.code),
        MyError::Driver(mysql_async::Error::Driver(d)) => matches!(
            d,
            mysql_async::DriverError::ConnectionClosed | mysql_async::DriverError::PoolDisconnected
        ),
        MyError::Driver(_) => false,
    }
}

/// A driver error as a message that says what to fix, never with the password.
fn describe(e: &MyError, s: &Settings) -> SourceError {
    let at = s.at();
    match e {
        MyError::ConnectTimeout => SourceError::Unavailable(format!(
            "Cannot connect to MySQL at {at}: no answer within {} s.",
            CONNECT_TIMEOUT.as_secs()
        )),
        MyError::Driver(mysql_async::Error::Server(se)) => match se.code {
            1045 | 1698 => SourceError::Unavailable(s.redact(format!(
                "MySQL at {at} refused user '{}': {} (check the username and password).",
                s.user, se.message
            ))),
            1044 | 1049 => s.database_error(),
            code => SourceError::Other(s.redact(format!("MySQL error {code}: {}", se.message))),
        },
        MyError::Driver(mysql_async::Error::Io(mysql_async::IoError::Io(io))) => {
            let text = io.to_string();
            let hint = if io.kind() == std::io::ErrorKind::ConnectionRefused {
                " (is the server running, and listening on this host and port?)"
            } else if text.contains("lookup") || text.contains("resolve") {
                " (is the host name right?)"
            } else {
                return SourceError::Unavailable(format!("MySQL at {at}: {text}"));
            };
            SourceError::Unavailable(format!("Cannot connect to MySQL at {at}: {text}{hint}"))
        }
        MyError::Driver(mysql_async::Error::Io(tls)) => SourceError::Unavailable(format!(
            "TLS with MySQL at {at} failed: {tls} (check 'SSL certificate' and the host name)."
        )),
        MyError::Driver(mysql_async::Error::Driver(
            d @ mysql_async::DriverError::NoClientSslFlagFromServer,
        )) => SourceError::Unavailable(format!(
            "TLS with MySQL at {at} failed: {d} (the server has SSL disabled)."
        )),
        MyError::Driver(other) => {
            SourceError::Unavailable(s.redact(format!("MySQL at {at}: {other}")))
        }
    }
}

async fn connect_once(s: &Settings) -> Result<Conn, MyError> {
    if s.ca.is_some() {
        // mysql_async builds its TLS configuration with the process' default provider.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
    match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(s.opts())).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(MyError::ConnectTimeout),
    }
}

async fn connect(s: &Settings) -> Result<Conn, MyError> {
    settings::retry(s.retry_count, transient, || connect_once(s)).await
}

/// The first column of each row as text (driver conversions panic on unexpected values; the
/// rows of catalog queries are read this way instead).
fn texts(rows: Vec<Row>) -> Vec<String> {
    rows.iter()
        .filter_map(|r| match r.as_ref(0) {
            Some(Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        })
        .collect()
}

async fn flavor(conn: &mut Conn) -> Result<Flavor, MyError> {
    let rows: Vec<Row> = conn.query("SELECT VERSION()").await?;
    Ok(if texts(rows).concat().contains("MariaDB") {
        Flavor::MariaDb
    } else {
        Flavor::MySql
    })
}

async fn all_tables(conn: &mut Conn, s: &Settings) -> Result<Vec<String>, MyError> {
    Ok(texts(
        conn.exec(
            "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ? \
             ORDER BY TABLE_NAME",
            (s.database.as_str(),),
        )
        .await?,
    ))
}

/// The key columns as the reference lists them (`COLUMN_KEY = 'PRI'`, column order).
async fn primary_key(conn: &mut Conn, s: &Settings, table: &str) -> Result<Vec<String>, MyError> {
    Ok(texts(
        conn.exec(
            "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = ? \
             AND TABLE_NAME = ? AND COLUMN_KEY = 'PRI' ORDER BY ORDINAL_POSITION",
            (s.database.as_str(), table),
        )
        .await?,
    ))
}

/// The key columns in index order, so that `ORDER BY` walks the clustered index.
async fn index_order(
    conn: &mut Conn,
    s: &Settings,
    table: &str,
    keys: &[String],
) -> Result<Vec<String>, MyError> {
    let ordered: Vec<Row> = conn
        .exec(
            "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.STATISTICS WHERE TABLE_SCHEMA = ? \
             AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
            (s.database.as_str(), table),
        )
        .await?;
    let ordered = texts(ordered);
    let mut a = ordered.clone();
    let mut b = keys.to_vec();
    a.sort();
    b.sort();
    Ok(if a == b { ordered } else { keys.to_vec() })
}

async fn has_column(
    conn: &mut Conn,
    s: &Settings,
    table: &str,
    column: &str,
) -> Result<bool, MyError> {
    let found: Option<Row> = conn
        .exec_first(
            "SELECT 1 FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             AND COLUMN_NAME = ?",
            (s.database.as_str(), table, column),
        )
        .await?;
    Ok(found.is_some())
}

/// The reference's `_timestamp`: `INFORMATION_SCHEMA.TABLES.UPDATE_TIME`, a naive datetime.
async fn update_time(
    conn: &mut Conn,
    s: &Settings,
    table: &str,
) -> Result<Option<String>, MyError> {
    let row: Option<Row> = conn
        .exec_first(
            "SELECT UPDATE_TIME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ? \
             AND TABLE_NAME = ?",
            (s.database.as_str(), table),
        )
        .await?;
    Ok(match row.as_ref().and_then(|r| r.as_ref(0)) {
        Some(Value::Date(y, m, d, h, mi, sec, us)) => {
            chrono::NaiveDate::from_ymd_opt((*y).into(), (*m).into(), (*d).into())
                .and_then(|d| d.and_hms_micro_opt((*h).into(), (*mi).into(), (*sec).into(), *us))
                .map(|dt| python::datetime_iso(dt, 'T'))
        }
        Some(Value::Bytes(b)) => {
            // Text protocol answers: "2024-01-01 10:00:00".
            Some(String::from_utf8_lossy(b).replacen(' ', "T", 1))
        }
        _ => None,
    })
}

struct MySql {
    s: Arc<Settings>,
    pager: Pager,
}

impl MySql {
    async fn conn(&self) -> Result<Conn, SourceError> {
        connect(&self.s).await.map_err(|e| describe(&e, &self.s))
    }
}

#[async_trait]
impl DataSource for MySql {
    /// The reference's checks: the database can be used, and every table read.
    async fn validate_config(&self) -> Result<(), SourceError> {
        let mut conn = self.conn().await?;
        let describe = |e: MyError| describe(&e, &self.s);
        if conn
            .query_drop(format!("USE {}", ident(&self.s.database)))
            .await
            .is_err()
        {
            return Err(self.s.database_error());
        }
        let tables = if settings::is_wildcard(&self.s.tables) {
            all_tables(&mut conn, &self.s).await.map_err(describe)?
        } else {
            self.s.tables.clone()
        };
        let mut inaccessible = Vec::new();
        for table in &tables {
            if conn
                .query_drop(format!("SELECT 1 FROM {} LIMIT 1", ident(table)))
                .await
                .is_err()
            {
                inaccessible.push(table.clone());
            }
        }
        let inaccessible: Vec<&str> = inaccessible.iter().map(String::as_str).collect();
        if let Some(e) = settings::inaccessible_tables(&inaccessible, &self.s.user) {
            return Err(e);
        }
        for (table, column) in self.s.tracking.pairs() {
            if table == settings::WILDCARD {
                continue;
            }
            if !has_column(&mut conn, &self.s, table, column)
                .await
                .map_err(describe)?
            {
                return Err(SourceError::config(
                    TRACKING_KEY,
                    format!(
                        "Tracking column '{column}' of table '{table}' does not exist in database '{}'.",
                        self.s.database
                    ),
                ));
            }
        }
        let _ = conn.disconnect().await;
        Ok(())
    }

    async fn ping(&self) -> Result<(), SourceError> {
        let mut conn = self.conn().await?;
        conn.ping()
            .await
            .map_err(|e| describe(&MyError::Driver(e), &self.s))?;
        let _ = conn.disconnect().await;
        Ok(())
    }

    async fn validate_advanced_rules(&self, value: &Json) -> Vec<String> {
        let rules = match rules::parse(value) {
            Ok(r) => r,
            Err(messages) => return messages,
        };
        if rules.is_empty() {
            return Vec::new();
        }
        let mut conn = match self.conn().await {
            Ok(c) => c,
            Err(e) => return vec![format!("Cannot validate the advanced rules: {e}")],
        };
        let existing = match all_tables(&mut conn, &self.s).await {
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
            match plan_rule(&mut conn, &self.s, rule).await {
                Ok(RulePlan::Ready(_)) => {}
                Ok(RulePlan::Skip(why)) => messages.push(format!("Rule {n}: {why}")),
                Err(e) => messages.push(format!(
                    "Rule {n}: the query cannot be run: {}",
                    describe(&e, &self.s)
                )),
            }
        }
        let _ = conn.disconnect().await;
        messages
    }

    fn incremental_lists_everything(&self) -> bool {
        self.s.tracking.is_empty()
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let position = Position::parse(request.cursor)?;
        let rules = if rules::is_empty(request.advanced_rules) {
            None
        } else {
            let value = request.advanced_rules.cloned().unwrap_or(Json::Null);
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

enum Stop {
    Closed,
    Db(MyError),
    Fail(SourceError),
}

impl From<mysql_async::Error> for Stop {
    fn from(e: mysql_async::Error) -> Self {
        Stop::Db(MyError::Driver(e))
    }
}

impl From<MyError> for Stop {
    fn from(e: MyError) -> Self {
        Stop::Db(e)
    }
}

impl From<Closed> for Stop {
    fn from(_: Closed) -> Self {
        Stop::Closed
    }
}

/// The listing task; transient failures reconnect and resume from the last row sent.
async fn produce(
    s: Arc<Settings>,
    mut sink: PageSink,
    mut pos: Position,
    mode: Mode,
    rules: Option<Vec<QueryRule>>,
) {
    let mut attempts = 0u32;
    let mut failed_at: Option<Json> = None;
    loop {
        let result = match connect(&s).await {
            Ok(mut conn) => {
                let result = match flavor(&mut conn).await {
                    Ok(flavor) => {
                        let mut lister = Lister {
                            s: &s,
                            conn: &mut conn,
                            mode: &mode,
                            flavor,
                        };
                        match &rules {
                            Some(rules) => lister.rules(&mut sink, &mut pos, rules).await,
                            None => lister.tables(&mut sink, &mut pos).await,
                        }
                    }
                    Err(e) => Err(Stop::Db(e)),
                };
                if result.is_ok() {
                    let _ = conn.disconnect().await;
                }
                result
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
                    warn!(error = %describe(&e, &s), attempt = attempts, "MySQL listing failed; resuming after a pause");
                    tokio::time::sleep(pause).await;
                    continue;
                }
                sink.fail(describe(&e, &s)).await;
                return;
            }
        }
    }
}

/// How a table or custom query is read.
struct Plan {
    names: Vec<String>,
    infos: Vec<ColInfo>,
    /// Positions of the `_id` values, in the reference's order.
    id_cols: Vec<usize>,
    /// Positions of the keyset columns (index order), then the tracking column if any.
    keyset: Vec<usize>,
    tracking: Option<usize>,
    id_tables: Vec<String>,
    /// `Table`: the table's name, or the rule's list of tables.
    table_value: Json,
    first: String,
    next: String,
}

impl Plan {
    /// The row's document, written as `layout` says.
    fn document(&self, row: &Row, layout: &Layout, flavor: Flavor) -> JsonDocument {
        let cell = |i: usize| row.as_ref(i).unwrap_or(&Value::NULL);
        let values: Vec<Option<String>> = self
            .id_cols
            .iter()
            .map(|&i| decode::python_str(cell(i), &self.infos[i], flavor))
            .collect();
        let id = db::doc_id(&self.id_tables, values.iter().map(Option::as_deref));
        let Ok(doc) = layout.document::<std::convert::Infallible>(id, |i, out| {
            // A `serde_json::Value` always serializes.
            let _ = serde_json::to_writer(out, &decode::to_json(cell(i), &self.infos[i], flavor));
            Ok(())
        });
        doc
    }

    fn key_values(&self, row: &Row) -> Vec<Json> {
        self.keyset
            .iter()
            .map(|&i| decode::key_to_json(row.as_ref(i).unwrap_or(&Value::NULL)))
            .collect()
    }
}

/// `WHERE` of a keyset over `columns` (placeholders given): `a >= ? AND (a > ? OR (a = ? AND
/// b > ?))`, spelled out because MariaDB's optimizer does not use an index range for row
/// comparisons. Returns the SQL and, for each placeholder, which key value it takes.
fn keyset(columns: &[String], placeholders: &[String]) -> (String, Vec<usize>) {
    let mut order = vec![0];
    let mut alternatives = Vec::new();
    for i in 0..columns.len() {
        let mut parts = Vec::new();
        for j in 0..i {
            parts.push(format!("{} = {}", columns[j], placeholders[j]));
            order.push(j);
        }
        parts.push(format!("{} > {}", columns[i], placeholders[i]));
        order.push(i);
        alternatives.push(format!("({})", parts.join(" AND ")));
    }
    (
        format!(
            "{} >= {} AND ({})",
            columns[0],
            placeholders[0],
            alternatives.join(" OR ")
        ),
        order,
    )
}

enum RulePlan {
    Ready(Box<Plan>),
    Skip(String),
}

/// Prepares a custom query wrapped as `SELECT q.* FROM (query) AS q`, ordered by its id
/// columns (the reference wraps it the same way to read its columns).
async fn plan_rule(conn: &mut Conn, s: &Settings, rule: &QueryRule) -> Result<RulePlan, MyError> {
    let mut ids: Vec<String> = if rule.id_columns.is_empty() {
        let mut all = Vec::new();
        for table in &rule.tables {
            all.extend(primary_key(conn, s, table).await?);
        }
        all.sort();
        all
    } else {
        rule.id_columns.clone()
    };
    if ids.is_empty() {
        return Ok(RulePlan::Skip(format!(
            "tables {} have no primary key; set id_columns.",
            rule.tables.join(", ")
        )));
    }
    let from = format!("FROM ({}) AS q", rule.bare_query());
    let probe = conn.prep(format!("SELECT q.* {from} LIMIT 0")).await?;
    let names: Vec<String> = probe
        .columns()
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect();
    let infos: Vec<ColInfo> = probe.columns().iter().map(ColInfo::of).collect();
    let mut id_cols = Vec::new();
    let mut missing = Vec::new();
    for id in &ids {
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
    ids.dedup();
    let mut keyset_cols: Vec<usize> = Vec::new();
    for &i in &id_cols {
        if !keyset_cols.contains(&i) {
            keyset_cols.push(i);
        }
    }
    let cols: Vec<String> = keyset_cols
        .iter()
        .map(|&i| format!("q.{}", ident(&names[i])))
        .collect();
    let placeholders: Vec<String> = keyset_cols
        .iter()
        .map(|&i| infos[i].placeholder())
        .collect();
    let limit = s.fetch_size;
    let order_by = format!("ORDER BY {} LIMIT {limit}", cols.join(", "));
    let (condition, _) = keyset(&cols, &placeholders);
    let first = format!("SELECT q.* {from} {order_by}");
    let next = format!("SELECT q.* {from} WHERE {condition} {order_by}");
    conn.prep(&next).await?;
    let mut id_tables = rule.tables.clone();
    id_tables.sort();
    Ok(RulePlan::Ready(Box::new(Plan {
        names,
        infos,
        id_cols,
        keyset: keyset_cols,
        tracking: None,
        id_tables,
        table_value: json!(rule.tables),
        first,
        next,
    })))
}

struct Lister<'a> {
    s: &'a Settings,
    conn: &'a mut Conn,
    mode: &'a Mode,
    flavor: Flavor,
}

impl Lister<'_> {
    async fn tables(&mut self, sink: &mut PageSink, pos: &mut Position) -> Result<(), Stop> {
        let tables = if settings::is_wildcard(&self.s.tables) {
            all_tables(self.conn, self.s).await?
        } else {
            self.s.tables.clone()
        };
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
            let rule = &rules[i];
            info!(tables = ?rule.tables, query = %rule.query, "Fetching rows with a custom query");
            let plan = match plan_rule(self.conn, self.s, rule).await {
                Ok(RulePlan::Ready(p)) => p,
                Ok(RulePlan::Skip(why)) => {
                    warn!(query = %rule.query, "Skipping the custom query: {why}");
                    continue;
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
                    if let Some(t) = update_time(self.conn, self.s, table).await? {
                        latest = latest.max(Some(t));
                    }
                }
                pos.ts = Some(latest.unwrap_or_else(python::now_iso));
            }
            self.stream(sink, pos, &plan, None, None).await?;
        }
        Ok(())
    }

    async fn table(
        &mut self,
        sink: &mut PageSink,
        pos: &mut Position,
        table: &str,
    ) -> Result<(), Stop> {
        let keys = match primary_key(self.conn, self.s, table).await {
            Ok(k) => k,
            Err(e) if transient(&e) => return Err(Stop::Db(e)),
            Err(e) => {
                warn!(table, error = %describe(&e, self.s), "Cannot read the table's primary key; skipping it");
                return Ok(());
            }
        };
        if keys.is_empty() {
            warn!(
                "Skipping table {table} from database {} since no primary key is associated with it. Assign primary key to the table to index it in the next sync interval.",
                self.s.database
            );
            return Ok(());
        }
        let order = index_order(self.conn, self.s, table, &keys).await?;
        let mut tracking = self.s.tracking.column_for(table);
        if let Some(column) = tracking
            && !has_column(self.conn, self.s, table, column).await?
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
                .and_then(|v| decode::key_from_json(&v))
                .filter(|v| *v != Value::NULL)
        });
        let plan = match self
            .plan_table(table, &keys, &order, tracking, since.is_some())
            .await
        {
            Ok(p) => p,
            Err(e) if transient(&e) => return Err(Stop::Db(e)),
            Err(e) => {
                let reason = format!(
                    "Something went wrong while fetching rows of table '{table}'. Error: {}",
                    describe(&e, self.s)
                );
                warn!("{reason}");
                // Its documents stay in the index: this sync did not see them.
                sink.push(SourceItem::Unreadable(UnreadScope {
                    field: "Table".into(),
                    value: Json::String(table.to_string()),
                    reason,
                }));
                return Ok(());
            }
        };
        if pos.ts.is_none() {
            pos.ts = Some(
                update_time(self.conn, self.s, table)
                    .await?
                    .unwrap_or_else(python::now_iso),
            );
        }
        if let Some(column) = tracking
            && !pos.tracking.contains_key(table)
        {
            let value = match &since {
                Some(v) => decode::key_to_json(v),
                None => {
                    // Read before the rows: whatever changes from now on is at least as high.
                    let row: Option<Row> = self
                        .conn
                        .exec_first(
                            format!(
                                "SELECT MAX({}) FROM {}",
                                ident(column),
                                self.s.qualified(table)
                            ),
                            (),
                        )
                        .await?;
                    row.as_ref()
                        .and_then(|r| r.as_ref(0))
                        .map(decode::key_to_json)
                        .unwrap_or(Json::Null)
                }
            };
            pos.tracking
                .insert(table.to_string(), db::tracking_entry(column, value));
        }
        info!(table, delta = since.is_some(), "Fetching rows of table");
        self.stream(sink, pos, &plan, since, Some(table)).await
    }

    async fn plan_table(
        &mut self,
        table: &str,
        keys: &[String],
        order: &[String],
        tracking: Option<&str>,
        delta: bool,
    ) -> Result<Plan, MyError> {
        let qualified = self.s.qualified(table);
        let probe = self
            .conn
            .prep(format!("SELECT * FROM {qualified} LIMIT 0"))
            .await?;
        let names: Vec<String> = probe
            .columns()
            .iter()
            .map(|c| c.name_str().into_owned())
            .collect();
        let infos: Vec<ColInfo> = probe.columns().iter().map(ColInfo::of).collect();
        let position = |name: &str| names.iter().position(|n| n == name);
        let id_cols: Vec<usize> = keys.iter().filter_map(|k| position(k)).collect();
        let mut keyset_cols: Vec<usize> = order.iter().filter_map(|k| position(k)).collect();
        let tracking_col = if delta {
            tracking.and_then(position)
        } else {
            None
        };
        if let Some(t) = tracking_col {
            keyset_cols.insert(0, t);
        }
        let cols: Vec<String> = keyset_cols.iter().map(|&i| ident(&names[i])).collect();
        let placeholders: Vec<String> = keyset_cols
            .iter()
            .map(|&i| infos[i].placeholder())
            .collect();
        let order_by = format!("ORDER BY {} LIMIT {}", cols.join(", "), self.s.fetch_size);
        let (condition, _) = keyset(&cols, &placeholders);
        let (first, next) = match tracking_col {
            Some(_) => {
                let since = format!("{} >= {}", cols[0], placeholders[0]);
                (
                    format!("SELECT * FROM {qualified} WHERE {since} {order_by}"),
                    format!("SELECT * FROM {qualified} WHERE {since} AND {condition} {order_by}"),
                )
            }
            None => (
                format!("SELECT * FROM {qualified} {order_by}"),
                format!("SELECT * FROM {qualified} WHERE {condition} {order_by}"),
            ),
        };
        Ok(Plan {
            names,
            infos,
            id_cols,
            keyset: keyset_cols,
            tracking: tracking_col,
            id_tables: vec![table.to_string()],
            table_value: Json::String(table.to_string()),
            first,
            next,
        })
    }

    /// Reads `plan` in keyset chunks from `pos`. `since` is the previous tracking value of an
    /// incremental delta; `table` names the sync cursor entry to advance.
    async fn stream(
        &mut self,
        sink: &mut PageSink,
        pos: &mut Position,
        plan: &Plan,
        since: Option<Value>,
        table: Option<&str>,
    ) -> Result<(), Stop> {
        let timestamp = Json::String(pos.ts.clone().unwrap_or_default());
        let keyset_cols: Vec<String> = plan.keyset.iter().map(|&i| plan.names[i].clone()).collect();
        let (_, order) = keyset(&keyset_cols, &vec![String::new(); keyset_cols.len()]);
        loop {
            let mut params: Vec<Value> = Vec::new();
            if let Some(v) = &since {
                params.push(v.clone());
            }
            let statement = match &pos.after {
                Some(after) => {
                    let values: Option<Vec<Value>> =
                        after.iter().map(decode::key_from_json).collect();
                    match values {
                        Some(v) if v.len() == plan.keyset.len() => {
                            params.extend(order.iter().map(|&i| v[i].clone()));
                            &plan.next
                        }
                        _ => return Err(Stop::Fail(SourceError::Cursor("bad keyset".into()))),
                    }
                }
                None => &plan.first,
            };
            let params = if params.is_empty() {
                Params::Empty
            } else {
                Params::Positional(params)
            };
            let mut result = self.conn.exec_iter(statement.as_str(), params).await?;
            // The position follows the last row sent: brought up to date before each page
            // closes and when the chunk ends or fails (a retry resumes there), not per row.
            let advance = |pos: &mut Position, row: &Row| {
                if let (Some(t), Some(table)) = (plan.tracking, table) {
                    let value = decode::key_to_json(row.as_ref(t).unwrap_or(&Value::NULL));
                    if let Some(entry) = pos.tracking.get_mut(table) {
                        entry["value"] = value;
                    }
                }
                pos.after = Some(plan.key_values(row));
            };
            let layout = Layout::new(
                &plan.names,
                &timestamp,
                &[("Table", &plan.table_value)],
                true,
            );
            let mut n = 0usize;
            let mut last: Option<Row> = None;
            let streamed: Result<(), Stop> = async {
                loop {
                    let next = tokio::time::timeout(READ_TIMEOUT, result.next())
                        .await
                        .map_err(|_| {
                            Stop::Fail(SourceError::Unavailable(format!(
                                "MySQL at {} sent nothing for {} s.",
                                self.s.at(),
                                READ_TIMEOUT.as_secs()
                            )))
                        })?;
                    let Some(row) = next? else { return Ok(()) };
                    n += 1;
                    let doc = plan.document(&row, &layout, self.flavor);
                    sink.push(layout.item(doc).map_err(Stop::Fail)?);
                    if sink.is_full() {
                        advance(pos, &row);
                        sink.flush(pos).await?;
                    }
                    last = Some(row);
                }
            }
            .await;
            drop(result);
            if let Some(row) = &last {
                advance(pos, row);
            }
            streamed?;
            if n < self.s.fetch_size {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn keysets_spelled_out() {
        let (sql, order) = keyset(&["a".into(), "b".into()], &["?".into(), "?".into()]);
        assert_eq!(sql, "a >= ? AND ((a > ?) OR (a = ? AND b > ?))");
        assert_eq!(order, vec![0, 0, 0, 1]);
    }
}
