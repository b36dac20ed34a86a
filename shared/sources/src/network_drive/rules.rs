//! Advanced sync rules of the network drive: a list of `{"pattern": "<glob>"}`, each relative
//! to the server (the share first: `share/folder/**/*.pdf`), validated with the reference's
//! fastjsonschema messages, walked from the part of the pattern before its first wildcard, and
//! matched as `wcmatch`'s `globmatch` with `GLOBSTAR` does (`*` within a segment, `**` across
//! segments, case-sensitive).

use globset::{GlobBuilder, GlobMatcher};
use serde_json::{Map, Value};

use crate::python;

/// The characters that start a pattern's wildcard part, as the reference looks for them.
const WILDCARDS: &[char] = &['*', '?', '[', '{', '!', '^', ';'];

/// The reference's validation: `[]`/`{}` are valid; otherwise an array of objects with a
/// non-empty string `pattern` and nothing else, none starting with `/`.
pub fn validate(rules: &Value) -> Result<(), String> {
    if rules.as_object().is_some_and(Map::is_empty) {
        return Ok(());
    }
    let Some(items) = rules.as_array() else {
        return Err("data must be array".into());
    };
    for (i, item) in items.iter().enumerate() {
        let Some(rule) = item.as_object() else {
            return Err(format!("data[{i}] must be object"));
        };
        match rule.get("pattern") {
            None => return Err(format!("data[{i}] must contain ['pattern'] properties")),
            Some(Value::String(p)) if p.is_empty() => {
                return Err(format!(
                    "data[{i}].pattern must be longer than or equal to 1 characters"
                ));
            }
            Some(Value::String(_)) => {}
            Some(_) => return Err(format!("data[{i}].pattern must be string")),
        }
        python::unexpected_properties(i, rule, &["pattern"])?;
    }
    let absolute: Vec<&str> = items
        .iter()
        .filter_map(|r| r["pattern"].as_str())
        .filter(|p| p.starts_with('/'))
        .collect();
    if !absolute.is_empty() {
        let set: Vec<String> = absolute.iter().map(|p| python::str_repr(p)).collect();
        return Err(format!(
            "SMB Path should not start with '/' in the beginning. Incorrect path: {{{}}}",
            set.join(", ")
        ));
    }
    Ok(())
}

/// One rule, ready to walk and match.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The pattern as written, for the log of rules that matched nothing.
    pub pattern: String,
    matcher: GlobMatcher,
    /// Where to walk from: the share, and the `\`-separated folder inside it.
    pub share: String,
    pub folder: String,
    /// The reference's base path text, which starts every document `path` under this rule.
    pub base: String,
}

impl Rule {
    /// `host` is the server's address as configured (it starts document paths).
    pub fn new(pattern: &str, host: &str) -> Result<Rule, String> {
        let normalised = pattern.replace('\\', "/");
        let base_text = match normalised.find(WILDCARDS) {
            Some(i) => {
                let head = &normalised[..i];
                let dir = head.rsplit_once('/').map_or("", |(d, _)| d);
                format!("{dir}/")
            }
            None => normalised.clone(),
        };
        let (share, folder) = split_share(&base_text);
        let matcher = GlobBuilder::new(&normalised)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("Invalid pattern '{pattern}': {e}"))?
            .compile_matcher();
        Ok(Rule {
            pattern: pattern.to_string(),
            matcher,
            share,
            folder,
            base: format!("\\\\{host}/{base_text}"),
        })
    }

    /// Whether the path of a document (the reference's `entry.path`) matches, compared as the
    /// reference does: the text after the server, with `\` as `/` (an empty segment where the
    /// base ended in `/` is tolerated, as `wcmatch` tolerates it).
    pub fn matches(&self, doc_path: &str) -> bool {
        self.matcher.is_match(relative(doc_path))
    }
}

/// A document path relative to the server: `\\host/share/a\b` → `share/a/b` (with a doubled
/// separator collapsed).
fn relative(doc_path: &str) -> String {
    let rest = doc_path
        .trim_start_matches('\\')
        .split_once('/')
        .map_or("", |(_, r)| r);
    let slashed = rest.replace('\\', "/");
    let mut out = String::with_capacity(slashed.len());
    for c in slashed.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

/// `share/a/b/` → (`share`, `a\b`).
pub fn split_share(path: &str) -> (String, String) {
    let path = path.replace('\\', "/");
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let share = parts.next().unwrap_or_default().to_string();
    let folder: Vec<&str> = parts.collect();
    (share, folder.join("\\"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_messages_are_the_references() {
        assert_eq!(validate(&json!([{"pattern": "share/**"}])), Ok(()));
        assert_eq!(validate(&json!([])), Ok(()));
        assert_eq!(validate(&json!({})), Ok(()));
        for (rules, message) in [
            (json!({"pattern": "a"}), "data must be array"),
            (
                json!([{"pattern": ""}]),
                "data[0].pattern must be longer than or equal to 1 characters",
            ),
            (
                json!([{"pattern": "a"}, {}]),
                "data[1] must contain ['pattern'] properties",
            ),
            (json!([{"pattern": 1}]), "data[0].pattern must be string"),
            (
                json!([{"pattern": "a", "x": 1}]),
                "data[0] must not contain {'x'} properties",
            ),
            (
                json!([{"pattern": "/a/b"}]),
                "SMB Path should not start with '/' in the beginning. Incorrect path: {'/a/b'}",
            ),
        ] {
            assert_eq!(validate(&rules), Err(message.to_string()), "{rules}");
        }
    }

    #[test]
    fn bases_and_matching_follow_the_reference() {
        let rule = Rule::new("files/docs/**/*.txt", "10.0.0.1").unwrap();
        assert_eq!(rule.base, "\\\\10.0.0.1/files/docs/");
        assert_eq!(
            (rule.share.as_str(), rule.folder.as_str()),
            ("files", "docs")
        );
        assert!(rule.matches("\\\\10.0.0.1/files/docs/\\a.txt"));
        assert!(rule.matches("\\\\10.0.0.1/files/docs/\\sub\\deep\\b.txt"));
        assert!(!rule.matches("\\\\10.0.0.1/files/docs/\\a.pdf"));
        let top = Rule::new("files/*.md", "h").unwrap();
        assert!(top.matches("\\\\h/files/\\readme.md"));
        assert!(!top.matches("\\\\h/files/\\sub\\readme.md"));
    }
}
