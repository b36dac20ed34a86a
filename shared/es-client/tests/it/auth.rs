//! Basic and API key authentication against a secured es-sim.

use es_client::{Auth, EsClient};

use crate::common::{TestCluster, sim_config};
use crate::sim_only;

#[tokio::test]
async fn basic_and_api_key_auth() {
    sim_only!();
    let cluster = TestCluster::start_sim(es_sim::SimConfig {
        security: Some(es_sim::Security {
            username: "elastic".into(),
            password: "changeme".into(),
        }),
        ..sim_config()
    })
    .await;

    // No credentials: 401 security_exception.
    let error = cluster.client.info().await.unwrap_err();
    assert!(error.is_auth_error(), "{error}");
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.error_type(), Some("security_exception"));

    // Wrong password.
    let wrong = EsClient::new(cluster.config().with_auth(Auth::Basic {
        username: "elastic".into(),
        password: "nope".into(),
    }))
    .unwrap();
    assert_eq!(wrong.info().await.unwrap_err().status(), Some(401));

    // Basic.
    let basic = EsClient::new(cluster.config().with_auth(Auth::Basic {
        username: "elastic".into(),
        password: "changeme".into(),
    }))
    .unwrap();
    basic.info().await.expect("basic auth works");

    // Credentials in the URL work too (and are removed from it).
    let url = format!(
        "http://elastic:changeme@{}",
        cluster
            .config()
            .base_url()
            .unwrap()
            .host_str()
            .unwrap()
            .to_string()
            + ":"
            + &cluster
                .config()
                .base_url()
                .unwrap()
                .port()
                .unwrap()
                .to_string()
    );
    let in_url = EsClient::new(es_client::EsConfig::url(url)).unwrap();
    assert!(!in_url.base_url().as_str().contains("changeme"));
    in_url.info().await.expect("credentials from the URL");

    // An API key, encoded or as id + secret.
    let key = basic
        .security()
        .create_api_key("es-client-test", None)
        .await
        .unwrap();
    let encoded = EsClient::new(
        cluster
            .config()
            .with_auth(Auth::ApiKey(key.encoded.clone())),
    )
    .unwrap();
    encoded.info().await.expect("encoded API key works");
    let split = EsClient::new(cluster.config().with_auth(Auth::ApiKeyIdSecret {
        id: key.id.clone(),
        secret: key.api_key.clone(),
    }))
    .unwrap();
    split.info().await.expect("id + secret API key works");
    let bogus = EsClient::new(cluster.config().with_auth(Auth::ApiKeyIdSecret {
        id: key.id.clone(),
        secret: "wrong".into(),
    }))
    .unwrap();
    assert_eq!(bogus.info().await.unwrap_err().status(), Some(401));

    // A client with a connector's own key shares the pool of the service client.
    let per_connector = cluster
        .client
        .with_auth(&Auth::ApiKey(key.encoded.clone()))
        .unwrap();
    per_connector
        .info()
        .await
        .expect("with_auth switches credentials");
    assert!(cluster.client.info().await.unwrap_err().is_auth_error());

    // Secrets never show up in Debug output.
    let text = format!("{encoded:?} {split:?} {basic:?}");
    assert!(
        !text.contains(&key.encoded) && !text.contains(&key.api_key) && !text.contains("changeme")
    );
    cluster.stop().await;
}
