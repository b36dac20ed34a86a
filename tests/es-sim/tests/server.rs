//! Content negotiation, security, fault injection and the binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Sim, err_type};
use es_sim::{Security, SimConfig};
use serde_json::{Value, json};

const V8: &str = "application/vnd.elasticsearch+json; compatible-with=8";
const V9: &str = "application/vnd.elasticsearch+json; compatible-with=9";

#[tokio::test]
async fn content_negotiation() {
    let s = Sim::start().await;
    let r = s.raw("GET", "/", b"", &[("accept", V8)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.elasticsearch+json;compatible-with=8")
    );
    let r = s
        .raw(
            "PUT",
            "/n/_doc/1",
            b"{\"a\":1}",
            &[("accept", V9), ("content-type", V9)],
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.elasticsearch+json;compatible-with=9")
    );
    let nd8 = "application/vnd.elasticsearch+x-ndjson; compatible-with=8";
    let r = s
        .raw(
            "POST",
            "/_bulk",
            b"{\"index\":{\"_index\":\"n\"}}\n{\"a\":1}\n",
            &[("accept", V8), ("content-type", nd8)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["errors"], false);

    let r = s
        .raw(
            "PUT",
            "/n/_doc/2",
            b"{\"a\":1}",
            &[("accept", V9), ("content-type", V8)],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "media_type_header_exception");
    assert_eq!(
        r.body["error"]["reason"],
        "Invalid media-type value on headers [Accept, Content-Type]"
    );
    assert_eq!(r.header("x-elastic-product"), Some("Elasticsearch"));
    let r = s
        .raw(
            "GET",
            "/",
            b"",
            &[(
                "accept",
                "application/vnd.elasticsearch+json; compatible-with=7",
            )],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "media_type_header_exception");
    let r = s
        .raw(
            "PUT",
            "/n/_doc/3",
            b"{\"a\":1}",
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(r.status, 406);
    assert_eq!(
        r.body,
        json!({"error": "Content-Type header [text/plain] is not supported", "status": 406})
    );

    // An 8.x server rejects compatible-with=9.
    let s8 = Sim::with(SimConfig {
        version: "8.19.0".into(),
        refresh_interval: None,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(s8.raw("GET", "/", b"", &[("accept", V9)]).await.status, 400);
    assert_eq!(s8.raw("GET", "/", b"", &[("accept", V8)]).await.status, 200);
    let r = s8
        .raw(
            "GET",
            "/",
            b"",
            &[(
                "accept",
                "application/vnd.elasticsearch+json; compatible-with=7",
            )],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["version"]["number"], "8.19.0");
}

#[tokio::test]
async fn security_basic_and_api_keys() {
    let s = Sim::with(SimConfig {
        security: Some(Security {
            username: "elastic".into(),
            password: "changeme".into(),
        }),
        refresh_interval: None,
        ..SimConfig::default()
    })
    .await;
    let r = s.get("/").await;
    assert_eq!(r.status, 401);
    assert_eq!(err_type(&r), "security_exception");
    assert_eq!(
        r.body["error"]["reason"],
        "missing authentication credentials for REST request [/]"
    );
    let challenges: Vec<&str> = r
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(challenges.iter().any(|c| c.starts_with("Basic")));
    assert!(challenges.contains(&"ApiKey"));

    let basic = format!("Basic {}", STANDARD.encode("elastic:changeme"));
    let wrong = format!("Basic {}", STANDARD.encode("elastic:nope"));
    assert_eq!(
        s.raw("GET", "/", b"", &[("authorization", &basic)])
            .await
            .status,
        200
    );
    let r = s.raw("GET", "/", b"", &[("authorization", &wrong)]).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body["error"]["reason"],
        "unable to authenticate user [elastic] for REST request [/]"
    );

    let json_ct = ("content-type", "application/json");
    let r = s
        .raw(
            "POST",
            "/_security/api_key",
            br#"{"name":"k1","metadata":{"a":1}}"#,
            &[("authorization", &basic), json_ct],
        )
        .await;
    assert_eq!(r.status, 200);
    let (id, key, encoded) = (
        r.body["id"].as_str().unwrap().to_string(),
        r.body["api_key"].as_str().unwrap().to_string(),
        r.body["encoded"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        STANDARD.decode(&encoded).unwrap(),
        format!("{id}:{key}").into_bytes()
    );
    let apikey = format!("ApiKey {encoded}");
    let r = s
        .raw(
            "GET",
            "/_security/_authenticate",
            b"",
            &[("authorization", &apikey)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["api_key"]["id"], id.as_str());
    let r = s
        .raw(
            "GET",
            &format!("/_security/api_key?id={id}"),
            b"",
            &[("authorization", &apikey)],
        )
        .await;
    assert_eq!(r.body["api_keys"][0]["name"], "k1");
    assert_eq!(r.body["api_keys"][0]["invalidated"], false);

    let r = s
        .raw(
            "DELETE",
            "/_security/api_key",
            format!(r#"{{"ids":["{id}"]}}"#).as_bytes(),
            &[("authorization", &basic), json_ct],
        )
        .await;
    assert_eq!(
        r.body,
        json!({"invalidated_api_keys": [id], "previously_invalidated_api_keys": [], "error_count": 0})
    );
    let r = s.raw("GET", "/", b"", &[("authorization", &apikey)]).await;
    assert_eq!(r.status, 401);
    let bogus = format!("ApiKey {}", STANDARD.encode("nope:nope"));
    assert_eq!(
        s.raw("GET", "/", b"", &[("authorization", &bogus)])
            .await
            .status,
        401
    );
    // The admin endpoint needs no credentials.
    assert_eq!(s.get("/_sim/faults").await.status, 200);
}

#[tokio::test]
async fn fault_injection() {
    let s = Sim::start().await;
    let faults = s.sim.faults();
    let line = [json!({"index": {"_index": "f"}}), json!({"a": 1})];

    faults.reject_bulk_requests(2, 429);
    for _ in 0..2 {
        let r = s.bulk("/_bulk", &line).await;
        assert_eq!(r.status, 429);
        assert_eq!(err_type(&r), "es_rejected_execution_exception");
    }
    assert_eq!(s.bulk("/_bulk", &line).await.status, 200);

    faults.reject_bulk_items_percent(10);
    let mut lines = Vec::new();
    for i in 0..200 {
        lines.push(json!({"index": {"_index": "f", "_id": i.to_string()}}));
        lines.push(json!({"a": i}));
    }
    let r = s.bulk("/_bulk", &lines).await;
    assert_eq!(r.body["errors"], true);
    let rejected: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["index"]["status"] == 429)
        .collect();
    assert_eq!(rejected.len(), 20);
    assert_eq!(
        rejected[0]["index"]["error"]["type"],
        "es_rejected_execution_exception"
    );
    faults.reject_bulk_items_percent(0);

    faults.fail_requests(2, 503);
    let r = s.get("/");
    let r = r.await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body["status"], 503);
    assert!(r.body["error"]["type"].is_string());
    assert_eq!(s.get("/").await.status, 503);
    assert_eq!(s.get("/").await.status, 200);

    faults.drop_connections(1);
    let err = s.client.get(format!("{}/", s.url)).send().await;
    assert!(err.is_err(), "the connection is closed without an answer");
    assert_eq!(s.get("/").await.status, 200);

    faults.set_latency(Duration::from_millis(400));
    let t = Instant::now();
    s.get("/").await;
    assert!(t.elapsed() >= Duration::from_millis(400));
    faults.clear();
    let t = Instant::now();
    s.get("/").await;
    assert!(t.elapsed() < Duration::from_millis(400));

    // The same through the admin endpoint.
    let r = s
        .put(
            "/_sim/faults",
            json!({"fail_requests": {"count": 1, "status": 500}, "reject_bulk_items_percent": 50}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = s.get("/_sim/faults").await;
    assert_eq!(r.body["fail_requests"], json!({"count": 1, "status": 500}));
    assert_eq!(r.body["reject_bulk_items_percent"], 50);
    assert_eq!(s.get("/").await.status, 500);
    assert_eq!(s.get("/").await.status, 200);
    assert_eq!(s.delete("/_sim/faults").await.status, 200);
    assert_eq!(
        s.get("/_sim/faults").await.body["reject_bulk_items_percent"],
        0
    );
    assert_eq!(s.put("/_sim/faults", json!({"bogus": 1})).await.status, 400);
}

#[tokio::test]
async fn binary_prints_its_url_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_es-sim"))
        .args(["--port", "0", "--es-version", "9.1.0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn es-sim");
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("es-sim listening on ")
        .expect("first line")
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let body: Value = reqwest::get(format!("{url}/"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["version"]["number"], "9.1.0");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "exit status {st}");
            break;
        }
        assert!(Instant::now() < deadline, "es-sim did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn shutdown_closes_the_listener() {
    let s = Sim::start().await;
    let url = s.url.clone();
    s.sim.shutdown().await;
    let r = reqwest::Client::new()
        .get(format!("{url}/"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(r.is_err());
}
