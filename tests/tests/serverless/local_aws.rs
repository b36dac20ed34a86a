//! Local AWS for the serverless tests: one moto_server per test binary, SDK configuration for
//! it, queues with a real redrive policy, and a reproduction of Lambda's SQS event source
//! mapping that drives the worker function's handler.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use connectors_aws::aws_config::{self, BehaviorVersion, Region, SdkConfig};
use connectors_aws::aws_sdk_sqs::Client as Sqs;
use connectors_aws::aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
};
use connectors_serverless::Container;
use serde_json::json;

pub const REGION: &str = "us-east-1";

/// The repository root (tools live in its `.venv`).
pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

pub use connectors_testkit::emulator::{free_port, missing, tool};

pub struct Moto {
    pub endpoint: String,
}

static MOTO: OnceLock<Option<Moto>> = OnceLock::new();

/// The test binary's moto_server (the kit's), started on first use; `None` (skip) when not
/// installed.
pub fn moto() -> Option<&'static Moto> {
    MOTO.get_or_init(|| {
        connectors_testkit::emulator::moto().map(|m| Moto {
            endpoint: m.endpoint.clone(),
        })
    })
    .as_ref()
}

/// A name unique within this test binary's moto.
pub fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

impl Moto {
    pub async fn sdk(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .test_credentials()
            .load()
            .await
    }

    /// The variables the real binaries need to reach this moto.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// A job queue and its DLQ, with `maxReceiveCount` redrive, as in the template.
pub struct Queues {
    pub url: String,
    pub dlq_url: String,
    pub arn: String,
}

pub async fn create_queues(sqs: &Sqs, visibility: Duration, max_receive: u32) -> Queues {
    let name = unique("jobs");
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .expect("create DLQ")
        .queue_url
        .expect("a DLQ url");
    let dlq_arn = queue_arn(sqs, &dlq_url).await;
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility.as_secs().to_string(),
        )
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}).to_string(),
        )
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("a queue url");
    let arn = queue_arn(sqs, &url).await;
    Queues { url, dlq_url, arn }
}

async fn queue_arn(sqs: &Sqs, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("a queue ARN")
}

/// Messages in a queue, visible or in flight.
pub async fn depth(sqs: &Sqs, url: &str) -> u64 {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|k| attrs.get(k).and_then(|v| v.parse::<u64>().ok()))
    .sum()
}

/// A container of the functions over moto and an explicit environment.
pub fn container(sdk: &SdkConfig, vars: &[(&str, String)]) -> Container {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Container::new(sdk, move |k| map.get(k).cloned()).expect("a container")
}

const DUPLICATE_ATTRIBUTE: &str = "test-duplicate";

/// Lambda's SQS event source mapping, reproduced: receive up to `batch_size`, build the SQS
/// event, invoke the handler, delete the successes, leave the failures in flight (they come
/// back after the visibility timeout; the queue's redrive policy moves them to the DLQ).
pub struct EventSourceMapping {
    pub sqs: Sqs,
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: i32,
    /// Deliver every message twice (the second copy is sent back to the queue when the first
    /// is received), as at-least-once delivery may.
    pub duplicate_every_message: bool,
    /// The function's timeout: each invocation's deadline.
    pub function_timeout: Duration,
}

/// What one poll did.
#[derive(Debug, Default, Clone)]
pub struct Poll {
    pub received: usize,
    pub failed: usize,
    /// (body, ApproximateReceiveCount) of each record.
    pub records: Vec<(String, u32)>,
}

impl EventSourceMapping {
    pub fn new(sqs: &Sqs, queues: &Queues) -> Self {
        EventSourceMapping {
            sqs: sqs.clone(),
            queue_url: queues.url.clone(),
            queue_arn: queues.arn.clone(),
            batch_size: 1,
            duplicate_every_message: false,
            function_timeout: Duration::from_secs(60),
        }
    }

    /// Receives one batch (waiting up to `wait`) as the mapping's poller does.
    pub async fn receive(&self, wait: Duration) -> Vec<SqsMessage> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            .wait_time_seconds(wait.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        let mut records = Vec::new();
        for m in out.messages.unwrap_or_default() {
            if self.duplicate_every_message
                && !m
                    .message_attributes
                    .as_ref()
                    .is_some_and(|a| a.contains_key(DUPLICATE_ATTRIBUTE))
            {
                self.sqs
                    .send_message()
                    .queue_url(&self.queue_url)
                    .message_body(m.body.clone().unwrap_or_default())
                    .message_attributes(
                        DUPLICATE_ATTRIBUTE,
                        MessageAttributeValue::builder()
                            .data_type("String")
                            .string_value("1")
                            .build()
                            .expect("an attribute"),
                    )
                    .send()
                    .await
                    .expect("send the duplicate");
            }
            let mut r = SqsMessage::default();
            r.message_id = m.message_id;
            r.receipt_handle = m.receipt_handle;
            r.body = m.body;
            r.md5_of_body = m.md5_of_body;
            r.attributes = m
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v))
                .collect();
            r.event_source = Some("aws:sqs".into());
            r.event_source_arn = Some(self.queue_arn.clone());
            r.aws_region = Some(REGION.into());
            records.push(r);
        }
        records
    }

    pub fn event(records: Vec<SqsMessage>) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = records;
        event
    }

    /// Deletes the records not listed as failed.
    pub async fn settle(&self, records: &[SqsMessage], failed: &HashSet<String>) {
        for r in records {
            if failed.contains(r.message_id.as_deref().unwrap_or_default()) {
                continue;
            }
            if let Some(handle) = &r.receipt_handle {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }

    /// One poll and invocation of the worker handler in-process.
    pub async fn poll(&self, worker: &Container, wait: Duration) -> Poll {
        let records = self.receive(wait).await;
        if records.is_empty() {
            return Poll::default();
        }
        let summary: Vec<(String, u32)> = records.iter().map(summarize).collect();
        let deadline = SystemTime::now() + self.function_timeout;
        let response = lambda_worker::handle(worker, Self::event(records.clone()), deadline).await;
        let failed: HashSet<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        self.settle(&records, &failed).await;
        Poll {
            received: records.len(),
            failed: failed.len(),
            records: summary,
        }
    }
}

pub fn summarize(r: &SqsMessage) -> (String, u32) {
    (
        r.body.clone().unwrap_or_default(),
        r.attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
    )
}
