//! The connector, sync job and secret APIs: documents, state machines, quirks and errors.

mod common;

use common::{Sim, err_reason, err_type};
use serde_json::{Value, json};

async fn connector(s: &Sim, id: &str, body: Value) {
    let r = s.put(&format!("/_connector/{id}"), body).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn create_get_list_and_delete() {
    let s = Sim::start().await;
    let r = s.get("/_connector").await;
    assert_eq!(r.body, json!({"count": 0, "results": []}));
    let r = s.get("/_connector/c1").await;
    assert_eq!(r.status, 404);
    assert_eq!(err_type(&r), "resource_not_found_exception");
    assert_eq!(err_reason(&r), "connector [c1] not found");

    let r = s
        .put("/_connector/c1", json!({"index_name": "search-x"}))
        .await;
    assert_eq!(r.body, json!({"result": "created", "id": "c1"}));
    let r = s.get("/_connector/c1").await;
    let c = &r.body;
    assert_eq!(c["id"], "c1");
    assert_eq!(c["index_name"], "search-x");
    assert_eq!(c["status"], "created");
    assert_eq!(c["is_native"], false);
    assert_eq!(c["name"], "");
    assert_eq!(c["deleted"], false);
    assert_eq!(c["sync_now"], false);
    assert_eq!(c["configuration"], json!({}));
    assert_eq!(c["custom_scheduling"], json!({}));
    assert_eq!(
        c["scheduling"]["full"],
        json!({"enabled": false, "interval": "0 0 0 * * ?"})
    );
    assert_eq!(c["filtering"][0]["domain"], "DEFAULT");
    assert_eq!(c["filtering"][0]["active"]["rules"][0]["id"], "DEFAULT");
    assert_eq!(
        c["filtering"][0]["draft"]["validation"],
        json!({"errors": [], "state": "valid"})
    );
    for falsy in [
        "api_key_id",
        "api_key_secret_id",
        "description",
        "error",
        "features",
        "last_seen",
        "sync_cursor",
    ] {
        assert!(c.get(falsy).is_none_or(Value::is_null), "{falsy}");
    }
    let ts = c["filtering"][0]["active"]["advanced_snippet"]["created_at"]
        .as_str()
        .unwrap();
    assert!(ts.ends_with('Z') && ts.contains('.'), "{ts}");

    // The stored document has no id and lives in the concrete system index.
    let r = s.get("/.elastic-connectors/_doc/c1").await;
    assert_eq!(r.body["_index"], ".elastic-connectors-v1");
    assert!(r.body["_source"].get("id").is_none());

    let r = s
        .put(
            "/_connector/c1",
            json!({"index_name": "search-x", "name": "again"}),
        )
        .await;
    assert_eq!(r.body["result"], "updated");
    let r = s
        .put(
            "/_connector/native",
            json!({"index_name": "content-n", "is_native": true}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.get("/_connector/native").await.body["status"],
        "needs_configuration"
    );
    let r = s
        .put("/_connector/bad", json!({"index_name": "search-x"}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        err_reason(&r),
        "Index name [search-x] is used by another connector."
    );
    let r = s
        .put("/_connector/bad", json!({"index_name": "Search X"}))
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .put(
            "/_connector/bad",
            json!({"is_native": true, "index_name": "search-n"}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .post(
            "/_connector",
            json!({"index_name": "search-auto", "service_type": "mysql", "name": "auto"}),
        )
        .await;
    assert_eq!(r.body["result"], "created");
    let auto_id = r.body["id"].as_str().unwrap().to_string();

    connector(&s, "c0", json!({"index_name": "search-a", "service_type": "mysql", "name": "zzz", "description": "Primary DB"})).await;
    connector(&s, "cz", json!({"service_type": "github"})).await;
    let r = s.get("/_connector").await;
    assert_eq!(r.body["count"], 5);
    let ids: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["native", "c0", auto_id.as_str(), "c1", "cz"],
        "sorted by index_name, missing last"
    );
    let r = s.get("/_connector?service_type=mysql&size=1").await;
    assert_eq!(r.body["count"], 2);
    assert_eq!(r.body["results"].as_array().unwrap().len(), 1);
    let r = s.get("/_connector?index_name=search-x,search-a").await;
    assert_eq!(r.body["count"], 2);
    let r = s.get("/_connector?connector_name=zzz").await;
    assert_eq!(r.body["results"][0]["id"], "c0");
    let r = s.get("/_connector?query=primary").await;
    assert_eq!(r.body["results"][0]["id"], "c0");
    let r = s.get("/_connector?query=auto").await;
    assert_eq!(r.body["count"], 1);
    let r = s.get("/_connector?index_name=Bad*").await;
    assert_eq!(r.status, 400);
    let r = s.get("/_connector?from=-1").await;
    assert_eq!(r.status, 400);

    // Soft delete (9.x), include_deleted, hard delete, delete_sync_jobs.
    s.post("/_connector/_sync_job", json!({"id": "c0"})).await;
    s.post("/_connector/_sync_job", json!({"id": "c0"})).await;
    let r = s.delete("/_connector/c0?delete_sync_jobs=true").await;
    assert_eq!(r.body, json!({"acknowledged": true}));
    assert_eq!(s.get("/_connector/c0").await.status, 404);
    let r = s.get("/_connector/c0?include_deleted=true").await;
    assert_eq!(r.body["deleted"], true);
    assert_eq!(s.get("/_connector").await.body["count"], 4);
    assert_eq!(
        s.get("/_connector?include_deleted=true").await.body["count"],
        5
    );
    assert_eq!(
        s.get("/_connector/_sync_job?connector_id=c0").await.body["count"],
        0
    );
    assert_eq!(s.delete("/_connector/c0").await.status, 404);
    // A soft-deleted connector's index name can be reused.
    connector(&s, "c9", json!({"index_name": "search-a"})).await;
    let r = s.delete("/_connector/c0?hard=true").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.get("/_connector/c0?include_deleted=true").await.status,
        404
    );
    assert_eq!(s.delete("/_connector/c0?hard=true").await.status, 404);
}

#[tokio::test]
async fn connector_updates() {
    let s = Sim::start().await;
    connector(
        &s,
        "c",
        json!({"index_name": "search-c", "service_type": "mysql"}),
    )
    .await;

    let r = s.put("/_connector/c/_check_in", Value::Null).await;
    assert_eq!(r.body, json!({"result": "updated"}));
    assert!(
        s.get("/_connector/c").await.body["last_seen"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let r = s.put("/_connector/missing/_check_in", Value::Null).await;
    assert_eq!(r.status, 404);

    // _status follows the state machine.
    let r = s
        .put("/_connector/c/_status", json!({"status": "connected"}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "status_exception");
    assert_eq!(
        err_reason(&r),
        "Invalid transition attempt from [created] to [connected]. Such a ConnectorStatus transition is not supported by the Connector Protocol."
    );
    assert_eq!(
        s.put(
            "/_connector/c/_status",
            json!({"status": "needs_configuration"})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        s.put("/_connector/c/_status", json!({"status": "bogus"}))
            .await
            .status,
        400
    );

    // _error sets the status without checks.
    s.put("/_connector/c/_error", json!({"error": "boom"}))
        .await;
    let c = s.get("/_connector/c").await.body;
    assert_eq!(
        (c["status"].clone(), c["error"].clone()),
        (json!("error"), json!("boom"))
    );
    s.put("/_connector/c/_error", json!({"error": null})).await;
    let c = s.get("/_connector/c").await.body;
    assert_eq!(
        (c["status"].clone(), c["error"].clone()),
        (json!("connected"), Value::Null)
    );
    assert_eq!(
        s.put("/_connector/c/_error", json!({"error": 5}))
            .await
            .status,
        400
    );

    // _configuration: full schema, then values for known keys only.
    let schema = json!({"host": {"label": "Host", "value": "", "type": "str", "display": "textbox", "order": 1, "required": true, "sensitive": false}});
    let r = s
        .put(
            "/_connector/c/_configuration",
            json!({"configuration": schema}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(s.get("/_connector/c").await.body["status"], "configured");
    let r = s
        .put(
            "/_connector/c/_configuration",
            json!({"values": {"host": "db", "port": 1}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        err_reason(&r),
        "Unknown [configuration] fields in the request payload: [port]. Remove them from request or register their schema first."
    );
    s.put(
        "/_connector/c/_configuration",
        json!({"values": {"host": "db"}}),
    )
    .await;
    let c = s.get("/_connector/c").await.body;
    assert_eq!(c["configuration"]["host"]["value"], "db");
    assert_eq!(c["configuration"]["host"]["label"], "Host");
    assert_eq!(
        s.put("/_connector/c/_configuration", json!({}))
            .await
            .status,
        400
    );

    // _filtering draft: sorted by order, DEFAULT last, validation reset to edited.
    let rules = json!([
        {"id": "DEFAULT", "field": "_", "order": 0, "policy": "include", "rule": "regex", "value": ".*"},
        {"id": "r2", "field": "b", "order": 2, "policy": "exclude", "rule": "equals", "value": "x"},
        {"id": "r1", "field": "a", "order": 1, "policy": "include", "rule": "contains", "value": "y"}
    ]);
    let r = s
        .put(
            "/_connector/c/_filtering",
            json!({"rules": rules, "advanced_snippet": {"value": {"q": 1}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let f = s.get("/_connector/c").await.body["filtering"][0].clone();
    let ids: Vec<&str> = f["draft"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["r1", "r2", "DEFAULT"]);
    assert_eq!(
        f["draft"]["validation"],
        json!({"errors": [], "state": "edited"})
    );
    assert_eq!(f["draft"]["advanced_snippet"]["value"], json!({"q": 1}));
    assert_eq!(f["active"]["rules"].as_array().unwrap().len(), 1);
    let r = s
        .put("/_connector/c/_filtering/_activate", Value::Null)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        err_reason(&r),
        "Filtering draft needs to be validated by the connector service before activation. Current filtering draft validation state [edited] is not equal to [valid]."
    );
    let r = s
        .put(
            "/_connector/c/_filtering/_validation",
            json!({"validation": {"state": "valid", "errors": []}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.put("/_connector/c/_filtering/_activate", Value::Null)
            .await
            .status,
        200
    );
    let f = s.get("/_connector/c").await.body["filtering"][0].clone();
    assert_eq!(f["active"]["rules"].as_array().unwrap().len(), 3);
    assert_eq!(f["active"]["validation"]["state"], "valid");
    let r = s
        .put(
            "/_connector/c/_filtering/_validation",
            json!({"validation": {"state": "nope", "errors": []}}),
        )
        .await;
    assert_eq!(r.status, 400);
    let replacement = json!([{"domain": "DEFAULT", "active": f["active"], "draft": f["active"]}]);
    assert_eq!(
        s.put(
            "/_connector/c/_filtering",
            json!({"filtering": replacement})
        )
        .await
        .status,
        200
    );

    // _scheduling validates cron expressions.
    let r = s
        .put(
            "/_connector/c/_scheduling",
            json!({"scheduling": {"full": {"enabled": true, "interval": "0 */5 * * * ?"}}}),
        )
        .await;
    assert_eq!(r.status, 200);
    let c = s.get("/_connector/c").await.body;
    assert_eq!(
        c["scheduling"]["full"],
        json!({"enabled": true, "interval": "0 */5 * * * ?"})
    );
    assert_eq!(c["scheduling"]["incremental"]["enabled"], false);
    let r = s
        .put(
            "/_connector/c/_scheduling",
            json!({"scheduling": {"full": {"enabled": true, "interval": "* *"}}}),
        )
        .await;
    assert_eq!(r.status, 400);

    // _service_type: created stays created, anything else → needs_configuration.
    connector(&s, "fresh", json!({})).await;
    s.put(
        "/_connector/fresh/_service_type",
        json!({"service_type": "s3"}),
    )
    .await;
    assert_eq!(s.get("/_connector/fresh").await.body["status"], "created");
    s.put("/_connector/c/_service_type", json!({"service_type": "s3"}))
        .await;
    let c = s.get("/_connector/c").await.body;
    assert_eq!(
        (c["service_type"].clone(), c["status"].clone()),
        (json!("s3"), json!("needs_configuration"))
    );

    // _native: needs a content- index; connected → configured.
    let r = s
        .put("/_connector/c/_native", json!({"is_native": true}))
        .await;
    assert_eq!(r.status, 400);
    s.put(
        "/_connector/c/_index_name",
        json!({"index_name": "content-c"}),
    )
    .await;
    s.put("/_connector/c/_status", json!({"status": "configured"}))
        .await;
    s.put("/_connector/c/_status", json!({"status": "connected"}))
        .await;
    assert_eq!(
        s.put("/_connector/c/_native", json!({"is_native": true}))
            .await
            .status,
        200
    );
    let c = s.get("/_connector/c").await.body;
    assert_eq!(
        (c["is_native"].clone(), c["status"].clone()),
        (json!(true), json!("configured"))
    );
    let r = s
        .put(
            "/_connector/c/_index_name",
            json!({"index_name": "search-c"}),
        )
        .await;
    assert_eq!(r.status, 400);
    connector(&s, "other", json!({"index_name": "content-o"})).await;
    let r = s
        .put(
            "/_connector/c/_index_name",
            json!({"index_name": "content-o"}),
        )
        .await;
    assert_eq!(
        err_reason(&r),
        "Index name [content-o] is used by another connector."
    );
    s.put("/_connector/c/_index_name", json!({"index_name": null}))
        .await;
    assert_eq!(s.get("/_connector/c").await.body["index_name"], Value::Null);

    s.put(
        "/_connector/c/_name",
        json!({"name": "N", "description": "D"}),
    )
    .await;
    let c = s.get("/_connector/c").await.body;
    assert_eq!(
        (c["name"].clone(), c["description"].clone()),
        (json!("N"), json!("D"))
    );
    assert_eq!(s.put("/_connector/c/_name", json!({})).await.status, 400);

    let p = json!({"name": "my-pipeline", "extract_binary_content": true, "reduce_whitespace": false, "run_ml_inference": false});
    s.put("/_connector/c/_pipeline", json!({"pipeline": p}))
        .await;
    assert_eq!(s.get("/_connector/c").await.body["pipeline"], p);
    s.put("/_connector/c/_features", json!({"features": {"document_level_security": {"enabled": true}, "sync_rules": {"basic": {"enabled": true}}}})).await;
    assert_eq!(
        s.get("/_connector/c").await.body["features"]["document_level_security"]["enabled"],
        true
    );
    assert_eq!(
        s.put(
            "/_connector/c/_features",
            json!({"features": {"bogus": {}}})
        )
        .await
        .status,
        400
    );
    s.put(
        "/_connector/c/_api_key_id",
        json!({"api_key_id": "k1", "api_key_secret_id": "s1"}),
    )
    .await;
    assert_eq!(s.get("/_connector/c").await.body["api_key_id"], "k1");
    assert_eq!(
        s.put("/_connector/c/_api_key_id", json!({})).await.status,
        400
    );
    s.put("/_connector/c/_last_sync", json!({"last_sync_status": "completed", "last_indexed_document_count": 7, "last_synced": "2024-01-01T00:00:00Z"})).await;
    let c = s.get("/_connector/c").await.body;
    assert_eq!(
        (
            c["last_sync_status"].clone(),
            c["last_indexed_document_count"].clone()
        ),
        (json!("completed"), json!(7))
    );
}

fn rule(id: &str, order: i64) -> Value {
    json!({"id": id, "field": "f", "order": order, "policy": "include", "rule": "equals", "value": id})
}

fn draft_rules(c: &Value) -> Vec<(String, i64)> {
    c["filtering"][0]["draft"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["order"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn filtering_draft_rules_end_with_the_default_rule() {
    let s = Sim::start().await;
    connector(&s, "c", json!({"index_name": "search-c"})).await;
    let owned = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
        v.iter().map(|(i, o)| (i.to_string(), *o)).collect()
    };

    // `sortFilteringRulesByOrder`: DEFAULT is re-added last with order = last order + 1.
    let default = json!({"id": "DEFAULT", "field": "_", "order": 0, "policy": "include",
        "rule": "regex", "value": ".*", "created_at": "2024-01-01T00:00:00Z"});
    let body = json!({"rules": [default, rule("r2", 2), rule("r1", 1)]});
    let r = s.put("/_connector/c/_filtering", body).await;
    assert_eq!(r.body, json!({"result": "updated"}));
    let c = s.get("/_connector/c").await.body;
    assert_eq!(
        draft_rules(&c),
        owned(&[("r1", 1), ("r2", 2), ("DEFAULT", 3)])
    );
    let d = &c["filtering"][0]["draft"]["rules"][2];
    assert_eq!(
        (&d["field"], &d["policy"], &d["rule"], &d["value"]),
        (
            &json!("_"),
            &json!("include"),
            &json!("regex"),
            &json!(".*")
        )
    );
    // Both timestamps come from the given default rule's created_at.
    assert_eq!(d["created_at"], "2024-01-01T00:00:00Z");
    assert_eq!(d["updated_at"], "2024-01-01T00:00:00Z");

    // Without a DEFAULT rule one is appended.
    let r = s
        .put(
            "/_connector/c/_filtering",
            json!({"rules": [rule("only", 4)]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = s.get("/_connector/c").await.body;
    assert_eq!(draft_rules(&c), owned(&[("only", 4), ("DEFAULT", 5)]));

    // An empty list leaves the DEFAULT rule alone, order 0.
    let r = s
        .put("/_connector/c/_filtering", json!({"rules": []}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = s.get("/_connector/c").await.body;
    assert_eq!(draft_rules(&c), owned(&[("DEFAULT", 0)]));

    // A rule with id DEFAULT that is not the default rule is an ordinary rule.
    let odd = json!({"id": "DEFAULT", "field": "title", "order": 3, "policy": "exclude",
        "rule": "contains", "value": "x"});
    s.put("/_connector/c/_filtering", json!({"rules": [odd]}))
        .await;
    let c = s.get("/_connector/c").await.body;
    assert_eq!(draft_rules(&c), owned(&[("DEFAULT", 3), ("DEFAULT", 4)]));
    assert_eq!(c["filtering"][0]["draft"]["rules"][0]["field"], "title");
    assert_eq!(c["filtering"][0]["draft"]["rules"][1]["field"], "_");
}

#[tokio::test]
async fn scheduling_needs_a_schedule() {
    let s = Sim::start().await;
    connector(&s, "c", json!({"index_name": "search-c"})).await;
    let msg = "Validation Failed: 1: [scheduling] object needs to define at least one schedule type: [full | incremental | access_control];";
    let r = s
        .put("/_connector/c/_scheduling", json!({"scheduling": {}}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(err_type(&r), "action_request_validation_exception");
    assert_eq!(err_reason(&r), msg);
    // Validation comes before the connector lookup.
    let r = s
        .put("/_connector/missing/_scheduling", json!({"scheduling": {}}))
        .await;
    assert_eq!(r.status, 400);
    // Elasticsearch's check looks at `incremental` twice and never at `access_control`.
    let ac =
        json!({"scheduling": {"access_control": {"enabled": true, "interval": "0 0 1 * * ?"}}});
    let r = s.put("/_connector/c/_scheduling", ac).await;
    assert_eq!(r.status, 400);
    assert_eq!(err_reason(&r), msg);
    // One schedule type is enough; the others stay as they were.
    let inc = json!({"scheduling": {"incremental": {"enabled": true, "interval": "0 0 2 * * ?"}}});
    let r = s.put("/_connector/c/_scheduling", inc).await;
    assert_eq!(r.body, json!({"result": "updated"}));
    let c = s.get("/_connector/c").await.body;
    assert_eq!(
        c["scheduling"]["incremental"],
        json!({"enabled": true, "interval": "0 0 2 * * ?"})
    );
    assert_eq!(
        c["scheduling"]["full"],
        json!({"enabled": false, "interval": "0 0 0 * * ?"})
    );
    assert_eq!(
        c["scheduling"]["access_control"],
        json!({"enabled": false, "interval": "0 0 0 * * ?"})
    );
}

/// Issue 12: every field of an interval is range-checked by Elasticsearch's `Cron`, and the error
/// is its chain of causes, down to the bound that was broken.
#[tokio::test]
async fn scheduling_rejects_out_of_range_cron_fields() {
    let s = Sim::start().await;
    connector(&s, "c", json!({"index_name": "search-c"})).await;
    let cases = [
        (
            "61 * * * * ?",
            "Minute and Second values must be between 0 and 59",
        ),
        (
            "0 60 * * * ?",
            "Minute and Second values must be between 0 and 59",
        ),
        ("0 0 24 * * ?", "Hour values must be between 0 and 23"),
        (
            "0 0 0 32 * ?",
            "Day of month values must be between 1 and 31",
        ),
        ("0 0 0 ? 13 *", "Month values must be between 1 and 12"),
        ("0 0 0 ? * 8", "Day-of-Week values must be between 1 and 7"),
        (
            "0 0 0 * * *",
            "support for specifying both a day-of-week AND a day-of-month parameter is not implemented.",
        ),
    ];
    for (expr, bound) in cases {
        let body = json!({"scheduling": {"full": {"enabled": true, "interval": expr}}});
        let r = s.put("/_connector/c/_scheduling", body).await;
        assert_eq!(r.status, 400, "{expr}: {}", r.body);
        assert_eq!(err_type(&r), "x_content_parse_exception");
        let e = &r.body["error"];
        assert_eq!(
            e["reason"],
            "[1:2] [connector_update_scheduling_request] failed to parse field [scheduling]"
        );
        assert_eq!(e["root_cause"][0]["reason"], e["reason"]);
        let c = &e["caused_by"];
        assert_eq!(
            c["reason"],
            "[1:2] [connector_scheduling] failed to parse field [full]"
        );
        let c = &c["caused_by"];
        assert_eq!(
            c["reason"],
            "[1:2] [schedule_config] failed to parse field [interval]"
        );
        let c = &c["caused_by"];
        assert_eq!(
            c["reason"],
            "Failed to build [schedule_config] after last required field arrived"
        );
        let c = &c["caused_by"];
        assert_eq!(c["type"], "illegal_argument_exception");
        assert_eq!(c["reason"], format!("invalid cron expression [{expr}]"));
        assert_eq!(c["caused_by"]["type"], "illegal_argument_exception");
        assert_eq!(
            c["caused_by"]["reason"],
            format!("illegal cron expression format [java.lang.IllegalArgumentException: {bound}]")
        );
    }
    let c = s.get("/_connector/c").await.body;
    assert_eq!(c["scheduling"]["full"]["interval"], "0 0 0 * * ?");

    // The bounds themselves are fine; names are case-insensitive and kept upper-cased, as
    // Elasticsearch's `Cron` keeps them; keys other than `enabled` and `interval` are dropped.
    for expr in ["59 59 23 31 12 ?", "0 0 0 ? 1 7", "0 0 12 ? * mon-fri"] {
        let body = json!({"scheduling": {"full": {"enabled": true, "interval": expr, "x": 1}}});
        let r = s.put("/_connector/c/_scheduling", body).await;
        assert_eq!(r.status, 200, "{expr}: {}", r.body);
    }
    let c = s.get("/_connector/c").await.body;
    assert_eq!(
        c["scheduling"]["full"],
        json!({"enabled": true, "interval": "0 0 12 ? * MON-FRI"})
    );

    // Both fields are required.
    let body = json!({"scheduling": {"full": {"interval": "0 0 0 * * ?"}}});
    let r = s.put("/_connector/c/_scheduling", body).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["error"]["caused_by"]["caused_by"]["reason"],
        "Required [enabled]"
    );
}

#[tokio::test]
async fn sync_job_lifecycle() {
    let s = Sim::start().await;
    let r = s.post("/_connector/_sync_job", json!({"id": "nope"})).await;
    assert_eq!(r.status, 404);
    connector(&s, "c", json!({"index_name": "search-c"})).await;
    let r = s.post("/_connector/_sync_job", json!({"id": "c"})).await;
    assert_eq!(r.status, 400);
    assert!(err_reason(&r).contains("with [service_type] not defined"));
    let r = s.post("/_connector/_sync_job", json!({"id": "nope"})).await;
    assert_eq!(r.status, 404);
    assert_eq!(err_reason(&r), "Connector with id 'nope' does not exist.");
    s.put(
        "/_connector/c/_service_type",
        json!({"service_type": "mysql"}),
    )
    .await;
    s.put(
        "/_connector/c/_configuration",
        json!({"configuration": {"host": {"value": "h"}}}),
    )
    .await;
    let r = s
        .post(
            "/_connector/_sync_job",
            json!({"id": "c", "job_type": "bogus"}),
        )
        .await;
    assert_eq!(r.status, 400);

    let r = s.post("/_connector/_sync_job", json!({"id": "c"})).await;
    assert_eq!(r.status, 200);
    let job = r.body["id"].as_str().unwrap().to_string();
    let j = s.get(&format!("/_connector/_sync_job/{job}")).await.body;
    assert_eq!(j["id"], job.as_str());
    assert_eq!(j["status"], "pending");
    assert_eq!(j["job_type"], "full");
    assert_eq!(j["trigger_method"], "on_demand");
    assert_eq!(j["connector"]["id"], "c");
    assert_eq!(j["connector"]["index_name"], "search-c");
    assert_eq!(j["connector"]["service_type"], "mysql");
    assert_eq!(j["connector"]["configuration"]["host"]["value"], "h");
    assert!(
        j["connector"]["filtering"].is_object(),
        "the active filtering as one object"
    );
    assert_eq!(j["connector"]["filtering"]["rules"][0]["id"], "DEFAULT");
    for k in [
        "total_document_count",
        "indexed_document_count",
        "indexed_document_volume",
        "deleted_document_count",
    ] {
        assert_eq!(j[k], 0, "{k}");
    }
    assert_eq!(j["created_at"], j["last_seen"]);

    // `created_at` is a millisecond `date`: make the second job strictly newer.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let r = s
        .post(
            "/_connector/_sync_job",
            json!({"id": "c", "job_type": "access_control", "trigger_method": "scheduled"}),
        )
        .await;
    let acl = r.body["id"].as_str().unwrap().to_string();
    let j = s.get(&format!("/_connector/_sync_job/{acl}")).await.body;
    assert_eq!(j["connector"]["index_name"], ".search-acl-filter-search-c");
    assert_eq!(j["trigger_method"], "scheduled");

    // List: newest first, with filters.
    let r = s.get("/_connector/_sync_job").await;
    assert_eq!(r.body["count"], 2);
    assert_eq!(r.body["results"][0]["id"], acl.as_str());
    let r = s
        .get("/_connector/_sync_job?job_type=full,incremental")
        .await;
    assert_eq!(r.body["count"], 1);
    let r = s
        .get("/_connector/_sync_job?status=pending&connector_id=c")
        .await;
    assert_eq!(r.body["count"], 2);
    assert_eq!(
        s.get("/_connector/_sync_job?status=bogus").await.status,
        400
    );

    // _error from pending is illegal.
    let r = s
        .put(
            &format!("/_connector/_sync_job/{job}/_error"),
            json!({"error": "x"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        err_reason(&r),
        "Invalid transition attempt from [pending] to [error]. Such a ConnectorSyncStatus transition is not supported by the Connector Protocol."
    );

    // _claim does not check the status.
    let r = s
        .put(&format!("/_connector/_sync_job/{job}/_claim"), json!({}))
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .put(
            &format!("/_connector/_sync_job/{job}/_claim"),
            json!({"worker_hostname": "w1", "sync_cursor": {"c": 1}}),
        )
        .await;
    assert_eq!(r.body, json!({"result": "updated"}));
    let j = s.get(&format!("/_connector/_sync_job/{job}")).await.body;
    assert_eq!(j["status"], "in_progress");
    assert_eq!(j["worker_hostname"], "w1");
    assert_eq!(j["connector"]["sync_cursor"], json!({"c": 1}));
    assert_eq!(
        j["connector"]["index_name"], "search-c",
        "the rest of the snapshot is kept"
    );
    assert!(j["started_at"].is_string());
    assert!(
        s.get("/_connector/c")
            .await
            .body
            .get("sync_cursor")
            .is_none(),
        "the connector is untouched"
    );

    // _stats.
    let r = s.put(&format!("/_connector/_sync_job/{job}/_stats"), json!({"deleted_document_count": 1, "indexed_document_count": -1, "indexed_document_volume": 3})).await;
    assert_eq!(r.status, 400);
    let r = s
        .put(
            &format!("/_connector/_sync_job/{job}/_stats"),
            json!({"indexed_document_count": 1}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .put(
            &format!("/_connector/_sync_job/{job}/_stats"),
            json!({"deleted_document_count": 1, "indexed_document_count": 10, "indexed_document_volume": 3, "metadata": {"k": "v"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    let j = s.get(&format!("/_connector/_sync_job/{job}")).await.body;
    assert_eq!(
        (j["indexed_document_count"].clone(), j["metadata"].clone()),
        (json!(10), json!({"k": "v"}))
    );
    let r = s.put(&format!("/_connector/_sync_job/{job}/_stats"), json!({"deleted_document_count": 1, "indexed_document_count": 1, "indexed_document_volume": 3, "metadata": "x"})).await;
    assert_eq!(r.status, 400);

    // Cancel: in_progress → canceling; again → 400.
    let r = s
        .put(&format!("/_connector/_sync_job/{job}/_cancel"), Value::Null)
        .await;
    assert_eq!(r.status, 200);
    let j = s.get(&format!("/_connector/_sync_job/{job}")).await.body;
    assert_eq!(j["status"], "canceling");
    assert!(j["cancelation_requested_at"].is_string());
    assert!(j.get("canceled_at").is_none());
    let r = s
        .put(&format!("/_connector/_sync_job/{job}/_cancel"), Value::Null)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        err_reason(&r),
        "Invalid transition attempt from [canceling] to [canceling]. Such a ConnectorSyncStatus transition is not supported by the Connector Protocol."
    );
    assert_eq!(
        s.put(
            &format!("/_connector/_sync_job/{job}/_error"),
            json!({"error": "bad"})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        s.get(&format!("/_connector/_sync_job/{job}")).await.body["status"],
        "error"
    );

    // Cancel: pending → canceled with timestamps.
    let r = s
        .put(&format!("/_connector/_sync_job/{acl}/_cancel"), Value::Null)
        .await;
    assert_eq!(r.status, 200);
    let j = s.get(&format!("/_connector/_sync_job/{acl}")).await.body;
    assert_eq!(j["status"], "canceled");
    assert_eq!(j["canceled_at"], j["completed_at"]);
    assert_eq!(j["canceled_at"], j["cancelation_requested_at"]);

    // The service finishes jobs with plain document updates through the alias.
    let r = s
        .post(
            &format!("/.elastic-connectors-sync-jobs/_update/{job}?if_seq_no=0&if_primary_term=1"),
            json!({"doc": {"status": "completed"}}),
        )
        .await;
    assert_eq!(r.status, 409);
    let r = s
        .post(
            &format!("/.elastic-connectors-sync-jobs/_update/{job}"),
            json!({"doc": {"status": "completed"}}),
        )
        .await;
    assert_eq!(r.body["_index"], ".elastic-connectors-sync-jobs-v1");

    assert_eq!(
        s.put(
            &format!("/_connector/_sync_job/{job}/_check_in"),
            Value::Null
        )
        .await
        .status,
        200
    );
    let r = s
        .put("/_connector/_sync_job/missing/_check_in", Value::Null)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(err_reason(&r), "connector sync job [missing] not found");
    assert_eq!(
        s.delete(&format!("/_connector/_sync_job/{job}")).await.body,
        json!({"acknowledged": true})
    );
    assert_eq!(
        s.delete(&format!("/_connector/_sync_job/{job}"))
            .await
            .status,
        404
    );
    assert_eq!(
        s.get(&format!("/_connector/_sync_job/{job}")).await.status,
        404
    );
}

#[tokio::test]
async fn direct_index_access_like_the_python_service() {
    let s = Sim::start().await;
    // Preflight: HEAD then PUT with an empty body.
    for idx in [".elastic-connectors-v1", ".elastic-connectors-sync-jobs-v1"] {
        assert_eq!(s.send("HEAD", &format!("/{idx}"), None).await.status, 404);
        assert_eq!(s.send("PUT", &format!("/{idx}"), None).await.status, 200);
        assert_eq!(s.send("HEAD", &format!("/{idx}"), None).await.status, 200);
    }
    connector(
        &s,
        "c",
        json!({"index_name": "search-c", "service_type": "mysql"}),
    )
    .await;
    let r = s
        .post(
            "/.elastic-connectors/_search?expand_wildcards=hidden&seq_no_primary_term=true",
            json!({"query": {"bool": {"filter": [{"terms": {"_id": ["c"]}}], "must_not": [{"term": {"deleted": true}}]}}, "from": 0, "size": 100}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let hit = &r.body["hits"]["hits"][0];
    assert_eq!(hit["_index"], ".elastic-connectors-v1");
    let (seq, term) = (
        hit["_seq_no"].as_i64().unwrap(),
        hit["_primary_term"].as_i64().unwrap(),
    );
    let r = s
        .post(
            &format!("/.elastic-connectors/_update/c?if_seq_no={seq}&if_primary_term={term}"),
            json!({"doc": {"last_sync_status": "in_progress", "status": "connected", "unmapped_field": "u"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    s.refresh(".elastic-connectors").await;
    let r = s
        .post(
            "/.elastic-connectors/_search",
            json!({"query": {"term": {"unmapped_field": "u"}}}),
        )
        .await;
    assert_eq!(
        r.body["hits"]["total"]["value"], 0,
        "connector indices are dynamic:false"
    );
    let r = s
        .post(
            "/.elastic-connectors/_search",
            json!({"query": {"match": {"index_name": "search-c"}}}),
        )
        .await;
    assert_eq!(r.body["hits"]["total"]["value"], 1);
    assert_eq!(s.get("/_connector/c").await.body["unmapped_field"], "u");

    // Stuck jobs: in_progress with last_seen older than 300s.
    s.post("/_connector/_sync_job", json!({"id": "c"})).await;
    let r = s.get("/_connector/_sync_job").await;
    let job = r.body["results"][0]["id"].as_str().unwrap().to_string();
    s.post(
        &format!("/.elastic-connectors-sync-jobs/_update/{job}?refresh=true"),
        json!({"doc": {"status": "in_progress", "last_seen": "2020-01-01T00:00:00Z"}}),
    )
    .await;
    let r = s
        .post(
            "/.elastic-connectors-sync-jobs/_search",
            json!({"query": {"bool": {"filter": [
                {"terms": {"status": ["in_progress", "canceling"]}},
                {"range": {"last_seen": {"lte": "now-300s"}}}
            ]}}, "sort": [{"created_at": "asc"}]}),
        )
        .await;
    assert_eq!(r.body["hits"]["total"]["value"], 1);
}

#[tokio::test]
async fn secrets() {
    let s = Sim::start().await;
    let r = s
        .post("/_connector/_secret", json!({"value": "encoded-key"}))
        .await;
    assert_eq!(r.status, 200);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = s.get(&format!("/_connector/_secret/{id}")).await;
    assert_eq!(r.body, json!({"id": id, "value": "encoded-key"}));
    let r = s
        .put("/_connector/_secret/mine", json!({"value": "v"}))
        .await;
    assert_eq!(r.body, json!({"result": "created"}));
    let r = s
        .put("/_connector/_secret/mine", json!({"value": "v2"}))
        .await;
    assert_eq!(r.body, json!({"result": "updated"}));
    assert_eq!(s.post("/_connector/_secret", json!({})).await.status, 400);
    assert_eq!(
        s.delete("/_connector/_secret/mine").await.body,
        json!({"deleted": true})
    );
    let r = s.get("/_connector/_secret/mine").await;
    assert_eq!(r.status, 404);
    assert_eq!(err_type(&r), "resource_not_found_exception");
    assert_eq!(s.delete("/_connector/_secret/mine").await.status, 404);
}
