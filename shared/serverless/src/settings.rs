//! What the functions read from their environment, besides the service configuration's own
//! variables (`CONNECTOR_IDS`, `CONNECTORS_SERVICE_TYPES`, `ES_URL`, ... see the README).
//! Nothing secret is read from here: the API key comes from Secrets Manager.

use std::time::Duration;

use crate::Error;
use connectors_aws::emf::DEFAULT_NAMESPACE;

/// Settings of the Lambda functions.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `JOB_QUEUE_URL`: the SQS queue of job messages.
    pub queue_url: String,
    /// `ES_API_KEY_SECRET_ARN`: the secret holding the Elasticsearch API key. Without it, the
    /// credentials of the service configuration apply (local development).
    pub api_key_secret_arn: Option<String>,
    /// `ES_URL_PARAMETER`: an SSM parameter holding the Elasticsearch URL, read when `ES_URL`
    /// is not set.
    pub es_url_parameter: Option<String>,
    /// `ES_CONNECT_WAIT_SECS` (10): how long the first invocation waits for Elasticsearch.
    pub connect_wait: Duration,
    /// `WORKER_TIME_BUDGET_SECS` (840): the longest a worker runs a job in one invocation; the
    /// whole budget when the invocation deadline is unknown.
    pub time_budget: Duration,
    /// `WORKER_SAFETY_MARGIN_SECS` (60): time kept before the invocation deadline to flush,
    /// checkpoint and send the continuation.
    pub safety_margin: Duration,
    /// `WORKER_MAX_RECEIVE_COUNT` (4): the receive count from which a message whose slice
    /// keeps failing ends its job in `error` instead of being retried; one less than the
    /// queue's `maxReceiveCount` so that this happens before the DLQ.
    pub max_receive_count: u32,
    /// `WORKER_RETRY_BACKOFF_SECS` (5): a message whose slice failed transiently comes back
    /// after this, doubled at each receive (at most 2 minutes), instead of after the queue's
    /// visibility timeout.
    pub retry_backoff: Duration,
    /// `WORKER_LEASE_GRACE_SECS`: overrides `service.lease_grace`.
    pub lease_grace: Option<Duration>,
    /// `WORKER_PAGE_SIZE`: items asked of a source per page (engine default otherwise).
    pub page_size: Option<usize>,
    /// `METRICS_NAMESPACE` (`ElasticConnectors`).
    pub metrics_namespace: String,
    /// `DEPLOYMENT_NAME`: the metrics' `Deployment` dimension (the stack name in the
    /// template; else the function name, else `connectors`).
    pub deployment: String,
}

impl Settings {
    pub fn from_lookup(env: &impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let secs = |name: &'static str, default: u64| -> Result<Duration, Error> {
            Ok(Duration::from_secs(number(name, get(name), default)?))
        };
        let queue_url = get("JOB_QUEUE_URL").ok_or(Error::Missing("JOB_QUEUE_URL"))?;
        Ok(Settings {
            queue_url,
            api_key_secret_arn: get("ES_API_KEY_SECRET_ARN"),
            es_url_parameter: get("ES_URL_PARAMETER"),
            connect_wait: secs("ES_CONNECT_WAIT_SECS", 10)?,
            time_budget: secs("WORKER_TIME_BUDGET_SECS", 840)?,
            safety_margin: secs("WORKER_SAFETY_MARGIN_SECS", 60)?,
            max_receive_count: number(
                "WORKER_MAX_RECEIVE_COUNT",
                get("WORKER_MAX_RECEIVE_COUNT"),
                4,
            )?
            .max(1) as u32,
            retry_backoff: secs("WORKER_RETRY_BACKOFF_SECS", 5)?,
            lease_grace: get("WORKER_LEASE_GRACE_SECS")
                .map(|v| number("WORKER_LEASE_GRACE_SECS", Some(v), 0).map(Duration::from_secs))
                .transpose()?,
            page_size: get("WORKER_PAGE_SIZE")
                .map(|v| number("WORKER_PAGE_SIZE", Some(v), 0).map(|n| n.max(1) as usize))
                .transpose()?,
            metrics_namespace: get("METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_NAMESPACE.into()),
            deployment: get("DEPLOYMENT_NAME")
                .or_else(|| get("AWS_LAMBDA_FUNCTION_NAME"))
                .unwrap_or_else(|| "connectors".into()),
        })
    }
}

fn number(name: &'static str, value: Option<String>, default: u64) -> Result<u64, Error> {
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| Error::Invalid {
            name,
            reason: format!("expected a whole number, got {v:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let env = |n: &str| (n == "JOB_QUEUE_URL").then(|| "http://q".to_string());
        let s = Settings::from_lookup(&env).unwrap();
        assert_eq!(s.time_budget, Duration::from_secs(840));
        assert_eq!(s.safety_margin, Duration::from_secs(60));
        assert_eq!(s.max_receive_count, 4);
        assert_eq!(s.deployment, "connectors");
        assert!(s.lease_grace.is_none() && s.page_size.is_none());

        let env = |n: &str| match n {
            "JOB_QUEUE_URL" => Some("http://q".to_string()),
            "WORKER_TIME_BUDGET_SECS" => Some("2".to_string()),
            "WORKER_PAGE_SIZE" => Some("10".to_string()),
            "DEPLOYMENT_NAME" => Some("stack".to_string()),
            _ => None,
        };
        let s = Settings::from_lookup(&env).unwrap();
        assert_eq!(s.time_budget, Duration::from_secs(2));
        assert_eq!(s.page_size, Some(10));
        assert_eq!(s.deployment, "stack");

        assert!(Settings::from_lookup(&|_: &str| None).is_err());
        let bad = |n: &str| match n {
            "JOB_QUEUE_URL" => Some("http://q".to_string()),
            "WORKER_MAX_RECEIVE_COUNT" => Some("four".to_string()),
            _ => None,
        };
        let e = Settings::from_lookup(&bad).unwrap_err().to_string();
        assert!(e.contains("WORKER_MAX_RECEIVE_COUNT"), "{e}");
    }
}
