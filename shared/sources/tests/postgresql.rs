//! The `postgresql` source against the local PostgreSQL (127.0.0.1:5432, trust auth, database

#![recursion_limit = "256"]
//! `test`): each test creates its own schema and drops it at the end.

mod common;

use common::*;
use connectors_sdk::{SourceDescriptor, SourceError, SyncMode};
use connectors_sources::postgresql::PostgresSource;
use serde_json::{Value, json};
use tokio_postgres::{Client, NoTls};

const ADDR: &str = "127.0.0.1:5432";

async fn pg() -> Option<Client> {
    if !server_up("PostgreSQL", ADDR).await {
        return None;
    }
    let (client, conn) = tokio_postgres::connect(PG_URL, NoTls)
        .await
        .expect("connect to PostgreSQL as postgres/test");
    tokio::spawn(conn);
    Some(client)
}

/// A fresh schema, dropped when the guard goes.
struct Schema {
    name: String,
    client: Client,
}

impl Schema {
    async fn new(client: Client) -> Schema {
        let name = unique("srcpg");
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .unwrap();
        Schema { name, client }
    }

    async fn exec(&self, sql: &str) {
        let sql = sql.replace("$S", &self.name);
        self.client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    fn config(&self, extra: Value) -> connectors_protocol::Configuration {
        let mut values = json!({
            "host": "127.0.0.1", "port": 5432, "username": "postgres", "password": "",
            "database": "test", "schema": self.name, "tables": "*", "retry_count": 0,
        });
        for (k, v) in extra.as_object().unwrap() {
            values[k] = v.clone();
        }
        configuration(&PostgresSource, &values)
    }

    async fn drop(self) {
        let _ = self
            .client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await;
    }
}

const TYPES: &str = r#"
CREATE TYPE $S.mood AS ENUM ('sad', 'happy');
CREATE DOMAIN $S.posint AS integer CHECK (VALUE > 0);
CREATE TABLE $S.all_types (
    id serial PRIMARY KEY,
    c_smallint smallint, c_integer integer, c_bigint bigint, c_real real, c_double double precision,
    c_numeric numeric(10,3), c_numeric_nan numeric, c_bool boolean, c_text text, c_varchar varchar(20),
    c_char char(5), c_qchar "char", c_bytea bytea, c_date date, c_time time, c_timetz timetz,
    c_timestamp timestamp, c_timestamptz timestamptz, c_interval interval, c_uuid uuid,
    c_json json, c_jsonb jsonb, c_inet inet, c_inet_net inet, c_cidr cidr, c_inet6 inet,
    c_macaddr macaddr, c_macaddr8 macaddr8, c_point point, c_lseg lseg, c_box box, c_path path,
    c_polygon polygon, c_line line, c_circle circle, c_bit bit(8), c_varbit varbit,
    c_int_array int[], c_text_array text[], c_matrix int[][], c_jsonb_array jsonb[],
    c_uuid_array uuid[], c_money money, c_xml xml, c_tsvector tsvector, c_range int4range,
    c_enum $S.mood, c_domain $S.posint, c_oid oid, c_inf_ts timestamp, c_inf_date date,
    "Mixed Case" text
);
INSERT INTO $S.all_types (
    c_smallint, c_integer, c_bigint, c_real, c_double, c_numeric, c_numeric_nan, c_bool, c_text,
    c_varchar, c_char, c_qchar, c_bytea, c_date, c_time, c_timetz, c_timestamp, c_timestamptz,
    c_interval, c_uuid, c_json, c_jsonb, c_inet, c_inet_net, c_cidr, c_inet6, c_macaddr,
    c_macaddr8, c_point, c_lseg, c_box, c_path, c_polygon, c_line, c_circle, c_bit, c_varbit,
    c_int_array, c_text_array, c_matrix, c_jsonb_array, c_uuid_array, c_money, c_xml, c_tsvector,
    c_range, c_enum, c_domain, c_oid, c_inf_ts, c_inf_date, "Mixed Case")
VALUES (
    -5, 42, 9007199254740993, 0.1, 2.5, 1234.5, 'NaN', true, 'héllo ✓ 𝄞', 'varchar',
    'ab', 'x', '\x68656c6c6fff', '2024-02-29', '13:14:15.5', '13:14:15+05:30',
    '2024-01-02 03:04:05', '2024-01-02 03:04:05.123456+02', '1 year 2 mons 3 days 04:05:06',
    'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{"b": 1, "a": [1, 2.5, null]}',
    '{"z": {"k": "v"}, "n": 1.5}', '192.168.1.1', '192.168.1.5/24', '10.0.0.0/8', '2001:db8::1/64',
    '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', '(1.5,2.5)', '[(0,0),(1,1)]',
    '((2,2),(0,0))', '[(0,0),(1,1),(2,0)]', '((0,0),(1,0),(1,1),(0,1))', '{1,-1,0}',
    '<(0,0),5>', B'10101010', B'101', '{1,2,NULL}', '{"a","b c"}', '{{1,2},{3,4}}',
    ARRAY['{"a":1}'::jsonb], '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', 12.5, '<a>x</a>',
    'a fat cat', '[1,5)', 'happy', 7, 1234, 'infinity', '-infinity', 'mixed');
INSERT INTO $S.all_types (c_text) VALUES (NULL);
"#;

#[tokio::test]
async fn every_type_converts_like_the_reference() {
    let Some(client) = pg().await else { return };
    let schema = Schema::new(client).await;
    schema.exec(TYPES).await;
    let config = schema.config(json!({}));
    let listing = list_all(&PostgresSource, &config, SyncMode::Full, None, 10, false).await;
    assert_eq!(listing.docs.len(), 2, "{:?}", listing.order);
    let s = &schema.name;
    let id = format!("test_{s}_all_types_1");
    let doc = &listing.docs[&id];
    let f = |c: &str| doc[&format!("{s}_all_types_{c}")].clone();
    assert_eq!(doc["_id"], json!(id));
    assert_eq!(doc["database"], json!("test"));
    assert_eq!(doc["schema"], json!(s));
    assert_eq!(doc["table"], json!("all_types"));
    assert!(doc["_timestamp"].as_str().unwrap().ends_with("+00:00"));
    let expected = json!({
        "id": 1,
        "c_smallint": -5, "c_integer": 42, "c_bigint": 9007199254740993i64,
        "c_real": 0.10000000149011612, "c_double": 2.5, "c_numeric": 1234.5,
        "c_numeric_nan": null, "c_bool": true, "c_text": "héllo ✓ 𝄞", "c_varchar": "varchar",
        "c_char": "ab   ", "c_qchar": "x", "c_bytea": "hello", "c_date": "2024-02-29",
        "c_time": "13:14:15.500000", "c_timetz": "13:14:15+05:30",
        "c_timestamp": "2024-01-02T03:04:05", "c_timestamptz": "2024-01-02T01:04:05.123456+00:00",
        "c_interval": "1 year 2 mons 3 days 04:05:06",
        "c_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "c_json": {"b": 1, "a": [1, 2.5, null]}, "c_jsonb": {"n": 1.5, "z": {"k": "v"}},
        "c_inet": "192.168.1.1", "c_inet_net": "192.168.1.5/24", "c_cidr": "10.0.0.0/8",
        "c_inet6": "2001:db8::1/64", "c_macaddr": "08:00:2b:01:02:03",
        "c_macaddr8": "08:00:2b:01:02:03:04:05", "c_point": "(1.5, 2.5)",
        "c_lseg": "[(0.0, 0.0), (1.0, 1.0)]", "c_box": "[(2.0, 2.0), (0.0, 0.0)]",
        "c_path": "open [(0.0, 0.0), (1.0, 1.0), (2.0, 0.0)]",
        "c_polygon": "[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]",
        "c_line": "(1.0, -1.0, 0.0)", "c_circle": "((0.0, 0.0), 5.0)", "c_bit": "1010 1010",
        "c_varbit": "101", "c_int_array": [1, 2, null], "c_text_array": ["a", "b c"],
        "c_matrix": [[1, 2], [3, 4]], "c_jsonb_array": [{"a": 1}],
        "c_uuid_array": ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"], "c_money": "$12.50",
        "c_xml": "<a>x</a>", "c_tsvector": "'a' 'cat' 'fat'", "c_range": "[1,5)",
        "c_enum": "happy", "c_domain": 7, "c_oid": 1234,
        "c_inf_ts": "9999-12-31T23:59:59.999999", "c_inf_date": "0001-01-01",
        "mixed case": "mixed",
    });
    for (column, value) in expected.as_object().unwrap() {
        assert_eq!(&f(column), value, "column {column}");
    }
    // Every column, and nothing else.
    assert_eq!(doc.len(), expected.as_object().unwrap().len() + 5);
    // NULLs stay null.
    let empty = &listing.docs[&format!("test_{s}_all_types_2")];
    assert_eq!(empty[&format!("{s}_all_types_c_text")], Value::Null);
    assert_eq!(empty[&format!("{s}_all_types_c_int_array")], Value::Null);
    schema.drop().await;
}

const KEYS: &str = r#"
CREATE TABLE $S.composite (a int, b text, v text, PRIMARY KEY (b, a));
INSERT INTO $S.composite SELECT i % 7, 'key-' || (i / 7) || CASE WHEN i % 3 = 0 THEN ' ünï ✓' ELSE '' END, 'value ' || i
  FROM generate_series(1, 2500) i;
CREATE TABLE $S.nokey (a int, b text);
INSERT INTO $S.nokey VALUES (1, 'x');
CREATE TABLE $S."MixedCase" ("Id" int PRIMARY KEY, "Name" text);
INSERT INTO $S."MixedCase" VALUES (1, 'Ünïcode'), (2, NULL);
CREATE TABLE $S.empty (id int PRIMARY KEY);
CREATE TABLE $S.uuids (id uuid PRIMARY KEY, n numeric(6,2) NOT NULL, ts timestamp, UNIQUE (n));
INSERT INTO $S.uuids VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1.5, '2024-01-01 10:00:00.25');
CREATE VIEW $S.a_view AS SELECT * FROM $S.composite;
"#;

#[tokio::test]
async fn ids_names_and_tables_like_the_reference() {
    let Some(client) = pg().await else { return };
    let schema = Schema::new(client).await;
    schema.exec(KEYS).await;
    let s = schema.name.clone();
    let listing = list_all(
        &PostgresSource,
        &schema.config(json!({})),
        SyncMode::Full,
        None,
        100,
        false,
    )
    .await;
    // composite (2500) + MixedCase (2) + uuids (1); the table without a key, the empty table
    // and the view give nothing.
    assert_eq!(listing.docs.len(), 2503);
    let doc = &listing.docs[&format!("test_{s}_composite_key-3 ünï ✓_0")];
    assert_eq!(doc[&format!("{s}_composite_v")], json!("value 21"));
    assert_eq!(doc[&format!("{s}_composite_a")], json!(0));
    let mixed = &listing.docs[&format!("test_{s}_MixedCase_1")];
    assert_eq!(mixed[&format!("{s}_mixedcase_name")], json!("Ünïcode"));
    assert_eq!(mixed["table"], json!("MixedCase"));
    assert!(listing.docs.contains_key(&format!(
        "test_{s}_uuids_a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    )));
    // Configured tables, in configured order; a missing one is skipped.
    let listing = list_all(
        &PostgresSource,
        &schema.config(json!({"tables": "uuids, missing, MixedCase"})),
        SyncMode::Full,
        None,
        100,
        false,
    )
    .await;
    assert_eq!(
        listing.order,
        vec![
            format!("test_{s}_uuids_a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            format!("test_{s}_MixedCase_1"),
            format!("test_{s}_MixedCase_2"),
        ]
    );
    // ... and reported, so that the sweep keeps whatever it had indexed.
    assert_eq!(listing.unread, vec![json!("missing")]);
    schema.drop().await;
}

#[tokio::test]
async fn resuming_from_any_page_in_a_new_source_gives_the_same_listing() {
    let Some(client) = pg().await else { return };
    let schema = Schema::new(client).await;
    schema.exec(KEYS).await;
    // Small chunks, so that pages and chunks interleave.
    let config = schema.config(json!({"fetch_size": 1}));
    let one = list_all(&PostgresSource, &config, SyncMode::Full, None, 97, false).await;
    let fresh = list_all(&PostgresSource, &config, SyncMode::Full, None, 97, true).await;
    assert_eq!(one.order, fresh.order);
    assert_eq!(
        without_timestamps(&one.docs),
        without_timestamps(&fresh.docs)
    );
    assert_eq!(one.order.len(), 2503);
    assert_eq!(one.pages, 2503usize.div_ceil(97));
    schema.drop().await;
}

#[tokio::test]
async fn advanced_rules_are_validated_per_rule_and_run_as_custom_queries() {
    let Some(client) = pg().await else { return };
    let schema = Schema::new(client).await;
    schema.exec(KEYS).await;
    let s = schema.name.clone();
    let source = PostgresSource.build(&schema.config(json!({}))).unwrap();
    let rules = json!([
        {"tables": ["composite"], "query": format!("SELECT * FROM {s}.composite WHERE a = 1;")},
        {"tables": ["nope", "composite"], "query": "SELECT 1"},
        {"tables": ["composite"], "query": "SELEC broken"},
        {"tables": ["composite"], "query": format!("SELECT v FROM {s}.composite")},
        {"tables": ["nokey"], "query": format!("SELECT * FROM {s}.nokey"), "extra": 1},
    ]);
    let messages = source.validate_advanced_rules(&rules).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].starts_with("Rule 5:"), "{messages:?}");
    let rules = json!([
        {"tables": ["composite"], "query": format!("SELECT * FROM {s}.composite WHERE a = 1;")},
        {"tables": ["nope", "composite"], "query": "SELECT 1"},
        {"tables": ["composite"], "query": "SELEC broken"},
        {"tables": ["composite"], "query": format!("SELECT v FROM {s}.composite")},
    ]);
    let messages = source.validate_advanced_rules(&rules).await;
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].starts_with("Rule 2: tables not found") && messages[0].contains("nope"));
    assert!(
        messages[1].starts_with("Rule 3: the query cannot be run")
            && messages[1].contains("syntax")
    );
    assert!(messages[2].starts_with("Rule 4:") && messages[2].contains("composite_b"));
    assert!(source.validate_advanced_rules(&json!([])).await.is_empty());

    let rules = json!([
        {"tables": ["composite"], "query": format!("SELECT * FROM {s}.composite WHERE a = 1")},
        {"tables": ["MixedCase", "uuids"], "id_columns": ["Id"],
         "query": format!("SELECT m.\"Id\", m.\"Name\", u.n FROM {s}.\"MixedCase\" m, {s}.uuids u")},
    ]);
    assert!(source.validate_advanced_rules(&rules).await.is_empty());
    for fresh in [false, true] {
        let listing = list_all(
            &PostgresSource,
            &schema.config(json!({})),
            SyncMode::Full,
            Some(&rules),
            50,
            fresh,
        )
        .await;
        // a = 1: i % 7 == 1 for i in 1..=2500.
        let ones = (1..=2500).filter(|i| i % 7 == 1).count();
        assert_eq!(listing.docs.len(), ones + 2);
        let doc = &listing.docs[&format!("test_{s}_MixedCase_uuids_1")];
        assert_eq!(doc["table"], json!(["MixedCase", "uuids"]));
        assert_eq!(doc[&format!("{s}_mixedcase_uuids_name")], json!("Ünïcode"));
        assert_eq!(doc[&format!("{s}_mixedcase_uuids_n")], json!(1.5));
        let doc = &listing.docs[&format!("test_{s}_composite_key-0_1")];
        assert_eq!(doc["table"], json!(["composite"]));
    }
    schema.drop().await;
}

#[tokio::test]
async fn incremental_syncs_read_only_changed_rows() {
    let Some(client) = pg().await else { return };
    let schema = Schema::new(client).await;
    schema
        .exec(
            "CREATE TABLE $S.items (id int PRIMARY KEY, name text, version bigint NOT NULL);
             INSERT INTO $S.items SELECT i, 'item ' || i, i % 10 FROM generate_series(1, 1000) i;
             CREATE TABLE $S.other (id int PRIMARY KEY, name text);
             INSERT INTO $S.other SELECT i, 'other ' || i FROM generate_series(1, 30) i;",
        )
        .await;
    let s = schema.name.clone();
    let config = schema.config(json!({"tracking_columns": "items:version"}));
    let full = list_all(&PostgresSource, &config, SyncMode::Full, None, 64, false).await;
    assert_eq!(full.docs.len(), 1030);
    let cursor = full.sync_cursor.clone().expect("a sync cursor");
    assert_eq!(
        cursor,
        json!({"tracking": {"items": {"column": "version", "value": "9"}}})
    );
    // Changes: two rows move past the boundary, one gets the boundary value itself, one is new.
    schema
        .exec(
            "UPDATE $S.items SET name = 'changed', version = 10 WHERE id IN (5, 6);
             UPDATE $S.items SET name = 'tie', version = 9 WHERE id = 7;
             INSERT INTO $S.items VALUES (2000, 'new', 11);
             DELETE FROM $S.items WHERE id = 8;",
        )
        .await;
    let mode = SyncMode::Incremental {
        sync_cursor: Some(&cursor),
    };
    for fresh in [false, true] {
        let inc = list_all(&PostgresSource, &config, mode, None, 7, fresh).await;
        let items: Vec<&String> = inc
            .order
            .iter()
            .filter(|id| id.contains("_items_"))
            .collect();
        // Every row at version 9 (the tie at the boundary is re-read), then 10, 11.
        let nines = (1..=1000).filter(|i| i % 10 == 9).count() + 1;
        assert_eq!(items.len(), nines + 3, "{items:?}");
        assert_eq!(
            inc.docs[&format!("test_{s}_items_5")][&format!("{s}_items_name")],
            json!("changed")
        );
        assert_eq!(
            inc.docs[&format!("test_{s}_items_7")][&format!("{s}_items_name")],
            json!("tie")
        );
        assert!(inc.docs.contains_key(&format!("test_{s}_items_2000")));
        // The table without a tracking column is read in full.
        assert_eq!(inc.order.len() - items.len(), 30);
        assert_eq!(
            inc.sync_cursor,
            Some(json!({"tracking": {"items": {"column": "version", "value": "11"}}}))
        );
    }
    let source = PostgresSource.build(&config).unwrap();
    assert!(!source.incremental_lists_everything());
    source.validate_config().await.unwrap();
    let bad = PostgresSource
        .build(&schema.config(json!({"tracking_columns": "items:nope"})))
        .unwrap();
    match bad.validate_config().await {
        Err(SourceError::Config { field, message }) => {
            assert_eq!(field.as_deref(), Some("tracking_columns"));
            assert!(message.contains("nope"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    schema.drop().await;
}

#[tokio::test]
async fn a_dropped_connection_is_resumed_from_the_last_row_sent() {
    let Some(client) = pg().await else { return };
    let schema = Schema::new(client).await;
    schema.exec(KEYS).await;
    let config = schema.config(json!({"retry_count": 2}));
    let clean = list_all(&PostgresSource, &config, SyncMode::Full, None, 100, false).await;
    let source = PostgresSource.build(&config).unwrap();
    let schema_ref = &schema;
    let ids = list_ids_with(source.as_ref(), 100, |pages| async move {
        if pages != 3 {
            return;
        }
        // Kill the listing's connection, as a server restart or a network cut would.
        let killed = schema_ref
            .client
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE pid <> pg_backend_pid() AND query LIKE '%' || $1 || '%'",
                &[&schema_ref.name],
            )
            .await
            .unwrap();
        assert!(!killed.is_empty(), "the listing's connection was found");
    })
    .await;
    assert_eq!(ids, clean.order);
    schema.drop().await;
}

#[tokio::test]
async fn connection_failures_say_which() {
    let Some(client) = pg().await else { return };
    let schema = Schema::new(client).await;
    let ping = |extra: Value| {
        let config = schema.config(extra);
        async move {
            PostgresSource
                .build(&config)
                .unwrap()
                .ping()
                .await
                .unwrap_err()
        }
    };
    let e = ping(json!({"database": "no_such_db_xyz"})).await;
    assert!(
        matches!(&e, SourceError::Config { field: Some(f), .. } if f == "database"),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("'no_such_db_xyz' does not exist"),
        "{e}"
    );
    let e = ping(json!({"username": "no_such_user", "password": "s3cret-pass"})).await;
    assert!(matches!(e, SourceError::Unavailable(_)), "{e:?}");
    assert!(e.to_string().contains("refused user 'no_such_user'"), "{e}");
    assert!(!e.to_string().contains("s3cret-pass"));
    let e = ping(json!({"port": 1})).await;
    assert!(matches!(e, SourceError::Unavailable(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("Cannot connect to PostgreSQL at 127.0.0.1:1"),
        "{e}"
    );
    assert!(e.to_string().contains("refused"), "{e}");
    schema.drop().await;
}

#[tokio::test]
async fn tls_verifies_the_server_against_ssl_ca() {
    let Some(client) = pg().await else { return };
    let row = client
        .query_one(
            "SELECT current_setting('ssl'), current_setting('ssl_cert_file')",
            &[],
        )
        .await
        .unwrap();
    let (ssl, cert_file): (String, String) = (row.get(0), row.get(1));
    let Ok(pem) = std::fs::read_to_string(&cert_file) else {
        eprintln!("SKIPPED: the server certificate {cert_file} is not readable");
        return;
    };
    if ssl != "on" {
        eprintln!("SKIPPED: PostgreSQL has ssl off");
        return;
    }
    let schema = Schema::new(client).await;
    // Kibana's text field turns the PEM's newlines into spaces: accepted too.
    let one_line = pem.replace('\n', " ");
    let config =
        schema.config(json!({"host": "localhost", "ssl_enabled": true, "ssl_ca": one_line}));
    let source = PostgresSource.build(&config).unwrap();
    match source.ping().await {
        Ok(()) => {}
        // A self-signed certificate for another name (the Debian default is "localhost").
        Err(e)
            if e.to_string().contains("NotValidForName")
                || e.to_string().contains("not valid for name") =>
        {
            eprintln!("SKIPPED: the server certificate is not for 'localhost': {e}");
        }
        Err(e) => panic!("{e}"),
    }
    // Another CA: the handshake fails and says so.
    let other = configuration(
        &PostgresSource,
        &json!({"host": "127.0.0.1", "port": 5432, "username": "postgres", "database": "test",
                "schema": schema.name, "ssl_enabled": true, "ssl_ca": OTHER_CA, "retry_count": 0}),
    );
    let e = PostgresSource
        .build(&other)
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("TLS"), "{e}");
    schema.drop().await;
}

/// A CA that signed nothing on this machine (ISRG Root X1).
const OTHER_CA: &str = "-----BEGIN CERTIFICATE-----
MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw
TzELMAkGA1UEBhMCVVMxKTAnBgNVBAoTIEludGVybmV0IFNlY3VyaXR5IFJlc2Vh
cmNoIEdyb3VwMRUwEwYDVQQDEwxJU1JHIFJvb3QgWDEwHhcNMTUwNjA0MTEwNDM4
WhcNMzUwNjA0MTEwNDM4WjBPMQswCQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJu
ZXQgU2VjdXJpdHkgUmVzZWFyY2ggR3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBY
MTCCAiIwDQYJKoZIhvcNAQEBBQADggIPADCCAgoCggIBAK3oJHP0FDfzm54rVygc
h77ct984kIxuPOZXoHj3dcKi/vVqbvYATyjb3miGbESTtrFj/RQSa78f0uoxmyF+
0TM8ukj13Xnfs7j/EvEhmkvBioZxaUpmZmyPfjxwv60pIgbz5MDmgK7iS4+3mX6U
A5/TR5d8mUgjU+g4rk8Kb4Mu0UlXjIB0ttov0DiNewNwIRt18jA8+o+u3dpjq+sW
T8KOEUt+zwvo/7V3LvSye0rgTBIlDHCNAymg4VMk7BPZ7hm/ELNKjD+Jo2FR3qyH
B5T0Y3HsLuJvW5iB4YlcNHlsdu87kGJ55tukmi8mxdAQ4Q7e2RCOFvu396j3x+UC
B5iPNgiV5+I3lg02dZ77DnKxHZu8A/lJBdiB3QW0KtZB6awBdpUKD9jf1b0SHzUv
KBds0pjBqAlkd25HN7rOrFleaJ1/ctaJxQZBKT5ZPt0m9STJEadao0xAH0ahmbWn
OlFuhjuefXKnEgV4We0+UXgVCwOPjdAvBbI+e0ocS3MFEvzG6uBQE3xDk3SzynTn
jh8BCNAw1FtxNrQHusEwMFxIt4I7mKZ9YIqioymCzLq9gwQbooMDQaHWBfEbwrbw
qHyGO0aoSCqI3Haadr8faqU9GY/rOPNk3sgrDQoo//fb4hVC1CLQJ13hef4Y53CI
rU7m2Ys6xt0nUW7/vGT1M0NPAgMBAAGjQjBAMA4GA1UdDwEB/wQEAwIBBjAPBgNV
HRMBAf8EBTADAQH/MB0GA1UdDgQWBBR5tFnme7bl5AFzgAiIyBpY9umbbjANBgkq
hkiG9w0BAQsFAAOCAgEAVR9YqbyyqFDQDLHYGmkgJykIrGF1XIpu+ILlaS/V9lZL
ubhzEFnTIZd+50xx+7LSYK05qAvqFyFWhfFQDlnrzuBZ6brJFe+GnY+EgPbk6ZGQ
3BebYhtF8GaV0nxvwuo77x/Py9auJ/GpsMiu/X1+mvoiBOv/2X/qkSsisRcOj/KK
NFtY2PwByVS5uCbMiogziUwthDyC3+6WVwW6LLv3xLfHTjuCvjHIInNzktHCgKQ5
ORAzI4JMPJ+GslWYHb4phowim57iaztXOoJwTdwJx4nLCgdNbOhdjsnvzqvHu7Ur
TkXWStAmzOVyyghqpZXjFaH3pO3JLF+l+/+sKAIuvtd7u+Nxe5AW0wdeRlN8NwdC
jNPElpzVmbUq4JUagEiuTDkHzsxHpFKVK7q4+63SM1N95R1NbdWhscdCb+ZAJzVc
oyi3B43njTOQ5yOf+1CceWxG1bQVs5ZufpsMljq4Ui0/1lvh+wjChP4kqKOJ2qxq
4RgqsahDYVvTH9w7jXbyLeiNdd8XM2w9U/t7y0Ff/9yi0GE44Za4rF2LN9d11TPA
mRGunUHBcnWEvgJBQl9nJEiU0Zsnvgc/ubhPgXRR4Xq37Z0j4r7g1SgEEzwxA57d
emyPxgcYxn/eR44/KJ4EBs+lVDR3veyJm+kXQ99b21/+jh5Xos1AnX5iItreGCc=
-----END CERTIFICATE-----";
