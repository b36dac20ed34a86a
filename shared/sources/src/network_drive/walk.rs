//! The walk of a share, a page at a time: depth-first like the reference (a folder's entries
//! are emitted, its subfolders stacked, the last stacked listed next), entries in name order,
//! and the whole position in the cursor. With advanced rules, each rule's base folder is walked
//! in turn and only entries its pattern matches (and no earlier pattern did) are emitted.

use chrono::{DateTime, Utc};
use connectors_sdk::access_control::ACCESS_CONTROL_FIELD;
use connectors_sdk::{
    Page, PageRequest, SourceDocument, SourceError, SourceItem, SyncMode, UnreadScope,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tracing::warn;

use super::NetworkDrive;
use super::rules::Rule;
use super::smb::{Entry, status};

/// Seconds between 1601-01-01 (FILETIME) and 1970-01-01.
const FILETIME_EPOCH_SECONDS: i64 = 11_644_473_600;

/// A folder to list: where it is on the share, and its document `path`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Folder {
    share: String,
    folder: String,
    path: String,
}

/// Where the walk stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    /// The advanced rule being walked (0 without rules).
    rule: usize,
    /// Whether that rule matched anything yet.
    matched: bool,
    /// Folders still to list; the last is next.
    stack: Vec<Folder>,
    /// The folder being listed, and the last name emitted from it.
    current: Option<Folder>,
    after: Option<String>,
    /// When this sync started: the next incremental sync's reference point.
    started: DateTime<Utc>,
}

/// The reference's timestamps: `datetime.isoformat()` of the naive UTC time of a FILETIME.
pub fn filetime_iso(ticks: u64) -> String {
    let micros = (ticks / 10) as i64 - FILETIME_EPOCH_SECONDS * 1_000_000;
    let Some(dt) = DateTime::<Utc>::from_timestamp_micros(micros) else {
        return "9999-12-31T23:59:59.999999".into();
    };
    let frac = micros.rem_euclid(1_000_000);
    let base = dt.format("%Y-%m-%dT%H:%M:%S");
    if frac == 0 {
        base.to_string()
    } else {
        format!("{base}.{frac:06}")
    }
}

fn filetime(ticks: u64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_micros((ticks / 10) as i64 - FILETIME_EPOCH_SECONDS * 1_000_000)
}

/// The reference's document of an entry, in its field order.
fn document(entry: &Entry, path: String) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("path".into(), Value::String(path));
    doc.insert("size".into(), json!(entry.size));
    // The reference yields the number and its sink writes it as text: the same document.
    doc.insert("_id".into(), Value::String(entry.file_id.to_string()));
    doc.insert(
        "created_at".into(),
        Value::String(filetime_iso(entry.created)),
    );
    doc.insert(
        "_timestamp".into(),
        Value::String(filetime_iso(entry.changed)),
    );
    let kind = if entry.is_dir { "folder" } else { "file" };
    doc.insert("type".into(), Value::String(kind.into()));
    doc.insert("title".into(), Value::String(entry.name.clone()));
    doc
}

fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}\\{name}")
    }
}

/// One listed entry waiting for its permissions.
struct Listed {
    doc: Map<String, Value>,
    share: String,
    folder: String,
    entry: Entry,
}

pub(super) async fn page(
    drive: &NetworkDrive,
    request: PageRequest<'_>,
) -> Result<Page, SourceError> {
    let rules: Vec<Rule> = match request
        .advanced_rules
        .filter(|r| crate::objects::has_rules(r))
    {
        Some(value) => {
            super::rules::validate(value)
                .map_err(|m| SourceError::config("advanced_snippet", m))?;
            let host = &drive.session.target().host;
            value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["pattern"].as_str())
                .map(|p| Rule::new(p, host).map_err(|m| SourceError::config("advanced_snippet", m)))
                .collect::<Result<_, _>>()?
        }
        None => Vec::new(),
    };
    let root = |rule: usize| match rules.get(rule) {
        Some(r) => Folder {
            share: r.share.clone(),
            folder: r.folder.clone(),
            path: r.base.clone(),
        },
        None => Folder {
            share: drive.share.clone(),
            folder: drive.folder.clone(),
            path: drive.root.clone(),
        },
    };
    let mut cur: Cursor = match request.cursor {
        Some(c) => serde_json::from_value(c.clone())
            .map_err(|e| SourceError::Cursor(format!("network drive cursor: {e}")))?,
        None => Cursor {
            rule: 0,
            matched: false,
            stack: vec![root(0)],
            current: None,
            after: None,
            started: Utc::now(),
        },
    };
    // Entries changed within this margin before the previous sync started are sent again
    // (clock skew between the server and us).
    let margin = drive.limits.incremental_margin;
    let unchanged_before = match request.mode {
        SyncMode::Incremental { sync_cursor } => sync_cursor
            .and_then(|c| c.get("started"))
            .and_then(|s| serde_json::from_value::<DateTime<Utc>>(s.clone()).ok())
            .map(|t| t - margin),
        SyncMode::Full => None,
    };
    let page_size = request.page_size.max(1);
    let mut listed: Vec<Listed> = Vec::new();
    // Folders the server refused to list: their documents are kept, not swept.
    let mut unread: Vec<SourceItem> = Vec::new();
    let mut done = false;
    while listed.len() < page_size {
        let folder = match cur.current.clone() {
            Some(f) => f,
            None => match cur.stack.pop() {
                Some(f) => {
                    cur.current = Some(f.clone());
                    f
                }
                None if cur.rule + 1 < rules.len() => {
                    end_of_rule(&rules, &cur);
                    cur.rule += 1;
                    cur.matched = false;
                    cur.stack = vec![root(cur.rule)];
                    continue;
                }
                None => {
                    if !rules.is_empty() {
                        end_of_rule(&rules, &cur);
                    }
                    done = true;
                    break;
                }
            },
        };
        let share = drive.share(&folder.share).await?;
        let mut entries = match share.list(&folder.folder).await {
            Ok(entries) => entries,
            Err(e) if e.status == Some(status::ACCESS_DENIED) => {
                // The reference logs and goes on; what was indexed under it stays.
                warn!(path = %folder.path, error = %e, "Error while scanning the path; skipped");
                unread.push(SourceItem::Unreadable(UnreadScope::under(
                    "path",
                    &format!("{}\\", folder.path),
                    format!("Error while scanning the path {}: {e}", folder.path),
                )));
                Vec::new()
            }
            Err(e) if e.status.is_some() => {
                // Gone since it was listed: the reference logs and goes on.
                warn!(path = %folder.path, error = %e, "Error while scanning the path; skipped");
                Vec::new()
            }
            Err(e) => {
                drive.session.reset().await;
                return Err(SourceError::Unavailable(format!(
                    "Lost the network drive while listing {}: {e}",
                    folder.path
                )));
            }
        };
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let start = match &cur.after {
            Some(after) => entries.partition_point(|e| e.name <= *after),
            None => 0,
        };
        let room = page_size - listed.len();
        let take = entries.len().saturating_sub(start).min(room);
        let exhausted = start + take >= entries.len();
        let mut last_name = None;
        for entry in entries.drain(start..start + take) {
            last_name = Some(entry.name.clone());
            let path = format!("{}\\{}", folder.path, entry.name);
            let share_path = child(&folder.folder, &entry.name);
            if entry.is_dir {
                cur.stack.push(Folder {
                    share: folder.share.clone(),
                    folder: share_path.clone(),
                    path: path.clone(),
                });
            }
            if let Some(rule) = rules.get(cur.rule) {
                let earlier = rules[..cur.rule].iter().any(|r| r.matches(&path));
                if !rule.matches(&path) || earlier {
                    continue;
                }
                cur.matched = true;
            }
            listed.push(Listed {
                doc: document(&entry, path),
                share: folder.share.clone(),
                folder: share_path,
                entry,
            });
        }
        if exhausted {
            cur.current = None;
            cur.after = None;
        } else if last_name.is_some() {
            cur.after = last_name;
        }
    }
    let mut items = items(drive, listed, unchanged_before, rules.is_empty()).await?;
    items.append(&mut unread);
    Ok(Page {
        items,
        sync_cursor: Some(json!({"started": cur.started})),
        next: (!done)
            .then(|| serde_json::to_value(&cur).map_err(|e| SourceError::Other(e.to_string())))
            .transpose()?,
    })
}

fn end_of_rule(rules: &[Rule], cur: &Cursor) {
    if !cur.matched {
        warn!(
            pattern = %rules[cur.rule].pattern,
            "Following advanced rules do not match with any path present in network drive or the rule is similar to another rule"
        );
    }
}

/// The page's items: unchanged entries of an incremental sync as such, the others as
/// documents with their permissions (when document-level security is on and no advanced rule
/// is active, as in the reference) and a download handle for files.
async fn items(
    drive: &NetworkDrive,
    listed: Vec<Listed>,
    unchanged_before: Option<DateTime<Utc>>,
    decorate: bool,
) -> Result<Vec<SourceItem>, SourceError> {
    let mut items = Vec::with_capacity(listed.len());
    let mut changed = Vec::new();
    for l in listed {
        let unchanged = unchanged_before
            .zip(filetime(l.entry.changed))
            .is_some_and(|(before, changed)| changed < before);
        if unchanged {
            items.push(SourceItem::Unchanged(l.entry.file_id.to_string()));
        } else {
            changed.push(l);
        }
    }
    if drive.dls && decorate {
        // One share per page in normal walks; group by share all the same.
        let mut by_share: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, l) in changed.iter().enumerate() {
            match by_share.iter_mut().find(|(s, _)| *s == l.share) {
                Some((_, v)) => v.push(i),
                None => by_share.push((l.share.clone(), vec![i])),
            }
        }
        for (share_name, indices) in by_share {
            let share = drive.share(&share_name).await?;
            let paths: Vec<(String, bool)> = indices
                .iter()
                .map(|&i| (changed[i].folder.clone(), changed[i].entry.is_dir))
                .collect();
            let allowed = drive.permissions(&share, &paths).await;
            for (&i, allow) in indices.iter().zip(allowed) {
                let values = allow.into_iter().map(Value::String).collect();
                changed[i]
                    .doc
                    .insert(ACCESS_CONTROL_FIELD.into(), Value::Array(values));
            }
        }
    }
    for l in changed {
        let downloadable = !l.entry.is_dir
            && l.entry.size <= drive.limits.max_content_bytes
            && connectors_sdk::extract::is_supported(&l.entry.name.to_lowercase());
        let download =
            downloadable.then(|| json!({"share": l.share, "path": l.folder, "name": l.entry.name}));
        items.push(SourceItem::Upsert(SourceDocument {
            fields: l.doc,
            download,
        }));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_naive_isoformat() {
        // 2022-04-21T12:12:30 UTC.
        let secs = 1_650_543_150i64 + FILETIME_EPOCH_SECONDS;
        let ticks = (secs as u64) * 10_000_000;
        assert_eq!(filetime_iso(ticks), "2022-04-21T12:12:30");
        assert_eq!(
            filetime_iso(ticks + 1_234_560),
            "2022-04-21T12:12:30.123456"
        );
    }
}
