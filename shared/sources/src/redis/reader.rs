//! Reading Redis: a connection per database (the database in the URL, so no `SELECT` is shared),
//! one `SCAN` per page, and the keys of a page read in two pipelined round trips (`TYPE` and
//! `MEMORY USAGE`, then each key's value by type) where the reference makes three round trips per
//! key. Values are written as the reference's `str()` of what redis-py returns.

use std::collections::HashMap;

use chrono::Utc;
use connectors_sdk::{SourceError, hash_id};
use redis::Value as R;
use redis::aio::MultiplexedConnection;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tracing::warn;

use crate::python::{self, float_repr, str_repr};

/// Where the server is and who connects.
#[derive(Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub tls: bool,
    /// PEM client certificate and key, for mutual TLS.
    pub client_tls: Option<(String, String)>,
}

impl Server {
    /// `host:port`, for messages.
    pub fn at(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn url(&self, db: i64) -> Result<url::Url, SourceError> {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let mut url = url::Url::parse(&format!("{scheme}://localhost/{db}"))
            .map_err(|e| SourceError::Other(e.to_string()))?;
        let bad_host =
            |_| SourceError::config("host", format!("'{}' is not a valid host.", self.host));
        url.set_host(Some(&self.host)).map_err(bad_host)?;
        let _ = url.set_port(Some(self.port));
        if !self.username.is_empty() {
            let _ = url.set_username(&self.username);
        }
        if !self.password.is_empty() {
            let _ = url.set_password(Some(&self.password));
        }
        Ok(url)
    }

    /// Never lets the password through, whatever an error message contains.
    pub fn redact(&self, text: String) -> String {
        if self.password.len() >= 4 {
            text.replace(&self.password, "********")
        } else {
            text
        }
    }
}

/// Connections by database, opened on first use.
pub struct Connections {
    server: Server,
    open: Mutex<HashMap<i64, MultiplexedConnection>>,
}

impl Connections {
    pub fn new(server: Server) -> Self {
        Connections {
            server,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The connection to database `db` (connecting selects it; a database that does not exist
    /// fails here).
    pub async fn get(&self, db: i64) -> Result<MultiplexedConnection, SourceError> {
        if let Some(c) = self.open.lock().await.get(&db) {
            return Ok(c.clone());
        }
        let url = self.server.url(db)?;
        let client = match &self.server.client_tls {
            Some((cert, key)) => redis::Client::build_with_tls(
                url.as_str(),
                redis::TlsCertificates {
                    client_tls: Some(redis::ClientTlsConfig {
                        client_cert: cert.as_bytes().to_vec(),
                        client_key: key.as_bytes().to_vec(),
                    }),
                    root_cert: None,
                },
            ),
            None => redis::Client::open(url.as_str()),
        }
        .map_err(|e| self.unavailable(&e))?;
        let connection = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| {
            SourceError::Unavailable(format!(
                "Connecting to Redis at {} timed out.",
                self.server.at()
            ))
        })?
        .map_err(|e| self.unavailable(&e))?;
        self.open.lock().await.insert(db, connection.clone());
        Ok(connection)
    }

    pub fn unavailable(&self, e: &redis::RedisError) -> SourceError {
        SourceError::Unavailable(self.server.redact(format!(
            "Error while connecting to Redis at {}: {e}",
            self.server.at()
        )))
    }

    pub fn failed(&self, what: &str, e: &redis::RedisError) -> SourceError {
        SourceError::Other(self.server.redact(format!("{what} failed: {e}")))
    }
}

/// One `SCAN` step: the next cursor (0 at the end) and the keys.
pub async fn scan(
    con: &mut MultiplexedConnection,
    cursor: u64,
    pattern: Option<&str>,
    key_type: Option<&str>,
    count: usize,
) -> redis::RedisResult<(u64, Vec<Vec<u8>>)> {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor);
    // The reference always sends MATCH (`*` when no pattern is given) except for rules
    // without a pattern.
    if let Some(p) = pattern {
        cmd.arg("MATCH").arg(p);
    }
    cmd.arg("COUNT").arg(count);
    if let Some(t) = key_type {
        cmd.arg("TYPE").arg(t);
    }
    cmd.query_async(con).await
}

/// The documents of `keys` in database `db`; `database` is the document's `database` value.
pub async fn documents(
    con: &mut MultiplexedConnection,
    db: i64,
    database: &Value,
    keys: Vec<Vec<u8>>,
) -> redis::RedisResult<Vec<Map<String, Value>>> {
    let keys: Vec<String> = keys
        .into_iter()
        .filter_map(|k| match String::from_utf8(k) {
            Ok(k) => Some(k),
            Err(e) => {
                warn!(db, key = %String::from_utf8_lossy(e.as_bytes()), "a key that is not UTF-8 is skipped");
                None
            }
        })
        .collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut meta = redis::pipe();
    for key in &keys {
        meta.cmd("TYPE").arg(key);
        meta.cmd("MEMORY").arg("USAGE").arg(key);
    }
    let meta: Vec<R> = meta.query_async(con).await?;
    let mut values = redis::pipe();
    let mut types = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let key_type = text(&meta[2 * i]).unwrap_or_else(|| "none".into());
        match key_type.as_str() {
            "hash" => values.cmd("HGETALL").arg(key),
            "stream" => values.cmd("XREAD").arg("STREAMS").arg(key).arg("0"),
            "list" => values.cmd("LRANGE").arg(key).arg(0).arg(-1),
            "set" => values.cmd("SMEMBERS").arg(key),
            "zset" => values
                .cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES"),
            "ReJSON-RL" => values.cmd("JSON.GET").arg(key),
            _ => values.cmd("GET").arg(key),
        };
        types.push(key_type);
    }
    let fetched: Vec<R> = values.query_async(con).await?;
    let timestamp = python::isoformat(Utc::now());
    let database_text = match database {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut docs = Vec::with_capacity(keys.len());
    for (i, key) in keys.into_iter().enumerate() {
        let key_type = &types[i];
        let value = value_str(key_type, &fetched[i]).unwrap_or_else(|| {
            warn!(db, %key, "Something went wrong while fetching the value: it is not UTF-8");
            String::new()
        });
        let size = match &meta[2 * i + 1] {
            R::Int(n) => json!(n),
            _ => Value::Null,
        };
        let mut doc = Map::new();
        doc.insert(
            "_id".into(),
            json!(hash_id(&format!("{database_text}/{key}"))),
        );
        doc.insert("key".into(), json!(key));
        doc.insert("value".into(), json!(value));
        doc.insert("size_in_bytes".into(), size);
        doc.insert("database".into(), database.clone());
        doc.insert("key_type".into(), json!(key_type));
        doc.insert("_timestamp".into(), json!(timestamp));
        docs.push(doc);
    }
    Ok(docs)
}

/// A bulk or simple string as UTF-8 text.
fn text(v: &R) -> Option<String> {
    match v {
        R::BulkString(b) => String::from_utf8(b.clone()).ok(),
        R::SimpleString(s) => Some(s.clone()),
        R::Okay => Some("OK".into()),
        R::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

fn items(v: &R) -> &[R] {
    match v {
        R::Array(a) | R::Set(a) => a,
        _ => &[],
    }
}

/// `repr()` of the strings of `v`, or `None` when one is not UTF-8.
fn reprs(v: &[R]) -> Option<Vec<String>> {
    v.iter().map(|x| text(x).map(|t| str_repr(&t))).collect()
}

/// `{'k': 'v', ...}` of alternating keys and values.
fn dict(v: &[R]) -> Option<String> {
    let parts = reprs(v)?;
    let pairs: Vec<String> = parts
        .chunks(2)
        .map(|p| format!("{}: {}", p[0], p.get(1).cloned().unwrap_or_default()))
        .collect();
    Some(format!("{{{}}}", pairs.join(", ")))
}

/// `str()` of the value redis-py gives for a key of `key_type`; `None` on text that is not
/// UTF-8 (the reference's `UnicodeDecodeError`, which gives an empty value).
pub fn value_str(key_type: &str, v: &R) -> Option<String> {
    Some(match key_type {
        "hash" => dict(items(v))?,
        "list" => format!("[{}]", reprs(items(v))?.join(", ")),
        "set" => {
            let members = reprs(items(v))?;
            if members.is_empty() {
                "set()".into()
            } else {
                format!("{{{}}}", members.join(", "))
            }
        }
        "zset" => {
            let pairs = items(v)
                .chunks(2)
                .map(|p| {
                    let member = str_repr(&text(&p[0])?);
                    let score = p
                        .get(1)
                        .and_then(text)
                        .and_then(|s| s.parse::<f64>().ok())?;
                    Some(format!("({member}, {})", float_repr(score)))
                })
                .collect::<Option<Vec<String>>>()?;
            format!("[{}]", pairs.join(", "))
        }
        "stream" => {
            let streams = items(v)
                .iter()
                .map(|s| {
                    let parts = items(s);
                    let name = str_repr(&text(parts.first()?)?);
                    let entries = parts
                        .get(1)
                        .map(items)
                        .unwrap_or_default()
                        .iter()
                        .map(|e| {
                            let e = items(e);
                            Some(format!(
                                "({}, {})",
                                str_repr(&text(e.first()?)?),
                                dict(e.get(1).map(items).unwrap_or_default())?
                            ))
                        })
                        .collect::<Option<Vec<String>>>()?;
                    Some(format!("[{name}, [{}]]", entries.join(", ")))
                })
                .collect::<Option<Vec<String>>>()?;
            format!("[{}]", streams.join(", "))
        }
        "ReJSON-RL" => {
            let raw = text(v)?;
            python::json_loads_str(&raw).unwrap_or(raw)
        }
        _ => match v {
            R::Nil => "None".into(),
            other => {
                let raw = text(other)?;
                python::json_loads_str(&raw).unwrap_or(raw)
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> R {
        R::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn values_as_redis_py_and_python_str() {
        assert_eq!(
            value_str("string", &bulk("this is value")).unwrap(),
            "this is value"
        );
        assert_eq!(value_str("string", &bulk("1.50")).unwrap(), "1.5");
        assert_eq!(value_str("string", &R::Nil).unwrap(), "None");
        assert_eq!(
            value_str(
                "hash",
                &R::Array(vec![bulk("name"), bulk("John"), bulk("age"), bulk("30")])
            )
            .unwrap(),
            "{'name': 'John', 'age': '30'}"
        );
        assert_eq!(
            value_str("list", &R::Array(vec![bulk("a"), bulk("it's")])).unwrap(),
            "['a', \"it's\"]"
        );
        assert_eq!(
            value_str("set", &R::Array(vec![bulk("a"), bulk("b")])).unwrap(),
            "{'a', 'b'}"
        );
        assert_eq!(
            value_str(
                "zset",
                &R::Array(vec![bulk("a"), bulk("1"), bulk("b"), bulk("2.5")])
            )
            .unwrap(),
            "[('a', 1.0), ('b', 2.5)]"
        );
        let stream = R::Array(vec![R::Array(vec![
            bulk("mystream"),
            R::Array(vec![R::Array(vec![
                bulk("1700000000000-0"),
                R::Array(vec![bulk("f"), bulk("v")]),
            ])]),
        ])]);
        assert_eq!(
            value_str("stream", &stream).unwrap(),
            "[['mystream', [('1700000000000-0', {'f': 'v'})]]]"
        );
        assert_eq!(
            value_str("ReJSON-RL", &bulk("{\"a\": [1, true, null]}")).unwrap(),
            "{'a': [1, True, None]}"
        );
        assert_eq!(value_str("string", &R::BulkString(vec![0xff, 0xfe])), None);
    }

    #[test]
    fn urls_escape_credentials() {
        let s = Server {
            host: "127.0.0.1".into(),
            port: 6380,
            username: "u@x".into(),
            password: "p:w/d".into(),
            tls: true,
            client_tls: None,
        };
        assert_eq!(
            s.url(3).unwrap().as_str(),
            "rediss://u%40x:p%3Aw%2Fd@127.0.0.1:6380/3"
        );
    }
}
