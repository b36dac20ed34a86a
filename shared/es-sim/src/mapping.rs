//! Index mappings: parsed from and rendered back to JSON, extended by dynamic mapping as documents
//! arrive, and consulted by queries to find a field's type. `dynamic: false` fields stay in
//! `_source` but are not searchable.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::datemath;
use crate::error::{EsError, EsResult};

/// `dynamic` of an object mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {
    True,
    False,
    Strict,
    Runtime,
}

impl Dynamic {
    fn parse(v: &Value) -> EsResult<Dynamic> {
        match v {
            Value::Bool(true) => Ok(Dynamic::True),
            Value::Bool(false) => Ok(Dynamic::False),
            Value::String(s) => match s.as_str() {
                "true" => Ok(Dynamic::True),
                "false" => Ok(Dynamic::False),
                "strict" => Ok(Dynamic::Strict),
                "runtime" => Ok(Dynamic::Runtime),
                other => Err(mapper_parsing(format!(
                    "Unknown value [{other}] for the [dynamic] setting; valid values are [true, false, strict, runtime]"
                ))),
            },
            other => Err(mapper_parsing(format!(
                "Unknown value [{other}] for the [dynamic] setting"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Dynamic::True => "true",
            Dynamic::False => "false",
            Dynamic::Strict => "strict",
            Dynamic::Runtime => "runtime",
        }
    }
}

/// How a field behaves in queries and sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Keyword,
    Text,
    Long,
    Double,
    Date,
    Boolean,
    /// An object: `exists` works, other queries match nothing.
    Object,
    /// Mapped but not searchable by the simulator (binary, vectors, geo, …).
    Other,
}

impl FieldKind {
    pub fn of(ty: &str) -> FieldKind {
        match ty {
            "keyword" | "constant_keyword" | "wildcard" | "version" | "ip" | "flattened" => {
                FieldKind::Keyword
            }
            "text" | "match_only_text" | "search_as_you_type" | "semantic_text"
            | "annotated_text" => FieldKind::Text,
            "long" | "integer" | "short" | "byte" | "unsigned_long" | "token_count" => {
                FieldKind::Long
            }
            "double" | "float" | "half_float" | "scaled_float" => FieldKind::Double,
            "date" | "date_nanos" => FieldKind::Date,
            "boolean" => FieldKind::Boolean,
            "object" | "nested" => FieldKind::Object,
            _ => FieldKind::Other,
        }
    }
}

const KNOWN_TYPES: &[&str] = &[
    "text",
    "keyword",
    "constant_keyword",
    "wildcard",
    "match_only_text",
    "search_as_you_type",
    "semantic_text",
    "annotated_text",
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "scaled_float",
    "unsigned_long",
    "date",
    "date_nanos",
    "boolean",
    "binary",
    "ip",
    "object",
    "nested",
    "flattened",
    "version",
    "dense_vector",
    "sparse_vector",
    "rank_feature",
    "rank_features",
    "geo_point",
    "geo_shape",
    "point",
    "shape",
    "alias",
    "completion",
    "token_count",
    "histogram",
    "integer_range",
    "long_range",
    "float_range",
    "double_range",
    "date_range",
    "ip_range",
    "percolator",
    "join",
    "aggregate_metric_double",
    "counted_keyword",
    "passthrough",
];

/// A leaf field: a type, its parameters and multi-fields.
#[derive(Debug, Clone)]
pub struct LeafMapping {
    pub ty: String,
    pub fields: BTreeMap<String, LeafMapping>,
    pub extra: Map<String, Value>,
}

/// An object (or the root): `dynamic`, `enabled`, properties and other parameters.
#[derive(Debug, Clone, Default)]
pub struct ObjectMapping {
    pub dynamic: Option<Dynamic>,
    pub enabled: Option<bool>,
    pub properties: BTreeMap<String, FieldMapping>,
    /// Other parameters (`_source`, `_meta`, `dynamic_templates`, `type: nested`, …), kept as given.
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub enum FieldMapping {
    Object(ObjectMapping),
    Leaf(LeafMapping),
}

/// A field resolved for a query: where its values live in `_source` and how it behaves.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub source_path: String,
    pub kind: FieldKind,
    pub format: Option<String>,
}

fn mapper_parsing(reason: String) -> EsError {
    EsError::new(400, "mapper_parsing_exception", reason)
}

impl LeafMapping {
    fn parse(name: &str, ty: &str, m: &Map<String, Value>) -> EsResult<LeafMapping> {
        if !KNOWN_TYPES.contains(&ty) {
            return Err(mapper_parsing(format!(
                "No handler for type [{ty}] declared on field [{name}]"
            )));
        }
        let mut fields = BTreeMap::new();
        let mut extra = Map::new();
        for (k, v) in m {
            match k.as_str() {
                "type" => {}
                "fields" => {
                    let obj = v.as_object().ok_or_else(|| {
                        mapper_parsing(format!("Expected map for property [fields] on field [{name}] but got a class java.lang.String"))
                    })?;
                    for (sub, def) in obj {
                        let def = def.as_object().ok_or_else(|| {
                            mapper_parsing(format!(
                                "Expected map for property [fields] on field [{sub}]"
                            ))
                        })?;
                        let sty = def.get("type").and_then(Value::as_str).unwrap_or("object");
                        fields.insert(sub.clone(), LeafMapping::parse(sub, sty, def)?);
                    }
                }
                _ => {
                    extra.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(LeafMapping {
            ty: ty.to_string(),
            fields,
            extra,
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), Value::String(self.ty.clone()));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        if !self.fields.is_empty() {
            let f: Map<String, Value> = self
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect();
            m.insert("fields".into(), Value::Object(f));
        }
        sort_map(m)
    }

    fn format(&self) -> Option<&str> {
        self.extra.get("format").and_then(Value::as_str)
    }
}

fn sort_map(m: Map<String, Value>) -> Value {
    let mut entries: Vec<(String, Value)> = m.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

impl ObjectMapping {
    /// Parses a mapping object (the root or a field with `properties`).
    pub fn parse(m: &Map<String, Value>) -> EsResult<ObjectMapping> {
        let mut o = ObjectMapping::default();
        for (k, v) in m {
            match k.as_str() {
                "dynamic" => o.dynamic = Some(Dynamic::parse(v)?),
                "enabled" => {
                    o.enabled = Some(match v {
                        Value::Bool(b) => *b,
                        Value::String(s) if s == "true" || s == "false" => s == "true",
                        _ => {
                            return Err(mapper_parsing(format!(
                                "Failed to parse value [{v}] as only [true] or [false] are allowed."
                            )));
                        }
                    })
                }
                "properties" => {
                    let props = v.as_object().ok_or_else(|| {
                        mapper_parsing("Expected map for property [properties]".into())
                    })?;
                    for (name, def) in props {
                        o.properties
                            .insert(name.clone(), FieldMapping::parse(name, def)?);
                    }
                }
                "type" if v == "object" => {}
                _ => {
                    o.extra.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(o)
    }

    /// The mapping as Elasticsearch renders it (properties sorted, `dynamic` as a string).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        if let Some(d) = self.dynamic {
            m.insert("dynamic".into(), Value::String(d.as_str().into()));
        }
        if let Some(e) = self.enabled {
            m.insert("enabled".into(), Value::Bool(e));
        }
        if !self.properties.is_empty() {
            let p: Map<String, Value> = self
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect();
            m.insert("properties".into(), Value::Object(p));
        }
        sort_map(m)
    }

    /// Merges `other` into `self` (`PUT _mapping`): new fields are added, a changed type is a 400.
    pub fn merge(&mut self, other: ObjectMapping, path: &str) -> EsResult<()> {
        if other.dynamic.is_some() {
            self.dynamic = other.dynamic;
        }
        if other.enabled.is_some() {
            self.enabled = other.enabled;
        }
        for (k, v) in other.extra {
            self.extra.insert(k, v);
        }
        for (name, field) in other.properties {
            let full = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            match (self.properties.get_mut(&name), field) {
                (None, f) => {
                    self.properties.insert(name, f);
                }
                (Some(FieldMapping::Object(mine)), FieldMapping::Object(theirs)) => {
                    mine.merge(theirs, &full)?
                }
                (Some(FieldMapping::Leaf(mine)), FieldMapping::Leaf(theirs)) => {
                    if mine.ty != theirs.ty {
                        return Err(EsError::bad_request(format!(
                            "mapper [{full}] cannot be changed from type [{}] to [{}]",
                            mine.ty, theirs.ty
                        )));
                    }
                    for (k, v) in theirs.extra {
                        mine.extra.insert(k, v);
                    }
                    for (k, v) in theirs.fields {
                        mine.fields.insert(k, v);
                    }
                }
                (Some(FieldMapping::Object(_)), FieldMapping::Leaf(l)) => {
                    return Err(EsError::bad_request(format!(
                        "can't merge a non object mapping [{full}] with an object mapping"
                    ))
                    .with_top("leaf_type", l.ty));
                }
                (Some(FieldMapping::Leaf(_)), FieldMapping::Object(_)) => {
                    return Err(EsError::bad_request(format!(
                        "can't merge a non object mapping [{full}] with an object mapping"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Resolves a dotted field path (`a.b`, `name.keyword`) to its source path and kind.
    pub fn resolve(&self, path: &str) -> Option<Resolved> {
        let segs: Vec<&str> = path.split('.').collect();
        self.resolve_segs(&segs, String::new())
    }

    fn resolve_segs(&self, segs: &[&str], prefix: String) -> Option<Resolved> {
        if self.enabled == Some(false) {
            return None;
        }
        for i in 1..=segs.len() {
            let key = segs[..i].join(".");
            let Some(f) = self.properties.get(&key) else {
                continue;
            };
            let here = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            let rest = &segs[i..];
            match f {
                FieldMapping::Object(o) => {
                    if rest.is_empty() {
                        return Some(Resolved {
                            source_path: here,
                            kind: FieldKind::Object,
                            format: None,
                        });
                    }
                    if let Some(r) = o.resolve_segs(rest, here) {
                        return Some(r);
                    }
                }
                FieldMapping::Leaf(l) => {
                    if l.extra.get("index") == Some(&Value::Bool(false))
                        && l.extra.get("doc_values") == Some(&Value::Bool(false))
                    {
                        return None;
                    }
                    if rest.is_empty() {
                        return Some(Resolved {
                            source_path: here,
                            kind: FieldKind::of(&l.ty),
                            format: l.format().map(String::from),
                        });
                    }
                    let sub = rest.join(".");
                    if let Some(s) = l.fields.get(&sub) {
                        return Some(Resolved {
                            source_path: here,
                            kind: FieldKind::of(&s.ty),
                            format: s.format().map(String::from),
                        });
                    }
                }
            }
        }
        None
    }

    /// The root's `dynamic` and the per-document context of a check.
    fn root_ctx<'a>(&self, id: &'a str) -> (Dynamic, DocCtx<'a>) {
        let date_detection = self
            .extra
            .get("date_detection")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        (
            self.dynamic.unwrap_or(Dynamic::True),
            DocCtx { id, date_detection },
        )
    }

    /// Checks a document against the mapping and adds dynamic fields. Returns whether the mapping
    /// changed.
    pub fn apply_doc(&mut self, doc: &Map<String, Value>, id: &str) -> EsResult<bool> {
        let (dynamic, ctx) = self.root_ctx(id);
        let mut changed = false;
        for (k, v) in doc {
            changed |= self.apply_field(k, v, dynamic, "", &ctx)?;
        }
        Ok(changed)
    }

    /// [`apply_doc`](Self::apply_doc) for a document scanned one level deep. Scalars that a
    /// mapped leaf plainly accepts are checked on their JSON text; anything else is parsed and
    /// takes the general path.
    pub fn apply_fields(
        &mut self,
        fields: &[(Cow<'_, str>, &RawValue)],
        id: &str,
    ) -> EsResult<bool> {
        let (dynamic, ctx) = self.root_ctx(id);
        let mut changed = false;
        for (k, raw) in fields {
            let text = raw.get();
            if text == "null" || self.accepts_text(k, text) {
                continue;
            }
            if !k.contains('.')
                && !self.properties.contains_key(k.as_ref())
                && matches!(dynamic, Dynamic::False | Dynamic::Runtime)
            {
                continue;
            }
            let v: Value = serde_json::from_str(text).map_err(|e| {
                EsError::document_parsing(format!("failed to parse field [{k}]: {e}"))
            })?;
            changed |= self.apply_field(k, &v, dynamic, "", &ctx)?;
        }
        Ok(changed)
    }

    /// Whether the top-level leaf `name` certainly accepts the scalar JSON `text`.
    fn accepts_text(&self, name: &str, text: &str) -> bool {
        let Some(FieldMapping::Leaf(l)) = self.properties.get(name) else {
            return false;
        };
        let first = text.as_bytes().first().copied().unwrap_or(b'{');
        let number = first == b'-' || first.is_ascii_digit();
        match FieldKind::of(&l.ty) {
            FieldKind::Keyword | FieldKind::Text => first == b'"',
            FieldKind::Long | FieldKind::Double => number,
            FieldKind::Boolean => text == "true" || text == "false",
            FieldKind::Date => {
                number
                    || (first == b'"'
                        && !text.contains('\\')
                        && datemath::parse_date(&text[1..text.len() - 1], l.format()).is_some())
            }
            FieldKind::Other => true,
            FieldKind::Object => false,
        }
    }

    fn apply_field(
        &mut self,
        name: &str,
        v: &Value,
        inherited: Dynamic,
        path: &str,
        ctx: &DocCtx,
    ) -> EsResult<bool> {
        let dynamic = self.dynamic.unwrap_or(inherited);
        if name.as_bytes().contains(&b'.')
            && let Some((head, rest)) = name.split_once('.')
            && !head.is_empty()
            && !rest.is_empty()
        {
            // `a.b` in a document means the object `a` with the field `b`.
            let mut m = Map::new();
            m.insert(rest.to_string(), v.clone());
            return self.apply_field(head, &Value::Object(m), dynamic, path, ctx);
        }
        if v.is_null() {
            return Ok(false);
        }
        let full = || {
            if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            }
        };
        match self.properties.get_mut(name) {
            Some(FieldMapping::Object(o)) => {
                if o.enabled == Some(false) {
                    return Ok(false);
                }
                o.apply_value(v, dynamic, &full(), ctx)
            }
            Some(FieldMapping::Leaf(l)) => {
                if leaf_accepts(l, v) {
                    Ok(false)
                } else {
                    Err(leaf_error(l, first_rejected(l, v), &full(), ctx))
                }
            }
            None => match dynamic {
                Dynamic::False | Dynamic::Runtime => Ok(false),
                Dynamic::Strict => Err(EsError::new(
                    400,
                    "strict_dynamic_mapping_exception",
                    format!(
                        "mapping set to strict, dynamic introduction of [{name}] within [{}] is not allowed",
                        if path.is_empty() { "_doc" } else { path }
                    ),
                )),
                Dynamic::True => match infer(v, ctx) {
                    Some(f) => {
                        self.properties.insert(name.to_string(), f);
                        if let Some(FieldMapping::Object(o)) = self.properties.get_mut(name) {
                            o.apply_value(v, dynamic, &full(), ctx)?;
                        }
                        Ok(true)
                    }
                    None => Ok(false),
                },
            },
        }
    }

    fn apply_value(
        &mut self,
        v: &Value,
        dynamic: Dynamic,
        full: &str,
        ctx: &DocCtx,
    ) -> EsResult<bool> {
        match v {
            Value::Object(m) => {
                let mut changed = false;
                for (k, fv) in m {
                    changed |= self.apply_field(k, fv, dynamic, full, ctx)?;
                }
                Ok(changed)
            }
            Value::Array(a) => {
                let mut changed = false;
                for e in a {
                    changed |= self.apply_value(e, dynamic, full, ctx)?;
                }
                Ok(changed)
            }
            Value::Null => Ok(false),
            other => Err(EsError::document_parsing(format!(
                "object mapping for [{full}] tried to parse field [{}] as object, but found a concrete value",
                full.rsplit('.').next().unwrap_or(full)
            ))
            .with_top("preview", other.to_string())),
        }
    }
}

struct DocCtx<'a> {
    id: &'a str,
    date_detection: bool,
}

fn leaf_error(l: &LeafMapping, v: &Value, full: &str, ctx: &DocCtx) -> EsError {
    let preview = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    EsError::document_parsing(format!(
        "failed to parse field [{full}] of type [{}] in document with id '{}'. Preview of field's value: '{preview}'",
        l.ty, ctx.id
    ))
}

/// Whether a value (or every element of an array) fits a leaf field's type.
fn leaf_accepts(l: &LeafMapping, v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().all(|e| leaf_accepts(l, e)),
        Value::Null => true,
        _ => match FieldKind::of(&l.ty) {
            FieldKind::Long | FieldKind::Double => match v {
                Value::Number(_) => true,
                Value::String(s) => s.trim().parse::<f64>().is_ok(),
                _ => false,
            },
            FieldKind::Boolean => {
                matches!(v, Value::Bool(_)) || matches!(v.as_str(), Some("true" | "false" | ""))
            }
            FieldKind::Date => match v {
                Value::Number(_) => true,
                Value::String(s) => datemath::parse_date(s, l.format()).is_some(),
                _ => false,
            },
            FieldKind::Keyword | FieldKind::Text => !v.is_object() || l.ty == "flattened",
            _ => true,
        },
    }
}

/// The first value of `v` that the leaf rejects (for the error preview).
fn first_rejected<'a>(l: &LeafMapping, v: &'a Value) -> &'a Value {
    match v {
        Value::Array(a) => a.iter().find(|e| !leaf_accepts(l, e)).unwrap_or(v),
        _ => v,
    }
}

/// The dynamic mapping for a new value.
fn infer(v: &Value, ctx: &DocCtx) -> Option<FieldMapping> {
    match v {
        Value::Null => None,
        Value::Bool(_) => Some(leaf("boolean")),
        Value::Number(n) => Some(leaf(if n.is_f64() { "float" } else { "long" })),
        Value::String(s) => {
            if ctx.date_detection && datemath::looks_like_date(s) {
                Some(leaf("date"))
            } else {
                let mut fields = BTreeMap::new();
                let mut extra = Map::new();
                extra.insert("ignore_above".into(), json!(256));
                fields.insert(
                    "keyword".into(),
                    LeafMapping {
                        ty: "keyword".into(),
                        fields: BTreeMap::new(),
                        extra,
                    },
                );
                Some(FieldMapping::Leaf(LeafMapping {
                    ty: "text".into(),
                    fields,
                    extra: Map::new(),
                }))
            }
        }
        Value::Object(_) => Some(FieldMapping::Object(ObjectMapping::default())),
        Value::Array(a) => a.iter().find_map(|e| infer(e, ctx)),
    }
}

fn leaf(ty: &str) -> FieldMapping {
    FieldMapping::Leaf(LeafMapping {
        ty: ty.to_string(),
        fields: BTreeMap::new(),
        extra: Map::new(),
    })
}

impl FieldMapping {
    fn parse(name: &str, def: &Value) -> EsResult<FieldMapping> {
        let m = def.as_object().ok_or_else(|| {
            mapper_parsing(format!(
                "Expected map for property [fields] on field [{name}] but got a {}",
                type_name(def)
            ))
        })?;
        match m.get("type").and_then(Value::as_str) {
            None | Some("object") | Some("nested") => {
                let mut o = ObjectMapping::parse(m)?;
                if m.get("type").and_then(Value::as_str) == Some("nested") {
                    o.extra.insert("type".into(), json!("nested"));
                }
                Ok(FieldMapping::Object(o))
            }
            Some(ty) => Ok(FieldMapping::Leaf(LeafMapping::parse(name, ty, m)?)),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            FieldMapping::Object(o) => o.to_json(),
            FieldMapping::Leaf(l) => l.to_json(),
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "class java.lang.String",
        Value::Number(_) => "class java.lang.Integer",
        Value::Bool(_) => "class java.lang.Boolean",
        Value::Array(_) => "class java.util.ArrayList",
        _ => "class java.lang.Object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> ObjectMapping {
        ObjectMapping::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn dynamic_mapping_adds_fields() {
        let mut m = ObjectMapping::default();
        let doc = json!({"title": "hello", "count": 3, "ts": "2024-01-01T00:00:00Z", "a": {"b": true}, "x.y": 1.5});
        assert!(m.apply_doc(doc.as_object().unwrap(), "1").unwrap());
        assert_eq!(m.resolve("title").unwrap().kind, FieldKind::Text);
        assert_eq!(m.resolve("title.keyword").unwrap().kind, FieldKind::Keyword);
        assert_eq!(m.resolve("title.keyword").unwrap().source_path, "title");
        assert_eq!(m.resolve("count").unwrap().kind, FieldKind::Long);
        assert_eq!(m.resolve("ts").unwrap().kind, FieldKind::Date);
        assert_eq!(m.resolve("a.b").unwrap().kind, FieldKind::Boolean);
        assert_eq!(m.resolve("x.y").unwrap().kind, FieldKind::Double);
        assert!(m.resolve("nope").is_none());
        assert!(!m.apply_doc(doc.as_object().unwrap(), "2").unwrap());
    }

    #[test]
    fn dynamic_false_keeps_fields_unmapped() {
        let mut m =
            parse(json!({"dynamic": "false", "properties": {"status": {"type": "keyword"}}}));
        m.apply_doc(
            json!({"status": "x", "other": "y"}).as_object().unwrap(),
            "1",
        )
        .unwrap();
        assert!(m.resolve("other").is_none());
        assert!(m.resolve("status").is_some());
        assert_eq!(m.to_json()["dynamic"], "false");
    }

    #[test]
    fn strict_and_type_errors() {
        let mut m = parse(json!({"dynamic": "strict", "properties": {"n": {"type": "long"}}}));
        let e = m
            .apply_doc(json!({"z": 1}).as_object().unwrap(), "1")
            .unwrap_err();
        assert_eq!(e.kind(), Some("strict_dynamic_mapping_exception"));
        let e = m
            .apply_doc(json!({"n": "abc"}).as_object().unwrap(), "1")
            .unwrap_err();
        assert_eq!(e.kind(), Some("document_parsing_exception"));
        assert!(
            m.apply_doc(json!({"n": "12"}).as_object().unwrap(), "1")
                .is_ok()
        );
    }

    #[test]
    fn unknown_type_and_merge_conflict() {
        let e = ObjectMapping::parse(
            json!({"properties": {"a": {"type": "nope"}}})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), Some("mapper_parsing_exception"));
        let mut m = parse(json!({"properties": {"a": {"type": "keyword"}}}));
        let other = parse(json!({"properties": {"a": {"type": "long"}}}));
        assert_eq!(m.merge(other, "").unwrap_err().status, 400);
        let other = parse(json!({"properties": {"b": {"type": "long"}}}));
        m.merge(other, "").unwrap();
        assert!(m.resolve("b").is_some());
    }
}
