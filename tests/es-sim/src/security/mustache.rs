//! A small Mustache renderer, written by hand for es-sim (no crate): the subset of
//! Elasticsearch's `mustache` script language that templated role queries (document-level
//! security) use.
//!
//! Supported: `{{name}}` (JSON-escaped, as Elasticsearch escapes templates of JSON content),
//! `{{{name}}}` and `{{&name}}` (unescaped), dotted names (`{{_user.username}}`, `{{list.0}}`),
//! `{{.}}`, sections `{{#name}}…{{/name}}` (lists iterate, objects and other truthy values push a
//! context; `null`, `false`, `""`, `[]` and missing names are falsy), inverted sections
//! `{{^name}}…{{/name}}`, comments `{{! … }}`, and Elasticsearch's functions
//! `{{#toJson}}name{{/toJson}}` (the JSON of a value), `{{#join}}name{{/join}}` (also
//! `{{#join delimiter=' and '}}name{{/join delimiter=' and '}}`) and `{{#url}}…{{/url}}`
//! (form-URL-encodes what the section renders). Partials and delimiter changes are rejected;
//! standalone tag lines keep their whitespace (irrelevant in JSON).

use serde_json::Value;

/// Why a template does not compile or render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MustacheError {
    #[error("Improperly closed variable [{0}]")]
    UnclosedTag(String),
    #[error("Missing closing tag for section [{0}]")]
    UnclosedSection(String),
    #[error("Mismatched close tag [{found}], expected [{expected}]")]
    MismatchedClose { expected: String, found: String },
    #[error("Close tag [{0}] without an open section")]
    UnexpectedClose(String),
    #[error("Mustache function [{0}] must contain one and only one identifier")]
    FunctionArgument(String),
    #[error("es-sim's mustache does not support {0}")]
    Unsupported(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Var {
        name: String,
        escape: bool,
    },
    Section {
        name: String,
        inverted: bool,
        body: Vec<Node>,
    },
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

struct Open {
    name: String,
    inverted: bool,
    outer: Vec<Node>,
}

impl Template {
    pub fn compile(src: &str) -> Result<Template, MustacheError> {
        let mut stack: Vec<Open> = Vec::new();
        let mut cur: Vec<Node> = Vec::new();
        let mut rest = src;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                cur.push(Node::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            if let Some(inner) = after.strip_prefix('{') {
                let end = inner
                    .find("}}}")
                    .ok_or_else(|| MustacheError::UnclosedTag(snippet(after)))?;
                cur.push(Node::Var {
                    name: inner[..end].trim().to_string(),
                    escape: false,
                });
                rest = &inner[end + 3..];
                continue;
            }
            let end = after
                .find("}}")
                .ok_or_else(|| MustacheError::UnclosedTag(snippet(after)))?;
            let tag = after[..end].trim();
            rest = &after[end + 2..];
            let mut chars = tag.chars();
            match chars.next() {
                Some('!') => {}
                Some(c @ ('#' | '^')) => stack.push(Open {
                    name: chars.as_str().trim().to_string(),
                    inverted: c == '^',
                    outer: std::mem::take(&mut cur),
                }),
                Some('/') => {
                    let found = chars.as_str().trim();
                    let open = stack
                        .pop()
                        .ok_or_else(|| MustacheError::UnexpectedClose(found.to_string()))?;
                    if open.name != found {
                        return Err(MustacheError::MismatchedClose {
                            expected: open.name,
                            found: found.to_string(),
                        });
                    }
                    let body = std::mem::replace(&mut cur, open.outer);
                    cur.push(Node::Section {
                        name: open.name,
                        inverted: open.inverted,
                        body,
                    });
                }
                Some('&') => cur.push(Node::Var {
                    name: chars.as_str().trim().to_string(),
                    escape: false,
                }),
                Some('>') => return Err(MustacheError::Unsupported("partials")),
                Some('=') => return Err(MustacheError::Unsupported("delimiter changes")),
                _ => cur.push(Node::Var {
                    name: tag.to_string(),
                    escape: true,
                }),
            }
        }
        if !rest.is_empty() {
            cur.push(Node::Text(rest.to_string()));
        }
        if let Some(open) = stack.pop() {
            return Err(MustacheError::UnclosedSection(open.name));
        }
        Ok(Template { nodes: cur })
    }

    /// Renders the template with `params` as the root context.
    pub fn render(&self, params: &Value) -> Result<String, MustacheError> {
        let mut out = String::new();
        let mut stack = vec![params];
        render_nodes(&self.nodes, &mut stack, &mut out)?;
        Ok(out)
    }
}

/// Compiles and renders in one go.
pub fn render(src: &str, params: &Value) -> Result<String, MustacheError> {
    Template::compile(src)?.render(params)
}

fn snippet(s: &str) -> String {
    s.chars().take(30).collect()
}

fn render_nodes<'a>(
    nodes: &'a [Node],
    stack: &mut Vec<&'a Value>,
    out: &mut String,
) -> Result<(), MustacheError> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Var { name, escape } => {
                if let Some(v) = lookup(name, stack) {
                    let s = stringify(v);
                    if *escape {
                        json_escape(&s, out);
                    } else {
                        out.push_str(&s);
                    }
                }
            }
            Node::Section {
                name,
                inverted,
                body,
            } => {
                if !inverted && function(name, body, stack, out)? {
                    continue;
                }
                let v = lookup(name, stack);
                if *inverted {
                    if !truthy(v) {
                        render_nodes(body, stack, out)?;
                    }
                    continue;
                }
                match v {
                    Some(Value::Array(items)) => {
                        for item in items {
                            stack.push(item);
                            render_nodes(body, stack, out)?;
                            stack.pop();
                        }
                    }
                    Some(v) if truthy(Some(v)) => {
                        stack.push(v);
                        render_nodes(body, stack, out)?;
                        stack.pop();
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// Elasticsearch's mustache functions; `Ok(false)` when `name` is an ordinary section.
fn function<'a>(
    name: &str,
    body: &'a [Node],
    stack: &mut Vec<&'a Value>,
    out: &mut String,
) -> Result<bool, MustacheError> {
    let (func, args) = name.split_once(' ').unwrap_or((name, ""));
    match func {
        "toJson" => {
            let var = identifier("toJson", body)?;
            if let Some(v) = lookup(var, stack) {
                out.push_str(&v.to_string());
            }
            Ok(true)
        }
        "join" => {
            let var = identifier("join", body)?;
            let delimiter = args
                .trim()
                .strip_prefix("delimiter=")
                .map(|d| d.trim_matches(|c| c == '\'' || c == '"'))
                .unwrap_or(",");
            match lookup(var, stack) {
                Some(Value::Array(items)) => {
                    let parts: Vec<String> = items.iter().map(stringify).collect();
                    out.push_str(&parts.join(delimiter));
                }
                Some(v) => out.push_str(&stringify(v)),
                None => {}
            }
            Ok(true)
        }
        "url" => {
            let mut inner = String::new();
            render_nodes(body, stack, &mut inner)?;
            out.extend(url::form_urlencoded::byte_serialize(inner.as_bytes()));
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// The variable name a function section holds (its only content).
fn identifier<'a>(func: &str, body: &'a [Node]) -> Result<&'a str, MustacheError> {
    match body {
        [Node::Text(t)] if !t.trim().is_empty() => Ok(t.trim()),
        _ => Err(MustacheError::FunctionArgument(func.to_string())),
    }
}

/// Looks a (dotted) name up: its first segment in the innermost context that has it, the rest
/// inside that value (object keys, array indices).
fn lookup<'a>(name: &str, stack: &[&'a Value]) -> Option<&'a Value> {
    if name == "." {
        return stack.last().copied();
    }
    let mut segs = name.split('.');
    let first = segs.next()?;
    let mut v = stack.iter().rev().find_map(|ctx| child(ctx, first))?;
    for s in segs {
        v = child(v, s)?;
    }
    Some(v)
}

fn child<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

/// A value as text, the way the Java objects behind Elasticsearch's params print (`[a, b]`,
/// `{k=v}` for lists and maps).
fn stringify(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(stringify).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", stringify(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Escapes text for the inside of a JSON string.
fn json_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn variables_are_json_escaped_and_dotted() {
        let p = json!({"name": "a \"b\"\n", "_user": {"username": "alice"}, "n": 3, "l": ["x", 1]});
        assert_eq!(
            render("{{name}}|{{{name}}}|{{&name}}", &p).unwrap(),
            "a \\\"b\\\"\\n|a \"b\"\n|a \"b\"\n"
        );
        assert_eq!(
            render("{{_user.username}} {{n}} {{l.0}} {{missing}}!", &p).unwrap(),
            "alice 3 x !"
        );
        assert_eq!(render("{{l}}", &p).unwrap(), "[x, 1]");
    }

    #[test]
    fn sections_iterate_and_invert() {
        let p = json!({"xs": [{"v": 1}, {"v": 2}], "t": true, "e": [], "s": ["a", "b"]});
        assert_eq!(
            render("{{#xs}}<{{v}}>{{/xs}}{{^e}}none{{/e}}{{#t}}yes{{/t}}", &p).unwrap(),
            "<1><2>noneyes"
        );
        assert_eq!(render("{{#s}}{{.}};{{/s}}{{! note }}", &p).unwrap(), "a;b;");
        assert_eq!(render("{{#missing}}x{{/missing}}", &p).unwrap(), "");
    }

    #[test]
    fn functions() {
        let p = json!({"ac": ["sid:S-1", "user:alice \"q\""], "q": "a b&c"});
        assert_eq!(
            render("{{#toJson}}ac{{/toJson}}", &p).unwrap(),
            r#"["sid:S-1","user:alice \"q\""]"#
        );
        assert_eq!(
            render("{{#join}}ac{{/join}}", &json!({"ac": [1, 2]})).unwrap(),
            "1,2"
        );
        assert_eq!(
            render(
                "{{#join delimiter=' or '}}ac{{/join delimiter=' or '}}",
                &json!({"ac": ["a", "b"]})
            )
            .unwrap(),
            "a or b"
        );
        assert_eq!(render("{{#url}}{{q}}{{/url}}", &p).unwrap(), "a+b%26c");
    }

    #[test]
    fn errors() {
        assert_eq!(
            render("{{#a}}x", &json!({})),
            Err(MustacheError::UnclosedSection("a".into()))
        );
        assert!(matches!(
            render("{{#a}}x{{/b}}", &json!({})),
            Err(MustacheError::MismatchedClose { .. })
        ));
        assert!(matches!(
            render("{{a", &json!({})),
            Err(MustacheError::UnclosedTag(_))
        ));
        assert!(matches!(
            render("{{#toJson}}{{a}}{{/toJson}}", &json!({})),
            Err(MustacheError::FunctionArgument(_))
        ));
        assert!(matches!(
            render("{{> p}}", &json!({})),
            Err(MustacheError::Unsupported(_))
        ));
    }
}
