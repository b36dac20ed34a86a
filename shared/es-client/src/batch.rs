//! Small batches of control-document reads and writes, one request for many documents:
//! [`EsClient::bulk_update`] (partial updates, each guarded by its own `if_seq_no`, with one
//! refresh for all) and [`EsClient::mget`] (documents by id with their `_seq_no`, optionally
//! only some `_source` fields). For connector and sync job documents, where each write must
//! say which version it read; the content path has [`crate::BulkWriter`].

use bytes::Bytes;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{BodyKind, EsClient, UrlExt, decode, json_body};
use crate::documents::{Document, Refresh, SeqNo, found_document, require_index};
use crate::error::EsError;

/// One partial update of a [`EsClient::bulk_update`] batch: `{"doc": doc}` on `id`, only if the
/// document is still at `if_seq_no` when given.
#[derive(Debug, Clone, Copy)]
pub struct UpdateItem<'a, T: ?Sized> {
    pub id: &'a str,
    pub doc: &'a T,
    pub if_seq_no: Option<SeqNo>,
}

/// What became of one [`UpdateItem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Written (or a no-op: nothing changed); the document's version now.
    Updated(SeqNo),
    /// The document changed since `if_seq_no` (409): someone else wrote it.
    Conflict,
    /// No such document (404).
    Missing,
    /// Any other item failure.
    Failed {
        status: u16,
        error_type: String,
        reason: String,
    },
}

#[derive(Deserialize)]
struct BulkAnswer {
    items: Vec<std::collections::HashMap<String, ItemAnswer>>,
}

#[derive(Deserialize)]
struct ItemAnswer {
    status: u16,
    #[serde(rename = "_seq_no", default)]
    seq_no: Option<i64>,
    #[serde(rename = "_primary_term", default)]
    primary_term: Option<i64>,
    #[serde(default)]
    error: Option<ItemError>,
}

#[derive(Deserialize)]
struct ItemError {
    #[serde(rename = "type", default)]
    error_type: String,
    #[serde(default)]
    reason: Option<String>,
}

impl ItemAnswer {
    fn outcome(self) -> UpdateOutcome {
        match (self.status, self.error) {
            (200..=299, None) => UpdateOutcome::Updated(SeqNo {
                seq_no: self.seq_no.unwrap_or(-1),
                primary_term: self.primary_term.unwrap_or(-1),
            }),
            (409, _) => UpdateOutcome::Conflict,
            (404, _) => UpdateOutcome::Missing,
            (status, error) => {
                let (error_type, reason) = error.map_or_else(
                    || ("unknown".to_string(), String::new()),
                    |e| (e.error_type, e.reason.unwrap_or_default()),
                );
                UpdateOutcome::Failed {
                    status,
                    error_type,
                    reason,
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct MgetAnswer<T> {
    #[serde(bound(deserialize = "T: Deserialize<'de>"))]
    docs: Vec<MgetDoc<T>>,
}

#[derive(Deserialize)]
struct MgetDoc<T> {
    #[serde(rename = "_index", default)]
    index: String,
    #[serde(rename = "_id")]
    id: String,
    #[serde(rename = "_version", default)]
    version: Option<i64>,
    #[serde(rename = "_seq_no", default)]
    seq_no: Option<i64>,
    #[serde(rename = "_primary_term", default)]
    primary_term: Option<i64>,
    #[serde(default)]
    found: bool,
    #[serde(rename = "_source", default = "Option::default")]
    source: Option<T>,
    #[serde(default)]
    error: Option<Value>,
}

/// The NDJSON body of a guarded update batch.
fn update_body<T: Serialize + ?Sized>(items: &[UpdateItem<'_, T>]) -> Result<Bytes, EsError> {
    let mut body = Vec::with_capacity(items.len() * 256);
    for item in items {
        if item.id.is_empty() {
            return Err(EsError::InvalidRequest(
                "a document id must not be empty".into(),
            ));
        }
        let action = match item.if_seq_no {
            Some(seq) => json!({"update": {"_id": item.id, "if_seq_no": seq.seq_no,
                "if_primary_term": seq.primary_term}}),
            None => json!({"update": {"_id": item.id}}),
        };
        serde_json::to_writer(&mut body, &action).map_err(EsError::Serialize)?;
        body.push(b'\n');
        serde_json::to_writer(&mut body, &json!({ "doc": item.doc }))
            .map_err(EsError::Serialize)?;
        body.push(b'\n');
    }
    Ok(Bytes::from(body))
}

impl EsClient {
    /// `POST /{index}/_bulk` of partial updates, each guarded by its own `if_seq_no`: one
    /// outcome per item, in order. The whole request fails only when Elasticsearch refuses it
    /// as a whole (or cannot be reached); item failures are outcomes.
    pub async fn bulk_update<T: Serialize + ?Sized>(
        &self,
        index: &str,
        items: &[UpdateItem<'_, T>],
        refresh: Refresh,
    ) -> Result<Vec<UpdateOutcome>, EsError> {
        require_index(index)?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let body = update_body(items)?;
        let url = self
            .url(&[index, "_bulk"])
            .param("refresh", refresh.as_str());
        let path = url.path().to_string();
        let response = self
            .send(Method::POST, url, Some((body, BodyKind::Ndjson)))
            .await?;
        if !response.is_success() {
            return Err(EsError::api(response.status, &response.body));
        }
        let answer: BulkAnswer = decode(&path, &response.body)?;
        if answer.items.len() != items.len() {
            return Err(EsError::InvalidRequest(format!(
                "{path} answered {} items for {} updates",
                answer.items.len(),
                items.len()
            )));
        }
        Ok(answer
            .items
            .into_iter()
            .map(|mut item| match item.remove("update") {
                Some(answer) => answer.outcome(),
                None => UpdateOutcome::Failed {
                    status: 0,
                    error_type: "invalid_response".into(),
                    reason: "an item without an `update` answer".into(),
                },
            })
            .collect())
    }

    /// `POST /{index}/_mget {"ids": [...]}`: each document (with `_seq_no`) or `None` when it does
    /// not exist, in the order of `ids`. `source_includes` limits `_source` to those fields.
    pub async fn mget<T: DeserializeOwned>(
        &self,
        index: &str,
        ids: &[&str],
        source_includes: Option<&[&str]>,
    ) -> Result<Vec<Option<Document<T>>>, EsError> {
        require_index(index)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let url = self
            .url(&[index, "_mget"])
            .param_opt("_source_includes", source_includes.map(|f| f.join(",")));
        let path = url.path().to_string();
        let answer: MgetAnswer<T> = self
            .request(Method::POST, url, Some(json_body(&json!({ "ids": ids }))?))
            .await?;
        if answer.docs.len() != ids.len() {
            return Err(EsError::InvalidRequest(format!(
                "{path} answered {} documents for {} ids",
                answer.docs.len(),
                ids.len()
            )));
        }
        answer
            .docs
            .into_iter()
            .map(|doc| {
                if let Some(error) = doc.error {
                    return Err(EsError::InvalidRequest(format!(
                        "{path}: document [{}]: {error}",
                        doc.id
                    )));
                }
                if !doc.found {
                    return Ok(None);
                }
                found_document(
                    doc.index,
                    doc.id,
                    doc.version,
                    doc.seq_no.zip(doc.primary_term),
                    doc.source,
                )
                .map(Some)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_body_guards_each_item() {
        let doc = json!({"last_seen": "t"});
        let items = [
            UpdateItem {
                id: "a",
                doc: &doc,
                if_seq_no: Some(SeqNo {
                    seq_no: 3,
                    primary_term: 1,
                }),
            },
            UpdateItem {
                id: "b",
                doc: &doc,
                if_seq_no: None,
            },
        ];
        let body = update_body(&items).unwrap();
        let lines: Vec<Value> = std::str::from_utf8(&body)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            vec![
                json!({"update": {"_id": "a", "if_seq_no": 3, "if_primary_term": 1}}),
                json!({"doc": {"last_seen": "t"}}),
                json!({"update": {"_id": "b"}}),
                json!({"doc": {"last_seen": "t"}}),
            ]
        );
        assert!(
            update_body(&[UpdateItem {
                id: "",
                doc: &doc,
                if_seq_no: None
            }])
            .is_err()
        );
    }

    #[test]
    fn item_answers_become_outcomes() {
        let answer: BulkAnswer = serde_json::from_str(
            r#"{"errors": true, "items": [
              {"update": {"_id": "a", "status": 200, "_seq_no": 7, "_primary_term": 1, "result": "updated"}},
              {"update": {"_id": "b", "status": 409, "error": {"type": "version_conflict_engine_exception", "reason": "x"}}},
              {"update": {"_id": "c", "status": 404, "error": {"type": "document_missing_exception", "reason": "y"}}},
              {"update": {"_id": "d", "status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "z"}}}]}"#,
        )
        .unwrap();
        let outcomes: Vec<UpdateOutcome> = answer
            .items
            .into_iter()
            .map(|mut i| i.remove("update").unwrap().outcome())
            .collect();
        assert_eq!(
            outcomes,
            vec![
                UpdateOutcome::Updated(SeqNo {
                    seq_no: 7,
                    primary_term: 1
                }),
                UpdateOutcome::Conflict,
                UpdateOutcome::Missing,
                UpdateOutcome::Failed {
                    status: 429,
                    error_type: "es_rejected_execution_exception".into(),
                    reason: "z".into()
                },
            ]
        );
    }
}
