//! `connectors job ...` and `connectors index ...` through the built binary, against an es-sim
//! in this process: a `dir` connector's job started with `--wait` and run by `connectors work
//! --once` to completion, `job view --follow` streaming it, `job list`/`view` as tables and
//! JSON, canceling, and `index list|clean|delete`.

mod support;

use std::time::Duration;

use es_client::{Refresh, SyncJobListParams, WriteOptions};
use serde_json::json;
use support::{Env, Run};

/// Waits until the connector has a job, and returns its id.
async fn first_job(env: &Env, connector_id: &str) -> String {
    for _ in 0..200 {
        let jobs = env
            .es
            .sync_jobs()
            .list(&SyncJobListParams {
                connector_id: Some(connector_id.to_string()),
                ..Default::default()
            })
            .await
            .expect("jobs");
        if let Some(id) = jobs.results.first().and_then(|j| j.id.clone()) {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no job was created for {connector_id}");
}

/// `connectors work --once` for the connector: the service side that runs pending jobs.
async fn work(env: &Env, connector_id: &str) -> Run {
    let mut cmd = env.command(&["work", "--once"]);
    cmd.env("CONNECTOR_IDS", connector_id);
    support::run(cmd, "").await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_start_wait_follows_a_dir_sync_to_completed() {
    let env = Env::start().await;
    env.log_in();
    let folder = support::files(env.dir.path(), 5);
    let id = support::dir_connector(&env, "search-files", &folder).await;

    let waiting = {
        let cmd = env.command(&["job", "start", "-i", &id, "-t", "full", "--wait"]);
        tokio::spawn(support::run(cmd, ""))
    };
    let job_id = first_job(&env, &id).await;
    work(&env, &id).await;
    let run = waiting.await.expect("join").ok();
    assert!(
        run.stdout
            .contains(&format!("The job {job_id} has been started.")),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains(&format!(
            "Job {job_id} completed: 5 documents indexed (0 MiB), 0 deleted, 5 in the index"
        )),
        "{run:#?}"
    );
    // Progress on stderr, as the job moved.
    assert!(
        run.stderr
            .contains(&format!("job {job_id} pending: 0 documents indexed")),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains(&format!("job {job_id} completed: 5 documents indexed")),
        "{run:#?}"
    );
    assert_eq!(env.es.count("search-files", None).await.expect("count"), 5);

    // job view: the reference's keys, as a table and as JSON.
    let table = env.run(&["job", "view", &job_id], "").await.ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("---") && lines.last().is_some_and(|l| l.starts_with("---")),
        "{table}"
    );
    for row in [
        "job_id ".to_string(),
        "job_status                completed".into(),
        "documents_indexed         5".into(),
    ] {
        assert!(table.contains(&row), "{row}: {table}");
    }
    let view = env
        .run(&["job", "view", &job_id, "-o", "json"], "")
        .await
        .ok()
        .json();
    assert_eq!(view["job_id"], job_id.as_str());
    assert_eq!(view["connector_id"], id.as_str());
    assert_eq!(view["index_name"], "search-files");
    assert_eq!(
        (view["job_status"].as_str(), view["job_type"].as_str()),
        (Some("completed"), Some("full"))
    );
    assert_eq!(
        (
            view["documents_indexed"].as_u64(),
            view["documents_deleted"].as_u64()
        ),
        (Some(5), Some(0))
    );
    assert!(view.get("connector").is_none() && view.get("configuration").is_none());

    // A second job with --wait -o json: the final view on stdout.
    let waiting = {
        let cmd = env.command(&[
            "job",
            "start",
            "-i",
            &id,
            "-t",
            "incremental",
            "-w",
            "-o",
            "json",
        ]);
        tokio::spawn(support::run(cmd, ""))
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    work(&env, &id).await;
    let out = waiting.await.expect("join").ok().json();
    assert_eq!(out["job_type"], "incremental");
    assert_eq!(out["job_status"], "completed");

    // job list: oldest first, the reference's columns.
    let list = env
        .run(&["job", "list", &id, "-o", "json"], "")
        .await
        .ok()
        .json();
    let jobs = list.as_array().expect("array");
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["job_id"], job_id.as_str());
    let table = env.run(&["job", "list", &id], "").await.ok().stdout;
    assert!(table.starts_with("Showing 2 jobs"), "{table}");
    assert!(
        table.contains("Job id")
            && table.contains("Volume documents indexed (MiB)    Documents deleted"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with(&job_id))
        .expect("the first job's row");
    assert!(
        row.contains("search-files") && row.contains("completed") && row.contains("full"),
        "{row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_view_follow_streams_counts_until_the_end() {
    let env = Env::start().await;
    env.log_in();
    let folder = support::files(env.dir.path(), 4);
    let id = support::dir_connector(&env, "search-followed", &folder).await;
    let started = env
        .run(&["job", "start", "-i", &id, "-t", "full", "-o", "json"], "")
        .await
        .ok()
        .json();
    let job_id = started["id"].as_str().expect("id").to_string();

    let following = {
        let cmd = env.command(&["job", "view", &job_id, "--follow", "-o", "json"]);
        tokio::spawn(support::run(cmd, ""))
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    work(&env, &id).await;
    let run = following.await.expect("join").ok();
    let states: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(
        states.first().map(|s| s["job_status"].clone()),
        Some(json!("pending")),
        "{run:#?}"
    );
    let last = states.last().expect("a last state");
    assert_eq!(last["job_status"], "completed");
    assert_eq!(last["documents_indexed"], 4);

    // Text: lines, then the final table; a job that did not complete exits 1.
    let text = env
        .run(&["job", "view", &job_id, "-f"], "")
        .await
        .ok()
        .stdout;
    assert!(
        text.starts_with(&format!("job {job_id} completed: 4 documents indexed")),
        "{text}"
    );
    let started = env
        .run(&["job", "start", "-i", &id, "-t", "full", "-o", "json"], "")
        .await
        .ok()
        .json();
    let second = started["id"].as_str().expect("id").to_string();
    env.run(&["job", "cancel", &second, "--yes"], "").await.ok();
    let run = env.run(&["job", "view", &second, "--follow"], "").await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stdout.contains("canceled"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_cancel_asks_then_cancels_once() {
    let env = Env::start().await;
    env.log_in();
    let folder = support::files(env.dir.path(), 1);
    let id = support::dir_connector(&env, "search-cancel", &folder).await;
    let started = env
        .run(&["job", "start", "-i", &id, "-t", "full"], "")
        .await
        .ok();
    let job_id = started
        .stdout
        .trim()
        .strip_prefix("The job ")
        .and_then(|s| s.strip_suffix(" has been started."))
        .expect("the reference's sentence")
        .to_string();

    let run = env.run(&["job", "cancel", &job_id], "n\n").await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("Are you sure you want to cancel jobs? [y/N]"),
        "{run:#?}"
    );
    assert_eq!(
        env.es
            .sync_jobs()
            .get(&job_id)
            .await
            .expect("job")
            .status
            .as_str(),
        "pending"
    );

    let run = env.run(&["job", "cancel", &job_id], "y\n").await.ok();
    assert!(
        run.stdout
            .contains("The job has been cancelled (status: canceled)"),
        "{run:#?}"
    );
    let line = env
        .run(&["job", "cancel", &job_id, "--yes", "-o", "json"], "")
        .await
        .fails(1);
    assert_eq!(
        line,
        format!("error: job {job_id} is already canceled: there is nothing to cancel")
    );
    // The reference's job types, access_control included (any case).
    let out = env
        .run(
            &[
                "job",
                "start",
                "-i",
                &id,
                "-t",
                "ACCESS_CONTROL",
                "-o",
                "json",
            ],
            "",
        )
        .await
        .ok()
        .json();
    let acl = env
        .es
        .sync_jobs()
        .get(out["id"].as_str().expect("id"))
        .await
        .expect("job");
    assert_eq!(acl.job_type.as_str(), "access_control");
    let line = env
        .run(&["job", "cancel", "nope", "--yes"], "")
        .await
        .fails(1);
    assert!(line.contains("sync job `nope` not found"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_list_clean_and_delete() {
    let env = Env::start().await;
    env.log_in();
    for i in 0..25 {
        env.es
            .index_document(
                "books",
                Some(&format!("b{i}")),
                &json!({"title": format!("book {i}")}),
                &WriteOptions::default().refresh(Refresh::True),
            )
            .await
            .expect("indexed");
    }
    env.es
        .indices()
        .create("empty", None)
        .await
        .expect("created");

    let table = env.run(&["index", "list"], "").await.ok().stdout;
    assert!(table.contains("Showing 2 indices"), "{table}");
    assert!(
        table.contains("Index name      Number of documents"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("books") && l.ends_with(" 25")),
        "{table}"
    );
    let rows = env
        .run(&["index", "list", "-o", "json"], "")
        .await
        .ok()
        .json();
    assert_eq!(rows[0]["index"], "books");
    assert_eq!(rows[0]["docs_count"], 25);
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| !r["index"].as_str().unwrap_or("").starts_with('.')),
        "{rows}"
    );

    // clean asks first; "no" changes nothing.
    let run = env.run(&["index", "clean", "books"], "\n").await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("Are you sure you want to clean books?"),
        "{run:#?}"
    );
    assert_eq!(env.es.count("books", None).await.expect("count"), 25);
    let run = env.run(&["index", "clean", "books"], "y\n").await.ok();
    assert!(
        run.stdout
            .contains("The index has been cleaned. (25 documents deleted)"),
        "{run:#?}"
    );
    assert_eq!(env.es.count("books", None).await.expect("count"), 0);
    let out = env
        .run(&["index", "clean", "books", "--yes", "-o", "json"], "")
        .await
        .ok()
        .json();
    assert_eq!(out, json!({"index": "books", "deleted": 0}));

    let run = env.run(&["index", "delete", "books", "-y"], "").await.ok();
    assert!(
        run.stdout.contains("The index has been deleted."),
        "{run:#?}"
    );
    assert!(!env.es.indices().exists("books").await.expect("exists"));
    let out = env
        .run(&["index", "delete", "empty", "--yes", "-o", "json"], "")
        .await
        .ok()
        .json();
    assert_eq!(out, json!({"index": "empty", "deleted": true}));
    let table = env.run(&["index", "list"], "").await.ok().stdout;
    assert!(table.contains("No indices found"), "{table}");
}
