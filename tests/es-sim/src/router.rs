//! A small router over path segments, with Elasticsearch's precedence: at each segment a literal
//! beats a `{param}`, and the first candidate path whose handler supports the method wins. No
//! candidate supporting the method gives 405 with the allowed methods; no candidate at all, 400.

use std::sync::OnceLock;

use hyper::Method;

/// Every endpoint the simulator answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Info,
    ClusterHealth,
    License,
    Nodes,
    Authenticate,
    ApiKeyCreate,
    ApiKeyGet,
    ApiKeyInvalidate,
    PipelineGet,
    PipelinePut,
    PipelineDelete,
    AliasGet,
    AliasPut,
    AliasDelete,
    AliasesUpdate,
    Bulk,
    Search,
    Count,
    Scroll,
    ScrollClear,
    PitOpen,
    PitClose,
    DeleteByQuery,
    TaskGet,
    Refresh,
    MappingGet,
    FieldMappingGet,
    MappingPut,
    SettingsGet,
    SettingsPut,
    IndexCreate,
    IndexExists,
    IndexGet,
    IndexDelete,
    DocIndex,
    DocGet,
    DocDelete,
    DocCreate,
    DocUpdate,
    SourceGet,
    Mget,
    CatIndices,
    ConnectorPut,
    ConnectorPost,
    ConnectorGet,
    ConnectorList,
    ConnectorDelete,
    ConnectorCheckIn,
    ConnectorError,
    ConnectorStatus,
    ConnectorConfiguration,
    ConnectorFiltering,
    ConnectorFilteringValidation,
    ConnectorFilteringActivate,
    ConnectorLastSync,
    ConnectorFeatures,
    ConnectorIndexName,
    ConnectorApiKeyId,
    ConnectorNative,
    ConnectorPipeline,
    ConnectorScheduling,
    ConnectorServiceType,
    ConnectorName,
    SyncJobPost,
    SyncJobList,
    SyncJobGet,
    SyncJobDelete,
    SyncJobCheckIn,
    SyncJobClaim,
    SyncJobStats,
    SyncJobError,
    SyncJobCancel,
    SecretPost,
    SecretGet,
    SecretPut,
    SecretDelete,
    SimFaultsGet,
    SimFaultsPut,
    SimFaultsDelete,
}

use Route::*;

/// (path pattern, methods, route). `{x}` segments capture.
const TABLE: &[(&str, &[&str], Route)] = &[
    ("/", &["GET", "HEAD"], Info),
    ("/_cluster/health", &["GET"], ClusterHealth),
    ("/_cluster/health/{index}", &["GET"], ClusterHealth),
    ("/_license", &["GET"], License),
    ("/_nodes", &["GET"], Nodes),
    ("/_nodes/{x}", &["GET"], Nodes),
    ("/_nodes/{x}/{y}", &["GET"], Nodes),
    ("/_security/_authenticate", &["GET"], Authenticate),
    ("/_security/api_key", &["POST", "PUT"], ApiKeyCreate),
    ("/_security/api_key", &["GET"], ApiKeyGet),
    ("/_security/api_key", &["DELETE"], ApiKeyInvalidate),
    ("/_ingest/pipeline", &["GET"], PipelineGet),
    ("/_ingest/pipeline/{id}", &["GET"], PipelineGet),
    ("/_ingest/pipeline/{id}", &["PUT"], PipelinePut),
    ("/_ingest/pipeline/{id}", &["DELETE"], PipelineDelete),
    ("/_alias", &["GET", "HEAD"], AliasGet),
    ("/_alias/{name}", &["GET", "HEAD"], AliasGet),
    ("/_aliases", &["GET"], AliasGet),
    ("/_aliases", &["POST"], AliasesUpdate),
    ("/{index}/_alias", &["GET", "HEAD"], AliasGet),
    ("/{index}/_alias/{name}", &["GET", "HEAD"], AliasGet),
    ("/{index}/_alias/{name}", &["PUT", "POST"], AliasPut),
    ("/{index}/_aliases/{name}", &["PUT", "POST"], AliasPut),
    ("/{index}/_alias/{name}", &["DELETE"], AliasDelete),
    ("/{index}/_aliases/{name}", &["DELETE"], AliasDelete),
    ("/_bulk", &["POST", "PUT"], Bulk),
    ("/{index}/_bulk", &["POST", "PUT"], Bulk),
    ("/_search", &["GET", "POST"], Search),
    ("/{index}/_search", &["GET", "POST"], Search),
    ("/_count", &["GET", "POST"], Count),
    ("/{index}/_count", &["GET", "POST"], Count),
    ("/_search/scroll", &["GET", "POST"], Scroll),
    ("/_search/scroll/{id}", &["GET", "POST"], Scroll),
    ("/_search/scroll", &["DELETE"], ScrollClear),
    ("/_search/scroll/{id}", &["DELETE"], ScrollClear),
    ("/{index}/_pit", &["POST"], PitOpen),
    ("/_pit", &["DELETE"], PitClose),
    ("/{index}/_delete_by_query", &["POST"], DeleteByQuery),
    ("/_tasks/{id}", &["GET"], TaskGet),
    ("/_refresh", &["GET", "POST"], Refresh),
    ("/{index}/_refresh", &["GET", "POST"], Refresh),
    ("/_mapping", &["GET"], MappingGet),
    ("/{index}/_mapping", &["GET"], MappingGet),
    ("/{index}/_mapping", &["PUT", "POST"], MappingPut),
    ("/_mapping/field/{fields}", &["GET"], FieldMappingGet),
    (
        "/{index}/_mapping/field/{fields}",
        &["GET"],
        FieldMappingGet,
    ),
    ("/_settings", &["GET"], SettingsGet),
    ("/{index}/_settings", &["GET"], SettingsGet),
    ("/{index}/_settings", &["PUT"], SettingsPut),
    ("/_cat/indices", &["GET"], CatIndices),
    ("/_cat/indices/{index}", &["GET"], CatIndices),
    ("/_mget", &["GET", "POST"], Mget),
    ("/{index}/_mget", &["GET", "POST"], Mget),
    ("/{index}", &["PUT"], IndexCreate),
    ("/{index}", &["HEAD"], IndexExists),
    ("/{index}", &["GET"], IndexGet),
    ("/{index}", &["DELETE"], IndexDelete),
    ("/{index}/_doc", &["POST"], DocIndex),
    ("/{index}/_doc/{id}", &["PUT", "POST"], DocIndex),
    ("/{index}/_doc/{id}", &["GET", "HEAD"], DocGet),
    ("/{index}/_doc/{id}", &["DELETE"], DocDelete),
    ("/{index}/_create/{id}", &["PUT", "POST"], DocCreate),
    ("/{index}/_update/{id}", &["POST"], DocUpdate),
    ("/{index}/_source/{id}", &["GET", "HEAD"], SourceGet),
    // Connectors
    ("/_connector", &["PUT", "POST"], ConnectorPost),
    ("/_connector", &["GET"], ConnectorList),
    ("/_connector/{id}", &["PUT"], ConnectorPut),
    ("/_connector/{id}", &["GET"], ConnectorGet),
    ("/_connector/{id}", &["DELETE"], ConnectorDelete),
    ("/_connector/{id}/_check_in", &["PUT"], ConnectorCheckIn),
    ("/_connector/{id}/_error", &["PUT"], ConnectorError),
    ("/_connector/{id}/_status", &["PUT"], ConnectorStatus),
    (
        "/_connector/{id}/_configuration",
        &["PUT"],
        ConnectorConfiguration,
    ),
    ("/_connector/{id}/_filtering", &["PUT"], ConnectorFiltering),
    (
        "/_connector/{id}/_filtering/_validation",
        &["PUT"],
        ConnectorFilteringValidation,
    ),
    (
        "/_connector/{id}/_filtering/_activate",
        &["PUT"],
        ConnectorFilteringActivate,
    ),
    ("/_connector/{id}/_last_sync", &["PUT"], ConnectorLastSync),
    ("/_connector/{id}/_features", &["PUT"], ConnectorFeatures),
    ("/_connector/{id}/_index_name", &["PUT"], ConnectorIndexName),
    ("/_connector/{id}/_api_key_id", &["PUT"], ConnectorApiKeyId),
    ("/_connector/{id}/_native", &["PUT"], ConnectorNative),
    ("/_connector/{id}/_pipeline", &["PUT"], ConnectorPipeline),
    (
        "/_connector/{id}/_scheduling",
        &["PUT"],
        ConnectorScheduling,
    ),
    (
        "/_connector/{id}/_service_type",
        &["PUT"],
        ConnectorServiceType,
    ),
    ("/_connector/{id}/_name", &["PUT"], ConnectorName),
    ("/_connector/_sync_job", &["POST"], SyncJobPost),
    ("/_connector/_sync_job", &["GET"], SyncJobList),
    ("/_connector/_sync_job/{id}", &["GET"], SyncJobGet),
    ("/_connector/_sync_job/{id}", &["DELETE"], SyncJobDelete),
    (
        "/_connector/_sync_job/{id}/_check_in",
        &["PUT"],
        SyncJobCheckIn,
    ),
    ("/_connector/_sync_job/{id}/_claim", &["PUT"], SyncJobClaim),
    ("/_connector/_sync_job/{id}/_stats", &["PUT"], SyncJobStats),
    ("/_connector/_sync_job/{id}/_error", &["PUT"], SyncJobError),
    (
        "/_connector/_sync_job/{id}/_cancel",
        &["PUT"],
        SyncJobCancel,
    ),
    ("/_connector/_secret", &["POST"], SecretPost),
    ("/_connector/_secret/{id}", &["GET"], SecretGet),
    ("/_connector/_secret/{id}", &["PUT"], SecretPut),
    ("/_connector/_secret/{id}", &["DELETE"], SecretDelete),
    // Simulator administration
    ("/_sim/faults", &["GET"], SimFaultsGet),
    ("/_sim/faults", &["PUT", "POST"], SimFaultsPut),
    ("/_sim/faults", &["DELETE"], SimFaultsDelete),
];

struct Entry {
    segs: Vec<Option<&'static str>>,
    methods: &'static [&'static str],
    route: Route,
}

fn table() -> &'static [Entry] {
    static T: OnceLock<Vec<Entry>> = OnceLock::new();
    T.get_or_init(|| {
        TABLE
            .iter()
            .map(|(pattern, methods, route)| Entry {
                segs: pattern
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| if s.starts_with('{') { None } else { Some(s) })
                    .collect(),
                methods,
                route: *route,
            })
            .collect()
    })
}

/// The outcome of routing a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Routed {
    /// A route and its captured segments, in path order.
    Found(Route, Vec<String>),
    MethodNotAllowed(Vec<String>),
    NotFound,
}

/// Splits a raw path into decoded segments (empty segments dropped).
pub fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(crate::http::decode_segment)
        .collect()
}

pub fn route(method: &Method, segs: &[String]) -> Routed {
    // Candidates that match the shape, most specific (literals earliest) first.
    let mut candidates: Vec<&Entry> = table()
        .iter()
        .filter(|e| {
            e.segs.len() == segs.len()
                && e.segs.iter().zip(segs).all(|(p, s)| match p {
                    Some(lit) => *lit == s,
                    None => true,
                })
        })
        .collect();
    if candidates.is_empty() {
        return Routed::NotFound;
    }
    candidates.sort_by_key(|e| {
        std::cmp::Reverse(e.segs.iter().map(|s| s.is_some()).collect::<Vec<bool>>())
    });
    for e in &candidates {
        if e.methods.contains(&method.as_str()) {
            let captured = e
                .segs
                .iter()
                .zip(segs)
                .filter(|(p, _)| p.is_none())
                .map(|(_, s)| s.clone())
                .collect();
            return Routed::Found(e.route, captured);
        }
    }
    let mut allowed: Vec<String> = Vec::new();
    for e in &candidates {
        for m in e.methods {
            if !allowed.iter().any(|a| a == m) {
                allowed.push(m.to_string());
            }
        }
    }
    allowed.sort();
    Routed::MethodNotAllowed(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(method: &str, path: &str) -> Routed {
        route(
            &Method::from_bytes(method.as_bytes()).unwrap(),
            &segments(path),
        )
    }

    #[test]
    fn literals_win() {
        assert_eq!(r("GET", "/_search"), Routed::Found(Search, vec![]));
        assert_eq!(
            r("GET", "/idx/_search"),
            Routed::Found(Search, vec!["idx".into()])
        );
        assert_eq!(
            r("GET", "/_connector/_sync_job"),
            Routed::Found(SyncJobList, vec![])
        );
        assert_eq!(
            r("GET", "/_connector/abc"),
            Routed::Found(ConnectorGet, vec!["abc".into()])
        );
        assert_eq!(
            r("PUT", "/_connector/_sync_job/j1/_claim"),
            Routed::Found(SyncJobClaim, vec!["j1".into()])
        );
        assert_eq!(
            r("GET", "/i/_doc/a%2Fb"),
            Routed::Found(DocGet, vec!["i".into(), "a/b".into()])
        );
        assert_eq!(r("HEAD", "/"), Routed::Found(Info, vec![]));
    }

    #[test]
    fn method_not_allowed_and_not_found() {
        assert_eq!(
            r("DELETE", "/_cluster/health"),
            Routed::MethodNotAllowed(vec!["GET".into()])
        );
        // Like Elasticsearch, `GET /_bulk` falls through to `GET /{index}`.
        assert_eq!(
            r("GET", "/_bulk"),
            Routed::Found(IndexGet, vec!["_bulk".into()])
        );
        assert_eq!(r("GET", "/a/b/c/d/e"), Routed::NotFound);
        // `PUT _connector/_sync_job` falls through to `PUT _connector/{id}` like Elasticsearch.
        assert_eq!(
            r("PUT", "/_connector/_sync_job"),
            Routed::Found(ConnectorPut, vec!["_sync_job".into()])
        );
    }
}
