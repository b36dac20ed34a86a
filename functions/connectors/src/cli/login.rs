//! `connectors login`: asks for the host and credentials (username and password, or an API
//! key), checks them against the cluster, and stores them in the login file (0600) that every
//! other command reads. Nothing is stored when the cluster rejects them.

use std::path::Path;

use serde_json::json;

use super::error::CliError;
use super::prompt::Prompter;
use super::session::{self, Credentials};
use super::table::{Format, print_json};

/// How `login` authenticates, as the reference's `--method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Method {
    /// Username and password.
    #[default]
    Basic,
    /// An API key (the base64 `id:key` that Kibana shows as "encoded").
    Apikey,
}

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The Elasticsearch URL, e.g. `https://my-cluster.es.example:443`; asked for when missing.
    #[arg(long)]
    host: Option<String>,
    /// Authentication method.
    #[arg(long, value_enum, default_value_t = Method::Basic)]
    method: Method,
    /// The username (basic method); asked for when missing. The password is always asked for.
    #[arg(long)]
    username: Option<String>,
    /// Replace an existing login without asking.
    #[arg(long, short = 'y')]
    yes: bool,
}

pub async fn run(args: LoginArgs, format: Format) -> Result<(), CliError> {
    let path = session::login_file_path().ok_or_else(|| {
        CliError::Usage(format!(
            "no place for the login file: set HOME or {}",
            session::LOGIN_FILE_ENV
        ))
    })?;
    let mut prompter = Prompter::stdin();
    let host = match args.host {
        Some(host) => host,
        None => prompter
            .ask("Elastic host", None)?
            .ok_or_else(|| CliError::NoInput("the host (--host)".into()))?,
    };
    let host = host.trim().trim_end_matches('/').to_string();
    if !host.contains("://") {
        return Err(CliError::Usage(format!(
            "the host `{host}` has no scheme: give it as http://{host} or https://{host}"
        )));
    }
    let credentials = match args.method {
        Method::Basic => {
            let username = match args.username {
                Some(u) => u,
                None => prompter
                    .ask("Username", None)?
                    .ok_or_else(|| CliError::NoInput("the username (--username)".into()))?,
            };
            let password = prompter
                .ask_secret("Password", false)?
                .ok_or_else(|| CliError::NoInput("the password".into()))?;
            Credentials {
                host,
                username: Some(username),
                password: Some(password),
                api_key: None,
            }
        }
        Method::Apikey => {
            let api_key = prompter
                .ask_secret("API key", false)?
                .ok_or_else(|| CliError::NoInput("the API key".into()))?;
            Credentials {
                host,
                api_key: Some(api_key.trim().to_string()),
                ..Credentials::default()
            }
        }
    };
    authenticate(&credentials).await?;
    if path.exists() {
        prompter.confirm_or_abort(
            args.yes,
            "Config is already present. Are you sure you want to override it?",
        )?;
    }
    session::write_login(&path, &credentials)?;
    report(&credentials, args.method, &path, format)
}

/// Checks the credentials with `GET /` (and the version gate); a 401 is a wrong password.
async fn authenticate(credentials: &Credentials) -> Result<(), CliError> {
    let mut config = connectors_service::ServiceConfig::default();
    config.elasticsearch.host = credentials.host.clone();
    config.elasticsearch.username = credentials.username.clone();
    config.elasticsearch.password = credentials.password.clone();
    config.elasticsearch.api_key = credentials.api_key.clone();
    let (es, url) = session::client(&config)?;
    match session::verify(&es, &url).await {
        Err(CliError::BadCredentials { url }) => Err(CliError::Refused(format!(
            "Authentication failed: Elasticsearch at {url} rejected the {} (401); nothing was saved. Please check your credentials.",
            if credentials.api_key.is_some() {
                "API key"
            } else {
                "username or password"
            }
        ))),
        other => other,
    }
}

fn report(
    credentials: &Credentials,
    method: Method,
    path: &Path,
    format: Format,
) -> Result<(), CliError> {
    let method = match method {
        Method::Basic => "basic",
        Method::Apikey => "apikey",
    };
    match format {
        Format::Json => print_json(&json!({
            "host": credentials.host,
            "method": method,
            "username": credentials.username,
            "config_file": path.display().to_string(),
        })),
        Format::Text => {
            println!("Authentication successful");
            println!(
                "Saved the host and credentials to {} (readable only by you)",
                path.display()
            );
            Ok(())
        }
    }
}
