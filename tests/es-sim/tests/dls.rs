//! Document-level security through API key role descriptors, over HTTP: the Elastic connectors'
//! templated DLS query, index privileges of reads, malformed descriptors and workflow
//! restrictions.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{R, Sim, err_reason, err_type};
use es_sim::{Security, SimConfig};
use serde_json::{Value, json};

/// The `source` of the DLS query template Elastic connectors put in their API keys.
const CONNECTORS_SOURCE: &str = "{\n  \"bool\": {\n    \"should\": [\n      {\n        \"bool\": {\n          \"must_not\": {\n            \"exists\": {\n              \"field\": \"_allow_access_control\"\n            }\n          }\n        }\n      },\n      {\n        \"terms\": {\n          \"_allow_access_control.keyword\": {{#toJson}}access_control{{/toJson}}\n        }\n      }\n    ]\n  }\n}";

struct Secured {
    sim: Sim,
    basic: String,
}

impl Secured {
    async fn start() -> Secured {
        let sim = Sim::with(SimConfig {
            security: Some(Security {
                username: "elastic".into(),
                password: "changeme".into(),
            }),
            refresh_interval: None,
            ..SimConfig::default()
        })
        .await;
        Secured {
            sim,
            basic: format!("Basic {}", STANDARD.encode("elastic:changeme")),
        }
    }

    async fn call(&self, auth: &str, method: &str, path: &str, body: Option<Value>) -> R {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let mut headers = vec![("authorization", auth)];
        if !bytes.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        self.sim.raw(method, path, &bytes, &headers).await
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> R {
        self.call(&self.basic, method, path, body).await
    }

    /// Indexes documents (`(id, source)`) into `index` and refreshes it.
    async fn index(&self, index: &str, docs: &[(&str, Value)]) {
        let mut body = Vec::new();
        for (id, src) in docs {
            body.extend(
                serde_json::to_vec(&json!({"index": {"_index": index, "_id": id}})).unwrap(),
            );
            body.push(b'\n');
            body.extend(serde_json::to_vec(src).unwrap());
            body.push(b'\n');
        }
        let r = self
            .sim
            .raw(
                "POST",
                "/_bulk?refresh=true",
                &body,
                &[
                    ("authorization", &self.basic),
                    ("content-type", "application/x-ndjson"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["errors"], false, "{}", r.body);
    }

    /// Creates an API key; returns `(id, "ApiKey …" header)`.
    async fn key(&self, body: Value) -> (String, String) {
        let r = self.admin("POST", "/_security/api_key", Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_string();
        let encoded = r.body["encoded"].as_str().unwrap();
        (id, format!("ApiKey {encoded}"))
    }

    /// Sorted ids a search with `auth` returns, checking `hits.total` agrees.
    async fn ids(&self, auth: &str, path: &str, body: Option<Value>) -> Vec<String> {
        let r = self.call(auth, "POST", path, body).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let mut ids: Vec<String> = r.body["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["_id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        assert_eq!(r.body["hits"]["total"]["value"], ids.len(), "{}", r.body);
        ids
    }

    async fn count(&self, auth: &str, path: &str) -> u64 {
        let r = self.call(auth, "GET", path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.body["count"].as_u64().unwrap()
    }
}

/// A role descriptor granting `read` on `names` with the connectors' DLS template.
fn dls_role(names: Value, access_control: Value) -> Value {
    json!({
        "cluster": ["all"],
        "indices": [{
            "names": names,
            "privileges": ["read"],
            "query": {"template": {"params": {"access_control": access_control}, "source": CONNECTORS_SOURCE}}
        }]
    })
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn with_documents() -> Secured {
    let s = Secured::start().await;
    s.index(
        "search-docs",
        &[
            ("alice-only", json!({"title": "for alice only", "_allow_access_control": ["user:alice"]})),
            ("public", json!({"title": "for everyone"})),
            (
                "group",
                json!({"title": "for the group", "_allow_access_control": ["sid:S-1-5-21-1-2-3-1001", "group:eng"]}),
            ),
            ("bob-only", json!({"title": "for bob only", "_allow_access_control": ["user:bob"]})),
            ("empty-acl", json!({"title": "empty list", "_allow_access_control": []})),
        ],
    )
    .await;
    s.index("other", &[("o1", json!({"title": "other index"}))])
        .await;
    s
}

#[tokio::test]
async fn connectors_dls_template_filters_reads() {
    let s = with_documents().await;
    let (_, alice) = s
        .key(
            json!({"name": "alice", "role_descriptors": {"dls-role": dls_role(
            json!(["search-docs"]), json!(["sid:S-1-5-21-1-2-3-1001", "user:alice"]))}}),
        )
        .await;
    let alice_sees = strs(&["alice-only", "empty-acl", "group", "public"]);
    assert_eq!(
        s.ids(&alice, "/search-docs/_search", None).await,
        alice_sees
    );
    assert_eq!(s.count(&alice, "/search-docs/_count").await, 4);
    // The request's query and the DLS filter both apply.
    let q = json!({"query": {"match": {"title": "only"}}});
    assert_eq!(
        s.ids(&alice, "/search-docs/_search", Some(q)).await,
        strs(&["alice-only"])
    );
    // Wildcards and `_all` expand to the granted indices only.
    assert_eq!(s.ids(&alice, "/search-*/_search", None).await, alice_sees);
    assert_eq!(s.ids(&alice, "/_search", None).await, alice_sees);
    assert_eq!(s.count(&alice, "/_count").await, 4);
    assert!(s.ids(&alice, "/oth*/_search", None).await.is_empty());
    // Scrolls and points in time see the same documents.
    let r = s
        .call(
            &alice,
            "POST",
            "/search-docs/_search?scroll=1m&size=2",
            None,
        )
        .await;
    assert_eq!(r.body["hits"]["total"]["value"], 4, "{}", r.body);
    let r = s
        .call(&alice, "POST", "/search-docs/_pit?keep_alive=1m", None)
        .await;
    let pit = r.body["id"].as_str().unwrap().to_string();
    let body = json!({"pit": {"id": pit}, "size": 10});
    assert_eq!(s.ids(&alice, "/_search", Some(body)).await, alice_sees);

    // Single-document reads hide what the filter hides.
    let r = s
        .call(&alice, "GET", "/search-docs/_doc/bob-only", None)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        json!({"_index": "search-docs", "_id": "bob-only", "found": false})
    );
    let r = s.call(&alice, "GET", "/search-docs/_doc/group", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["_source"]["title"], "for the group");
    assert_eq!(
        s.call(&alice, "GET", "/search-docs/_source/bob-only", None)
            .await
            .status,
        404
    );
    assert_eq!(
        s.call(&alice, "HEAD", "/search-docs/_doc/bob-only", None)
            .await
            .status,
        404
    );
    let r = s
        .call(
            &alice,
            "POST",
            "/_mget",
            Some(json!({"docs": [
                {"_index": "search-docs", "_id": "public"},
                {"_index": "search-docs", "_id": "bob-only"},
                {"_index": "other", "_id": "o1"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["docs"][0]["found"], true);
    assert_eq!(r.body["docs"][1]["found"], false);
    assert_eq!(r.body["docs"][2]["error"]["type"], "security_exception");

    // Another user, with the query as a string of JSON.
    let query = json!({"template": {"params": {"access_control": ["user:bob"]}, "source": CONNECTORS_SOURCE}});
    let (_, bob) = s
        .key(
            json!({"name": "bob", "role_descriptors": {"r": {"indices": [{
            "names": "search-docs", "privileges": ["read"], "query": query.to_string()}]}}}),
        )
        .await;
    assert_eq!(
        s.ids(&bob, "/search-docs/_search", None).await,
        strs(&["bob-only", "empty-acl", "public"])
    );
    assert_eq!(s.count(&bob, "/search-docs/_count").await, 3);

    // A user with no access control entries sees only the documents without restrictions.
    let (_, nobody) = s
        .key(json!({"role_descriptors": {"r": dls_role(json!("search-docs"), json!([]))}}))
        .await;
    assert_eq!(
        s.ids(&nobody, "/search-docs/_search", None).await,
        strs(&["empty-acl", "public"])
    );
}

#[tokio::test]
async fn descriptors_combine_like_elasticsearch() {
    let s = with_documents().await;
    // Two roles with queries on the same index: a document visible through either is visible.
    let (_, both) = s
        .key(json!({"role_descriptors": {
            "a": dls_role(json!(["search-docs"]), json!(["user:alice"])),
            "b": dls_role(json!(["search-*"]), json!(["user:bob"])),
        }}))
        .await;
    assert_eq!(
        s.ids(&both, "/search-docs/_search", None).await,
        strs(&["alice-only", "bob-only", "empty-acl", "public"])
    );
    // An entry without a query grants every document.
    let (_, full) = s
        .key(json!({"role_descriptors": {
            "a": dls_role(json!(["search-docs"]), json!(["user:alice"])),
            "b": {"indices": [{"names": ["*"], "privileges": ["read"]}]},
        }}))
        .await;
    assert_eq!(s.count(&full, "/search-docs/_count").await, 5);
    assert_eq!(s.count(&full, "/_count").await, 6);
    // Keys without descriptors (absent or empty) keep the owner's access.
    for body in [
        json!({"name": "plain"}),
        json!({"name": "empty", "role_descriptors": {}}),
    ] {
        let (_, k) = s.key(body).await;
        assert_eq!(s.count(&k, "/search-docs/_count").await, 5);
        assert_eq!(s.count(&k, "/other/_count").await, 1);
    }
    // Access through a granted alias carries the alias's query.
    let r = s.admin("PUT", "/search-docs/_alias/docs-alias", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (id, via_alias) = s
        .key(json!({"role_descriptors": {"r": dls_role(json!(["docs-alias"]), json!(["user:bob"]))}}))
        .await;
    assert_eq!(
        s.ids(&via_alias, "/docs-alias/_search", None).await,
        strs(&["bob-only", "empty-acl", "public"])
    );
    let r = s
        .call(&via_alias, "GET", "/search-docs/_search", None)
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        err_reason(&r),
        format!(
            "action [indices:data/read/search] is unauthorized for API key id [{id}] of user [elastic] on indices [search-docs], this action is granted by the index privileges [read,all]"
        )
    );
}

#[tokio::test]
async fn indices_outside_the_key_are_forbidden() {
    let s = with_documents().await;
    let (id, alice) = s
        .key(json!({"role_descriptors": {"dls-role": dls_role(json!(["search-docs"]), json!(["user:alice"]))}}))
        .await;
    let expected = |action: &str, names: &str| {
        format!(
            "action [{action}] is unauthorized for API key id [{id}] of user [elastic] on indices [{names}], this action is granted by the index privileges [read,all]"
        )
    };
    for path in [
        "/other/_search",
        "/other/_count",
        "/search-docs,other/_search",
    ] {
        let r = s.call(&alice, "POST", path, None).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(err_type(&r), "security_exception");
        assert_eq!(
            err_reason(&r),
            expected("indices:data/read/search", "other")
        );
        assert_eq!(
            r.body["error"]["root_cause"][0]["type"],
            "security_exception"
        );
    }
    // With `ignore_unavailable`, names not granted are skipped like missing indices.
    assert_eq!(
        s.ids(
            &alice,
            "/search-docs,other/_search?ignore_unavailable=true",
            None
        )
        .await,
        strs(&["alice-only", "empty-acl", "public"])
    );
    assert!(
        s.ids(&alice, "/other/_search?ignore_unavailable=true", None)
            .await
            .is_empty()
    );
    // Names are checked before existence.
    let r = s.call(&alice, "GET", "/missing,other/_search", None).await;
    assert_eq!(
        err_reason(&r),
        expected("indices:data/read/search", "missing,other")
    );
    let r = s.call(&alice, "GET", "/other/_doc/o1", None).await;
    assert_eq!(r.status, 403);
    assert_eq!(err_reason(&r), expected("indices:data/read/get", "other"));
    let r = s
        .call(&alice, "POST", "/other/_pit?keep_alive=1m", None)
        .await;
    assert_eq!(
        err_reason(&r),
        expected("indices:data/read/open_point_in_time", "other")
    );
    let r = s
        .call(
            &alice,
            "POST",
            "/_mget",
            Some(json!({"docs": [{"_index": "other", "_id": "o1"}]})),
        )
        .await;
    assert_eq!(
        r.body["docs"][0]["error"]["reason"],
        expected("indices:data/read/mget[shard]", "other")
    );
    // A granted index that does not exist is a 404.
    let (_, wide) = s
        .key(json!({"role_descriptors": {"r": {"indices": [{"names": ["search-*"], "privileges": ["all"]}]}}}))
        .await;
    let r = s.call(&wide, "GET", "/search-nope/_search", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(err_type(&r), "index_not_found_exception");

    // Privileges that do not grant searching (here `view_index_metadata`) deny without naming
    // indices.
    let (meta_id, meta) = s
        .key(json!({"role_descriptors": {"r": {"indices": [{"names": ["*"], "privileges": ["view_index_metadata"]}]}}}))
        .await;
    let r = s.call(&meta, "GET", "/search-docs/_search", None).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        err_reason(&r),
        format!(
            "action [indices:data/read/search] is unauthorized for API key id [{meta_id}] of user [elastic], this action is granted by the index privileges [read,all]"
        )
    );
}

#[tokio::test]
async fn malformed_role_descriptors_are_rejected() {
    let s = Secured::start().await;
    let create = |rd: Value| {
        s.admin(
            "POST",
            "/_security/api_key",
            Some(json!({"name": "bad", "role_descriptors": {"r": rd}})),
        )
    };
    let r =
        create(json!({"indices": [{"names": ["a"], "privileges": ["read"], "bogus": true}]})).await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "x_content_parse_exception");
    assert_eq!(
        err_reason(&r),
        "[1:2] [api_key_request] failed to parse field [role_descriptors]"
    );
    let cause = &r.body["error"]["caused_by"];
    assert_eq!(
        cause["reason"],
        "[1:2] [role_descriptors] failed to parse field [r]"
    );
    assert_eq!(cause["caused_by"]["type"], "parse_exception");
    assert_eq!(
        cause["caused_by"]["reason"],
        "failed to parse indices privileges for role [r]. unexpected field [bogus]"
    );

    let r = create(json!({"cluster": [], "indexes": []})).await;
    assert_eq!(
        r.body["error"]["caused_by"]["caused_by"]["reason"],
        "failed to parse role [r]. unexpected field [indexes]"
    );
    let r = create(json!({"indices": [{"names": ["a"]}]})).await;
    assert_eq!(
        r.body["error"]["caused_by"]["caused_by"]["reason"],
        "failed to parse indices privileges for role [r]. missing required [privileges] field"
    );
    let r =
        create(json!({"indices": [{"names": ["a"], "privileges": ["read"], "query": 5}]})).await;
    assert_eq!(r.status, 400);

    let r = create(json!({"indices": [{"names": ["a"], "privileges": ["reed"]}]})).await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "action_request_validation_exception");
    assert!(
        err_reason(&r).starts_with("Validation Failed: 1: unknown index privilege [reed]. a privilege must be either one of the predefined fixed indices privileges ["),
        "{}",
        r.body
    );
    let r = create(json!({"restriction": {"workflows": ["nope"]}})).await;
    assert_eq!(err_type(&r), "action_request_validation_exception");
    assert!(err_reason(&r).contains("Unknown workflow [nope]"));

    let r = create(
        json!({"indices": [{"names": ["a", "b"], "privileges": ["read"], "query": {"nope": {}}}]}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "parse_exception");
    assert_eq!(
        err_reason(&r),
        "failed to parse field 'query' for indices [a,b] at index privilege [0] of role descriptor"
    );
    assert_eq!(
        r.body["error"]["root_cause"][0]["type"],
        "parsing_exception"
    );

    // A valid descriptor is shown normalized, with its query as a string.
    let (id, _) = s
        .key(json!({"role_descriptors": {"r": {"index": [{"names": "a", "privileges": ["read"], "query": {"term": {"x": 1}}}]}}}))
        .await;
    let r = s
        .admin("GET", &format!("/_security/api_key?id={id}"), None)
        .await;
    assert_eq!(
        r.body["api_keys"][0]["role_descriptors"],
        json!({"r": {
            "cluster": [],
            "indices": [{"names": ["a"], "privileges": ["read"], "query": "{\"term\":{\"x\":1}}", "allow_restricted_indices": false}],
            "applications": [],
            "run_as": [],
            "metadata": {},
            "transient_metadata": {"enabled": true}
        }})
    );
}

#[tokio::test]
async fn workflow_restricted_keys_cannot_search() {
    let s = with_documents().await;
    let mut role = dls_role(json!(["search-docs"]), json!(["user:alice"]));
    role["restriction"] = json!({"workflows": ["search_application_query"]});
    let (id, restricted) = s
        .key(json!({"name": "app", "role_descriptors": {"dls-role": role.clone()}}))
        .await;
    let r = s
        .call(&restricted, "GET", "/search-docs/_search", None)
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(err_type(&r), "security_exception");
    assert_eq!(
        err_reason(&r),
        format!(
            "action [indices:data/read/search] is unauthorized for API key id [{id}] of user [elastic], this action is granted by the index privileges [read,all]"
        )
    );
    assert_eq!(
        r.body["error"]["caused_by"]["reason"],
        "access restricted by workflow"
    );
    assert_eq!(
        r.body["error"]["root_cause"][0]["type"],
        "role_restriction_exception"
    );
    let r = s.call(&restricted, "GET", "/", None).await;
    assert_eq!(r.status, 403);
    assert!(err_reason(&r).starts_with("action [cluster:monitor/main] is unauthorized"));
    // Descriptors without the restriction still apply.
    let (_, mixed) = s
        .key(json!({"role_descriptors": {
            "app": role,
            "plain": dls_role(json!(["search-docs"]), json!(["user:bob"])),
        }}))
        .await;
    assert_eq!(
        s.ids(&mixed, "/search-docs/_search", None).await,
        strs(&["bob-only", "empty-acl", "public"])
    );
}
