//! What a download adds to a document, as the reference's `handle_file_content_extraction` and
//! the `search-default-ingestion` pipeline together decide it:
//!
//! - a file ([`Content::File`]) has its text extracted in-process into `body` (the default), or
//!   travels base64-encoded as `_attachment` for an ingest pipeline to extract
//!   ([`ExtractionMode::Attachment`]); over `max_file_download_size` it adds nothing;
//! - text a source already has ([`Content::Body`]) goes to `body`, raw bytes a source wants
//!   attached ([`Content::Attachment`]) to `_attachment`.
//!
//! In-process text gets the pipeline's rules here (U+FFFD removed, whitespace squeezed when the
//! connector's pipeline reduces whitespace, at most `max_chars` characters), so the document is
//! the same with or without an ingest pipeline. A file that cannot be read keeps its metadata
//! and gets no body; the reason is logged with the document's id.

pub use connectors_extract::Limits;
use connectors_extract::{ExtractError, clean_body, extract};
use connectors_protocol::{Configuration, Pipeline};
use connectors_sdk::Content;
use serde_json::{Map, Value};
use tracing::warn;

/// Where a file's text is extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExtractionMode {
    /// In the worker: the text is written as `body`; the file never travels to Elasticsearch.
    #[default]
    InProcess,
    /// By an ingest pipeline: the file is sent base64-encoded as `_attachment`, exactly as the
    /// reference sends it.
    Attachment,
}

/// Content extraction settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractionConfig {
    pub mode: ExtractionMode,
    pub limits: Limits,
    /// `service.max_file_download_size`: a larger file keeps its metadata and gets no content.
    pub max_file_bytes: u64,
}

impl Default for ExtractionConfig {
    fn default() -> Self {
        ExtractionConfig {
            mode: ExtractionMode::default(),
            limits: Limits::default(),
            max_file_bytes: 10 * 1024 * 1024,
        }
    }
}

/// The content rules of one job.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ContentRules {
    mode: ExtractionMode,
    limits: Limits,
    max_file_bytes: u64,
    reduce_whitespace: bool,
}

impl ContentRules {
    /// The service's settings, the connector's pipeline, and its `use_text_extraction_service`
    /// field (the reference's switch to its extraction service, which here means in-process).
    pub fn for_job(
        config: &ExtractionConfig,
        pipeline: &Pipeline,
        connector: &Configuration,
    ) -> Self {
        let use_service = connector
            .get("use_text_extraction_service")
            .is_some_and(|f| f.effective_value().as_bool() == Some(true));
        ContentRules {
            mode: if use_service {
                ExtractionMode::InProcess
            } else {
                config.mode
            },
            limits: config.limits,
            max_file_bytes: config.max_file_bytes,
            reduce_whitespace: pipeline.reduce_whitespace,
        }
    }

    /// Adds `content` to the document `source` (whose id is `id`).
    pub async fn merge(&self, id: &str, source: &mut Map<String, Value>, content: Content) {
        match content {
            Content::Body(text) => {
                source.insert("body".into(), Value::String(text));
            }
            Content::Attachment(bytes) => {
                source.insert("_attachment".into(), Value::String(base64(&bytes)));
            }
            Content::File { name, bytes } => {
                if bytes.len() as u64 > self.max_file_bytes {
                    warn!(doc_id = id, file = %name, size = bytes.len(), limit = self.max_file_bytes, "File size {} of file {name} is larger than {} bytes. Discarding file content.", bytes.len(), self.max_file_bytes);
                    return;
                }
                match self.mode {
                    ExtractionMode::Attachment => {
                        source.insert("_attachment".into(), Value::String(base64(&bytes)));
                    }
                    ExtractionMode::InProcess => {
                        match extract_async(bytes, name.clone(), self.limits).await {
                            Ok(text) => {
                                let body = clean_body(&text, self.reduce_whitespace);
                                if !body.is_empty() {
                                    source.insert("body".into(), Value::String(body));
                                }
                            }
                            Err(e) => {
                                warn!(doc_id = id, file = %name, reason = %e, "no text extracted; the document is indexed without body");
                            }
                        }
                    }
                }
            }
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// [`extract`] on the blocking pool, given up after `limits.timeout` (a reader that cannot be
/// interrupted finishes on its thread; its result is dropped).
async fn extract_async(
    bytes: Vec<u8>,
    name: String,
    limits: Limits,
) -> Result<String, ExtractError> {
    let task = tokio::task::spawn_blocking(move || extract(&bytes, &name, &limits));
    match tokio::time::timeout(limits.timeout + std::time::Duration::from_secs(1), task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(ExtractError::Panicked {
            format: "extraction",
            reason: join.to_string(),
        }),
        Err(_) => Err(ExtractError::TimedOut(limits.timeout)),
    }
}
