//! The `mysql` source against the local MariaDB (127.0.0.1:3306, root without password): each
//! test creates its own database and drops it at the end.

#![recursion_limit = "256"]

mod common;

use common::*;
use connectors_sdk::{SourceDescriptor, SourceError, SyncMode};
use connectors_sources::mysql::MySqlSource;
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

const ADDR: &str = "127.0.0.1:3306";

fn opts() -> mysql_async::OptsBuilder {
    mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(3306)
        .user(Some("root"))
}

/// A fresh database, dropped by [`Database::drop`].
struct Database {
    name: String,
    conn: mysql_async::Conn,
}

impl Database {
    async fn new() -> Option<Database> {
        if !server_up("MariaDB", ADDR).await {
            return None;
        }
        let mut conn = mysql_async::Conn::new(opts())
            .await
            .expect("connect to MariaDB as root");
        let name = unique("srcmy");
        conn.query_drop(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            .await
            .unwrap();
        conn.query_drop(format!("USE {name}")).await.unwrap();
        conn.query_drop("SET SESSION sql_mode = ''").await.unwrap();
        Some(Database { name, conn })
    }

    async fn exec(&mut self, sql: &str) {
        self.conn
            .query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    fn config(&self, extra: Value) -> connectors_protocol::Configuration {
        let mut values = json!({
            "host": "127.0.0.1", "port": 3306, "user": "root", "password": "",
            "database": self.name, "tables": "*", "retry_count": 0,
        });
        for (k, v) in extra.as_object().unwrap() {
            values[k] = v.clone();
        }
        configuration(&MySqlSource, &values)
    }

    async fn drop(mut self) {
        let _ = self
            .conn
            .query_drop(format!("DROP DATABASE {}", self.name))
            .await;
        let _ = self.conn.disconnect().await;
    }
}

const TYPES: &str = r#"
CREATE TABLE all_types (
    id int AUTO_INCREMENT PRIMARY KEY,
    c_tinyint tinyint, c_smallint smallint, c_mediumint mediumint, c_int int, c_bigint bigint,
    c_ubigint bigint unsigned, c_float float, c_float_small float, c_double double,
    c_decimal decimal(10,3), c_bit bit(8), c_bool boolean, c_year year, c_date date,
    c_datetime datetime, c_datetime6 datetime(6), c_timestamp timestamp NULL, c_time time,
    c_char char(5), c_varchar varchar(50), c_text text, c_blob blob, c_binary binary(4),
    c_varbinary varbinary(10), c_enum enum('sad','happy'), c_set set('a','b','c'), c_json json,
    c_point point, c_zero_datetime datetime, c_zero_date date, `Mixed Case` varchar(10)
);
INSERT INTO all_types VALUES (
    NULL, -5, -300, 70000, 42, 9007199254740993, 18446744073709551615, 123456.789, 1.1, 2.5,
    1234.5, b'01000001', true, 2024, '2024-02-29', '2024-01-02 03:04:05',
    '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05', '-26:03:04', 'ab', 'héllo ✓ 𝄞',
    'some text', X'68656c6c6fff', 'ab', 'xyz', 'happy', 'a,c', '{"b": 1}', POINT(1, 2),
    '0000-00-00 00:00:00', '0000-00-00', 'mixed');
INSERT INTO all_types (c_text) VALUES (NULL);
"#;

#[tokio::test]
async fn every_type_converts_like_the_reference() {
    let Some(mut db) = Database::new().await else {
        return;
    };
    db.exec(TYPES).await;
    let listing = list_all(
        &MySqlSource,
        &db.config(json!({})),
        SyncMode::Full,
        None,
        10,
        false,
    )
    .await;
    assert_eq!(listing.docs.len(), 2, "{:?}", listing.order);
    let doc = &listing.docs["all_types_1"];
    assert_eq!(doc["Table"], json!("all_types"));
    assert!(doc["_timestamp"].is_string());
    // The column `id` holds the `_id`, as in the reference's indexed documents.
    let expected = json!({
        "id": "all_types_1", "c_tinyint": -5, "c_smallint": -300, "c_mediumint": 70000, "c_int": 42,
        "c_bigint": 9007199254740993i64, "c_ubigint": 18446744073709551615u64,
        "c_float": 123457.0, "c_float_small": 1.1, "c_double": 2.5, "c_decimal": 1234.5,
        "c_bit": "A", "c_bool": 1, "c_year": 2024, "c_date": "2024-02-29",
        "c_datetime": "2024-01-02T03:04:05", "c_datetime6": "2024-01-02T03:04:05.123456",
        "c_timestamp": "2024-01-02T03:04:05", "c_time": "-26:03:04", "c_char": "ab",
        "c_varchar": "héllo ✓ 𝄞", "c_text": "some text", "c_blob": "hello",
        "c_binary": "ab\u{0}\u{0}", "c_varbinary": "xyz", "c_enum": "happy", "c_set": "a,c",
        "c_json": "{\"b\": 1}", "c_zero_datetime": "0000-00-00 00:00:00",
        "c_zero_date": "0000-00-00", "Mixed Case": "mixed",
    });
    for (column, value) in expected.as_object().unwrap() {
        assert_eq!(&doc[column], value, "column {column}");
    }
    assert!(doc["c_point"].is_string());
    // Every column plus _id, _timestamp and Table.
    assert_eq!(doc.len(), expected.as_object().unwrap().len() + 1 + 3);
    let empty = &listing.docs["all_types_2"];
    assert_eq!(empty["c_text"], Value::Null);
    assert_eq!(empty["c_json"], Value::Null);
    db.drop().await;
}

const KEYS: &str = r#"
CREATE TABLE composite (a int, b varchar(50), v text, PRIMARY KEY (b, a));
INSERT INTO composite SELECT seq % 7, CONCAT('key-', seq DIV 7, IF(seq % 3 = 0, ' ünï ✓', '')),
    CONCAT('value ', seq) FROM seq_1_to_2500;
CREATE TABLE nokey (a int, b text);
INSERT INTO nokey VALUES (1, 'x');
CREATE TABLE `MixedCase` (`Id` int PRIMARY KEY, `Name` text);
INSERT INTO `MixedCase` VALUES (1, 'Ünïcode'), (2, NULL);
CREATE TABLE empty (id int PRIMARY KEY);
CREATE TABLE words (w varchar(20) PRIMARY KEY, n decimal(8,2) NOT NULL, d datetime(3), UNIQUE (n));
INSERT INTO words VALUES ('apple', 1.5, '2024-01-01 10:00:00.25'), ('Banana', 2, NULL),
    ('cherry', 3.25, NULL), ('Éclair', 4, NULL);
"#;

#[tokio::test]
async fn ids_names_and_tables_like_the_reference() {
    let Some(mut db) = Database::new().await else {
        return;
    };
    db.exec(KEYS).await;
    let listing = list_all(
        &MySqlSource,
        &db.config(json!({})),
        SyncMode::Full,
        None,
        100,
        false,
    )
    .await;
    // composite (2500) + MixedCase (2) + words (4); no key, or no rows: nothing.
    assert_eq!(listing.docs.len(), 2506);
    // The reference's id: key columns in column order (a, b), not index order (b, a).
    let doc = &listing.docs["composite_0_key-3 ünï ✓"];
    assert_eq!(doc["v"], json!("value 21"));
    assert_eq!(doc["a"], json!(0));
    let mixed = &listing.docs["MixedCase_1"];
    assert_eq!(mixed["Name"], json!("Ünïcode"));
    assert_eq!(mixed["Id"], json!(1));
    assert_eq!(mixed["Table"], json!("MixedCase"));
    assert_eq!(listing.docs["words_Banana"]["n"], json!(2.0));
    assert_eq!(
        listing.docs["words_apple"]["d"],
        json!("2024-01-01T10:00:00.250000")
    );
    let listing = list_all(
        &MySqlSource,
        &db.config(json!({"tables": "words, MixedCase"})),
        SyncMode::Full,
        None,
        100,
        false,
    )
    .await;
    assert_eq!(listing.order.len(), 6);
    assert!(listing.order[..4].iter().all(|id| id.starts_with("words_")));
    db.drop().await;
}

#[tokio::test]
async fn resuming_from_any_page_in_a_new_source_gives_the_same_listing() {
    let Some(mut db) = Database::new().await else {
        return;
    };
    db.exec(KEYS).await;
    // Chunks smaller than pages, so that both boundaries interleave.
    let config = db.config(json!({"fetch_size": 41}));
    let one = list_all(&MySqlSource, &config, SyncMode::Full, None, 97, false).await;
    let fresh = list_all(&MySqlSource, &config, SyncMode::Full, None, 97, true).await;
    assert_eq!(one.order, fresh.order);
    assert_eq!(
        without_timestamps(&one.docs),
        without_timestamps(&fresh.docs)
    );
    assert_eq!(one.order.len(), 2506);
    assert_eq!(one.pages, 2506usize.div_ceil(97));
    db.drop().await;
}

#[tokio::test]
async fn advanced_rules_are_validated_per_rule_and_run_as_custom_queries() {
    let Some(mut db) = Database::new().await else {
        return;
    };
    db.exec(KEYS).await;
    let source = MySqlSource.build(&db.config(json!({}))).unwrap();
    let rules = json!([
        {"tables": ["composite"], "query": "SELECT * FROM composite WHERE a = 1;"},
        {"tables": ["nope", "composite"], "query": "SELECT 1"},
        {"tables": ["composite"], "query": "SELEC broken"},
        {"tables": ["composite"], "query": "SELECT v FROM composite"},
    ]);
    let messages = source.validate_advanced_rules(&rules).await;
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].starts_with("Rule 2: tables not found") && messages[0].contains("nope"));
    assert!(
        messages[1].starts_with("Rule 3: the query cannot be run")
            && messages[1].contains("syntax"),
        "{messages:?}"
    );
    assert!(
        messages[2].starts_with("Rule 4:") && messages[2].contains("a, b"),
        "{messages:?}"
    );
    let schema_error = source
        .validate_advanced_rules(&json!([{"tables": [], "query": "SELECT 1"}]))
        .await;
    assert_eq!(schema_error.len(), 1);

    let rules = json!([
        {"tables": ["composite"], "query": "SELECT * FROM composite WHERE a = 1"},
        {"tables": ["MixedCase", "words"], "id_columns": ["Id", "w"],
         "query": "SELECT m.Id, m.Name, w.w, w.n FROM MixedCase m JOIN words w"},
    ]);
    assert!(source.validate_advanced_rules(&rules).await.is_empty());
    for fresh in [false, true] {
        let listing = list_all(
            &MySqlSource,
            &db.config(json!({"fetch_size": 50})),
            SyncMode::Full,
            Some(&rules),
            30,
            fresh,
        )
        .await;
        let ones = (1..=2500).filter(|i| i % 7 == 1).count();
        assert_eq!(listing.docs.len(), ones + 8);
        let doc = &listing.docs["MixedCase_words_1_cherry"];
        assert_eq!(doc["Table"], json!(["MixedCase", "words"]));
        assert_eq!(doc["Name"], json!("Ünïcode"));
        assert_eq!(doc["n"], json!(3.25));
        // Without id_columns: the tables' keys, sorted by name (a, b).
        assert_eq!(
            listing.docs["composite_1_key-0"]["Table"],
            json!(["composite"])
        );
    }
    db.drop().await;
}

#[tokio::test]
async fn incremental_syncs_read_only_changed_rows() {
    let Some(mut db) = Database::new().await else {
        return;
    };
    db.exec(
        "CREATE TABLE items (id int PRIMARY KEY, name text, updated datetime(6) NOT NULL, KEY (updated));
         INSERT INTO items SELECT seq, CONCAT('item ', seq),
             TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (seq % 10) HOUR FROM seq_1_to_1000;
         CREATE TABLE other (id int PRIMARY KEY, name text);
         INSERT INTO other SELECT seq, CONCAT('other ', seq) FROM seq_1_to_30;",
    )
    .await;
    let config = db.config(json!({"tracking_columns": "*:updated", "fetch_size": 13}));
    let full = list_all(&MySqlSource, &config, SyncMode::Full, None, 64, false).await;
    assert_eq!(full.docs.len(), 1030);
    let cursor = full.sync_cursor.clone().expect("a sync cursor");
    assert_eq!(
        cursor,
        json!({"tracking": {"items": {"column": "updated",
                                      "value": {"d": "2024-01-01 09:00:00.000000"}}}})
    );
    db.exec(
        "UPDATE items SET name = 'changed', updated = '2024-01-01 10:00:00' WHERE id IN (5, 6);
         UPDATE items SET name = 'tie', updated = '2024-01-01 09:00:00' WHERE id = 7;
         INSERT INTO items VALUES (2000, 'new', '2024-01-01 11:00:00.5');
         DELETE FROM items WHERE id = 8;",
    )
    .await;
    let mode = SyncMode::Incremental {
        sync_cursor: Some(&cursor),
    };
    for fresh in [false, true] {
        let inc = list_all(&MySqlSource, &config, mode, None, 7, fresh).await;
        let items: Vec<&String> = inc
            .order
            .iter()
            .filter(|id| id.starts_with("items_"))
            .collect();
        let nines = (1..=1000).filter(|i| i % 10 == 9).count() + 1;
        assert_eq!(items.len(), nines + 3, "{items:?}");
        assert_eq!(inc.docs["items_5"]["name"], json!("changed"));
        assert_eq!(inc.docs["items_7"]["name"], json!("tie"));
        assert!(inc.docs.contains_key("items_2000"));
        assert_eq!(inc.order.len() - items.len(), 30);
        assert_eq!(
            inc.sync_cursor,
            Some(json!({"tracking": {"items": {"column": "updated",
                                               "value": {"d": "2024-01-01 11:00:00.500000"}}}}))
        );
    }
    db.drop().await;
}

#[tokio::test]
async fn a_dropped_connection_is_resumed_from_the_last_row_sent() {
    let Some(mut db) = Database::new().await else {
        return;
    };
    db.exec(KEYS).await;
    let config = db.config(json!({"retry_count": 2, "fetch_size": 500}));
    let clean = list_all(&MySqlSource, &config, SyncMode::Full, None, 100, false).await;
    let source = MySqlSource.build(&config).unwrap();
    // The hook kills the listing's connection from a connection of its own: every other
    // connection on the test database except the test's.
    let own = db.conn.id();
    let name = db.name.clone();
    let ids = list_ids_with(source.as_ref(), 100, |pages| {
        let name = name.clone();
        async move {
            if pages != 3 {
                return;
            }
            // Kill the listing's connection, as a server restart or a network cut would.
            let mut admin = mysql_async::Conn::new(opts()).await.unwrap();
            let ids: Vec<u64> = admin
                .exec(
                    "SELECT ID FROM INFORMATION_SCHEMA.PROCESSLIST \
                     WHERE DB = ? AND ID <> CONNECTION_ID() AND ID <> ?",
                    (name.as_str(), own),
                )
                .await
                .unwrap();
            assert!(!ids.is_empty(), "the listing's connection was found");
            for id in ids {
                let _ = admin.query_drop(format!("KILL CONNECTION {id}")).await;
            }
            let _ = admin.disconnect().await;
        }
    })
    .await;
    assert_eq!(ids, clean.order);
    db.drop().await;
}

#[tokio::test]
async fn configuration_and_connection_failures_say_which() {
    let Some(mut db) = Database::new().await else {
        return;
    };
    db.exec("CREATE TABLE t (id int PRIMARY KEY);").await;
    let build = |extra: Value| MySqlSource.build(&db.config(extra)).unwrap();
    build(json!({})).validate_config().await.unwrap();
    build(json!({})).ping().await.unwrap();
    let e = build(json!({"tables": "t, missing"}))
        .validate_config()
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SourceError::config(
            "tables",
            "The tables 'missing' are either not present or not accessible for user 'root'."
        )
    );
    let e = build(json!({"database": "no_such_db_xyz"}))
        .ping()
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SourceError::config(
            "database",
            "The database 'no_such_db_xyz' is either not present or not accessible for the user 'root'."
        )
    );
    let e = build(json!({"password": "wrong-s3cret"}))
        .ping()
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::Unavailable(_)), "{e:?}");
    assert!(e.to_string().contains("refused user 'root'"), "{e}");
    assert!(!e.to_string().contains("wrong-s3cret"));
    let e = build(json!({"port": 1})).ping().await.unwrap_err();
    assert!(
        e.to_string()
            .contains("Cannot connect to MySQL at 127.0.0.1:1"),
        "{e}"
    );
    let e = build(json!({"tracking_columns": "t:nope"}))
        .validate_config()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SourceError::Config { field: Some(f), .. } if f == "tracking_columns"),
        "{e:?}"
    );
    // TLS against a server without it says so.
    let pem = "-----BEGIN CERTIFICATE----- TUlJQg== -----END CERTIFICATE-----";
    let e = build(json!({"ssl_enabled": true, "ssl_ca": pem}))
        .ping()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("TLS"), "{e}");
    db.drop().await;
}
