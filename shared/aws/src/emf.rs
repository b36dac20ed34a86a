//! CloudWatch Embedded Metric Format: one JSON line on stdout per set of values, which Lambda's
//! log pipeline turns into metrics (no API call, no extra permission). The namespace and the
//! dimension here are what `template.yaml`'s alarms and dashboard read.

use serde_json::{Map, Value, json};

/// The default namespace (`METRICS_NAMESPACE` overrides it).
pub const DEFAULT_NAMESPACE: &str = "ElasticConnectors";
/// The one dimension: the deployment (the stack name in `template.yaml`).
pub const DIMENSION: &str = "Deployment";

/// Jobs that ended in `error` (workers and scheduler); alarmed on.
pub const JOB_ERRORS: &str = "JobErrors";
pub const JOBS_SCHEDULED: &str = "JobsScheduled";
pub const JOBS_DISPATCHED: &str = "JobsDispatched";
pub const JOBS_RESUMED: &str = "JobsResumed";
/// Problems a scheduler pass logged without failing.
pub const SCHEDULER_ERRORS: &str = "SchedulerErrors";

/// Writes metric lines for one deployment.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    deployment: String,
}

impl Metrics {
    pub fn new(namespace: impl Into<String>, deployment: impl Into<String>) -> Self {
        Metrics {
            namespace: namespace.into(),
            deployment: deployment.into(),
        }
    }

    /// The EMF line of `counts` (metric name, value; unit Count) at `timestamp_ms`.
    pub fn line(&self, counts: &[(&str, f64)], timestamp_ms: i64) -> String {
        let metrics: Vec<Value> = counts
            .iter()
            .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
            .collect();
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": metrics,
                }],
            }),
        );
        root.insert(DIMENSION.into(), json!(self.deployment));
        for (name, value) in counts {
            root.insert((*name).into(), json!(value));
        }
        Value::Object(root).to_string()
    }

    /// Prints the line of `counts` on stdout (one locked, line-buffered write, so log lines
    /// never interleave with it).
    pub fn emit(&self, counts: &[(&str, f64)]) {
        println!(
            "{}",
            self.line(counts, chrono::Utc::now().timestamp_millis())
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_embedded_metric_format() {
        let m = Metrics::new("NS", "stack-1");
        let line = m.line(
            &[(JOB_ERRORS, 2.0), (JOBS_DISPATCHED, 5.0)],
            1_700_000_000_000,
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let d = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], "NS");
        assert_eq!(d["Dimensions"], json!([["Deployment"]]));
        assert_eq!(
            d["Metrics"],
            json!([{"Name": "JobErrors", "Unit": "Count"}, {"Name": "JobsDispatched", "Unit": "Count"}])
        );
        assert_eq!(v["Deployment"], "stack-1");
        assert_eq!(v["JobErrors"], 2.0);
        assert_eq!(v["JobsDispatched"], 5.0);
        assert!(!line.contains('\n'));
    }
}
