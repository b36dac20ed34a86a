//! Sending one `_bulk` body and reading its answer: [`BulkSender`] is the transport (the client,
//! or a script in tests); [`send`] classifies the answer and turns item answers into per-item
//! outcomes.

use std::borrow::Cow;
use std::future::Future;

use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;

use super::report::{BulkItemError, Outcome};
use super::request::PendingOp;
use crate::client::{BodyKind, EsClient, RawResponse};
use crate::documents::WriteResult;
use crate::error::{ApiError, EsError};

/// Sends one `_bulk` body. The client implements it; tests script it.
pub(super) trait BulkSender {
    fn send_bulk(
        &mut self,
        body: Bytes,
    ) -> impl Future<Output = Result<RawResponse, EsError>> + Send;
}

/// Sends through an [`EsClient`] (with its whole-request retries) to a `_bulk` URL.
pub(super) struct ClientSender<'a> {
    pub(super) client: &'a EsClient,
    pub(super) url: &'a url::Url,
}

impl BulkSender for ClientSender<'_> {
    fn send_bulk(
        &mut self,
        body: Bytes,
    ) -> impl Future<Output = Result<RawResponse, EsError>> + Send {
        self.client.send(
            Method::POST,
            self.url.clone(),
            Some((body, BodyKind::Ndjson)),
        )
    }
}

/// What one `_bulk` call answered.
pub(super) enum Reply {
    /// Every operation of the batch got its item's outcome.
    Items,
    /// 413: the body exceeds the cluster's `http.max_content_length`.
    TooLarge,
    /// The request failed as a whole, or its answer could not be read: every operation of the
    /// batch gets `failure`, and the flush ends with `error`.
    Failed { failure: Outcome, error: EsError },
}

/// Sends `body`, carrying the operations `batch` (indices into `ops`), and on success writes
/// their outcomes into `outcomes` (indexed like `ops`).
pub(super) async fn send<K>(
    sender: &mut impl BulkSender,
    body: Bytes,
    batch: &[usize],
    ops: &[PendingOp<K>],
    outcomes: &mut [Option<Outcome>],
) -> Reply {
    match sender.send_bulk(body).await {
        Ok(response) if response.is_success() => read_items(&response.body, batch, ops, outcomes),
        Ok(response) if response.status == 413 => Reply::TooLarge,
        Ok(response) => {
            let error = ApiError::from_response(response.status, &response.body);
            Reply::Failed {
                failure: Outcome::failure(
                    response.status,
                    error.error_type.as_deref().unwrap_or("request_failed"),
                    error.to_string(),
                ),
                error: EsError::Api(Box::new(error)),
            }
        }
        Err(error) => Reply::Failed {
            failure: Outcome::failure(0, "request_failed", error.to_string()),
            error,
        },
    }
}

/// Reads a successful answer's items, one per operation of `batch`, in order: [`Reply::Items`],
/// or [`Reply::Failed`] when the answer cannot be read.
fn read_items<K>(
    body: &[u8],
    batch: &[usize],
    ops: &[PendingOp<K>],
    outcomes: &mut [Option<Outcome>],
) -> Reply {
    let parsed: BulkResponse<'_> = match serde_json::from_slice(body) {
        Ok(parsed) => parsed,
        Err(error) => {
            return Reply::Failed {
                failure: Outcome::failure(
                    0,
                    "invalid_response",
                    format!("cannot parse the bulk response: {error}"),
                ),
                error: EsError::Decode {
                    path: "/_bulk".into(),
                    source: error,
                    body: crate::error::truncate(&String::from_utf8_lossy(body), 500).to_string(),
                },
            };
        }
    };
    if parsed.items.len() != batch.len() {
        let reason = format!(
            "the bulk response has {} items for {} operations",
            parsed.items.len(),
            batch.len()
        );
        return Reply::Failed {
            failure: Outcome::failure(0, "invalid_response", reason.clone()),
            error: EsError::InvalidRequest(reason),
        };
    }
    for (&i, item) in batch.iter().zip(parsed.items) {
        outcomes[i] = Some(item.into_body().into_outcome(ops[i].auto_id));
    }
    Reply::Items
}

#[derive(Deserialize)]
struct BulkResponse<'a> {
    #[serde(borrow)]
    items: Vec<RawItem<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawItem<'a> {
    #[serde(borrow)]
    Index(ItemBody<'a>),
    #[serde(borrow)]
    Create(ItemBody<'a>),
    #[serde(borrow)]
    Update(ItemBody<'a>),
    #[serde(borrow)]
    Delete(ItemBody<'a>),
}

impl<'a> RawItem<'a> {
    fn into_body(self) -> ItemBody<'a> {
        match self {
            RawItem::Index(b) | RawItem::Create(b) | RawItem::Update(b) | RawItem::Delete(b) => b,
        }
    }
}

#[derive(Deserialize)]
struct ItemBody<'a> {
    #[serde(rename = "_id", borrow, default)]
    id: Option<Cow<'a, str>>,
    status: u16,
    #[serde(borrow, default)]
    result: Option<Cow<'a, str>>,
    #[serde(default)]
    error: Option<RawItemError>,
}

impl ItemBody<'_> {
    /// The item's outcome; the `_id` is kept only for operations pushed without one.
    fn into_outcome(self, auto_id: bool) -> Outcome {
        match self.error {
            None => Outcome {
                status: self.status,
                result: self.result.as_deref().map(WriteResult::parse),
                error: None,
                generated_id: if auto_id {
                    self.id.map(Cow::into_owned)
                } else {
                    None
                },
            },
            Some(error) => Outcome {
                status: self.status,
                result: None,
                error: Some(error.into_item_error()),
                generated_id: None,
            },
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawItemError {
    Object {
        #[serde(rename = "type", default)]
        error_type: Option<String>,
        #[serde(default)]
        reason: Option<String>,
    },
    Other(serde_json::Value),
}

impl RawItemError {
    fn into_item_error(self) -> BulkItemError {
        match self {
            RawItemError::Object { error_type, reason } => BulkItemError {
                error_type: error_type.unwrap_or_default(),
                reason: reason.unwrap_or_default(),
            },
            RawItemError::Other(value) => BulkItemError {
                error_type: String::new(),
                reason: match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                },
            },
        }
    }
}
