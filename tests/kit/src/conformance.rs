//! The conformance kit: the properties every source must have, checked against its real server
//! (or emulator) through the engine and an isolated es-sim. A source's test describes how to
//! create and change its data ([`Subject`]); [`check`] does the rest:
//!
//! 1. a full sync, cut into 1 ms slices of small pages, gives one document per item, each with
//!    the fields the subject expects, and no secret in any log line;
//! 2. a second full sync keeps every `_id` and deletes nothing;
//! 3. a listing resumed by a new source after every page of one item gives the same documents;
//! 4. after deleting two items, a full sync deletes exactly two documents;
//! 5. when the source declares incremental syncs: after an update, a deletion and an insertion,
//!    an incremental sync leaves the index equal to the source;
//! 6. a basic sync rule excluding one item's value leaves that item out;
//! 7. a configuration without a required field is refused with a message naming its label.
//!
//! See `docs/writing-a-source.md`.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::{
    BasicRule, Configuration, FilteringValidation, JobType, SyncStatus, TriggerMethod,
    validate_configuration,
};
use connectors_sdk::{PageRequest, SourceDescriptor, SourceRegistry, SyncMode, normalise_id};
use serde_json::{Map, Value, json};

use crate::{EsEnv, configuration, connector, fast_engine_config, index_docs, run_to_end};

/// How many items [`check`] seeds.
pub const ITEMS: usize = 12;

/// A source under test and its data. Items are numbered; item `i` exists after
/// [`Subject::seed`] for `i < n`, or after [`Subject::insert`].
#[allow(async_fn_in_trait)]
pub trait Subject {
    /// The source (a new instance each call; descriptors are small values).
    fn descriptor(&self) -> Box<dyn SourceDescriptor>;
    /// Configuration values that reach the subject's data.
    fn values(&self) -> Value;
    /// Makes the source hold exactly items `0..n`, as first written (version 0).
    async fn seed(&mut self, n: usize);
    /// Changes item `i` (version 1).
    async fn update(&mut self, i: usize);
    /// Removes item `i`.
    async fn delete(&mut self, i: usize);
    /// Adds item `i` (version 0).
    async fn insert(&mut self, i: usize);
    /// The `_id` of item `i`'s document, as the reference writes it.
    fn id(&self, i: usize) -> String;
    /// Fields (a subset) item `i`'s document has at `version`.
    fn expected(&self, i: usize, version: u32) -> Map<String, Value>;
    /// A document field, and item `i`'s value of it, for an `equals` sync rule.
    fn rule_field(&self, i: usize) -> (String, String);
    /// The key of a required configuration field.
    fn required_field(&self) -> &'static str;
    /// A secret among [`Subject::values`] (a password), which no log line may contain.
    fn secret(&self) -> Option<String> {
        None
    }
    /// Whether incremental syncs delete what was removed (else only full syncs do, as for the
    /// database sources).
    fn incremental_deletes(&self) -> bool {
        true
    }
}

/// Runs every check; panics with the first property that does not hold.
pub async fn check(subject: &mut impl Subject) {
    let service_type = subject.descriptor().service_type();
    let config = configuration(&*subject.descriptor(), &subject.values());
    let env = EsEnv::start().await;
    let index = format!("search-conformance-{service_type}");
    connector(&env.es, "conformance", &index, service_type, &config).await;
    let features = subject.descriptor().features();
    env.es
        .connectors()
        .update_features("conformance", &features.to_features())
        .await
        .expect("features");
    let engine = engine(&env, subject);
    let all: Vec<usize> = (0..ITEMS).collect();

    // 1. A full sync in slices, logs captured.
    subject.seed(ITEMS).await;
    let logs = Logs::default();
    let (status, job) = {
        let _capture = logs.capture();
        sync(&env, &engine, JobType::Full).await
    };
    assert_eq!(status, SyncStatus::Completed, "{service_type}: full sync");
    let docs = index_docs(&env.es, &index).await;
    assert_ids(subject, &docs, &all, "full sync");
    for i in &all {
        assert_fields(subject, &docs, *i, 0);
    }
    assert_eq!(counts(&env, &job).await.0, ITEMS as u64, "indexed count");
    if let Some(secret) = subject.secret() {
        let text = logs.text();
        assert!(!text.is_empty(), "{service_type}: no log was captured");
        assert!(
            !text.contains(&secret),
            "{service_type}: a log line holds the secret"
        );
    }

    // 2. Stable ids.
    let (status, job) = sync(&env, &engine, JobType::Full).await;
    assert_eq!(status, SyncStatus::Completed);
    assert_eq!(
        counts(&env, &job).await.1,
        0,
        "{service_type}: a second full sync deleted"
    );
    assert_ids(
        subject,
        &index_docs(&env.es, &index).await,
        &all,
        "second full sync",
    );

    // 3. Resumption after every page, by a new source each time.
    let order = resumed_listing(&*subject.descriptor(), &config).await;
    let listed: BTreeSet<String> = order.iter().cloned().collect();
    let want: BTreeSet<String> = all.iter().map(|i| subject.id(*i)).collect();
    assert_eq!(listed, want, "{service_type}: resumed listing");
    assert_eq!(order.len(), ITEMS, "{service_type}: an item listed twice");

    // 4. Exact deletions.
    subject.delete(0).await;
    subject.delete(1).await;
    let (status, job) = sync(&env, &engine, JobType::Full).await;
    assert_eq!(status, SyncStatus::Completed);
    assert_eq!(
        counts(&env, &job).await.1,
        2,
        "{service_type}: deleted count"
    );
    let mut live: Vec<usize> = (2..ITEMS).collect();
    assert_ids(
        subject,
        &index_docs(&env.es, &index).await,
        &live,
        "after deletions",
    );

    // 5. Incremental syncs.
    if features.incremental_sync {
        // Sources compare modification times with the previous sync's start.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        subject.update(2).await;
        // Inserted before the deletion: file systems hand a deleted file's inode (which some
        // sources use as the id, as SMB does) to the next new file.
        subject.insert(ITEMS).await;
        subject.delete(3).await;
        let (status, job) = sync(&env, &engine, JobType::Incremental).await;
        assert_eq!(status, SyncStatus::Completed, "{service_type}: incremental");
        let docs = index_docs(&env.es, &index).await;
        live.retain(|i| *i != 3 || !subject.incremental_deletes());
        live.push(ITEMS);
        assert_ids(subject, &docs, &live, "incremental sync");
        assert_fields(subject, &docs, 2, 1);
        assert_fields(subject, &docs, ITEMS, 0);
        if subject.incremental_deletes() {
            assert_eq!(
                counts(&env, &job).await.1,
                1,
                "{service_type}: incremental deletions"
            );
        }
        // Bring the index back to the source for the next check.
        subject.seed(ITEMS).await;
    } else {
        subject.seed(ITEMS).await;
    }

    // 6. A basic rule.
    let (field, value) = subject.rule_field(4);
    activate_rule(&env, &field, &value).await;
    let (status, _) = sync(&env, &engine, JobType::Full).await;
    assert_eq!(
        status,
        SyncStatus::Completed,
        "{service_type}: sync with a rule"
    );
    let docs = index_docs(&env.es, &index).await;
    assert!(
        !docs.contains_key(&subject.id(4)),
        "{service_type}: the rule {field} = {value} did not exclude item 4"
    );
    assert!(
        docs.contains_key(&subject.id(5)),
        "{service_type}: the rule excluded too much"
    );

    // 7. Validation names the field.
    let mut bad: Configuration = config.clone();
    let key = subject.required_field();
    let label = bad
        .get(key)
        .unwrap_or_else(|| panic!("{service_type}: no field {key}"))
        .label
        .clone();
    if let Some(f) = bad.get_mut(key) {
        f.value = json!("");
    }
    let errors = validate_configuration(&bad);
    assert!(
        errors.iter().any(|e| e.message.contains(&label)),
        "{service_type}: an empty '{key}' was not refused by name: {errors:?}"
    );
}

fn engine(env: &EsEnv, subject: &impl Subject) -> Engine {
    let mut registry = SourceRegistry::new();
    registry.register(subject.descriptor());
    Engine::new(
        env.es.clone(),
        Arc::new(registry),
        EngineConfig {
            page_size: 5,
            ..fast_engine_config()
        },
    )
}

/// The ids of a full listing asking for one-item pages (a hint some sources round up), with a
/// new source for every page, as a new worker would resume.
async fn resumed_listing(descriptor: &dyn SourceDescriptor, config: &Configuration) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<Value> = None;
    for _ in 0..10_000 {
        let source = descriptor.build(config).expect("build");
        let page = source
            .fetch_page(PageRequest {
                cursor: cursor.as_ref(),
                mode: SyncMode::Full,
                advanced_rules: None,
                page_size: 1,
            })
            .await
            .expect("page");
        for item in page.items {
            if let Some(doc) = item.to_document() {
                let id = doc
                    .fields
                    .get("_id")
                    .and_then(normalise_id)
                    .expect("an _id");
                ids.push(id);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return ids,
        }
    }
    panic!("{}: the listing does not end", descriptor.service_type())
}

async fn sync(env: &EsEnv, engine: &Engine, kind: JobType) -> (SyncStatus, String) {
    let job = env
        .es
        .sync_jobs()
        .create("conformance", kind, TriggerMethod::OnDemand)
        .await
        .expect("job");
    let (status, _) = run_to_end(engine, &job, 1).await;
    (status, job)
}

/// The job's (indexed, deleted) counts.
async fn counts(env: &EsEnv, job: &str) -> (u64, u64) {
    let j = env.es.sync_jobs().get(job).await.expect("job");
    (j.indexed_document_count, j.deleted_document_count)
}

fn assert_ids(
    subject: &impl Subject,
    docs: &std::collections::BTreeMap<String, Value>,
    items: &[usize],
    when: &str,
) {
    let got: BTreeSet<&String> = docs.keys().collect();
    let want_ids: Vec<String> = items.iter().map(|i| subject.id(*i)).collect();
    let want: BTreeSet<&String> = want_ids.iter().collect();
    assert_eq!(
        got,
        want,
        "{}: documents after the {when}",
        subject.descriptor().service_type()
    );
}

fn assert_fields(
    subject: &impl Subject,
    docs: &std::collections::BTreeMap<String, Value>,
    i: usize,
    version: u32,
) {
    let id = subject.id(i);
    let doc = docs.get(&id).unwrap_or_else(|| panic!("no document {id}"));
    for (k, v) in subject.expected(i, version) {
        assert_eq!(
            doc.get(&k),
            Some(&v),
            "{}: field {k} of item {i} (version {version})",
            subject.descriptor().service_type()
        );
    }
}

/// Makes an `equals` exclude rule the connector's active rules.
async fn activate_rule(env: &EsEnv, field: &str, value: &str) {
    let rules: Vec<BasicRule> = serde_json::from_value(json!([
        {"id": "exclude-one", "policy": "exclude", "field": field, "rule": "equals", "value": value, "order": 0},
        {"id": "DEFAULT", "policy": "include", "field": "_", "rule": "regex", "value": ".*", "order": 1},
    ]))
    .expect("rules");
    let c = env.es.connectors();
    c.update_filtering_draft("conformance", Some(&rules), None)
        .await
        .expect("draft");
    c.update_filtering_validation("conformance", &FilteringValidation::valid())
        .await
        .expect("validation");
    c.activate_filtering("conformance").await.expect("activate");
}

/// Log lines written while a capture guard lives (on this thread: tests run on tokio's
/// current-thread runtime).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Values with `extra` set over `base` (both objects).
pub fn with(base: &Value, extra: Value) -> Value {
    let mut v = base.clone();
    if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in extra {
            v.insert(k.clone(), x.clone());
        }
    }
    v
}
