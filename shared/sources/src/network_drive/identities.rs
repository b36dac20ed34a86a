//! The identities of an access-control sync. Linux drives: the identity-mappings CSV the
//! reference reads (`name;user SID;group SID,group SID,...`, no header, `;` separated, `"`
//! quoting), one identity document per user with `sid:` and `user:` values and the user's
//! groups. Windows drives look users up over WinRM PowerShell in the reference, which this
//! build does not do (see the README).

use connectors_sdk::SourceDocument;
use connectors_sdk::access_control::{identity_document, prefix_identity};
use serde_json::{Map, Value};

/// One row of the mappings file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub sid: String,
    pub groups: Vec<String>,
}

/// Parses the mappings file. A row with fewer than three columns is an error naming its line,
/// where the reference's sync fails on an `IndexError`.
pub fn parse_csv(text: &str) -> Result<Vec<User>, String> {
    let mut users = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let cols = split_row(line);
        if cols.len() < 3 {
            return Err(format!(
                "line {} of the identity mappings has {} columns, not 3 (name;SID;group SIDs)",
                n + 1,
                cols.len()
            ));
        }
        let groups = if cols[2].is_empty() {
            Vec::new()
        } else {
            cols[2].split(',').map(str::to_string).collect()
        };
        users.push(User {
            name: cols[0].clone(),
            sid: cols[1].clone(),
            groups,
        });
    }
    Ok(users)
}

/// Python's `csv.reader(delimiter=";")` on one line: `"` quotes a field, `""` inside quotes is
/// a quote.
fn split_row(line: &str) -> Vec<String> {
    let mut cols = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (';', false) => cols.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    cols.push(field);
    cols
}

/// The reference's `_user_access_control_doc`.
pub fn document(user: &User, created_at: &str) -> SourceDocument {
    let mut identity = Map::new();
    identity.insert(
        "username".into(),
        Value::String(prefix_identity("user", &user.name)),
    );
    identity.insert(
        "user_id".into(),
        Value::String(prefix_identity("sid", &user.sid)),
    );
    let mut access = vec![
        prefix_identity("sid", &user.sid),
        prefix_identity("user", &user.name),
    ];
    access.extend(user.groups.iter().map(|g| prefix_identity("sid", g)));
    identity_document(&user.sid, identity, created_at, access)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_mappings_like_the_reference() {
        let users = parse_csv("user1;S-1;S-11,S-22\nuser2;S-2;\n\n\"a;b\";S-3;S-22\n").unwrap();
        assert_eq!(users.len(), 3);
        assert_eq!(users[0].groups, ["S-11", "S-22"]);
        assert!(users[1].groups.is_empty());
        assert_eq!(users[2].name, "a;b");
        let doc = document(&users[0], "2024-05-01T10:20:30+00:00");
        assert_eq!(doc.fields["_id"], json!("S-1"));
        assert_eq!(
            doc.fields["identity"],
            json!({"username": "user:user1", "user_id": "sid:S-1"})
        );
        assert_eq!(
            doc.fields["query"]["template"]["params"]["access_control"],
            json!(["sid:S-1", "user:user1", "sid:S-11", "sid:S-22"])
        );
        assert!(parse_csv("user1;S-1\n").unwrap_err().contains("line 1"));
    }
}
