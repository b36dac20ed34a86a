//! The MySQL [`Dialect`]: connections (and which server, MySQL or MariaDB, answers), which
//! failures are transient and what their messages say, the catalog (`INFORMATION_SCHEMA`),
//! running statements through the driver's statement cache, and the values of rows (by
//! `decode`).

use connectors_sdk::SourceError;
use mysql_async::prelude::Queryable;
use mysql_async::{BinaryProtocol, Params, QueryResult, Row, Value};
use serde_json::Value as Json;
use tracing::warn;

use super::decode::{self, ColInfo, Flavor};
use super::plan::{self, Decoding};
use super::{MySql, ident};
use crate::database::dialect::{Cells, Dialect, Keys, Reading, TableScan, Wording};
use crate::database::python;
use crate::database::rules::QueryRule;
use crate::database::settings::{CONNECT_TIMEOUT, Settings};

/// An open connection, and the server that answers on it.
pub struct Conn {
    conn: mysql_async::Conn,
    /// Known once a listing starts; checks do not need it.
    pub flavor: Flavor,
}

/// A failure talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum MyError {
    #[error(transparent)]
    Driver(#[from] mysql_async::Error),
    #[error("no answer within {} s", CONNECT_TIMEOUT.as_secs())]
    ConnectTimeout,
}

/// Server error codes worth a retry: too many connections, lock wait, deadlock, shutdown,
/// connection killed, lost connection.
const TRANSIENT_CODES: &[u16] = &[1040, 1053, 1205, 1213, 1927, 2006, 2013];

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

async fn flavor(conn: &mut mysql_async::Conn) -> Result<Flavor, MyError> {
    let rows: Vec<Row> = conn.query("SELECT VERSION()").await?;
    Ok(if texts(rows).concat().contains("MariaDB") {
        Flavor::MariaDb
    } else {
        Flavor::MySql
    })
}

/// Cell `i` (`NULL` when absent).
fn cell(row: &Row, i: usize) -> &Value {
    row.as_ref(i).unwrap_or(&Value::NULL)
}

impl MySql {
    /// The key columns in index order, so that `ORDER BY` walks the clustered index.
    async fn index_order(
        &self,
        conn: &mut Conn,
        table: &str,
        keys: &[String],
    ) -> Result<Vec<String>, MyError> {
        let ordered: Vec<Row> = conn
            .conn
            .exec(
                "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.STATISTICS WHERE TABLE_SCHEMA = ? \
                 AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
                (self.s.server.database.as_str(), table),
            )
            .await?;
        let ordered = texts(ordered);
        let mut a = ordered.clone();
        let mut b = keys.to_vec();
        a.sort();
        b.sort();
        Ok(if a == b { ordered } else { keys.to_vec() })
    }

    /// The columns of a statement, prepared (and kept in the statement cache).
    async fn columns(
        &self,
        conn: &mut Conn,
        sql: String,
    ) -> Result<Vec<(String, ColInfo)>, MyError> {
        let probe = conn.conn.prep(sql).await?;
        Ok(probe
            .columns()
            .iter()
            .map(|c| (c.name_str().into_owned(), ColInfo::of(c)))
            .collect())
    }
}

impl Dialect for MySql {
    const WORDING: Wording = Wording {
        product: "MySQL",
        table_field: "Table",
        quote: None,
        rows_of: "rows of",
        stall_says_what: false,
        reading_table: "Fetching rows of table",
        reading_query: "Fetching rows with a custom query",
    };

    type Conn = Conn;
    type Error = MyError;
    type Row = Row;
    type Rows<'c> = QueryResult<'c, 'static, BinaryProtocol>;
    /// Statements run through the driver's statement cache.
    type Statement = String;
    type Param = Value;
    type ColumnType = ColInfo;
    type Decoding = Decoding;

    const PROBES_EVERY_TABLE: bool = true;
    const SORTED_RULE_KEYS: bool = true;
    const ID_HOLDS_ID: bool = true;

    fn settings(&self) -> &Settings {
        &self.s
    }

    async fn connect(&self) -> Result<Conn, MyError> {
        if self.ca.is_some() {
            // mysql_async builds its TLS configuration with the process' default provider.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, mysql_async::Conn::new(self.opts())).await {
            Ok(conn) => Ok(Conn {
                conn: conn?,
                flavor: Flavor::MySql,
            }),
            Err(_) => Err(MyError::ConnectTimeout),
        }
    }

    async fn close(conn: Conn) {
        let _ = conn.conn.disconnect().await;
    }

    async fn start_listing(&self, conn: &mut Conn) -> Result<(), MyError> {
        conn.flavor = flavor(&mut conn.conn).await?;
        Ok(())
    }

    fn transient(e: &MyError) -> bool {
        match e {
            MyError::ConnectTimeout => true,
            MyError::Driver(mysql_async::Error::Io(mysql_async::IoError::Io(_))) => true,
            MyError::Driver(mysql_async::Error::Io(_)) => false,
            MyError::Driver(mysql_async::Error::Server(s)) => TRANSIENT_CODES.contains(&s.code),
            MyError::Driver(mysql_async::Error::Driver(d)) => matches!(
                d,
                mysql_async::DriverError::ConnectionClosed
                    | mysql_async::DriverError::PoolDisconnected
            ),
            MyError::Driver(_) => false,
        }
    }

    fn describe(&self, e: &MyError) -> SourceError {
        let s = &self.s.server;
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
                1044 | 1049 => self.database_error(),
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

    async fn ping(&self, conn: &mut Conn) -> Result<(), MyError> {
        Ok(conn.conn.ping().await?)
    }

    /// The reference's check: the database can be used.
    async fn check_database(&self, conn: &mut Conn) -> Result<(), SourceError> {
        let sql = format!("USE {}", ident(&self.s.server.database));
        match conn.conn.query_drop(sql).await {
            Ok(()) => Ok(()),
            Err(_) => Err(self.database_error()),
        }
    }

    async fn can_read(&self, conn: &mut Conn, table: &str) -> bool {
        let probe = format!("SELECT 1 FROM {} LIMIT 1", ident(table));
        conn.conn.query_drop(probe).await.is_ok()
    }

    fn scope(&self) -> String {
        format!("database '{}'", self.s.server.database)
    }

    async fn all_tables(&self, conn: &mut Conn) -> Result<Vec<String>, MyError> {
        Ok(texts(
            conn.conn
                .exec(
                    "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ? \
                     ORDER BY TABLE_NAME",
                    (self.s.server.database.as_str(),),
                )
                .await?,
        ))
    }

    /// The key columns as the reference lists them (`COLUMN_KEY = 'PRI'`, column order).
    async fn primary_key(&self, conn: &mut Conn, table: &str) -> Result<Vec<String>, MyError> {
        Ok(texts(
            conn.conn
                .exec(
                    "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = ? \
                     AND TABLE_NAME = ? AND COLUMN_KEY = 'PRI' ORDER BY ORDINAL_POSITION",
                    (self.s.server.database.as_str(), table),
                )
                .await?,
        ))
    }

    /// A table whose key cannot be read is skipped; the key is read in index order.
    async fn table_keys(&self, conn: &mut Conn, table: &str) -> Result<Keys, MyError> {
        let id = match self.primary_key(conn, table).await {
            Ok(k) => k,
            Err(e) if Self::transient(&e) => return Err(e),
            Err(e) => {
                warn!(table, error = %self.describe(&e), "Cannot read the table's primary key; skipping it");
                return Ok(Keys::Skip);
            }
        };
        if id.is_empty() {
            return Ok(Keys::Found { id, order: vec![] });
        }
        let order = self.index_order(conn, table, &id).await?;
        Ok(Keys::Found { id, order })
    }

    /// `INFORMATION_SCHEMA.TABLES.TABLE_ROWS`: exact for MyISAM, an estimate for InnoDB.
    async fn estimated_rows(&self, conn: &mut Conn, table: &str) -> Result<Option<u64>, MyError> {
        let rows: Option<Option<u64>> = conn
            .conn
            .exec_first(
                "SELECT TABLE_ROWS FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ? \
                 AND TABLE_NAME = ?",
                (self.s.server.database.as_str(), table),
            )
            .await?;
        Ok(rows.flatten())
    }

    async fn has_column(
        &self,
        conn: &mut Conn,
        table: &str,
        column: &str,
    ) -> Result<bool, MyError> {
        let found: Option<Row> = conn
            .conn
            .exec_first(
                "SELECT 1 FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                 AND COLUMN_NAME = ?",
                (self.s.server.database.as_str(), table, column),
            )
            .await?;
        Ok(found.is_some())
    }

    /// The reference's `_timestamp`: `INFORMATION_SCHEMA.TABLES.UPDATE_TIME`, a naive datetime.
    async fn table_timestamp(
        &self,
        conn: &mut Conn,
        table: &str,
    ) -> Result<Option<String>, MyError> {
        let row: Option<Row> = conn
            .conn
            .exec_first(
                "SELECT UPDATE_TIME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ? \
                 AND TABLE_NAME = ?",
                (self.s.server.database.as_str(), table),
            )
            .await?;
        Ok(match row.as_ref().and_then(|r| r.as_ref(0)) {
            Some(Value::Date(y, m, d, h, mi, sec, us)) => {
                chrono::NaiveDate::from_ymd_opt((*y).into(), (*m).into(), (*d).into())
                    .and_then(|d| {
                        d.and_hms_micro_opt((*h).into(), (*mi).into(), (*sec).into(), *us)
                    })
                    .map(|dt| python::datetime_iso(dt, 'T'))
            }
            Some(Value::Bytes(b)) => {
                // Text protocol answers: "2024-01-01 10:00:00".
                Some(String::from_utf8_lossy(b).replacen(' ', "T", 1))
            }
            _ => None,
        })
    }

    async fn max_tracking(
        &self,
        conn: &mut Conn,
        table: &str,
        column: &str,
    ) -> Result<Json, MyError> {
        let sql = format!(
            "SELECT MAX({}) FROM {}",
            ident(column),
            self.qualified(table)
        );
        let row: Option<Row> = conn.conn.exec_first(sql, ()).await?;
        Ok(row
            .as_ref()
            .and_then(|r| r.as_ref(0))
            .map(decode::key_to_json)
            .unwrap_or(Json::Null))
    }

    fn field_prefix(&self, _tables: &[String]) -> Option<String> {
        None
    }

    async fn table_columns(
        &self,
        conn: &mut Conn,
        table: &str,
    ) -> Result<Vec<(String, ColInfo)>, MyError> {
        let sql = format!("SELECT * FROM {} LIMIT 0", self.qualified(table));
        self.columns(conn, sql).await
    }

    async fn table_reading(
        &self,
        conn: &mut Conn,
        scan: &TableScan<'_, Self>,
    ) -> Result<Option<Reading<Self>>, MyError> {
        let qualified = self.qualified(scan.table);
        let limit = self.s.fetch_size;
        Ok(Some(plan::table_reading(
            conn.flavor,
            &qualified,
            limit,
            scan,
        )))
    }

    async fn query_columns(
        &self,
        conn: &mut Conn,
        rule: &QueryRule,
    ) -> Result<Vec<(String, ColInfo)>, MyError> {
        let sql = format!("SELECT q.* FROM ({}) AS q LIMIT 0", rule.bare_query());
        self.columns(conn, sql).await
    }

    async fn rule_reading(
        &self,
        conn: &mut Conn,
        rule: &QueryRule,
        columns: &[(String, ColInfo)],
        order: &[usize],
    ) -> Result<Reading<Self>, MyError> {
        let reading = plan::rule_reading(conn.flavor, rule, self.s.fetch_size, columns, order);
        conn.conn.prep(&reading.next).await?;
        Ok(reading)
    }

    async fn query<'c>(
        &'c self,
        conn: &'c mut Conn,
        statement: &'c String,
        params: Vec<Value>,
    ) -> Result<Self::Rows<'c>, MyError> {
        let params = if params.is_empty() {
            Params::Empty
        } else {
            Params::Positional(params)
        };
        Ok(conn.conn.exec_iter(statement.as_str(), params).await?)
    }

    async fn next_row(rows: &mut Self::Rows<'_>) -> Result<Option<Row>, MyError> {
        Ok(rows.next().await?)
    }

    fn resume_params(
        reading: &Reading<Self>,
        after: &[Json],
        _tracking_after: Option<&Json>,
    ) -> Option<Vec<Value>> {
        plan::resume_params(reading, after)
    }

    fn key_from_cursor(value: &Json) -> Option<Value> {
        decode::key_from_json(value)
    }

    fn key_to_cursor(param: &Value) -> Json {
        decode::key_to_json(param)
    }

    fn cursor_value(row: &Row, i: usize) -> Result<Json, MyError> {
        Ok(decode::key_to_json(cell(row, i)))
    }

    fn members(&self, table_value: &Json) -> Vec<(&'static str, Json)> {
        vec![("Table", table_value.clone())]
    }
}

impl Cells<Row> for Decoding {
    fn id_text(&self, row: &Row, i: usize) -> Result<Option<String>, SourceError> {
        Ok(decode::python_str(
            cell(row, i),
            &self.infos[i],
            self.flavor,
        ))
    }

    fn write(&self, row: &Row, i: usize, _: &str, out: &mut Vec<u8>) -> Result<(), SourceError> {
        let value = decode::to_json(cell(row, i), &self.infos[i], self.flavor);
        // A `serde_json::Value` always serializes.
        let _ = serde_json::to_writer(out, &value);
        Ok(())
    }
}
