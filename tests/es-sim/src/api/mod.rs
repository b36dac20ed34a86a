//! Request handlers, grouped by API family, and the dispatcher from routes to handlers.

pub mod bulk;
pub mod cluster;
pub mod connectors;
pub mod docs;
pub mod filter_path;
pub mod indices;
pub mod ingest;
pub mod search;
pub mod secrets;
pub mod sim;
pub mod sync_jobs;

use crate::error::{EsError, EsResult};
use crate::http::{Params, Req, Resp};
use crate::router::Route;
use crate::state::AppState;

/// When a write becomes visible to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    No,
    /// `refresh=true` (and `wait_for`, which the simulator satisfies by refreshing at once).
    Now,
}

pub fn refresh_param(p: &Params) -> EsResult<Refresh> {
    match p.get("refresh") {
        None | Some("false") => Ok(Refresh::No),
        Some("true") | Some("") | Some("wait_for") => Ok(Refresh::Now),
        Some(other) => Err(EsError::bad_request(format!(
            "Unknown value for refresh: [{other}]."
        ))),
    }
}

/// Routes a request to its handler. `args` are the captured path segments in order.
pub async fn dispatch(
    state: &AppState,
    route: Route,
    args: &[String],
    req: &Req,
) -> EsResult<Resp> {
    use Route::*;
    crate::authz::check_workflow(&req.principal, route)?;
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    match route {
        Info => cluster::info(state, req),
        ClusterHealth => cluster::health(state, req, args.first().map(String::as_str)).await,
        License => cluster::license(state),
        Nodes => cluster::nodes(state),
        TaskGet => cluster::task(state, a(0)),
        CatIndices => cluster::cat_indices(state, req, args.first().map(String::as_str)),
        Authenticate => crate::security::authenticate_info(&state.auth(), req),
        ApiKeyCreate => crate::security::create_api_key(&state.auth(), req),
        ApiKeyGet => crate::security::get_api_keys(&state.auth(), req),
        ApiKeyInvalidate => crate::security::invalidate_api_keys(&state.auth(), req),
        PipelineGet => ingest::get(state, args.first().map(String::as_str)),
        PipelinePut => ingest::put(state, a(0), req),
        PipelineDelete => ingest::delete(state, a(0)),
        AliasGet => indices::get_alias(state, req, args),
        AliasPut => indices::put_alias(state, a(0), a(1), req),
        AliasDelete => indices::delete_alias(state, a(0), a(1)),
        AliasesUpdate => indices::update_aliases(state, req),
        Bulk => bulk::bulk(state, args.first().map(String::as_str), req),
        Search => search::search(state, args.first().map(String::as_str), req),
        Count => search::count(state, args.first().map(String::as_str), req),
        Scroll => search::scroll(state, args.first().map(String::as_str), req),
        ScrollClear => search::clear_scroll(state, args.first().map(String::as_str), req),
        PitOpen => search::open_pit(state, a(0), req),
        PitClose => search::close_pit(state, req),
        DeleteByQuery => search::delete_by_query(state, a(0), req),
        Refresh => indices::refresh(state, args.first().map(String::as_str), req),
        MappingGet => indices::get_mapping(state, args.first().map(String::as_str), req),
        MappingPut => indices::put_mapping(state, a(0), req),
        FieldMappingGet => match args {
            [index, fields] => indices::get_field_mapping(state, Some(index), fields, req),
            _ => indices::get_field_mapping(state, None, a(0), req),
        },
        SettingsGet => indices::get_settings(state, args.first().map(String::as_str), req),
        SettingsPut => indices::put_settings(state, a(0), req),
        IndexCreate => indices::create(state, a(0), req),
        IndexExists => indices::exists(state, a(0), req),
        IndexGet => indices::get(state, a(0), req),
        IndexDelete => indices::delete(state, a(0), req),
        DocIndex => docs::index(state, a(0), args.get(1).map(String::as_str), req, false),
        DocCreate => docs::index(state, a(0), Some(a(1)), req, true),
        DocGet => docs::get(state, a(0), a(1), req),
        SourceGet => docs::get_source(state, a(0), a(1), req),
        DocDelete => docs::delete(state, a(0), a(1), req),
        DocUpdate => docs::update(state, a(0), a(1), req),
        Mget => docs::mget(state, args.first().map(String::as_str), req),
        ConnectorPut => connectors::put(state, Some(a(0)), req),
        ConnectorPost => connectors::put(state, None, req),
        ConnectorGet => connectors::get(state, a(0), req),
        ConnectorList => connectors::list(state, req),
        ConnectorDelete => connectors::delete(state, a(0), req),
        ConnectorCheckIn => connectors::check_in(state, a(0)),
        ConnectorError => connectors::set_error(state, a(0), req),
        ConnectorStatus => connectors::set_status(state, a(0), req),
        ConnectorConfiguration => connectors::configuration(state, a(0), req),
        ConnectorFiltering => connectors::filtering(state, a(0), req),
        ConnectorFilteringValidation => connectors::filtering_validation(state, a(0), req),
        ConnectorFilteringActivate => connectors::filtering_activate(state, a(0)),
        ConnectorLastSync => connectors::last_sync(state, a(0), req),
        ConnectorFeatures => connectors::features(state, a(0), req),
        ConnectorIndexName => connectors::index_name(state, a(0), req),
        ConnectorApiKeyId => connectors::api_key_id(state, a(0), req),
        ConnectorNative => connectors::native(state, a(0), req),
        ConnectorPipeline => connectors::pipeline(state, a(0), req),
        ConnectorScheduling => connectors::scheduling(state, a(0), req),
        ConnectorServiceType => connectors::service_type(state, a(0), req),
        ConnectorName => connectors::name(state, a(0), req),
        SyncJobPost => sync_jobs::post(state, req),
        SyncJobList => sync_jobs::list(state, req),
        SyncJobGet => sync_jobs::get(state, a(0)),
        SyncJobDelete => sync_jobs::delete(state, a(0)),
        SyncJobCheckIn => sync_jobs::check_in(state, a(0)),
        SyncJobClaim => sync_jobs::claim(state, a(0), req),
        SyncJobStats => sync_jobs::stats(state, a(0), req),
        SyncJobError => sync_jobs::set_error(state, a(0), req),
        SyncJobCancel => sync_jobs::cancel(state, a(0)),
        SecretPost => secrets::post(state, req),
        SecretGet => secrets::get(state, a(0)),
        SecretPut => secrets::put(state, a(0), req),
        SecretDelete => secrets::delete(state, a(0)),
        SimFaultsGet => sim::get(state),
        SimFaultsPut => sim::put(state, req),
        SimFaultsDelete => sim::delete(state),
    }
}
