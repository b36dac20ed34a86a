//! Search contexts kept between requests: scrolls and points in time, with their expiry.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;

use super::Target;
use super::execute::Hit;
use super::request::SearchRequest;
use crate::error::EsError;

#[derive(Debug)]
pub struct ScrollCtx {
    pub hits: Vec<Hit>,
    pub pos: usize,
    pub total: usize,
    pub max_score: Option<f32>,
    pub req: SearchRequest,
    pub shards: usize,
    pub keep_alive: Duration,
    pub expires: Instant,
}

#[derive(Debug)]
pub struct PitCtx {
    pub targets: Vec<Target>,
    pub expires: Instant,
}

#[derive(Debug, Default)]
pub struct Contexts {
    pub scrolls: HashMap<String, ScrollCtx>,
    pub pits: HashMap<String, PitCtx>,
}

impl Contexts {
    pub fn expire(&mut self) {
        let now = Instant::now();
        self.scrolls.retain(|_, s| s.expires > now);
        self.pits.retain(|_, p| p.expires > now);
    }
}

/// `search_context_missing_exception` as a failed search.
pub fn context_missing(id: &str) -> EsError {
    let cause = json!({"type": "search_context_missing_exception", "reason": format!("No search context found for id [{id}]")});
    let mut e = EsError::new(404, "search_phase_execution_exception", "all shards failed")
        .with_top("phase", "query")
        .with_top("grouped", true)
        .with_top(
            "failed_shards",
            json!([{"shard": -1, "index": null, "reason": cause.clone()}]),
        )
        .caused_by(cause.clone());
    if let crate::error::ErrorBody::Envelope { root_cause, .. } = &mut *e.body {
        *root_cause = Some(vec![cause]);
    }
    e
}
