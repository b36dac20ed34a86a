//! The management CLI through the built binary, against an es-sim in this process: `login`
//! (the private login file, wrong passwords, API keys, overrides), the errors a person can act
//! on with their exit codes, and `connector create|list` (from flags and a file, and
//! interactively with piped answers).

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{Env, PASSWORD, USER, mode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_checks_and_stores_credentials_in_a_private_file() {
    let env = Env::secured().await;
    let url = env.url();
    let run = env
        .run(
            &["login", "--host", &url, "--username", USER],
            &format!("{PASSWORD}\n"),
        )
        .await
        .ok();
    run.hides(PASSWORD);
    assert!(run.stdout.contains("Authentication successful"), "{run:#?}");
    let file = env.login_file();
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().expect("folder")), 0o700);
    let text = std::fs::read_to_string(&file).expect("login file");
    assert!(text.starts_with("elasticsearch:"), "{text}");
    assert!(text.contains(&url) && text.contains(USER), "{text}");

    // Every command reads it: no ES_URL, no credentials given.
    let run = env.run(&["connector", "list"], "").await.ok();
    assert!(run.stdout.contains("No connectors found"), "{run:#?}");
    let run = env.run(&["index", "list", "-o", "json"], "").await.ok();
    assert!(run.json().is_array(), "{run:#?}");

    // Others may read it: every command says so.
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod");
    let run = env.run(&["index", "list"], "").await.ok();
    assert!(
        run.stderr
            .contains("is readable by other users; run `chmod 600"),
        "{run:#?}"
    );
    support::set_private(&file);

    // A second login asks before replacing the file; "no" keeps it.
    let run = env
        .run(
            &["login", "--host", &url, "--username", USER],
            &format!("{PASSWORD}\nn\n"),
        )
        .await;
    assert_eq!(
        run.fails(1),
        "error: Aborted! (pass --yes to confirm without a prompt)"
    );
    assert!(run.stderr.contains("Config is already present"), "{run:#?}");
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_one_line_and_saves_nothing() {
    let env = Env::secured().await;
    let run = env
        .run(
            &["login", "--host", &env.url(), "--username", USER],
            "not-the-password\n",
        )
        .await;
    run.hides("not-the-password");
    let line = run.fails(1);
    assert!(
        line.contains("Authentication failed") && line.contains("rejected"),
        "{line}"
    );
    assert!(line.contains(&env.url()), "{line}");
    assert!(!env.login_file().exists());

    // Stored credentials that stopped working: the same advice from any command.
    env.log_in();
    let text = std::fs::read_to_string(env.login_file()).expect("file");
    std::fs::write(env.login_file(), text.replace(PASSWORD, "changed-since")).expect("write");
    let run = env.run(&["connector", "list"], "").await;
    let line = run.fails(1);
    assert!(
        line.contains("rejected the credentials") && line.contains("connectors login"),
        "{line}"
    );
    run.hides("changed-since");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_an_api_key_and_json_output() {
    let env = Env::secured().await;
    let key = env
        .es
        .security()
        .create_api_key("cli-test", None)
        .await
        .expect("api key");
    let run = env
        .run(
            &[
                "login",
                "--host",
                &env.url(),
                "--method",
                "apikey",
                "-o",
                "json",
            ],
            &format!("{}\n", key.encoded),
        )
        .await
        .ok();
    run.hides(&key.encoded).hides(&key.api_key);
    let out = run.json();
    assert_eq!(out["method"], "apikey");
    assert_eq!(out["host"], env.url());
    let text = std::fs::read_to_string(env.login_file()).expect("file");
    assert!(
        text.contains("api_key:") && !text.contains("password"),
        "{text}"
    );
    env.run(&["job", "list", "nope"], "").await.fails(1);
    let run = env.run(&["connector", "list", "-o", "json"], "").await.ok();
    assert_eq!(run.json(), json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_overrides_the_login_file() {
    let mut env = Env::secured().await;
    // A login for a host that is down...
    let path = env.login_file();
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(
        &path,
        format!("elasticsearch:\n  host: http://127.0.0.1:9\n  username: {USER}\n  password: {PASSWORD}\n"),
    )
    .expect("write");
    support::set_private(&path);
    let run = env.run(&["index", "list"], "").await;
    let line = run.fails(1);
    assert!(
        line.contains("cannot reach Elasticsearch at http://127.0.0.1:9/"),
        "{line}"
    );
    // ...and ES_URL naming the es-sim: its stored credentials are not sent to another host.
    env.env.push(("ES_URL".into(), env.url()));
    let line = env.run(&["index", "list"], "").await.fails(1);
    assert!(line.contains("rejected the credentials"), "{line}");
    env.env.push(("ES_USERNAME".into(), USER.into()));
    env.env.push(("ES_PASSWORD".into(), PASSWORD.into()));
    env.run(&["index", "list"], "").await.ok().hides(PASSWORD);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_a_person_can_act_on() {
    let mut env = Env::start().await;
    // Not logged in.
    let line = env.run(&["connector", "list"], "").await.fails(1);
    assert!(
        line.contains("not logged in") && line.contains("connectors login"),
        "{line}"
    );

    // An unreachable cluster: which URL, what to do, and quickly.
    env.env.push(("ES_URL".into(), "http://127.0.0.1:1".into()));
    let started = Instant::now();
    let line = env.run(&["job", "list", "c1"], "").await.fails(1);
    assert!(
        line.contains("http://127.0.0.1:1/") && line.contains("`connectors login`"),
        "{line}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    env.env.clear();
    env.log_in();

    // Unknown ids.
    for args in [
        vec!["job", "start", "-i", "missing", "-t", "full"],
        vec!["job", "list", "missing"],
    ] {
        let line = env.run(&args, "").await.fails(1);
        assert_eq!(
            line,
            "error: connector `missing` not found: `connectors connector list` shows the connectors"
        );
    }
    let line = env.run(&["job", "view", "no-such-job"], "").await.fails(1);
    assert!(line.contains("sync job `no-such-job` not found"), "{line}");
    let line = env
        .run(&["index", "delete", "no-such-index", "--yes"], "")
        .await
        .fails(1);
    assert!(line.contains("index `no-such-index` not found"), "{line}");

    // A wrong service type lists the valid ones (usage: exit 2).
    let line = env
        .run(
            &[
                "connector",
                "create",
                "--service-type",
                "sharepoint",
                "--index-name",
                "x",
            ],
            "",
        )
        .await
        .fails(2);
    assert!(
        line.contains("unknown service type `sharepoint`; valid service types: "),
        "{line}"
    );
    assert!(
        line.contains("dir") && line.contains("postgresql"),
        "{line}"
    );

    // clap's usage errors: exit 2.
    let run = env.run(&["job", "start", "-t", "full"], "").await;
    assert_eq!(run.code, 2, "{run:#?}");
    let run = env
        .run(&["job", "start", "-i", "c", "-t", "sometimes"], "")
        .await;
    assert_eq!(run.code, 2, "{run:#?}");
    // A group alone prints its help, as the reference does.
    let run = env.run(&["job"], "").await.ok();
    assert!(
        run.stdout.contains("start") && run.stdout.contains("view"),
        "{run:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_create_from_flags_and_a_file_then_list() {
    let env = Env::start().await;
    env.log_in();
    let folder = support::files(env.dir.path(), 3);
    let values = env.dir.path().join("values.yml");
    std::fs::write(
        &values,
        format!("directory: {}\npattern: '**/*.txt'\n", folder.display()),
    )
    .expect("values");
    let run = env
        .run(
            &[
                "connector",
                "create",
                "--index-name",
                "search-notes",
                "--connector-service-type",
                "dir",
                "--from-file",
                values.to_str().expect("utf-8"),
                "--language",
                "en",
                "--name",
                "Notes",
            ],
            "",
        )
        .await
        .ok();
    assert!(
        run.stdout.starts_with("Connector (name: Notes, ID: "),
        "{run:#?}"
    );
    assert!(
        run.stdout
            .contains("service_type: dir, index: search-notes, status: configured"),
        "{run:#?}"
    );
    assert!(run.stderr.is_empty(), "nothing asked: {run:#?}");

    let list = env
        .run(&["connector", "list", "-o", "json"], "")
        .await
        .ok()
        .json();
    let c = &list[0];
    assert_eq!(
        (c["name"].as_str(), c["index_name"].as_str()),
        (Some("Notes"), Some("search-notes"))
    );
    assert_eq!(
        (c["service_type"].as_str(), c["status"].as_str()),
        (Some("dir"), Some("configured"))
    );
    assert_eq!(c["language"], "en");
    let id = c["id"].as_str().expect("id").to_string();
    let stored = env
        .es
        .connectors()
        .get(&id, false)
        .await
        .expect("connector");
    assert_eq!(
        stored.configuration["directory"].value,
        json!(folder.display().to_string())
    );
    assert_eq!(stored.configuration["pattern"].value, json!("**/*.txt"));
    assert!(
        env.es
            .indices()
            .exists("search-notes")
            .await
            .expect("exists")
    );

    let table = env.run(&["connector", "list"], "").await.ok().stdout;
    assert!(table.contains("Showing 1 connectors"), "{table}");
    let lines: Vec<&str> = table.lines().skip_while(|l| !l.starts_with("ID")).collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("Index name    Service type    Status"),
        "{table}"
    );
    assert!(lines[1].starts_with("---"), "{table}");
    assert!(
        lines[2].starts_with(&id)
            && lines[2].contains("search-notes")
            && lines[2].contains("configured"),
        "{table}"
    );

    // The index is taken now: twice is refused, with what to do.
    let line = env
        .run(
            &[
                "connector",
                "create",
                "--index-name",
                "search-notes",
                "--service-type",
                "dir",
                "--from-file",
                values.to_str().expect("utf-8"),
            ],
            "",
        )
        .await
        .fails(1);
    assert!(
        line.contains("already exists. Include the flag `--from-index`"),
        "{line}"
    );
    let line = env
        .run(
            &[
                "connector",
                "create",
                "--index-name",
                "search-notes",
                "--service-type",
                "dir",
                "--from-file",
                values.to_str().expect("utf-8"),
                "--from-index",
            ],
            "",
        )
        .await
        .fails(1);
    assert!(line.contains("This index is already a connector"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_create_interactively_with_piped_answers() {
    let env = Env::start().await;
    env.log_in();
    let folder = support::files(env.dir.path(), 2);
    // Index name, service type, language, name, then the dir fields: directory, pattern.
    let answers = format!("search-asked\ndir\n\nAsked\n{}\n\n", folder.display());
    let run = env
        .run(&["connector", "create", "-o", "json"], &answers)
        .await
        .ok();
    for question in [
        "? Index name: ",
        "? Service type:",
        "? Index language",
        "? Connector name [search-asked]: ",
        "? Directory path",
        "? File glob-like pattern",
    ] {
        assert!(run.stderr.contains(question), "{question}: {run:#?}");
    }
    let out = run.json();
    assert_eq!(out["service_type"], "dir");
    assert_eq!(out["status"], "configured");
    let id = out["id"].as_str().expect("id");
    let stored = env.es.connectors().get(id, false).await.expect("connector");
    assert_eq!(
        stored.configuration["directory"].value,
        json!(folder.display().to_string())
    );
    // The default was kept.
    assert_eq!(stored.configuration["pattern"].value, json!("**/*.*"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_create_names_missing_fields_and_hides_secrets() {
    let env = Env::secured().await;
    env.log_in();
    // A PostgreSQL connector from a file without the host.
    let values = env.dir.path().join("pg.json");
    std::fs::write(
        &values,
        json!({"username": "u", "password": "db-s3cret", "database": "d"}).to_string(),
    )
    .expect("file");
    let args = [
        "connector",
        "create",
        "--index-name",
        "search-pg",
        "--service-type",
        "postgresql",
        "--from-file",
        values.to_str().expect("utf-8"),
    ];
    let run = env.run(&args, "").await;
    run.hides("db-s3cret");
    let line = run.fails(1);
    assert!(
        line.contains("'Host' cannot be empty (field `host`)"),
        "{line}"
    );
    assert!(
        line.contains(&format!("set them in {}", values.display())),
        "{line}"
    );
    assert!(
        !env.es.indices().exists("search-pg").await.expect("checked"),
        "nothing was created"
    );

    // A field the source does not have.
    std::fs::write(&values, json!({"hots": "db"}).to_string()).expect("file");
    let line = env.run(&args, "").await.fails(1);
    assert!(
        line.contains("`hots` is not a postgresql configuration field"),
        "{line}"
    );

    // Complete: created, and the password appears in no output.
    std::fs::write(
        &values,
        json!({"host": "db.example", "port": 5432, "username": "u",
        "password": "db-s3cret", "database": "d", "schema": "public"})
        .to_string(),
    )
    .expect("file");
    env.run(&args, "").await.ok().hides("db-s3cret");
    env.run(&["connector", "list"], "")
        .await
        .ok()
        .hides("db-s3cret");
    env.run(&["connector", "list", "-o", "json"], "")
        .await
        .ok()
        .hides("db-s3cret");

    // Asked interactively: the password prompt takes the piped answer, shows nothing back.
    let answers = "search-pg2\npostgresql\n\n\ndb.example\n5432\nu\ndb-s3cret\nd\npublic\n";
    let run = env
        .run(
            &["connector", "create"],
            &format!("{answers}{}", "\n".repeat(20)),
        )
        .await;
    run.hides("db-s3cret");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("? Password: "), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_config_adds_the_connector_with_its_own_api_key() {
    let env = Env::secured().await;
    env.log_in();
    let folder = support::files(env.dir.path(), 1);
    let values = env.dir.path().join("v.json");
    std::fs::write(
        &values,
        json!({"directory": folder.display().to_string()}).to_string(),
    )
    .expect("file");
    let service_config = env.dir.path().join("config.yml");
    std::fs::write(&service_config, "service:\n  idling: 5\n").expect("config");
    let run = env
        .run(
            &[
                "connector",
                "create",
                "--index-name",
                "search-keyed",
                "--service-type",
                "dir",
                "--from-file",
                values.to_str().expect("utf-8"),
                "--update-config",
                "--connector-service-config",
                service_config.to_str().expect("utf-8"),
                "-o",
                "json",
            ],
            "",
        )
        .await
        .ok();
    let out = run.json();
    let id = out["id"].as_str().expect("id");
    let key_id = out["api_key_id"].as_str().expect("an API key was made");
    let text = std::fs::read_to_string(&service_config).expect("config");
    let tree: serde_json::Value = serde_json::to_value(
        text.lines()
            .filter(|l| l.contains("api_key:"))
            .collect::<Vec<_>>(),
    )
    .expect("lines");
    let encoded = tree[0]
        .as_str()
        .expect("api_key line")
        .split("api_key:")
        .nth(1)
        .expect("value")
        .trim()
        .to_string();
    run.hides(&encoded);
    assert!(
        text.contains(&format!("connector_id: {id}")) && text.contains("idling: 5"),
        "{text}"
    );
    assert_eq!(mode(&service_config), 0o600);
    let connector = env.es.connectors().get(id, false).await.expect("connector");
    assert_eq!(connector.api_key_id.as_deref(), Some(key_id));
}
