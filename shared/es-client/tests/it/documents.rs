//! Single-document CRUD, optimistic concurrency, index management, ingest pipelines.

use es_client::{EsError, Refresh, SeqNo, WriteOptions, WriteResult};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::TestCluster;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Doc {
    title: String,
    n: u32,
    #[serde(default)]
    tags: Vec<String>,
}

#[tokio::test]
async fn crud_and_optimistic_concurrency() {
    let cluster = TestCluster::start().await;
    let client = &cluster.client;
    let index = cluster.index("crud");
    let write = WriteOptions::default().refresh(Refresh::WaitFor);

    // Missing index: an error, not `None`.
    let error = client.get_document::<Doc>(&index, "1").await.unwrap_err();
    assert!(error.is_not_found(), "{error}");
    assert_eq!(error.error_type(), Some("index_not_found_exception"));

    let doc = Doc {
        title: "first".into(),
        n: 1,
        tags: vec!["a".into()],
    };
    let created = client
        .index_document(&index, Some("1"), &doc, &write)
        .await
        .unwrap();
    assert_eq!(created.result, WriteResult::Created);
    assert_eq!(created.id, "1");

    let got = client
        .get_document::<Doc>(&index, "1")
        .await
        .unwrap()
        .expect("found");
    assert_eq!(got.source, doc);
    assert_eq!(got.id, "1");
    let seq = got.seq_no.expect("seq_no and primary_term");
    assert_eq!(Some(seq), created.seq_no_primary_term());

    // Missing document: `None`.
    assert!(
        client
            .get_document::<Doc>(&index, "nope")
            .await
            .unwrap()
            .is_none()
    );

    // A conditional update with the current seq_no succeeds and moves it.
    let updated = client
        .update_document(
            &index,
            "1",
            &json!({"n": 2}),
            false,
            &WriteOptions::default().if_seq_no(seq),
        )
        .await
        .unwrap();
    assert_eq!(updated.result, WriteResult::Updated);
    let new_seq = updated.seq_no_primary_term().unwrap();
    assert_ne!(new_seq, seq);

    // The stale seq_no now conflicts, for update and for index.
    let error = client
        .update_document(
            &index,
            "1",
            &json!({"n": 3}),
            false,
            &WriteOptions::default().if_seq_no(seq),
        )
        .await
        .unwrap_err();
    assert!(error.is_version_conflict(), "{error}");
    assert_eq!(
        error.error_type(),
        Some("version_conflict_engine_exception")
    );
    let error = client
        .index_document(
            &index,
            Some("1"),
            &doc,
            &WriteOptions::default().if_seq_no(seq),
        )
        .await
        .unwrap_err();
    assert!(error.is_version_conflict(), "{error}");

    // The merge kept the other fields.
    let got = client
        .get_document::<Doc>(&index, "1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.source.n, 2);
    assert_eq!(got.source.title, "first");
    assert_eq!(got.seq_no, Some(new_seq));

    // create of an existing id conflicts.
    let error = client
        .create_document(&index, "1", &doc, &write)
        .await
        .unwrap_err();
    assert!(error.is_version_conflict(), "{error}");
    let created = client
        .create_document(&index, "2", &doc, &write)
        .await
        .unwrap();
    assert_eq!(created.result, WriteResult::Created);

    // update of a missing document: 404 unless doc_as_upsert.
    let error = client
        .update_document(&index, "3", &json!({"n": 3}), false, &write)
        .await
        .unwrap_err();
    assert!(error.is_not_found(), "{error}");
    assert_eq!(error.error_type(), Some("document_missing_exception"));
    let upserted = client
        .update_document(&index, "3", &doc, true, &write)
        .await
        .unwrap();
    assert_eq!(upserted.result, WriteResult::Created);

    // Auto-generated ids.
    let auto = client
        .index_document(&index, None, &doc, &write)
        .await
        .unwrap();
    assert!(!auto.id.is_empty());
    assert!(
        client
            .get_document::<Value>(&index, &auto.id)
            .await
            .unwrap()
            .is_some()
    );

    // Ids that need escaping in a URL path.
    for id in ["a/b", "with space", "q?x=1#frag", "percent%20", "ünïcødé"] {
        client
            .index_document(&index, Some(id), &doc, &write)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let got = client
            .get_document::<Doc>(&index, id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} not found"));
        assert_eq!(got.id, id);
    }

    // delete, then delete again (not_found is not an error).
    let deleted = client.delete_document(&index, "2", &write).await.unwrap();
    assert_eq!(deleted.result, WriteResult::Deleted);
    let again = client.delete_document(&index, "2", &write).await.unwrap();
    assert_eq!(again.result, WriteResult::NotFound);
    // ... but on a missing index it is.
    let error = client
        .delete_document(&cluster.index("missing"), "2", &write)
        .await
        .unwrap_err();
    assert!(error.is_not_found());

    // A conditional delete with a stale seq_no conflicts.
    let error = client
        .delete_document(
            &index,
            "1",
            &WriteOptions::default().if_seq_no(SeqNo {
                seq_no: 0,
                primary_term: 1,
            }),
        )
        .await
        .unwrap_err();
    assert!(error.is_version_conflict(), "{error}");

    // Empty ids are refused before sending.
    assert!(matches!(
        client.get_document::<Value>(&index, "").await,
        Err(EsError::InvalidRequest(_))
    ));

    client.indices().delete(&index, false).await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn index_management() {
    let cluster = TestCluster::start().await;
    let indices = cluster.client.indices();
    let index = cluster.index("mgmt");
    assert!(!indices.exists(&index).await.unwrap());
    indices
        .create(
            &index,
            Some(&json!({"settings": {"number_of_shards": 1}, "mappings": {"properties": {"id": {"type": "keyword"}}}})),
        )
        .await
        .unwrap();
    assert!(indices.exists(&index).await.unwrap());
    let error = indices.create(&index, None).await.unwrap_err();
    assert!(error.api_error().unwrap().is_already_exists(), "{error}");
    assert!(!indices.ensure(&index, None).await.unwrap());
    let other = cluster.index("mgmt");
    assert!(indices.ensure(&other, None).await.unwrap());
    let mapping = indices.get_mapping(&index).await.unwrap();
    assert_eq!(
        mapping[&index]["mappings"]["properties"]["id"]["type"],
        "keyword"
    );
    let error = indices.create("Bad*Name", None).await.unwrap_err();
    assert!(error.is_bad_request(), "{error}");
    indices.delete(&index, false).await.unwrap();
    indices.delete(&other, false).await.unwrap();
    assert!(!indices.exists(&index).await.unwrap());
    assert!(
        indices
            .delete(&index, false)
            .await
            .unwrap_err()
            .is_not_found()
    );
    indices.delete(&index, true).await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn ingest_pipelines() {
    let cluster = TestCluster::start().await;
    let ingest = cluster.client.ingest();
    let id = cluster.index("pipeline");
    assert_eq!(ingest.get_pipeline(&id).await.unwrap(), None);
    let body =
        json!({"description": "test", "processors": [{"set": {"field": "seen", "value": true}}]});
    ingest.put_pipeline(&id, &body).await.unwrap();
    let got = ingest.get_pipeline(&id).await.unwrap().expect("stored");
    assert_eq!(got["description"], "test");
    assert_eq!(got["processors"], body["processors"]);
    assert!(ingest.delete_pipeline(&id).await.unwrap());
    assert!(!ingest.delete_pipeline(&id).await.unwrap());
    cluster.stop().await;
}
