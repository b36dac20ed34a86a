//! The `graphql` source against a real GraphQL server (graphql-yoga: `tests/graphql/server.mjs`,
//! started by the test kit on a free port): a full sync through the engine compared user by user
//! with the server's own answer (every field, key order, `_timestamp`), a sync cut into many
//! slices and a listing resumed by a new source after every page, no pagination, GET and POST
//! as they reach the server, Bearer, Basic and header credentials, a wrong token, GraphQL
//! errors, a non-string id, throttling, error statuses, an endless cursor, the connection
//! timeout, an unreachable server, and the reference's validation messages.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::{JobType, SyncStatus, TriggerMethod, validate_configuration};
use connectors_sdk::{DataSource, SourceDescriptor, SourceRegistry, SyncMode};
use connectors_sources::graphql::{GraphQlSource, PING_QUERY, UNAUTHORIZED};
use connectors_testkit::emulator::{self, GRAPHQL_BASIC, GRAPHQL_DOC_COUNT, GRAPHQL_TOKEN};
use connectors_testkit::{EsEnv, configuration, connector, index_docs, list_all, run_to_end};
use serde_json::{Value, json};

const FIELDS: &str = "id index first_name updatedAt description address { city zip } tags";

/// The reference fixture's query, with `$cursor` nullable (the first request sends none).
fn paged_query(first: Option<u32>) -> String {
    let first = first.map(|n| format!(", first: {n}")).unwrap_or_default();
    format!(
        "query($cursor: String) {{\n  sampleData {{\n    users(after: $cursor{first}) {{\n      pageInfo {{ endCursor hasNextPage }}\n      nodes {{ {FIELDS} }}\n    }}\n  }}\n}}"
    )
}

/// The server's base URL, or `None` (a skip) when graphql-yoga is not installed.
fn server() -> Option<String> {
    connectors_testkit::init_logs();
    emulator::graphql().map(|e| e.endpoint.clone())
}

/// The source with short retry waits.
fn source() -> GraphQlSource {
    GraphQlSource {
        first_backoff: Duration::from_millis(10),
    }
}

/// Configuration values: the fixture's cursor-paginated query at `path` of the server, and
/// `extra` on top.
fn values(base: &str, path: &str, extra: Value) -> Value {
    let mut v = json!({
        "http_endpoint": format!("{base}{path}"),
        "graphql_query": paged_query(None),
        "graphql_object_to_id_map": "{\"sampleData.users.nodes\": \"id\"}",
        "pagination_model": "cursor_pagination",
        "pagination_key": "sampleData.users",
    });
    for (k, x) in extra.as_object().expect("an object") {
        v[k] = x.clone();
    }
    v
}

fn engine(env: &EsEnv, page_size: usize) -> Engine {
    let mut registry = SourceRegistry::new();
    registry.register(Box::new(source()));
    Engine::new(
        env.es.clone(),
        Arc::new(registry),
        EngineConfig {
            page_size,
            ..connectors_testkit::fast_engine_config()
        },
    )
}

/// Runs a full job of a new connector with `values`; returns its status, slice count, job id.
async fn sync(env: &EsEnv, id: &str, values: &Value, slice_ms: u64) -> (SyncStatus, u64, String) {
    let config = configuration(&source(), values);
    connector(&env.es, id, &format!("search-{id}"), "graphql", &config).await;
    let j = env
        .es
        .sync_jobs()
        .create(id, JobType::Full, TriggerMethod::OnDemand)
        .await
        .expect("job");
    let (status, slices) = run_to_end(&engine(env, 100), &j, slice_ms).await;
    (status, slices, j)
}

/// Every user, as the server answers them in one request.
async fn server_users(base: &str) -> Vec<Value> {
    let answer: Value = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(
            json!({"query": format!("{{ sampleData {{ users(first: 100000) {{ nodes {{ {FIELDS} }} }} }} }}")})
                .to_string(),
        )
        .send()
        .await
        .expect("the server answers")
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).expect("JSON"))
        .expect("a body");
    answer["data"]["sampleData"]["users"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone()
}

/// The requests the server recorded under `key` (paths with `key-<key>`).
async fn recorded(base: &str, key: &str) -> Vec<Value> {
    let body = reqwest::get(format!("{base}/requests/{key}"))
        .await
        .expect("requests")
        .bytes()
        .await
        .expect("body");
    serde_json::from_slice::<Vec<Value>>(&body).expect("a list")
}

/// The index holds exactly the server's users: every field with its value, in the server's
/// order, then `_timestamp` (the ingest pipeline drops the engine's `_` flags).
fn assert_index_is_the_server_s(docs: &BTreeMap<String, Value>, users: &[Value]) {
    assert_eq!(docs.len(), users.len());
    for user in users {
        let id = user["id"].as_str().expect("string ids");
        let doc = docs[id].as_object().expect("a document");
        let mut want: Vec<&str> = user
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        want.push("_timestamp");
        let keys: Vec<&str> = doc.keys().map(String::as_str).collect();
        assert_eq!(keys, want, "fields of {id}, in order");
        for (k, v) in user.as_object().unwrap() {
            assert_eq!(&doc[k], v, "{k} of {id}");
        }
        let ts = doc["_timestamp"].as_str().expect("_timestamp");
        assert!(ts.ends_with("+00:00") && ts.contains('T'), "{ts}");
    }
}

#[tokio::test]
async fn graphql_full_sync_matches_the_server() {
    let Some(base) = server() else { return };
    let users = server_users(&base).await;
    assert_eq!(users.len(), GRAPHQL_DOC_COUNT);
    let env = EsEnv::start().await;
    let (status, _, j) = sync(
        &env,
        "gql-full",
        &values(&base, "/graphql", json!({})),
        60_000,
    )
    .await;
    assert_eq!(status, SyncStatus::Completed);
    let docs = index_docs(&env.es, "search-gql-full").await;
    assert_index_is_the_server_s(&docs, &users);
    let job = env.es.sync_jobs().get(&j).await.unwrap();
    assert_eq!(job.indexed_document_count, GRAPHQL_DOC_COUNT as u64);
}

#[tokio::test]
async fn graphql_sync_in_slices_and_listing_resume_after_every_page() {
    let Some(base) = server() else { return };
    let users = server_users(&base).await;
    let v = values(
        &base,
        "/graphql",
        json!({"graphql_query": paged_query(Some(40))}),
    );
    let env = EsEnv::start().await;
    let (status, slices, _) = sync(&env, "gql-slices", &v, 1).await;
    assert_eq!(status, SyncStatus::Completed);
    assert!(slices > 10, "the job ran in {slices} slice(s)");
    assert_index_is_the_server_s(&index_docs(&env.es, "search-gql-slices").await, &users);

    // A new source for every page, as a new worker would: the same documents, in order.
    let config = configuration(&source(), &v);
    let listing = list_all(&source(), &config, SyncMode::Full, None, 1000, true).await;
    assert_eq!(listing.pages, GRAPHQL_DOC_COUNT.div_ceil(40));
    let want: Vec<&str> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(listing.order, want);
}

#[tokio::test]
async fn graphql_post_get_and_no_pagination_as_they_reach_the_server() {
    let Some(base) = server() else { return };
    let query = format!(
        "query($n: Int) {{ sampleData {{ users(first: $n) {{ nodes {{ {FIELDS} }} }} }} }}"
    );
    let flat = |method: &str, key: &str, variables: &str| {
        configuration(
            &source(),
            &values(
                &base,
                &format!("/key-{key}/graphql"),
                json!({
                    "http_method": method,
                    "graphql_query": query,
                    "graphql_variables": variables,
                    "pagination_model": "no_pagination",
                    "pagination_key": "",
                }),
            ),
        )
    };
    // POST: {"query", "variables"}, the configured variables as they are.
    let config = flat("post", "post1", "{\"n\": 3}");
    let s = source().build(&config).unwrap();
    s.validate_config().await.unwrap();
    s.ping().await.unwrap();
    let listing = list_all(&source(), &config, SyncMode::Full, None, 1000, false).await;
    assert_eq!(listing.order, ["user_0", "user_1", "user_2"]);
    assert_eq!(listing.pages, 1);
    let requests = recorded(&base, "post1").await;
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0]["body"],
        json!({"query": PING_QUERY, "variables": {"n": 3}})
    );
    assert_eq!(
        requests[1]["body"],
        json!({"query": query, "variables": {"n": 3}})
    );
    assert_eq!(requests[1]["contentType"], json!("application/json"));

    // POST without variables sends `{}`.
    let config = flat("post", "post2", "");
    let listing = list_all(&source(), &config, SyncMode::Full, None, 1000, false).await;
    assert_eq!(listing.docs.len(), 100, "the server's default page");
    assert_eq!(
        recorded(&base, "post2").await[0]["body"]["variables"],
        json!({})
    );

    // GET: only `?query=`, never the variables.
    let config = flat("get", "get1", "{\"n\": 3}");
    let listing = list_all(&source(), &config, SyncMode::Full, None, 1000, false).await;
    assert_eq!(listing.docs.len(), 100);
    let requests = recorded(&base, "get1").await;
    assert_eq!(requests[0]["method"], json!("GET"));
    assert_eq!(requests[0]["query"], json!({"query": query}));
    assert_eq!(requests[0]["body"], Value::Null);
}

#[tokio::test]
async fn graphql_credentials_and_headers() {
    let Some(base) = server() else { return };
    let check = |path: &str, extra: Value| {
        let mut v = values(&base, path, extra);
        v["graphql_query"] = json!(paged_query(Some(500)));
        let config = configuration(&source(), &v);
        async move {
            let s = source().build(&config).unwrap();
            s.validate_config().await?;
            s.ping().await?;
            let listing = list_all(&source(), &config, SyncMode::Full, None, 1000, false).await;
            assert_eq!(listing.docs.len(), GRAPHQL_DOC_COUNT);
            Ok::<(), connectors_sdk::SourceError>(())
        }
    };
    check(
        "/key-bearer1/bearer/graphql",
        json!({"authentication_method": "bearer", "token": GRAPHQL_TOKEN}),
    )
    .await
    .unwrap();
    let first = &recorded(&base, "bearer1").await[0];
    assert_eq!(
        first["authorization"],
        json!(format!("Bearer {GRAPHQL_TOKEN}"))
    );
    check(
        "/basic/graphql",
        json!({"authentication_method": "basic", "username": GRAPHQL_BASIC.0, "password": GRAPHQL_BASIC.1}),
    )
    .await
    .unwrap();
    // The headers field reaches the server as it is.
    let headers = json!({"Authorization": format!("Bearer {GRAPHQL_TOKEN}"), "X-Custom": "yes"});
    check(
        "/key-hdr/bearer/graphql",
        json!({"headers": headers.to_string()}),
    )
    .await
    .unwrap();
    assert_eq!(
        recorded(&base, "hdr").await[0]["headers"],
        json!({"x-custom": "yes"})
    );

    // A wrong token: the reference's message, once (a 401 is not retried), without the token.
    let e = check(
        "/key-wrong/bearer/graphql",
        json!({"authentication_method": "bearer", "token": "wrong-token-123"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.to_string(), UNAUTHORIZED);
    assert_eq!(recorded(&base, "wrong").await.len(), 1);
    let env = EsEnv::start().await;
    let v = values(
        &base,
        "/bearer/graphql",
        json!({"authentication_method": "bearer", "token": "wrong-token-123"}),
    );
    let (status, _, j) = sync(&env, "gql-401", &v, 60_000).await;
    assert_eq!(status, SyncStatus::Error);
    let error = env
        .es
        .connectors()
        .get("gql-401", false)
        .await
        .unwrap()
        .error
        .unwrap_or_default();
    assert!(error.contains(UNAUTHORIZED), "{error}");
    let job_error = env
        .es
        .sync_jobs()
        .get(&j)
        .await
        .unwrap()
        .error
        .unwrap_or_default();
    assert!(!error.contains("wrong-token-123") && !job_error.contains("wrong-token-123"));
}

/// The job's error after a job over `values` that must fail (the connector has the same).
async fn job_error(id: &str, values: &Value) -> String {
    let env = EsEnv::start().await;
    let (status, _, j) = sync(&env, id, values, 60_000).await;
    assert_eq!(status, SyncStatus::Error, "{id}");
    let error = env
        .es
        .sync_jobs()
        .get(&j)
        .await
        .unwrap()
        .error
        .unwrap_or_default();
    let connector = env.es.connectors().get(id, false).await.unwrap();
    assert_eq!(connector.error.as_deref(), Some(error.as_str()));
    error
}

#[tokio::test]
async fn graphql_errors_fail_the_job_with_the_reference_s_message() {
    let Some(base) = server() else { return };
    // A resolver error (HTTP 200 with `errors`), and one query request after the ping: GraphQL
    // errors are not retried.
    let v = values(
        &base,
        "/key-errs/graphql",
        json!({"graphql_query": "{ sampleData { users(first: -1) { nodes { id } } } }", "pagination_model": "no_pagination"}),
    );
    let error = job_error("gql-errors", &v).await;
    assert!(
        error.ends_with("Error while executing query. Exception: [{'message': 'first must be positive, not -1', 'locations': [{'line': 1, 'column': 16}], 'path': ['sampleData', 'users']}]"),
        "{error}"
    );
    assert_eq!(recorded(&base, "errs").await.len(), 2);
    // A query the server's schema refuses.
    let v = values(
        &base,
        "/graphql",
        json!({"graphql_query": "{ sampleData { users { nodes { id nope } } } }", "pagination_model": "no_pagination"}),
    );
    let error = job_error("gql-invalid", &v).await;
    assert!(
        error.ends_with("Error while executing query. Exception: [{'message': 'Cannot query field \"nope\" on type \"User\".', 'locations': [{'line': 1, 'column': 35}], 'extensions': {'code': 'GRAPHQL_VALIDATION_FAILED'}}]"),
        "{error}"
    );
}

#[tokio::test]
async fn graphql_non_string_ids_fail_the_job_and_empty_ones_are_skipped() {
    let Some(base) = server() else { return };
    // `index` 0 is falsy: skipped with a warning; `index` 1 fails the sync.
    let v = values(
        &base,
        "/graphql",
        json!({"graphql_object_to_id_map": "{\"sampleData.users.nodes\": \"index\"}"}),
    );
    let error = job_error("gql-int-id", &v).await;
    assert!(
        error.ends_with("The source failed: 1 is not a string."),
        "{error}"
    );
}

#[tokio::test]
async fn graphql_throttling_statuses_and_unreachable_servers() {
    let Some(base) = server() else { return };
    // Every other request is throttled: the retries make the listing whole.
    let config = configuration(
        &source(),
        &values(
            &base,
            "/key-flaky/flaky/graphql",
            json!({"graphql_query": paged_query(Some(300))}),
        ),
    );
    let listing = list_all(&source(), &config, SyncMode::Full, None, 1000, false).await;
    assert_eq!(listing.docs.len(), GRAPHQL_DOC_COUNT);
    assert_eq!(recorded(&base, "flaky").await.len(), 2 * listing.pages);

    let fetch_error = |path: &str, extra: Value| {
        let config = configuration(&source(), &values(&base, path, extra));
        async move {
            let s = source().build(&config).unwrap();
            s.validate_config().await.unwrap();
            list_error(s.as_ref()).await
        }
    };
    assert_eq!(
        fetch_error("/status-503/graphql", json!({})).await,
        format!(
            "503, message='Service Unavailable', url='{base}/status-503/graphql'. Errors: [{{'message': 'status 503'}}]"
        )
    );
    assert_eq!(
        fetch_error("/html/graphql", json!({})).await,
        format!(
            "200, message='Attempt to decode JSON with unexpected mimetype: text/html', url='{base}/html/graphql'"
        )
    );
    let looping = "query($c: String) { looping(after: $c) { pageInfo { hasNextPage endCursor } nodes { id } } }";
    assert_eq!(
        fetch_error(
            "/graphql",
            json!({"graphql_query": looping, "graphql_object_to_id_map": "{\"looping.nodes\": \"id\"}", "pagination_key": "looping"})
        )
        .await,
        "Pagination does not advance: the page after endCursor loop has the same endCursor. Stopping, as the next request would read the same page again."
    );

    let error = job_error(
        "gql-down",
        &values("http://127.0.0.1:1", "/graphql", json!({})),
    )
    .await;
    assert!(
        error.starts_with("The source is not reachable: Cannot connect to the GraphQL endpoint http://127.0.0.1:1/graphql: error sending request"),
        "{error}"
    );
}

/// `connection_timeout` bounds each attempt.
#[tokio::test]
async fn graphql_connection_timeout_bounds_each_attempt() {
    let Some(base) = server() else { return };
    let error = job_error(
        "gql-slow",
        &values(
            &base,
            "/delay-1500/graphql",
            json!({"connection_timeout": 1}),
        ),
    )
    .await;
    assert_eq!(
        error,
        format!(
            "The source is not reachable: The GraphQL endpoint {base}/delay-1500/graphql did not answer within the connection timeout of 1 s (operation timed out)."
        )
    );
}

/// The error of the first failing page of a listing.
async fn list_error(source: &dyn DataSource) -> String {
    let mut cursor: Option<Value> = None;
    for _ in 0..10 {
        match source
            .fetch_page(connectors_sdk::PageRequest {
                cursor: cursor.as_ref(),
                mode: SyncMode::Full,
                advanced_rules: None,
                page_size: 100,
            })
            .await
        {
            Ok(page) => match page.next {
                Some(n) => cursor = Some(n),
                None => panic!("the listing ended without an error"),
            },
            Err(e) => return e.to_string(),
        }
    }
    panic!("no error in 10 pages")
}

#[tokio::test]
async fn graphql_validation_messages_are_the_reference_s() {
    let base = "http://127.0.0.1:9094";
    let check = |extra: Value| {
        let config = configuration(&source(), &values(base, "/graphql", extra));
        async move {
            match source().build(&config) {
                Ok(s) => s.validate_config().await.err().map(|e| e.to_string()),
                Err(e) => Some(e.to_string()),
            }
        }
    };
    assert_eq!(check(json!({})).await, None);
    let url = "GraphQL HTTP endpoint is not a valid URL.";
    for bad in [
        "dummy_url",
        "http://localhost:4000/graphql",
        "http://graphql:4000/graphql",
    ] {
        assert_eq!(
            check(json!({"http_endpoint": bad})).await.as_deref(),
            Some(url),
            "{bad}"
        );
    }
    let parse = check(json!({"graphql_query": "invalid_query {user {}}"}))
        .await
        .unwrap();
    assert!(
        parse.starts_with("Failed to parse GraphQL query. Error: "),
        "{parse}"
    );
    assert_eq!(
        check(json!({"graphql_query": "mutation { addUser(name: \"x\") { id } }"}))
            .await
            .as_deref(),
        Some(
            "The configured query is either invalid or a mutation which is not supported by the connector."
        )
    );
    assert_eq!(
        check(json!({"headers": "Invalid Headers"}))
            .await
            .as_deref(),
        Some(
            "GraphQL Headers must be in valid JSON format. Exception: Expecting value: line 1 column 1 (char 0)"
        )
    );
    assert_eq!(
        check(json!({"graphql_variables": "Invalid Variables"}))
            .await
            .as_deref(),
        Some(
            "GraphQL Variables must be in valid JSON format. Exception: Expecting value: line 1 column 1 (char 0)"
        )
    );
    assert_eq!(
        check(json!({"graphql_object_to_id_map": "{\"sampleData.users.nodes\" \"id\"}"}))
            .await
            .as_deref(),
        Some(
            "GraphQL Objects to ID mapping must be in valid JSON format. Exception: Expecting ':' delimiter: line 1 column 27 (char 26)"
        )
    );
    let issues = "query {organization {repository { issues {name}}}}";
    assert_eq!(
        check(json!({"graphql_query": issues, "graphql_object_to_id_map": "{\"organization.repository.pullRequest\": \"id\"}", "pagination_model": "no_pagination"})).await.as_deref(),
        Some("organization.repository.pullRequest is not present in the query.")
    );
    assert_eq!(
        check(json!({"graphql_query": issues, "graphql_object_to_id_map": "{\"organization.repository.issues\": \"id\"}", "pagination_model": "no_pagination"})).await.as_deref(),
        Some("id is not present in the query.")
    );
    assert_eq!(
        check(json!({"pagination_key": "sampleData.people"}))
            .await
            .as_deref(),
        Some("sampleData.people is not present in the query.")
    );
    // The reference's sync-time check, here at validation.
    assert_eq!(
        check(json!({"graphql_query": "query($c: String) { sampleData { users(after: $c) { nodes { id } } } }"})).await.as_deref(),
        Some("Pagination is enabled but 'pageInfo' not found. Please include 'pageInfo' field inside 'users' and 'after' argument in 'users'.")
    );
    // What the reference does not catch.
    let literal = check(json!({"graphql_query": "{ sampleData { users(after: \"MTAw\") { pageInfo { endCursor hasNextPage } nodes { id } } } }"})).await.unwrap();
    assert!(
        literal.contains("the 'after' argument of 'users' is a literal value"),
        "{literal}"
    );
    let get = check(json!({"http_method": "get"})).await.unwrap();
    assert!(
        get.starts_with("Cursor-based pagination needs the POST method"),
        "{get}"
    );

    // The field checks the engine runs first.
    let mut config = configuration(
        &source(),
        &values(base, "/graphql", json!({"http_endpoint": ""})),
    );
    let errors = validate_configuration(&config);
    assert_eq!(
        errors[0].message,
        "'GraphQL HTTP endpoint' cannot be empty."
    );
    config["authentication_method"].value = json!("bearer");
    let errors = validate_configuration(&config);
    assert_eq!(errors[1].message, "'Bearer Token' cannot be empty.");
}

/// The published configuration is the reference's, as its framework merges each field over
/// `DEFAULT_CONFIGURATION`.
#[test]
fn graphql_schema_is_the_reference_s() {
    let field = |extra: Value| {
        let mut f = json!({"default_value": null, "depends_on": [], "display": "text", "label": "", "options": [], "order": 1, "required": true, "sensitive": false, "tooltip": null, "type": "str", "ui_restrictions": [], "validations": [], "value": ""});
        for (k, v) in extra.as_object().unwrap() {
            f[k] = v.clone();
        }
        f
    };
    let expected = json!({
        "http_endpoint": field(json!({"label": "GraphQL HTTP endpoint", "order": 1})),
        "http_method": field(json!({"display": "dropdown", "label": "HTTP method for GraphQL requests", "options": [{"label": "GET", "value": "get"}, {"label": "POST", "value": "post"}], "order": 2, "value": "post"})),
        "authentication_method": field(json!({"display": "dropdown", "label": "Authentication Method", "options": [{"label": "No Auth", "value": "none"}, {"label": "Basic Auth", "value": "basic"}, {"label": "Bearer Token", "value": "bearer"}], "order": 3, "value": "none"})),
        "username": field(json!({"depends_on": [{"field": "authentication_method", "value": "basic"}], "label": "Username", "order": 4})),
        "password": field(json!({"depends_on": [{"field": "authentication_method", "value": "basic"}], "label": "Password", "order": 5, "sensitive": true})),
        "token": field(json!({"depends_on": [{"field": "authentication_method", "value": "bearer"}], "label": "Bearer Token", "order": 6, "sensitive": true})),
        "graphql_query": field(json!({"display": "textarea", "label": "GraphQL Body", "order": 7})),
        "graphql_variables": field(json!({"depends_on": [{"field": "http_method", "value": "post"}], "display": "textarea", "label": "Graphql Variables", "order": 8, "required": false})),
        "graphql_object_to_id_map": field(json!({"display": "textarea", "label": "GraphQL Objects to ID mapping", "order": 9, "tooltip": "Specifies which GraphQL objects should be indexed as individual documents. This allows finer control over indexing, ensuring only relevant data sections from the GraphQL response are stored as separate documents. Use a JSON with key as the GraphQL object name and value as string field within the document, with the requirement that each document must have a distinct value for this field. Use '.' to provide full path of the object from the root of the response. For example {'organization.users.nodes': 'id'}"})),
        "headers": field(json!({"label": "Headers", "order": 10, "required": false})),
        "pagination_model": field(json!({"display": "dropdown", "label": "Pagination model", "options": [{"label": "No pagination", "value": "no_pagination"}, {"label": "Cursor-based pagination", "value": "cursor_pagination"}], "order": 11, "tooltip": "For cursor-based pagination, add 'pageInfo' and an 'after' argument variable in your query at the desired node (Pagination key). Use 'after' query argument with a variable to iterate through pages. Detailed examples and setup instructions are available in the docs.", "value": "no_pagination"})),
        "pagination_key": field(json!({"depends_on": [{"field": "pagination_model", "value": "cursor_pagination"}], "label": "Pagination key", "order": 12, "tooltip": "Specifies which GraphQL object is used for pagination. Use '.' to provide full path of the object from the root of the response. For example 'organization.users'"})),
        "connection_timeout": field(json!({"default_value": 300, "display": "numeric", "label": "Connection Timeout", "order": 13, "required": false, "type": "int", "ui_restrictions": ["advanced"]})),
    });
    let source = GraphQlSource::default();
    assert_eq!(source.service_type(), "graphql");
    assert_eq!(source.name(), "GraphQL");
    let published = serde_json::to_value(source.default_configuration()).unwrap();
    assert_eq!(published, expected);
    // Byte for byte, field order and key order included.
    assert_eq!(published.to_string(), expected.to_string());
    assert!(connectors_sources::registry().get("graphql").is_some());
}

/// The conformance kit over users the test writes to a file the server serves
/// (`/data-<name>/graphql`), with Bearer credentials as the secret.
struct Users {
    base: String,
    file: std::path::PathBuf,
    users: BTreeMap<usize, u32>,
}

impl Users {
    fn first_name(i: usize, version: u32) -> String {
        if version == 0 {
            format!("user {i}")
        } else {
            format!("user {i}, changed")
        }
    }

    fn write(&self) {
        let users: Vec<Value> = self
            .users
            .iter()
            .map(|(i, v)| {
                json!({"id": format!("conf_{i}"), "index": i, "first_name": Self::first_name(*i, *v),
                    "updatedAt": "2024-01-01T00:00:00Z", "description": "", "address": null, "tags": []})
            })
            .collect();
        std::fs::write(&self.file, serde_json::to_vec(&users).unwrap()).unwrap();
    }
}

impl connectors_testkit::conformance::Subject for Users {
    fn descriptor(&self) -> Box<dyn SourceDescriptor> {
        Box::new(source())
    }
    fn values(&self) -> Value {
        values(
            &self.base,
            "/data-conformance/bearer/graphql",
            json!({"authentication_method": "bearer", "token": GRAPHQL_TOKEN,
                "graphql_query": paged_query(Some(3))}),
        )
    }
    async fn seed(&mut self, n: usize) {
        self.users = (0..n).map(|i| (i, 0)).collect();
        self.write();
    }
    async fn update(&mut self, i: usize) {
        self.users.insert(i, 1);
        self.write();
    }
    async fn delete(&mut self, i: usize) {
        self.users.remove(&i);
        self.write();
    }
    async fn insert(&mut self, i: usize) {
        self.users.insert(i, 0);
        self.write();
    }
    fn id(&self, i: usize) -> String {
        format!("conf_{i}")
    }
    fn expected(&self, i: usize, version: u32) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("first_name".into(), json!(Self::first_name(i, version)));
        m.insert("index".into(), json!(i));
        m
    }
    fn rule_field(&self, i: usize) -> (String, String) {
        ("first_name".into(), Self::first_name(i, 0))
    }
    fn required_field(&self) -> &'static str {
        "http_endpoint"
    }
    fn secret(&self) -> Option<String> {
        Some(GRAPHQL_TOKEN.into())
    }
}

#[tokio::test]
async fn graphql_conforms() {
    let Some(base) = server() else { return };
    let mut users = Users {
        base,
        file: emulator::graphql_data_dir().join("conformance.json"),
        users: BTreeMap::new(),
    };
    connectors_testkit::conformance::check(&mut users).await;
}
