//! `redis`: the keys of Redis databases, with the reference's configuration schema and documents
//! (`_id` = MD5 of `database/key`; `key`, `value` as Python's `str()` of redis-py's value,
//! `size_in_bytes` from `MEMORY USAGE`, `database`, `key_type`, `_timestamp` of the sync) and
//! advanced rules (database, key pattern, type).
//!
//! Better than the reference: the `SCAN` cursor is the listing's cursor, so a slice resumes
//! mid-database; the configured databases are read in the order given (the reference uses a
//! set's order); credentials are escaped in the URL; a page's keys take two pipelined round trips.
//! Like the reference, there are no incremental syncs: Redis keeps no modification times.

mod reader;
pub mod rules;

use async_trait::async_trait;
use connectors_protocol::{ConfigField, Configuration, Dependency, Display, FieldType};
use connectors_sdk::{
    DataSource, Fields, Page, PageRequest, SourceDescriptor, SourceDocument, SourceError,
    SourceFeatures, SourceItem,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use self::reader::{Connections, Server};

/// The reference's `PAGE_SIZE`: the `SCAN` count.
const PAGE_SIZE: usize = 1000;

/// The `redis` source.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedisSource;

fn toggle(label: &str, order: i64, tooltip: &str) -> ConfigField {
    let mut f = ConfigField::new(label);
    f.order = order;
    f.display = Display::Toggle;
    f.field_type = FieldType::Bool;
    f.tooltip = Some(tooltip.into());
    f.value = Value::Bool(false);
    f
}

fn depends(field: &str) -> Vec<Dependency> {
    vec![Dependency {
        field: field.into(),
        value: Value::Bool(true),
    }]
}

impl SourceDescriptor for RedisSource {
    fn service_type(&self) -> &'static str {
        "redis"
    }

    fn name(&self) -> &'static str {
        "Redis"
    }

    fn default_configuration(&self) -> Configuration {
        let text = |label: &str, order: i64, required: bool| {
            let mut f = ConfigField::new(label);
            f.order = order;
            f.required = required;
            f
        };
        let mut port = text("Port", 2, true);
        port.field_type = FieldType::Int;
        let mut password = text("Password", 4, false);
        password.sensitive = true;
        let mut database = text("Comma-separated list of databases", 5, true);
        database.display = Display::Textarea;
        database.field_type = FieldType::List;
        database.tooltip = Some("Databases are ignored when Advanced Sync Rules are used.".into());
        database.value = json!("*");
        let ssl = toggle(
            "SSL/TLS Connection",
            6,
            "This option establishes a secure connection to Redis using SSL/TLS encryption. Ensure that your Redis deployment supports SSL/TLS connections.",
        );
        let mut mutual = toggle(
            "Mutual SSL/TLS Connection",
            7,
            "This option establishes a secure connection to Redis using mutual SSL/TLS encryption. Ensure that your Redis deployment supports mutual SSL/TLS connections.",
        );
        mutual.depends_on = depends("ssl_enabled");
        let mut cert = text("client certificate file for SSL/TLS", 8, false);
        cert.depends_on = depends("mutual_tls_enabled");
        cert.tooltip = Some("Specifies the client certificate from the Certificate Authority. The value of the certificate is used to validate the certificate presented by the Redis instance.".into());
        let mut key = text("client private key file for SSL/TLS", 9, false);
        key.depends_on = depends("mutual_tls_enabled");
        key.tooltip = Some("Specifies the client private key from the Certificate Authority. The value of the key is used to validate the connection in the Redis instance.".into());
        Configuration::from([
            ("host".to_string(), text("Host", 1, true)),
            ("port".to_string(), port),
            ("username".to_string(), text("Username", 3, false)),
            ("password".to_string(), password),
            ("database".to_string(), database),
            ("ssl_enabled".to_string(), ssl),
            ("mutual_tls_enabled".to_string(), mutual),
            ("tls_certfile".to_string(), cert),
            ("tls_keyfile".to_string(), key),
        ])
    }

    fn features(&self) -> SourceFeatures {
        SourceFeatures {
            advanced_rules: true,
            ..SourceFeatures::default()
        }
    }

    fn build(&self, configuration: &Configuration) -> Result<Box<dyn DataSource>, SourceError> {
        let f = Fields(configuration);
        let tls = f.bool("ssl_enabled");
        let mutual = tls && f.bool("mutual_tls_enabled");
        let server = Server {
            host: f.required_text("host")?,
            port: f.port("port")?,
            username: f.raw_text("username"),
            password: f.raw_text("password"),
            tls,
            client_tls: mutual.then(|| (f.raw_text("tls_certfile"), f.raw_text("tls_keyfile"))),
        };
        let mut databases = Vec::new();
        for db in f.list("database") {
            if !databases.contains(&db) {
                databases.push(db);
            }
        }
        Ok(Box::new(Redis {
            connections: Connections::new(server),
            databases,
            units: Mutex::new(None),
        }))
    }
}

/// One database to scan, and how.
#[derive(Debug, Clone, PartialEq)]
struct Unit {
    db: i64,
    /// The document's `database` value: text when configured, a number for `*` and rules.
    database: Value,
    pattern: Option<String>,
    key_type: Option<String>,
}

struct Redis {
    connections: Connections,
    databases: Vec<String>,
    /// The units of the current job (its rules, if any), listed once per process.
    units: Mutex<Option<(Option<Value>, Vec<Unit>)>>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    unit: usize,
    scan: u64,
}

impl Redis {
    fn all_databases(&self) -> bool {
        self.databases == ["*"]
    }

    async fn units(&self, rules: Option<&Value>) -> Result<Vec<Unit>, SourceError> {
        let rules = rules.filter(|r| crate::objects::has_rules(r)).cloned();
        let mut cached = self.units.lock().await;
        if let Some((for_rules, units)) = cached.as_ref()
            && *for_rules == rules
        {
            return Ok(units.clone());
        }
        let units: Vec<Unit> = match &rules {
            Some(r) => rules::check(r)
                .map_err(|m| SourceError::config("advanced_snippet", m))?
                .into_iter()
                .map(|rule| Unit {
                    db: rule.database,
                    database: rule.database_value,
                    pattern: rule.key_pattern,
                    key_type: rule.key_type,
                })
                .collect(),
            None if self.all_databases() => {
                let mut con = self.connections.get(0).await?;
                let answer: Vec<String> = redis::cmd("CONFIG")
                    .arg("GET")
                    .arg("databases")
                    .query_async(&mut con)
                    .await
                    .map_err(|e| self.connections.failed("Listing the databases (CONFIG GET databases)", &e))?;
                let count: i64 = answer.get(1).and_then(|n| n.parse().ok()).unwrap_or(1);
                (0..count)
                    .map(|db| Unit {
                        db,
                        database: json!(db),
                        pattern: Some("*".into()),
                        key_type: None,
                    })
                    .collect()
            }
            None => self
                .databases
                .iter()
                .map(|d| {
                    let db = d.parse::<i64>().map_err(|_| {
                        SourceError::config("database", format!("All database element should be integer. Please correct database name: {d}"))
                    })?;
                    Ok(Unit {
                        db,
                        database: json!(d),
                        pattern: Some("*".into()),
                        key_type: None,
                    })
                })
                .collect::<Result<_, SourceError>>()?,
        };
        *cached = Some((rules, units.clone()));
        Ok(units)
    }

    /// The databases of `dbs` that cannot be selected.
    async fn unavailable(&self, dbs: Vec<i64>) -> Vec<i64> {
        let mut missing = Vec::new();
        for db in dbs {
            if self.connections.get(db).await.is_err() {
                missing.push(db);
            }
        }
        missing
    }
}

#[async_trait]
impl DataSource for Redis {
    async fn ping(&self) -> Result<(), SourceError> {
        let mut con = self.connections.get(0).await?;
        let _: String = redis::cmd("PING")
            .query_async(&mut con)
            .await
            .map_err(|e| self.connections.unavailable(&e))?;
        Ok(())
    }

    /// The reference's remote validation of the configured databases.
    async fn validate_config(&self) -> Result<(), SourceError> {
        if self.all_databases() {
            return Ok(());
        }
        self.ping().await?;
        let (numbers, invalid_type): (Vec<&String>, Vec<&String>) = self
            .databases
            .iter()
            .partition(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        let invalid_db: Vec<String> = self
            .unavailable(numbers.iter().filter_map(|d| d.parse().ok()).collect())
            .await
            .iter()
            .map(i64::to_string)
            .collect();
        let invalid_type: Vec<&str> = invalid_type.iter().map(|s| s.as_str()).collect();
        let message = match (invalid_db.is_empty(), invalid_type.is_empty()) {
            (false, false) => format!(
                "Database {} are not available. Also database element should be integer. Please correct database name: {}",
                invalid_db.join(", "),
                invalid_type.join(", ")
            ),
            (false, true) => format!("Database {} are not available.", invalid_db.join(", ")),
            (true, false) => format!(
                "All database element should be integer. Please correct database name: {}",
                invalid_type.join(", ")
            ),
            (true, true) => return Ok(()),
        };
        Err(SourceError::config("database", message))
    }

    async fn validate_advanced_rules(&self, rules: &Value) -> Vec<String> {
        let rules = match rules::check(rules) {
            Ok(r) => r,
            Err(message) => return vec![message],
        };
        let dbs: Vec<i64> = rules.iter().map(|r| r.database).collect();
        let missing = self.unavailable(dbs).await;
        if missing.is_empty() {
            return Vec::new();
        }
        let list: Vec<String> = missing.iter().map(i64::to_string).collect();
        vec![format!("Database {} are not available.", list.join(","))]
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let units = self.units(request.advanced_rules).await?;
        let (mut index, mut scan_cursor) = match request.cursor {
            None => (0, 0),
            Some(raw) => {
                let c: Cursor = serde_json::from_value(raw.clone())
                    .map_err(|e| SourceError::Cursor(e.to_string()))?;
                (c.unit, c.scan)
            }
        };
        let count = request.page_size.clamp(10, PAGE_SIZE);
        let mut items = Vec::new();
        while items.is_empty() && index < units.len() {
            let unit = &units[index];
            let mut con = self.connections.get(unit.db).await?;
            let (next, keys) = reader::scan(
                &mut con,
                scan_cursor,
                unit.pattern.as_deref(),
                unit.key_type.as_deref(),
                count,
            )
            .await
            .map_err(|e| {
                self.connections
                    .failed(&format!("Scanning database {}", unit.db), &e)
            })?;
            let docs = reader::documents(&mut con, unit.db, &unit.database, keys)
                .await
                .map_err(|e| {
                    self.connections
                        .failed(&format!("Reading keys of database {}", unit.db), &e)
                })?;
            items.extend(
                docs.into_iter()
                    .map(|d| SourceItem::Upsert(SourceDocument::new(d))),
            );
            scan_cursor = next;
            if next == 0 {
                index += 1;
            }
        }
        let next = (index < units.len()).then(|| {
            json!(Cursor {
                unit: index,
                scan: scan_cursor,
            })
        });
        Ok(Page {
            items,
            next,
            sync_cursor: None,
        })
    }
}
