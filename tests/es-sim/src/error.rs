//! Elasticsearch error bodies.
//!
//! Most errors use the envelope `{"error":{"root_cause":[…],"type","reason",…},"status"}`; a few
//! HTTP-layer errors use the simple form `{"error":"…","status"}`, and some APIs answer errors with
//! bodies of their own (`{"found":false}`, `{}`, an empty 413).

use serde_json::{Map, Value, json};

/// The body an error is rendered with.
#[derive(Debug, Clone)]
pub enum ErrorBody {
    /// The standard envelope. `fields` appear in the root cause and at the top level.
    Envelope {
        kind: String,
        reason: String,
        fields: Map<String, Value>,
        /// Top-level-only fields (e.g. `caused_by`, `failed_shards`).
        top: Map<String, Value>,
        /// Replaces the default root cause (a copy of the top-level error).
        root_cause: Option<Vec<Value>>,
    },
    /// `{"error": "<message>", "status": N}`.
    Simple(String),
    /// Any JSON body.
    Raw(Value),
    /// No body at all.
    Empty,
}

/// An error answer: an HTTP status, a body and extra headers.
#[derive(Debug, Clone)]
pub struct EsError {
    pub status: u16,
    pub body: Box<ErrorBody>,
    pub headers: Vec<(String, String)>,
}

pub type EsResult<T> = Result<T, EsError>;

impl EsError {
    /// An envelope error of the given type.
    pub fn new(status: u16, kind: &str, reason: impl Into<String>) -> EsError {
        EsError {
            status,
            body: Box::new(ErrorBody::Envelope {
                kind: kind.to_string(),
                reason: reason.into(),
                fields: Map::new(),
                top: Map::new(),
                root_cause: None,
            }),
            headers: Vec::new(),
        }
    }

    /// `{"error": message, "status": N}`.
    pub fn simple(status: u16, message: impl Into<String>) -> EsError {
        EsError {
            status,
            body: Box::new(ErrorBody::Simple(message.into())),
            headers: Vec::new(),
        }
    }

    /// An error answered with an arbitrary JSON body.
    pub fn raw(status: u16, body: Value) -> EsError {
        EsError {
            status,
            body: Box::new(ErrorBody::Raw(body)),
            headers: Vec::new(),
        }
    }

    /// An error with no body.
    pub fn empty(status: u16) -> EsError {
        EsError {
            status,
            body: Box::new(ErrorBody::Empty),
            headers: Vec::new(),
        }
    }

    /// Adds a field to both the root cause and the top-level error.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> EsError {
        if let ErrorBody::Envelope { fields, .. } = &mut *self.body {
            fields.insert(key.to_string(), value.into());
        }
        self
    }

    /// Adds a field to the top-level error only.
    pub fn with_top(mut self, key: &str, value: impl Into<Value>) -> EsError {
        if let ErrorBody::Envelope { top, .. } = &mut *self.body {
            top.insert(key.to_string(), value.into());
        }
        self
    }

    /// Sets `caused_by`.
    pub fn caused_by(self, cause: Value) -> EsError {
        self.with_top("caused_by", cause)
    }

    /// Replaces the root causes (by default a copy of the top-level error), as Elasticsearch
    /// reports the innermost Elasticsearch exception of a cause chain.
    pub fn with_root_cause(mut self, causes: Vec<Value>) -> EsError {
        if let ErrorBody::Envelope { root_cause, .. } = &mut *self.body {
            *root_cause = Some(causes);
        }
        self
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> EsError {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The error type (`illegal_argument_exception`, …) of an envelope error.
    pub fn kind(&self) -> Option<&str> {
        match &*self.body {
            ErrorBody::Envelope { kind, .. } => Some(kind),
            _ => None,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match &*self.body {
            ErrorBody::Envelope { reason, .. } => Some(reason),
            ErrorBody::Simple(s) => Some(s),
            _ => None,
        }
    }

    /// The inner error object (`{"type","reason",…}`) as used in bulk items and shard failures.
    pub fn cause_object(&self) -> Value {
        match &*self.body {
            ErrorBody::Envelope {
                kind,
                reason,
                fields,
                top,
                ..
            } => {
                let mut m = Map::new();
                m.insert("type".into(), Value::String(kind.clone()));
                m.insert("reason".into(), Value::String(reason.clone()));
                for (k, v) in fields {
                    m.insert(k.clone(), v.clone());
                }
                if let Some(c) = top.get("caused_by") {
                    m.insert("caused_by".into(), c.clone());
                }
                Value::Object(m)
            }
            ErrorBody::Simple(s) => json!({"type": "exception", "reason": s}),
            ErrorBody::Raw(v) => v.clone(),
            ErrorBody::Empty => json!({"type": "exception", "reason": ""}),
        }
    }

    /// The JSON body, or `None` for an empty body.
    pub fn to_body(&self) -> Option<Value> {
        match &*self.body {
            ErrorBody::Envelope {
                kind,
                reason,
                fields,
                top,
                root_cause,
            } => {
                let mut inner = Map::new();
                let mut base = Map::new();
                base.insert("type".into(), Value::String(kind.clone()));
                base.insert("reason".into(), Value::String(reason.clone()));
                for (k, v) in fields {
                    base.insert(k.clone(), v.clone());
                }
                let rc = match root_cause {
                    Some(rc) => rc.clone(),
                    None => vec![Value::Object(base.clone())],
                };
                inner.insert("root_cause".into(), Value::Array(rc));
                for (k, v) in base {
                    inner.insert(k, v);
                }
                for (k, v) in top {
                    inner.insert(k.clone(), v.clone());
                }
                Some(json!({"error": Value::Object(inner), "status": self.status}))
            }
            ErrorBody::Simple(s) => Some(json!({"error": s, "status": self.status})),
            ErrorBody::Raw(v) => Some(v.clone()),
            ErrorBody::Empty => None,
        }
    }

    /// Wraps a shard-level failure the way a search reports it: `search_phase_execution_exception`
    /// "all shards failed" with the shard error as root cause.
    pub fn shard_failure(self, index: &str, index_uuid: &str) -> EsError {
        let mut cause = self.cause_object();
        if let Value::Object(m) = &mut cause {
            m.entry("index_uuid")
                .or_insert_with(|| Value::String(index_uuid.to_string()));
            m.entry("index")
                .or_insert_with(|| Value::String(index.to_string()));
        }
        let status = self.status;
        let mut e = EsError::new(
            status,
            "search_phase_execution_exception",
            "all shards failed",
        )
        .with_top("phase", "query")
        .with_top("grouped", true)
        .with_top(
            "failed_shards",
            json!([{"shard": 0, "index": index, "node": crate::NODE_ID, "reason": cause.clone()}]),
        );
        if let ErrorBody::Envelope { root_cause, .. } = &mut *e.body {
            *root_cause = Some(vec![cause.clone()]);
        }
        e.with_top("caused_by", cause)
    }

    // ---- common errors ----

    pub fn bad_request(reason: impl Into<String>) -> EsError {
        EsError::new(400, "illegal_argument_exception", reason)
    }

    pub fn parse(reason: impl Into<String>) -> EsError {
        EsError::new(400, "parse_exception", reason)
    }

    pub fn parsing(reason: impl Into<String>) -> EsError {
        EsError::new(400, "parsing_exception", reason)
    }

    pub fn x_content(reason: impl Into<String>) -> EsError {
        EsError::new(400, "x_content_parse_exception", reason)
    }

    pub fn validation<S: AsRef<str>>(messages: &[S]) -> EsError {
        let mut reason = String::from("Validation Failed: ");
        for (i, m) in messages.iter().enumerate() {
            reason.push_str(&format!("{}: {};", i + 1, m.as_ref()));
        }
        EsError::new(400, "action_request_validation_exception", reason)
    }

    pub fn status_exception(status: u16, reason: impl Into<String>) -> EsError {
        EsError::new(status, "status_exception", reason)
    }

    pub fn resource_not_found(reason: impl Into<String>) -> EsError {
        EsError::new(404, "resource_not_found_exception", reason)
    }

    pub fn index_not_found(name: &str) -> EsError {
        EsError::new(
            404,
            "index_not_found_exception",
            format!("no such index [{name}]"),
        )
        .with("resource.type", "index_or_alias")
        .with("resource.id", name)
        .with("index_uuid", "_na_")
        .with("index", name)
    }

    pub fn invalid_index_name(name: &str, why: &str) -> EsError {
        EsError::new(
            400,
            "invalid_index_name_exception",
            format!("Invalid index name [{name}], {why}"),
        )
        .with("index_uuid", "_na_")
        .with("index", name)
    }

    pub fn version_conflict(index: &str, uuid: &str, reason: String) -> EsError {
        EsError::new(409, "version_conflict_engine_exception", reason)
            .with("index_uuid", uuid)
            .with("shard", "0")
            .with("index", index)
    }

    pub fn document_missing(index: &str, uuid: &str, id: &str) -> EsError {
        EsError::new(
            404,
            "document_missing_exception",
            format!("[{id}]: document missing"),
        )
        .with("index_uuid", uuid)
        .with("shard", "0")
        .with("index", index)
    }

    pub fn document_parsing(reason: impl Into<String>) -> EsError {
        EsError::new(400, "document_parsing_exception", reason)
    }

    pub fn rejected(status: u16, reason: impl Into<String>) -> EsError {
        EsError::new(status, "es_rejected_execution_exception", reason)
    }

    /// A body that is not valid JSON: `[line:col] …` like Jackson.
    pub fn json_syntax(err: &serde_json::Error) -> EsError {
        EsError::x_content(format!(
            "[{}:{}] {}",
            err.line(),
            err.column(),
            strip_position(err)
        ))
    }

    pub fn body_required() -> EsError {
        EsError::parse("request body is required")
    }
}

/// serde_json's message without its trailing " at line L column C".
pub fn strip_position(err: &serde_json::Error) -> String {
    let s = err.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_root_cause_and_fields() {
        let e = EsError::index_not_found("foo");
        let b = e.to_body().unwrap();
        assert_eq!(b["status"], 404);
        assert_eq!(b["error"]["type"], "index_not_found_exception");
        assert_eq!(b["error"]["root_cause"][0]["resource.id"], "foo");
        assert_eq!(b["error"]["index"], "foo");
    }

    #[test]
    fn simple_form() {
        let b = EsError::simple(400, "no handler").to_body().unwrap();
        assert_eq!(b, json!({"error": "no handler", "status": 400}));
    }
}
