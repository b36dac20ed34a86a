//! Reading the database sources' configuration: typed values, the table list, the incremental
//! tracking columns, and the TLS trust built from `ssl_ca`.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use connectors_protocol::{ConfigField, Display, FieldType};
use connectors_sdk::SourceError;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

/// The reference's `WILDCARD`: every table of the database (or schema).
pub const WILDCARD: &str = "*";

/// Key of the incremental-sync setting; not in the reference, which has no incremental sync.
pub const TRACKING_KEY: &str = "tracking_columns";

/// Time allowed to open a connection (TCP, TLS and authentication).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest wait for the next rows of a query before the connection is given up as stuck.
pub const READ_TIMEOUT: Duration = Duration::from_secs(600);

/// First pause between retries; doubles each time (the reference: 2 s, exponential).
pub const RETRY_BASE: Duration = Duration::from_secs(1);

/// Where the server is and who connects: the settings every database source starts with.
pub struct Server {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
}

impl Server {
    /// `host`, `port`, the user (under `user_key`), `password` and `database`, in that order.
    pub fn read(f: &Fields<'_>, user_key: &str) -> Result<Self, SourceError> {
        Ok(Server {
            host: f.required_text("host")?,
            port: f.port("port")?,
            user: f.required_text(user_key)?,
            password: f.raw_text("password"),
            database: f.required_text("database")?,
        })
    }

    /// `host:port`, for messages.
    pub fn at(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Never lets the password through, whatever a driver message contains.
    pub fn redact(&self, text: String) -> String {
        if self.password.len() >= 4 {
            text.replace(&self.password, "********")
        } else {
            text
        }
    }
}

/// The settings the generic database source reads; a dialect keeps its own beside them.
pub struct Settings {
    pub server: Server,
    pub tables: Vec<String>,
    pub fetch_size: usize,
    pub retry_count: u32,
    pub tracking: Tracking,
}

impl Settings {
    /// The settings, with `tracking_columns` read last.
    pub fn new(
        f: &Fields<'_>,
        server: Server,
        tables: Vec<String>,
        fetch_size: usize,
        retry_count: u32,
    ) -> Result<Self, SourceError> {
        Ok(Settings {
            server,
            tables,
            fetch_size,
            retry_count,
            tracking: Tracking::parse(&f.list(TRACKING_KEY))?,
        })
    }
}

/// `fetch_size`, at least 1.
pub fn fetch_size(f: &Fields<'_>, default: i64) -> Result<usize, SourceError> {
    let fetch_size = f.int("fetch_size", default)?;
    if fetch_size < 1 {
        return Err(SourceError::config(
            "fetch_size",
            "'Rows fetched per request' must be at least 1.",
        ));
    }
    Ok(fetch_size as usize)
}

/// `retry_count`, kept within 0..=100.
pub fn retry_count(f: &Fields<'_>, default: i64) -> Result<u32, SourceError> {
    Ok(f.int("retry_count", default)?.clamp(0, 100) as u32)
}

/// `tables`, without duplicates; never empty.
pub fn tables(f: &Fields<'_>) -> Result<Vec<String>, SourceError> {
    let tables = dedup(f.list("tables"));
    if tables.is_empty() {
        return Err(SourceError::config(
            "tables",
            "'Comma-separated list of tables' cannot be empty; use * for every table.",
        ));
    }
    Ok(tables)
}

/// The configuration field of the tracking columns, shared by both sources.
pub fn tracking_field(order: i64) -> ConfigField {
    let mut f = ConfigField::new("Incremental sync tracking columns");
    f.order = order;
    f.display = Display::Textarea;
    f.field_type = FieldType::List;
    f.required = false;
    f.value = Value::String(String::new());
    f.default_value = Value::String(String::new());
    f.ui_restrictions = vec!["advanced".into()];
    f.tooltip = Some(
        "Optional, for incremental syncs: comma-separated table:column pairs, such as \
         orders:updated_at. An incremental sync reads only the rows whose column value is at \
         least the highest one the previous sync saw, so use a column that grows whenever a row \
         changes (a last-modified timestamp, a version number) and index it. '*:column' applies \
         to every table that has that column. Tables without one are read in full. Deleted rows \
         are removed by full syncs."
            .into(),
    );
    f
}

pub use connectors_sdk::Fields;

/// The reference's `is_wildcard`: `*` alone.
/// The reference's refusal of listed tables that cannot be read (its MySQL source's words,
/// used by every SQL source here).
pub fn inaccessible_tables(tables: &[&str], user: &str) -> Option<SourceError> {
    (!tables.is_empty()).then(|| {
        SourceError::config(
            "tables",
            format!(
                "The tables '{}' are either not present or not accessible for user '{user}'.",
                tables.join(", ")
            ),
        )
    })
}

pub fn is_wildcard(tables: &[String]) -> bool {
    tables.len() == 1 && tables[0] == WILDCARD
}

/// Tables in configured order, without duplicates.
pub fn dedup(tables: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    tables
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// The per-table tracking columns of incremental syncs: `table:column` pairs, `*:column` for
/// every table having that column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracking {
    pairs: Vec<(String, String)>,
}

impl Tracking {
    pub fn parse(items: &[String]) -> Result<Self, SourceError> {
        let mut pairs = Vec::new();
        for item in items {
            let Some((table, column)) = item.split_once(':') else {
                return Err(SourceError::config(
                    TRACKING_KEY,
                    format!(
                        "Tracking column '{item}' should be written table:column, such as orders:updated_at."
                    ),
                ));
            };
            let (table, column) = (table.trim(), column.trim());
            if table.is_empty() || column.is_empty() {
                return Err(SourceError::config(
                    TRACKING_KEY,
                    format!("Tracking column '{item}' needs both a table and a column."),
                ));
            }
            if pairs.iter().any(|(t, _): &(String, String)| t == table) {
                return Err(SourceError::config(
                    TRACKING_KEY,
                    format!("Table '{table}' has more than one tracking column."),
                ));
            }
            pairs.push((table.to_string(), column.to_string()));
        }
        Ok(Tracking { pairs })
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The tracking column configured for `table` (an exact entry wins over `*`).
    pub fn column_for(&self, table: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(t, _)| t == table)
            .or_else(|| self.pairs.iter().find(|(t, _)| t == WILDCARD))
            .map(|(_, c)| c.as_str())
    }

    /// Whether `table` has an entry of its own (not through `*`).
    pub fn is_explicit(&self, table: &str) -> bool {
        self.pairs.iter().any(|(t, _)| t == table)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// The certificates of `ssl_ca`, accepted as PEM (one or more blocks) or as the single line that
/// Kibana's text field makes of it (newlines turned into spaces), like the reference's
/// `get_pem_format`.
pub fn ca_certificates(text: &str) -> Result<Vec<CertificateDer<'static>>, SourceError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut certs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(end) = after.find(END) else { break };
        let body: String = after[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| {
                SourceError::config(
                    "ssl_ca",
                    format!("The SSL certificate is not valid PEM: {e}"),
                )
            })?;
        certs.push(CertificateDer::from(der));
        rest = &after[end + END.len()..];
    }
    if certs.is_empty() {
        return Err(SourceError::config(
            "ssl_ca",
            "The SSL certificate has no '-----BEGIN CERTIFICATE-----' block.",
        ));
    }
    Ok(certs)
}

/// A rustls client trusting exactly the configured CA, verifying the server's name as the
/// reference's `ssl.create_default_context()` does.
pub fn tls_config(ca: &str) -> Result<Arc<rustls::ClientConfig>, SourceError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in ca_certificates(ca)? {
        roots.add(cert).map_err(|e| {
            SourceError::config("ssl_ca", format!("The SSL certificate is not usable: {e}"))
        })?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SourceError::Other(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Runs `op` until it succeeds, a permanent error occurs, or `retries` retries are spent, with
/// exponential backoff. Unreachable servers and dropped connections are worth retrying; a wrong
/// password or a missing table is not.
pub async fn retry<T, E, F, Fut>(
    retries: u32,
    transient: impl Fn(&E) -> bool,
    mut op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < retries && transient(&e) => {
                let pause = RETRY_BASE * 2u32.saturating_pow(attempt.min(6));
                tracing::warn!(
                    attempt = attempt + 1,
                    ?pause,
                    "retrying after a transient failure"
                );
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_pairs() {
        let t = Tracking::parse(&["orders:updated_at".into(), "*: version ".into()]).unwrap();
        assert_eq!(t.column_for("orders"), Some("updated_at"));
        assert_eq!(t.column_for("items"), Some("version"));
        assert!(t.is_explicit("orders") && !t.is_explicit("items"));
        for bad in ["orders", "orders:", ":x"] {
            assert!(matches!(
                Tracking::parse(&[bad.into()]),
                Err(SourceError::Config { .. })
            ));
        }
        assert!(Tracking::parse(&["a:x".into(), "a:y".into()]).is_err());
    }

    #[test]
    fn pem_in_one_line_or_many() {
        let body = base64::engine::general_purpose::STANDARD.encode(b"not really DER");
        let multi = format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n");
        let single = multi.replace('\n', " ");
        assert_eq!(ca_certificates(&multi).unwrap().len(), 1);
        assert_eq!(
            ca_certificates(&single).unwrap()[0].as_ref(),
            b"not really DER"
        );
        assert!(ca_certificates("nothing").is_err());
    }
}
