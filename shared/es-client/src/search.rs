//! `_search` with typed hits, a `search_after` pager (with or without a point in time),
//! `_count`, `_delete_by_query` (blocking or as a task) and task polling.

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::{EsClient, UrlExt, json_body};
use crate::documents::{SeqNo, require_index};
use crate::error::EsError;

/// Query-string parameters of `_search`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchParams {
    /// `seq_no_primary_term=true`: hits carry `_seq_no`/`_primary_term`.
    pub seq_no_primary_term: bool,
    /// `expand_wildcards`, e.g. `hidden` or `all` (the reference reads its indices with `hidden`).
    pub expand_wildcards: Option<String>,
    /// `ignore_unavailable=true`: a missing index gives no hits instead of a 404.
    pub ignore_unavailable: bool,
}

impl SearchParams {
    pub fn seq_no_primary_term(mut self) -> Self {
        self.seq_no_primary_term = true;
        self
    }

    pub fn expand_wildcards(mut self, value: impl Into<String>) -> Self {
        self.expand_wildcards = Some(value.into());
        self
    }

    pub fn ignore_unavailable(mut self) -> Self {
        self.ignore_unavailable = true;
        self
    }

    fn apply(&self, url: url::Url, with_index_options: bool) -> url::Url {
        let url = url.flag("seq_no_primary_term", self.seq_no_primary_term);
        if with_index_options {
            url.param_opt("expand_wildcards", self.expand_wildcards.as_deref())
                .flag("ignore_unavailable", self.ignore_unavailable)
        } else {
            url
        }
    }
}

/// The answer to `_search`. `T` is the `_source` type (default `serde_json::Value`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SearchResponse<T = Value> {
    #[serde(default)]
    pub took: u64,
    #[serde(default)]
    pub timed_out: bool,
    pub hits: Hits<T>,
    /// A point-in-time search's (possibly new) PIT id.
    #[serde(default)]
    pub pit_id: Option<String>,
    #[serde(rename = "_scroll_id", default)]
    pub scroll_id: Option<String>,
    #[serde(default)]
    pub aggregations: Option<Value>,
}

/// `hits` of a [`SearchResponse`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Hits<T = Value> {
    #[serde(default)]
    pub total: Option<TotalHits>,
    #[serde(default)]
    pub max_score: Option<f64>,
    #[serde(bound(deserialize = "T: Deserialize<'de>"))]
    pub hits: Vec<Hit<T>>,
}

/// `hits.total`: `{value, relation}` (or a bare number from `rest_total_hits_as_int`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotalHits {
    pub value: u64,
    /// `true` for `relation: "eq"`, `false` for `"gte"` (a lower bound).
    pub exact: bool,
}

impl<'de> Deserialize<'de> for TotalHits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Object { value: u64, relation: String },
            Number(u64),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Object { value, relation } => TotalHits {
                value,
                exact: relation != "gte",
            },
            Raw::Number(value) => TotalHits { value, exact: true },
        })
    }
}

/// One hit.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Hit<T = Value> {
    #[serde(rename = "_index")]
    pub index: String,
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "_score", default)]
    pub score: Option<f64>,
    /// Absent when `_source: false`.
    #[serde(rename = "_source", default = "Option::default")]
    pub source: Option<T>,
    #[serde(rename = "_seq_no", default)]
    pub seq_no: Option<i64>,
    #[serde(rename = "_primary_term", default)]
    pub primary_term: Option<i64>,
    #[serde(rename = "_version", default)]
    pub version: Option<i64>,
    /// Sort values (with a sort), for `search_after`.
    #[serde(default)]
    pub sort: Vec<Value>,
}

impl<T> Hit<T> {
    /// `_seq_no`/`_primary_term` when the search asked for them.
    pub fn seq_no_primary_term(&self) -> Option<SeqNo> {
        Some(SeqNo {
            seq_no: self.seq_no?,
            primary_term: self.primary_term?,
        })
    }
}

/// Options of `_delete_by_query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteByQueryOptions {
    /// `conflicts=proceed` (default true): version conflicts are counted, not fatal.
    pub conflicts_proceed: bool,
    /// `refresh=true` after the deletion.
    pub refresh: bool,
    pub expand_wildcards: Option<String>,
    pub ignore_unavailable: bool,
    /// `max_docs`: delete at most this many documents.
    pub max_docs: Option<u64>,
}

impl Default for DeleteByQueryOptions {
    fn default() -> Self {
        DeleteByQueryOptions {
            conflicts_proceed: true,
            refresh: false,
            expand_wildcards: None,
            ignore_unavailable: false,
            max_docs: None,
        }
    }
}

impl DeleteByQueryOptions {
    fn apply(&self, url: url::Url) -> url::Url {
        url.param_opt("conflicts", self.conflicts_proceed.then_some("proceed"))
            .flag("refresh", self.refresh)
            .param_opt("expand_wildcards", self.expand_wildcards.as_deref())
            .flag("ignore_unavailable", self.ignore_unavailable)
            .param_opt("max_docs", self.max_docs.map(|n| n.to_string()))
    }
}

/// The answer to `_delete_by_query`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeleteByQueryResponse {
    #[serde(default)]
    pub took: u64,
    #[serde(default)]
    pub timed_out: bool,
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub deleted: u64,
    #[serde(default)]
    pub batches: u64,
    #[serde(default)]
    pub version_conflicts: u64,
    #[serde(default)]
    pub noops: u64,
    #[serde(default)]
    pub failures: Vec<Value>,
}

/// `GET _tasks/{id}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskStatus {
    pub completed: bool,
    #[serde(default)]
    pub task: Value,
    #[serde(default)]
    pub response: Option<Value>,
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Deserialize)]
struct CountResponse {
    count: u64,
}

#[derive(Deserialize)]
struct TaskId {
    task: String,
}

#[derive(Deserialize)]
struct PitOpened {
    id: String,
}

impl EsClient {
    /// `POST /{index}/_search` with `body` (query, sort, size, `_source`, ...). `index` may be a
    /// comma list, a pattern or an alias.
    pub async fn search<T: DeserializeOwned>(
        &self,
        index: &str,
        body: &(impl Serialize + ?Sized),
        params: &SearchParams,
    ) -> Result<SearchResponse<T>, EsError> {
        require_index(index)?;
        let url = params.apply(self.url(&[index, "_search"]), true);
        self.request(Method::POST, url, Some(json_body(body)?))
            .await
    }

    /// A [`SearchAfter`] pager over `index`. `body` must be an object with a non-empty `sort`
    /// (and may hold `query`, `_source`, ...); `size` and `search_after` are managed by the pager.
    /// Without a point in time, make the sort total (end it with a unique field) or pages may
    /// skip or repeat documents.
    pub fn search_after<T: DeserializeOwned>(
        &self,
        index: &str,
        body: Value,
        options: SearchAfterOptions,
    ) -> Result<SearchAfter<T>, EsError> {
        require_index(index)?;
        let Value::Object(body) = body else {
            return Err(EsError::InvalidRequest(
                "a search_after body must be a JSON object".into(),
            ));
        };
        match body.get("sort") {
            Some(Value::Array(items)) if !items.is_empty() => {}
            Some(Value::String(_)) | Some(Value::Object(_)) => {}
            _ => {
                return Err(EsError::InvalidRequest(
                    "search_after needs a non-empty `sort`".into(),
                ));
            }
        }
        if options.page_size == 0 {
            return Err(EsError::InvalidRequest("page_size must be positive".into()));
        }
        Ok(SearchAfter {
            client: self.clone(),
            index: index.to_string(),
            body,
            options,
            pit_id: None,
            search_after: None,
            done: false,
            _source: PhantomData,
        })
    }

    /// `POST /{index}/_count` with an optional query.
    pub async fn count(&self, index: &str, query: Option<&Value>) -> Result<u64, EsError> {
        require_index(index)?;
        let url = self.url(&[index, "_count"]);
        let body = query
            .map(|q| json_body(&json!({ "query": q })))
            .transpose()?;
        let response: CountResponse = self.request(Method::POST, url, body).await?;
        Ok(response.count)
    }

    /// `POST /{index}/_delete_by_query` waiting for completion.
    pub async fn delete_by_query(
        &self,
        index: &str,
        query: &Value,
        options: &DeleteByQueryOptions,
    ) -> Result<DeleteByQueryResponse, EsError> {
        require_index(index)?;
        let url = options.apply(self.url(&[index, "_delete_by_query"]));
        self.request(
            Method::POST,
            url,
            Some(json_body(&json!({ "query": query }))?),
        )
        .await
    }

    /// `POST /{index}/_delete_by_query?wait_for_completion=false`: the task id to poll with
    /// [`EsClient::wait_for_delete_by_query`].
    pub async fn delete_by_query_task(
        &self,
        index: &str,
        query: &Value,
        options: &DeleteByQueryOptions,
    ) -> Result<String, EsError> {
        require_index(index)?;
        let url = options
            .apply(self.url(&[index, "_delete_by_query"]))
            .param("wait_for_completion", "false");
        let task: TaskId = self
            .request(
                Method::POST,
                url,
                Some(json_body(&json!({ "query": query }))?),
            )
            .await?;
        Ok(task.task)
    }

    /// `GET /_tasks/{task}`.
    pub async fn get_task(&self, task: &str) -> Result<TaskStatus, EsError> {
        self.request(Method::GET, self.url(&["_tasks", task]), None)
            .await
    }

    /// Polls a task every `poll_interval` until it completes or `timeout` passes; returns its
    /// `response`.
    pub async fn wait_for_task(
        &self,
        task: &str,
        poll_interval: Duration,
        timeout: Duration,
    ) -> Result<Value, EsError> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.get_task(task).await?;
            if status.completed {
                if let Some(error) = status.error {
                    return Err(EsError::Task {
                        task: task.to_string(),
                        reason: error.to_string(),
                    });
                }
                return Ok(status.response.unwrap_or(Value::Null));
            }
            if Instant::now() + poll_interval > deadline {
                return Err(EsError::Task {
                    task: task.to_string(),
                    reason: format!("not completed after {timeout:?}"),
                });
            }
            tokio::time::sleep(poll_interval).await;
        }
    }

    /// [`EsClient::wait_for_task`] for a `_delete_by_query` task.
    pub async fn wait_for_delete_by_query(
        &self,
        task: &str,
        poll_interval: Duration,
        timeout: Duration,
    ) -> Result<DeleteByQueryResponse, EsError> {
        let response = self.wait_for_task(task, poll_interval, timeout).await?;
        serde_json::from_value(response).map_err(|source| EsError::Decode {
            path: format!("/_tasks/{task}"),
            source,
            body: String::new(),
        })
    }

    /// `POST /{index}/_pit?keep_alive=..`: opens a point in time.
    pub async fn open_point_in_time(
        &self,
        index: &str,
        keep_alive: &str,
        expand_wildcards: Option<&str>,
    ) -> Result<String, EsError> {
        require_index(index)?;
        let url = self
            .url(&[index, "_pit"])
            .param("keep_alive", keep_alive)
            .param_opt("expand_wildcards", expand_wildcards);
        let opened: PitOpened = self.request(Method::POST, url, None).await?;
        Ok(opened.id)
    }

    /// `DELETE /_pit {"id"}`. An unknown or expired PIT is not an error.
    pub async fn close_point_in_time(&self, id: &str) -> Result<(), EsError> {
        let response = self
            .send(
                Method::DELETE,
                self.url(&["_pit"]),
                Some((
                    json_body(&json!({ "id": id }))?,
                    crate::client::BodyKind::Json,
                )),
            )
            .await?;
        if response.is_success() || response.status == 404 {
            Ok(())
        } else {
            Err(EsError::api(response.status, &response.body))
        }
    }

    /// `POST /{index}/_refresh`.
    pub async fn refresh(&self, index: &str) -> Result<(), EsError> {
        require_index(index)?;
        let _: Value = self
            .request(Method::POST, self.url(&[index, "_refresh"]), None)
            .await?;
        Ok(())
    }
}

/// Options of a [`SearchAfter`] pager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchAfterOptions {
    /// Hits per page (default 100, as the reference reads its indices).
    pub page_size: usize,
    /// Keep-alive of a point in time (e.g. `1m`); `None` pages without one.
    pub pit_keep_alive: Option<String>,
    pub params: SearchParams,
}

impl Default for SearchAfterOptions {
    fn default() -> Self {
        SearchAfterOptions {
            page_size: 100,
            pit_keep_alive: None,
            params: SearchParams::default(),
        }
    }
}

impl SearchAfterOptions {
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = size;
        self
    }

    /// Pages over a point in time kept alive for `keep_alive` (e.g. `"1m"`) between pages.
    pub fn with_pit(mut self, keep_alive: impl Into<String>) -> Self {
        self.pit_keep_alive = Some(keep_alive.into());
        self
    }

    pub fn params(mut self, params: SearchParams) -> Self {
        self.params = params;
        self
    }
}

/// A sorted `search_after` pager. Call [`SearchAfter::next_page`] until it returns `None`, then
/// [`SearchAfter::close`] to release a point in time (an unclosed PIT expires by itself).
pub struct SearchAfter<T> {
    client: EsClient,
    index: String,
    body: Map<String, Value>,
    options: SearchAfterOptions,
    pit_id: Option<String>,
    search_after: Option<Vec<Value>>,
    done: bool,
    _source: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> SearchAfter<T> {
    /// The next page of hits, or `None` when there are no more.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Hit<T>>>, EsError> {
        if self.done {
            return Ok(None);
        }
        let mut body = self.body.clone();
        body.insert("size".into(), json!(self.options.page_size));
        if let Some(after) = &self.search_after {
            body.insert("search_after".into(), Value::Array(after.clone()));
        }
        let response: SearchResponse<T> = match &self.options.pit_keep_alive {
            Some(keep_alive) => {
                let pit_id = match &self.pit_id {
                    Some(id) => id.clone(),
                    None => {
                        let id = self
                            .client
                            .open_point_in_time(
                                &self.index,
                                keep_alive,
                                self.options.params.expand_wildcards.as_deref(),
                            )
                            .await?;
                        self.pit_id = Some(id.clone());
                        id
                    }
                };
                body.insert(
                    "pit".into(),
                    json!({ "id": pit_id, "keep_alive": keep_alive }),
                );
                let url = self
                    .options
                    .params
                    .apply(self.client.url(&["_search"]), false);
                self.client
                    .request(Method::POST, url, Some(json_body(&body)?))
                    .await?
            }
            None => {
                self.client
                    .search(&self.index, &body, &self.options.params)
                    .await?
            }
        };
        if let Some(new_id) = response.pit_id {
            self.pit_id = Some(new_id);
        }
        let hits = response.hits.hits;
        if hits.len() < self.options.page_size {
            self.done = true;
        }
        match hits.last() {
            None => {
                self.done = true;
                return Ok(None);
            }
            Some(last) if last.sort.is_empty() => {
                return Err(EsError::InvalidRequest(
                    "search hits carry no `sort` values; search_after needs a sort".into(),
                ));
            }
            Some(last) => self.search_after = Some(last.sort.clone()),
        }
        Ok(Some(hits))
    }

    /// Every remaining hit.
    pub async fn collect_all(mut self) -> Result<Vec<Hit<T>>, EsError> {
        let mut all = Vec::new();
        let outcome = async {
            while let Some(page) = self.next_page().await? {
                all.extend(page);
            }
            Ok::<_, EsError>(())
        }
        .await;
        let closed = self.close().await;
        outcome?;
        closed?;
        Ok(all)
    }

    /// Closes the point in time, if one is open.
    pub async fn close(mut self) -> Result<(), EsError> {
        match self.pit_id.take() {
            Some(id) => self.client.close_point_in_time(&id).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_search_response() {
        let body = r#"{"took":3,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},
            "hits":{"total":{"value":2,"relation":"eq"},"max_score":null,"hits":[
              {"_index":"i","_id":"1","_score":null,"_seq_no":4,"_primary_term":1,"_source":{"n":1},"sort":[1,"a"]},
              {"_index":"i","_id":"2","_score":null,"sort":[2,"b"]}]}}"#;
        let response: SearchResponse = serde_json::from_str(body).unwrap();
        assert_eq!(
            response.hits.total,
            Some(TotalHits {
                value: 2,
                exact: true
            })
        );
        assert_eq!(response.hits.hits[0].source, Some(json!({"n": 1})));
        assert_eq!(
            response.hits.hits[0].seq_no_primary_term(),
            Some(SeqNo {
                seq_no: 4,
                primary_term: 1
            })
        );
        assert_eq!(response.hits.hits[1].source, None);
        assert_eq!(response.hits.hits[1].sort, vec![json!(2), json!("b")]);

        #[derive(Deserialize, Debug, PartialEq)]
        struct Doc {
            n: u32,
        }
        let response: SearchResponse<Doc> = serde_json::from_str(
            r#"{"hits":{"total":7,"hits":[{"_index":"i","_id":"1","_source":{"n":1,"other":true}}]}}"#,
        )
        .unwrap();
        assert_eq!(response.hits.hits[0].source, Some(Doc { n: 1 }));
        assert_eq!(response.hits.total.unwrap().value, 7);
    }

    #[test]
    fn total_gte_is_not_exact() {
        let total: TotalHits = serde_json::from_str(r#"{"value":10000,"relation":"gte"}"#).unwrap();
        assert!(!total.exact);
    }

    #[test]
    fn delete_by_query_params() {
        let url = url::Url::parse("http://h/i/_delete_by_query").unwrap();
        let options = DeleteByQueryOptions {
            refresh: true,
            ..Default::default()
        };
        assert_eq!(
            options.apply(url).as_str(),
            "http://h/i/_delete_by_query?conflicts=proceed&refresh=true"
        );
    }

    #[test]
    fn pager_requires_sort() {
        let client = EsClient::new(crate::EsConfig::url("http://localhost:9200")).unwrap();
        assert!(
            client
                .search_after::<Value>("i", json!({"query": {"match_all": {}}}), Default::default())
                .is_err()
        );
        assert!(
            client
                .search_after::<Value>("i", json!([]), Default::default())
                .is_err()
        );
        assert!(
            client
                .search_after::<Value>("i", json!({"sort": ["n"]}), Default::default())
                .is_ok()
        );
    }
}
