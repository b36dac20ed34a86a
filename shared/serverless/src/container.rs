//! The state of one Lambda container, shared by its invocations, and the work of one
//! invocation: a worker's queue record, or a scheduler pass.
//!
//! Start-up does no network I/O (so the runtime asks for its first event within milliseconds);
//! the first invocation reads the Elasticsearch URL (SSM) and API key (Secrets Manager),
//! connects, and keeps all of it for the container's life. A failed start-up is not kept: the
//! next invocation tries again.

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use chrono::Utc;
use connectors_aws::deadline::slice_deadline;
use connectors_aws::emf::{self, Metrics};
use connectors_aws::secrets::{ApiKey, ApiKeySource};
use connectors_aws::{SqsQueue, aws_config, aws_sdk_secretsmanager, aws_sdk_sqs, aws_sdk_ssm};
use connectors_engine::queue::JobMessage;
use connectors_engine::scheduler::{Scheduler, TickReport};
use connectors_engine::worker::{Disposition, handle_message, retry_backoff};
use connectors_engine::{Budget, Engine, EngineError};
use connectors_protocol::SyncStatus;
use connectors_service::{ServiceConfig, ServiceError, compose};
use es_client::{Auth, EsClient};
use tokio::sync::OnceCell;
use tracing::{error, info, warn};

use crate::Error;
use crate::redelivery::Redelivery;
use crate::settings::Settings;

/// A type-erased future: the engine's future types nest too deeply for the compiler to lay
/// out the functions' own futures around them.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One queue record, as the SQS event source mapping delivers it.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub message_id: &'a str,
    pub body: Option<&'a str>,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
    /// The handle for changing the message's visibility (a retry after a short back-off
    /// instead of the queue's whole visibility timeout).
    pub receipt_handle: Option<&'a str>,
}

/// What to tell the event source mapping about a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordResult {
    /// Delete it.
    Success,
    /// A batch item failure: it is delivered again after its visibility timeout, and goes to
    /// the DLQ after the queue's `maxReceiveCount`.
    Failure,
}

/// The clients and engine built from one API key.
pub struct Runtime {
    pub es: EsClient,
    pub engine: Engine,
    pub scheduler: Scheduler,
    key: Option<ApiKey>,
}

struct Session {
    current: RwLock<Arc<Runtime>>,
}

/// Per-container state of the scheduler and worker functions, over the job queue `Q` (SQS in
/// the functions; the in-process queue in tests).
pub struct Container<Q = SqsQueue> {
    settings: Settings,
    config: ServiceConfig,
    ssm: aws_sdk_ssm::Client,
    api_key: Option<ApiKeySource>,
    queue: Arc<Q>,
    metrics: Metrics,
    session: OnceCell<Session>,
}

impl Container<SqsQueue> {
    /// From the process environment and the default AWS configuration (region and
    /// credentials from the environment, as Lambda sets them).
    pub async fn from_env() -> Result<Self, Error> {
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::new(&aws, |name| std::env::var(name).ok())
    }

    /// From an explicit environment (tests run several containers in one process).
    pub fn new(
        aws: &aws_config::SdkConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let settings = Settings::from_lookup(&env)?;
        let queue = Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(aws),
            settings.queue_url.clone(),
        ));
        Self::with_queue(aws, env, queue)
    }
}

impl<Q: Redelivery + 'static> Container<Q> {
    /// From an explicit environment, over the queue `queue` (`JOB_QUEUE_URL` is still
    /// required, and only read by the SQS queue).
    pub fn with_queue(
        aws: &aws_config::SdkConfig,
        env: impl Fn(&str) -> Option<String>,
        queue: Arc<Q>,
    ) -> Result<Self, Error> {
        let mut settings = Settings::from_lookup(&env)?;
        let url_in_env = ["ES_URL", "ES_CLOUD_ID"]
            .iter()
            .any(|name| env(name).is_some_and(|v| !v.trim().is_empty()));
        if url_in_env {
            // The environment's URL wins over the SSM parameter.
            settings.es_url_parameter = None;
        } else if settings.es_url_parameter.is_none() {
            return Err(Error::Missing("ES_URL or ES_URL_PARAMETER"));
        }
        let mut config = ServiceConfig::from_parts("<environment>", None, &env)?;
        config.elasticsearch.max_wait_duration = settings.connect_wait.as_secs();
        if let Some(grace) = settings.lease_grace {
            config.service.lease_grace = grace.as_secs();
        }
        let api_key = settings
            .api_key_secret_arn
            .as_ref()
            .map(|arn| ApiKeySource::new(aws_sdk_secretsmanager::Client::new(aws), arn.clone()));
        let metrics = Metrics::new(
            settings.metrics_namespace.clone(),
            settings.deployment.clone(),
        );
        Ok(Container {
            settings,
            config,
            ssm: aws_sdk_ssm::Client::new(aws),
            api_key,
            queue,
            metrics,
            session: OnceCell::new(),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn queue(&self) -> &Q {
        &self.queue
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The current runtime, connecting on first use.
    pub async fn runtime(&self) -> Result<Arc<Runtime>, Error> {
        Ok(self.session().await?.runtime())
    }

    async fn session(&self) -> Result<&Session, Error> {
        self.session.get_or_try_init(|| self.open()).await
    }

    async fn open(&self) -> Result<Session, Error> {
        let mut config = self.config.clone();
        if let Some(name) = &self.settings.es_url_parameter {
            config.elasticsearch.host =
                connectors_aws::ssm::read_parameter(&self.ssm, name).await?;
        }
        let mut key = match &self.api_key {
            Some(source) => {
                let key = source.get().await?;
                config.elasticsearch.api_key = Some(key.encoded().to_string());
                Some(key)
            }
            None => None,
        };
        let es = match (compose::connect(&config).await, &self.api_key) {
            // The cached key was rotated away: read it again rather than keep failing.
            (Err(ServiceError::Es(e)), Some(source)) if e.status() == Some(401) => {
                warn!(
                    secret_arn = source.arn(),
                    "Elasticsearch answered 401: reading the API key again"
                );
                let fresh = source.reload().await?;
                config.elasticsearch.api_key = Some(fresh.encoded().to_string());
                key = Some(fresh);
                compose::connect(&config).await?
            }
            (result, _) => result?,
        };
        let runtime = self.build(es, key);
        Ok(Session {
            current: RwLock::new(Arc::new(runtime)),
        })
    }

    fn build(&self, es: EsClient, key: Option<ApiKey>) -> Runtime {
        let mut engine_config = self.config.engine_config();
        if let Some(page_size) = self.settings.page_size {
            engine_config.page_size = page_size;
        }
        let engine = compose::engine_with(&es, engine_config);
        let scheduler = Scheduler::new(
            engine.clone(),
            self.queue.clone(),
            self.config.scheduler_config(),
        );
        Runtime {
            es,
            engine,
            scheduler,
            key,
        }
    }

    /// Runs `work`; when its result could come from a rejected API key and Elasticsearch
    /// indeed answers 401, reads the key from Secrets Manager again, and if it changed, runs
    /// `work` once more with it. The key is otherwise read once per container.
    async fn with_fresh_key<T, F, Fut>(&self, session: &Session, work: F) -> T
    where
        T: AuthSuspect,
        F: Fn(Arc<Runtime>) -> Fut,
        Fut: Future<Output = T>,
    {
        let runtime = session.runtime();
        let first = work(runtime.clone()).await;
        if !first.auth_suspect() {
            return first;
        }
        let Some(source) = &self.api_key else {
            return first;
        };
        // A cheap authenticated request tells a rejected key from any other failure.
        match runtime.es.info().await {
            Err(e) if e.status() == Some(401) => {}
            _ => return first,
        }
        warn!(
            secret_arn = source.arn(),
            "Elasticsearch answered 401: reading the API key again"
        );
        let key = match source.reload().await {
            Ok(key) => key,
            Err(e) => {
                error!(error = %e, "could not read the API key again");
                return first;
            }
        };
        if runtime.key.as_ref() == Some(&key) {
            error!(
                secret_arn = source.arn(),
                "Elasticsearch rejects the API key stored in the secret"
            );
            return first;
        }
        let es = match runtime
            .es
            .with_auth(&Auth::ApiKey(key.encoded().to_string()))
        {
            Ok(es) => es,
            Err(e) => {
                error!(error = %e, "the new API key cannot be used");
                return first;
            }
        };
        let fresh = Arc::new(self.build(es, Some(key)));
        *session.current.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        info!("retrying with the new API key");
        work(fresh).await
    }

    /// A worker's record: runs its job until the invocation deadline minus the safety margin
    /// (a continuation message carries the rest).
    pub async fn work(&self, record: Record<'_>, invocation_deadline: SystemTime) -> RecordResult {
        let message_id = record.message_id;
        let message = match record.body.map(JobMessage::parse) {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                error!(message_id, receive_count = record.receive_count, error = %e, "malformed message: reported as failed, it goes to the DLQ after the receive limit");
                // Nothing will make it readable: on to the dead-letter queue without waiting
                // out the visibility timeout at every receive.
                self.retry_after(record, std::time::Duration::ZERO).await;
                return RecordResult::Failure;
            }
            None => {
                error!(
                    message_id,
                    receive_count = record.receive_count,
                    "message without a body: reported as failed, it goes to the DLQ after the receive limit"
                );
                self.retry_after(record, std::time::Duration::ZERO).await;
                return RecordResult::Failure;
            }
        };
        let job_id = message.job_id.as_str();
        let session = match self.session().await {
            Ok(s) => s,
            Err(e) => {
                error!(message_id, job_id, error = %e, "cannot start: the message will be retried");
                return RecordResult::Failure;
            }
        };
        let deadline = slice_deadline(
            invocation_deadline,
            self.settings.time_budget,
            self.settings.safety_margin,
        );
        let started = Utc::now();
        let (queue, message_ref) = (self.queue.as_ref(), &message);
        let disposition = self
            .with_fresh_key(session, move |rt| async move {
                let slice: BoxFuture<'_, Disposition> = Box::pin(handle_message(
                    &rt.engine,
                    queue,
                    message_ref,
                    Budget::until(deadline),
                ));
                slice.await
            })
            .await;
        match disposition {
            Disposition::Done => {
                self.count_job_error(session, job_id, started).await;
                RecordResult::Success
            }
            Disposition::Retry(reason)
                if record.receive_count >= self.settings.max_receive_count =>
            {
                let what = match message.partition {
                    Some(p) => format!("queue message of partition {}", p + 1),
                    None => "queue message".to_string(),
                };
                let why = format!(
                    "The sync job's {what} failed {} times; last error: {reason}",
                    record.receive_count
                );
                match session.runtime().engine.fail_job(job_id, &why).await {
                    Ok(failed) => {
                        if failed {
                            error!(message_id, job_id, reason = %why, "marked the job as failed");
                            self.metrics.emit(&[(emf::JOB_ERRORS, 1.0)]);
                        }
                        RecordResult::Success
                    }
                    Err(e) => {
                        error!(message_id, job_id, error = %e, "could not mark the job as failed; the message will be retried");
                        RecordResult::Failure
                    }
                }
            }
            Disposition::Retry(reason) => {
                let delay = retry_backoff(
                    self.settings.retry_backoff,
                    record.receive_count.saturating_sub(1),
                );
                warn!(message_id, job_id, receive_count = record.receive_count, delay_s = delay.as_secs(), reason = %reason, "slice failed: the message will be retried");
                self.retry_after(record, delay).await;
                RecordResult::Failure
            }
        }
    }

    /// Makes a failed record visible again after `delay` (SQS `ChangeMessageVisibility`),
    /// rather than after the queue's visibility timeout. Best effort: without it the record
    /// still comes back, later.
    async fn retry_after(&self, record: Record<'_>, delay: std::time::Duration) {
        let Some(handle) = record.receipt_handle else {
            return;
        };
        if let Err(e) = self.queue.redeliver_after(handle, delay).await {
            warn!(message_id = record.message_id, error = %e, "could not shorten the message's visibility; it comes back after the queue's timeout");
        }
    }

    /// Emits the job-error metric when the job ended in `error` while this record ran.
    async fn count_job_error(&self, session: &Session, job_id: &str, since: chrono::DateTime<Utc>) {
        match session.runtime().es.sync_jobs().get(job_id).await {
            Ok(job)
                if job.status == SyncStatus::Error
                    && job.completed_at.is_some_and(|t| t.0 >= since) =>
            {
                self.metrics.emit(&[(emf::JOB_ERRORS, 1.0)]);
            }
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => warn!(job_id, error = %e, "could not read the job's final status"),
        }
    }

    /// A scheduler invocation: one pass (connectors, then dispatch into the queue); logs the
    /// report and emits its metrics.
    pub async fn tick(&self) -> Result<TickReport, Error> {
        let session = self.session().await?;
        let result = self
            .with_fresh_key(session, |rt| async move {
                let pass: BoxFuture<'_, Result<TickReport, EngineError>> =
                    Box::pin(rt.scheduler.tick());
                pass.await
            })
            .await;
        match &result {
            Ok(r) => {
                info!(
                    connectors = r.connectors,
                    scheduled = r.scheduled,
                    dispatched = r.dispatched,
                    resumed = r.resumed,
                    failed_jobs = r.failed_jobs,
                    canceled_jobs = r.canceled_jobs,
                    errors = ?r.errors,
                    "scheduler pass"
                );
                self.metrics.emit(&[
                    (emf::JOBS_SCHEDULED, r.scheduled as f64),
                    (emf::JOBS_DISPATCHED, r.dispatched as f64),
                    (emf::JOBS_RESUMED, r.resumed as f64),
                    (emf::JOB_ERRORS, r.failed_jobs as f64),
                    (emf::SCHEDULER_ERRORS, r.errors.len() as f64),
                ]);
            }
            Err(e) => error!(error = %e, "scheduler pass failed"),
        }
        Ok(result?)
    }
}

impl Session {
    fn runtime(&self) -> Arc<Runtime> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Whether a result may come from Elasticsearch refusing the API key.
trait AuthSuspect {
    fn auth_suspect(&self) -> bool;
}

impl AuthSuspect for Disposition {
    fn auth_suspect(&self) -> bool {
        matches!(self, Disposition::Retry(_))
    }
}

impl AuthSuspect for Result<TickReport, EngineError> {
    fn auth_suspect(&self) -> bool {
        match self {
            Ok(report) => !report.errors.is_empty(),
            Err(_) => true,
        }
    }
}
