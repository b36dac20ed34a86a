//! Customising a source without forking it: [`Customized`] wraps any descriptor to change the
//! documents it produces (add or rewrite fields, drop documents), to serve it under another
//! service type or name, or to change the defaults of its configuration schema. Register the
//! result in place of (or beside) the original:
//!
//! ```
//! use connectors_sdk::customize::Customized;
//! # use connectors_sdk::{SourceDescriptor, SourceRegistry};
//! # fn demo(registry: &mut SourceRegistry, dir: Box<dyn SourceDescriptor>) {
//! let tagged = Customized::new(dir)
//!     .map_documents(|mut doc| {
//!         // Drop temporary files, tag the rest.
//!         if doc.get("path").and_then(|p| p.as_str()).is_some_and(|p| p.ends_with(".tmp")) {
//!             return None;
//!         }
//!         doc.insert("department".into(), "finance".into());
//!         Some(doc)
//!     })
//!     .default_value("pattern", "**/*.pdf".into());
//! registry.register(Box::new(tagged));
//! # }
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use connectors_protocol::Configuration;
use serde_json::{Map, Value};

use crate::source::{
    BuildContext, Content, DataSource, Page, PageRequest, PartitionRequest, SourceDescriptor,
    SourceDocument, SourceError, SourceFeatures, SourceItem,
};

type DocumentFn = dyn Fn(Map<String, Value>) -> Option<Map<String, Value>> + Send + Sync;

/// A descriptor with changed documents, identity or configuration defaults.
pub struct Customized {
    inner: Box<dyn SourceDescriptor>,
    service_type: Option<&'static str>,
    name: Option<&'static str>,
    defaults: Vec<(String, Value)>,
    map: Option<Arc<DocumentFn>>,
}

impl Customized {
    pub fn new(inner: Box<dyn SourceDescriptor>) -> Self {
        Customized {
            inner,
            service_type: None,
            name: None,
            defaults: Vec::new(),
            map: None,
        }
    }

    /// Serves the source under another `service_type` (and keeps the original's too, if it
    /// stays registered).
    pub fn service_type(mut self, service_type: &'static str) -> Self {
        self.service_type = Some(service_type);
        self
    }

    pub fn name(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    /// The value a new connector's field `key` starts with.
    pub fn default_value(mut self, key: &str, value: Value) -> Self {
        self.defaults.push((key.to_string(), value));
        self
    }

    /// Passes every document (its fields, with `_id`) through `f`: the fields it returns are
    /// indexed, `None` drops the document. Documents written as JSON are read into a map first.
    pub fn map_documents(
        mut self,
        f: impl Fn(Map<String, Value>) -> Option<Map<String, Value>> + Send + Sync + 'static,
    ) -> Self {
        self.map = Some(Arc::new(f));
        self
    }

    fn wrap(&self, source: Box<dyn DataSource>) -> Box<dyn DataSource> {
        match &self.map {
            Some(map) => Box::new(Mapped {
                inner: source,
                map: map.clone(),
            }),
            None => source,
        }
    }
}

impl SourceDescriptor for Customized {
    fn service_type(&self) -> &'static str {
        self.service_type
            .unwrap_or_else(|| self.inner.service_type())
    }

    fn name(&self) -> &'static str {
        self.name.unwrap_or_else(|| self.inner.name())
    }

    fn default_configuration(&self) -> Configuration {
        let mut schema = self.inner.default_configuration();
        for (key, value) in &self.defaults {
            if let Some(field) = schema.get_mut(key) {
                field.value = value.clone();
            }
        }
        schema
    }

    fn features(&self) -> SourceFeatures {
        self.inner.features()
    }

    fn build(&self, configuration: &Configuration) -> Result<Box<dyn DataSource>, SourceError> {
        Ok(self.wrap(self.inner.build(configuration)?))
    }

    fn build_for(
        &self,
        configuration: &Configuration,
        context: &BuildContext,
    ) -> Result<Box<dyn DataSource>, SourceError> {
        Ok(self.wrap(self.inner.build_for(configuration, context)?))
    }
}

/// A source whose content documents go through a function.
struct Mapped {
    inner: Box<dyn DataSource>,
    map: Arc<DocumentFn>,
}

#[async_trait]
impl DataSource for Mapped {
    async fn validate_config(&self) -> Result<(), SourceError> {
        self.inner.validate_config().await
    }

    async fn ping(&self) -> Result<(), SourceError> {
        self.inner.ping().await
    }

    async fn validate_advanced_rules(&self, rules: &Value) -> Vec<String> {
        self.inner.validate_advanced_rules(rules).await
    }

    fn incremental_lists_everything(&self) -> bool {
        self.inner.incremental_lists_everything()
    }

    async fn partitions(&self, request: PartitionRequest<'_>) -> Result<Vec<Value>, SourceError> {
        self.inner.partitions(request).await
    }

    fn merge_sync_cursors(&self, cursors: Vec<Value>) -> Option<Value> {
        self.inner.merge_sync_cursors(cursors)
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let mut page = self.inner.fetch_page(request).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for item in page.items {
            let doc = match item {
                SourceItem::Upsert(doc) => doc,
                SourceItem::Json(json) => json
                    .to_document()
                    .map_err(|e| SourceError::Other(format!("unreadable document: {e}")))?,
                other => {
                    items.push(other);
                    continue;
                }
            };
            let id = doc.fields.get("_id").cloned();
            // `None` drops the document: if it was indexed before, the sweep removes it.
            if let Some(mut fields) = (self.map)(doc.fields) {
                // The document keeps its identity whatever the function did.
                if let Some(id) = id {
                    fields.entry("_id").or_insert(id);
                }
                items.push(SourceItem::Upsert(SourceDocument {
                    fields,
                    download: doc.download,
                }));
            }
        }
        page.items = items;
        Ok(page)
    }

    async fn fetch_access_control_page(
        &self,
        request: PageRequest<'_>,
    ) -> Result<Page, SourceError> {
        self.inner.fetch_access_control_page(request).await
    }

    async fn download(&self, handle: &Value) -> Result<Option<Content>, SourceError> {
        self.inner.download(handle).await
    }
}
