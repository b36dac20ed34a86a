//! `_search`, the `search_after` pager (with and without PIT), `_count`, `_delete_by_query`.

use std::time::Duration;

use es_client::{BulkOptions, DeleteByQueryOptions, Refresh, SearchAfterOptions, SearchParams};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::TestCluster;

#[derive(Debug, Deserialize)]
struct Item {
    n: u64,
    id: String,
    even: bool,
}

const DOCS: u64 = 321;

async fn seed(cluster: &TestCluster, index: &str) {
    cluster
        .client
        .indices()
        .create(
            index,
            Some(&json!({"mappings": {"properties": {
                "n": {"type": "long"}, "id": {"type": "keyword"}, "even": {"type": "boolean"}}}})),
        )
        .await
        .unwrap();
    let mut writer = cluster
        .client
        .bulk_writer::<u64>(BulkOptions::default().max_ops(100));
    for n in 0..DOCS {
        let id = format!("doc-{n:04}");
        writer
            .push_index(
                index,
                Some(&id),
                &json!({"n": n, "id": id, "even": n % 2 == 0}),
                n,
            )
            .unwrap();
        if writer.is_flush_due() {
            let report = writer.flush_ready().await;
            assert_eq!(report.failure_count(), 0);
        }
    }
    let report = writer.flush().await;
    assert_eq!(report.failure_count(), 0, "{:?}", report.request_error);
    assert_eq!(writer.totals().indexed, DOCS);
    cluster.client.refresh(index).await.unwrap();
}

#[tokio::test]
async fn search_and_pages() {
    let cluster = TestCluster::start().await;
    let client = &cluster.client;
    let index = cluster.index("search");
    seed(&cluster, &index).await;

    // A plain search with sequence numbers.
    let response = client
        .search::<Item>(
            &index,
            &json!({"query": {"term": {"even": true}}, "sort": [{"n": "asc"}], "size": 5}),
            &SearchParams::default().seq_no_primary_term(),
        )
        .await
        .unwrap();
    let total = response.hits.total.unwrap();
    assert_eq!(total.value, DOCS.div_ceil(2));
    assert!(total.exact);
    assert_eq!(response.hits.hits.len(), 5);
    let first = &response.hits.hits[0];
    let source = first.source.as_ref().unwrap();
    assert_eq!(
        (source.n, source.id.as_str(), source.even),
        (0, "doc-0000", true)
    );
    assert_eq!(first.id, "doc-0000");
    assert!(first.seq_no_primary_term().is_some());
    assert_eq!(first.sort, vec![json!(0)]);

    // Every document, in order, 40 per page, without and with a point in time.
    for options in [
        SearchAfterOptions::default().page_size(40),
        SearchAfterOptions::default().page_size(40).with_pit("1m"),
    ] {
        let with_pit = options.pit_keep_alive.is_some();
        let mut pager = client
            .search_after::<Item>(
                &index,
                json!({"query": {"match_all": {}}, "sort": [{"n": "asc"}]}),
                options,
            )
            .unwrap();
        let mut seen = Vec::new();
        let mut pages = 0;
        while let Some(page) = pager.next_page().await.unwrap() {
            pages += 1;
            assert!(page.len() <= 40);
            seen.extend(page.into_iter().map(|hit| hit.source.unwrap().n));
        }
        pager.close().await.unwrap();
        assert_eq!(seen, (0..DOCS).collect::<Vec<_>>(), "pit: {with_pit}");
        assert_eq!(pages, DOCS.div_ceil(40));
    }

    // collect_all with a filter and `_source` filtering, descending.
    let hits = client
        .search_after::<Value>(
            &index,
            json!({"query": {"range": {"n": {"gte": 300}}}, "sort": [{"id": "desc"}], "_source": ["id"]}),
            SearchAfterOptions::default().page_size(7),
        )
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(hits.len(), (DOCS - 300) as usize);
    assert_eq!(
        hits[0].source,
        Some(json!({"id": format!("doc-{:04}", DOCS - 1)}))
    );

    // A missing index is a 404, unless ignore_unavailable.
    let missing = cluster.index("missing");
    let error = client
        .search::<Value>(&missing, &json!({}), &SearchParams::default())
        .await
        .unwrap_err();
    assert!(error.is_not_found(), "{error}");

    assert_eq!(client.count(&index, None).await.unwrap(), DOCS);
    assert_eq!(
        client
            .count(&index, Some(&json!({"range": {"n": {"lt": 10}}})))
            .await
            .unwrap(),
        10
    );
    client.indices().delete(&index, false).await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn delete_by_query() {
    let cluster = TestCluster::start().await;
    let client = &cluster.client;
    let index = cluster.index("dbq");
    seed(&cluster, &index).await;

    let deleted = client
        .delete_by_query(
            &index,
            &json!({"range": {"n": {"lt": 100}}}),
            &DeleteByQueryOptions {
                refresh: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.deleted, 100);
    assert_eq!(deleted.version_conflicts, 0);
    assert!(deleted.failures.is_empty());
    assert_eq!(client.count(&index, None).await.unwrap(), DOCS - 100);

    // As a task.
    let task = client
        .delete_by_query_task(
            &index,
            &json!({"term": {"even": true}}),
            &DeleteByQueryOptions {
                refresh: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let done = client
        .wait_for_delete_by_query(&task, Duration::from_millis(20), Duration::from_secs(30))
        .await
        .unwrap();
    let evens_left = (100..DOCS).filter(|n| n % 2 == 0).count() as u64;
    assert_eq!(done.deleted, evens_left);
    client.refresh(&index).await.unwrap();
    assert_eq!(
        client.count(&index, None).await.unwrap(),
        DOCS - 100 - evens_left
    );

    // Nothing matches: zero, not an error.
    let none = client
        .delete_by_query(
            &index,
            &json!({"term": {"id": "nothing"}}),
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(none.deleted, 0);

    // A write with refresh=wait_for is searchable at once.
    client
        .index_document(
            &index,
            Some("late"),
            &json!({"n": 9999, "id": "late", "even": false}),
            &es_client::WriteOptions::default().refresh(Refresh::WaitFor),
        )
        .await
        .unwrap();
    assert_eq!(
        client
            .count(&index, Some(&json!({"term": {"id": "late"}})))
            .await
            .unwrap(),
        1
    );
    client.indices().delete(&index, false).await.unwrap();
    cluster.stop().await;
}
