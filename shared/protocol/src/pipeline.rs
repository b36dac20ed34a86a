//! The ingest pipeline settings of a connector.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The pipeline 9.x connectors use by default (8.x: `ent-search-generic-ingestion`).
pub const DEFAULT_PIPELINE: &str = "search-default-ingestion";

/// `pipeline` of a connector, copied into each sync job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default = "yes")]
    pub extract_binary_content: bool,
    #[serde(default = "yes")]
    pub reduce_whitespace: bool,
    #[serde(default = "yes")]
    pub run_ml_inference: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_name() -> String {
    DEFAULT_PIPELINE.to_string()
}

fn yes() -> bool {
    true
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            name: default_name(),
            extract_binary_content: true,
            reduce_whitespace: true,
            run_ml_inference: true,
            extra: Map::new(),
        }
    }
}
