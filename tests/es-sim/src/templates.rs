//! Built-in index definitions, like the ones Elasticsearch ships for the connector system indices
//! (`dynamic: false`; only the listed fields are searchable).

use serde_json::{Value, json};

pub const CONNECTORS_INDEX: &str = ".elastic-connectors-v1";
pub const CONNECTORS_ALIAS: &str = ".elastic-connectors";
pub const SYNC_JOBS_INDEX: &str = ".elastic-connectors-sync-jobs-v1";
pub const SYNC_JOBS_ALIAS: &str = ".elastic-connectors-sync-jobs";
pub const SECRETS_INDEX: &str = ".connector-secrets";
pub const ACL_PREFIX: &str = ".search-acl-filter-";

/// A built-in definition: settings, mappings and aliases applied when the index is created.
pub struct Template {
    pub settings: Value,
    pub mappings: Value,
    pub aliases: Vec<&'static str>,
}

fn kw() -> Value {
    json!({"type": "keyword"})
}

fn filtering_rules() -> Value {
    json!({
        "properties": {
            "advanced_snippet": {"properties": {
                "created_at": {"type": "date"}, "updated_at": {"type": "date"},
                "value": {"type": "object", "enabled": false}
            }},
            "rules": {"properties": {
                "created_at": {"type": "date"}, "field": kw(), "id": kw(), "order": {"type": "short"},
                "policy": kw(), "rule": kw(), "updated_at": {"type": "date"}, "value": kw()
            }},
            "validation": {"properties": {
                "errors": {"properties": {"ids": kw(), "messages": {"type": "text"}}},
                "state": kw()
            }}
        }
    })
}

fn connector_mappings() -> Value {
    json!({
        "dynamic": "false",
        "_meta": {"version": 1},
        "properties": {
            "api_key_id": kw(),
            "api_key_secret_id": kw(),
            "configuration": {"type": "object", "enabled": false},
            "custom_scheduling": {"type": "object", "enabled": false},
            "deleted": {"type": "boolean"},
            "description": {"type": "text"},
            "error": kw(),
            "features": {"properties": {
                "document_level_security": {"properties": {"enabled": {"type": "boolean"}}},
                "filtering_advanced_config": {"type": "boolean"},
                "filtering_rules": {"type": "boolean"},
                "incremental_sync": {"properties": {"enabled": {"type": "boolean"}}},
                "native_connector_api_keys": {"properties": {"enabled": {"type": "boolean"}}},
                "sync_rules": {"properties": {
                    "advanced": {"properties": {"enabled": {"type": "boolean"}}},
                    "basic": {"properties": {"enabled": {"type": "boolean"}}}
                }}
            }},
            "filtering": {"properties": {
                "active": filtering_rules(),
                "domain": kw(),
                "draft": filtering_rules()
            }},
            "index_name": kw(),
            "is_native": {"type": "boolean"},
            "language": kw(),
            "last_access_control_sync_error": kw(),
            "last_access_control_sync_scheduled_at": {"type": "date"},
            "last_access_control_sync_status": kw(),
            "last_deleted_document_count": {"type": "long"},
            "last_incremental_sync_scheduled_at": {"type": "date"},
            "last_indexed_document_count": {"type": "long"},
            "last_seen": {"type": "date"},
            "last_sync_error": kw(),
            "last_sync_scheduled_at": {"type": "date"},
            "last_sync_status": kw(),
            "last_synced": {"type": "date"},
            "name": kw(),
            "pipeline": {"properties": {
                "extract_binary_content": {"type": "boolean"},
                "name": kw(),
                "reduce_whitespace": {"type": "boolean"},
                "run_ml_inference": {"type": "boolean"}
            }},
            "scheduling": {"properties": {
                "access_control": {"properties": {"enabled": {"type": "boolean"}, "interval": {"type": "text"}}},
                "full": {"properties": {"enabled": {"type": "boolean"}, "interval": {"type": "text"}}},
                "incremental": {"properties": {"enabled": {"type": "boolean"}, "interval": {"type": "text"}}}
            }},
            "service_type": kw(),
            "status": kw(),
            "sync_cursor": {"type": "object", "enabled": false},
            "sync_now": {"type": "boolean"}
        }
    })
}

fn sync_job_mappings() -> Value {
    json!({
        "dynamic": "false",
        "_meta": {"version": 1},
        "properties": {
            "cancelation_requested_at": {"type": "date"},
            "canceled_at": {"type": "date"},
            "completed_at": {"type": "date"},
            "connector": {"properties": {
                "configuration": {"type": "object", "enabled": false},
                "filtering": filtering_rules(),
                "id": kw(),
                "index_name": kw(),
                "language": kw(),
                "pipeline": {"properties": {
                    "extract_binary_content": {"type": "boolean"},
                    "name": kw(),
                    "reduce_whitespace": {"type": "boolean"},
                    "run_ml_inference": {"type": "boolean"}
                }},
                "service_type": kw(),
                "sync_cursor": {"type": "object", "enabled": false}
            }},
            "created_at": {"type": "date"},
            "deleted_document_count": {"type": "integer"},
            "error": kw(),
            "indexed_document_count": {"type": "integer"},
            "indexed_document_volume": {"type": "integer"},
            "job_type": kw(),
            "last_seen": {"type": "date"},
            "metadata": {"type": "object", "dynamic": "false"},
            "started_at": {"type": "date"},
            "status": kw(),
            "total_document_count": {"type": "integer"},
            "trigger_method": kw(),
            "worker_hostname": kw()
        }
    })
}

fn system_settings() -> Value {
    json!({"index": {"hidden": "true", "auto_expand_replicas": "0-1", "number_of_shards": "1", "number_of_replicas": "0"}})
}

/// The built-in definition for an index name, if any.
pub fn for_index(name: &str) -> Option<Template> {
    match name {
        CONNECTORS_INDEX => Some(Template {
            settings: system_settings(),
            mappings: connector_mappings(),
            aliases: vec![CONNECTORS_ALIAS],
        }),
        SYNC_JOBS_INDEX => Some(Template {
            settings: system_settings(),
            mappings: sync_job_mappings(),
            aliases: vec![SYNC_JOBS_ALIAS],
        }),
        SECRETS_INDEX => Some(Template {
            settings: system_settings(),
            mappings: json!({"dynamic": "false", "properties": {"value": kw()}}),
            aliases: vec![],
        }),
        n if n.starts_with(ACL_PREFIX) => Some(Template {
            settings: json!({"index": {"hidden": "true", "number_of_shards": "1", "auto_expand_replicas": "0-1"}}),
            mappings: json!({"dynamic": "false", "properties": {"created_at": {"type": "date"}}}),
            aliases: vec![],
        }),
        _ => None,
    }
}

/// The concrete index behind a built-in alias that does not exist yet.
pub fn concrete_for_alias(alias: &str) -> Option<&'static str> {
    match alias {
        CONNECTORS_ALIAS => Some(CONNECTORS_INDEX),
        SYNC_JOBS_ALIAS => Some(SYNC_JOBS_INDEX),
        _ => None,
    }
}
