//! `connectors connector list|create`.
//!
//! `create` asks, as the reference does, for the index name, the service type, the index
//! language and the connector's name, then for each field of the source's configuration schema
//! (or reads them from `--from-file`). It checks everything before it creates anything: the
//! service type, the index (absent, or present with `--from-index`), that no connector owns the
//! index yet, and the configuration against the schema. Then it creates the index, the
//! connector (through the connector API, as Kibana does) and its configuration (status
//! `configured`). With `--update-config` it also adds the connector to the service's
//! `config.yml`, with a connector API key when the session can mint one.

use std::path::{Path, PathBuf};

use connectors_protocol::{ACL_INDEX_PREFIX, CONNECTORS_INDEX, Configuration, Connector};
use es_client::{ConfigurationUpdate, ConnectorListParams, DeleteConnectorOptions, NewConnector};
use serde_json::{Value, json};

use super::error::CliError;
use super::form::{self, Answers};
use super::prompt::Prompter;
use super::session::{self, Session};
use super::table::{Format, print_json, render};

#[derive(Debug, clap::Subcommand)]
pub enum ConnectorCommand {
    /// List all existing connectors.
    List,
    /// Create a new connector and its search index.
    Create(CreateArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Name of the index (created, unless --from-index); asked for when missing.
    #[arg(long)]
    index_name: Option<String>,
    /// The source, e.g. `dir` or `postgresql`; asked for when missing.
    #[arg(long, visible_alias = "connector-service-type")]
    service_type: Option<String>,
    /// Language of the index (empty: universal); asked for unless everything else is given.
    #[arg(long, visible_alias = "language")]
    index_language: Option<String>,
    /// The connector's name (default: the index name).
    #[arg(long)]
    name: Option<String>,
    /// Create the connector for an index that already exists. Its current documents are
    /// deleted by the first full sync.
    #[arg(long)]
    from_index: bool,
    /// A JSON or YAML file of configuration values (`{"field": value}`): nothing is asked
    /// when --index-name and --service-type are given too.
    #[arg(long, value_name = "FILE")]
    from_file: Option<PathBuf>,
    /// Add the new connector to the service's config file (`connectors[]`).
    #[arg(long)]
    update_config: bool,
    /// The service's config file that --update-config changes (default: --config, else
    /// `config.yml`).
    #[arg(long, value_name = "FILE")]
    connector_service_config: Option<PathBuf>,
}

pub async fn run(
    command: ConnectorCommand,
    config: Option<&Path>,
    format: Format,
) -> Result<(), CliError> {
    match command {
        ConnectorCommand::List => list(&session::connect(config, true).await?, format).await,
        ConnectorCommand::Create(args) => create(args, config, format).await,
    }
}

/// Every connector, page by page.
pub async fn all_connectors(session: &Session) -> Result<Vec<Connector>, CliError> {
    const PAGE: u64 = 100;
    let mut out = Vec::new();
    loop {
        let params = ConnectorListParams {
            from: Some(out.len() as u64),
            size: Some(PAGE),
            ..Default::default()
        };
        let page = session
            .es
            .connectors()
            .list(&params)
            .await
            .map_err(|e| session.error("listing connectors", e))?;
        let n = page.results.len() as u64;
        out.extend(page.results);
        if n < PAGE || out.len() as u64 >= page.count {
            return Ok(out);
        }
    }
}

/// What `connector list --format json` shows of a connector: no configuration (it holds
/// secrets).
fn summary(c: &Connector) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "index_name": c.index_name,
        "service_type": c.service_type,
        "status": c.status.as_str(),
        "last_sync_status": c.last_sync_status.map(|s| s.as_str()),
        "last_synced": c.last_synced,
        "language": c.language,
        "is_native": c.is_native,
        "error": c.error,
    })
}

async fn list(session: &Session, format: Format) -> Result<(), CliError> {
    let connectors = all_connectors(session).await?;
    if format == Format::Json {
        return print_json(&connectors.iter().map(summary).collect::<Vec<_>>());
    }
    println!();
    if connectors.is_empty() {
        println!("No connectors found");
        return Ok(());
    }
    println!("Showing {} connectors\n", connectors.len());
    let text = |v: Option<&str>| v.unwrap_or("").to_string();
    let rows: Vec<Vec<String>> = connectors
        .iter()
        .map(|c| {
            vec![
                text(c.id.as_deref()),
                text(c.index_name.as_deref()),
                text(c.service_type.as_deref()),
                c.status.as_str().to_string(),
                text(c.last_sync_status.map(|s| s.as_str())),
            ]
        })
        .collect();
    println!(
        "{}",
        render(
            &[
                "ID",
                "Index name",
                "Service type",
                "Status",
                "Last sync job status"
            ],
            &rows
        )
    );
    Ok(())
}

/// The service types of this build, sorted.
pub fn service_types() -> Vec<String> {
    let mut types: Vec<String> = connectors_sources::registry()
        .service_types()
        .into_iter()
        .map(str::to_string)
        .collect();
    types.sort();
    types
}

/// The configuration schema a source publishes.
fn schema_of(service_type: &str) -> Option<Configuration> {
    connectors_sources::registry()
        .get(service_type)
        .map(|s| s.default_configuration())
}

fn ask_service_type(prompter: &mut Prompter) -> Result<String, CliError> {
    let registry = connectors_sources::registry();
    let types = service_types();
    eprintln!("? Service type:");
    for (i, t) in types.iter().enumerate() {
        let name = registry.get(t).map(|s| s.name()).unwrap_or("");
        eprintln!("  {:>2}) {t:<22} {name}", i + 1);
    }
    loop {
        let answer = prompter
            .ask("Service type (number or name)", None)?
            .ok_or_else(|| CliError::NoInput("the service type (--service-type)".into()))?;
        let chosen = match answer.parse::<usize>() {
            Ok(n) if (1..=types.len()).contains(&n) => Some(types[n - 1].clone()),
            _ => types.iter().find(|t| **t == answer).cloned(),
        };
        match chosen {
            Some(t) => return Ok(t),
            None if prompter.is_terminal() => eprintln!("  `{answer}` is not in the list"),
            None => {
                return Err(CliError::UnknownServiceType {
                    given: answer,
                    valid: types,
                });
            }
        }
    }
}

/// The answers before the form: index name, service type, language, name.
struct Basics {
    index_name: String,
    service_type: String,
    language: Option<String>,
    name: String,
}

/// A wrong `--service-type` is a usage error (exit 2) that lists the valid ones.
fn check_service_type_flag(args: &CreateArgs) -> Result<(), CliError> {
    match &args.service_type {
        Some(t) if schema_of(t).is_none() => {
            let wrong = CliError::UnknownServiceType {
                given: t.clone(),
                valid: service_types(),
            };
            Err(CliError::Usage(wrong.to_string()))
        }
        _ => Ok(()),
    }
}

fn basics(args: &CreateArgs, prompter: &mut Prompter) -> Result<Basics, CliError> {
    // Everything given: ask nothing (scripts).
    let quiet =
        args.index_name.is_some() && args.service_type.is_some() && args.from_file.is_some();
    let index_name = match &args.index_name {
        Some(n) => n.clone(),
        None => prompter
            .ask("Index name", None)?
            .ok_or_else(|| CliError::NoInput("the index name (--index-name)".into()))?,
    };
    let service_type = match &args.service_type {
        Some(t) => t.clone(),
        None => ask_service_type(prompter)?,
    };
    let language = match &args.index_language {
        Some(l) => Some(l.clone()),
        None if quiet => None,
        None => prompter.ask("Index language (leave empty for universal)", None)?,
    }
    .filter(|l| !l.trim().is_empty());
    let name = match &args.name {
        Some(n) => n.clone(),
        None if quiet => index_name.clone(),
        None => prompter
            .ask("Connector name", Some(&index_name))?
            .unwrap_or_else(|| index_name.clone()),
    };
    Ok(Basics {
        index_name,
        service_type,
        language,
        name,
    })
}

/// The reference's checks of the index: absent (or present with `--from-index`), and not
/// another connector's.
async fn check_index(session: &Session, index: &str, from_index: bool) -> Result<(), CliError> {
    let exists = session
        .es
        .indices()
        .exists(index)
        .await
        .map_err(|e| session.error(format!("checking index {index}"), e))?;
    if exists && !from_index {
        return Err(CliError::Refused(format!(
            "Index for {index} already exists. Include the flag `--from-index` to create a connector for this index."
        )));
    }
    if !exists && from_index {
        return Err(CliError::Refused(
            "The flag `--from-index` was provided but index doesn't exist.".into(),
        ));
    }
    let owners = session
        .es
        .connectors()
        .list(&ConnectorListParams {
            index_names: vec![index.to_string()],
            size: Some(1),
            ..Default::default()
        })
        .await
        .map_err(|e| session.error("looking for the index's connector", e))?;
    if let Some(owner) = owners.results.first() {
        return Err(CliError::Refused(format!(
            "This index is already a connector (ID: {}).",
            owner.id.as_deref().unwrap_or("?")
        )));
    }
    Ok(())
}

async fn create(args: CreateArgs, config: Option<&Path>, format: Format) -> Result<(), CliError> {
    let mut prompter = Prompter::stdin();
    let file_values = args
        .from_file
        .as_deref()
        .map(form::read_values)
        .transpose()?;
    check_service_type_flag(&args)?;
    // Connected before anything is asked: an unreachable cluster fails before the typing.
    let session = session::connect(config, true).await?;
    let basics = basics(&args, &mut prompter)?;
    let schema = schema_of(&basics.service_type).ok_or_else(|| CliError::UnknownServiceType {
        given: basics.service_type.clone(),
        valid: service_types(),
    })?;
    check_index(&session, &basics.index_name, args.from_index).await?;
    let answers = match (file_values, &args.from_file) {
        (Some(values), Some(path)) => Answers::File {
            path: path.clone(),
            values,
        },
        _ => Answers::Prompt(&mut prompter),
    };
    let configuration = form::fill(&basics.service_type, schema, answers)?;

    let es = &session.es;
    if !args.from_index {
        es.indices()
            .create(&basics.index_name, None)
            .await
            .map_err(|e| session.error(format!("creating index {}", basics.index_name), e))?;
    }
    let created = es
        .connectors()
        .put(
            None,
            &NewConnector {
                index_name: Some(basics.index_name.clone()),
                name: Some(basics.name.clone()),
                service_type: Some(basics.service_type.clone()),
                language: basics.language.clone(),
                is_native: Some(false),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| session.error("creating the connector", e))?;
    let id = created.id;
    if let Err(e) = es
        .connectors()
        .update_configuration(&id, &ConfigurationUpdate::Schema(configuration))
        .await
    {
        // Leave nothing half made behind.
        let _ = es
            .connectors()
            .delete(
                &id,
                DeleteConnectorOptions {
                    hard: true,
                    ..Default::default()
                },
            )
            .await;
        if !args.from_index {
            let _ = es.indices().delete(&basics.index_name, true).await;
        }
        return Err(session.error("saving the connector's configuration", e));
    }
    let mut notes = Vec::new();
    let mut config_file = None;
    if args.update_config {
        let path = args
            .connector_service_config
            .clone()
            .or_else(|| config.map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("config.yml"));
        let api_key = connector_api_key(&session, &id, &basics.index_name, &mut notes).await;
        add_to_service_config(&path, &id, &basics.service_type, api_key.as_deref())?;
        notes.push(format!(
            "New connector has been added to {}",
            path.display()
        ));
        config_file = Some(path);
    }
    let connector = es
        .connectors()
        .get(&id, false)
        .await
        .map_err(|e| session.error("reading the new connector", e))?;
    match format {
        Format::Json => {
            let mut out = summary(&connector);
            out["api_key_id"] = json!(connector.api_key_id);
            out["config_file"] = json!(config_file.map(|p| p.display().to_string()));
            print_json(&out)
        }
        Format::Text => {
            for note in &notes {
                eprintln!("{note}");
            }
            println!(
                "Connector (name: {}, ID: {id}, service_type: {}, index: {}, status: {}) has been created!",
                basics.name,
                basics.service_type,
                basics.index_name,
                connector.status.as_str()
            );
            Ok(())
        }
    }
}

/// A connector API key with the reference's role (the content index, its access control index
/// and the connector indices), recorded on the connector. Only with username and password: an
/// API key cannot mint one with privileges. The key itself is only ever written to the config
/// file, never printed.
async fn connector_api_key(
    session: &Session,
    id: &str,
    index: &str,
    notes: &mut Vec<String>,
) -> Option<String> {
    if session.uses_api_key() {
        notes.push("Cannot create a connector-specific API key when authenticating to Elasticsearch with an API key. Consider using username/password to authenticate, or create a connector-specific API key through Kibana.".into());
        return None;
    }
    let roles = json!({
        format!("{index}-connector-role"): {
            "cluster": ["monitor", "manage_connector"],
            "index": [{
                "names": [index, format!("{ACL_INDEX_PREFIX}{index}"), format!("{CONNECTORS_INDEX}*")],
                "privileges": ["all"],
            }],
        }
    });
    let key = match session
        .es
        .security()
        .create_api_key(&format!("{index}-connector"), Some(&roles))
        .await
    {
        Ok(key) => key,
        Err(e) => {
            notes.push(format!("Could not create a connector-specific API key. Elasticsearch reported the following error: {e}"));
            return None;
        }
    };
    if let Err(e) = session
        .es
        .connectors()
        .update_api_key_id(id, Some(&key.id), None)
        .await
    {
        notes.push(format!(
            "Created API key {} but could not record it on the connector: {e}",
            key.id
        ));
    }
    Some(key.encoded)
}

/// Appends `{connector_id, service_type, api_key?}` to `connectors` of the service's config
/// file (created when missing). The file is rewritten as YAML, so comments are not kept (as
/// with the reference); with an API key in it, it is made readable by the user alone.
fn add_to_service_config(
    path: &Path,
    id: &str,
    service_type: &str,
    api_key: Option<&str>,
) -> Result<(), CliError> {
    let context = || format!("updating {}", path.display());
    let mut tree = match std::fs::read_to_string(path) {
        Ok(text) => serde_norway::from_str::<Value>(&text).map_err(|e| CliError::File {
            context: context(),
            message: format!("invalid YAML: {e}"),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Null,
        Err(e) => return Err(CliError::io(context(), e)),
    };
    if tree.is_null() {
        tree = json!({});
    }
    let Some(top) = tree.as_object_mut() else {
        return Err(CliError::File {
            context: context(),
            message: "the top level is not a mapping".into(),
        });
    };
    let list = top.entry("connectors").or_insert_with(|| json!([]));
    if list.is_null() {
        *list = json!([]);
    }
    let Some(list) = list.as_array_mut() else {
        return Err(CliError::File {
            context: context(),
            message: "`connectors` is not a list".into(),
        });
    };
    let mut entry = json!({"connector_id": id, "service_type": service_type});
    if let Some(key) = api_key {
        entry["api_key"] = json!(key);
    }
    list.push(entry);
    let text = serde_norway::to_string(&tree).map_err(|e| CliError::File {
        context: context(),
        message: e.to_string(),
    })?;
    let private = api_key.is_some() || !path.exists();
    if private {
        session::write_private(path, text.as_bytes()).map_err(|e| CliError::io(context(), e))
    } else {
        std::fs::write(path, text).map_err(|e| CliError::io(context(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_config_gets_the_connector_appended() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yml");
        std::fs::write(
            &path,
            "elasticsearch:\n  host: http://localhost:9200\nconnectors:\n  - connector_id: a\n",
        )
        .expect("write");
        add_to_service_config(&path, "b", "dir", Some("ZW5jb2RlZA==")).expect("updated");
        let tree: Value =
            serde_norway::from_str(&std::fs::read_to_string(&path).expect("read")).expect("yaml");
        assert_eq!(tree["elasticsearch"]["host"], "http://localhost:9200");
        assert_eq!(tree["connectors"][1]["connector_id"], "b");
        assert_eq!(tree["connectors"][1]["api_key"], "ZW5jb2RlZA==");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // And the service reads it.
        let config = connectors_service::ServiceConfig::from_parts(
            "config.yml",
            Some(&std::fs::read_to_string(&path).expect("read")),
            |_| None,
        )
        .expect("a valid service config");
        assert_eq!(config.connectors.len(), 2);
    }

    #[test]
    fn every_registered_source_has_a_schema() {
        let types = service_types();
        assert!(types.contains(&"dir".to_string()));
        for t in types {
            assert!(schema_of(&t).is_some_and(|s| !s.is_empty()), "{t}");
        }
    }
}
