//! `GET /`, the version gate, the product check, compatibility headers, whole-request retries.

use std::time::Duration;

use es_client::{
    Compatibility, EsClient, EsConfig, EsError, RetryPolicy, TransportErrorKind, VersionCheck,
    VersionRequirement,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::{TestCluster, sim_config};
use crate::sim_only;

#[tokio::test]
async fn info_and_version_gate() {
    let cluster = TestCluster::start().await;
    let info = cluster.client.info().await.expect("info");
    let version = info.version.parsed().expect("parsable version");
    if cluster.is_sim() {
        assert_eq!(info.version.number, "9.6.0");
        assert_eq!(info.tagline.as_deref(), Some("You Know, for Search"));
    }
    let (_, check) = cluster
        .client
        .verify_version(VersionRequirement {
            major: version.major,
            min_minor: version.minor,
        })
        .await
        .expect("same version is fine");
    assert_eq!(check, VersionCheck::Compatible);
    if version.minor > 0 {
        let (_, check) = cluster
            .client
            .verify_version(VersionRequirement {
                major: version.major,
                min_minor: 0,
            })
            .await
            .expect("newer minor is fine");
        assert!(matches!(check, VersionCheck::NewerMinor(_)), "{check:?}");
    }
    let error = cluster
        .client
        .verify_version(VersionRequirement {
            major: version.major,
            min_minor: version.minor + 1,
        })
        .await
        .unwrap_err();
    assert!(matches!(error, EsError::UnsupportedVersion(_)), "{error}");
    let error = cluster
        .client
        .verify_version(VersionRequirement {
            major: version.major + 1,
            min_minor: 0,
        })
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains(&format!(
            "Elasticsearch {} is not supported: this service needs {}.x",
            info.version.number,
            version.major + 1
        )),
        "{error}"
    );
    // After `info`, requests use `compatible-with=<major>`; they must still work.
    assert!(cluster.client.ping().await.expect("ping"));
    cluster.stop().await;
}

#[tokio::test]
async fn old_major_is_refused() {
    sim_only!();
    let cluster = TestCluster::start_sim(es_sim::SimConfig {
        version: "8.19.2".into(),
        ..sim_config()
    })
    .await;
    let error = cluster
        .client
        .verify_version(VersionRequirement::default())
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("Elasticsearch 8.19.2 is not supported: this service needs 9.x"),
        "{error}"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn compatibility_modes() {
    let cluster = TestCluster::start().await;
    let major = cluster
        .client
        .info()
        .await
        .unwrap()
        .version
        .parsed()
        .unwrap()
        .major as u8;
    for compatibility in [
        Compatibility::PlainJson,
        Compatibility::Major(major),
        Compatibility::Major(major - 1),
    ] {
        let client =
            EsClient::new(cluster.config().with_compatibility(compatibility)).expect("client");
        client
            .info()
            .await
            .unwrap_or_else(|e| panic!("{compatibility:?}: {e}"));
        let index = cluster.index("compat");
        client
            .index_document(
                &index,
                Some("1"),
                &serde_json::json!({"a": 1}),
                &Default::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{compatibility:?}: {e}"));
        client.indices().delete(&index, true).await.unwrap();
    }
    // A major the server does not speak is refused with a 400.
    let client = EsClient::new(
        cluster
            .config()
            .with_compatibility(Compatibility::Major(major + 1)),
    )
    .unwrap();
    let error = client.info().await.unwrap_err();
    assert!(error.is_bad_request(), "{error}");
    cluster.stop().await;
}

/// Serves one canned HTTP answer to every connection.
async fn canned_server(response: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn product_check() {
    let body = r#"{"name":"n","cluster_name":"c","cluster_uuid":"u","version":{"number":"9.6.0","build_flavor":"default"},"tagline":"You Know, for Search"}"#;
    let without: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let url = canned_server(without).await;
    let client = EsClient::new(EsConfig::url(url).with_retry(RetryPolicy::none())).unwrap();
    let error = client.info().await.unwrap_err();
    assert!(matches!(error, EsError::NotElasticsearch { .. }), "{error}");
    assert!(error.to_string().contains("not Elasticsearch"), "{error}");

    let wrong: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nx-elastic-product: OpenSearch\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let url = canned_server(wrong).await;
    let client = EsClient::new(EsConfig::url(url).with_retry(RetryPolicy::none())).unwrap();
    let error = client.info().await.unwrap_err();
    assert!(
        matches!(&error, EsError::NotElasticsearch { found: Some(f), .. } if f == "OpenSearch"),
        "{error}"
    );

    let with: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nX-Elastic-Product: Elasticsearch\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let url = canned_server(with).await;
    let client = EsClient::new(EsConfig::url(url).with_retry(RetryPolicy::none())).unwrap();
    assert_eq!(client.info().await.unwrap().version.number, "9.6.0");

    // Error answers are not product-checked: a 401 without the header is an API error.
    let unauthorized =
        "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    let url = canned_server(unauthorized).await;
    let client = EsClient::new(EsConfig::url(url).with_retry(RetryPolicy::none())).unwrap();
    let error = client.info().await.unwrap_err();
    assert!(error.is_auth_error(), "{error}");
}

#[tokio::test]
async fn retries_transient_failures() {
    sim_only!();
    let cluster = TestCluster::start().await;
    let faults = cluster.faults();

    faults.fail_requests(3, 503);
    cluster
        .client
        .info()
        .await
        .expect("retried past three 503s");

    faults.fail_requests(2, 429);
    cluster.client.info().await.expect("retried past two 429s");

    faults.drop_connections(2);
    cluster
        .client
        .info()
        .await
        .expect("retried past dropped connections");

    // Bounded: more failures than retries.
    let client = EsClient::new(cluster.config().with_retry(RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }))
    .unwrap();
    faults.fail_requests(5, 502);
    let error = client.info().await.unwrap_err();
    assert_eq!(error.status(), Some(502));
    assert!(error.is_transient());
    faults.clear();

    // Other 4xx are not retried: the second failure is still pending afterwards.
    faults.fail_requests(2, 400);
    let error = cluster.client.info().await.unwrap_err();
    assert_eq!(error.status(), Some(400));
    assert_eq!(cluster.client.info().await.unwrap_err().status(), Some(400));
    cluster.client.info().await.expect("faults used up");

    // Timeouts are transport errors (retried, then reported).
    faults.set_latency(Duration::from_millis(300));
    let client = EsClient::new(
        cluster
            .config()
            .with_request_timeout(Duration::from_millis(50))
            .with_retry(RetryPolicy {
                max_retries: 1,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(1),
            }),
    )
    .unwrap();
    let error = client.info().await.unwrap_err();
    assert!(
        matches!(
            error,
            EsError::Transport {
                kind: TransportErrorKind::Timeout,
                ..
            }
        ),
        "{error:?}"
    );
    faults.clear();
    cluster.stop().await;
}

#[tokio::test]
async fn unreachable_cluster_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = EsClient::new(
        EsConfig::url(format!("http://{addr}")).with_retry(RetryPolicy {
            max_retries: 1,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
        }),
    )
    .unwrap();
    let error = client.info().await.unwrap_err();
    assert!(
        matches!(
            error,
            EsError::Transport {
                kind: TransportErrorKind::Connect,
                ..
            }
        ),
        "{error:?}"
    );
}
