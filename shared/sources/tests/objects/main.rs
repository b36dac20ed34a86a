//! The object-store sources against real emulators (moto for S3, azurite for Azure Blob,
//! fake-gcs-server for Google Cloud Storage), each started by the test kit on a free port: a full
//! sync compared object by object with the source's listing (nested prefixes, unicode and spaces,
//! an empty object, a PDF for extraction, an object over the size cap, user metadata), a listing
//! resumed by a new source after every page, updates and deletions with exact counts, an
//! incremental sync that sends only what changed, throttling injected by a proxy, and the errors
//! of a missing bucket and of wrong credentials.

mod azure;
mod gcs;
mod s3;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::{JobType, SyncStatus, TriggerMethod};
use connectors_sdk::{SourceDescriptor, SourceRegistry, SyncMode};
use connectors_sources::objects::Limits;
use connectors_testkit::objects::StoreClient;
use connectors_testkit::{EsEnv, configuration, connector, index_docs, list_all, run_to_end};
use serde_json::{Map, Value, json};

/// The size cap of these tests: `big.txt` is over it.
pub const CAP: u64 = 2048;

/// A provider as the tests drive it: its emulator, and the calls that set up objects.
#[allow(async_fn_in_trait)]
pub trait Provider {
    fn service_type(&self) -> &'static str;
    /// The source, reaching the emulator at `endpoint` (the proxy's, for throttling tests).
    fn descriptor(&self, endpoint: &str, limits: Limits) -> Box<dyn SourceDescriptor>;
    /// The emulator's own endpoint.
    fn endpoint(&self) -> String;
    /// Configuration values listing `containers`, reaching `endpoint`.
    fn values(&self, endpoint: &str, containers: &[&str]) -> Value;
    /// What sets up buckets and objects.
    fn client(&self) -> &impl StoreClient;
    /// What a throttled request gets from this provider.
    fn throttled(&self) -> String;
}

/// A bucket/container name unique to this run (lower case, digits and hyphens).
pub fn name(prefix: &str) -> String {
    connectors_testkit::unique(prefix)
        .replace('_', "-")
        .to_lowercase()
}

/// A one-page PDF whose text is `text` (ASCII), with a correct cross-reference table.
pub fn pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<</Type/Catalog/Pages 2 0 R>>".to_string(),
        "<</Type/Pages/Kids[3 0 R]/Count 1>>".to_string(),
        "<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Resources<</Font<</F1 4 0 R>>>>/Contents 5 0 R>>".to_string(),
        "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>".to_string(),
        format!("<</Length {}>>\nstream\n{content}\nendstream", content.len()),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<</Size {}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// An object of a fixture: key, content, user metadata.
pub type Object = (String, Vec<u8>, Vec<(&'static str, &'static str)>);

/// The objects of the first container.
pub fn fixture() -> Vec<Object> {
    let mut objects = vec![
        ("a/b/c/deep.txt".to_string(), b"deep text".to_vec(), vec![]),
        (
            "dossier é/naïve file.txt".to_string(),
            "unicode ü text".as_bytes().to_vec(),
            vec![],
        ),
        ("empty.txt".to_string(), Vec::new(), vec![]),
        ("doc.pdf".to_string(), pdf("Hello object store"), vec![]),
        (
            "big.txt".to_string(),
            vec![b'x'; CAP as usize + 100],
            vec![],
        ),
        (
            "meta.txt".to_string(),
            b"with metadata".to_vec(),
            vec![("origin", "tests"), ("team", "search")],
        ),
        (
            "image.png".to_string(),
            vec![0x89, b'P', b'N', b'G'],
            vec![],
        ),
        ("noext".to_string(), b"no extension".to_vec(), vec![]),
    ];
    for i in 0..25 {
        objects.push((
            format!("many/{i:03}.txt"),
            format!("object {i}").into_bytes(),
            vec![],
        ));
    }
    objects
}

fn registry(descriptor: Box<dyn SourceDescriptor>) -> Arc<SourceRegistry> {
    let mut r = SourceRegistry::new();
    r.register(descriptor);
    Arc::new(r)
}

pub fn limits() -> Limits {
    Limits {
        max_content_bytes: CAP,
        incremental_margin: chrono::Duration::seconds(1),
    }
}

fn engine(env: &EsEnv, registry: Arc<SourceRegistry>, page_size: usize) -> Engine {
    Engine::new(
        env.es.clone(),
        registry,
        EngineConfig {
            page_size,
            ..connectors_testkit::fast_engine_config()
        },
    )
}

async fn job(env: &EsEnv, connector: &str, kind: JobType) -> String {
    env.es
        .sync_jobs()
        .create(connector, kind, TriggerMethod::OnDemand)
        .await
        .expect("job")
}

/// Every listed document is in the index with the same fields (plus `id`, and `body` where the
/// text was extracted), and nothing else is.
fn assert_index_matches(
    index: &BTreeMap<String, Value>,
    listing: &BTreeMap<String, Map<String, Value>>,
) {
    assert_eq!(
        index.keys().collect::<Vec<_>>(),
        listing.keys().collect::<Vec<_>>(),
        "the index holds exactly the listed objects"
    );
    for (id, fields) in listing {
        let doc = &index[id];
        for (k, v) in fields {
            if k != "_id" {
                assert_eq!(&doc[k], v, "field {k} of {id}");
            }
        }
        assert_eq!(doc["id"], json!(id));
    }
}

/// The `body` of the document whose `key_field` is `key`.
fn body_of<'a>(index: &'a BTreeMap<String, Value>, key_field: &str, key: &str) -> Option<&'a str> {
    index
        .values()
        .find(|d| d[key_field] == json!(key))
        .unwrap_or_else(|| panic!("no document for {key}"))
        .get("body")
        .and_then(Value::as_str)
}

/// Full sync (in many short slices), listing resumed by a new source after every page, updates
/// and deletions, and an incremental sync.
pub async fn full_then_changes_then_incremental<P: Provider>(p: &P, key_field: &str) {
    connectors_testkit::init_logs();
    let (c1, c2) = (name("one"), name("two"));
    p.client().create(&c1).await;
    p.client().create(&c2).await;
    for (key, bytes, meta) in fixture() {
        p.client().put(&c1, &key, &bytes, &meta).await;
    }
    for i in 0..5 {
        p.client()
            .put(
                &c2,
                &format!("second/{i}.txt"),
                format!("second {i}").as_bytes(),
                &[],
            )
            .await;
    }
    let total = fixture().len() + 5;
    // Incremental syncs look back by the margin (1 s here): let the uploads age past it.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let env = EsEnv::start().await;
    let endpoint = p.endpoint();
    let descriptor = p.descriptor(&endpoint, limits());
    let config = configuration(descriptor.as_ref(), &p.values(&endpoint, &[&c1, &c2]));
    let index = name("search-objects");
    connector(&env.es, "objects", &index, p.service_type(), &config).await;
    let engine = engine(&env, registry(p.descriptor(&endpoint, limits())), 4);

    let j = job(&env, "objects", JobType::Full).await;
    let (status, slices) = run_to_end(&engine, &j, 1).await;
    assert_eq!(status, SyncStatus::Completed);
    assert!(slices > 1, "the job ran in {slices} slice(s)");
    let listing = list_all(descriptor.as_ref(), &config, SyncMode::Full, None, 3, true).await;
    assert_eq!(listing.docs.len(), total);
    let docs = index_docs(&env.es, &index).await;
    assert_index_matches(&docs, &listing.docs);
    let stats = env.es.sync_jobs().get(&j).await.unwrap();
    assert_eq!(stats.indexed_document_count, total as u64);

    // The same sync split by container, run by two workers, gives the same index.
    let split_index = name("search-split");
    connector(&env.es, "split", &split_index, p.service_type(), &config).await;
    let split = job(&env, "split", JobType::Full).await;
    let workers: Vec<Engine> = (0..2)
        .map(|_| {
            Engine::new(
                env.es.clone(),
                registry(p.descriptor(&endpoint, limits())),
                EngineConfig {
                    page_size: 4,
                    max_partitions: 4,
                    lease_ttl: Duration::from_secs(5),
                    ..connectors_testkit::fast_engine_config()
                },
            )
        })
        .collect();
    let report = connectors_testkit::pool::run_pool(
        &workers,
        &env.es,
        &split,
        None,
        connectors_testkit::pool::PoolOptions::default(),
    )
    .await;
    assert_eq!(report.status, SyncStatus::Completed);
    assert_eq!(index_docs(&env.es, &split_index).await, docs);
    let stats = env.es.sync_jobs().get(&split).await.unwrap();
    assert_eq!(stats.indexed_document_count, total as u64);
    let meta = stats.metadata.unwrap_or_default();
    assert_eq!(meta["partitions"].as_object().map(|p| p.len()), Some(2));
    assert_eq!(
        body_of(&docs, key_field, "a/b/c/deep.txt"),
        Some("deep text")
    );
    assert_eq!(
        body_of(&docs, key_field, "dossier é/naïve file.txt"),
        Some("unicode ü text")
    );
    assert_eq!(body_of(&docs, key_field, "meta.txt"), Some("with metadata"));
    let pdf_text = body_of(&docs, key_field, "doc.pdf").unwrap_or_default();
    assert!(pdf_text.contains("Hello object store"), "{pdf_text:?}");
    for no_content in ["big.txt", "image.png", "noext"] {
        assert_eq!(body_of(&docs, key_field, no_content), None, "{no_content}");
    }

    // Changes, then a full sync: exact deletions.
    p.client()
        .put(&c1, "a/b/c/deep.txt", b"deep text, changed", &[])
        .await;
    p.client().delete(&c1, "image.png").await;
    p.client()
        .put(&c2, "second/new.txt", b"new object", &[])
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (stats, gone, docs, listing) = sync_and_compare(
        &env,
        &engine,
        descriptor.as_ref(),
        &config,
        &index,
        JobType::Full,
        &listing,
    )
    .await;
    assert_eq!(
        body_of(&docs, key_field, "a/b/c/deep.txt"),
        Some("deep text, changed")
    );
    assert_eq!(stats.deleted_document_count, gone as u64);
    assert!(gone >= 1);

    // An incremental sync sends only what changed since the previous sync, and deletes exactly.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    p.client()
        .put(&c1, "many/001.txt", b"object 1, changed", &[])
        .await;
    p.client().delete(&c1, "many/002.txt").await;
    let (stats, gone, docs, _) = sync_and_compare(
        &env,
        &engine,
        descriptor.as_ref(),
        &config,
        &index,
        JobType::Incremental,
        &listing,
    )
    .await;
    assert_eq!(
        body_of(&docs, key_field, "many/001.txt"),
        Some("object 1, changed")
    );
    assert_eq!(
        stats.indexed_document_count, 1,
        "only the changed object is sent"
    );
    assert_eq!(stats.deleted_document_count, gone as u64);
}

/// Runs a job of `kind` to its end and checks the index against a new listing; returns the job,
/// how many of the documents of `before` are gone, the index and the listing.
async fn sync_and_compare(
    env: &EsEnv,
    engine: &Engine,
    descriptor: &dyn SourceDescriptor,
    config: &connectors_protocol::Configuration,
    index: &str,
    kind: JobType,
    before: &connectors_testkit::Listing,
) -> (
    connectors_protocol::SyncJob,
    usize,
    BTreeMap<String, Value>,
    connectors_testkit::Listing,
) {
    let j = job(env, "objects", kind).await;
    assert_eq!(
        run_to_end(engine, &j, 60_000).await.0,
        SyncStatus::Completed
    );
    let listing = list_all(descriptor, config, SyncMode::Full, None, 50, false).await;
    let gone = before
        .docs
        .keys()
        .filter(|id| !listing.docs.contains_key(*id))
        .count();
    let docs = index_docs(&env.es, index).await;
    assert_index_matches(&docs, &listing.docs);
    let stats = env.es.sync_jobs().get(&j).await.unwrap();
    (stats, gone, docs, listing)
}

/// Throttling answers on the first requests are retried and the sync completes.
pub async fn throttling_is_retried<P: Provider>(p: &P) {
    connectors_testkit::init_logs();
    let c = name("throttled");
    p.client().create(&c).await;
    for i in 0..3 {
        p.client().put(&c, &format!("{i}.txt"), b"text", &[]).await;
    }
    let proxy = connectors_testkit::fault::FaultProxy::start(&p.endpoint(), 2, p.throttled()).await;
    let env = EsEnv::start().await;
    let descriptor = p.descriptor(&proxy.endpoint, limits());
    let config = configuration(descriptor.as_ref(), &p.values(&proxy.endpoint, &[&c]));
    let index = name("search-throttled");
    connector(&env.es, "throttled", &index, p.service_type(), &config).await;
    let engine = engine(&env, registry(descriptor), 100);
    let j = job(&env, "throttled", JobType::Full).await;
    assert_eq!(
        run_to_end(&engine, &j, 60_000).await.0,
        SyncStatus::Completed
    );
    assert_eq!(proxy.served(), 2, "both throttling answers were given");
    assert_eq!(index_docs(&env.es, &index).await.len(), 3);
}

/// A job whose source fails ends in error, with a connector error that contains `expect` and
/// not `secret`.
pub async fn job_fails_with<P: Provider>(
    p: &P,
    descriptor: Box<dyn SourceDescriptor>,
    values: Value,
    expect: &str,
    secret: Option<&str>,
) {
    connectors_testkit::init_logs();
    let env = EsEnv::start().await;
    let config = configuration(descriptor.as_ref(), &values);
    let index = name("search-failing");
    connector(&env.es, "failing", &index, p.service_type(), &config).await;
    let engine = engine(&env, registry(descriptor), 100);
    let j = job(&env, "failing", JobType::Full).await;
    assert_eq!(run_to_end(&engine, &j, 60_000).await.0, SyncStatus::Error);
    let c = env.es.connectors().get("failing", false).await.unwrap();
    let error = c.error.clone().unwrap_or_default();
    assert!(
        error.contains(expect),
        "connector error {error:?} should contain {expect:?}"
    );
    if let Some(secret) = secret {
        assert!(
            !error.contains(secret),
            "the connector error leaks the secret: {error}"
        );
        // (The job document carries the connector's configuration, as the reference's does;
        // its error must not repeat the secret.)
        let job = env.es.sync_jobs().get(&j).await.unwrap();
        let job_error = job.error.unwrap_or_default();
        assert!(
            !job_error.contains(secret),
            "the job error leaks the secret: {job_error}"
        );
    }
}

/// The configuration each source publishes is the reference's (`get_simple_configuration` of
/// its `get_default_configuration`), except that S3's keys are optional here: empty keys mean
/// the worker's own credentials.
#[test]
fn published_schemas_are_the_reference_s() {
    use connectors_sources::objects::{azure::AzureBlobSource, gcs::GcsSource, s3::S3Source};
    let extraction = json!({"default_value": null, "depends_on": [], "display": "toggle", "label": "Use text extraction service", "options": [], "order": 0, "required": true, "sensitive": false, "tooltip": "Requires a separate deployment of the Elastic Text Extraction Service. Requires that pipeline settings disable text extraction.", "type": "bool", "ui_restrictions": ["advanced"], "validations": [], "value": false});
    let with_order = |mut v: Value, order: i64| {
        v["order"] = json!(order);
        v
    };
    let int = |label: &str, order: i64, default: i64| json!({"default_value": default, "depends_on": [], "display": "numeric", "label": label, "options": [], "order": order, "required": false, "sensitive": false, "tooltip": null, "type": "int", "ui_restrictions": ["advanced"], "validations": [], "value": ""});
    let text = |label: &str, order: i64, required: bool, sensitive: bool| json!({"default_value": null, "depends_on": [], "display": "text", "label": label, "options": [], "order": order, "required": required, "sensitive": sensitive, "tooltip": null, "type": "str", "ui_restrictions": [], "validations": [], "value": ""});
    let list = |label: &str, tooltip: Value| json!({"default_value": null, "depends_on": [], "display": "textarea", "label": label, "options": [], "order": 1, "required": true, "sensitive": false, "tooltip": tooltip, "type": "list", "ui_restrictions": [], "validations": [], "value": ""});
    let s3 = json!({
        "buckets": list("AWS Buckets", json!("AWS Buckets are ignored when Advanced Sync Rules are used.")),
        "aws_access_key_id": text("AWS Access Key Id", 2, false, false),
        "aws_secret_access_key": text("AWS Secret Key", 3, false, true),
        "read_timeout": int("Read timeout", 4, 90),
        "connect_timeout": int("Connection timeout", 5, 90),
        "max_attempts": int("Maximum retry attempts", 6, 5),
        "page_size": int("Maximum size of page", 7, 100),
        "use_text_extraction_service": with_order(extraction.clone(), 8),
    });
    let mut containers = list("Azure Blob Storage containers", Value::Null);
    containers["order"] = json!(4);
    let mut downloads = int("Maximum concurrent downloads", 6, 100);
    downloads["validations"] = json!([{"type": "less_than", "constraint": 101}]);
    let azure = json!({
        "account_name": text("Azure Blob Storage account name", 1, true, false),
        "account_key": text("Azure Blob Storage account key", 2, true, false),
        "blob_endpoint": text("Azure Blob Storage blob endpoint", 3, true, false),
        "containers": containers,
        "retry_count": int("Retries per request", 5, 3),
        "concurrent_downloads": downloads,
        "use_text_extraction_service": with_order(extraction.clone(), 7),
    });
    let mut credentials = text("Google Cloud service account JSON", 2, true, true);
    credentials["display"] = json!("textarea");
    let gcs = json!({
        "buckets": list("Google Cloud Storage buckets", Value::Null),
        "service_account_credentials": credentials,
        "use_text_extraction_service": with_order(extraction, 3),
    });
    for (descriptor, expected) in [
        (
            Box::new(S3Source::default()) as Box<dyn SourceDescriptor>,
            s3,
        ),
        (Box::new(AzureBlobSource::default()), azure),
        (Box::new(GcsSource::default()), gcs),
    ] {
        let published = serde_json::to_value(descriptor.default_configuration()).unwrap();
        assert_eq!(published, expected, "{}", descriptor.service_type());
        let keys: Vec<&String> = published.as_object().unwrap().keys().collect();
        let want: Vec<&String> = expected.as_object().unwrap().keys().collect();
        assert_eq!(keys, want, "field order of {}", descriptor.service_type());
    }
}
