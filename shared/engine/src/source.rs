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

/// A document a source has already written as JSON. Row-oriented sources (databases) build
/// these straight from the wire format: no map, no key copies, and the engine copies the text
/// into the bulk request as it is. Built with [`JsonFields`].
#[derive(Debug, Clone, PartialEq)]
pub struct JsonDocument {
    /// The `_id`, as the reference stringifies it (hashed later when too long).
    pub id: String,
    /// The members of the document's JSON object, in order, without braces and without `_id`.
    members: Vec<u8>,
    /// Whether the members include `_timestamp`.
    has_timestamp: bool,
    /// Whether the members include `id` (written by [`JsonFields::id`]).
    has_id: bool,
}

impl JsonDocument {
    pub fn members(&self) -> &[u8] {
        &self.members
    }

    pub fn has_timestamp(&self) -> bool {
        self.has_timestamp
    }

    pub fn has_id(&self) -> bool {
        self.has_id
    }

    /// The page item for this document: itself when its field names passed
    /// [`JsonFields::names_are_safe`], else its map.
    pub fn into_item(self, names_are_safe: bool) -> Result<SourceItem, serde_json::Error> {
        Ok(if names_are_safe {
            SourceItem::Json(self)
        } else {
            SourceItem::Upsert(self.to_document()?)
        })
    }

    /// The same document as a map with its `_id`, for code that reads fields (sync rules). A
    /// repeated name keeps its first position and its last value, as in a Python dict.
    pub fn to_document(&self) -> Result<SourceDocument, serde_json::Error> {
        let mut text = Vec::with_capacity(self.members.len() + 2);
        text.push(b'{');
        text.extend_from_slice(&self.members);
        text.push(b'}');
        let mut fields: Map<String, Value> = serde_json::from_slice(&text)?;
        fields.insert("_id".into(), Value::String(self.id.clone()));
        Ok(SourceDocument::new(fields))
    }
}

/// The writer of a [`JsonDocument`]'s members.
#[derive(Debug, Default)]
pub struct JsonFields {
    buf: Vec<u8>,
    has_timestamp: bool,
    has_id: bool,
}

/// A text as a JSON string (with its quotes): field names for [`JsonFields::key`], encoded
/// once rather than once per document, and constant string values.
pub fn json_key(name: &str) -> String {
    Value::String(name.to_string()).to_string()
}

impl JsonFields {
    pub fn with_capacity(bytes: usize) -> Self {
        JsonFields {
            buf: Vec::with_capacity(bytes),
            has_timestamp: false,
            has_id: false,
        }
    }

    /// Whether documents whose fields have these names (every name the source writes, its own
    /// additions such as `_timestamp` included) can be indexed as written: the names must be
    /// distinct, and none may be `_id` or a field the engine adds (the pipeline flags, the sync
    /// stamp, and `id` unless the source writes it with [`JsonFields::id`]). Otherwise a name
    /// would appear twice in the JSON text, which Elasticsearch rejects, where the reference's
    /// dict keeps the last value.
    pub fn names_are_safe<'a>(names: impl IntoIterator<Item = &'a str>, writes_id: bool) -> bool {
        let mut seen = std::collections::HashSet::new();
        names.into_iter().all(|name| {
            let added = if name == "id" {
                !writes_id
            } else {
                crate::document::ADDED_FIELDS.contains(&name)
            };
            !added && name != "_id" && seen.insert(name)
        })
    }

    /// The `id` member at this position, with the value the engine gives it (the `_id`,
    /// normalised): for a source whose own field `id` it replaces, as the reference does.
    pub fn id(&mut self, raw_id: &str) {
        let id = crate::document::normalise_id_text(raw_id);
        let out = self.key("\"id\"");
        // A string or null always serializes.
        let _ = serde_json::to_writer(out, &id);
        self.has_id = true;
    }

    /// Starts a member named by `encoded_key` (from [`json_key`]) and returns the buffer, into
    /// which the caller writes exactly one JSON value.
    pub fn key(&mut self, encoded_key: &str) -> &mut Vec<u8> {
        if !self.buf.is_empty() {
            self.buf.push(b',');
        }
        self.buf.extend_from_slice(encoded_key.as_bytes());
        self.buf.push(b':');
        &mut self.buf
    }

    /// One member with a serializable value.
    pub fn field<T: serde::Serialize + ?Sized>(
        &mut self,
        encoded_key: &str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let start = self.buf.len();
        let written = serde_json::to_writer(self.key(encoded_key), value);
        if written.is_err() {
            self.buf.truncate(start);
        }
        written
    }

    /// The `_timestamp` member (`value` is already a JSON value).
    pub fn timestamp(&mut self, json_value: &[u8]) {
        self.key("\"_timestamp\"").extend_from_slice(json_value);
        self.has_timestamp = true;
    }

    /// Appends members already written as JSON (`"a":1,"b":2`), such as the fields every
    /// document of a table shares.
    pub fn members(&mut self, members: &[u8]) {
        if members.is_empty() {
            return;
        }
        if !self.buf.is_empty() {
            self.buf.push(b',');
        }
        self.buf.extend_from_slice(members);
    }

    pub fn finish(self, id: String) -> JsonDocument {
        JsonDocument {
            id,
            members: self.buf,
            has_timestamp: self.has_timestamp,
            has_id: self.has_id,
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
/// holds `value` (for example `table` = `"orders"`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnreadScope {
    pub field: String,
    pub value: Value,
    /// Why it could not be read, for the log and the job's `metadata`.
    pub reason: String,
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
    /// Raw bytes, sent base64-encoded as `_attachment` for the ingest pipeline to extract.
    Attachment(Vec<u8>),
    /// Extracted text, sent as `body`.
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

    /// Lists the page after `request.cursor`.
    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError>;

    /// Downloads the content of a document that carried a `download` handle. `Ok(None)` means
    /// there is nothing to extract (unsupported type, too large).
    async fn download(&self, _handle: &Value) -> Result<Option<Content>, SourceError> {
        Ok(None)
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
