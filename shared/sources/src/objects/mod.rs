//! Object stores: one source over a small per-provider [`Store`] trait. The providers are the
//! reference's `s3`, `azure_blob_storage` and `google_cloud_storage` connectors; each writes the
//! reference's configuration schema and documents, and this module does what they share:
//!
//! - **Streamed, resumable listing.** A sync lists [`Scope`]s (a bucket or container, possibly
//!   narrowed by a prefix and extensions) one provider page at a time. The cursor holds the scope
//!   and the provider's continuation token (S3 marker, Azure `NextMarker`, GCS `pageToken`), so a
//!   slice resumes mid-bucket and memory does not grow with the number of objects.
//! - **Incremental syncs** (none of the reference's three has them). The cursor of a completed
//!   sync is the time its listing started; the next incremental sync lists everything (cheap)
//!   but sends only objects modified since then (less [`INCREMENTAL_MARGIN`]), reporting the
//!   others as unchanged, so the engine deletes exactly the objects that are gone and nothing is
//!   downloaded twice.
//! - **Downloads** of objects whose extension the reference extracts and whose size is within the
//!   cap, read with the cap enforced while streaming; the engine extracts the text.
//! - **Errors.** Wrong credentials or a missing bucket end the job with a message naming it; any
//!   other failure to list a bucket (after the provider's retries) keeps its documents (not swept)
//!   and the sync goes on with the next bucket.

pub mod azure;
pub mod gcs;
pub mod s3;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use connectors_sdk::{
    Content, DataSource, Page, PageRequest, PartitionRequest, SourceDocument, SourceError,
    SourceItem, SyncMode, UnreadScope, normalise_id,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tracing::warn;

/// How far before the previous sync's start an incremental sync looks for changes: covers clock
/// skew between the store and the worker, timestamps cut to the second, and uploads that were
/// in flight when it listed.
pub const INCREMENTAL_MARGIN: Duration = Duration::minutes(15);

/// What every object-store source is given by the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `service.max_file_download_size`: larger objects are indexed without content, and a
    /// download stops there.
    pub max_content_bytes: u64,
    /// See [`INCREMENTAL_MARGIN`].
    pub incremental_margin: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_content_bytes: crate::dir::DEFAULT_MAX_CONTENT_BYTES,
            incremental_margin: INCREMENTAL_MARGIN,
        }
    }
}

/// One object as a provider lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The object's name in its container (key, blob name).
    pub key: String,
    pub size: u64,
    /// For incremental syncs; `None` sends the object every time.
    pub modified: Option<DateTime<Utc>>,
    /// The document, in the reference's field order, with `_id` and `_timestamp`.
    pub document: Map<String, Value>,
    /// Whether the provider would download it at all (Azure: not archived, not empty).
    pub downloadable: bool,
}

/// One provider page.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub objects: Vec<Listed>,
    /// The continuation token of the next page; `None` at the end of the scope.
    pub next: Option<String>,
}

/// A part of the store to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub container: String,
    /// Only keys starting with this (empty: all).
    #[serde(default)]
    pub prefix: String,
    /// Only keys with one of these extensions, compared exactly (`None`: all).
    #[serde(default)]
    pub extensions: Option<Vec<String>>,
}

impl Scope {
    pub fn whole(container: impl Into<String>) -> Self {
        Scope {
            container: container.into(),
            prefix: String::new(),
            extensions: None,
        }
    }

    fn admits(&self, key: &str) -> bool {
        self.extensions.as_ref().is_none_or(|exts| {
            let ext = connectors_sdk::extract::extension(key);
            exts.iter().any(|e| e == ext)
        })
    }
}

/// What a provider does.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The document field that holds the container's name (`bucket`, `container`, ...).
    fn container_field(&self) -> &'static str;

    async fn ping(&self) -> Result<(), SourceError>;

    /// The scopes of a sync without advanced rules: the configured containers, or all.
    async fn scopes(&self) -> Result<Vec<Scope>, SourceError>;

    /// Up to `max` objects of `scope` after `token`.
    async fn list(
        &self,
        scope: &Scope,
        token: Option<&str>,
        max: usize,
    ) -> Result<Listing, SourceError>;

    /// The object's bytes; `Ok(None)` when it is larger than `max` bytes.
    async fn read(
        &self,
        container: &str,
        key: &str,
        max: u64,
    ) -> Result<Option<Vec<u8>>, SourceError>;

    /// The scopes of advanced rules, for providers that have them.
    fn rule_scopes(&self, _rules: &Value) -> Option<Result<Vec<Scope>, SourceError>> {
        None
    }

    /// Problems of advanced rules, one message each.
    fn validate_rules(&self, _rules: &Value) -> Vec<String> {
        vec!["This source does not support advanced sync rules.".to_string()]
    }

    /// The reference's Azure source indexes a document whose download failed without content;
    /// the others drop it.
    fn keeps_document_without_content(&self) -> bool {
        false
    }

    /// Objects per provider page, at most.
    fn page_size(&self, hint: usize) -> usize {
        hint.clamp(1, 1000)
    }
}

/// A configured object-store source.
pub struct ObjectSource<S> {
    store: S,
    limits: Limits,
    /// The scopes of the current job, listed once per process.
    scopes: Mutex<Option<(Option<Value>, Vec<Scope>)>>,
}

impl<S: Store> ObjectSource<S> {
    pub fn new(store: S, limits: Limits) -> Self {
        ObjectSource {
            store,
            limits,
            scopes: Mutex::new(None),
        }
    }

    async fn scopes(&self, rules: Option<&Value>) -> Result<Vec<Scope>, SourceError> {
        let rules = rules.filter(|r| has_rules(r)).cloned();
        let mut cached = self.scopes.lock().await;
        if let Some((for_rules, scopes)) = cached.as_ref()
            && *for_rules == rules
        {
            return Ok(scopes.clone());
        }
        let scopes = match rules.as_ref().and_then(|r| self.store.rule_scopes(r)) {
            Some(scopes) => scopes?,
            None => self.store.scopes().await?,
        };
        *cached = Some((rules, scopes.clone()));
        Ok(scopes)
    }

    fn item(&self, object: Listed, scope: &Scope, since: Option<DateTime<Utc>>) -> SourceItem {
        if let Some(since) = since
            && object.modified.is_some_and(|m| m < since)
            && let Some(id) = object.document.get("_id").and_then(normalise_id)
        {
            return SourceItem::Unchanged(id);
        }
        let extractable = connectors_sdk::extract::is_supported(&object.key.to_lowercase());
        let download =
            (object.downloadable && extractable && object.size <= self.limits.max_content_bytes)
                .then(|| json!({ "c": scope.container, "k": object.key }));
        SourceItem::Upsert(SourceDocument {
            fields: object.document,
            download,
        })
    }
}

/// The reference's `has_advanced_rules`: a value that is not empty.
pub(crate) fn has_rules(rules: &Value) -> bool {
    match rules {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Where a listing stands.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// Index of the scope being listed, and its container (to find it again if the list of
    /// containers changed between slices).
    scope: usize,
    container: String,
    token: Option<String>,
    /// When this sync's listing started (RFC 3339): the next incremental sync's cursor.
    started: String,
    /// A partition's listing ends before this scope (by index; its container beside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<(usize, String)>,
}

/// The time after which an incremental sync sends objects.
fn changed_since(mode: SyncMode<'_>, margin: Duration) -> Option<DateTime<Utc>> {
    let SyncMode::Incremental {
        sync_cursor: Some(cursor),
    } = mode
    else {
        return None;
    };
    let started = cursor.get("timestamp")?.as_str()?;
    let started = DateTime::parse_from_rfc3339(started).ok()?.to_utc();
    Some(started - margin)
}

#[async_trait]
impl<S: Store> DataSource for ObjectSource<S> {
    async fn ping(&self) -> Result<(), SourceError> {
        self.store.ping().await
    }

    async fn validate_advanced_rules(&self, rules: &Value) -> Vec<String> {
        self.store.validate_rules(rules)
    }

    fn incremental_lists_everything(&self) -> bool {
        true
    }

    /// Full syncs of two or more scopes (buckets or containers, or advanced rules) split into
    /// runs of consecutive scopes.
    async fn partitions(&self, request: PartitionRequest<'_>) -> Result<Vec<Value>, SourceError> {
        let scopes = self.scopes(request.advanced_rules).await?;
        let n = request.max.min(scopes.len());
        if n < 2 {
            return Ok(Vec::new());
        }
        let started = Utc::now().to_rfc3339();
        Ok((0..n)
            .map(|i| {
                let (start, end) = (i * scopes.len() / n, (i + 1) * scopes.len() / n);
                json!(Cursor {
                    scope: start,
                    container: scopes[start].container.clone(),
                    token: None,
                    started: started.clone(),
                    end: scopes.get(end).map(|s| (end, s.container.clone())),
                })
            })
            .collect())
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let scopes = self.scopes(request.advanced_rules).await?;
        // Where a scope of a cursor is now: at its index, or found again by its container if
        // the list of containers changed between slices.
        let find = |at: usize, container: &str| {
            if scopes.get(at).is_some_and(|s| s.container == container) {
                at
            } else {
                scopes
                    .iter()
                    .position(|s| s.container == container)
                    .unwrap_or(at)
            }
        };
        let (mut index, mut token, started, end) = match request.cursor {
            None => (0, None, Utc::now().to_rfc3339(), None),
            Some(raw) => {
                let c: Cursor = serde_json::from_value(raw.clone())
                    .map_err(|e| SourceError::Cursor(e.to_string()))?;
                let end = c.end.clone();
                (find(c.scope, &c.container), c.token, c.started, end)
            }
        };
        let limit = end
            .as_ref()
            .map_or(scopes.len(), |(at, container)| find(*at, container))
            .min(scopes.len());
        let since = changed_since(request.mode, self.limits.incremental_margin);
        let max = self.store.page_size(request.page_size);
        let mut items = Vec::new();
        while items.is_empty() && index < limit {
            let scope = &scopes[index];
            match self.store.list(scope, token.as_deref(), max).await {
                Ok(listing) => {
                    for object in listing.objects {
                        if scope.admits(&object.key) {
                            items.push(self.item(object, scope, since));
                        }
                    }
                    token = listing.next;
                }
                Err(e @ (SourceError::Config { .. } | SourceError::Unavailable(_))) => {
                    return Err(e);
                }
                Err(e) => {
                    warn!(container = %scope.container, error = %e, "listing failed; its documents are kept and the sync goes on");
                    items.push(SourceItem::Unreadable(UnreadScope::exact(
                        self.store.container_field(),
                        Value::String(scope.container.clone()),
                        e.to_string(),
                    )));
                    token = None;
                }
            }
            if token.is_none() {
                index += 1;
            }
        }
        let next = (index < limit).then(|| {
            json!(Cursor {
                scope: index,
                container: scopes[index].container.clone(),
                token: token.clone(),
                started: started.clone(),
                end: end.clone(),
            })
        });
        Ok(Page {
            items,
            next,
            sync_cursor: Some(json!({ "timestamp": started })),
        })
    }

    async fn download(&self, handle: &Value) -> Result<Option<Content>, SourceError> {
        let (Some(container), Some(key)) = (
            handle.get("c").and_then(Value::as_str),
            handle.get("k").and_then(Value::as_str),
        ) else {
            return Ok(None);
        };
        match self
            .store
            .read(container, key, self.limits.max_content_bytes)
            .await
        {
            Ok(Some(bytes)) => Ok(Some(Content::File {
                name: key.to_string(),
                bytes,
            })),
            Ok(None) => Ok(None),
            Err(e) if self.store.keeps_document_without_content() => {
                warn!(%container, %key, error = %e, "download failed; the document is indexed without content");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_admit_extensions_exactly() {
        let mut s = Scope::whole("b");
        assert!(s.admits("a/b"));
        s.extensions = Some(vec![".txt".into()]);
        assert!(s.admits("a/b.txt"));
        assert!(!s.admits("a/b.TXT"));
        assert!(!s.admits("a/b"));
    }

    #[test]
    fn incremental_syncs_look_back_by_the_margin() {
        let cursor = json!({"timestamp": "2026-01-01T12:00:00+00:00"});
        let since = changed_since(
            SyncMode::Incremental {
                sync_cursor: Some(&cursor),
            },
            INCREMENTAL_MARGIN,
        )
        .unwrap();
        assert_eq!(since.to_rfc3339(), "2026-01-01T11:45:00+00:00");
        assert!(changed_since(SyncMode::Full, INCREMENTAL_MARGIN).is_none());
    }
}
