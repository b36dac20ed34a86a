//! Configuration parsing: keys, types, overrides, substitution and the errors that name them.

use super::*;

fn parse(yaml: &str) -> Result<ServiceConfig, ConfigError> {
    ServiceConfig::from_parts("config.yml", Some(yaml), |_| None)
}

#[test]
fn reads_the_reference_example() {
    let c = parse(
        r#"
elasticsearch.host: http://es:9200
elasticsearch.api_key: abc
elasticsearch:
  bulk:
    queue_max_size: 1024
    chunk_size: 250
    error_monitor:
      max_consecutive_errors: 3
service:
  idling: 10
  max_errors: 20
connectors:
  - connector_id: c1
    service_type: dir
extraction_service:
  host: http://localhost:8090
sources:
  dir: connectors.sources.directory:DirectoryDataSource
"#,
    )
    .unwrap();
    assert_eq!(c.elasticsearch.host, "http://es:9200");
    assert_eq!(c.elasticsearch.api_key.as_deref(), Some("abc"));
    assert_eq!(c.elasticsearch.bulk.chunk_size, 250);
    assert_eq!(c.engine_config().error_budget.max_consecutive_errors, 3);
    assert_eq!(c.service.idling, 10);
    assert_eq!(c.served()[0].service_type.as_deref(), Some("dir"));
}

#[test]
fn unknown_keys_and_wrong_types_name_the_key() {
    let e = parse("elasticsearch:\n  bulk:\n    chunk_siz: 5\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("elasticsearch.bulk") && e.contains("chunk_siz"),
        "{e}"
    );
    let e = parse("service:\n  idling: soon\n").unwrap_err().to_string();
    assert!(e.contains("service.idling"), "{e}");
    let e = parse("nonsense: 1\n").unwrap_err().to_string();
    assert!(e.contains("nonsense"), "{e}");
}

#[test]
fn environment_overrides_and_substitution() {
    let env = |name: &str| match name {
        "ES_URL" => Some("http://override:9200".to_string()),
        "CONNECTOR_IDS" => Some("a, b".to_string()),
        "MY_KEY" => Some("secret".to_string()),
        "CONNECTORS_SLICE_SECONDS" => Some("45".to_string()),
        "ES_BULK_CHUNK_SIZE" => Some("20".to_string()),
        "ES_BULK_MAX_CONCURRENCY" => Some("2".to_string()),
        "CONNECTORS_CHECKPOINT_INTERVAL" => Some("0".to_string()),
        _ => None,
    };
    let c = ServiceConfig::from_parts("x", Some("elasticsearch:\n  api_key: ${MY_KEY}\n"), env)
        .unwrap();
    assert_eq!(c.elasticsearch.host, "http://override:9200");
    assert_eq!(c.elasticsearch.api_key.as_deref(), Some("secret"));
    assert_eq!(c.served().len(), 2);
    assert_eq!(c.service.slice_seconds, 45);
    let engine = c.engine_config();
    assert_eq!(
        (
            engine.bulk_max_ops,
            engine.bulk_max_concurrency,
            engine.checkpoint_interval
        ),
        (20, 2, Duration::ZERO)
    );
    let bad = |name: &str| (name == "CONNECTORS_IDLING").then(|| "x".to_string());
    let e = ServiceConfig::from_parts("x", None, bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("CONNECTORS_IDLING"), "{e}");
}

/// Issue 12: an unset `${VAR}` that leaves an invalid value names the key and the variable.
#[test]
fn unset_variables_are_named_with_the_key() {
    let e = parse("elasticsearch:\n  host: ${UNSET_VAR}\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "config.yml: `elasticsearch.host`: invalid Elasticsearch URL <unparsable url>: \
             relative URL without a base (it uses `${UNSET_VAR}`, left as written because the \
             environment variable UNSET_VAR is not set)"
    );
    let e = parse("elasticsearch.host: https://${ES_HOST}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`elasticsearch.host`: not a usable Elasticsearch endpoint")
            && e.contains("ES_HOST is not set"),
        "{e}"
    );
    // Within a value, in a dotted key, in a list, and with a wrong type.
    let e = parse("elasticsearch.host: https://${ES_HOST}:${ES_PORT}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`elasticsearch.host`")
            && e.contains("the environment variables ES_HOST, ES_PORT are not set"),
        "{e}"
    );
    let e = parse("service:\n  idling: ${IDLE}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`service.idling`") && e.contains("the environment variable IDLE is not set"),
        "{e}"
    );
    let e = parse("elasticsearch:\n  cloud_id: ${CLOUD}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`elasticsearch.cloud_id`") && e.contains("CLOUD is not set"),
        "{e}"
    );
    // A set variable substitutes; a bad URL without variables still names the key.
    let env = |n: &str| (n == "ES_HOST").then(|| "es.example".to_string());
    let c = ServiceConfig::from_parts(
        "x",
        Some("elasticsearch.host: https://${ES_HOST}:9200\n"),
        env,
    )
    .unwrap();
    assert_eq!(c.elasticsearch.host, "https://es.example:9200");
    let e = parse("elasticsearch:\n  host: ftp://h\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`elasticsearch.host`") && e.contains("unsupported scheme"),
        "{e}"
    );
    // ES_URL overrides the key: its error is the variable's.
    let env = |n: &str| (n == "ES_URL").then(|| "not a url".to_string());
    let e = ServiceConfig::from_parts("x", None, env)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("environment variable ES_URL: `elasticsearch.host`"),
        "{e}"
    );
    // Credentials in the URL are never printed.
    let e = parse("elasticsearch:\n  host: ftp://user:hunter2@h\n")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let c = parse("elasticsearch:\n  username: u\n  password: hunter2\n  api_key: k3y\nconnectors:\n  - connector_id: c\n    api_key: s3cret\n").unwrap();
    for text in [format!("{c:?}"), format!("{:?}", c.es_config())] {
        assert!(
            !text.contains("hunter2") && !text.contains("k3y") && !text.contains("s3cret"),
            "{text}"
        );
    }
}
