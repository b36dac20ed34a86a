//! The errors of the management commands: each one line a person can act on, with the exit code
//! it maps to (1: the command failed, 2: it was used wrongly). No variant carries a secret:
//! credentials and sensitive field values never reach a message.

use std::path::PathBuf;

use es_client::{EsError, TransportErrorKind};

/// Why a management command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A wrong argument that clap could not check (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error(
        "not logged in: {} does not exist; run `connectors login` (or pass --config FILE, or set ES_URL)",
        path.display()
    )]
    NotLoggedIn { path: PathBuf },
    #[error(
        "cannot reach Elasticsearch at {url} ({detail}); check that the cluster is up and the URL is right, or run `connectors login` to store another host"
    )]
    Unreachable { url: String, detail: String },
    #[error(
        "Elasticsearch at {url} rejected the credentials (401): check the username and password or API key, and run `connectors login` again"
    )]
    BadCredentials { url: String },
    #[error(
        "Elasticsearch at {url} denied the request (403): the user lacks a privilege it needs ({reason})"
    )]
    Forbidden { url: String, reason: String },
    #[error("connector `{0}` not found: `connectors connector list` shows the connectors")]
    UnknownConnector(String),
    #[error(
        "sync job `{0}` not found: `connectors job list CONNECTOR_ID` shows a connector's jobs"
    )]
    UnknownJob(String),
    #[error("index `{0}` not found: `connectors index list` shows the indices")]
    UnknownIndex(String),
    #[error("unknown service type `{given}`; valid service types: {}", valid.join(", "))]
    UnknownServiceType { given: String, valid: Vec<String> },
    /// Configuration values that fail the source's schema (messages name the fields).
    #[error("the {service_type} configuration is not valid: {}; {hint}", problems.join("; "))]
    InvalidConfiguration {
        service_type: String,
        problems: Vec<String>,
        hint: String,
    },
    /// A precondition of the command that does not hold (the message says what to do).
    #[error("{0}")]
    Refused(String),
    /// The person answered no to a confirmation.
    #[error("Aborted! (pass --yes to confirm without a prompt)")]
    Aborted,
    /// A question was asked and nothing more could be read.
    #[error("{0}: nothing to read on standard input")]
    NoInput(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{context}: {message}")]
    File { context: String, message: String },
    #[error(transparent)]
    Config(#[from] connectors_service::config::ConfigError),
    #[error("{context}: {source}")]
    Es { context: String, source: EsError },
}

impl CliError {
    /// The process exit code: 2 for usage errors, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> CliError {
        CliError::Io {
            context: context.into(),
            source,
        }
    }

    /// An Elasticsearch failure while doing `context`: an unreachable cluster and rejected
    /// credentials become their own errors, which say what to do.
    pub fn es(url: &str, context: impl Into<String>, error: EsError) -> CliError {
        match &error {
            EsError::Transport {
                kind: TransportErrorKind::Connect | TransportErrorKind::Timeout,
                detail,
                ..
            } => CliError::Unreachable {
                url: url.to_string(),
                detail: detail.clone(),
            },
            EsError::Api(api) if api.status == 401 => CliError::BadCredentials {
                url: url.to_string(),
            },
            EsError::Api(api) if api.status == 403 => CliError::Forbidden {
                url: url.to_string(),
                reason: api.reason().to_string(),
            },
            _ => CliError::Es {
                context: context.into(),
                source: error,
            },
        }
    }

    /// The message on one line (Elasticsearch reasons may hold line breaks).
    pub fn one_line(&self) -> String {
        self.to_string()
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_2_and_others_1() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        assert_eq!(CliError::Aborted.exit_code(), 1);
        assert_eq!(CliError::UnknownConnector("c".into()).exit_code(), 1);
    }

    #[test]
    fn unauthorized_and_forbidden_say_what_to_do() {
        let api = |status: u16| {
            EsError::Api(Box::new(es_client::ApiError::from_response(
                status,
                br#"{"error":{"type":"security_exception","reason":"action [x] is unauthorized\nfor user"}}"#,
            )))
        };
        let e = CliError::es("http://es:9200/", "listing", api(401));
        assert!(matches!(e, CliError::BadCredentials { .. }));
        assert!(e.to_string().contains("connectors login"));
        let e = CliError::es("http://es:9200/", "listing", api(403));
        assert!(!e.one_line().contains('\n'));
        assert!(e.one_line().contains("lacks a privilege"));
    }

    #[test]
    fn service_types_are_listed() {
        let e = CliError::UnknownServiceType {
            given: "sharepoint".into(),
            valid: vec!["dir".into(), "mysql".into()],
        };
        assert_eq!(
            e.to_string(),
            "unknown service type `sharepoint`; valid service types: dir, mysql"
        );
    }
}
