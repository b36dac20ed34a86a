//! The source SDK: everything a data source needs, and nothing that reaches Elasticsearch or
//! the job queue. A source crate depends on this crate (and `connectors-protocol` for the
//! configuration model) only, so Cargo itself keeps sources away from the engine's adapters.
//!
//! - [`source`]: the descriptor and data-source traits, pages, items, errors, the registry;
//! - [`json`]: builders of documents written as JSON straight from a wire format;
//! - [`customize`]: a source wrapped to change its documents, identity or defaults;
//! - [`fields`]: typed reading of configuration values;
//! - [`access_control`]: document-level security: the allowed-identities field and identity
//!   documents;
//! - [`ids`]: document ids as the reference writes them, and the reserved field names;
//! - [`extract`]: text from files (`connectors-extract`): which files the reference downloads
//!   ([`extract::is_supported`]), and the readers, for a source that needs text itself. A file
//!   source usually hands the engine a [`Content::File`] and lets it extract.
//!
//! See `docs/writing-a-source.md`.

pub mod access_control;
pub mod customize;
pub mod fields;
pub mod ids;
pub mod json;
pub mod source;

pub use connectors_extract as extract;
pub use fields::Fields;
pub use ids::{
    ADDED_FIELDS, MAX_ID_BYTES, SYNC_STAMP_FIELD, hash_id, normalise_id, normalise_id_text,
};
pub use json::{JsonDocument, JsonFields, json_key};
pub use source::*;
