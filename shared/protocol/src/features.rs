//! `features` of a connector: what its source supports.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `{ "enabled": bool }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureFlag {
    #[serde(default)]
    pub enabled: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl FeatureFlag {
    pub fn new(enabled: bool) -> Self {
        FeatureFlag {
            enabled,
            extra: Map::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncRulesFeatures {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<FeatureFlag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced: Option<FeatureFlag>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `features` as the `_features` API and the Python service write it, with the legacy booleans.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_level_security: Option<FeatureFlag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental_sync: Option<FeatureFlag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_connector_api_keys: Option<FeatureFlag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_rules: Option<SyncRulesFeatures>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtering_rules: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtering_advanced_config: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn on(flag: &Option<FeatureFlag>) -> bool {
    flag.as_ref().is_some_and(|f| f.enabled)
}

impl Features {
    /// The features a source declares, in the shape the Python service writes.
    pub fn declared(basic_rules: bool, advanced_rules: bool, incremental: bool, dls: bool) -> Self {
        Features {
            document_level_security: Some(FeatureFlag::new(dls)),
            incremental_sync: Some(FeatureFlag::new(incremental)),
            native_connector_api_keys: Some(FeatureFlag::new(false)),
            sync_rules: Some(SyncRulesFeatures {
                basic: Some(FeatureFlag::new(basic_rules)),
                advanced: Some(FeatureFlag::new(advanced_rules)),
                extra: Map::new(),
            }),
            filtering_rules: None,
            filtering_advanced_config: None,
            extra: Map::new(),
        }
    }

    pub fn incremental_sync_enabled(&self) -> bool {
        on(&self.incremental_sync)
    }

    pub fn document_level_security_enabled(&self) -> bool {
        on(&self.document_level_security)
    }

    /// Basic rules: the new flag, else the legacy `filtering_rules`.
    pub fn basic_rules_enabled(&self) -> bool {
        match self.sync_rules.as_ref().and_then(|r| r.basic.as_ref()) {
            Some(flag) => flag.enabled,
            None => self.filtering_rules.unwrap_or(false),
        }
    }

    /// Advanced rules: the new flag, else the legacy `filtering_advanced_config`.
    pub fn advanced_rules_enabled(&self) -> bool {
        match self.sync_rules.as_ref().and_then(|r| r.advanced.as_ref()) {
            Some(flag) => flag.enabled,
            None => self.filtering_advanced_config.unwrap_or(false),
        }
    }
}
