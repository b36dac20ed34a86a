//! The connector framework: what a data source declares and does.
//!
//! A source is described by a [`SourceDescriptor`] (service type, configuration schema, features)
//! and, given a connector's configuration, builds a [`DataSource`] that lists documents in pages
//! from an opaque, serialisable cursor. Resuming from the cursor returned with page N yields
//! exactly the pages after N, which is what lets a sync stop anywhere and continue in another
//! process. See `docs/writing-a-source.md`.

use async_trait::async_trait;
use connectors_protocol::{Configuration, Features};
use serde_json::{Map, Value};

use crate::json::JsonDocument;

/// What a source supports; written to the connector's `features`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFeatures {
    pub basic_rules: bool,
    pub advanced_rules: bool,
    pub incremental_sync: bool,
    pub document_level_security: bool,
}

impl Default for SourceFeatures {
    /// The reference's `BaseDataSource` defaults: basic rules only.
    fn default() -> Self {
        SourceFeatures {
            basic_rules: true,
            advanced_rules: false,
            incremental_sync: false,
            document_level_security: false,
        }
    }
}

impl SourceFeatures {
    pub fn to_features(self) -> Features {
        Features::declared(
            self.basic_rules,
            self.advanced_rules,
            self.incremental_sync,
            self.document_level_security,
        )
    }
}

/// A failure of a source, with a message a person can act on. Never include secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// A configuration value is wrong; `field` is the configuration key.
    #[error("{message}")]
    Config {
        field: Option<String>,
        message: String,
    },
    /// The source could not be reached or refused us (host down, bad credentials, ...).
    #[error("{0}")]
    Unavailable(String),
    /// A resume cursor this source cannot read (from another version or source).
    #[error("invalid cursor: {0}")]
    Cursor(String),
    /// Anything else that went wrong while reading.
    #[error("{0}")]
    Other(String),
}

impl SourceError {
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        SourceError::Config {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

/// Static facts about a source, and the factory of its [`DataSource`]s.
pub trait SourceDescriptor: Send + Sync {
    /// `service_type` of connectors served by this source (`dir`, `postgresql`, ...).
    fn service_type(&self) -> &'static str;
    /// Human-readable name.
    fn name(&self) -> &'static str;
    /// The configuration schema written into a new connector for Kibana to render.
    fn default_configuration(&self) -> Configuration;
    fn features(&self) -> SourceFeatures {
        SourceFeatures::default()
    }
    /// Builds a source from a connector's configuration. Field-level checks (required,
    /// `validations`, `depends_on`) have already passed.
    fn build(&self, configuration: &Configuration) -> Result<Box<dyn DataSource>, SourceError>;
    /// [`SourceDescriptor::build`] for a sync job, knowing the connector's features: sources
    /// with document-level security override this to learn whether it is on.
    fn build_for(
        &self,
        configuration: &Configuration,
        context: &BuildContext,
    ) -> Result<Box<dyn DataSource>, SourceError> {
        let _ = context;
        self.build(configuration)
    }
}

/// What a sync job knows about its connector beyond the configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildContext {
    /// The connector's `features.document_level_security.enabled`. Document-level security is
    /// in effect when this and the source's own toggle (`use_document_level_security`) are on,
    /// as the reference's `_dls_enabled()` decides.
    pub document_level_security: bool,
}

/// Which documents a sync asks for.
#[derive(Debug, Clone, Copy)]
pub enum SyncMode<'a> {
    /// Every document.
    Full,
    /// Only what changed since `sync_cursor` (the value the source returned at the end of the
    /// previous completed sync). Sources without incremental support never see this.
    Incremental { sync_cursor: Option<&'a Value> },
}

/// One request for the next page.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    /// `None` for the first page, else the `next` of the previous page.
    pub cursor: Option<&'a Value>,
    pub mode: SyncMode<'a>,
    /// The job's active advanced rules (`advanced_snippet.value`), when set and supported.
    pub advanced_rules: Option<&'a Value>,
    /// A hint: how many items a page should hold at most.
    pub page_size: usize,
}

/// A request to split a full sync into independent listings ([`DataSource::partitions`]).
#[derive(Debug, Clone, Copy)]
pub struct PartitionRequest<'a> {
    /// The job's active advanced rules, when set and supported.
    pub advanced_rules: Option<&'a Value>,
    /// At most this many partitions.
    pub max: usize,
}

/// A document as a source produces it: its fields, with `_id` (a string or a number) and
/// optionally `_timestamp`, plus an optional handle for downloading its content later.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDocument {
    pub fields: Map<String, Value>,
    /// Passed back to [`DataSource::download`] when content extraction is on.
    pub download: Option<Value>,
}

impl SourceDocument {
    pub fn new(fields: Map<String, Value>) -> Self {
        SourceDocument {
            fields,
            download: None,
        }
    }
}

/// One item of a page.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceItem {
    /// Index (or re-index) this document.
    Upsert(SourceDocument),
    /// Index (or re-index) this document, already written as JSON.
    Json(JsonDocument),
    /// Incremental syncs: the document with this `_id` still exists and has not changed.
    Unchanged(String),
    /// Incremental syncs: the document with this `_id` is gone.
    Delete(String),
    /// A part of the source (a table, a folder, ...) could not be read this time: the
    /// documents that came from it are kept, not swept as stale, and the job reports it.
    Unreadable(UnreadScope),
}

/// The documents of a part of the source that could not be read: those whose field `field`
/// holds `value` (for example `table` = `"orders"`), or with `prefix`, whose `field` starts
/// with `value` (a folder: every path under it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnreadScope {
    pub field: String,
    pub value: Value,
    /// Why it could not be read, for the log and the job's `metadata`.
    pub reason: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prefix: bool,
}

impl UnreadScope {
    /// The documents whose `field` holds `value`.
    pub fn exact(field: impl Into<String>, value: Value, reason: impl Into<String>) -> Self {
        UnreadScope {
            field: field.into(),
            value,
            reason: reason.into(),
            prefix: false,
        }
    }

    /// Whether `other` names the same documents (whatever its reason).
    pub fn same_scope(&self, other: &UnreadScope) -> bool {
        self.field == other.field && self.value == other.value && self.prefix == other.prefix
    }

    /// The documents whose `field` starts with `prefix`.
    pub fn under(field: impl Into<String>, prefix: &str, reason: impl Into<String>) -> Self {
        UnreadScope {
            field: field.into(),
            value: Value::String(prefix.to_string()),
            reason: reason.into(),
            prefix: true,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub items: Vec<SourceItem>,
    /// The cursor to resume after this page; `None` when the listing is complete.
    pub next: Option<Value>,
    /// The incremental sync cursor as of the end of this page, if the source keeps one. The last
    /// one seen is stored on the connector when the job completes.
    pub sync_cursor: Option<Value>,
}

impl SourceItem {
    /// The document to index, as a map, whichever way the source built it: for tests and tools
    /// that read fields. `None` for the other items.
    pub fn to_document(&self) -> Option<SourceDocument> {
        match self {
            SourceItem::Upsert(doc) => Some(doc.clone()),
            SourceItem::Json(doc) => doc.to_document().ok(),
            SourceItem::Unchanged(_) | SourceItem::Delete(_) | SourceItem::Unreadable(_) => None,
        }
    }
}

/// Downloaded content, merged into the document before indexing.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// A file: the engine extracts its text into `body` (or, in attachment mode, sends it
    /// base64-encoded as `_attachment` for an ingest pipeline), within the service's file size
    /// limit. `name` (with its extension) says how to read it.
    File { name: String, bytes: Vec<u8> },
    /// Raw bytes, always sent base64-encoded as `_attachment` for the ingest pipeline.
    Attachment(Vec<u8>),
    /// Text the source already has, sent as `body`.
    Body(String),
}

/// A configured source.
#[async_trait]
pub trait DataSource: Send + Sync {
    /// Checks beyond the schema's field validations (paths exist, tables exist, ...).
    async fn validate_config(&self) -> Result<(), SourceError> {
        Ok(())
    }

    /// Checks the source can be reached with this configuration.
    async fn ping(&self) -> Result<(), SourceError>;

    /// Validates advanced rules (`advanced_snippet.value`); returns one message per problem.
    async fn validate_advanced_rules(&self, _rules: &Value) -> Vec<String> {
        vec!["This source does not support advanced sync rules.".to_string()]
    }

    /// Whether an incremental listing reports every document that still exists (as
    /// [`SourceItem::Unchanged`] when it did not change), so that what it does not report can
    /// be deleted. Sources that report deletions themselves answer `false`.
    fn incremental_lists_everything(&self) -> bool {
        false
    }

    /// Splits a full sync into at most `request.max` listings that share nothing, so that
    /// several workers can run one job: the first cursor of each. Each cursor is handed to
    /// [`DataSource::fetch_page`] as any other, and the listing it starts must end (a page
    /// with no `next`) after its own part: a table or a group of tables, a key range, a
    /// prefix, a top-level folder. Together the partitions must list exactly what one
    /// unpartitioned listing would. Fewer than two cursors: the job is not split (the default).
    async fn partitions(&self, _request: PartitionRequest<'_>) -> Result<Vec<Value>, SourceError> {
        Ok(Vec::new())
    }

    /// The sync cursor of a partitioned sync, from the `sync_cursor` of each partition's last
    /// page. The default merges JSON objects member by member (recursively), which suits
    /// cursors that keep one entry per table, prefix or folder.
    fn merge_sync_cursors(&self, cursors: Vec<Value>) -> Option<Value> {
        let mut merged: Option<Value> = None;
        for cursor in cursors {
            match merged.as_mut() {
                None => merged = Some(cursor),
                Some(into) => merge_json(into, cursor),
            }
        }
        merged
    }

    /// Lists the page after `request.cursor`.
    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError>;

    /// Access-control syncs: the identity documents (see the `access_control` module) of the
    /// page after `request.cursor`, written to `.search-acl-filter-<index>`; identities the
    /// listing no longer yields are deleted there.
    async fn fetch_access_control_page(
        &self,
        _request: PageRequest<'_>,
    ) -> Result<Page, SourceError> {
        Err(SourceError::Other(
            "This source does not support document level security.".into(),
        ))
    }

    /// Downloads the content of a document that carried a `download` handle. `Ok(None)` means
    /// there is nothing to extract (unsupported type, too large).
    async fn download(&self, _handle: &Value) -> Result<Option<Content>, SourceError> {
        Ok(None)
    }
}

/// Merges `from` into `into`: objects member by member, anything else replaced.
pub fn merge_json(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (k, v) in from {
                match into.get_mut(&k) {
                    Some(existing) => merge_json(existing, v),
                    None => {
                        into.insert(k, v);
                    }
                }
            }
        }
        (into, from) => *into = from,
    }
}

/// The sources this build knows, by service type.
#[derive(Default)]
pub struct SourceRegistry {
    sources: Vec<Box<dyn SourceDescriptor>>,
}

impl SourceRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, source: Box<dyn SourceDescriptor>) -> &mut Self {
        self.sources
            .retain(|s| s.service_type() != source.service_type());
        self.sources.push(source);
        self
    }

    pub fn get(&self, service_type: &str) -> Option<&dyn SourceDescriptor> {
        self.sources
            .iter()
            .find(|s| s.service_type() == service_type)
            .map(|s| s.as_ref())
    }

    pub fn service_types(&self) -> Vec<&'static str> {
        self.sources.iter().map(|s| s.service_type()).collect()
    }
}

impl JsonDocument {
    /// The page item for this document: itself when its field names passed
    /// [`crate::JsonFields::names_are_safe`], else its map.
    pub fn into_item(self, names_are_safe: bool) -> Result<SourceItem, serde_json::Error> {
        Ok(if names_are_safe {
            SourceItem::Json(self)
        } else {
            SourceItem::Upsert(self.to_document()?)
        })
    }

    /// The same document as a map with its `_id`, for code that reads fields (sync rules).
    pub fn to_document(&self) -> Result<SourceDocument, serde_json::Error> {
        Ok(SourceDocument::new(self.to_fields()?))
    }
}
