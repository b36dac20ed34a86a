//! Index mappings: parsed from and rendered back to JSON, extended by dynamic mapping as documents
//! arrive, and consulted by queries to find a field's type. `dynamic: false` fields stay in
//! `_source` but are not searchable.
//!
//! Layout: this module defines the mapping types and parses, renders and merges them;
//! `dynamic` checks documents against a mapping and adds dynamic fields; `integers` holds the
//! integer field types' bounds, coercion and error causes, and the check of big integer
//! literals in a document's text.

mod dynamic;
mod integers;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

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

    /// Every leaf field and multi-field as `(full name, leaf name, mapping)`, in name order: what
    /// the get field mapping API can return (objects themselves are not field mappers).
    pub fn leaf_fields(&self) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        self.collect_leaves("", &mut out);
        out
    }

    fn collect_leaves(&self, prefix: &str, out: &mut Vec<(String, String, Value)>) {
        for (name, f) in &self.properties {
            let full = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            match f {
                FieldMapping::Object(o) => o.collect_leaves(&full, out),
                FieldMapping::Leaf(l) => {
                    out.push((full.clone(), name.clone(), l.to_json()));
                    for (sub, m) in &l.fields {
                        out.push((format!("{full}.{sub}"), sub.clone(), m.to_json()));
                    }
                }
            }
        }
    }
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
