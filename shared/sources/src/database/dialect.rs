//! The `Dialect` trait: what the generic database source needs of one SQL server and its
//! driver (connecting, the catalog, the SQL of keyset reads, running a statement row by row, the
//! values of a row), and the plan of a read that a dialect fills in.
//!
//! The generic source (listing, checks, pagination, incremental tracking, custom queries) is
//! written once over this trait; a SQL database is one implementation of it.

use std::future::Future;

use connectors_sdk::SourceError;
use serde_json::Value;

use crate::database::rules::QueryRule;
use crate::database::settings::Settings;

/// The words of messages and logs that differ between the sources (each says what it has
/// always said).
pub struct Wording {
    /// The server's name: `PostgreSQL`.
    pub product: &'static str,
    /// The document member that names the table, also the scope of an unreadable table.
    pub table_field: &'static str,
    /// Around the table and database names in the warning about a table without a key.
    pub quote: Option<char>,
    /// What is read of a table, in the reason of an unreadable one: `document for`.
    pub rows_of: &'static str,
    /// Whether the message of a stalled read says what was being read.
    pub stall_says_what: bool,
    /// Logged when a table is read.
    pub reading_table: &'static str,
    /// Logged when a custom query is run.
    pub reading_query: &'static str,
}

/// A table's key, as a dialect reads it.
pub enum Keys {
    /// The primary key's columns in the `_id`'s order, and in the order that walks its index.
    /// Empty when the table has no primary key.
    Found { id: Vec<String>, order: Vec<String> },
    /// The table is skipped; the dialect said why.
    Skip,
    /// The key cannot be read: the table is reported unreadable, for this reason.
    Unreadable(SourceError),
}

/// What the statements reading a table are planned for.
pub struct TableScan<'a, D: Dialect> {
    pub table: &'a str,
    pub columns: &'a [(String, D::ColumnType)],
    /// The key columns, in the order that walks the table's index.
    pub order: &'a [String],
    /// The tracking column, if any. With `delta`, only the rows whose tracking value is at
    /// least the previous one are read, in (tracking, key) order.
    pub tracking: Option<&'a str>,
    pub delta: bool,
}

/// How the rows of a table or custom query are read and made into documents.
pub struct Plan<D: Dialect> {
    /// The document field of each column.
    pub names: Vec<String>,
    /// Positions (among the columns) of the `_id`'s values, in the reference's order.
    pub id_cols: Vec<usize>,
    /// The tables making the `_id` (sorted in it).
    pub id_tables: Vec<String>,
    /// What the documents' table member says: the table, or a rule's list of tables.
    pub table_value: Value,
    pub reading: Reading<D>,
}

/// The statements of a plan, and where a row's cursor values are.
pub struct Reading<D: Dialect> {
    /// How the dialect reads the cells.
    pub decoding: D::Decoding,
    /// From the first row; and resuming after the cursor's values (see
    /// [`Dialect::resume_params`]). A statement whose listing is incremental takes the previous
    /// tracking value as its first parameter.
    pub first: D::Statement,
    pub next: D::Statement,
    /// Positions of the values kept as the cursor's `after`.
    pub keys: Vec<usize>,
    /// Position of the tracking value that advances the sync cursor (incremental deltas).
    pub tracking: Option<usize>,
    /// Position of the tracking value kept as the cursor's `tracking_after`, when the dialect
    /// keeps it apart from `after`.
    pub tracking_after: Option<usize>,
    /// Rows per statement: a shorter answer ends the read. `None`: one statement reads all.
    pub limit: Option<usize>,
}

/// A custom query, ready or not runnable as written.
pub enum RulePlan<D: Dialect> {
    Ready(Box<Plan<D>>),
    /// Why the rule cannot be run as written (no key, id columns not in the query).
    Skip(String),
}

/// Reads the cells of a plan's rows: a dialect's decoders of the plan's columns.
pub trait Cells<R>: Send + Sync {
    /// Cell `i` as the text it adds to an `_id` (`None` for null).
    fn id_text(&self, row: &R, i: usize) -> Result<Option<String>, SourceError>;

    /// Writes cell `i` (of field `name`) as JSON.
    fn write(&self, row: &R, i: usize, name: &str, out: &mut Vec<u8>) -> Result<(), SourceError>;
}

/// One SQL server and driver. Methods taking a connection run on it; the others are pure.
pub trait Dialect: Send + Sync + Sized + 'static {
    /// What the source's messages and logs say.
    const WORDING: Wording;

    /// An open connection, with whatever the dialect learns of it.
    type Conn: Send;
    /// A failure talking to the server.
    type Error: std::error::Error + Send + Sync + 'static;
    /// A row of a running statement.
    type Row: Send;
    /// The rows of a running statement.
    type Rows<'c>: Send
    where
        Self: 'c;
    /// A statement ready to run.
    type Statement: Send + Sync;
    /// A value bound to a parameter: a key or tracking value.
    type Param: Clone + Send + Sync;
    /// What the dialect knows of a column's type.
    type ColumnType: Send + Sync;
    /// What reading a plan's cells needs.
    type Decoding: Cells<Self::Row>;

    /// Whether checks (ping, validation) keep one connection open between calls, rather than
    /// opening one each time.
    const KEEPS_CHECK_CONNECTION: bool = false;
    /// Whether validation probes every table when `tables` is `*` (not only listed ones).
    const PROBES_EVERY_TABLE: bool = false;
    /// Whether a custom query's `_id` columns taken from primary keys are sorted by name.
    const SORTED_RULE_KEYS: bool = false;
    /// Whether a column named `id` holds the `_id` in documents.
    const ID_HOLDS_ID: bool = false;

    fn settings(&self) -> &Settings;

    /// Opens a connection (once; the caller retries).
    fn connect(&self) -> impl Future<Output = Result<Self::Conn, Self::Error>> + Send;

    /// Whether a kept connection can no longer be used.
    fn is_closed(_conn: &Self::Conn) -> bool {
        false
    }

    /// Ends a connection that served well.
    fn close(conn: Self::Conn) -> impl Future<Output = ()> + Send;

    /// Prepares a connection for a listing.
    fn start_listing(
        &self,
        _conn: &mut Self::Conn,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }

    /// Worth retrying: the server could not be reached, dropped the connection, or is
    /// momentarily refusing work.
    fn transient(e: &Self::Error) -> bool;

    /// A failure as a message that says what to fix, never with the password.
    fn describe(&self, e: &Self::Error) -> SourceError;

    fn ping(&self, conn: &mut Self::Conn) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Validation: the configured database can be used.
    fn check_database(
        &self,
        _conn: &mut Self::Conn,
    ) -> impl Future<Output = Result<(), SourceError>> + Send {
        async { Ok(()) }
    }

    /// Validation: whether `table` can be read.
    fn can_read(&self, conn: &mut Self::Conn, table: &str) -> impl Future<Output = bool> + Send;

    /// Where tables are looked for, in messages: `schema 'public'`.
    fn scope(&self) -> String;

    /// Every table, as the reference lists them for `*` and for rule validation.
    fn all_tables(
        &self,
        conn: &mut Self::Conn,
    ) -> impl Future<Output = Result<Vec<String>, Self::Error>> + Send;

    /// Told the tables that `*` found.
    fn tables_found(&self, _tables: &[String]) {}

    /// The catalog's estimate of a table's rows, for balancing partitions; `None` when the
    /// catalog has none.
    fn estimated_rows(
        &self,
        _conn: &mut Self::Conn,
        _table: &str,
    ) -> impl Future<Output = Result<Option<u64>, Self::Error>> + Send {
        async { Ok(None) }
    }

    /// The primary key's columns, in the reference's order.
    fn primary_key(
        &self,
        conn: &mut Self::Conn,
        table: &str,
    ) -> impl Future<Output = Result<Vec<String>, Self::Error>> + Send;

    /// The key of a table to list: by default its primary key, read in that order, the table
    /// unreadable when the key cannot be read. An error ends the listing (retried when
    /// transient).
    fn table_keys(
        &self,
        conn: &mut Self::Conn,
        table: &str,
    ) -> impl Future<Output = Result<Keys, Self::Error>> + Send {
        async move {
            match self.primary_key(conn, table).await {
                Ok(id) => Ok(Keys::Found {
                    order: id.clone(),
                    id,
                }),
                Err(e) if Self::transient(&e) => Err(e),
                Err(e) => Ok(Keys::Unreadable(self.describe(&e))),
            }
        }
    }

    /// Whether `table` has column `column`.
    fn has_column(
        &self,
        conn: &mut Self::Conn,
        table: &str,
        column: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// `_timestamp` of a table's documents; `None`: the time it is read.
    fn table_timestamp(
        &self,
        conn: &mut Self::Conn,
        table: &str,
    ) -> impl Future<Output = Result<Option<String>, Self::Error>> + Send;

    /// The highest value of a tracking column, as the sync cursor keeps it.
    fn max_tracking(
        &self,
        conn: &mut Self::Conn,
        table: &str,
        column: &str,
    ) -> impl Future<Output = Result<Value, Self::Error>> + Send;

    /// The prefix of document fields made of columns of `tables` (lower-cased with it);
    /// `None`: fields are the column names.
    fn field_prefix(&self, tables: &[String]) -> Option<String>;

    /// The columns of a table.
    fn table_columns(
        &self,
        conn: &mut Self::Conn,
        table: &str,
    ) -> impl Future<Output = Result<Vec<(String, Self::ColumnType)>, Self::Error>> + Send;

    /// The statements reading a table. `None`: the table cannot be read in key order.
    fn table_reading(
        &self,
        conn: &mut Self::Conn,
        scan: &TableScan<'_, Self>,
    ) -> impl Future<Output = Result<Option<Reading<Self>>, Self::Error>> + Send;

    /// The columns of a custom query.
    fn query_columns(
        &self,
        conn: &mut Self::Conn,
        rule: &QueryRule,
    ) -> impl Future<Output = Result<Vec<(String, Self::ColumnType)>, Self::Error>> + Send;

    /// The statements running a custom query ordered by its columns at `order`.
    fn rule_reading(
        &self,
        conn: &mut Self::Conn,
        rule: &QueryRule,
        columns: &[(String, Self::ColumnType)],
        order: &[usize],
    ) -> impl Future<Output = Result<Reading<Self>, Self::Error>> + Send;

    /// Runs a statement.
    fn query<'c>(
        &'c self,
        conn: &'c mut Self::Conn,
        statement: &'c Self::Statement,
        params: Vec<Self::Param>,
    ) -> impl Future<Output = Result<Self::Rows<'c>, Self::Error>> + Send;

    /// The next row of a running statement.
    fn next_row(
        rows: &mut Self::Rows<'_>,
    ) -> impl Future<Output = Result<Option<Self::Row>, Self::Error>> + Send;

    /// The parameters of `reading.next` after a cursor's values; `None` when they do not fit.
    fn resume_params(
        reading: &Reading<Self>,
        after: &[Value],
        tracking_after: Option<&Value>,
    ) -> Option<Vec<Self::Param>>;

    /// A key or tracking value of a cursor as a parameter; `None` when malformed.
    fn key_from_cursor(value: &Value) -> Option<Self::Param>;

    /// The inverse of [`Dialect::key_from_cursor`].
    fn key_to_cursor(param: &Self::Param) -> Value;

    /// The cursor value of a row's cell `i`.
    fn cursor_value(row: &Self::Row, i: usize) -> Result<Value, Self::Error>;

    /// The members documents end with, after `_timestamp`.
    fn members(&self, table_value: &Value) -> Vec<(&'static str, Value)>;

    /// What every `_id` starts with.
    fn id_prefix(&self) -> String {
        String::new()
    }
}
