//! Before the first page of a slice: the source built and validated from the job's snapshot,
//! the sync rules checked again, the content index created and its sync stamp mapped.

use connectors_protocol::rules::validate_basic_rules;
use connectors_protocol::{FilteringRules, JobType, ValidationState, validate_configuration};
use connectors_sdk::{BuildContext, DataSource, SYNC_STAMP_FIELD};
use serde_json::json;
use tracing::info;

use crate::checkpoint::Phase;
use crate::sync::{Run, Stop};

impl Run<'_> {
    pub(crate) fn descriptor_features(&self) -> Result<connectors_sdk::SourceFeatures, Stop> {
        let service_type = self.job.connector.service_type.as_deref().unwrap_or("");
        self.engine
            .sources
            .get(service_type)
            .map(|d| d.features())
            .ok_or_else(|| Stop::Failed(format!("Unsupported service type '{service_type}'.")))
    }

    /// Builds and validates the source from the job's snapshot, as the reference does at the
    /// start of every job; here at the start of every slice (a source may have gone away).
    pub(crate) async fn prepare(
        &mut self,
        context: BuildContext,
    ) -> Result<Box<dyn DataSource>, Stop> {
        let service_type = self.job.connector.service_type.clone().unwrap_or_default();
        let Some(descriptor) = self.engine.sources.get(&service_type) else {
            return Err(Stop::Failed(format!(
                "Unsupported service type '{service_type}': this deployment serves {:?}.",
                self.engine.sources.service_types()
            )));
        };
        let features = descriptor.features();
        match self.job.job_type {
            JobType::Incremental if !features.incremental_sync => {
                return Err(Stop::Failed(format!(
                    "Incremental sync is not supported by the '{service_type}' source."
                )));
            }
            JobType::AccessControl if !features.document_level_security => {
                return Err(Stop::Failed(format!(
                    "Document level security is not supported by the '{service_type}' source."
                )));
            }
            JobType::AccessControl if !context.document_level_security => {
                return Err(Stop::Failed(
                    "Document level security is not enabled for this connector (features.document_level_security.enabled is false).".into(),
                ));
            }
            _ => {}
        }
        let configuration = &self.job.connector.configuration;
        let errors = validate_configuration(configuration);
        if !errors.is_empty() {
            let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            return Err(Stop::Failed(format!(
                "Field validation errors: {}",
                messages.join("; ")
            )));
        }
        let source = descriptor
            .build_for(configuration, &context)
            .map_err(|e| Stop::Failed(format!("Invalid configuration: {e}")))?;
        source
            .validate_config()
            .await
            .map_err(|e| Stop::Failed(format!("Invalid configuration: {e}")))?;
        source
            .ping()
            .await
            .map_err(|e| Stop::Failed(format!("The source is not reachable: {e}")))?;
        let content_job = self.job.job_type != JobType::AccessControl;
        if let Some(active) = self
            .job
            .connector
            .active_filtering()
            .ok()
            .flatten()
            .filter(|_| content_job)
        {
            self.validate_rules(&active, source.as_ref(), features.advanced_rules)
                .await?;
        }
        // A partition's job prepared the index before it was split.
        if self.cp.pages == 0 && self.cp.phase == Phase::Extract && self.partition.is_none() {
            self.prepare_index().await?;
        }
        Ok(source)
    }

    /// The reference re-validates the snapshot's active rules before a content sync.
    async fn validate_rules(
        &self,
        active: &FilteringRules,
        source: &dyn DataSource,
        advanced_supported: bool,
    ) -> Result<(), Stop> {
        let basic = validate_basic_rules(&active.rules);
        let mut messages: Vec<String> = basic
            .errors
            .iter()
            .flat_map(|e| e.messages.iter().cloned())
            .collect();
        if active.advanced_snippet.is_set() && advanced_supported {
            messages.extend(
                source
                    .validate_advanced_rules(&active.advanced_snippet.value)
                    .await,
            );
        }
        if basic.state == ValidationState::Invalid || !messages.is_empty() {
            return Err(Stop::Failed(format!(
                "The sync rules are invalid: {}",
                messages.join(" ")
            )));
        }
        Ok(())
    }

    /// Creates the content index when missing (9.x: no mappings, templates apply) and maps the
    /// sync stamp as a keyword so the deletion phase can query it.
    async fn prepare_index(&self) -> Result<(), Stop> {
        let index = self.index()?;
        let es = self.engine.es();
        if !es.indices().exists(&index).await? {
            match es.indices().create(&index, None).await {
                Ok(()) => info!(job_id = %self.job_id, index = %index, "created the content index"),
                Err(e) if e.api_error().is_some_and(|a| a.is_already_exists()) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mapping = json!({"properties": {SYNC_STAMP_FIELD: {"type": "keyword"}}});
        es.indices()
            .put_mapping(&index, &mapping)
            .await
            .map_err(|e| {
                if e.is_bad_request() {
                    Stop::Failed(format!(
                        "Cannot map the field '{SYNC_STAMP_FIELD}' in index [{index}]: {e}"
                    ))
                } else {
                    Stop::Es(e)
                }
            })?;
        Ok(())
    }
}
