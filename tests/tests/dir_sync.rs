//! The `dir` source end to end, driven as Kibana drives a connector: create it through the
//! connector API, configure it, create a job, and run it with `connectors sync` (the binary)
//! and in slices; change the directory and sync again until the index matches it exactly.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use connectors_protocol::{ConnectorStatus, JobType, SyncStatus, TriggerMethod};
use connectors_tests::*;
use serde_json::json;

/// The ids the index should hold for the files under `root`.
fn expected_ids(root: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.file_name().unwrap().to_string_lossy().contains('.') {
                out.insert(dir_id(&p));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, &mut out);
    out
}

async fn configured_dir_connector(sim: &Sim, id: &str, index: &str, root: &Path) {
    sim.create_connector(id, index, "dir").await;
    // What the scheduler does first: publish the source's schema (status needs_configuration).
    let (ok, _, err) = sim.run(&["tick"], &[("CONNECTOR_IDS", id)]).await;
    assert!(ok, "{err}");
    let c = sim.es.connectors().get(id, false).await.unwrap();
    assert_eq!(c.status, ConnectorStatus::NeedsConfiguration);
    assert!(c.configuration.contains_key("directory") && c.configuration.contains_key("pattern"));
    let features = c.features.expect("features written");
    assert!(features.basic_rules_enabled());
    sim.set_values(id, json!({"directory": root.display().to_string()}))
        .await;
    let c = sim.es.connectors().get(id, false).await.unwrap();
    assert_eq!(c.status, ConnectorStatus::Configured);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_sync_makes_the_index_match_the_directory() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let files: Vec<(String, String)> = (0..150)
        .map(|i| {
            (
                format!("dir{}/file-{i:03}.txt", i % 7),
                format!("text of file {i}"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write_tree(&root, &refs);
    write_tree(&root, &[("README", "no extension: not matched by **/*.*")]);
    configured_dir_connector(&sim, "files", "search-files", &root).await;

    let (ok, out, err) = sim.run(&["sync", "--connector", "files"], &[]).await;
    assert!(ok, "stdout: {out}\nstderr: {err}");
    assert!(
        out.contains("completed") && out.contains("indexed 150"),
        "{out}"
    );
    let docs = sim.docs("search-files").await;
    assert_eq!(
        docs.keys().cloned().collect::<BTreeSet<_>>(),
        expected_ids(&root)
    );
    let one = &docs[&dir_id(&root.join("dir0/file-000.txt"))];
    assert_eq!(one["body"], json!("text of file 0"));
    assert_eq!(
        one["path"],
        json!(root.join("dir0/file-000.txt").display().to_string())
    );
    assert_eq!(one["size"], json!(14));
    assert!(one.get("_attachment").is_none() && one.get("_extract_binary_content").is_none());

    // Delete some files, change one, add one; sync again in slices of one page.
    for i in [0, 1, 2, 50, 149] {
        std::fs::remove_file(root.join(format!("dir{}/file-{i:03}.txt", i % 7))).unwrap();
    }
    std::thread::sleep(Duration::from_millis(20));
    write_tree(
        &root,
        &[
            ("dir3/file-003.txt", "changed text"),
            ("new/added.md", "# new"),
        ],
    );
    let job = sim
        .es
        .sync_jobs()
        .create("files", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let engine = connectors_engine::Engine::new(
        sim.es.clone(),
        std::sync::Arc::new(connectors_sources::registry()),
        connectors_engine::EngineConfig {
            page_size: 10,
            ..Default::default()
        },
    );
    let mut slice = Some(0);
    let mut slices = 0;
    let status = loop {
        slices += 1;
        match engine
            .run_slice(
                &job,
                slice,
                connectors_engine::Budget::for_duration(Duration::ZERO),
            )
            .await
            .unwrap()
        {
            connectors_engine::SliceOutcome::Finished(s) => break s,
            connectors_engine::SliceOutcome::Continue { next_slice } => slice = Some(next_slice),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(status, SyncStatus::Completed);
    assert!(slices > 10, "{slices}");
    let j = sim.job(&job).await;
    assert_eq!(
        (
            j.indexed_document_count,
            j.deleted_document_count,
            j.total_document_count
        ),
        (146, 5, 146)
    );
    let docs = sim.docs("search-files").await;
    assert_eq!(
        docs.keys().cloned().collect::<BTreeSet<_>>(),
        expected_ids(&root)
    );
    assert_eq!(
        docs[&dir_id(&root.join("dir3/file-003.txt"))]["body"],
        json!("changed text")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_sends_only_changes_and_removes_deleted_files() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    write_tree(&root, &[("a.txt", "a"), ("b.txt", "b"), ("c/d.txt", "d")]);
    configured_dir_connector(&sim, "inc", "search-inc", &root).await;
    let (ok, _, err) = sim.run(&["sync", "--connector", "inc"], &[]).await;
    assert!(ok, "{err}");
    std::thread::sleep(Duration::from_millis(1100));
    write_tree(&root, &[("b.txt", "b changed"), ("e.txt", "e")]);
    std::fs::remove_file(root.join("a.txt")).unwrap();
    let (ok, out, err) = sim
        .run(
            &["sync", "--connector", "inc", "--job-type", "incremental"],
            &[],
        )
        .await;
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("indexed 2") && out.contains("deleted 1"),
        "{out}"
    );
    let docs = sim.docs("search-inc").await;
    assert_eq!(
        docs.keys().cloned().collect::<BTreeSet<_>>(),
        expected_ids(&root)
    );
    assert_eq!(
        docs[&dir_id(&root.join("b.txt"))]["body"],
        json!("b changed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_configuration_is_an_error_naming_the_field() {
    let sim = start_sim().await;
    sim.create_connector("bad", "search-bad", "dir").await;
    let (ok, _, err) = sim.run(&["tick"], &[("CONNECTOR_IDS", "bad")]).await;
    assert!(ok, "{err}");
    sim.set_values("bad", json!({"directory": "/no/such/folder"}))
        .await;
    let (ok, _, err) = sim.run(&["tick"], &[("CONNECTOR_IDS", "bad")]).await;
    assert!(ok, "{err}");
    let c = sim.es.connectors().get("bad", false).await.unwrap();
    assert_eq!(c.status, ConnectorStatus::Error);
    let error = c.error.unwrap();
    assert!(
        error.contains("Directory path") && error.contains("/no/such/folder"),
        "{error}"
    );
    // A job on it fails with the same reason.
    let (ok, out, _) = sim.run(&["sync", "--connector", "bad"], &[]).await;
    assert!(!ok);
    assert!(
        out.contains("error") && out.contains("/no/such/folder"),
        "{out}"
    );
    sim.set_values("bad", json!({"directory": ""})).await;
    let (_, _, _) = sim.run(&["tick"], &[("CONNECTOR_IDS", "bad")]).await;
    let c = sim.es.connectors().get("bad", false).await.unwrap();
    assert!(
        c.error
            .unwrap()
            .contains("'Directory path' cannot be empty")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_error_budget_through_the_binary() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let files: Vec<(String, String)> = (0..400)
        .map(|i| (format!("f{i:04}.txt"), "x".repeat(100)))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write_tree(&root, &refs);
    configured_dir_connector(&sim, "cb", "search-cb", &root).await;

    // Every document refused for good (the index maps `path` as a number): the error budget
    // stops the job with the reason. (Items answered 429 are retried instead.)
    sim.es
        .indices()
        .create(
            "search-cb",
            Some(&json!({"mappings": {"properties": {"path": {"type": "long"}}}})),
        )
        .await
        .unwrap();
    let (ok, out, _) = sim
        .run(&["sync", "--connector", "cb"], &[("ES_MAX_RETRIES", "0")])
        .await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("error") && out.contains("Exceeded maximum"),
        "{out}"
    );
    sim.es.indices().delete("search-cb", false).await.unwrap();

    // Cancel mid-sync: slow writes, then Kibana's cancel.
    sim.sim.faults().set_latency(Duration::from_millis(20));
    let mut child = sim.spawn(&["sync", "--connector", "cb"], &[]);
    let job = loop {
        let jobs = sim.es.sync_jobs().list(&Default::default()).await.unwrap();
        if let Some(j) = jobs
            .results
            .iter()
            .find(|j| j.status == SyncStatus::InProgress)
        {
            break j.id.clone().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    sim.es.sync_jobs().cancel(&job).await.unwrap();
    let j = sim
        .wait_job(&job, &[SyncStatus::Canceled], Duration::from_secs(20))
        .await;
    assert!(j.canceled_at.is_some());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(!status.success(), "a canceled sync is not a success");
    sim.sim.faults().clear();
    let c = sim.es.connectors().get("cb", false).await.unwrap();
    assert_eq!(c.last_sync_status, Some(SyncStatus::Canceled));
}
