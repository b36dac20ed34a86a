//! The `network_drive` source against a private Samba server (started by the test kit on a free
//! loopback port, never 445): full syncs compared file by file with the share, a listing resumed
//! by a new source after every page, incremental syncs with exact deletions, advanced rules,
//! document-level security (permissions from each file's DACL, identities from the mappings
//! file, restricted searches through an API key), and the connector errors of wrong
//! credentials, a missing share and an unreachable server.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::{Features, JobType, SyncStatus, TriggerMethod};
use connectors_sdk::{DataSource, PageRequest, SourceDescriptor, SourceItem, SyncMode};
use connectors_sources::network_drive::NetworkDriveSource;
use connectors_sources::objects::Limits;
use connectors_testkit::samba::{self, PASSWORD, USER, sid};
use connectors_testkit::{EsEnv, configuration, connector, index_docs, list_all, run_to_end};
use serde_json::{Value, json};

fn source() -> NetworkDriveSource {
    NetworkDriveSource {
        limits: Limits {
            incremental_margin: chrono::Duration::zero(),
            ..Limits::default()
        },
    }
}

/// A fresh folder of the share for one test, and its configuration values.
fn folder(server: &samba::Samba, name: &str) -> (PathBuf, Value) {
    let dir = server.share.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let values = json!({
        "username": USER,
        "password": PASSWORD,
        "server_ip": "127.0.0.1",
        "server_port": server.port,
        "drive_path": format!("files/{name}"),
    });
    (dir, values)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn engine(env: &EsEnv, page_size: usize) -> Engine {
    let mut registry = connectors_sources::registry();
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

async fn run(env: &EsEnv, engine: &Engine, id: &str, job_type: JobType) -> (SyncStatus, String) {
    let job = env
        .es
        .sync_jobs()
        .create(id, job_type, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let (status, _) = run_to_end(engine, &job, 1).await;
    (status, job)
}

/// The reference's naive `isoformat()` of a Unix time.
fn iso(secs: i64, nanos: i64) -> String {
    let dt = chrono::DateTime::from_timestamp(secs, nanos as u32).unwrap();
    let micros = nanos / 1000;
    let base = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    if micros == 0 {
        base
    } else {
        format!("{base}.{micros:06}")
    }
}

/// What the share holds under `dir`, as the reference's documents would say, by `path`.
fn expected(dir: &Path, root_path: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(dir.to_path_buf(), root_path.to_string())];
    while let Some((d, p)) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().to_string();
            let path = format!("{p}\\{name}");
            let meta = e.metadata().unwrap();
            let is_dir = meta.is_dir();
            out.insert(
                path.clone(),
                json!({
                    "title": name,
                    "type": if is_dir { "folder" } else { "file" },
                    "size": if is_dir { 0 } else { meta.len() },
                }),
            );
            if is_dir {
                stack.push((e.path(), path));
            }
        }
    }
    out
}

#[tokio::test]
async fn network_drive_full_incremental_and_resume() {
    let Some(server) = samba::samba() else { return };
    let (dir, values) = folder(server, "walk");
    write(&dir.join("a.txt"), "hello alpha");
    write(&dir.join("sub/b.md"), "# bravo");
    write(&dir.join("sub/deep/c.csv"), "x,y\n1,2\n");
    write(&dir.join("unicode ü name.txt"), "unicode charlie");
    write(&dir.join("picture.png"), "not really a png");
    write(&dir.join("noext"), "no extension");
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    for i in 0..25 {
        write(&dir.join(format!("many/f{i:02}.txt")), &format!("file {i}"));
    }
    let root = "\\\\127.0.0.1/files/walk";
    let want = expected(&dir, root);

    // A new source for every page of two entries, as a new worker would resume.
    let config = configuration(&source(), &values);
    let listing = list_all(&source(), &config, SyncMode::Full, None, 2, true).await;
    let by_path: BTreeMap<String, &serde_json::Map<String, Value>> = listing
        .docs
        .values()
        .map(|d| (d["path"].as_str().unwrap().to_string(), d))
        .collect();
    assert_eq!(
        by_path.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert_eq!(listing.order.len(), want.len(), "no entry listed twice");
    for (path, w) in &want {
        let d = by_path[path];
        let keys: Vec<&str> = d.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "path",
                "size",
                "_id",
                "created_at",
                "_timestamp",
                "type",
                "title"
            ]
        );
        assert_eq!(d["title"], w["title"], "{path}");
        assert_eq!(d["type"], w["type"], "{path}");
        if w["type"] == "file" {
            assert_eq!(d["size"], w["size"], "{path}");
        }
        let rel = path.strip_prefix(root).unwrap().trim_start_matches('\\');
        let meta = std::fs::metadata(dir.join(rel.replace('\\', "/"))).unwrap();
        // Samba's file id is the inode number.
        assert_eq!(d["_id"], json!(meta.ino().to_string()), "{path}");
        // Samba reports the change time as the file's ctime (or mtime when newer).
        let change = [
            iso(meta.ctime(), meta.ctime_nsec()),
            iso(meta.mtime(), meta.mtime_nsec()),
        ];
        assert!(
            change.contains(&d["_timestamp"].as_str().unwrap().to_string()),
            "{path}: {} not in {change:?}",
            d["_timestamp"]
        );
    }

    // Through the engine, in 1 ms slices: documents, content, counts.
    let env = EsEnv::start().await;
    connector(&env.es, "nd", "search-nd", "network_drive", &config).await;
    let engine = engine(&env, 3);
    let (status, _) = run(&env, &engine, "nd", JobType::Full).await;
    assert_eq!(status, SyncStatus::Completed);
    let docs = index_docs(&env.es, "search-nd").await;
    assert_eq!(docs.len(), want.len());
    let body_of = |title: &str| {
        docs.values()
            .find(|d| d["title"] == json!(title))
            .map(|d| d.get("body").cloned())
            .unwrap()
    };
    assert_eq!(body_of("a.txt"), Some(json!("hello alpha")));
    assert_eq!(
        body_of("unicode ü name.txt"),
        Some(json!("unicode charlie"))
    );
    assert_eq!(
        body_of("picture.png"),
        None,
        "unsupported types are not downloaded"
    );
    assert_eq!(body_of("noext"), None);
    assert_eq!(body_of("sub"), None);
    for (id, d) in &docs {
        assert_eq!(d["id"], json!(id));
    }
    let first_ids: Vec<String> = docs.keys().cloned().collect();

    // Changes: one file rewritten, one deleted with its folder, one added.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // (Created before the deletion: Samba's file ids are inode numbers, which a new file may
    // take over from a deleted one, as on any share.)
    write(&dir.join("new.txt"), "new delta");
    write(&dir.join("a.txt"), "hello again");
    std::fs::remove_dir_all(dir.join("sub/deep")).unwrap();

    // The incremental listing sends the changed entries (and the folders whose listing
    // changed) and reports the rest unchanged.
    let connector_doc = env.es.connectors().get("nd", false).await.unwrap();
    let cursor = connector_doc.sync_cursor.clone().expect("a sync cursor");
    let built = source().build(&config).unwrap();
    let (sent, unchanged) = incremental_listing(built.as_ref(), &cursor).await;
    let mut sent_titles: Vec<String> = sent
        .iter()
        .map(|d| d["title"].as_str().unwrap().to_string())
        .collect();
    sent_titles.sort();
    for must in ["a.txt", "new.txt"] {
        assert!(sent_titles.contains(&must.to_string()), "{sent_titles:?}");
    }
    for title in &sent_titles {
        assert!(
            ["a.txt", "new.txt", "sub", "walk"].contains(&title.as_str()),
            "{title} did not change"
        );
    }
    assert!(unchanged.len() >= want.len() - 4, "{unchanged:?}");

    let (status, job) = run(&env, &engine, "nd", JobType::Incremental).await;
    assert_eq!(status, SyncStatus::Completed);
    let job_doc = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(job_doc.deleted_document_count, 2, "deep/ and deep/c.csv");
    let docs = index_docs(&env.es, "search-nd").await;
    assert_eq!(docs.len(), want.len() - 2 + 1);
    assert_eq!(
        docs.values()
            .find(|d| d["title"] == json!("a.txt"))
            .unwrap()["body"],
        json!("hello again")
    );
    // Ids are stable: what was not deleted kept its id.
    let kept = first_ids.iter().filter(|id| docs.contains_key(*id)).count();
    assert_eq!(kept, want.len() - 2);
}

async fn incremental_listing(
    source: &dyn DataSource,
    sync_cursor: &Value,
) -> (Vec<serde_json::Map<String, Value>>, Vec<String>) {
    let mut cursor = None;
    let (mut sent, mut unchanged) = (Vec::new(), Vec::new());
    loop {
        let page = source
            .fetch_page(PageRequest {
                cursor: cursor.as_ref(),
                mode: SyncMode::Incremental {
                    sync_cursor: Some(sync_cursor),
                },
                advanced_rules: None,
                page_size: 7,
            })
            .await
            .unwrap();
        for item in page.items {
            match item {
                SourceItem::Upsert(d) => sent.push(d.fields),
                SourceItem::Unchanged(id) => unchanged.push(id),
                other => panic!("unexpected {other:?}"),
            }
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => return (sent, unchanged),
        }
    }
}

#[tokio::test]
async fn network_drive_advanced_rules_select_by_pattern() {
    let Some(server) = samba::samba() else { return };
    let (dir, values) = folder(server, "rules");
    write(&dir.join("top.md"), "top");
    write(&dir.join("a/one.md"), "one");
    write(&dir.join("a/two.txt"), "two");
    write(&dir.join("a/b/three.md"), "three");
    let config = configuration(&source(), &values);
    let rules = json!([{"pattern": "files/rules/a/**/*.md"}, {"pattern": "files/rules/*.md"}, {"pattern": "files/rules/a/*.md"}]);
    let listing = list_all(&source(), &config, SyncMode::Full, Some(&rules), 1, true).await;
    let mut titles: Vec<&str> = listing
        .docs
        .values()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(titles, ["one.md", "three.md", "top.md"]);
    let one = listing
        .docs
        .values()
        .find(|d| d["title"] == json!("one.md"))
        .unwrap();
    assert_eq!(one["path"], json!("\\\\127.0.0.1/files/rules/a/\\one.md"));

    let built = source().build(&config).unwrap();
    assert_eq!(
        built
            .validate_advanced_rules(&json!([{"pattern": "/abs"}]))
            .await,
        ["SMB Path should not start with '/' in the beginning. Incorrect path: {'/abs'}"]
    );
}

#[tokio::test]
async fn network_drive_errors_name_the_problem() {
    let Some(server) = samba::samba() else { return };
    let (_, values) = folder(server, "errors");
    let with = |patch: Value| {
        let mut v = values.clone();
        for (k, x) in patch.as_object().unwrap() {
            v[k] = x.clone();
        }
        configuration(&source(), &v)
    };
    let ping = |c| async move { source().build(&c).unwrap().ping().await };
    let e = ping(with(json!({"password": "wrong-one"})))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("username or password is wrong"), "{e}");
    assert!(
        !e.contains("wrong-one"),
        "the password is never in a message"
    );
    let e = ping(with(json!({"drive_path": "nosuchshare/x"})))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("The share 'nosuchshare' does not exist"), "{e}");
    let closed = connectors_testkit::emulator::free_port();
    let e = ping(with(json!({"server_port": closed})))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("(127.0.0.1:{closed})")), "{e}");
    let e = source()
        .build(&with(json!({"drive_path": "/files"})))
        .unwrap()
        .validate_config()
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "SMB Path:/files should not start with '/' in the beginning."
    );

    // Through the engine: the job fails and says why.
    let env = EsEnv::start().await;
    connector(
        &env.es,
        "bad",
        "search-bad",
        "network_drive",
        &with(json!({"password": "nope"})),
    )
    .await;
    let engine = engine(&env, 10);
    let (status, job) = run(&env, &engine, "bad", JobType::Full).await;
    assert_eq!(status, SyncStatus::Error);
    let job_doc = env.es.sync_jobs().get(&job).await.unwrap();
    let error = job_doc.error.unwrap_or_default();
    assert!(error.contains("username or password is wrong"), "{error}");
}

#[test]
fn network_drive_schema_is_the_reference_s() {
    let expected = json!({
      "username": {"default_value": null, "depends_on": [], "display": "text", "label": "Username", "options": [], "order": 1, "required": true, "sensitive": false, "tooltip": null, "type": "str", "ui_restrictions": [], "validations": [], "value": ""},
      "password": {"default_value": null, "depends_on": [], "display": "text", "label": "Password", "options": [], "order": 2, "required": true, "sensitive": true, "tooltip": null, "type": "str", "ui_restrictions": [], "validations": [], "value": ""},
      "server_ip": {"default_value": null, "depends_on": [], "display": "text", "label": "SMB IP", "options": [], "order": 3, "required": true, "sensitive": false, "tooltip": null, "type": "str", "ui_restrictions": [], "validations": [], "value": ""},
      "server_port": {"default_value": null, "depends_on": [], "display": "numeric", "label": "SMB port", "options": [], "order": 4, "required": true, "sensitive": false, "tooltip": null, "type": "int", "ui_restrictions": [], "validations": [], "value": ""},
      "drive_path": {"default_value": null, "depends_on": [], "display": "text", "label": "SMB path", "options": [], "order": 5, "required": true, "sensitive": false, "tooltip": null, "type": "str", "ui_restrictions": [], "validations": [], "value": ""},
      "use_document_level_security": {"default_value": null, "depends_on": [], "display": "toggle", "label": "Enable document level security", "options": [], "order": 6, "required": true, "sensitive": false, "tooltip": "Document level security ensures identities and permissions set in your network drive are mirrored in Elasticsearch. This enables you to restrict and personalize read-access users and groups have to documents in this index. Access control syncs ensure this metadata is kept up to date in your Elasticsearch documents.", "type": "bool", "ui_restrictions": [], "validations": [], "value": false},
      "drive_type": {"default_value": null, "depends_on": [{"field": "use_document_level_security", "value": true}], "display": "dropdown", "label": "Drive type", "options": [{"label": "Windows", "value": "windows"}, {"label": "Linux", "value": "linux"}], "order": 7, "required": true, "sensitive": false, "tooltip": null, "type": "str", "ui_restrictions": ["advanced"], "validations": [], "value": "windows"},
      "identity_mappings": {"default_value": null, "depends_on": [{"field": "use_document_level_security", "value": true}, {"field": "drive_type", "value": "linux"}], "display": "text", "label": "Path of CSV file containing users and groups SID (For Linux Network Drive)", "options": [], "order": 8, "required": false, "sensitive": false, "tooltip": null, "type": "str", "ui_restrictions": ["advanced"], "validations": [], "value": ""},
      "use_text_extraction_service": {"default_value": null, "depends_on": [], "display": "toggle", "label": "Use text extraction service", "options": [], "order": 9, "required": true, "sensitive": false, "tooltip": "Requires a separate deployment of the Elastic Text Extraction Service. Requires that pipeline settings disable text extraction.", "type": "bool", "ui_restrictions": ["advanced"], "validations": [], "value": false}
    });
    let got = serde_json::to_value(source().default_configuration()).unwrap();
    assert_eq!(got, expected);
    let f = source().features();
    assert!(f.document_level_security && f.incremental_sync && f.advanced_rules);
}

/// Document-level security end to end: permissions on content documents, identities in the
/// ACL index, a search through an API key carrying the identity's query seeing only what the
/// user may see, and changes of ACLs and users reflected by the next syncs.
#[tokio::test]
async fn network_drive_document_level_security() {
    let Some(server) = samba::samba() else { return };
    let (dir, mut values) = folder(server, "dls");
    let (alice, bob, team) = (sid(1001), sid(1002), sid(2001));
    let owner = format!("O:{alice}G:{team}");
    for (name, dacl) in [
        ("alice.txt", format!("(A;;FA;;;{alice})")),
        ("bob.txt", format!("(A;;FA;;;{bob})")),
        ("team.txt", format!("(A;;FA;;;{team})")),
        ("nobody.txt", format!("(A;;FA;;;{alice})(D;;FA;;;{alice})")),
        (
            "readonly.txt",
            format!("(A;;0x1200a9;;;{bob})(D;;0x116;;;{alice})"),
        ),
    ] {
        let path = dir.join(name);
        write(&path, &format!("content of {name}"));
        server.set_acl(&path, &format!("{owner}D:{dacl}"));
    }
    server.set_acl(&dir, &format!("{owner}D:(A;;FA;;;{alice})(A;;FA;;;{bob})"));
    let mappings = std::env::temp_dir().join(format!("nd-mappings-{}.csv", std::process::id()));
    std::fs::write(&mappings, format!("alice;{alice};{team}\nbob;{bob};\n")).unwrap();
    values["use_document_level_security"] = json!(true);
    values["drive_type"] = json!("linux");
    values["identity_mappings"] = json!(mappings.display().to_string());
    let config = configuration(&source(), &values);

    // With security on, so that API keys carry their role descriptors.
    let env = EsEnv::start_with(es_sim::SimConfig {
        security: Some(es_sim::Security {
            username: "elastic".into(),
            password: "changeme".into(),
        }),
        ..es_sim::SimConfig::default()
    })
    .await;
    connector(&env.es, "dls", "search-dls", "network_drive", &config).await;
    env.es
        .connectors()
        .update_features("dls", &source().features().to_features())
        .await
        .unwrap();
    let engine = engine(&env, 2);
    let (status, _) = run(&env, &engine, "dls", JobType::Full).await;
    assert_eq!(status, SyncStatus::Completed);
    let docs = index_docs(&env.es, "search-dls").await;
    let allowed = |title: &str| -> Vec<String> {
        let d = docs.values().find(|d| d["title"] == json!(title)).unwrap();
        serde_json::from_value(d["_allow_access_control"].clone()).unwrap()
    };
    let s = |x: &str| format!("sid:{x}");
    assert_eq!(allowed("alice.txt"), [s(&alice)]);
    assert_eq!(allowed("bob.txt"), [s(&bob)]);
    assert_eq!(allowed("team.txt"), [s(&team)]);
    assert!(allowed("nobody.txt").is_empty(), "a deny beats an allow");
    // A deny of writing only (mask 278) counts as an allow, as in the reference.
    let mut ro = allowed("readonly.txt");
    ro.sort();
    let mut want = vec![s(&alice), s(&bob)];
    want.sort();
    assert_eq!(ro, want);

    // The access-control sync writes the reference's identity documents.
    let (status, ac_job) = run(&env, &engine, "dls", JobType::AccessControl).await;
    assert_eq!(status, SyncStatus::Completed);
    let acl = index_docs(&env.es, ".search-acl-filter-search-dls").await;
    assert_eq!(acl.len(), 2);
    let a = &acl[&alice];
    assert_eq!(
        a["identity"],
        json!({"username": "user:alice", "user_id": s(&alice)})
    );
    assert_eq!(
        a["query"]["template"]["params"]["access_control"],
        json!([s(&alice), "user:alice", s(&team)])
    );
    assert_eq!(
        a["query"]["template"]["source"],
        json!(connectors_sdk::access_control::DLS_QUERY)
    );
    assert_eq!(a["id"], json!(alice));
    assert!(a["created_at"].as_str().unwrap().ends_with("+00:00"));
    assert!(
        a.get("_extract_binary_content").is_none(),
        "no pipeline flags on identities"
    );
    let connector_doc = env.es.connectors().get("dls", false).await.unwrap();
    assert_eq!(
        connector_doc.last_access_control_sync_status,
        Some(SyncStatus::Completed)
    );
    let job_doc = env.es.sync_jobs().get(&ac_job).await.unwrap();
    assert_eq!(job_doc.indexed_document_count, 2);

    // A search with alice's API key sees her documents only.
    let visible = visible_titles(&env, &a["query"]).await;
    // An empty `_allow_access_control` (a DACL that allows nobody) is not indexed, so the
    // reference's query lets everyone see it: the reference's behaviour, kept.
    assert_eq!(
        visible,
        ["alice.txt", "nobody.txt", "readonly.txt", "team.txt"]
    );
    let b = acl[&bob].clone();
    let visible = visible_titles(&env, &b["query"]).await;
    assert_eq!(visible, ["bob.txt", "nobody.txt", "readonly.txt"]);

    // Bob's file is shared with alice; bob leaves.
    server.set_acl(
        &dir.join("bob.txt"),
        &format!("{owner}D:(A;;FA;;;{bob})(A;;FA;;;{alice})"),
    );
    std::fs::write(&mappings, format!("alice;{alice};{team}\n")).unwrap();
    let (status, _) = run(&env, &engine, "dls", JobType::Full).await;
    assert_eq!(status, SyncStatus::Completed);
    let (status, ac_job) = run(&env, &engine, "dls", JobType::AccessControl).await;
    assert_eq!(status, SyncStatus::Completed);
    let job_doc = env.es.sync_jobs().get(&ac_job).await.unwrap();
    assert_eq!(job_doc.deleted_document_count, 1, "bob's identity");
    let acl = index_docs(&env.es, ".search-acl-filter-search-dls").await;
    assert_eq!(acl.keys().collect::<Vec<_>>(), [&alice]);
    let visible = visible_titles(&env, &acl[&alice]["query"]).await;
    assert_eq!(
        visible,
        [
            "alice.txt",
            "bob.txt",
            "nobody.txt",
            "readonly.txt",
            "team.txt"
        ]
    );
    let _ = std::fs::remove_file(&mappings);

    // Without the connector's feature, an access-control job fails and says so.
    env.es
        .connectors()
        .update_features("dls", &Features::declared(true, true, true, false))
        .await
        .unwrap();
    let (status, job) = run(&env, &engine, "dls", JobType::AccessControl).await;
    assert_eq!(status, SyncStatus::Error);
    let error = env
        .es
        .sync_jobs()
        .get(&job)
        .await
        .unwrap()
        .error
        .unwrap_or_default();
    assert!(
        error.contains("Document level security is not enabled"),
        "{error}"
    );
}

/// Titles a search through an API key restricted by `query` (an identity's role-descriptor
/// query) returns, sorted.
async fn visible_titles(env: &EsEnv, query: &Value) -> Vec<String> {
    let http = reqwest::Client::new();
    let base = env.sim.url();
    let key: Value = http
        .post(format!("{base}/_security/api_key"))
        .basic_auth("elastic", Some("changeme"))
        .header("Content-Type", "application/json")
        .body(
            json!({
                "name": "dls-test",
                "role_descriptors": {"dls": {"indices": [{
                    "names": ["search-dls"], "privileges": ["read"], "query": query
                }]}}
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let encoded = key["encoded"].as_str().expect("an API key").to_string();
    let found: Value = http
        .post(format!("{base}/search-dls/_search"))
        .header("Authorization", format!("ApiKey {encoded}"))
        .header("Content-Type", "application/json")
        .body(json!({"size": 100, "_source": ["title"]}).to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let mut titles: Vec<String> = found["hits"]["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("{found}"))
        .iter()
        .map(|h| h["_source"]["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    titles
}

/// With the connector's DLS feature on and an access-control schedule, the scheduler creates
/// access-control jobs like content jobs.
#[tokio::test]
async fn network_drive_access_control_syncs_are_scheduled() {
    use connectors_engine::queue::MemoryQueue;
    use connectors_engine::scheduler::{Scheduler, SchedulerConfig, ServedConnector};
    use connectors_protocol::{ScheduleEntry, Scheduling};

    let Some(server) = samba::samba() else { return };
    let (_, mut values) = folder(server, "scheduled");
    values["use_document_level_security"] = json!(true);
    let env = EsEnv::start().await;
    let config = configuration(&source(), &values);
    connector(&env.es, "sched", "search-sched", "network_drive", &config).await;
    let connectors = env.es.connectors();
    connectors
        .update_features("sched", &source().features().to_features())
        .await
        .unwrap();
    let every_second = ScheduleEntry {
        enabled: true,
        interval: "* * * * * ?".into(),
        extra: Default::default(),
    };
    connectors
        .update_scheduling(
            "sched",
            // Elasticsearch rejects a body with `access_control` alone.
            &Scheduling {
                full: Some(ScheduleEntry {
                    enabled: false,
                    ..every_second.clone()
                }),
                access_control: Some(every_second),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let scheduler = Scheduler::new(
        engine(&env, 10),
        Arc::new(MemoryQueue::new()),
        SchedulerConfig {
            connectors: vec![ServedConnector {
                connector_id: "sched".into(),
                service_type: None,
            }],
            ..SchedulerConfig::default()
        },
    );
    // Last scheduled two minutes ago: a run is due.
    let two_minutes_ago =
        connectors_protocol::Timestamp(chrono::Utc::now() - chrono::Duration::minutes(2));
    connectors
        .update_last_sync(
            "sched",
            &es_client::LastSyncUpdate {
                last_access_control_sync_scheduled_at: Some(two_minutes_ago),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let pass = scheduler.schedule_only().await.unwrap();
    assert_eq!(pass.scheduled, 1);
    let jobs = env
        .es
        .sync_jobs()
        .list(&es_client::SyncJobListParams {
            connector_id: Some("sched".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(jobs.results.len(), 1);
    let job = &jobs.results[0];
    assert_eq!(job.job_type, JobType::AccessControl);
    assert_eq!(job.trigger_method, TriggerMethod::Scheduled);
    assert_eq!(
        job.connector.index_name.as_deref(),
        Some(".search-acl-filter-search-sched")
    );
}

/// The conformance kit over a folder of the share.
struct Share {
    dir: PathBuf,
    values: Value,
}

impl Share {
    fn path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("item-{i:02}.txt"))
    }

    fn text(i: usize, version: u32) -> String {
        if version == 0 {
            format!("item {i}")
        } else {
            format!("item {i}, changed")
        }
    }
}

impl connectors_testkit::conformance::Subject for Share {
    fn descriptor(&self) -> Box<dyn SourceDescriptor> {
        Box::new(source())
    }
    fn values(&self) -> Value {
        self.values.clone()
    }
    async fn seed(&mut self, n: usize) {
        for e in std::fs::read_dir(&self.dir).unwrap() {
            std::fs::remove_file(e.unwrap().path()).unwrap();
        }
        for i in 0..n {
            self.insert(i).await;
        }
    }
    async fn update(&mut self, i: usize) {
        write(&self.path(i), &Self::text(i, 1));
    }
    async fn delete(&mut self, i: usize) {
        std::fs::remove_file(self.path(i)).unwrap();
    }
    async fn insert(&mut self, i: usize) {
        write(&self.path(i), &Self::text(i, 0));
    }
    fn id(&self, i: usize) -> String {
        std::fs::metadata(self.path(i))
            .map(|m| m.ino().to_string())
            .unwrap_or_default()
    }
    fn expected(&self, i: usize, version: u32) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("title".into(), json!(format!("item-{i:02}.txt")));
        m.insert("size".into(), json!(Self::text(i, version).len()));
        m.insert("body".into(), json!(Self::text(i, version)));
        m
    }
    fn rule_field(&self, i: usize) -> (String, String) {
        ("title".into(), format!("item-{i:02}.txt"))
    }
    fn required_field(&self) -> &'static str {
        "server_ip"
    }
    fn secret(&self) -> Option<String> {
        Some(PASSWORD.into())
    }
}

#[tokio::test]
async fn network_drive_conforms() {
    let Some(server) = samba::samba() else { return };
    let (dir, values) = folder(server, "conformance");
    connectors_testkit::conformance::check(&mut Share { dir, values }).await;
}
