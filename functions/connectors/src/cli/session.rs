//! Where a command's Elasticsearch comes from, and the connection to it.
//!
//! `connectors login` stores the host and credentials in the login file (the reference's
//! `.cli/config.yml` format: `elasticsearch: {host, username, password | api_key}`), readable by
//! the user alone (0600, in a 0700 folder). Its path is `$CONNECTORS_CLI_CONFIG`, else
//! `$XDG_CONFIG_HOME/connectors/cli/config.yml`, else `~/.config/connectors/cli/config.yml`.
//!
//! A command reads `--config FILE` when given (a service `config.yml`, or a reference CLI
//! file), else the login file; the environment overrides either (`ES_URL`/`ES_CLOUD_ID` the
//! host; `ES_API_KEY` or `ES_USERNAME`/`ES_PASSWORD` the credentials). The stored credentials
//! are sent only to the stored host: with `ES_URL` naming another one, give its credentials
//! through the environment too.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use connectors_protocol::{CONNECTORS_CONCRETE_INDEX, SYNC_JOBS_CONCRETE_INDEX};
use connectors_service::ServiceConfig;
use es_client::{EsClient, VersionRequirement};
use serde::{Deserialize, Serialize};

use super::error::CliError;

/// Overrides the login file's path (tests, several clusters).
pub const LOGIN_FILE_ENV: &str = "CONNECTORS_CLI_CONFIG";

/// Host and credentials as `connectors login` stores them. `Debug` hides the secrets.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Credentials")
            .field("host", &self.host)
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("api_key", &hidden(&self.api_key))
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct LoginFile {
    elasticsearch: Credentials,
}

/// The login file's path (see the module documentation).
pub fn login_file_path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = var(LOGIN_FILE_ENV) {
        return Some(PathBuf::from(path));
    }
    let base = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("connectors").join("cli").join("config.yml"))
}

/// The stored login, or `None` when there is no file.
pub fn read_login(path: &Path) -> Result<Option<Credentials>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CliError::io(format!("reading {}", path.display()), e)),
    };
    warn_if_shared(path);
    let file: LoginFile = serde_norway::from_str(&text).map_err(|e| CliError::File {
        context: format!("reading {}", path.display()),
        // The parser's message quotes no values, only positions and expectations.
        message: format!("not a login file ({e}); run `connectors login` to write it again"),
    })?;
    Ok(Some(file.elasticsearch))
}

/// Writes the login file with mode 0600 (its folder 0700 when created), replacing it whole.
pub fn write_login(path: &Path, credentials: &Credentials) -> Result<(), CliError> {
    let context = || format!("writing {}", path.display());
    let text = serde_norway::to_string(&LoginFile {
        elasticsearch: credentials.clone(),
    })
    .map_err(|e| CliError::File {
        context: context(),
        message: e.to_string(),
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|e| CliError::io(context(), e))?;
    }
    write_private(path, text.as_bytes()).map_err(|e| CliError::io(context(), e))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to a new file beside `path` created with mode 0600, then renames it over
/// `path`: the secret is never in a file that others may read, even for a moment.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.yml".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Like ssh with a key file: say so when others may read the secrets.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "warning: {} is readable by other users; run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Whether the environment names the cluster (`ES_URL` or `ES_CLOUD_ID`).
fn env_names_cluster() -> bool {
    env_set("ES_URL") || env_set("ES_CLOUD_ID")
}

/// Whether the environment gives credentials.
fn env_gives_credentials() -> bool {
    ["ES_API_KEY", "ES_USERNAME", "ES_PASSWORD"]
        .iter()
        .any(|n| env_set(n))
}

/// The service configuration of a command (see the module documentation). With
/// `require_cluster`, a command without `--config`, login file or `ES_URL` fails with the
/// advice to log in; without it (`run`, `sync`, ...) the defaults apply as before.
pub fn service_config(
    config: Option<&Path>,
    require_cluster: bool,
) -> Result<ServiceConfig, CliError> {
    if let Some(path) = config {
        return Ok(ServiceConfig::load(Some(path))?);
    }
    let mut service = ServiceConfig::load(None)?;
    let login_path = login_file_path();
    let login = match &login_path {
        Some(path) => read_login(path)?,
        None => None,
    };
    match login {
        Some(login) => apply_login(&mut service, login),
        None if require_cluster && !env_names_cluster() => {
            return Err(CliError::NotLoggedIn {
                path: login_path
                    .unwrap_or_else(|| PathBuf::from("~/.config/connectors/cli/config.yml")),
            });
        }
        None => {}
    }
    Ok(service)
}

fn apply_login(service: &mut ServiceConfig, login: Credentials) {
    let es = &mut service.elasticsearch;
    if !env_names_cluster() {
        es.host = login.host.clone();
    }
    if env_gives_credentials() || !same_host(&es.host, &login.host) {
        return;
    }
    es.api_key = login.api_key;
    es.username = login.username;
    es.password = login.password;
}

fn same_host(a: &str, b: &str) -> bool {
    let parse = |s: &str| url::Url::parse(s.trim()).ok();
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/'),
    }
}

/// A connected client and what it was made from.
pub struct Session {
    pub es: EsClient,
    /// The cluster's URL, without credentials, for messages.
    pub url: String,
    pub config: ServiceConfig,
}

impl Session {
    /// Whether the session authenticates with an API key (which cannot mint keys for others).
    pub fn uses_api_key(&self) -> bool {
        self.config.elasticsearch.api_key.is_some()
    }

    /// An Elasticsearch error of this session while doing `context`.
    pub fn error(&self, context: impl Into<String>, error: es_client::EsError) -> CliError {
        CliError::es(&self.url, context, error)
    }
}

/// A client for `config` that fails fast: a management command reports an unreachable cluster
/// within a second or two instead of retrying for minutes as the service does.
pub fn client(config: &ServiceConfig) -> Result<(EsClient, String), CliError> {
    let mut es_config = config.es_config();
    es_config.retry.max_retries = es_config.retry.max_retries.min(2);
    es_config.retry.initial_backoff = Duration::from_millis(200);
    es_config.retry.max_backoff = Duration::from_secs(1);
    es_config.connect_timeout = Duration::from_secs(5);
    let url = es_config
        .base_url()
        .map(|u| u.to_string())
        .map_err(|e| CliError::Usage(format!("the Elasticsearch host: {e}")))?;
    let es = EsClient::new(es_config)
        .map_err(|e| CliError::Usage(format!("the Elasticsearch connection: {e}")))?;
    Ok((es, url))
}

/// Checks that the cluster answers as a supported Elasticsearch with these credentials.
pub async fn verify(es: &EsClient, url: &str) -> Result<(), CliError> {
    es.verify_version(VersionRequirement::default())
        .await
        .map(drop)
        .map_err(|e| CliError::es(url, "checking the Elasticsearch version", e))
}

/// Connects as a command's configuration says and checks the cluster; with `connector_indices`,
/// also creates the connector indices when missing, as the reference's CLI does.
pub async fn connect(config: Option<&Path>, connector_indices: bool) -> Result<Session, CliError> {
    let config = service_config(config, true)?;
    let (es, url) = client(&config)?;
    verify(&es, &url).await?;
    if connector_indices {
        for index in [CONNECTORS_CONCRETE_INDEX, SYNC_JOBS_CONCRETE_INDEX] {
            es.indices()
                .ensure(index, None)
                .await
                .map_err(|e| CliError::es(&url, format!("creating {index}"), e))?;
        }
    }
    Ok(Session { es, url, config })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a").join("b").join("config.yml");
        let credentials = Credentials {
            host: "https://es.example:9243".into(),
            username: Some("elastic".into()),
            password: Some("p: 'a\"#${X}".into()),
            api_key: None,
        };
        write_login(&path, &credentials).expect("written");
        assert_eq!(read_login(&path).expect("read"), Some(credentials.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().expect("parent")), 0o700);
        }
        let text = std::fs::read_to_string(&path).expect("text");
        assert!(text.starts_with("elasticsearch:"), "{text}");
        assert!(!format!("{credentials:?}").contains("'a"));
        // Written again over an existing file: still private, no leftovers.
        write_login(&path, &credentials).expect("rewritten");
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.yml")]);
    }

    #[test]
    fn missing_login_file_is_none_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yml");
        assert_eq!(read_login(&path).expect("read"), None);
        std::fs::write(&path, "- a list").expect("write");
        let e = read_login(&path).expect_err("not a login file");
        assert!(e.to_string().contains("connectors login"), "{e}");
    }

    #[test]
    fn hosts_compare_by_scheme_host_and_port() {
        assert!(same_host("http://localhost:9200", "http://localhost:9200/"));
        assert!(same_host("https://es.example", "https://es.example:443"));
        assert!(!same_host("http://localhost:9200", "http://localhost:9201"));
        assert!(!same_host("http://a:9200", "http://b:9200"));
    }
}
