//! A thin typed Elasticsearch client for the connectors service, on reqwest + rustls.
//!
//! - [`EsConfig`] / [`EsClient`]: endpoint (URL or cloud id), auth, TLS (CA file, fingerprint
//!   pin), timeouts, whole-request retries, compatibility media types, the product check, and the
//!   version gate ([`EsClient::verify_version`]).
//! - Documents ([`EsClient::get_document`], [`EsClient::index_document`], ...), search
//!   ([`EsClient::search`], [`EsClient::search_after`]), [`EsClient::count`],
//!   [`EsClient::delete_by_query`], [`EsClient::indices`], [`EsClient::ingest`].
//! - Connector protocol APIs: [`EsClient::connectors`], [`EsClient::sync_jobs`],
//!   [`EsClient::secrets`]; API keys: [`EsClient::security`].
//! - [`bulk::BulkWriter`]: byte-buffer NDJSON bulk with per-item retries and 413 splitting.
//! - Control-document batches: [`EsClient::bulk_update`] (each item guarded by its own
//!   `if_seq_no`) and [`EsClient::mget`].
//! - [`EsClient::stats`]: the requests sent and bytes read so far ([`RequestStats`]).
//!
//! Every request sends `X-elastic-product-origin: connectors` and the configured user agent.

pub mod batch;
pub mod bulk;
pub mod client;
pub mod config;
pub mod connectors;
pub mod documents;
pub mod error;
pub mod indices;
pub mod search;
pub mod security;
pub mod stats;
pub mod sync_jobs;
pub mod tls;
pub mod version;

pub use batch::{UpdateItem, UpdateOutcome};
pub use bulk::{
    BulkAction, BulkItem, BulkItemError, BulkOptions, BulkReport, BulkRequest, BulkTotals,
    BulkWriter, bytes_to_mib,
};
pub use client::EsClient;
pub use config::{Auth, Compatibility, Endpoint, EsConfig, RetryPolicy, Tls, parse_cloud_id};
pub use connectors::{
    ConfigurationUpdate, ConnectorListParams, Connectors, DeleteConnectorOptions, LastSyncUpdate,
    ListResponse, NewConnector, PutConnectorResponse, Secret, Secrets,
};
pub use documents::{Document, Refresh, SeqNo, WriteOptions, WriteResponse, WriteResult};
pub use error::{ApiError, ConfigError, ErrorCause, EsError, TransportErrorKind};
pub use indices::{IndexInfo, Indices, Ingest};
pub use search::{
    DeleteByQueryOptions, DeleteByQueryResponse, Hit, Hits, SearchAfter, SearchAfterOptions,
    SearchParams, SearchResponse, TaskStatus, TotalHits,
};
pub use security::{ApiKey, Security};
pub use stats::RequestStats;
pub use sync_jobs::{SyncJobListParams, SyncJobStats, SyncJobs};
pub use version::{InfoResponse, Version, VersionCheck, VersionInfo, VersionRequirement};

/// Re-exported so callers can name methods without adding reqwest.
pub use reqwest::Method;

/// Compile-time checks that the futures callers spawn are `Send`.
#[cfg(test)]
#[allow(dead_code)]
mod send_checks {
    use super::*;

    fn assert_send<T: Send>(_: T) {}
    fn assert_static<T: Send + 'static>(_: T) {}

    fn futures_are_send(client: &EsClient, writer: &mut BulkWriter<String>) {
        assert_send(writer.flush());
        assert_send(writer.flush_ready());
        if let Some(request) = writer.take_request() {
            assert_static(request.send());
        }
        assert_send(client.info());
        assert_send(client.search::<serde_json::Value>(
            "i",
            &serde_json::json!({}),
            &SearchParams::default(),
        ));
        assert_send(client.get_document::<serde_json::Value>("i", "1"));
        assert_send(client.connectors().get("c", false));
        assert_send(client.sync_jobs().list(&SyncJobListParams::default()));
    }

    async fn pager_is_send(mut pager: SearchAfter<serde_json::Value>) {
        assert_send(pager.next_page());
    }
}
