//! Single-document APIs: get, index, create, update (`doc`, upsert), delete, with `refresh` and
//! optimistic concurrency (`if_seq_no` + `if_primary_term`).

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{EsClient, UrlExt, decode, json_body};
use crate::error::EsError;

/// `refresh` of write requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// `refresh=true`: refresh the affected shards now.
    True,
    /// `refresh=false` (the default).
    False,
    /// `refresh=wait_for`: answer once a refresh made the change visible.
    WaitFor,
}

impl Refresh {
    pub fn as_str(self) -> &'static str {
        match self {
            Refresh::True => "true",
            Refresh::False => "false",
            Refresh::WaitFor => "wait_for",
        }
    }
}

/// A document's `_seq_no` and `_primary_term`, for optimistic concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeqNo {
    pub seq_no: i64,
    pub primary_term: i64,
}

/// Options of index, create, update and delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    pub refresh: Option<Refresh>,
    /// Sends `if_seq_no` and `if_primary_term`; a mismatch is a 409 version conflict.
    pub if_seq_no: Option<SeqNo>,
    /// Ingest pipeline (index and create only).
    pub pipeline: Option<String>,
    /// `retry_on_conflict` (update only; not with `if_seq_no`).
    pub retry_on_conflict: Option<u32>,
}

impl WriteOptions {
    pub fn refresh(mut self, refresh: Refresh) -> Self {
        self.refresh = Some(refresh);
        self
    }

    pub fn if_seq_no(mut self, seq_no: SeqNo) -> Self {
        self.if_seq_no = Some(seq_no);
        self
    }

    pub fn pipeline(mut self, pipeline: impl Into<String>) -> Self {
        self.pipeline = Some(pipeline.into());
        self
    }

    pub fn retry_on_conflict(mut self, retries: u32) -> Self {
        self.retry_on_conflict = Some(retries);
        self
    }

    fn apply(&self, url: url::Url) -> url::Url {
        let mut url = url
            .param_opt("refresh", self.refresh.map(Refresh::as_str))
            .param_opt("pipeline", self.pipeline.as_deref())
            .param_opt(
                "retry_on_conflict",
                self.retry_on_conflict.map(|n| n.to_string()),
            );
        if let Some(seq) = self.if_seq_no {
            url = url
                .param("if_seq_no", seq.seq_no.to_string())
                .param("if_primary_term", seq.primary_term.to_string());
        }
        url
    }
}

/// The `result` of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteResult {
    Created,
    Updated,
    Deleted,
    NotFound,
    Noop,
    #[serde(other)]
    Other,
}

impl WriteResult {
    /// Parses a `result` string.
    pub fn parse(text: &str) -> WriteResult {
        match text {
            "created" => WriteResult::Created,
            "updated" => WriteResult::Updated,
            "deleted" => WriteResult::Deleted,
            "not_found" => WriteResult::NotFound,
            "noop" => WriteResult::Noop,
            _ => WriteResult::Other,
        }
    }
}

/// The answer to index, create, update and delete.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WriteResponse {
    #[serde(rename = "_index")]
    pub index: String,
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "_version", default)]
    pub version: Option<i64>,
    pub result: WriteResult,
    #[serde(rename = "_seq_no", default)]
    pub seq_no: Option<i64>,
    #[serde(rename = "_primary_term", default)]
    pub primary_term: Option<i64>,
}

impl WriteResponse {
    /// The new `_seq_no`/`_primary_term`, for a following conditional write.
    pub fn seq_no_primary_term(&self) -> Option<SeqNo> {
        Some(SeqNo {
            seq_no: self.seq_no?,
            primary_term: self.primary_term?,
        })
    }
}

/// A document read by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Document<T> {
    pub index: String,
    pub id: String,
    pub version: Option<i64>,
    /// `_seq_no`/`_primary_term` (always returned by `GET _doc`).
    pub seq_no: Option<SeqNo>,
    pub source: T,
}

/// The document of a `found` get (or `_mget` item): an error when it came without `_source`.
pub(crate) fn found_document<T>(
    index: String,
    id: String,
    version: Option<i64>,
    seq_no_and_term: Option<(i64, i64)>,
    source: Option<T>,
) -> Result<Document<T>, EsError> {
    let Some(source) = source else {
        return Err(EsError::InvalidRequest(format!(
            "document [{id}] of [{index}] has no _source"
        )));
    };
    Ok(Document {
        index,
        id,
        version,
        seq_no: seq_no_and_term.map(|(seq_no, primary_term)| SeqNo {
            seq_no,
            primary_term,
        }),
        source,
    })
}

#[derive(Deserialize)]
struct GetResponse<T> {
    #[serde(rename = "_index")]
    index: String,
    #[serde(rename = "_id")]
    id: String,
    #[serde(rename = "_version", default)]
    version: Option<i64>,
    #[serde(rename = "_seq_no", default)]
    seq_no: Option<i64>,
    #[serde(rename = "_primary_term", default)]
    primary_term: Option<i64>,
    found: bool,
    #[serde(rename = "_source")]
    source: Option<T>,
}

#[derive(Serialize)]
struct UpdateBody<'a, T: ?Sized> {
    doc: &'a T,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    doc_as_upsert: bool,
}

fn require_id(id: &str) -> Result<(), EsError> {
    if id.is_empty() {
        Err(EsError::InvalidRequest(
            "a document id must not be empty".into(),
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn require_index(index: &str) -> Result<(), EsError> {
    if index.is_empty() {
        Err(EsError::InvalidRequest(
            "an index name must not be empty".into(),
        ))
    } else {
        Ok(())
    }
}

impl EsClient {
    /// `GET /{index}/_doc/{id}`: the document with its `_seq_no`/`_primary_term`, or `None` when
    /// the document does not exist (a missing index is an error).
    pub async fn get_document<T: DeserializeOwned>(
        &self,
        index: &str,
        id: &str,
    ) -> Result<Option<Document<T>>, EsError> {
        require_index(index)?;
        require_id(id)?;
        let url = self.url(&[index, "_doc", id]);
        let path = url.path().to_string();
        let response = self.send(Method::GET, url, None).await?;
        if response.status == 404 {
            // `{"_index","_id","found":false}` is a missing document; the error envelope is a
            // missing index.
            #[derive(Deserialize)]
            struct NotFound {
                found: Option<bool>,
            }
            return match serde_json::from_slice::<NotFound>(&response.body) {
                Ok(NotFound { found: Some(false) }) => Ok(None),
                _ => Err(EsError::api(response.status, &response.body)),
            };
        }
        if !response.is_success() {
            return Err(EsError::api(response.status, &response.body));
        }
        let got: GetResponse<T> = decode(&path, &response.body)?;
        if !got.found {
            return Ok(None);
        }
        found_document(
            got.index,
            got.id,
            got.version,
            got.seq_no.zip(got.primary_term),
            got.source,
        )
        .map(Some)
    }

    /// `PUT /{index}/_doc/{id}` (or `POST /{index}/_doc` without an id): creates or replaces.
    pub async fn index_document(
        &self,
        index: &str,
        id: Option<&str>,
        document: &(impl Serialize + ?Sized),
        options: &WriteOptions,
    ) -> Result<WriteResponse, EsError> {
        require_index(index)?;
        let (method, url) = match id {
            Some(id) => {
                require_id(id)?;
                (Method::PUT, self.url(&[index, "_doc", id]))
            }
            None => (Method::POST, self.url(&[index, "_doc"])),
        };
        self.request(method, options.apply(url), Some(json_body(document)?))
            .await
    }

    /// `PUT /{index}/_create/{id}`: creates; an existing id is a 409 version conflict.
    pub async fn create_document(
        &self,
        index: &str,
        id: &str,
        document: &(impl Serialize + ?Sized),
        options: &WriteOptions,
    ) -> Result<WriteResponse, EsError> {
        require_index(index)?;
        require_id(id)?;
        let url = options.apply(self.url(&[index, "_create", id]));
        self.request(Method::PUT, url, Some(json_body(document)?))
            .await
    }

    /// `POST /{index}/_update/{id}` with `{"doc": partial}`: a recursive merge. With
    /// `doc_as_upsert` a missing document is created from `partial`; without, a missing document
    /// is `404 document_missing_exception`.
    pub async fn update_document(
        &self,
        index: &str,
        id: &str,
        partial: &(impl Serialize + ?Sized),
        doc_as_upsert: bool,
        options: &WriteOptions,
    ) -> Result<WriteResponse, EsError> {
        let body = UpdateBody {
            doc: partial,
            doc_as_upsert,
        };
        self.update_document_raw(index, id, &body, options).await
    }

    /// `POST /{index}/_update/{id}` with any body (`script`, `upsert`, ...).
    pub async fn update_document_raw(
        &self,
        index: &str,
        id: &str,
        body: &(impl Serialize + ?Sized),
        options: &WriteOptions,
    ) -> Result<WriteResponse, EsError> {
        require_index(index)?;
        require_id(id)?;
        let url = options.apply(self.url(&[index, "_update", id]));
        self.request(Method::POST, url, Some(json_body(body)?))
            .await
    }

    /// `DELETE /{index}/_doc/{id}`. A missing document is `Ok` with
    /// [`WriteResult::NotFound`]; a missing index is an error.
    pub async fn delete_document(
        &self,
        index: &str,
        id: &str,
        options: &WriteOptions,
    ) -> Result<WriteResponse, EsError> {
        require_index(index)?;
        require_id(id)?;
        let url = options.apply(self.url(&[index, "_doc", id]));
        let path = url.path().to_string();
        let response = self.send(Method::DELETE, url, None).await?;
        if response.is_success() {
            return decode(&path, &response.body);
        }
        if response.status == 404
            && let Ok(written) = serde_json::from_slice::<WriteResponse>(&response.body)
            && written.result == WriteResult::NotFound
        {
            return Ok(written);
        }
        Err(EsError::api(response.status, &response.body))
    }

    /// `GET /{index}/_doc/{id}` returning the source as JSON.
    pub async fn get_document_value(
        &self,
        index: &str,
        id: &str,
    ) -> Result<Option<Document<Value>>, EsError> {
        self.get_document(index, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_options_query() {
        let url = url::Url::parse("http://h/i/_doc/1").unwrap();
        let options = WriteOptions::default()
            .refresh(Refresh::WaitFor)
            .if_seq_no(SeqNo {
                seq_no: 3,
                primary_term: 1,
            });
        assert_eq!(
            options.apply(url).as_str(),
            "http://h/i/_doc/1?refresh=wait_for&if_seq_no=3&if_primary_term=1"
        );
    }

    #[test]
    fn update_body_shape() {
        let body = UpdateBody {
            doc: &serde_json::json!({"a": 1}),
            doc_as_upsert: true,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"doc":{"a":1},"doc_as_upsert":true}"#
        );
        let body = UpdateBody {
            doc: &serde_json::json!({"a": 1}),
            doc_as_upsert: false,
        };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"doc":{"a":1}}"#);
    }

    #[test]
    fn write_response_parses() {
        let response: WriteResponse = serde_json::from_str(
            r#"{"_index":"i","_id":"1","_version":2,"result":"updated","_shards":{"total":1},"_seq_no":5,"_primary_term":1}"#,
        )
        .unwrap();
        assert_eq!(response.result, WriteResult::Updated);
        assert_eq!(
            response.seq_no_primary_term(),
            Some(SeqNo {
                seq_no: 5,
                primary_term: 1
            })
        );
        let response: WriteResponse =
            serde_json::from_str(r#"{"_index":"i","_id":"1","result":"something_new"}"#).unwrap();
        assert_eq!(response.result, WriteResult::Other);
    }
}
