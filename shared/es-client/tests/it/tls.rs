//! TLS trust against a local rustls server with the fixture PKI: system roots only (refused),
//! a CA file, a CA fingerprint pin, a wrong pin, and verify_certs=false.

use std::path::PathBuf;
use std::sync::Arc;

use es_client::{EsClient, EsConfig, EsError, RetryPolicy, Tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// An HTTPS server answering `GET /` like Elasticsearch, presenting `leaf` + `ca` as its chain.
async fn https_server() -> String {
    let certs = es_client::tls::read_pem_certs(&fixture("server.pem"))
        .unwrap()
        .into_iter()
        .chain(es_client::tls::read_pem_certs(&fixture("ca.pem")).unwrap())
        .collect::<Vec<_>>();
    let key_pem = std::fs::read(fixture("server.key")).unwrap();
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .unwrap()
        .expect("a key");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(socket).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = r#"{"name":"tls","cluster_name":"c","cluster_uuid":"u","version":{"number":"9.6.0","build_flavor":"default"},"tagline":"You Know, for Search"}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nX-elastic-product: Elasticsearch\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("https://127.0.0.1:{}", addr.port())
}

fn client(url: &str, tls: Tls) -> EsClient {
    EsClient::new(
        EsConfig::url(url)
            .with_tls(tls)
            .with_retry(RetryPolicy::none()),
    )
    .unwrap()
}

fn ca_fingerprint() -> String {
    std::fs::read_to_string(fixture("ca.sha256"))
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test]
async fn tls_trust_modes() {
    let url = https_server().await;

    // The test CA is not a system root.
    let error = client(&url, Tls::default()).info().await.unwrap_err();
    assert!(matches!(error, EsError::Transport { .. }), "{error:?}");

    // A CA file.
    let info = client(
        &url,
        Tls {
            ca_file: Some(fixture("ca.pem")),
            ..Tls::default()
        },
    )
    .info()
    .await
    .expect("trusted through the CA file");
    assert_eq!(info.name, "tls");

    // A fingerprint pin of the CA, written with colons and in upper case.
    let colons = ca_fingerprint()
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_uppercase())
        .collect::<Vec<_>>()
        .join(":");
    client(
        &url,
        Tls {
            ca_fingerprint: Some(colons),
            ..Tls::default()
        },
    )
    .info()
    .await
    .expect("trusted through the fingerprint");

    // A pin matching nothing falls back to the system roots, which refuse.
    let error = client(
        &url,
        Tls {
            ca_fingerprint: Some("00".repeat(32)),
            ..Tls::default()
        },
    )
    .info()
    .await
    .unwrap_err();
    assert!(matches!(error, EsError::Transport { .. }), "{error:?}");

    // Development mode.
    client(
        &url,
        Tls {
            verify_certs: false,
            ..Tls::default()
        },
    )
    .info()
    .await
    .expect("no verification");
}

#[test]
fn bad_tls_settings_are_config_errors() {
    let error = EsClient::new(EsConfig::url("https://localhost:9200").with_tls(Tls {
        ca_fingerprint: Some("xyz".into()),
        ..Tls::default()
    }))
    .unwrap_err();
    assert!(error.to_string().contains("fingerprint"), "{error}");
    let error = EsClient::new(EsConfig::url("https://localhost:9200").with_tls(Tls {
        ca_file: Some(fixture("missing.pem")),
        ..Tls::default()
    }))
    .unwrap_err();
    assert!(error.to_string().contains("missing.pem"), "{error}");
}
