//! `network_drive`: files and folders of an SMB share, with the reference's configuration
//! schema, documents (`_id` = the SMB file id; `path`, `size`, `created_at`, `_timestamp` (the
//! change time), `type`, `title`), advanced rules (glob patterns) and document-level security
//! (`_allow_access_control` from each entry's DACL; identities from the Linux identity-mappings
//! CSV on access-control syncs).
//!
//! Better than the reference: the walk is streamed folder by folder with its position (folders
//! still to list, the folder being listed, the last name done) in the cursor, so a slice stops
//! anywhere and a large share never sits in memory as a tree; a folder or file that vanishes
//! mid-walk is skipped with a log line; incremental syncs send only entries changed since the
//! previous sync (by change time, so a permission change counts) and report the rest unchanged,
//! with exact deletions; permissions of a page are read concurrently.

mod identities;
pub mod rules;
pub mod security;
mod smb;
mod walk;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use connectors_protocol::{
    ConfigField, Configuration, Dependency, Display, FieldType, SelectOption,
};
use connectors_sdk::{
    BuildContext, Content, DataSource, Fields, Page, PageRequest, SourceDescriptor, SourceError,
    SourceFeatures,
};
use serde_json::{Value, json};

use self::smb::{Session, Target};
use crate::objects::Limits;

/// The `network_drive` source.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetworkDriveSource {
    pub limits: Limits,
}

const DLS_TOOLTIP: &str = "Document level security ensures identities and permissions set in your network drive are mirrored in Elasticsearch. This enables you to restrict and personalize read-access users and groups have to documents in this index. Access control syncs ensure this metadata is kept up to date in your Elasticsearch documents.";
const TES_TOOLTIP: &str = "Requires a separate deployment of the Elastic Text Extraction Service. Requires that pipeline settings disable text extraction.";

fn field(label: &str, order: i64) -> ConfigField {
    let mut f = ConfigField::new(label);
    f.order = order;
    f
}

fn toggle(label: &str, order: i64, tooltip: &str) -> ConfigField {
    let mut f = field(label, order);
    f.display = Display::Toggle;
    f.field_type = FieldType::Bool;
    f.tooltip = Some(tooltip.into());
    f.value = Value::Bool(false);
    f
}

fn depends(field: &str, value: Value) -> Dependency {
    Dependency {
        field: field.into(),
        value,
    }
}

impl SourceDescriptor for NetworkDriveSource {
    fn service_type(&self) -> &'static str {
        "network_drive"
    }

    fn name(&self) -> &'static str {
        "Network Drive"
    }

    fn default_configuration(&self) -> Configuration {
        let mut password = field("Password", 2);
        password.sensitive = true;
        let mut port = field("SMB port", 4);
        port.display = Display::Numeric;
        port.field_type = FieldType::Int;
        let mut drive_type = field("Drive type", 7);
        drive_type.display = Display::Dropdown;
        drive_type.depends_on = vec![depends("use_document_level_security", json!(true))];
        drive_type.options = vec![
            SelectOption {
                label: "Windows".into(),
                value: json!("windows"),
            },
            SelectOption {
                label: "Linux".into(),
                value: json!("linux"),
            },
        ];
        drive_type.ui_restrictions = vec!["advanced".into()];
        drive_type.value = json!("windows");
        let mut mappings = field(
            "Path of CSV file containing users and groups SID (For Linux Network Drive)",
            8,
        );
        mappings.depends_on = vec![
            depends("use_document_level_security", json!(true)),
            depends("drive_type", json!("linux")),
        ];
        mappings.required = false;
        mappings.ui_restrictions = vec!["advanced".into()];
        let mut tes = toggle("Use text extraction service", 9, TES_TOOLTIP);
        tes.ui_restrictions = vec!["advanced".into()];
        Configuration::from([
            ("username".to_string(), field("Username", 1)),
            ("password".to_string(), password),
            ("server_ip".to_string(), field("SMB IP", 3)),
            ("server_port".to_string(), port),
            ("drive_path".to_string(), field("SMB path", 5)),
            (
                "use_document_level_security".to_string(),
                toggle("Enable document level security", 6, DLS_TOOLTIP),
            ),
            ("drive_type".to_string(), drive_type),
            ("identity_mappings".to_string(), mappings),
            ("use_text_extraction_service".to_string(), tes),
        ])
    }

    fn features(&self) -> SourceFeatures {
        SourceFeatures {
            basic_rules: true,
            advanced_rules: true,
            incremental_sync: true,
            document_level_security: true,
        }
    }

    fn build(&self, configuration: &Configuration) -> Result<Box<dyn DataSource>, SourceError> {
        self.build_for(configuration, &BuildContext::default())
    }

    fn build_for(
        &self,
        configuration: &Configuration,
        context: &BuildContext,
    ) -> Result<Box<dyn DataSource>, SourceError> {
        let f = Fields(configuration);
        let target = Target {
            host: f.required_text("server_ip")?,
            port: f.port("server_port")?,
            username: f.raw_text("username"),
            password: f.raw_text("password"),
        };
        let drive_path = f.raw_text("drive_path");
        let (share, folder) = rules::split_share(&drive_path);
        let dls = context.document_level_security && f.bool("use_document_level_security");
        Ok(Box::new(NetworkDrive {
            root: format!("\\\\{}/{drive_path}", target.host),
            session: Session::new(target),
            drive_path,
            share,
            folder,
            dls,
            linux: f.raw_text("drive_type") == "linux",
            mappings: f.text("identity_mappings"),
            limits: self.limits,
        }))
    }
}

/// A configured network drive.
pub(crate) struct NetworkDrive {
    session: Session,
    drive_path: String,
    share: String,
    /// The drive's folder inside the share (`\`-separated, `""` for the share's root).
    folder: String,
    /// The reference's root path text, `\\<server>/<drive path>`, which starts every path.
    root: String,
    /// Document-level security in effect (the connector's feature and the toggle).
    dls: bool,
    linux: bool,
    mappings: Option<String>,
    limits: Limits,
}

/// How many permission reads run at once.
const PERMISSION_READS: usize = 16;

#[async_trait]
impl DataSource for NetworkDrive {
    async fn validate_config(&self) -> Result<(), SourceError> {
        if self.drive_path.starts_with('/') || self.drive_path.starts_with('\\') {
            return Err(SourceError::config(
                "drive_path",
                format!(
                    "SMB Path:{} should not start with '/' in the beginning.",
                    self.drive_path
                ),
            ));
        }
        Ok(())
    }

    /// Logs in and connects the drive's share; the reference only logs in, but a missing share
    /// is better told now than as an empty sync.
    async fn ping(&self) -> Result<(), SourceError> {
        self.share(&self.share).await.map(|_| ())
    }

    async fn validate_advanced_rules(&self, rules: &Value) -> Vec<String> {
        match rules::validate(rules) {
            Ok(()) => Vec::new(),
            Err(message) => vec![message],
        }
    }

    fn incremental_lists_everything(&self) -> bool {
        true
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        walk::page(self, request).await
    }

    async fn fetch_access_control_page(
        &self,
        request: PageRequest<'_>,
    ) -> Result<Page, SourceError> {
        if !self.dls {
            tracing::warn!("DLS is not enabled. Skipping");
            return Ok(Page::default());
        }
        if !self.linux {
            return Err(SourceError::Other(
                "Access control syncs of Windows drives read users over WinRM, which this build does not do; use the drive type 'linux' with an identity mappings file.".into(),
            ));
        }
        let Some(path) = self.mappings.as_deref().filter(|p| !p.is_empty()) else {
            return Err(SourceError::config(
                "identity_mappings",
                "CSV file path cannot be empty. Please provide a valid csv file path.",
            ));
        };
        let text = tokio::fs::read_to_string(path).await.map_err(|e| {
            SourceError::config(
                "identity_mappings",
                format!(
                    "Error while reading user mapping file at the location: {path}. Error: {e}"
                ),
            )
        })?;
        let users = identities::parse_csv(&text)
            .map_err(|m| SourceError::config("identity_mappings", m))?;
        let offset = request.cursor.and_then(Value::as_u64).unwrap_or(0) as usize;
        let size = request.page_size.max(1);
        let created_at = crate::python::isoformat(chrono::Utc::now());
        let items = users
            .iter()
            .skip(offset)
            .take(size)
            .map(|u| connectors_sdk::SourceItem::Upsert(identities::document(u, &created_at)))
            .collect();
        let next = (offset + size < users.len()).then(|| json!(offset + size));
        Ok(Page {
            items,
            next,
            sync_cursor: None,
        })
    }

    async fn download(&self, handle: &Value) -> Result<Option<Content>, SourceError> {
        let (Some(share), Some(path), Some(name)) = (
            handle["share"].as_str(),
            handle["path"].as_str(),
            handle["name"].as_str(),
        ) else {
            return Ok(None);
        };
        let share = self.share(share).await?;
        match share.read(path).await {
            Ok(bytes) => Ok(Some(Content::File {
                name: name.to_string(),
                bytes,
            })),
            Err(e) => Err(SourceError::Other(format!(
                "Cannot read the contents of file on path:{path}. Error {e}"
            ))),
        }
    }
}

impl NetworkDrive {
    async fn share(&self, share: &str) -> Result<smb::Share, SourceError> {
        // One retry after a fresh login: a session the server dropped between slices.
        match self.session.share(share).await {
            Ok(s) => Ok(s),
            Err(e) if e.status.is_none() => {
                self.session.reset().await;
                tokio::time::sleep(Duration::from_millis(200)).await;
                self.session
                    .share(share)
                    .await
                    .map_err(|e| smb::connect_error(&e, self.session.target(), share))
            }
            Err(e) => Err(smb::connect_error(&e, self.session.target(), share)),
        }
    }

    /// `sid:` values allowed to read each entry, read concurrently; an unreadable descriptor
    /// gives an empty list, as in the reference (the entry is then visible to nobody).
    async fn permissions(
        &self,
        share: &smb::Share,
        entries: &[(String, bool)],
    ) -> Vec<Vec<String>> {
        use futures_util::StreamExt;
        let reads: Vec<_> = entries
            .iter()
            .map(|(path, is_dir)| allowed(share, path.clone(), *is_dir))
            .collect();
        futures_util::stream::iter(reads)
            .buffered(PERMISSION_READS)
            .collect()
            .await
    }
}

/// The `sid:` values allowed to read one entry. Windows group expansion would come from WinRM,
/// which this build does not do, so groups stay as their own SIDs (as on Linux drives).
async fn allowed(share: &smb::Share, path: String, is_dir: bool) -> Vec<String> {
    match share.security_descriptor(&path, is_dir).await {
        Ok(sd) => match security::dacl(&sd) {
            Ok(aces) => security::allowed(&aces, &HashMap::new()),
            Err(e) => {
                tracing::warn!(%path, error = %e, "unreadable security descriptor");
                Vec::new()
            }
        },
        Err(e) => {
            tracing::warn!(%path, error = %e, "Cannot read the permissions of this path");
            Vec::new()
        }
    }
}
