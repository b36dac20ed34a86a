//! Authorization of requests made with API keys that carry role descriptors, the way
//! Elasticsearch's `RBACEngine` does it for the parts es-sim enforces:
//!
//! - workflow restrictions: a key whose descriptors are all restricted to workflows (es-sim has
//!   no search application endpoints, so no request runs in a workflow) is denied every action
//!   with `access restricted by workflow`;
//! - index privileges of the read actions (`_search`, `_count`, point in time, `GET _doc`,
//!   `_source`, `_mget`): explicitly named indices the key's `indices` entries do not grant the
//!   action on are denied (403 `security_exception`), wildcards expand to the granted indices
//!   only;
//! - document-level security: the role queries of the entries granting access to an index,
//!   ORed (an entry without a query grants every document), filter what those actions see.
//!
//! Other actions (writes, index administration, cluster and connector APIs) are not checked
//! against the descriptors, and `field_security` is not applied. Basic-auth users, anonymous
//! requests and keys without descriptors keep the owner's (superuser) access.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::{EsError, EsResult};
use crate::http::Req;
use crate::mapping::ObjectMapping;
use crate::query::{CompileCtx, CompiledQuery, Query};
use crate::roles::{IndicesPrivileges, RoleDescriptor};
use crate::router::Route;
use crate::search::Target;
use crate::security::Principal;
use crate::security::dls;
use crate::security::privileges::is_restricted;
use crate::state::AppState;
use crate::store::{ResolveOpts, read};

/// An Elasticsearch action, with the privileges that grant it as denial messages list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    pub name: &'static str,
    /// `index` or `cluster`.
    pub kind: &'static str,
    /// Comma-separated, least privileged first; empty when the message names none.
    pub granted_by: &'static str,
}

const fn index(name: &'static str, granted_by: &'static str) -> Action {
    Action {
        name,
        kind: "index",
        granted_by,
    }
}

const fn cluster(name: &'static str, granted_by: &'static str) -> Action {
    Action {
        name,
        kind: "cluster",
        granted_by,
    }
}

pub const SEARCH: Action = index("indices:data/read/search", "read,all");
pub const OPEN_PIT: Action = index("indices:data/read/open_point_in_time", "read,all");
pub const GET: Action = index("indices:data/read/get", "read,all");
pub const MGET: Action = index("indices:data/read/mget", "read,all");
pub const MGET_SHARD: Action = index("indices:data/read/mget[shard]", "read,all");

const MONITOR: &str = "monitor,manage,all";
const CONNECTOR: &str = "manage_connector,manage,all";
const VIEW: &str = "view_index_metadata,manage,all";

/// The action a route performs (its first action, for the ones that run several).
pub fn action_of(route: Route) -> Action {
    use Route::*;
    match route {
        Info => cluster("cluster:monitor/main", MONITOR),
        ClusterHealth => cluster("cluster:monitor/health", MONITOR),
        License => cluster("cluster:monitor/xpack/license/get", MONITOR),
        Nodes => cluster("cluster:monitor/nodes/info", MONITOR),
        TaskGet => cluster("cluster:monitor/task/get", MONITOR),
        CatIndices => cluster("cluster:monitor/state", MONITOR),
        Authenticate => cluster("cluster:admin/xpack/security/user/authenticate", ""),
        ApiKeyCreate => cluster(
            "cluster:admin/xpack/security/api_key/create",
            "manage_own_api_key,manage_api_key,manage_security,all",
        ),
        ApiKeyGet => cluster(
            "cluster:admin/xpack/security/api_key/get",
            "manage_own_api_key,read_security,manage_api_key,manage_security,all",
        ),
        ApiKeyInvalidate => cluster(
            "cluster:admin/xpack/security/api_key/invalidate",
            "manage_own_api_key,manage_api_key,manage_security,all",
        ),
        PipelineGet => cluster(
            "cluster:admin/ingest/pipeline/get",
            "read_pipeline,manage_ingest_pipelines,manage_pipeline,manage,all",
        ),
        PipelinePut => cluster(
            "cluster:admin/ingest/pipeline/put",
            "manage_ingest_pipelines,manage_pipeline,manage,all",
        ),
        PipelineDelete => cluster(
            "cluster:admin/ingest/pipeline/delete",
            "manage_ingest_pipelines,manage_pipeline,manage,all",
        ),
        AliasGet => index("indices:admin/aliases/get", VIEW),
        AliasPut | AliasDelete | AliasesUpdate => index("indices:admin/aliases", "manage,all"),
        Bulk => index(
            "indices:data/write/bulk",
            "create_doc,create,index,delete,write,all",
        ),
        Search | Count => SEARCH,
        Scroll => index("indices:data/read/scroll", "read,all"),
        ScrollClear => index("indices:data/read/scroll/clear", "read,all"),
        PitOpen => OPEN_PIT,
        PitClose => index("indices:data/read/close_point_in_time", "read,all"),
        DeleteByQuery => index("indices:data/write/delete/byquery", "delete,write,all"),
        Refresh => index("indices:admin/refresh", "maintenance,manage,all"),
        MappingGet => index("indices:admin/mappings/get", VIEW),
        FieldMappingGet => index("indices:admin/mappings/fields/get", VIEW),
        MappingPut => index("indices:admin/mapping/put", "manage,all"),
        SettingsGet => index(
            "indices:monitor/settings/get",
            "view_index_metadata,monitor,manage,all",
        ),
        SettingsPut => index("indices:admin/settings/update", "manage,all"),
        IndexCreate => index("indices:admin/create", "create_index,manage,all"),
        IndexExists | IndexGet => index("indices:admin/get", VIEW),
        IndexDelete => index("indices:admin/delete", "delete_index,manage,all"),
        DocIndex | DocCreate => index(
            "indices:data/write/index",
            "create_doc,create,index,write,all",
        ),
        DocGet | SourceGet => GET,
        DocDelete => index("indices:data/write/delete", "delete,write,all"),
        DocUpdate => index("indices:data/write/update", "index,write,all"),
        Mget => MGET,
        ConnectorPut | ConnectorPost => cluster("cluster:admin/xpack/connector/put", CONNECTOR),
        ConnectorGet => cluster("cluster:admin/xpack/connector/get", CONNECTOR),
        ConnectorList => cluster("cluster:admin/xpack/connector/list", CONNECTOR),
        ConnectorDelete => cluster("cluster:admin/xpack/connector/delete", CONNECTOR),
        ConnectorCheckIn
        | ConnectorError
        | ConnectorStatus
        | ConnectorConfiguration
        | ConnectorFiltering
        | ConnectorFilteringValidation
        | ConnectorFilteringActivate
        | ConnectorLastSync
        | ConnectorFeatures
        | ConnectorIndexName
        | ConnectorApiKeyId
        | ConnectorNative
        | ConnectorPipeline
        | ConnectorScheduling
        | ConnectorServiceType
        | ConnectorName => cluster("cluster:admin/xpack/connector/update", CONNECTOR),
        SyncJobPost => cluster("cluster:admin/xpack/connector/sync_job/post", CONNECTOR),
        SyncJobList => cluster("cluster:admin/xpack/connector/sync_job/list", CONNECTOR),
        SyncJobGet => cluster("cluster:admin/xpack/connector/sync_job/get", CONNECTOR),
        SyncJobDelete => cluster("cluster:admin/xpack/connector/sync_job/delete", CONNECTOR),
        SyncJobCheckIn | SyncJobClaim | SyncJobStats | SyncJobError | SyncJobCancel => {
            cluster("cluster:admin/xpack/connector/sync_job/update", CONNECTOR)
        }
        SecretGet => cluster(
            "cluster:admin/xpack/connector/secret/get",
            "read_connector_secrets",
        ),
        SecretPost => cluster(
            "cluster:admin/xpack/connector/secret/post",
            "write_connector_secrets",
        ),
        SecretPut => cluster(
            "cluster:admin/xpack/connector/secret/put",
            "write_connector_secrets",
        ),
        SecretDelete => cluster(
            "cluster:admin/xpack/connector/secret/delete",
            "write_connector_secrets",
        ),
        SimFaultsGet | SimFaultsPut | SimFaultsDelete => cluster("cluster:admin/es_sim/faults", ""),
    }
}

/// `action [A] is unauthorized for API key id [I] of user [U] (on indices [..])(, this action is
/// granted by the K privileges [..])`.
fn denied(action: &Action, id: &str, username: &str, names: &[String]) -> EsError {
    let mut reason = format!(
        "action [{}] is unauthorized for API key id [{id}] of user [{username}]",
        action.name
    );
    let (restricted, regular): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| is_restricted(n));
    let join = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
    if !regular.is_empty() {
        reason.push_str(&format!(" on indices [{}]", join(&regular)));
    }
    if !restricted.is_empty() {
        let on = if regular.is_empty() { " on" } else { " and" };
        reason.push_str(&format!("{on} restricted indices [{}]", join(&restricted)));
    }
    if !action.granted_by.is_empty() {
        reason.push_str(&format!(
            ", this action is granted by the {} privileges [{}]",
            action.kind, action.granted_by
        ));
    }
    EsError::new(403, "security_exception", reason)
}

/// The descriptors that apply outside workflows: those without a workflow restriction.
fn effective(roles: &[RoleDescriptor]) -> impl Iterator<Item = &RoleDescriptor> {
    roles.iter().filter(|r| r.workflows.is_none())
}

/// Denies every route to a key whose descriptors are all restricted to workflows.
pub fn check_workflow(principal: &Principal, route: Route) -> EsResult<()> {
    let Principal::Key {
        id,
        username,
        roles,
        ..
    } = principal
    else {
        return Ok(());
    };
    if roles.is_empty() || effective(roles).next().is_some() {
        return Ok(());
    }
    let cause =
        json!({"type": "role_restriction_exception", "reason": "access restricted by workflow"});
    Err(denied(&action_of(route), id, username, &[])
        .caused_by(cause.clone())
        .with_root_cause(vec![cause]))
}

/// Concrete indices a read resolved to, with the requested aliases each was reached through.
#[derive(Debug, Default)]
pub struct ReadTargets {
    pub names: Vec<String>,
    aliases: BTreeMap<String, Vec<String>>,
}

/// What one request may read.
#[derive(Debug)]
pub enum ReadAccess<'a> {
    /// The owner's (superuser) access: no checks, no filters.
    Full,
    Key {
        id: &'a str,
        username: &'a str,
        action: Action,
        /// The effective `indices` entries that grant the action.
        groups: Vec<&'a IndicesPrivileges>,
    },
}

impl<'a> ReadAccess<'a> {
    /// The access of the request's principal for `action`. A key none of whose entries grants
    /// the action is denied outright (without naming indices), like Elasticsearch does.
    pub fn of(req: &'a Req, action: Action) -> EsResult<ReadAccess<'a>> {
        let Principal::Key {
            id,
            username,
            roles,
            ..
        } = &req.principal
        else {
            return Ok(ReadAccess::Full);
        };
        if roles.is_empty() {
            return Ok(ReadAccess::Full);
        }
        let groups: Vec<&IndicesPrivileges> = effective(roles)
            .flat_map(|r| r.indices.iter())
            .filter(|ip| ip.grants(action.name))
            .collect();
        if groups.is_empty() {
            return Err(denied(&action, id, username, &[]));
        }
        Ok(ReadAccess::Key {
            id,
            username,
            action,
            groups,
        })
    }

    /// The same access, reported as another action (the shard-level action of `_mget` items).
    pub fn as_action(self, other: Action) -> ReadAccess<'a> {
        match self {
            ReadAccess::Key {
                id,
                username,
                groups,
                ..
            } => ReadAccess::Key {
                id,
                username,
                action: other,
                groups,
            },
            full => full,
        }
    }

    /// Checks explicitly named indices or aliases: a 403 naming the ones not granted.
    pub fn check_names(&self, names: &[&str]) -> EsResult<()> {
        let ReadAccess::Key {
            id,
            username,
            action,
            groups,
        } = self
        else {
            return Ok(());
        };
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !groups.iter().any(|g| g.covers(n)))
            .map(|n| n.to_string())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(denied(action, id, username, &missing))
        }
    }

    /// Resolves an index expression to the indices the principal may read: explicit names must
    /// be granted (403 otherwise, before existence is checked), wildcards and `_all` expand to the
    /// granted indices only (possibly none), an explicitly named granted alias grants its indices.
    pub fn resolve(
        &self,
        state: &AppState,
        expr: &str,
        opts: ResolveOpts,
    ) -> EsResult<ReadTargets> {
        let ReadAccess::Key { groups, .. } = self else {
            return Ok(ReadTargets {
                names: state.resolve(expr, opts)?,
                aliases: BTreeMap::new(),
            });
        };
        let parts: Vec<&str> = expr
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let is_explicit =
            |i: usize, p: &str| !(p == "_all" || p.contains('*') || (i > 0 && p.starts_with('-')));
        let granted = |p: &str| groups.iter().any(|g| g.covers(p));
        let mut explicit: Vec<&str> = Vec::new();
        let mut kept: Vec<&str> = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            if !is_explicit(i, p) {
                kept.push(p);
            } else if granted(p) || !opts.ignore_unavailable {
                explicit.push(p);
                kept.push(p);
            }
        }
        // Without `ignore_unavailable` a name not granted fails the request; with it, it is
        // skipped like a missing index.
        self.check_names(&explicit)?;
        if kept.iter().all(|p| p.starts_with('-')) && !parts.is_empty() {
            return Ok(ReadTargets::default());
        }
        let expr = kept.join(",");
        let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        {
            let cat = read(&state.catalog);
            for name in &explicit {
                if cat.indices.contains_key(*name) {
                    continue;
                }
                for concrete in cat.alias_indices(name) {
                    aliases.entry(concrete).or_default().push(name.to_string());
                }
            }
        }
        let mut names = state.resolve(&expr, opts)?;
        names.retain(|n| aliases.contains_key(n) || granted(n));
        Ok(ReadTargets { names, aliases })
    }

    /// Sets each target's document-level security filter.
    pub fn restrict(&self, targets: &mut [Target], resolved: &ReadTargets) -> EsResult<()> {
        for t in targets {
            let via = resolved
                .aliases
                .get(t.name.as_ref())
                .map(Vec::as_slice)
                .unwrap_or_default();
            t.dls = self
                .filter_for(&t.name, via)
                .map_err(|e| e.shard_failure(&t.name, &t.uuid))?
                .map(Arc::new);
        }
        Ok(())
    }

    /// The document-level security filter of one index reached directly or through `aliases`:
    /// `None` when every document is visible.
    pub fn filter_for(&self, index: &str, aliases: &[String]) -> EsResult<Option<Query>> {
        let ReadAccess::Key {
            username, groups, ..
        } = self
        else {
            return Ok(None);
        };
        let applying: Vec<&&IndicesPrivileges> = groups
            .iter()
            .filter(|g| g.covers(index) || aliases.iter().any(|a| g.covers(a)))
            .collect();
        let mut queries = Vec::with_capacity(applying.len());
        for g in applying {
            let Some(text) = &g.query else {
                return Ok(None);
            };
            queries.push(dls::role_query(text, &user_model(username))?);
        }
        Ok((!queries.is_empty()).then(|| dls::any_of(queries)))
    }
}

/// The `_user` parameter of role query templates: the key's owner.
fn user_model(username: &str) -> Value {
    json!({"username": username, "roles": [], "full_name": null, "email": null, "metadata": {}})
}

/// Whether a document matches a document-level security filter.
pub fn visible(
    filter: &Query,
    mapping: &ObjectMapping,
    index: &str,
    id: &str,
    source: &Value,
) -> EsResult<bool> {
    let ctx = CompileCtx {
        mapping,
        index_name: index,
        now: crate::datemath::now_millis(),
    };
    Ok(CompiledQuery::new(filter, &ctx)?
        .score(id, index, source)
        .is_some())
}
