//! The SMB side of the network drive: one authenticated session per source on the configured
//! host and port (always that port: the reference once lost a non-default one), a tree per
//! share, and the three operations the walk needs, each one compound round trip:
//! directory listings with file ids and change times (`FileIdFullDirectoryInformation`, which
//! the reference's documents are built from), a file's DACL, and a capped read.
//!
//! Built on the `smb2` crate (pure Rust, pipelined, tested against Samba): its public message
//! types carry the requests its high-level API does not offer (the information class with
//! file ids, security queries).

use std::collections::HashMap;
use std::time::Duration;

use connectors_sdk::SourceError;
use smb2::client::connection::{CompoundOp, Connection, Frame};
use smb2::msg::close::CloseRequest;
use smb2::msg::create::{
    CreateDisposition, CreateRequest, CreateResponse, ImpersonationLevel, ShareAccess,
};
use smb2::msg::query_directory::{
    FileInformationClass, QueryDirectoryFlags, QueryDirectoryRequest, QueryDirectoryResponse,
};
use smb2::msg::query_info::{InfoType, QueryInfoRequest, QueryInfoResponse};
use smb2::pack::{ReadCursor, Unpack};
use smb2::types::flags::FileAccessMask;
use smb2::types::{Command, CreditCharge, FileId, OplockLevel};
use smb2::{ClientConfig, SmbClient, Tree};
use tokio::sync::Mutex;

const FILE_DIRECTORY_FILE: u32 = 0x0000_0001;
const FILE_ATTRIBUTE_DIRECTORY: u32 = 0x10;
/// `DACL_SECURITY_INFORMATION`: the reference asks for the DACL only.
const DACL_SECURITY_INFORMATION: u32 = 0x4;

/// NTSTATUS values the messages name.
pub mod status {
    pub const SUCCESS: u32 = 0;
    pub const NO_MORE_FILES: u32 = 0x8000_0006;
    pub const LOGON_FAILURE: u32 = 0xC000_006D;
    pub const INVALID_LOGON_HOURS: u32 = 0xC000_006F;
    pub const INVALID_WORKSTATION: u32 = 0xC000_0070;
    pub const ACCOUNT_DISABLED: u32 = 0xC000_0072;
    pub const NO_LOGON_SERVERS: u32 = 0xC000_005E;
    pub const PASSWORD_MUST_CHANGE: u32 = 0xC000_0224;
    pub const BAD_NETWORK_NAME: u32 = 0xC000_00CC;
    pub const ACCESS_DENIED: u32 = 0xC000_0022;
}

/// A directory entry, as `FileIdFullDirectoryInformation` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub file_id: u64,
    pub size: u64,
    /// FILETIME ticks (100 ns since 1601).
    pub created: u64,
    pub changed: u64,
    pub is_dir: bool,
}

/// An SMB failure: the NTSTATUS when the server answered, else the client's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbError {
    pub status: Option<u32>,
    pub message: String,
}

impl SmbError {
    fn from_status(status: u32, what: &str) -> Self {
        SmbError {
            status: Some(status),
            message: format!("{what} failed with NTSTATUS 0x{status:08X}"),
        }
    }
}

impl From<smb2::Error> for SmbError {
    fn from(e: smb2::Error) -> Self {
        SmbError {
            status: e.status().map(|s| s.0),
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for SmbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where and as whom to connect.
#[derive(Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A session and the trees connected so far, made on first use.
pub struct Session {
    target: Target,
    state: Mutex<Option<Connected>>,
}

struct Connected {
    client: SmbClient,
    trees: HashMap<String, Tree>,
}

/// A share's tree and a handle on the session's connection (clones share the session).
#[derive(Clone)]
pub struct Share {
    conn: Connection,
    tree: Tree,
}

impl Session {
    pub fn new(target: Target) -> Self {
        Session {
            target,
            state: Mutex::new(None),
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The tree of `share`, logging in and connecting it if needed.
    pub async fn share(&self, share: &str) -> Result<Share, SmbError> {
        let mut state = self.state.lock().await;
        if state.is_none() {
            let config = ClientConfig {
                addr: format!("{}:{}", self.target.host, self.target.port),
                timeout: Duration::from_secs(30),
                username: self.target.username.clone(),
                password: self.target.password.clone(),
                domain: String::new(),
                auto_reconnect: true,
                compression: false,
                dfs_enabled: false,
                dfs_target_overrides: HashMap::new(),
            };
            let client = SmbClient::connect(config).await?;
            *state = Some(Connected {
                client,
                trees: HashMap::new(),
            });
        }
        let Some(connected) = state.as_mut() else {
            return Err(SmbError {
                status: None,
                message: "no SMB session".into(),
            });
        };
        let tree = match connected.trees.get(share) {
            Some(tree) => tree.clone(),
            None => {
                let tree = connected.client.connect_share(share).await?;
                connected.trees.insert(share.to_string(), tree.clone());
                tree
            }
        };
        Ok(Share {
            conn: connected.client.connection_mut().clone(),
            tree,
        })
    }

    /// Forgets the session (after a lost connection), so the next call logs in again.
    pub async fn reset(&self) {
        *self.state.lock().await = None;
    }
}

fn open_request(path: &str, access: u32, directory: bool) -> CreateRequest {
    CreateRequest {
        requested_oplock_level: OplockLevel::None,
        impersonation_level: ImpersonationLevel::Impersonation,
        desired_access: FileAccessMask::new(access | FileAccessMask::SYNCHRONIZE),
        file_attributes: 0,
        share_access: ShareAccess(
            ShareAccess::FILE_SHARE_READ
                | ShareAccess::FILE_SHARE_WRITE
                | ShareAccess::FILE_SHARE_DELETE,
        ),
        create_disposition: CreateDisposition::FileOpen,
        create_options: if directory { FILE_DIRECTORY_FILE } else { 0 },
        name: path.to_string(),
        create_contexts: vec![],
    }
}

fn expect(frame: &Frame, what: &str) -> Result<(), SmbError> {
    match frame.header.status.0 {
        status::SUCCESS => Ok(()),
        s => Err(SmbError::from_status(s, what)),
    }
}

impl Share {
    /// Every entry of the directory at `path` (share-relative, `\`-separated, `""` for the
    /// root), `.` and `..` left out.
    pub async fn list(&self, path: &str) -> Result<Vec<Entry>, SmbError> {
        let open = open_request(
            path,
            FileAccessMask::FILE_READ_DATA | FileAccessMask::FILE_READ_ATTRIBUTES,
            true,
        );
        let frame = self
            .conn
            .execute(Command::Create, &open, Some(self.tree.tree_id))
            .await?;
        expect(&frame, "opening the folder")?;
        let file_id = CreateResponse::unpack(&mut ReadCursor::new(&frame.body))?.file_id;
        let listed = self.query_directory(file_id).await;
        let closed = self.close(file_id).await;
        let entries = listed?;
        closed?;
        Ok(entries)
    }

    async fn query_directory(&self, file_id: FileId) -> Result<Vec<Entry>, SmbError> {
        let mut entries = Vec::new();
        let mut flags = QueryDirectoryFlags::RESTART_SCANS;
        loop {
            let request = QueryDirectoryRequest {
                file_information_class: FileInformationClass::FileIdFullDirectoryInformation,
                flags: QueryDirectoryFlags(flags),
                file_index: 0,
                file_id,
                output_buffer_length: 65536,
                file_name: "*".into(),
            };
            let frame = self
                .conn
                .execute(Command::QueryDirectory, &request, Some(self.tree.tree_id))
                .await?;
            if frame.header.status.0 == status::NO_MORE_FILES {
                return Ok(entries);
            }
            expect(&frame, "listing the folder")?;
            let response = QueryDirectoryResponse::unpack(&mut ReadCursor::new(&frame.body))?;
            parse_entries(&response.output_buffer, &mut entries)?;
            flags = 0;
        }
    }

    async fn close(&self, file_id: FileId) -> Result<(), SmbError> {
        let request = CloseRequest { flags: 0, file_id };
        let frame = self
            .conn
            .execute(Command::Close, &request, Some(self.tree.tree_id))
            .await?;
        expect(&frame, "closing")
    }

    /// The self-relative security descriptor (DACL only) of the file or folder at `path`:
    /// open, query, close in one compound request.
    pub async fn security_descriptor(&self, path: &str, is_dir: bool) -> Result<Vec<u8>, SmbError> {
        let open = open_request(path, FileAccessMask::READ_CONTROL, is_dir);
        let query = QueryInfoRequest {
            info_type: InfoType::Security,
            file_info_class: 0,
            output_buffer_length: 65536,
            additional_information: DACL_SECURITY_INFORMATION,
            flags: 0,
            file_id: FileId::SENTINEL,
            input_buffer: vec![],
        };
        let close = CloseRequest {
            flags: 0,
            file_id: FileId::SENTINEL,
        };
        let tree = Some(self.tree.tree_id);
        let ops = [
            CompoundOp::new(Command::Create, &open, tree),
            CompoundOp::new(Command::QueryInfo, &query, tree),
            CompoundOp {
                command: Command::Close,
                body: &close,
                tree_id: tree,
                credit_charge: CreditCharge(1),
            },
        ];
        let mut frames = Vec::with_capacity(3);
        for frame in self.conn.execute_compound(&ops).await? {
            frames.push(frame?);
        }
        let [created, queried, ..] = frames.as_slice() else {
            return Err(SmbError {
                status: None,
                message: "short compound response".into(),
            });
        };
        expect(created, "opening for its permissions")?;
        expect(queried, "reading the permissions")?;
        Ok(QueryInfoResponse::unpack(&mut ReadCursor::new(&queried.body))?.output_buffer)
    }

    /// The file at `path` (share-relative, `\`-separated), read with pipelined requests.
    pub async fn read(&self, path: &str) -> Result<Vec<u8>, SmbError> {
        let mut conn = self.conn.clone();
        let slashed = path.replace('\\', "/");
        Ok(self.tree.read_file_pipelined(&mut conn, &slashed).await?)
    }
}

/// Appends the entries of a `FileIdFullDirectoryInformation` buffer (MS-FSCC 2.4.18).
fn parse_entries(buf: &[u8], out: &mut Vec<Entry>) -> Result<(), SmbError> {
    let bad = || SmbError {
        status: None,
        message: "malformed directory listing".into(),
    };
    let u32_at = |at: usize| -> Result<u32, SmbError> {
        buf.get(at..at + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            .ok_or_else(bad)
    };
    let u64_at = |at: usize| -> Result<u64, SmbError> {
        let lo = u64::from(u32_at(at)?);
        let hi = u64::from(u32_at(at + 4)?);
        Ok(lo | (hi << 32))
    };
    let mut at = 0usize;
    loop {
        let next = u32_at(at)? as usize;
        let name_len = u32_at(at + 60)? as usize;
        let name_bytes = buf.get(at + 80..at + 80 + name_len).ok_or_else(bad)?;
        let units: Vec<u16> = name_bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let name = String::from_utf16(&units).map_err(|_| bad())?;
        if name != "." && name != ".." {
            out.push(Entry {
                created: u64_at(at + 8)?,
                changed: u64_at(at + 32)?,
                size: u64_at(at + 40)?,
                is_dir: u32_at(at + 56)? & FILE_ATTRIBUTE_DIRECTORY != 0,
                file_id: u64_at(at + 72)?,
                name,
            });
        }
        if next == 0 {
            return Ok(());
        }
        at += next;
    }
}

/// A failure of the session or a share, as the connector error the reference would give.
pub fn connect_error(e: &SmbError, target: &Target, share: &str) -> SourceError {
    let (host, port, user) = (&target.host, target.port, &target.username);
    let message = match e.status {
        Some(status::LOGON_FAILURE) => format!(
            "Could not log in to the network drive at ({host}:{port}) as User: {user}: the username or password is wrong."
        ),
        Some(status::INVALID_WORKSTATION) => {
            format!("Client does not have permission to access server: ({host}:{port}).")
        }
        Some(status::PASSWORD_MUST_CHANGE) => format!(
            "The password for User: {user} must be changed before logging on for the first time."
        ),
        Some(status::NO_LOGON_SERVERS) => {
            format!("No logon servers available for connecting to server: ({host}:{port}).")
        }
        Some(status::ACCOUNT_DISABLED) => format!("Account with Username: {user} is disabled."),
        Some(status::INVALID_LOGON_HOURS) => {
            format!("User: {user} cannot logon outside the specified logon hours.")
        }
        Some(status::BAD_NETWORK_NAME) => {
            format!("The share '{share}' does not exist on the network drive at ({host}:{port}).")
        }
        Some(status::ACCESS_DENIED) => format!(
            "User: {user} may not open the share '{share}' on the network drive at ({host}:{port})."
        ),
        _ => format!("Cannot reach the network drive at ({host}:{port}): {e}"),
    };
    SourceError::Unavailable(message)
}
