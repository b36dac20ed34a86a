//! `dir`: files of a local directory, with the reference's configuration keys and document shape
//! (`sources/directory/datasource.py`): `_id` is the MD5 of the file's path, and the document
//! carries the file's `stat` fields.
//!
//! Files are listed depth-first with each directory's entries in name order, so the path of the
//! last file sent is a cursor: resuming re-lists only the directories on that path. A huge tree
//! streams page by page without being listed first; within one process the walk simply goes on
//! where the previous page stopped.
//!
//! Incremental syncs send only files whose modification or change time is not older than the
//! previous sync's start, and report the others as unchanged; the engine deletes what is gone.
//!
//! Names that are not valid UTF-8 are indexed too: the `_id` is the MD5 of the path's bytes (the
//! same as the reference's for every UTF-8 path), `path` shows the name with U+FFFD for the
//! invalid bytes, and the cursor keeps such names as hex so a walk resumes among them.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use connectors_protocol::{ConfigField, Configuration, Display};
use connectors_sdk::{
    Content, DataSource, Page, PageRequest, SourceDescriptor, SourceDocument, SourceError,
    SourceFeatures, SourceItem, SyncMode,
};
use globset::{GlobBuilder, GlobMatcher};
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};
use tracing::warn;

/// The reference's `service.max_file_download_size`: larger files are indexed without content.
pub const DEFAULT_MAX_CONTENT_BYTES: u64 = 10 * 1024 * 1024;

/// The `dir` source.
#[derive(Debug, Clone)]
pub struct DirectorySource {
    pub max_content_bytes: u64,
}

impl Default for DirectorySource {
    fn default() -> Self {
        DirectorySource {
            max_content_bytes: DEFAULT_MAX_CONTENT_BYTES,
        }
    }
}

/// The reference defaults the directory to `$SYSTEM_DIR`, else its own module folder; ours to
/// `$SYSTEM_DIR`, else the working directory.
fn default_directory() -> String {
    std::env::var("SYSTEM_DIR").unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| ".".to_string())
    })
}

impl SourceDescriptor for DirectorySource {
    fn service_type(&self) -> &'static str {
        "dir"
    }

    fn name(&self) -> &'static str {
        "System Directory"
    }

    fn default_configuration(&self) -> Configuration {
        let mut directory = ConfigField::new("Directory path");
        directory.order = 1;
        directory.value = Value::String(default_directory());
        let mut pattern = ConfigField::new("File glob-like pattern");
        pattern.order = 2;
        pattern.display = Display::Text;
        pattern.value = Value::String("**/*.*".into());
        Configuration::from([
            ("directory".to_string(), directory),
            ("pattern".to_string(), pattern),
        ])
    }

    fn features(&self) -> SourceFeatures {
        SourceFeatures {
            incremental_sync: true,
            ..SourceFeatures::default()
        }
    }

    fn build(&self, configuration: &Configuration) -> Result<Box<dyn DataSource>, SourceError> {
        let text = |key: &str| {
            configuration
                .get(key)
                .and_then(|f| f.effective_value().as_str().map(str::to_string))
                .filter(|s| !s.is_empty())
                .ok_or_else(|| SourceError::config(key, format!("'{key}' is not set.")))
        };
        let directory = PathBuf::from(text("directory")?);
        // The reference takes os.path.abspath of the setting: ids are MD5s of absolute paths.
        let directory = std::path::absolute(&directory).unwrap_or(directory);
        let pattern = text("pattern")?;
        let glob = GlobBuilder::new(&pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| {
                SourceError::config(
                    "pattern",
                    format!("File glob-like pattern '{pattern}' is invalid: {e}"),
                )
            })?
            .compile_matcher();
        Ok(Box::new(Directory {
            root: directory,
            glob,
            max_content_bytes: self.max_content_bytes,
            walk: Arc::new(Mutex::new(None)),
        }))
    }
}

struct Directory {
    root: PathBuf,
    glob: GlobMatcher,
    max_content_bytes: u64,
    /// The walk of the previous page, reused when the next request resumes exactly there.
    walk: Arc<Mutex<Option<Walk>>>,
}

#[async_trait]
impl DataSource for Directory {
    async fn validate_config(&self) -> Result<(), SourceError> {
        let root = self.root.clone();
        match tokio::fs::metadata(&root).await {
            Ok(m) if m.is_dir() => Ok(()),
            _ => Err(SourceError::config(
                "directory",
                format!(
                    "Directory path '{}' does not exist or is not a directory.",
                    root.display()
                ),
            )),
        }
    }

    fn incremental_lists_everything(&self) -> bool {
        true
    }

    async fn ping(&self) -> Result<(), SourceError> {
        tokio::fs::read_dir(&self.root)
            .await
            .map(|_| ())
            .map_err(|e| {
                SourceError::Unavailable(format!("Cannot read '{}': {e}", self.root.display()))
            })
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let resume = match request.cursor {
            None => None,
            Some(c) => Some(
                serde_json::from_value::<DirCursor>(c.clone())
                    .map_err(|e| SourceError::Cursor(e.to_string()))?,
            ),
        };
        let changed_since = match request.mode {
            SyncMode::Full => None,
            SyncMode::Incremental { sync_cursor } => sync_cursor
                .and_then(|c| c.get("timestamp"))
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc)),
        };
        let root = self.root.clone();
        let glob = self.glob.clone();
        let walk = Arc::clone(&self.walk);
        let page_size = request.page_size.max(1);
        let max_content = self.max_content_bytes;
        tokio::task::spawn_blocking(move || {
            let mut slot = walk.lock().unwrap_or_else(|p| p.into_inner());
            let started = resume
                .as_ref()
                .map(|c| c.started.clone())
                .unwrap_or_else(|| Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true));
            let after: Vec<OsString> = match &resume {
                Some(c) => c.path.iter().map(CursorName::to_os).collect::<Result<_, _>>()?,
                None => Vec::new(),
            };
            let mut w = match slot.take() {
                Some(w) if resume.is_some() && after == w.last => w,
                _ => Walk::resume(&root, &after).map_err(|e| {
                    SourceError::Unavailable(format!("Cannot read '{}': {e}", root.display()))
                })?,
            };
            let mut items = Vec::with_capacity(page_size);
            while items.len() < page_size {
                let Some(rel) = w.next_file(&root) else { break };
                let relative: PathBuf = rel.iter().collect();
                if !glob.is_match(&relative) {
                    continue;
                }
                let path = root.join(&relative);
                // A file removed since it was listed is skipped, as a walk would.
                let meta = match fs::metadata(&path) {
                    Ok(meta) => meta,
                    Err(e) => {
                        warn!(path = %path.display(), error = %e, "file skipped: it cannot be read (removed since it was listed?)");
                        continue;
                    }
                };
                if !meta.is_file() {
                    continue;
                }
                let item = match changed_since {
                    Some(since) if changed_at(&meta) < since => {
                        SourceItem::Unchanged(path_id(&path))
                    }
                    _ => SourceItem::Upsert(file_document(&path, &meta, max_content)),
                };
                items.push(item);
            }
            let last: Vec<CursorName> = w.last.iter().map(|n| CursorName::of(n)).collect();
            let next = (!w.finished()).then(|| json!({"path": last, "started": started}));
            *slot = Some(w);
            Ok(Page {
                items,
                next,
                sync_cursor: Some(json!({ "timestamp": started })),
            })
        })
        .await
        .map_err(|e| SourceError::Other(format!("directory walk failed: {e}")))?
    }

    async fn download(&self, handle: &Value) -> Result<Option<Content>, SourceError> {
        let Some(name) = handle
            .get("path")
            .and_then(|p| serde_json::from_value::<CursorName>(p.clone()).ok())
        else {
            return Ok(None);
        };
        let path = PathBuf::from(name.to_os()?);
        let size = handle.get("size").and_then(Value::as_u64).unwrap_or(0);
        if size > self.max_content_bytes {
            return Ok(None);
        }
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| SourceError::Other(format!("Cannot read '{}': {e}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Some(Content::File { name, bytes }))
    }
}

#[derive(serde::Deserialize)]
struct DirCursor {
    path: Vec<CursorName>,
    started: String,
}

/// A file name (or path) in a cursor or download handle: its text when it is UTF-8, else its
/// bytes in hex.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum CursorName {
    Text(String),
    Bytes { hex: String },
}

impl CursorName {
    fn of(name: &OsStr) -> Self {
        match name.to_str() {
            Some(text) => CursorName::Text(text.to_string()),
            None => CursorName::Bytes {
                hex: hex::encode(name.as_bytes()),
            },
        }
    }

    fn to_os(&self) -> Result<OsString, SourceError> {
        match self {
            CursorName::Text(text) => Ok(OsString::from(text)),
            CursorName::Bytes { hex } => hex::decode(hex)
                .map(OsString::from_vec)
                .map_err(|e| SourceError::Cursor(format!("bad name in cursor: {e}"))),
        }
    }
}

/// The reference's `_id` of a file: the MD5 of its path (here of the path's bytes, which is the
/// same for every path that is valid UTF-8).
fn path_id(path: &Path) -> String {
    hex::encode(Md5::digest(path.as_os_str().as_bytes()))
}

fn changed_at(meta: &fs::Metadata) -> DateTime<Utc> {
    let newest = if (meta.ctime(), meta.ctime_nsec()) > (meta.mtime(), meta.mtime_nsec()) {
        (meta.ctime(), meta.ctime_nsec())
    } else {
        (meta.mtime(), meta.mtime_nsec())
    };
    DateTime::from_timestamp(newest.0, newest.1 as u32).unwrap_or_default()
}

/// Python's float `st_*time`: seconds plus nanoseconds times 1e-9.
fn python_time(secs: i64, nanos: i64) -> f64 {
    secs as f64 + nanos as f64 * 1e-9
}

/// `datetime.fromtimestamp(t, tz=timezone.utc).isoformat()`: microseconds only when non-zero.
fn python_isoformat(secs: i64, nanos: i64) -> String {
    let t = python_time(secs, nanos);
    let whole = t.floor();
    let mut micros = ((t - whole) * 1e6).round() as i64;
    let mut s = whole as i64;
    if micros >= 1_000_000 {
        s += 1;
        micros -= 1_000_000;
    }
    let dt = DateTime::from_timestamp(s, 0).unwrap_or_default();
    if micros == 0 {
        format!("{}+00:00", dt.format("%Y-%m-%dT%H:%M:%S"))
    } else {
        format!("{}.{micros:06}+00:00", dt.format("%Y-%m-%dT%H:%M:%S"))
    }
}

fn file_document(path: &Path, meta: &fs::Metadata, max_content: u64) -> SourceDocument {
    let path_text = path.to_string_lossy().into_owned();
    let modified = python_isoformat(meta.mtime(), meta.mtime_nsec());
    let mut fields = Map::new();
    fields.insert("path".into(), json!(path_text));
    fields.insert("last_modified_time".into(), json!(modified));
    fields.insert("inode_protection_mode".into(), json!(meta.mode()));
    fields.insert("inode_number".into(), json!(meta.ino()));
    fields.insert("device_inode_reside".into(), json!(meta.dev()));
    fields.insert("number_of_links".into(), json!(meta.nlink()));
    fields.insert("uid".into(), json!(meta.uid()));
    fields.insert("gid".into(), json!(meta.gid()));
    fields.insert(
        "ctime".into(),
        json!(python_time(meta.ctime(), meta.ctime_nsec())),
    );
    fields.insert(
        "last_access_time".into(),
        json!(python_time(meta.atime(), meta.atime_nsec())),
    );
    fields.insert("size".into(), json!(meta.size()));
    fields.insert("_timestamp".into(), json!(modified));
    fields.insert("_id".into(), json!(path_id(path)));
    // The reference downloads the files whose extension it can extract (`TIKA_SUPPORTED_FILETYPES`,
    // compared exactly); the engine extracts their text.
    let extractable = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(connectors_sdk::extract::is_supported);
    SourceDocument {
        fields,
        download: (extractable && meta.size() <= max_content)
            .then(|| json!({"path": CursorName::of(path.as_os_str()), "size": meta.size()})),
    }
}

/// A depth-first walk in name order (byte order, which is also the order of UTF-8 text).
struct Walk {
    stack: Vec<Frame>,
    /// Components of the last file returned: the resume cursor.
    last: Vec<OsString>,
}

struct Frame {
    /// Components from the root.
    dir: Vec<OsString>,
    entries: Vec<(OsString, bool)>,
    pos: usize,
}

fn list(root: &Path, dir: &[OsString]) -> std::io::Result<Vec<(OsString, bool)>> {
    let path = dir.iter().fold(root.to_path_buf(), |p, c| p.join(c));
    let mut entries: Vec<(OsString, bool)> = fs::read_dir(path)?
        .filter_map(Result::ok)
        .map(|e| {
            // Directories are entered without following symlinks, which could loop.
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            (e.file_name(), is_dir)
        })
        .collect();
    entries.sort();
    Ok(entries)
}

impl Walk {
    /// Positions a walk just after the file `after` (components from the root), which may no
    /// longer exist. Only the directories on that path are listed.
    fn resume(root: &Path, after: &[OsString]) -> std::io::Result<Walk> {
        let mut stack = Vec::new();
        let mut dir: Vec<OsString> = Vec::new();
        let mut rest = after;
        loop {
            let entries = list(root, &dir)?;
            let Some((head, tail)) = rest.split_first() else {
                stack.push(Frame {
                    dir,
                    entries,
                    pos: 0,
                });
                break;
            };
            let mut pos = entries.partition_point(|(name, _)| name < head);
            let descend = entries
                .get(pos)
                .is_some_and(|(name, is_dir)| name == head && *is_dir && !tail.is_empty());
            if entries.get(pos).is_some_and(|(name, _)| name == head) {
                pos += 1;
            }
            stack.push(Frame {
                dir: dir.clone(),
                entries,
                pos,
            });
            if !descend {
                break;
            }
            dir.push(head.clone());
            rest = tail;
        }
        Ok(Walk {
            stack,
            last: after.to_vec(),
        })
    }

    fn next_file(&mut self, root: &Path) -> Option<Vec<OsString>> {
        loop {
            let frame = self.stack.last_mut()?;
            let Some((name, is_dir)) = frame.entries.get(frame.pos).cloned() else {
                self.stack.pop();
                continue;
            };
            frame.pos += 1;
            let mut path = frame.dir.clone();
            path.push(name);
            if is_dir {
                // An unreadable directory is skipped, as pathlib's glob does.
                if let Ok(entries) = list(root, &path) {
                    self.stack.push(Frame {
                        dir: path,
                        entries,
                        pos: 0,
                    });
                }
                continue;
            }
            self.last = path.clone();
            return Some(path);
        }
    }

    fn finished(&self) -> bool {
        self.stack.iter().all(|f| f.pos >= f.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(root: &Path, pattern: &str) -> Box<dyn DataSource> {
        let d = DirectorySource::default();
        let mut config = d.default_configuration();
        config["directory"].value = json!(root.display().to_string());
        config["pattern"].value = json!(pattern);
        d.build(&config).unwrap()
    }

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for p in [
            "a.txt",
            "b/c.md",
            "b/d/e.txt",
            "b/z.bin",
            "c.pdf",
            "noext",
            "x/y/z/deep.txt",
        ] {
            let path = t.path().join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, format!("content of {p}")).unwrap();
        }
        t
    }

    async fn all_paths(
        src: &dyn DataSource,
        root: &Path,
        page_size: usize,
        fresh: bool,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor: Option<Value> = None;
        loop {
            let page = if fresh {
                // A new source per page: the resume path, as after a process restart.
                let fresh_src = source(root, "**/*.*");
                fresh_src
                    .fetch_page(PageRequest {
                        cursor: cursor.as_ref(),
                        mode: SyncMode::Full,
                        advanced_rules: None,
                        page_size,
                    })
                    .await
                    .unwrap()
            } else {
                src.fetch_page(PageRequest {
                    cursor: cursor.as_ref(),
                    mode: SyncMode::Full,
                    advanced_rules: None,
                    page_size,
                })
                .await
                .unwrap()
            };
            for item in page.items {
                let SourceItem::Upsert(doc) = item else {
                    panic!("full syncs only upsert")
                };
                out.push(doc.fields["path"].as_str().unwrap().to_string());
            }
            match page.next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        out
    }

    #[tokio::test]
    async fn lists_in_a_stable_order_and_resumes_anywhere() {
        let t = tree();
        let root = std::path::absolute(t.path()).unwrap();
        let src = source(&root, "**/*.*");
        let expected: Vec<String> = [
            "a.txt",
            "b/c.md",
            "b/d/e.txt",
            "b/z.bin",
            "c.pdf",
            "x/y/z/deep.txt",
        ]
        .iter()
        .map(|p| root.join(p).display().to_string())
        .collect();
        for page_size in [1, 2, 3, 100] {
            assert_eq!(
                all_paths(src.as_ref(), &root, page_size, false).await,
                expected
            );
            assert_eq!(
                all_paths(src.as_ref(), &root, page_size, true).await,
                expected
            );
        }
    }

    #[tokio::test]
    async fn document_matches_the_reference_shape() {
        let t = tree();
        let root = std::path::absolute(t.path()).unwrap();
        let src = source(&root, "*.txt");
        let page = src
            .fetch_page(PageRequest {
                cursor: None,
                mode: SyncMode::Full,
                advanced_rules: None,
                page_size: 10,
            })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1, "'*' does not cross directories");
        let SourceItem::Upsert(doc) = &page.items[0] else {
            panic!()
        };
        let path = root.join("a.txt").display().to_string();
        assert_eq!(doc.fields["_id"], json!(connectors_sdk::hash_id(&path)));
        for key in [
            "path",
            "last_modified_time",
            "inode_protection_mode",
            "inode_number",
            "device_inode_reside",
            "number_of_links",
            "uid",
            "gid",
            "ctime",
            "last_access_time",
            "size",
            "_timestamp",
        ] {
            assert!(doc.fields.contains_key(key), "{key}");
        }
        assert_eq!(doc.fields["size"], json!(16));
        assert!(
            doc.fields["_timestamp"]
                .as_str()
                .unwrap()
                .ends_with("+00:00")
        );
        let content = src.download(doc.download.as_ref().unwrap()).await.unwrap();
        assert_eq!(
            content,
            Some(Content::File {
                name: "a.txt".into(),
                bytes: b"content of a.txt".to_vec()
            })
        );
    }

    #[tokio::test]
    async fn a_missing_directory_names_the_field() {
        let src = source(Path::new("/definitely/not/here"), "**/*.*");
        match src.validate_config().await {
            Err(SourceError::Config { field, message }) => {
                assert_eq!(field.as_deref(), Some("directory"));
                assert!(message.contains("/definitely/not/here"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn names_that_are_not_utf8_are_indexed_with_distinct_ids() {
        let t = tempfile::tempdir().unwrap();
        let root = std::path::absolute(t.path()).unwrap();
        let names: [&[u8]; 4] = [b"a\xff.txt", b"a\xfe.txt", b"ok.txt", b"z\xc3.txt"];
        for name in names {
            fs::write(root.join(OsStr::from_bytes(name)), b"x").unwrap();
        }
        let dir = root.join(OsStr::from_bytes(b"d\xff"));
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("inner.txt"), b"inner").unwrap();
        for (page_size, fresh) in [(1, true), (2, false), (100, false)] {
            let src = source(&root, "**/*.*");
            let mut cursor: Option<Value> = None;
            let mut ids = Vec::new();
            loop {
                let once = source(&root, "**/*.*");
                let from: &dyn DataSource = if fresh { once.as_ref() } else { src.as_ref() };
                let page = from
                    .fetch_page(PageRequest {
                        cursor: cursor.as_ref(),
                        mode: SyncMode::Full,
                        advanced_rules: None,
                        page_size,
                    })
                    .await
                    .unwrap();
                for item in page.items {
                    let SourceItem::Upsert(doc) = item else {
                        panic!()
                    };
                    ids.push(doc.fields["_id"].as_str().unwrap().to_string());
                    if let Some(handle) = &doc.download {
                        assert!(src.download(handle).await.unwrap().is_some());
                    }
                }
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
            let mut expected: Vec<String> = names
                .iter()
                .map(|n| path_id(&root.join(OsStr::from_bytes(n))))
                .collect();
            expected.push(path_id(&dir.join("inner.txt")));
            expected.sort();
            ids.sort();
            assert_eq!(ids, expected, "page size {page_size}");
        }
        // The same id as the reference's for a UTF-8 path.
        let ok = root.join("ok.txt");
        assert_eq!(path_id(&ok), connectors_sdk::hash_id(ok.to_str().unwrap()));
    }

    #[test]
    fn isoformat_like_python() {
        assert_eq!(
            python_isoformat(1_700_000_000, 0),
            "2023-11-14T22:13:20+00:00"
        );
        assert_eq!(
            python_isoformat(1_700_000_000, 123_456_000),
            "2023-11-14T22:13:20.123456+00:00"
        );
    }
}
