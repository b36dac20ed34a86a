//! Documents, bulk, indices, aliases, search, scroll, PIT, delete-by-query and pipelines over HTTP.

mod common;

use std::time::Duration;

use common::{Sim, err_reason, err_type};
use es_sim::SimConfig;
use serde_json::{Value, json};

#[tokio::test]
async fn info_headers_and_unknown_routes() {
    let s = Sim::start().await;
    let r = s.get("/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-elastic-product"), Some("Elasticsearch"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body["version"]["number"], "9.6.0");
    assert_eq!(r.body["tagline"], "You Know, for Search");
    let r = s.send("HEAD", "/", None).await;
    assert_eq!(r.status, 200);
    assert!(r.raw.is_empty());

    let r = s.get("/a/b/c/d/e").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!({"error": "no handler found for uri [/a/b/c/d/e] and method [GET]", "status": 400})
    );
    let r = s.delete("/_cluster/health").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .starts_with("Incorrect HTTP method for uri [/_cluster/health] and method [DELETE]")
    );

    let r = s.get("/_cluster/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "green");
    let r = s.get("/_license").await;
    assert_eq!(r.body["license"]["status"], "active");
    assert_eq!(r.body["license"]["type"], "trial");
    let r = s.get("/_nodes").await;
    assert_eq!(r.body["_nodes"]["total"], 1);
}

#[tokio::test]
async fn document_lifecycle_and_conflicts() {
    let s = Sim::start().await;
    let r = s.get("/missing/_doc/1").await;
    assert_eq!(r.status, 404);
    assert_eq!(err_type(&r), "index_not_found_exception");
    assert_eq!(r.body["error"]["root_cause"][0]["resource.id"], "missing");

    let r = s
        .put("/idx/_doc/1", json!({"a": 1, "obj": {"x": 1, "y": 2}}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["result"], "created");
    assert_eq!(r.body["_version"], 1);
    assert_eq!(r.body["_seq_no"], 0);
    assert_eq!(r.body["_primary_term"], 1);
    assert_eq!(
        r.body["_shards"],
        json!({"total": 2, "successful": 1, "failed": 0})
    );

    let r = s.get("/idx/_doc/2").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body, json!({"_index": "idx", "_id": "2", "found": false}));
    assert_eq!(s.send("HEAD", "/idx/_doc/2", None).await.status, 404);
    assert_eq!(s.send("HEAD", "/idx/_doc/1", None).await.status, 200);

    let r = s
        .put("/idx/_doc/1", json!({"a": 2, "obj": {"x": 1, "y": 2}}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["result"], "updated");
    assert_eq!(r.body["_version"], 2);

    let r = s.put("/idx/_create/1", json!({"a": 3})).await;
    assert_eq!(r.status, 409);
    assert_eq!(err_type(&r), "version_conflict_engine_exception");
    assert_eq!(
        err_reason(&r),
        "[1]: version conflict, document already exists (current version [2])"
    );
    assert_eq!(r.body["error"]["root_cause"][0]["shard"], "0");
    assert_eq!(r.body["error"]["root_cause"][0]["index"], "idx");
    let r = s.put("/idx/_doc/1?op_type=create", json!({"a": 3})).await;
    assert_eq!(r.status, 409);

    let r = s
        .put("/idx/_doc/1?if_seq_no=0&if_primary_term=1", json!({"a": 3}))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        err_reason(&r),
        "[1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]"
    );
    let r = s
        .put(
            "/idx/_doc/1?if_seq_no=1&if_primary_term=1",
            json!({"a": 3, "obj": {"x": 1, "y": 2}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["_seq_no"], 2);
    let r = s.put("/idx/_doc/1?if_seq_no=1", json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "action_request_validation_exception");

    let r = s
        .get("/idx/_doc/1?_source_includes=obj.*&_source_excludes=obj.y")
        .await;
    assert_eq!(r.body["_source"], json!({"obj": {"x": 1}}));
    assert_eq!(r.body["_version"], 3);
    assert_eq!(r.body["found"], true);
    let r = s.get("/idx/_doc/1?_source=false").await;
    assert!(r.body.get("_source").is_none());

    // Update: recursive merge, noop, upserts, missing documents.
    let r = s
        .post(
            "/idx/_update/1",
            json!({"doc": {"obj": {"y": 5}, "b": [1]}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["result"], "updated");
    assert_eq!(
        s.get("/idx/_doc/1").await.body["_source"],
        json!({"a": 3, "obj": {"x": 1, "y": 5}, "b": [1]})
    );
    let r = s
        .post("/idx/_update/1", json!({"doc": {"obj": {"y": 5}}}))
        .await;
    assert_eq!(r.body["result"], "noop");
    assert_eq!(r.body["_shards"]["total"], 0);
    let r = s
        .post(
            "/idx/_update/1?if_seq_no=0&if_primary_term=1",
            json!({"doc": {"z": 1}}),
        )
        .await;
    assert_eq!(r.status, 409);
    let r = s.post("/idx/_update/nope", json!({"doc": {"z": 1}})).await;
    assert_eq!(r.status, 404);
    assert_eq!(err_type(&r), "document_missing_exception");
    assert_eq!(err_reason(&r), "[nope]: document missing");
    let r = s
        .post(
            "/idx/_update/u1",
            json!({"doc": {"z": 1}, "doc_as_upsert": true}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["result"], "created");
    let r = s
        .post(
            "/idx/_update/u2",
            json!({"doc": {"z": 1}, "upsert": {"z": 0}, "_source": true}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["get"]["_source"], json!({"z": 0}));
    let r = s
        .post(
            "/idx/_update/u2",
            json!({"script": {"source": "ctx._source.z = params.v", "params": {"v": 9}}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(s.get("/idx/_doc/u2").await.body["_source"]["z"], 9);
    let r = s
        .post(
            "/idx/_update/u2",
            json!({"script": "for (def x : ctx._source) {}"}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s.post("/idx/_update/u2", json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        err_reason(&r),
        "Validation Failed: 1: script or doc is missing;"
    );

    // Delete, then delete again.
    let r = s.delete("/idx/_doc/1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["result"], "deleted");
    let r = s.delete("/idx/_doc/1").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["result"], "not_found");

    // Auto ids.
    let r = s.post("/idx/_doc", json!({"auto": true})).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["_id"].as_str().unwrap().len(), 20);
    // Bad documents.
    let r = s
        .raw(
            "PUT",
            "/idx/_doc/x",
            b"{not json",
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .raw(
            "PUT",
            "/idx/_doc/x",
            b"",
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn index_management_and_aliases() {
    let s = Sim::start().await;
    let r = s.put("/Bad", json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "invalid_index_name_exception");
    assert_eq!(
        err_reason(&r),
        "Invalid index name [Bad], must be lowercase"
    );
    let r = s.put("/_x", json!({})).await;
    assert_eq!(err_type(&r), "invalid_index_name_exception");

    let r = s
        .put(
            "/books-v1",
            json!({"settings": {"number_of_replicas": 0}, "mappings": {"properties": {"title": {"type": "keyword"}}}, "aliases": {"books": {}}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"acknowledged": true, "shards_acknowledged": true, "index": "books-v1"})
    );
    let r = s.put("/books-v1", json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "resource_already_exists_exception");
    assert!(err_reason(&r).starts_with("index [books-v1/"));
    assert_eq!(s.send("HEAD", "/books-v1", None).await.status, 200);
    assert_eq!(s.send("HEAD", "/books", None).await.status, 200);
    assert_eq!(s.send("HEAD", "/nope", None).await.status, 404);

    let r = s.put("/books/_doc/1", json!({"title": "Dune"})).await;
    assert_eq!(r.body["_index"], "books-v1");
    let r = s.get("/books/_doc/1").await;
    assert_eq!(r.body["_index"], "books-v1");

    let r = s.get("/books").await;
    assert_eq!(r.body["books-v1"]["aliases"], json!({"books": {}}));
    assert_eq!(
        r.body["books-v1"]["mappings"]["properties"]["title"]["type"],
        "keyword"
    );
    assert_eq!(
        r.body["books-v1"]["settings"]["index"]["number_of_replicas"],
        "0"
    );

    let r = s.get("/_alias/books").await;
    assert_eq!(r.body, json!({"books-v1": {"aliases": {"books": {}}}}));
    let r = s.get("/_alias/nope").await;
    assert_eq!(r.status, 404);

    let r = s.get("/books/_mapping").await;
    assert_eq!(
        r.body["books-v1"]["mappings"]["properties"]["title"]["type"],
        "keyword"
    );
    let r = s
        .put(
            "/books/_mapping",
            json!({"properties": {"title": {"type": "long"}}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        err_reason(&r),
        "mapper [title] cannot be changed from type [keyword] to [long]"
    );
    let r = s
        .put(
            "/books/_mapping",
            json!({"properties": {"year": {"type": "long"}}}),
        )
        .await;
    assert_eq!(r.status, 200);

    // Dynamic mapping of new fields.
    s.put(
        "/dyn/_doc/1",
        json!({"name": "x", "n": 1, "ts": "2024-01-01T00:00:00Z"}),
    )
    .await;
    let r = s.get("/dyn/_mapping").await;
    let props = &r.body["dyn"]["mappings"]["properties"];
    assert_eq!(props["name"]["type"], "text");
    assert_eq!(props["name"]["fields"]["keyword"]["type"], "keyword");
    assert_eq!(props["n"]["type"], "long");
    assert_eq!(props["ts"]["type"], "date");

    // Built-in connector indices: PUT with an empty body attaches the alias.
    assert_eq!(
        s.send("HEAD", "/.elastic-connectors-v1", None).await.status,
        404
    );
    let r = s.send("PUT", "/.elastic-connectors-v1", None).await;
    assert_eq!(r.status, 200);
    let r = s.get("/_alias/.elastic-connectors").await;
    assert!(
        r.body[".elastic-connectors-v1"]["aliases"]
            .get(".elastic-connectors")
            .is_some()
    );
    let r = s
        .put("/.elastic-connectors/_doc/c", json!({"status": "created"}))
        .await;
    assert_eq!(r.body["_index"], ".elastic-connectors-v1");
    let r = s.get("/.elastic-connectors-v1/_mapping").await;
    assert_eq!(
        r.body[".elastic-connectors-v1"]["mappings"]["dynamic"],
        "false"
    );
    // Writing to the sync-jobs alias before anything exists creates the concrete index.
    let r = s
        .put(
            "/.elastic-connectors-sync-jobs/_doc/j",
            json!({"status": "pending"}),
        )
        .await;
    assert_eq!(r.body["_index"], ".elastic-connectors-sync-jobs-v1");

    let r = s.delete("/books").await;
    assert_eq!(r.status, 400);
    let r = s.delete("/books-v1").await;
    assert_eq!(r.body, json!({"acknowledged": true}));
    let r = s.delete("/books-v1").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn bulk_items_and_request_errors() {
    let s = Sim::start().await;
    s.put("/b/_doc/existing", json!({"v": 1})).await;
    let r = s
        .bulk(
            "/_bulk",
            &[
                json!({"index": {"_index": "b", "_id": "1"}}),
                json!({"v": 1}),
                json!({"create": {"_index": "b", "_id": "existing"}}),
                json!({"v": 2}),
                json!({"update": {"_index": "b", "_id": "1"}}),
                json!({"doc": {"w": 2}}),
                json!({"update": {"_index": "b", "_id": "missing"}}),
                json!({"doc": {"w": 2}}),
                json!({"delete": {"_index": "b", "_id": "nope"}}),
                json!({"index": {"_index": "b", "_id": "existing", "if_seq_no": 99, "if_primary_term": 1}}),
                json!({"v": 3}),
                json!({"index": {"_index": "b"}}),
                json!({"v": 4}),
                json!({"delete": {"_index": "b", "_id": "existing"}}),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["errors"], true);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 8);
    assert_eq!(items[0]["index"]["status"], 201);
    assert_eq!(items[0]["index"]["result"], "created");
    assert_eq!(items[1]["create"]["status"], 409);
    assert_eq!(
        items[1]["create"]["error"]["type"],
        "version_conflict_engine_exception"
    );
    assert_eq!(
        items[1]["create"]["error"]["reason"],
        "[existing]: version conflict, document already exists (current version [1])"
    );
    assert_eq!(items[2]["update"]["status"], 200);
    assert_eq!(items[2]["update"]["result"], "updated");
    assert_eq!(items[3]["update"]["status"], 404);
    assert_eq!(
        items[3]["update"]["error"]["type"],
        "document_missing_exception"
    );
    assert_eq!(items[4]["delete"]["status"], 404);
    assert_eq!(items[4]["delete"]["result"], "not_found");
    assert_eq!(items[5]["index"]["status"], 409);
    assert_eq!(
        items[5]["index"]["error"]["reason"],
        "[existing]: version conflict, required seqNo [99], primary term [1]. current document has seqNo [0] and primary term [1]"
    );
    assert_eq!(items[6]["index"]["status"], 201);
    assert_eq!(items[6]["index"]["_id"].as_str().unwrap().len(), 20);
    assert_eq!(items[7]["delete"]["result"], "deleted");
    assert_eq!(
        s.get("/b/_doc/1").await.body["_source"],
        json!({"v": 1, "w": 2})
    );

    // Index in the path, and a bulk that is all fine.
    let r = s
        .bulk(
            "/c/_bulk?refresh=true",
            &[json!({"index": {"_id": "1"}}), json!({"x": 1})],
        )
        .await;
    assert_eq!(r.body["errors"], false);
    assert_eq!(r.body["items"][0]["index"]["_index"], "c");
    assert_eq!(s.count("c").await, 1);

    let ndjson = [("content-type", "application/x-ndjson")];
    let r = s
        .raw(
            "POST",
            "/_bulk",
            b"{\"index\":{\"_index\":\"b\"}}\n{\"a\":1}",
            &ndjson,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "illegal_argument_exception");
    assert_eq!(
        err_reason(&r),
        "The bulk request must be terminated by a newline [\\n]"
    );
    let r = s.raw("POST", "/_bulk", b"", &ndjson).await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "action_request_validation_exception");
    assert_eq!(err_reason(&r), "Validation Failed: 1: no requests added;");
    let r = s
        .raw(
            "POST",
            "/_bulk",
            b"{\"index\":{\"_index\":\"b\"}}\n{\"a\":1}\n{}\n",
            &ndjson,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        err_reason(&r),
        "Malformed action/metadata line [3], expected FIELD_NAME but found [END_OBJECT]"
    );
    let r = s
        .raw("POST", "/_bulk", b"{\"index\":{}}\n{\"a\":1}\n", &ndjson)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(err_reason(&r), "Validation Failed: 1: index is missing;");

    // A delete on a missing index fails; a later write to the same name creates it.
    let r = s
        .bulk(
            "/_bulk",
            &[
                json!({"delete": {"_index": "fresh", "_id": "1"}}),
                json!({"index": {"_index": "fresh", "_id": "1"}}),
                json!({"a": 1}),
            ],
        )
        .await;
    assert_eq!(r.body["items"][0]["delete"]["status"], 404);
    assert_eq!(
        r.body["items"][0]["delete"]["error"]["type"],
        "index_not_found_exception"
    );
    assert_eq!(r.body["items"][1]["index"]["status"], 201);

    // Bad source lines fail only their item.
    let r = s
        .raw(
            "POST",
            "/b/_bulk",
            b"{\"index\":{\"_id\":\"z\"}}\n{bad\n{\"index\":{\"_id\":\"y\"}}\n{\"ok\":1}\n",
            &ndjson,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["items"][0]["index"]["status"], 400);
    assert_eq!(r.body["items"][1]["index"]["status"], 201);
}

#[tokio::test]
async fn pipelines() {
    let s = Sim::start().await;
    let r = s.get("/_ingest/pipeline/search-default-ingestion").await;
    assert_eq!(r.status, 200);
    assert!(r.body["search-default-ingestion"]["processors"].is_array());
    let r = s.get("/_ingest/pipeline/nope").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body, json!({}));
    let r = s
        .put(
            "/_ingest/pipeline/mine",
            json!({"description": "d", "processors": [{"set": {"field": "tag", "value": "x"}}]}),
        )
        .await;
    assert_eq!(r.body, json!({"acknowledged": true}));
    let r = s
        .put("/_ingest/pipeline/broken", json!({"description": "d"}))
        .await;
    assert_eq!(r.status, 400);

    use base64::Engine;
    let att = base64::engine::general_purpose::STANDARD.encode("Hello\n\n   binary   world");
    let r = s
        .bulk(
            "/content/_bulk?pipeline=search-default-ingestion",
            &[
                json!({"index": {"_id": "1"}}),
                json!({"id": "1", "_attachment": att, "_extract_binary_content": true, "_reduce_whitespace": true, "_run_ml_inference": false}),
                json!({"index": {"_id": "2", "pipeline": "mine"}}),
                json!({"id": "2"}),
                json!({"index": {"_id": "3", "pipeline": "nope"}}),
                json!({"id": "3"}),
            ],
        )
        .await;
    assert_eq!(r.body["errors"], true);
    assert_eq!(r.body["items"][2]["index"]["status"], 400);
    assert_eq!(
        r.body["items"][2]["index"]["error"]["reason"],
        "pipeline with id [nope] does not exist"
    );
    assert_eq!(
        s.get("/content/_doc/1").await.body["_source"],
        json!({"id": "1", "body": "Hello binary world"})
    );
    assert_eq!(
        s.get("/content/_doc/2").await.body["_source"],
        json!({"id": "2", "tag": "x"})
    );

    let r = s
        .put("/content/_doc/4?pipeline=nope", json!({"a": 1}))
        .await;
    assert_eq!(r.status, 400);
    let r = s.delete("/_ingest/pipeline/mine").await;
    assert_eq!(r.status, 200);
    let r = s.delete("/_ingest/pipeline/mine").await;
    assert_eq!(r.status, 404);
}

async fn seed(s: &Sim) {
    s.put(
        "/people",
        json!({"mappings": {"properties": {
            "name": {"type": "keyword"}, "age": {"type": "long"}, "born": {"type": "date"},
            "bio": {"type": "text"}, "tags": {"type": "keyword"}, "active": {"type": "boolean"}
        }}}),
    )
    .await;
    let people = [
        (
            "1",
            json!({"name": "ann", "age": 30, "born": "1994-01-01T00:00:00Z", "bio": "Likes Rust", "tags": ["a", "b"], "active": true}),
        ),
        (
            "2",
            json!({"name": "bob", "age": 25, "born": "1999-06-01", "bio": "likes python", "tags": ["b"], "active": false}),
        ),
        (
            "3",
            json!({"name": "cid", "age": 40, "bio": "none", "active": true}),
        ),
        (
            "4",
            json!({"name": "dee", "born": "2020-01-01T00:00:00Z", "extra": "x"}),
        ),
    ];
    for (id, doc) in people {
        s.put(&format!("/people/_doc/{id}"), doc).await;
    }
    s.refresh("people").await;
}

fn hit_ids(r: &common::R) -> Vec<String> {
    r.body["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn near_real_time_visibility() {
    let s = Sim::start().await;
    s.put("/nrt/_doc/1", json!({"a": 1})).await;
    let r = s
        .post("/nrt/_search", json!({"query": {"match_all": {}}}))
        .await;
    assert_eq!(
        r.body["hits"]["total"]["value"], 0,
        "a search right after a write must not see it"
    );
    assert_eq!(s.count("nrt").await, 0);
    assert_eq!(
        s.get("/nrt/_doc/1").await.body["found"],
        true,
        "GET is real-time"
    );
    assert_eq!(s.get("/nrt/_doc/1?realtime=false").await.status, 404);
    s.refresh("nrt").await;
    assert_eq!(s.count("nrt").await, 1);

    let r = s.put("/nrt/_doc/2?refresh=true", json!({"a": 2})).await;
    assert_eq!(r.body["forced_refresh"], true);
    assert_eq!(s.count("nrt").await, 2);
    s.put("/nrt/_doc/3?refresh=wait_for", json!({"a": 3})).await;
    assert_eq!(s.count("nrt").await, 3);
    s.delete("/nrt/_doc/3").await;
    assert_eq!(s.count("nrt").await, 3);
    s.refresh("nrt").await;
    assert_eq!(s.count("nrt").await, 2);

    // Periodic refresh.
    let s = Sim::with(SimConfig {
        refresh_interval: Some(Duration::from_millis(50)),
        ..SimConfig::default()
    })
    .await;
    s.put("/p/_doc/1", json!({"a": 1})).await;
    let mut seen = false;
    for _ in 0..100 {
        if s.count("p").await == 1 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen, "the background refresh publishes writes");
}

#[tokio::test]
async fn queries() {
    let s = Sim::start().await;
    seed(&s).await;
    let q = |query: Value| json!({"query": query, "sort": ["_doc"]});
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"match_all": {}}), vec!["1", "2", "3", "4"]),
        (json!({"term": {"name": "bob"}}), vec!["2"]),
        (json!({"term": {"name": {"value": "bob"}}}), vec!["2"]),
        (json!({"terms": {"tags": ["a", "z"]}}), vec!["1"]),
        (json!({"terms": {"_id": ["1", "3"]}}), vec!["1", "3"]),
        (json!({"term": {"_id": "4"}}), vec!["4"]),
        (json!({"ids": {"values": ["2", "9"]}}), vec!["2"]),
        (
            json!({"range": {"age": {"gte": 25, "lt": 40}}}),
            vec!["1", "2"],
        ),
        (
            json!({"range": {"born": {"lte": "now-300s"}}}),
            vec!["1", "2", "4"],
        ),
        (
            json!({"range": {"born": {"gte": "1999-06-01", "lte": "1999-06-01"}}}),
            vec!["2"],
        ),
        (json!({"range": {"born": {"gt": "now/d"}}}), vec![]),
        (json!({"exists": {"field": "born"}}), vec!["1", "2", "4"]),
        (
            json!({"bool": {"must_not": {"exists": {"field": "age"}}}}),
            vec!["4"],
        ),
        (
            json!({"bool": {"filter": [{"term": {"active": true}}], "must_not": [{"term": {"name": "cid"}}]}}),
            vec!["1"],
        ),
        (
            json!({"bool": {"should": [{"term": {"name": "ann"}}, {"term": {"name": "bob"}}]}}),
            vec!["1", "2"],
        ),
        (
            json!({"bool": {"should": [{"term": {"tags": "b"}}, {"term": {"active": true}}], "minimum_should_match": 2}}),
            vec!["1"],
        ),
        (
            json!({"bool": {"filter": {"term": {"active": true}}, "should": [{"term": {"name": "zzz"}}]}}),
            vec!["1", "3"],
        ),
        (json!({"match": {"name": "dee"}}), vec!["4"]),
        (json!({"match": {"bio": "LIKES"}}), vec!["1", "2"]),
        (
            json!({"match": {"bio": {"query": "likes rust", "operator": "and"}}}),
            vec!["1"],
        ),
        (json!({"prefix": {"name": "a"}}), vec!["1"]),
        (json!({"wildcard": {"name": {"value": "*e*"}}}), vec!["4"]),
        (json!({"term": {"extra.keyword": "x"}}), vec!["4"]),
        (json!({"term": {"never_seen": "x"}}), vec![]),
    ];
    for (query, expected) in cases {
        let r = s.post("/people/_search", q(query.clone())).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        assert_eq!(hit_ids(&r), expected, "{query}");
    }
    let r = s
        .post("/people/_search", json!({"query": {"bogus": {}}}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "parsing_exception");
    let r = s
        .post(
            "/people/_search",
            json!({"query": {"match_all": {}}, "nope": 1}),
        )
        .await;
    assert_eq!(r.status, 400);

    // dynamic:false — unmapped fields stay in _source but are not searchable.
    s.put(
        "/strict",
        json!({"mappings": {"dynamic": "false", "properties": {"status": {"type": "keyword"}}}}),
    )
    .await;
    s.put(
        "/strict/_doc/1?refresh=true",
        json!({"status": "a", "other": "b"}),
    )
    .await;
    let r = s
        .post(
            "/strict/_search",
            json!({"query": {"term": {"other": "b"}}}),
        )
        .await;
    assert_eq!(r.body["hits"]["total"]["value"], 0);
    let r = s
        .post(
            "/strict/_search",
            json!({"query": {"exists": {"field": "other"}}}),
        )
        .await;
    assert_eq!(r.body["hits"]["total"]["value"], 0);
    let r = s
        .post(
            "/strict/_search",
            json!({"query": {"term": {"status": "a"}}}),
        )
        .await;
    assert_eq!(
        r.body["hits"]["hits"][0]["_source"],
        json!({"status": "a", "other": "b"})
    );
}

#[tokio::test]
async fn sorting_paging_and_hit_options() {
    let s = Sim::start().await;
    seed(&s).await;
    let r = s
        .post(
            "/people/_search",
            json!({"sort": [{"age": {"order": "desc"}}]}),
        )
        .await;
    assert_eq!(hit_ids(&r), vec!["3", "1", "2", "4"]);
    assert_eq!(r.body["hits"]["max_score"], Value::Null);
    assert_eq!(r.body["hits"]["hits"][0]["_score"], Value::Null);
    assert_eq!(r.body["hits"]["hits"][0]["sort"], json!([40]));
    assert_eq!(r.body["hits"]["hits"][3]["sort"], json!([i64::MIN]));
    let r = s
        .post(
            "/people/_search",
            json!({"sort": [{"age": {"order": "asc", "missing": "_first"}}]}),
        )
        .await;
    assert_eq!(hit_ids(&r), vec!["4", "2", "1", "3"]);
    let r = s
        .post("/people/_search", json!({"sort": ["name"], "size": 2}))
        .await;
    assert_eq!(hit_ids(&r), vec!["1", "2"]);
    let r = s
        .post(
            "/people/_search",
            json!({"sort": ["name"], "size": 2, "search_after": ["bob"]}),
        )
        .await;
    assert_eq!(hit_ids(&r), vec!["3", "4"]);
    let r = s
        .post(
            "/people/_search",
            json!({"sort": [{"born": "asc"}, "name"]}),
        )
        .await;
    assert_eq!(hit_ids(&r), vec!["1", "2", "4", "3"]);
    assert_eq!(
        r.body["hits"]["hits"][0]["sort"],
        json!([757382400000i64, "ann"])
    );
    let r = s.get("/people/_search?sort=age:desc&size=1&from=1").await;
    assert_eq!(hit_ids(&r), vec!["1"]);
    let r = s
        .post(
            "/people/_search",
            json!({"from": 1, "size": 2, "sort": ["_doc"]}),
        )
        .await;
    assert_eq!(hit_ids(&r), vec!["2", "3"]);

    // Sorting on an unmapped field needs unmapped_type; text fields cannot be sorted.
    let r = s
        .post("/people/_search", json!({"sort": ["missing_field"]}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "search_phase_execution_exception");
    assert_eq!(
        r.body["error"]["root_cause"][0]["reason"],
        "No mapping found for [missing_field] in order to sort on"
    );
    let r = s
        .post(
            "/people/_search",
            json!({"sort": [{"missing_field": {"unmapped_type": "long"}}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = s.post("/people/_search", json!({"sort": ["bio"]})).await;
    assert_eq!(r.status, 400);

    let r = s
        .post("/people/_search", json!({"from": 9995, "size": 10}))
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["root_cause"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("Result window is too large")
    );

    let r = s.post("/people/_search", json!({"_source": ["na*"], "seq_no_primary_term": true, "version": true, "sort": ["_doc"], "size": 1})).await;
    let hit = &r.body["hits"]["hits"][0];
    assert_eq!(hit["_source"], json!({"name": "ann"}));
    assert_eq!(hit["_seq_no"], 0);
    assert_eq!(hit["_primary_term"], 1);
    assert_eq!(hit["_version"], 1);
    let r = s
        .post(
            "/people/_search",
            json!({"_source": {"excludes": ["bio", "tags"]}, "query": {"ids": {"values": ["1"]}}}),
        )
        .await;
    assert_eq!(
        r.body["hits"]["hits"][0]["_source"],
        json!({"name": "ann", "age": 30, "born": "1994-01-01T00:00:00Z", "active": true})
    );
    assert_eq!(r.body["hits"]["max_score"], 1.0);

    let r = s
        .post("/people/_search", json!({"track_total_hits": 2, "size": 0}))
        .await;
    assert_eq!(
        r.body["hits"]["total"],
        json!({"value": 2, "relation": "gte"})
    );
    let r = s
        .post("/people/_search", json!({"track_total_hits": false}))
        .await;
    assert!(r.body["hits"].get("total").is_none());
    let r = s.get("/people/_search?rest_total_hits_as_int=true").await;
    assert_eq!(r.body["hits"]["total"], 4);
    let r = s
        .get("/people/_search?filter_path=hits.hits._id&sort=_doc&size=1")
        .await;
    assert_eq!(r.body, json!({"hits": {"hits": [{"_id": "1"}]}}));

    // More than 10000 matches: total is a lower bound unless tracked exactly.
    let mut lines = Vec::new();
    for i in 0..10_005 {
        lines.push(json!({"index": {"_id": i.to_string()}}));
        lines.push(json!({"n": i}));
    }
    let r = s.bulk("/many/_bulk?refresh=true", &lines).await;
    assert_eq!(r.body["errors"], false);
    let r = s.post("/many/_search", json!({"size": 0})).await;
    assert_eq!(
        r.body["hits"]["total"],
        json!({"value": 10000, "relation": "gte"})
    );
    let r = s
        .post(
            "/many/_search",
            json!({"size": 0, "track_total_hits": true}),
        )
        .await;
    assert_eq!(
        r.body["hits"]["total"],
        json!({"value": 10005, "relation": "eq"})
    );
    assert_eq!(s.count("many").await, 10_005);
    let r = s
        .post(
            "/_count",
            json!({"query": {"range": {"n": {"gte": 10000}}}}),
        )
        .await;
    assert_eq!(r.body["count"], 5);

    let r = s.get("/nope/_search").await;
    assert_eq!(r.status, 404);
    let r = s.get("/nope*/_search").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["hits"]["total"]["value"], 0);
}

#[tokio::test]
async fn scroll() {
    let s = Sim::start().await;
    let mut lines = Vec::new();
    for i in 0..25 {
        lines.push(json!({"index": {"_id": format!("d{i:02}")}}));
        lines.push(json!({"id": i, "_timestamp": "2024-01-01T00:00:00Z", "body": "x"}));
    }
    s.bulk("/sc/_bulk?refresh=true", &lines).await;
    let r = s
        .post(
            "/sc/_search?scroll=1m",
            json!({"size": 10, "sort": ["_doc"], "_source": ["id", "_timestamp"]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let id = r.body["_scroll_id"].as_str().unwrap().to_string();
    assert_eq!(r.body["hits"]["total"]["value"], 25);
    assert_eq!(r.body["hits"]["hits"].as_array().unwrap().len(), 10);
    assert_eq!(
        r.body["hits"]["hits"][0]["_source"],
        json!({"id": 0, "_timestamp": "2024-01-01T00:00:00Z"})
    );
    // Writes after the scroll started are not seen by it.
    s.put("/sc/_doc/late?refresh=true", json!({"id": 99})).await;
    let mut seen = 10;
    loop {
        let r = s
            .post("/_search/scroll", json!({"scroll": "1m", "scroll_id": id}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let n = r.body["hits"]["hits"].as_array().unwrap().len();
        if n == 0 {
            break;
        }
        seen += n;
    }
    assert_eq!(seen, 25);
    let r = s
        .get(&format!("/_search/scroll?scroll=1m&scroll_id={id}"))
        .await;
    assert_eq!(r.status, 200);
    let r = s
        .send(
            "DELETE",
            "/_search/scroll",
            Some(json!({"scroll_id": [id.clone()]})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"succeeded": true, "num_freed": 1}));
    let r = s
        .send(
            "DELETE",
            "/_search/scroll",
            Some(json!({"scroll_id": [id.clone()]})),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body, json!({"succeeded": true, "num_freed": 0}));
    let r = s
        .post("/_search/scroll", json!({"scroll": "1m", "scroll_id": id}))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body["error"]["root_cause"][0]["type"],
        "search_context_missing_exception"
    );
    let r = s.post("/sc/_search?scroll=1m", json!({"from": 5})).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn point_in_time() {
    let s = Sim::start().await;
    let mut lines = Vec::new();
    for i in 0..5 {
        lines.push(json!({"index": {"_id": i.to_string()}}));
        lines.push(json!({"n": i}));
    }
    s.bulk("/pt/_bulk?refresh=true", &lines).await;
    let r = s.post("/pt/_pit?keep_alive=1m", Value::Null).await;
    assert_eq!(r.status, 200);
    let pit = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["_shards"]["total"], 1);
    assert_eq!(s.post("/pt/_pit", Value::Null).await.status, 400);

    s.put("/pt/_doc/new?refresh=true", json!({"n": 100})).await;
    s.delete("/pt/_doc/0?refresh=true").await;

    let r = s
        .post(
            "/_search",
            json!({"pit": {"id": pit, "keep_alive": "1m"}, "size": 2, "sort": [{"n": "asc"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["pit_id"], pit.as_str());
    assert_eq!(
        r.body["hits"]["total"]["value"], 5,
        "the PIT sees the state when it was opened"
    );
    assert_eq!(hit_ids(&r), vec!["0", "1"]);
    let sort = r.body["hits"]["hits"][1]["sort"].clone();
    assert_eq!(
        sort.as_array().unwrap().len(),
        2,
        "an implicit _shard_doc tiebreaker is appended"
    );
    let r = s
        .post(
            "/_search",
            json!({"pit": {"id": pit}, "size": 10, "sort": [{"n": "asc"}], "search_after": sort}),
        )
        .await;
    assert_eq!(hit_ids(&r), vec!["2", "3", "4"]);

    // Without an explicit sort there is no tiebreaker and hits carry no sort values.
    let r = s
        .post("/_search", json!({"pit": {"id": pit}, "size": 1}))
        .await;
    assert!(r.body["hits"]["hits"][0].get("sort").is_none());
    let r = s.post("/pt/_search", json!({"pit": {"id": pit}})).await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "action_request_validation_exception");

    let r = s.send("DELETE", "/_pit", Some(json!({"id": pit}))).await;
    assert_eq!(r.body, json!({"succeeded": true, "num_freed": 1}));
    let r = s.send("DELETE", "/_pit", Some(json!({"id": pit}))).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body, json!({"succeeded": true, "num_freed": 0}));
    let r = s.post("/_search", json!({"pit": {"id": pit}})).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn delete_by_query() {
    let s = Sim::start().await;
    let mut lines = Vec::new();
    for i in 0..10 {
        lines.push(json!({"index": {"_id": i.to_string()}}));
        lines.push(json!({"n": i, "kind": if i % 2 == 0 { "even" } else { "odd" }}));
    }
    s.bulk("/dq/_bulk?refresh=true", &lines).await;
    s.put("/dq/_doc/unrefreshed", json!({"n": 100, "kind": "even"}))
        .await;
    let r = s
        .post(
            "/dq/_delete_by_query?refresh=true",
            json!({"query": {"term": {"kind.keyword": "even"}}}),
        )
        .await;
    assert_eq!(r.status, 200);
    let b = &r.body;
    assert_eq!(b["deleted"], 5, "only refreshed documents are seen");
    assert_eq!(b["total"], 5);
    assert_eq!(b["version_conflicts"], 0);
    assert_eq!(b["batches"], 1);
    assert_eq!(b["timed_out"], false);
    assert_eq!(b["noops"], 0);
    assert_eq!(b["retries"], json!({"bulk": 0, "search": 0}));
    assert_eq!(b["requests_per_second"], -1.0);
    assert_eq!(b["failures"], json!([]));
    for k in ["took", "throttled_millis", "throttled_until_millis"] {
        assert!(b.get(k).is_some(), "{k}");
    }
    assert_eq!(s.count("dq").await, 6);

    // A document changed since the last refresh is a version conflict.
    s.put(
        "/dq/_doc/1",
        json!({"n": 1, "kind": "odd", "changed": true}),
    )
    .await;
    let r = s
        .post(
            "/dq/_delete_by_query",
            json!({"query": {"term": {"kind.keyword": "odd"}}}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["version_conflicts"], 1);
    assert_eq!(
        r.body["failures"][0]["cause"]["type"],
        "version_conflict_engine_exception"
    );
    assert_eq!(r.body["failures"][0]["status"], 409);
    let r = s
        .post(
            "/dq/_delete_by_query?conflicts=proceed&refresh=true",
            json!({"query": {"term": {"kind.keyword": "odd"}}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["version_conflicts"], 1);

    let r = s
        .post(
            "/dq/_delete_by_query?wait_for_completion=false",
            json!({"query": {"match_all": {}}}),
        )
        .await;
    let task = r.body["task"].as_str().unwrap().to_string();
    let r = s.get(&format!("/_tasks/{task}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["completed"], true);
    assert!(r.body["response"]["deleted"].as_u64().unwrap() >= 1);
    let r = s.post("/dq/_delete_by_query", json!({})).await;
    assert_eq!(r.status, 400);
    let r = s
        .post(
            "/nope/_delete_by_query",
            json!({"query": {"match_all": {}}}),
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn request_size_limit() {
    let s = Sim::with(SimConfig {
        max_content_length: 1024,
        refresh_interval: None,
        ..SimConfig::default()
    })
    .await;
    let big = vec![b'x'; 4096];
    let r = s
        .raw(
            "POST",
            "/_bulk",
            &big,
            &[("content-type", "application/x-ndjson")],
        )
        .await;
    assert_eq!(r.status, 413);
    assert!(r.raw.is_empty());
    assert_eq!(r.header("x-elastic-product"), Some("Elasticsearch"));
    let r = s.get("/").await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn misc_apis() {
    let s = Sim::start().await;
    s.put("/m/_doc/1?refresh=true", json!({"a": "x", "n": 1}))
        .await;
    s.put("/m/_doc/2?refresh=true", json!({"a": "y", "n": 2}))
        .await;

    let r = s.post("/_mget", json!({"docs": [{"_index": "m", "_id": "1"}, {"_index": "m", "_id": "9"}, {"_index": "nope", "_id": "1"}]})).await;
    assert_eq!(r.body["docs"][0]["_source"], json!({"a": "x", "n": 1}));
    assert_eq!(r.body["docs"][1]["found"], false);
    assert_eq!(
        r.body["docs"][2]["error"]["type"],
        "index_not_found_exception"
    );
    let r = s.post("/m/_mget", json!({"ids": ["2"]})).await;
    assert_eq!(r.body["docs"][0]["_id"], "2");

    let r = s.get("/m/_search?q=a:y").await;
    assert_eq!(hit_ids(&r), vec!["2"]);
    let r = s.get("/m/_source/1").await;
    assert_eq!(r.body, json!({"a": "x", "n": 1}));
    let r = s.get("/m/_search?pretty&error_trace=true&size=0").await;
    assert!(String::from_utf8_lossy(&r.raw).contains("\n"));
    // Errors are not filtered by filter_path.
    let r = s.get("/nope/_search?filter_path=hits").await;
    assert_eq!(err_type(&r), "index_not_found_exception");

    let r = s
        .bulk(
            "/m/_bulk",
            &[
                json!({"update": {"_id": "1", "_source": true}}),
                json!({"doc": {"n": 5}}),
            ],
        )
        .await;
    assert_eq!(
        r.body["items"][0]["update"]["get"]["_source"],
        json!({"a": "x", "n": 5})
    );

    let r = s
        .post(
            "/_aliases",
            json!({"actions": [{"add": {"index": "m", "alias": "m-alias"}}, {"add": {"index": "m", "alias": "m-write", "is_write_index": true}}]}),
        )
        .await;
    assert_eq!(r.body, json!({"acknowledged": true, "errors": false}));
    assert_eq!(s.get("/m-alias/_count").await.body["count"], 2);
    let r = s
        .post(
            "/_aliases",
            json!({"actions": [{"remove": {"index": "m", "alias": "m-alias"}}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(s.get("/m-alias/_count").await.status, 404);
    assert_eq!(s.delete("/m/_alias/nope").await.status, 404);

    let r = s.put("/m/_settings", json!({"index": {"number_of_replicas": 0, "default_pipeline": "search-default-ingestion"}})).await;
    assert_eq!(r.status, 200);
    let r = s.get("/m/_settings?flat_settings=true").await;
    assert_eq!(r.body["m"]["settings"]["index.number_of_replicas"], "0");
    assert_eq!(
        s.put("/m/_settings", json!({"index": {"number_of_shards": 2}}))
            .await
            .status,
        400
    );
    // index.default_pipeline applies to writes without a pipeline parameter.
    s.put(
        "/m/_doc/3",
        json!({"body": " a  b ", "_reduce_whitespace": true}),
    )
    .await;
    assert_eq!(
        s.get("/m/_doc/3").await.body["_source"],
        json!({"body": "a b"})
    );

    let r = s.get("/_cat/indices?format=json").await;
    assert_eq!(r.body[0]["index"], "m");
    let r = s.get("/_cat/indices").await;
    assert!(String::from_utf8_lossy(&r.raw).contains(" m "));

    // ACL indices get their built-in dynamic:false definition.
    s.put(
        "/.search-acl-filter-search-x/_doc/u1",
        json!({"identity": {"email": "a@b"}, "created_at": "2024-01-01T00:00:00Z"}),
    )
    .await;
    let r = s.get("/.search-acl-filter-search-x/_mapping").await;
    assert_eq!(
        r.body[".search-acl-filter-search-x"]["mappings"]["dynamic"],
        "false"
    );

    // Strict mappings and type errors are per-document 400s.
    s.put(
        "/st",
        json!({"mappings": {"dynamic": "strict", "properties": {"n": {"type": "long"}}}}),
    )
    .await;
    let r = s.put("/st/_doc/1", json!({"x": 1})).await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "strict_dynamic_mapping_exception");
    let r = s.put("/st/_doc/1", json!({"n": "abc"})).await;
    assert_eq!(err_type(&r), "document_parsing_exception");
}

#[tokio::test]
async fn external_versioning() {
    let s = Sim::start().await;
    let r = s
        .put(
            "/v/_doc/1?version=10&version_type=external",
            json!({"a": 1}),
        )
        .await;
    assert_eq!((r.status, r.body["_version"].clone()), (201, json!(10)));
    let r = s
        .put(
            "/v/_doc/1?version=11&version_type=external",
            json!({"a": 2}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["result"].clone()),
        (200, json!("updated"))
    );
    assert_eq!(r.body["_version"], 11);
    // `external`: an equal or lower version conflicts.
    for v in [11, 5] {
        let r = s
            .put(
                &format!("/v/_doc/1?version={v}&version_type=external"),
                json!({"a": 3}),
            )
            .await;
        assert_eq!(r.status, 409);
        assert_eq!(err_type(&r), "version_conflict_engine_exception");
        assert_eq!(
            err_reason(&r),
            format!(
                "[1]: version conflict, current version [11] is higher or equal to the one provided [{v}]"
            )
        );
        assert_eq!(r.body["error"]["index"], "v");
    }
    assert_eq!(s.get("/v/_doc/1").await.body["_source"], json!({"a": 2}));
    // `external_gte` accepts an equal version, not a lower one; `external_gt` is `external`.
    let r = s
        .put(
            "/v/_doc/1?version=11&version_type=external_gte",
            json!({"a": 4}),
        )
        .await;
    assert_eq!((r.status, r.body["_version"].clone()), (200, json!(11)));
    let r = s
        .put(
            "/v/_doc/1?version=10&version_type=external_gte",
            json!({"a": 5}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        err_reason(&r),
        "[1]: version conflict, current version [11] is higher than the one provided [10]"
    );
    let r = s
        .put(
            "/v/_doc/1?version=11&version_type=external_gt",
            json!({"a": 5}),
        )
        .await;
    assert_eq!(r.status, 409);
    // Internal writes continue from the external version.
    let r = s.put("/v/_doc/1", json!({"a": 6})).await;
    assert_eq!(r.body["_version"], 12);
    // A delete takes an external version too, and its tombstone keeps it.
    let r = s.delete("/v/_doc/1?version=20&version_type=external").await;
    assert_eq!((r.status, r.body["_version"].clone()), (200, json!(20)));
    let r = s
        .put(
            "/v/_doc/1?version=15&version_type=external",
            json!({"a": 7}),
        )
        .await;
    assert_eq!(r.status, 409);
    let r = s
        .put(
            "/v/_doc/1?version=21&version_type=external",
            json!({"a": 7}),
        )
        .await;
    assert_eq!((r.status, r.body["_version"].clone()), (201, json!(21)));

    // Bad parameters.
    let r = s
        .put("/v/_doc/1?version=30&version_type=bogus", json!({"a": 1}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "illegal_argument_exception");
    assert_eq!(err_reason(&r), "No version type match [bogus]");
    let cases = [
        (
            "PUT",
            "/v/_doc/1?version_type=external",
            "illegal version value [-3] for version type [EXTERNAL]",
        ),
        (
            "PUT",
            "/v/_doc/1?version=-2&version_type=external",
            "illegal version value [-2] for version type [EXTERNAL]",
        ),
        (
            "POST",
            "/v/_doc?version=3&version_type=external",
            "an id must be provided if version type or value are set",
        ),
        (
            "PUT",
            "/v/_create/9?version=3&version_type=external",
            "create operations only support internal versioning. use index instead",
        ),
        (
            "PUT",
            "/v/_doc/9?op_type=create&version=3",
            "create operations do not support explicit versions. use index instead",
        ),
        (
            "PUT",
            "/v/_doc/1?version=3&version_type=external&if_seq_no=0&if_primary_term=1",
            "compare and write operations can not use versioning",
        ),
    ];
    for (method, path, msg) in cases {
        let r = s.send(method, path, Some(json!({"a": 1}))).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(
            err_type(&r),
            "action_request_validation_exception",
            "{path}"
        );
        assert_eq!(
            err_reason(&r),
            format!("Validation Failed: 1: {msg};"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn internal_version_parameter_rejected() {
    let s = Sim::start().await;
    s.put("/v/_doc/1", json!({"a": 1})).await;
    let msg = "Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;";
    for (method, path, body) in [
        ("PUT", "/v/_doc/1?version=1", Some(json!({"a": 2}))),
        (
            "PUT",
            "/v/_doc/1?version=1&version_type=internal",
            Some(json!({"a": 2})),
        ),
        ("DELETE", "/v/_doc/1?version=1", None),
        (
            "POST",
            "/v/_update/1?version=1",
            Some(json!({"doc": {"a": 2}})),
        ),
        // The update API takes no versioning parameter at all.
        (
            "POST",
            "/v/_update/1?version_type=internal",
            Some(json!({"doc": {"a": 2}})),
        ),
    ] {
        let r = s.send(method, path, body).await;
        assert_eq!(r.status, 400, "{method} {path}: {}", r.body);
        assert_eq!(err_type(&r), "action_request_validation_exception");
        assert_eq!(err_reason(&r), msg, "{method} {path}");
    }
    // version=0 is not a valid internal version either.
    let r = s.put("/v/_doc/1?version=0", json!({"a": 2})).await;
    assert_eq!(
        err_reason(&r),
        "Validation Failed: 1: illegal version value [0] for version type [INTERNAL];2: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;"
    );
    let d = s.get("/v/_doc/1").await.body;
    assert_eq!(
        (d["_version"].clone(), d["_source"].clone()),
        (json!(1), json!({"a": 1}))
    );
}

#[tokio::test]
async fn bulk_versioning() {
    let s = Sim::start().await;
    let r = s
        .bulk(
            "/_bulk",
            &[
                json!({"index": {"_index": "bv", "_id": "2", "version": 7, "version_type": "external"}}),
                json!({"a": 1}),
                json!({"index": {"_index": "bv", "_id": "2", "version": 3, "version_type": "external"}}),
                json!({"a": 2}),
                json!({"index": {"_index": "bv", "_id": "2", "version": 7, "version_type": "external_gte"}}),
                json!({"a": 3}),
                json!({"delete": {"_index": "bv", "_id": "2", "version": 9, "version_type": "external"}}),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = &r.body["items"];
    assert_eq!(items[0]["index"]["_version"], 7);
    assert_eq!(items[0]["index"]["status"], 201);
    assert_eq!(items[1]["index"]["status"], 409);
    assert_eq!(
        items[1]["index"]["error"]["reason"],
        "[2]: version conflict, current version [7] is higher or equal to the one provided [3]"
    );
    assert_eq!(items[2]["index"]["_version"], 7);
    assert_eq!(items[2]["index"]["status"], 200);
    assert_eq!(items[3]["delete"]["_version"], 9);
    assert_eq!(items[3]["delete"]["result"], "deleted");

    // Item validation fails the whole request, like BulkRequest#validate.
    let r = s
        .bulk(
            "/_bulk",
            &[
                json!({"index": {"_index": "bv", "_id": "3", "version": 1}}),
                json!({"a": 1}),
                json!({"delete": {"_index": "bv"}}),
                json!({"index": {"_index": "bv", "_id": "4", "if_seq_no": 1}}),
                json!({"a": 1}),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "action_request_validation_exception");
    assert_eq!(
        err_reason(&r),
        "Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;2: id is missing;3: ifSeqNo is set, but primary term is [0];"
    );
    let r = s
        .bulk(
            "/_bulk",
            &[
                json!({"index": {"_index": "bv", "_id": "3", "version": 1, "version_type": "bogus"}}),
                json!({"a": 1}),
            ],
        )
        .await;
    assert_eq!(
        (r.status, err_reason(&r)),
        (400, "No version type match [bogus]")
    );
    let r = s
        .bulk(
            "/_bulk",
            &[
                json!({"update": {"_index": "bv", "_id": "3", "version": 1}}),
                json!({"doc": {"a": 1}}),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        err_reason(&r),
        "Update requests do not support versioning. Please use `if_seq_no` and `if_primary_term` instead"
    );
}

async fn range_ids(s: &Sim, range: Value) -> Vec<String> {
    let body = json!({"query": {"range": range}, "sort": ["_doc"]});
    hit_ids(&s.post("/dates/_search", body).await)
}

#[tokio::test]
async fn range_with_java_date_formats() {
    let s = Sim::start().await;
    s.put(
        "/dates",
        json!({"mappings": {"properties": {
            "ts": {"type": "date"},
            "day": {"type": "date", "format": "dd/MM/yyyy||epoch_millis"}
        }}}),
    )
    .await;
    let docs = [
        ("a", "2024-03-14T23:59:59Z", "14/03/2024"),
        ("b", "2024-03-15T08:30:00Z", "15/03/2024"),
        ("c", "2024-03-15T10:00:00Z", "15/03/2024"),
        ("d", "2024-03-16T00:00:00Z", "16/03/2024"),
    ];
    for (id, ts, day) in docs {
        let r = s
            .put(&format!("/dates/_doc/{id}"), json!({"ts": ts, "day": day}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // A value that does not fit the mapping's format is rejected.
    let r = s.put("/dates/_doc/x", json!({"day": "2024-03-15"})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(err_type(&r), "document_parsing_exception");
    s.refresh("dates").await;
    let ids = |range: Value| range_ids(&s, range);
    assert_eq!(
        ids(json!({"ts": {"gte": "2024-03-15 08:30:00", "format": "yyyy-MM-dd HH:mm:ss"}})).await,
        vec!["b", "c", "d"]
    );
    assert_eq!(
        ids(json!({"ts": {"gte": "15/03/2024", "lte": "15/03/2024", "format": "dd/MM/yyyy"}}))
            .await,
        vec!["b", "c"],
        "a day-precision upper bound rounds up to the end of the day"
    );
    assert_eq!(
        ids(json!({"ts": {"gt": "15/03/2024", "format": "dd/MM/yyyy"}})).await,
        vec!["d"]
    );
    assert_eq!(
        ids(json!({"ts": {"gte": "2024-03-15||+1d", "format": "yyyy-MM-dd"}})).await,
        vec!["d"]
    );
    assert_eq!(
        ids(json!({"ts": {"gte": "1970-01-01||+1000y", "format": "yyyy-MM-dd"}})).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(json!({"ts": {"lt": "15.03.2024 09:00", "format": "dd/MM/yyyy||dd.MM.yyyy HH:mm"}}))
            .await,
        vec!["a", "b"]
    );
    assert_eq!(
        ids(json!({"ts": {"gte": "20240315T100000Z", "format": "basic_date_time_no_millis"}}))
            .await,
        vec!["c", "d"]
    );
    assert_eq!(
        ids(json!({"ts": {"gte": "1710460800", "format": "epoch_second"}})).await,
        vec!["b", "c", "d"]
    );
    assert_eq!(
        ids(json!({"ts": {"gte": "2024-03-15T10:00:00Z", "format": "strict_date_optional_time"}}))
            .await,
        vec!["c", "d"]
    );
    // The mapping's format applies to query values without one.
    assert_eq!(
        ids(json!({"day": {"gte": "15/03/2024"}})).await,
        vec!["b", "c", "d"]
    );
    let r = s
        .post(
            "/dates/_search",
            json!({"query": {"range": {"ts": {"gte": "2024-03-15", "format": "dd/MM/yyyy"}}}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["error"]["root_cause"][0]["reason"],
        "failed to parse date field [2024-03-15] with format [dd/MM/yyyy]"
    );
}

#[tokio::test]
async fn index_refresh_interval() {
    let s = Sim::with(SimConfig {
        refresh_interval: Some(Duration::from_millis(50)),
        ..SimConfig::default()
    })
    .await;
    s.put(
        "/slow",
        json!({"settings": {"index": {"refresh_interval": "1h"}}}),
    )
    .await;
    s.put("/fast", json!({"settings": {"refresh_interval": "200ms"}}))
        .await;
    s.put("/slow/_doc/1", json!({"a": 1})).await;
    s.put("/fast/_doc/1", json!({"a": 1})).await;
    s.put("/default/_doc/1", json!({"a": 1})).await;
    let mut fast_seen = false;
    for _ in 0..100 {
        if s.count("fast").await == 1 && s.count("default").await == 1 {
            fast_seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(fast_seen, "indices refresh on their own interval");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.count("slow").await, 0, "1h interval: not refreshed yet");
    s.refresh("slow").await;
    assert_eq!(s.count("slow").await, 1);

    // The setting can change; -1 turns periodic refresh off.
    s.put(
        "/slow/_settings",
        json!({"index": {"refresh_interval": "100ms"}}),
    )
    .await;
    s.put("/slow/_doc/2", json!({"a": 2})).await;
    let mut seen = false;
    for _ in 0..100 {
        if s.count("slow").await == 2 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "a shortened interval applies");
    s.put(
        "/fast/_settings",
        json!({"index": {"refresh_interval": "-1"}}),
    )
    .await;
    s.put("/fast/_doc/2", json!({"a": 2})).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(s.count("fast").await, 1);

    // Without a server default, an index's own interval still applies.
    let s = Sim::start().await;
    s.put("/own", json!({"settings": {"refresh_interval": "100ms"}}))
        .await;
    s.put("/own/_doc/1", json!({"a": 1})).await;
    s.put("/none/_doc/1", json!({"a": 1})).await;
    let mut seen = false;
    for _ in 0..100 {
        if s.count("own").await == 1 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen);
    assert_eq!(s.count("none").await, 0);
}

#[tokio::test]
async fn sorting_on_id_is_disallowed() {
    let s = Sim::start().await;
    seed(&s).await;
    for sort in [
        json!(["_id"]),
        json!([{"_id": "desc"}]),
        json!([{"name": "asc"}, {"_id": {"order": "asc", "unmapped_type": "keyword"}}]),
    ] {
        let r = s.post("/people/_search", json!({"sort": sort})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let cause = &r.body["error"]["root_cause"][0];
        assert_eq!(cause["type"], "illegal_argument_exception");
        assert_eq!(
            cause["reason"],
            "Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled"
        );
        assert_eq!(err_type(&r), "search_phase_execution_exception");
        assert_eq!(r.body["error"]["failed_shards"][0]["index"], "people");
    }
    // _id still works in queries.
    let r = s
        .post(
            "/people/_search",
            json!({"query": {"ids": {"values": ["2"]}}}),
        )
        .await;
    assert_eq!(hit_ids(&r), vec!["2"]);
}

const JSON: [(&str, &str); 1] = [("content-type", "application/json")];

/// Issue 12: an integer out of its field type's range fails the document as Elasticsearch fails
/// it — a big integer maps dynamically as `long` and then does not parse — and a document that
/// fails adds nothing to the mapping.
#[tokio::test]
async fn integers_out_of_range() {
    let s = Sim::start().await;
    let r = s
        .put(
            "/n",
            json!({"mappings": {"properties": {"l": {"type": "long"}, "i": {"type": "integer"},
                "b": {"type": "byte"}, "o": {"properties": {"l": {"type": "long"}}}}}}),
        )
        .await;
    assert_eq!(r.status, 200);
    let long_range = "out of range of long (-9223372036854775808 - 9223372036854775807)";
    let cases: [(&str, &str, &str, &str, &str); 6] = [
        // (body, field, type, preview, innermost reason)
        (
            "{\"big\": 9223372036854775808}",
            "big",
            "long",
            "9223372036854775808",
            long_range,
        ),
        (
            "{\"big\": 123456789012345678901234567890}",
            "big",
            "long",
            "123456789012345678901234567890",
            long_range,
        ),
        (
            "{\"l\": -9223372036854775809}",
            "l",
            "long",
            "-9223372036854775809",
            long_range,
        ),
        (
            "{\"o\": {\"l\": [1, 18446744073709551616]}}",
            "o.l",
            "long",
            "18446744073709551616",
            long_range,
        ),
        (
            "{\"i\": 2147483648}",
            "i",
            "integer",
            "2147483648",
            "out of range of int (-2147483648 - 2147483647)",
        ),
        (
            "{\"l\": \"9223372036854775808\"}",
            "l",
            "long",
            "9223372036854775808",
            "Value [9223372036854775808] is out of range for a long",
        ),
    ];
    for (body, field, ty, preview, inner) in cases {
        let reason = format!(
            "failed to parse field [{field}] of type [{ty}] in document with id '1'. Preview of field's value: '{preview}'"
        );
        for bulk in [false, true] {
            let r = if bulk {
                let lines = format!("{{\"index\":{{\"_index\":\"n\",\"_id\":\"1\"}}}}\n{body}\n");
                let r = s
                    .raw(
                        "POST",
                        "/_bulk",
                        lines.as_bytes(),
                        &[("content-type", "application/x-ndjson")],
                    )
                    .await;
                assert_eq!(r.body["errors"], true, "{body}");
                let item = &r.body["items"][0]["index"];
                assert_eq!(item["status"], 400, "{body}");
                json!({"error": item["error"]})
            } else {
                let r = s.raw("PUT", "/n/_doc/1", body.as_bytes(), &JSON).await;
                assert_eq!(r.status, 400, "{body}: {}", r.body);
                r.body
            };
            let e = &r["error"];
            assert_eq!(e["type"], "document_parsing_exception", "{body}");
            assert_eq!(e["reason"], reason.as_str(), "{body}");
            let mut c = &e["caused_by"];
            while c["caused_by"].is_object() {
                c = &c["caused_by"];
            }
            assert!(
                c["reason"].as_str().unwrap().ends_with(inner),
                "{body}: {c}"
            );
        }
    }
    let r = s.raw("PUT", "/n/_doc/1", b"{\"b\": 128}", &JSON).await;
    assert_eq!(
        err_reason(&r),
        "failed to parse field [b] of type [byte] in document with id '1'. Preview of field's value: '128'"
    );
    assert_eq!(
        r.body["error"]["caused_by"]["reason"],
        "Value [128] is out of range for a byte"
    );
    // The bounds themselves are fine, and so is a float literal (a new `float` field).
    let ok = br#"{"l": 9223372036854775807, "i": -2147483648, "b": -128, "m": -9223372036854775808, "f": 1e30}"#;
    let r = s.raw("PUT", "/n/_doc/2", ok, &JSON).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let props = &s.get("/n/_mapping").await.body["n"]["mappings"]["properties"];
    assert!(props.get("big").is_none(), "{props}");
    assert_eq!(props["m"]["type"], "long");
    assert_eq!(props["f"]["type"], "float");
}

/// Issue 12: the first value of a new field decides its type; a document whose other values do
/// not fit it fails, and the field is not added.
#[tokio::test]
async fn mixed_arrays_in_a_new_field() {
    let s = Sim::start().await;
    s.put("/m", json!({})).await;
    let r = s
        .put("/m/_doc/1", json!({"x": [1, "two", {"three": 3}]}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(err_type(&r), "document_parsing_exception");
    assert_eq!(
        err_reason(&r),
        "failed to parse field [x] of type [long] in document with id '1'. Preview of field's value: 'two'"
    );
    assert_eq!(
        r.body["error"]["caused_by"]["type"],
        "illegal_argument_exception"
    );
    assert_eq!(
        r.body["error"]["caused_by"]["reason"],
        "For input string: \"two\""
    );
    // An object after a value: the value's type, which cannot hold an object.
    let r = s.put("/m/_doc/1", json!({"y": ["a", {"b": 1}]})).await;
    assert_eq!(
        err_reason(&r),
        "failed to parse field [y] of type [text] in document with id '1'. Preview of field's value: '{b=1}'"
    );
    // A value after an object.
    let r = s.put("/m/_doc/1", json!({"z": [{"b": 1}, 2]})).await;
    assert_eq!(r.status, 400);
    assert!(
        err_reason(&r).starts_with("object mapping for [z] tried to parse field [z] as object")
    );
    // In bulk too, and beside a field that would have been fine.
    let r = s
        .bulk(
            "/m/_bulk",
            &[
                json!({"index": {"_id": "2"}}),
                json!({"ok": 1, "w": [true, 1]}),
            ],
        )
        .await;
    assert_eq!(r.body["items"][0]["index"]["status"], 400, "{}", r.body);
    let m = s.get("/m/_mapping").await.body;
    assert_eq!(m["m"]["mappings"], json!({}), "{m}");
    // Values that fit the first one's type are fine.
    let r = s.put("/m/_doc/3", json!({"x": [1, "2", 3.5]})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let m = s.get("/m/_mapping").await.body;
    assert_eq!(
        m["m"]["mappings"]["properties"]["x"],
        json!({"type": "long"})
    );
}

/// Issue 12: `GET /<index>/_mapping/field/<fields>` and `GET /_mapping/field/<fields>`.
#[tokio::test]
async fn get_field_mapping() {
    let s = Sim::start().await;
    s.put(
        "/fm",
        json!({"mappings": {"properties": {
            "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
            "user": {"properties": {"id": {"type": "long"}, "name": {"type": "keyword"}}}}}}),
    )
    .await;
    s.put(
        "/other",
        json!({"mappings": {"properties": {"title": {"type": "keyword"}}}}),
    )
    .await;
    let r = s.get("/fm/_mapping/field/title").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"fm": {"mappings": {"title": {"full_name": "title", "mapping": {"title": {
            "type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}}}}}})
    );
    // Full names of nested fields and multi-fields; the mapping is under the leaf name.
    let r = s.get("/fm/_mapping/field/user.id,title.keyword").await;
    assert_eq!(
        r.body["fm"]["mappings"],
        json!({
            "user.id": {"full_name": "user.id", "mapping": {"id": {"type": "long"}}},
            "title.keyword": {"full_name": "title.keyword",
                "mapping": {"keyword": {"type": "keyword", "ignore_above": 256}}}
        })
    );
    // Wildcards; objects are not fields; a field nowhere leaves empty mappings.
    let r = s.get("/fm/_mapping/field/user.*").await;
    let keys: Vec<&String> = r.body["fm"]["mappings"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["user.id", "user.name"]);
    assert_eq!(
        s.get("/fm/_mapping/field/user").await.body,
        json!({"fm": {"mappings": {}}})
    );
    assert_eq!(
        s.get("/fm/_mapping/field/nope").await.body,
        json!({"fm": {"mappings": {}}})
    );
    assert_eq!(
        s.get("/fm/_mapping/field/_id").await.body,
        json!({"fm": {"mappings": {"_id": {"full_name": "_id", "mapping": {}}}}})
    );
    // Every index.
    let r = s.get("/_mapping/field/title").await;
    assert_eq!(
        r.body["other"]["mappings"]["title"]["mapping"],
        json!({"title": {"type": "keyword"}})
    );
    assert_eq!(r.body["fm"]["mappings"]["title"]["full_name"], "title");
    let r = s.get("/missing/_mapping/field/title").await;
    assert_eq!(r.status, 404);
    assert_eq!(err_type(&r), "index_not_found_exception");
}
