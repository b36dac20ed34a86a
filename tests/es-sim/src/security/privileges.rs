//! Privileges of role descriptors: the named index privileges and the actions they grant
//! (Elasticsearch's `IndexPrivilege`), matching index names against `names` patterns, and
//! validating descriptors like `RoleDescriptorRequestValidator` (privilege names, index name
//! expressions, metadata keys, workflows).

use regex::Regex;

use crate::roles::{IndicesPrivileges, RoleDescriptor};

/// Named index privileges and the action patterns they grant (Elasticsearch's `IndexPrivilege`).
/// The failure-store privileges only grant access through the `::failures` selector, which
/// es-sim does not have, so they grant nothing here.
const INDEX_PRIVILEGES: &[(&str, &[&str])] = &[
    ("all", &["indices:*", "internal:transport/proxy/indices:*"]),
    (
        "auto_configure",
        &[
            "indices:admin/mapping/auto_put",
            "indices:admin/auto_create",
        ],
    ),
    (
        "create",
        &[
            "indices:data/write/index*",
            "indices:data/write/bulk*",
            "indices:data/write/simulate/bulk*",
        ],
    ),
    (
        "create_doc",
        &[
            "indices:data/write/index",
            "indices:data/write/index[*",
            "indices:data/write/index:op_type/create",
            "indices:data/write/bulk*",
            "indices:data/write/simulate/bulk*",
        ],
    ),
    (
        "create_index",
        &[
            "indices:admin/create",
            "indices:admin/auto_create",
            "indices:admin/data_stream/create",
        ],
    ),
    (
        "cross_cluster_replication",
        &[
            "indices:data/read/xpack/ccr/shard_changes*",
            "indices:monitor/stats*",
            "indices:admin/seq_no/add_retention_lease*",
            "indices:admin/seq_no/remove_retention_lease*",
            "indices:admin/seq_no/renew_retention_lease*",
        ],
    ),
    (
        "cross_cluster_replication_internal",
        &[
            "indices:internal/admin/ccr/restore/session/clear*",
            "indices:internal/admin/ccr/restore/file_chunk/get*",
            "indices:internal/admin/ccr/restore/session/put*",
        ],
    ),
    (
        "delete",
        &["indices:data/write/delete*", "indices:data/write/bulk*"],
    ),
    (
        "delete_index",
        &["indices:admin/delete", "indices:admin/data_stream/delete"],
    ),
    (
        "index",
        &[
            "indices:data/write/index*",
            "indices:data/write/bulk*",
            "indices:data/write/update*",
            "indices:data/write/simulate/bulk*",
        ],
    ),
    (
        "maintenance",
        &[
            "indices:admin/refresh*",
            "indices:admin/flush*",
            "indices:admin/synced_flush",
            "indices:admin/forcemerge*",
        ],
    ),
    (
        "manage",
        &[
            "indices:monitor/*",
            "indices:admin/*",
            "indices:data/read/field_caps*",
            "indices:admin/xpack/rollup/get/index/caps*",
        ],
    ),
    (
        "manage_data_stream_lifecycle",
        &["indices:admin/data_stream/lifecycle/*"],
    ),
    ("manage_failure_store", &[]),
    (
        "manage_follow_index",
        &[
            "indices:admin/xpack/ccr/put_follow",
            "indices:admin/xpack/ccr/unfollow",
            "indices:admin/close*",
            "indices:admin/data_stream/promote",
            "indices:admin/rollover",
        ],
    ),
    ("manage_ilm", &["indices:admin/ilm/*"]),
    (
        "manage_leader_index",
        &["indices:admin/xpack/ccr/forget_follower*"],
    ),
    ("monitor", &["indices:monitor/*"]),
    ("none", &[]),
    (
        "read",
        &[
            "indices:data/read/*",
            "indices:admin/resolve/index",
            "indices:admin/resolve/cluster",
        ],
    ),
    (
        "read_cross_cluster",
        &[
            "internal:transport/proxy/indices:data/read/*",
            "indices:admin/shards/search_shards",
            "indices:admin/search/search_shards",
            "indices:admin/resolve/cluster",
            "indices:data/read/esql",
            "indices:data/read/esql/compute",
        ],
    ),
    ("read_failure_store", &[]),
    (
        "view_index_metadata",
        &[
            "indices:admin/aliases/get",
            "indices:admin/get",
            "indices:admin/mappings/fields/get*",
            "indices:admin/mappings/get",
            "indices:admin/shards/search_shards",
            "indices:admin/search/search_shards",
            "indices:admin/validate/query*",
            "indices:monitor/settings/get",
            "indices:admin/ilm/explain",
            "indices:admin/data_stream/lifecycle/get",
            "indices:admin/data_stream/lifecycle/explain",
            "indices:admin/data_stream/get",
            "indices:admin/resolve/index",
            "indices:admin/resolve/cluster",
            "indices:data/read/field_caps*",
            "indices:admin/xpack/rollup/get/index/caps*",
            "indices:internal/transform/checkpoint*",
        ],
    ),
    (
        "write",
        &["indices:data/write/*", "indices:admin/mapping/auto_put"],
    ),
];

/// Named cluster privileges (`ClusterPrivilegeResolver`), for validation only.
const CLUSTER_PRIVILEGES: &[&str] = &[
    "all",
    "cancel_task",
    "create_snapshot",
    "cross_cluster_replication",
    "cross_cluster_search",
    "delegate_pki",
    "grant_api_key",
    "manage",
    "manage_api_key",
    "manage_autoscaling",
    "manage_behavioral_analytics",
    "manage_ccr",
    "manage_connector",
    "manage_data_frame_transforms",
    "manage_data_stream_global_retention",
    "manage_enrich",
    "manage_ilm",
    "manage_index_templates",
    "manage_inference",
    "manage_ingest_pipelines",
    "manage_logstash_pipelines",
    "manage_ml",
    "manage_oidc",
    "manage_own_api_key",
    "manage_pipeline",
    "manage_rollup",
    "manage_saml",
    "manage_search_application",
    "manage_search_query_rules",
    "manage_search_synonyms",
    "manage_security",
    "manage_service_account",
    "manage_slm",
    "manage_token",
    "manage_transform",
    "manage_user_profile",
    "manage_watcher",
    "monitor",
    "monitor_connector",
    "monitor_data_frame_transforms",
    "monitor_data_stream_global_retention",
    "monitor_enrich",
    "monitor_inference",
    "monitor_ml",
    "monitor_rollup",
    "monitor_snapshot",
    "monitor_stats",
    "monitor_text_structure",
    "monitor_transform",
    "monitor_watcher",
    "none",
    "post_behavioral_analytics_event",
    "read_ccr",
    "read_connector_secrets",
    "read_fleet_secrets",
    "read_ilm",
    "read_pipeline",
    "read_security",
    "read_slm",
    "transport_client",
    "write_connector_secrets",
    "write_fleet_secrets",
];

/// The workflows an API key may be restricted to (`WorkflowResolver`).
pub const WORKFLOWS: &[&str] = &["search_application_query", "search_application_analytics"];

/// Index names that wildcard and regex patterns only match with `allow_restricted_indices`
/// (Elasticsearch restricts its system indices; es-sim only the security ones).
const RESTRICTED_PREFIXES: &[&str] = &[".security"];

/// Whether an index is restricted (see [`IndicesPrivileges::covers`]).
pub fn is_restricted(index: &str) -> bool {
    RESTRICTED_PREFIXES.iter().any(|r| index.starts_with(r))
}

fn is_index_action(p: &str) -> bool {
    p.starts_with("indices:") || p.starts_with("internal:transport/proxy/indices:")
}

fn is_cluster_action(p: &str) -> bool {
    p.starts_with("cluster:")
        || p.starts_with("indices:admin/template/")
        || p.starts_with("indices:admin/index_template/")
}

/// `*` and `?` wildcards (Elasticsearch's automaton patterns).
pub fn wildcard(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut si) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some('*') => {
                backtrack = Some((pi, si));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match backtrack {
                Some((bp, bs)) => {
                    pi = bp + 1;
                    si = bs + 1;
                    backtrack = Some((bp, bs + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether an index privilege (a name or an action pattern) grants an action.
pub fn privilege_grants(privilege: &str, action: &str) -> bool {
    let p = privilege.to_lowercase();
    if is_index_action(&p) {
        return wildcard(&p, action);
    }
    INDEX_PRIVILEGES
        .iter()
        .find(|(n, _)| *n == p)
        .is_some_and(|(_, patterns)| patterns.iter().any(|pat| wildcard(pat, action)))
}

impl IndicesPrivileges {
    /// Whether any of the entry's privileges grants `action`.
    pub fn grants(&self, action: &str) -> bool {
        self.privileges.iter().any(|p| privilege_grants(p, action))
    }

    /// Whether one of `names` covers an index or alias name: exact names always, wildcards and
    /// `/regex/`es only outside restricted indices unless `allow_restricted_indices`.
    pub fn covers(&self, index: &str) -> bool {
        let restricted = is_restricted(index);
        self.names.iter().any(|p| {
            if p == index {
                return true;
            }
            if restricted && !self.allow_restricted_indices {
                return false;
            }
            match p.strip_prefix('/').and_then(|r| r.strip_suffix('/')) {
                Some(re) => Regex::new(&format!("^(?:{re})$")).is_ok_and(|r| r.is_match(index)),
                None => wildcard(p, index),
            }
        })
    }
}

/// `RoleDescriptorRequestValidator`: the validation errors of the descriptors, in order.
pub fn validate(roles: &[RoleDescriptor]) -> Vec<String> {
    let mut errors = Vec::new();
    for rd in roles {
        for cp in &rd.cluster {
            let name = cp.to_lowercase();
            if !is_cluster_action(&name) && !CLUSTER_PRIVILEGES.contains(&name.as_str()) {
                errors.push(format!(
                    "unknown cluster privilege [{name}]. a privilege must be either one of the predefined cluster privilege names [{}] or a pattern over one of the available cluster actions",
                    CLUSTER_PRIVILEGES.join(",")
                ));
            }
        }
        for ip in &rd.indices {
            if let Some(bad) = ip
                .privileges
                .iter()
                .map(|p| p.to_lowercase())
                .find(|p| !is_index_action(p) && !INDEX_PRIVILEGES.iter().any(|(n, _)| n == p))
            {
                let names: Vec<&str> = INDEX_PRIVILEGES.iter().map(|(n, _)| *n).collect();
                errors.push(format!(
                    "unknown index privilege [{bad}]. a privilege must be either one of the predefined fixed indices privileges [{}] or a pattern over one of the available index actions",
                    names.join(",")
                ));
            }
            for n in &ip.names {
                if let Some(e) = index_expression_error(n) {
                    errors.push(e);
                }
            }
        }
        if rd.metadata.keys().any(|k| k.starts_with('_')) {
            errors.push("role descriptor metadata keys may not start with [_]".into());
        }
        for w in rd.workflows.iter().flatten() {
            if !WORKFLOWS.contains(&w.to_lowercase().trim()) {
                errors.push(format!(
                    "Unknown workflow [{w}]. A workflow must be one of the predefined workflow names [{}].",
                    WORKFLOWS.join(",")
                ));
            }
        }
    }
    errors
}

/// The validation error of an index name expression, if any.
fn index_expression_error(pattern: &str) -> Option<String> {
    if pattern.is_empty() || pattern == "*" {
        return None;
    }
    if pattern.contains("::") {
        return Some(format!(
            "selectors [::] are not allowed in the index name expression [{pattern}]"
        ));
    }
    if let Some(re) = pattern.strip_prefix('/') {
        let ok = re
            .strip_suffix('/')
            .is_some_and(|r| Regex::new(&format!("^(?:{r})$")).is_ok());
        return (!ok).then(|| format!("invalid regular expression pattern [{pattern}]"));
    }
    let stripped = pattern.replace(['*', '?'], "x");
    if crate::store::validate_index_name(&stripped.to_lowercase()).is_err() {
        return Some(format!("invalid index name expression [{pattern}]"));
    }
    (stripped.to_lowercase() != stripped)
        .then(|| format!("index name must be lowercase [{pattern}]"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::roles::{ParseFailure, parse_role};

    fn parse_one(v: serde_json::Value) -> Result<RoleDescriptor, ParseFailure> {
        parse_role("r", &v)
    }

    #[test]
    fn validation_and_privileges() {
        let rd = parse_one(json!({
            "cluster": ["bogus"],
            "indices": [{"names": ["Upper", "ok-*", "/re[/"], "privileges": ["read", "reed"]}],
            "restriction": {"workflows": ["nope"]},
        }))
        .unwrap();
        let errs = validate(&[rd]);
        assert_eq!(errs.len(), 5, "{errs:?}");
        assert!(errs[0].starts_with("unknown cluster privilege [bogus]"));
        assert!(errs[1].starts_with("unknown index privilege [reed]"));
        assert_eq!(errs[2], "index name must be lowercase [Upper]");
        assert_eq!(errs[3], "invalid regular expression pattern [/re[/]");
        assert!(errs[4].starts_with("Unknown workflow [nope]"));

        assert!(privilege_grants("read", "indices:data/read/search"));
        assert!(privilege_grants("all", "indices:data/read/search"));
        assert!(privilege_grants(
            "indices:data/read/*",
            "indices:data/read/get"
        ));
        assert!(!privilege_grants(
            "view_index_metadata",
            "indices:data/read/search"
        ));
        assert!(!privilege_grants("write", "indices:data/read/search"));
        let ip = IndicesPrivileges {
            names: vec![
                "search-*".into(),
                "/logs-[0-9]+/".into(),
                ".security-7".into(),
            ],
            privileges: vec!["read".into()],
            query: None,
            field_security: None,
            allow_restricted_indices: false,
        };
        assert!(ip.covers("search-a") && ip.covers("logs-42") && ip.covers(".security-7"));
        assert!(!ip.covers("logs-x") && !ip.covers("other"));
        assert!(wildcard("a?c*", "abcdef") && !wildcard("a?c", "abcd"));
    }
}
