//! Index mappings: parsed from and rendered back to JSON, extended by dynamic mapping as documents
//! arrive, and consulted by queries to find a field's type. `dynamic: false` fields stay in
//! `_source` but are not searchable.

use std::borrow::Cow;
use std::cell::RefCell;
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

    /// Checks the integer literals of a document's JSON text that neither `i64` nor `u64` holds
    /// (a tree keeps them only as rounded floats): a field of an integer type rejects them, and
    /// so does a new field they are the first value of, which Elasticsearch maps as `long` (it
    /// reads them as big integers) before failing to parse them.
    pub fn check_big_integers(&self, text: &str, id: &str) -> EsResult<()> {
        if !has_long_digit_run(text.as_bytes()) {
            return Ok(());
        }
        for (path, literal, first) in big_integer_literals(text) {
            if let Some(ty) = self.integer_type_for(&path, first) {
                return Err(EsError::document_parsing(format!(
                    "failed to parse field [{path}] of type [{ty}] in document with id '{id}'. Preview of field's value: '{literal}'"
                ))
                .caused_by(number_cause(&ty, &literal)));
            }
        }
        Ok(())
    }

    /// The integer type a value at `path` is parsed as: its mapped field's, or `long` for a new
    /// field under dynamic mapping when the value is the field's first.
    fn integer_type_for(&self, path: &str, first: bool) -> Option<String> {
        let mut cur = self;
        let mut dynamic = self.dynamic.unwrap_or(Dynamic::True);
        let mut segs = path.split('.').peekable();
        while let Some(seg) = segs.next() {
            match cur.properties.get(seg) {
                Some(FieldMapping::Object(o)) => {
                    if o.enabled == Some(false) {
                        return None;
                    }
                    dynamic = o.dynamic.unwrap_or(dynamic);
                    cur = o;
                }
                Some(FieldMapping::Leaf(l)) => {
                    return (segs.peek().is_none() && integer_bounds(&l.ty).is_some())
                        .then(|| l.ty.clone());
                }
                None => return (dynamic == Dynamic::True && first).then(|| "long".to_string()),
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

    /// The root's `dynamic` and the per-document context of a check.
    fn root_ctx<'a>(&self, id: &'a str) -> (Dynamic, DocCtx<'a>) {
        let date_detection = self
            .extra
            .get("date_detection")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        (
            self.dynamic.unwrap_or(Dynamic::True),
            DocCtx {
                id,
                date_detection,
                added: RefCell::new(Vec::new()),
            },
        )
    }

    /// Checks a document against the mapping and adds dynamic fields. Returns whether the mapping
    /// changed. A document that fails leaves the mapping as it was: Elasticsearch only applies
    /// the dynamic mapping of documents it indexes.
    pub fn apply_doc(&mut self, doc: &Map<String, Value>, id: &str) -> EsResult<bool> {
        let (dynamic, ctx) = self.root_ctx(id);
        let mut apply = || {
            let mut changed = false;
            for (k, v) in doc {
                changed |= self.apply_field(k, v, dynamic, "", &ctx)?;
            }
            Ok(changed)
        };
        let result = apply();
        self.roll_back_on_error(&result, &ctx);
        result
    }

    /// Removes the fields a failed document added.
    fn roll_back_on_error(&mut self, result: &EsResult<bool>, ctx: &DocCtx) {
        if result.is_err() {
            for path in ctx.added.borrow().iter().rev() {
                self.remove_path(path);
            }
        }
    }

    fn remove_path(&mut self, path: &str) {
        match path.split_once('.') {
            None => {
                self.properties.remove(path);
            }
            Some((head, rest)) => {
                if let Some(FieldMapping::Object(o)) = self.properties.get_mut(head) {
                    o.remove_path(rest);
                }
            }
        }
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
        let mut apply = || {
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
        };
        let result = apply();
        self.roll_back_on_error(&result, &ctx);
        result
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
            FieldKind::Long => {
                number
                    && (integer_bounds(&l.ty).is_none()
                        || text
                            .parse::<i64>()
                            .is_ok_and(|n| integer_accepts(&l.ty, i128::from(n))))
            }
            FieldKind::Double => number,
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
                // The first value decides the type (of an array too); the document's values
                // must then fit it, or the document fails and the field is not added.
                Dynamic::True => match infer(v, ctx) {
                    Some(FieldMapping::Leaf(l)) => {
                        if !leaf_accepts(&l, v) {
                            return Err(leaf_error(&l, first_rejected(&l, v), &full(), ctx));
                        }
                        self.properties
                            .insert(name.to_string(), FieldMapping::Leaf(l));
                        ctx.added.borrow_mut().push(full());
                        Ok(true)
                    }
                    Some(f) => {
                        self.properties.insert(name.to_string(), f);
                        ctx.added.borrow_mut().push(full());
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
    /// Full paths of the fields this document added, to undo if it fails.
    added: RefCell<Vec<String>>,
}

fn leaf_error(l: &LeafMapping, v: &Value, full: &str, ctx: &DocCtx) -> EsError {
    let e = EsError::document_parsing(format!(
        "failed to parse field [{full}] of type [{}] in document with id '{}'. Preview of field's value: '{}'",
        l.ty,
        ctx.id,
        java_preview(v)
    ));
    match leaf_cause(l, v) {
        Some(cause) => e.caused_by(cause),
        None => e,
    }
}

/// A value as Elasticsearch previews it: Java's `toString` of the parsed value.
fn java_preview(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(java_preview).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k}={}", java_preview(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// Whether `b` has 19 digits in a row: the shortest integer literal `i64` cannot hold.
fn has_long_digit_run(b: &[u8]) -> bool {
    let mut run = 0;
    for &c in b {
        if c.is_ascii_digit() {
            run += 1;
            if run >= 19 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// The integer literals of a JSON text that neither `i64` nor `u64` holds, each with the dotted
/// path of the field it is a value of and whether it is that field's first value (the first
/// element of an array, or not in an array).
fn big_integer_literals(text: &str) -> Vec<(String, String, bool)> {
    enum Frame {
        Object(Option<String>),
        Array { first: bool },
    }
    let b = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut expecting_key = false;
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => {
                stack.push(Frame::Object(None));
                expecting_key = true;
                i += 1;
            }
            b'[' => {
                stack.push(Frame::Array { first: true });
                expecting_key = false;
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                i += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Object(_)) => expecting_key = true,
                    Some(Frame::Array { first }) => *first = false,
                    None => {}
                }
                i += 1;
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                if expecting_key {
                    let raw = text.get(start..i).unwrap_or("");
                    let key = serde_json::from_str::<String>(raw)
                        .unwrap_or_else(|_| raw.trim_matches('"').to_string());
                    if let Some(Frame::Object(k)) = stack.last_mut() {
                        *k = Some(key);
                    }
                    expecting_key = false;
                }
            }
            c if c == b'-' || c.is_ascii_digit() => {
                let start = i;
                i += 1;
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                let literal = text.get(start..i).unwrap_or("");
                let digits = literal.strip_prefix('-').unwrap_or(literal);
                if !digits.is_empty()
                    && digits.bytes().all(|d| d.is_ascii_digit())
                    && literal.parse::<i64>().is_err()
                    && literal.parse::<u64>().is_err()
                {
                    let path: Vec<&str> = stack
                        .iter()
                        .filter_map(|f| match f {
                            Frame::Object(Some(k)) => Some(k.as_str()),
                            _ => None,
                        })
                        .collect();
                    let first = !matches!(stack.last(), Some(Frame::Array { first: false }));
                    out.push((path.join("."), literal.to_string(), first));
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// The bounds of an integer field type (`token_count` counts tokens of text, so has none here).
fn integer_bounds(ty: &str) -> Option<(i128, i128)> {
    Some(match ty {
        "long" => (i128::from(i64::MIN), i128::from(i64::MAX)),
        "integer" => (i128::from(i32::MIN), i128::from(i32::MAX)),
        "short" => (i128::from(i16::MIN), i128::from(i16::MAX)),
        "byte" => (i128::from(i8::MIN), i128::from(i8::MAX)),
        "unsigned_long" => (0, i128::from(u64::MAX)),
        _ => return None,
    })
}

fn integer_accepts(ty: &str, n: i128) -> bool {
    integer_bounds(ty).is_none_or(|(lo, hi)| (lo..=hi).contains(&n))
}

/// Whether a float (coerced by truncation, as Elasticsearch does) fits an integer type:
/// Jackson compares with the bounds as doubles.
fn integer_accepts_float(ty: &str, f: f64) -> bool {
    f.is_finite() && integer_bounds(ty).is_none_or(|(lo, hi)| f >= lo as f64 && f <= hi as f64)
}

/// Whether a JSON number fits an integer field type.
fn integer_accepts_number(ty: &str, n: &serde_json::Number) -> bool {
    if let Some(i) = n.as_i64() {
        integer_accepts(ty, i128::from(i))
    } else if let Some(u) = n.as_u64() {
        integer_accepts(ty, i128::from(u))
    } else {
        n.as_f64().is_some_and(|f| integer_accepts_float(ty, f))
    }
}

/// Whether a string fits an integer field type (Elasticsearch coerces numeric strings).
fn integer_accepts_string(ty: &str, s: &str) -> bool {
    let s = s.trim();
    match s.parse::<i128>() {
        Ok(n) => integer_accepts(ty, n),
        Err(_) => s.parse::<f64>().is_ok_and(|f| integer_accepts_float(ty, f)),
    }
}

/// The `caused_by` of a number an integer field rejects, as Elasticsearch's number parsing words
/// it (Jackson's coercion error for JSON numbers, its own for strings).
fn number_cause(ty: &str, literal: &str) -> Value {
    let jackson = |range: &str| {
        let reason = format!("Numeric value ({literal}) out of range of {range}");
        json!({"type": "x_content_parse_exception", "reason": reason,
            "caused_by": {"type": "input_coercion_exception", "reason": reason}})
    };
    let fits_int = literal
        .parse::<i128>()
        .is_ok_and(|n| integer_accepts("integer", n));
    match ty {
        "long" => jackson("long (-9223372036854775808 - 9223372036854775807)"),
        "short" if fits_int => jackson("Java short"),
        "byte" if fits_int => json!({"type": "illegal_argument_exception",
            "reason": format!("Value [{literal}] is out of range for a byte")}),
        _ => jackson("int (-2147483648 - 2147483647)"),
    }
}

/// The `caused_by` of a string an integer field rejects.
fn string_cause(ty: &str, s: &str) -> Value {
    let numeric = s.trim().parse::<f64>().is_ok();
    if !numeric {
        // `long` parses with Long.parseLong and BigDecimal, the others with Double.parseDouble.
        let kind = if ty == "long" {
            "illegal_argument_exception"
        } else {
            "number_format_exception"
        };
        return json!({"type": kind, "reason": format!("For input string: \"{s}\"")});
    }
    let fits_int = integer_accepts_string("integer", s);
    let reason = match ty {
        "long" => format!("Value [{s}] is out of range for a long"),
        "short" => format!("Value [{s}] is out of range for a short"),
        "byte" if fits_int => format!(
            "Value [{}] is out of range for a byte",
            s.trim().parse::<f64>().map_or(0, |f| f as i64)
        ),
        _ => format!("Value [{s}] is out of range for an integer"),
    };
    json!({"type": "illegal_argument_exception", "reason": reason})
}

/// Why a leaf rejects a (non-array) value, when it is a number out of an integer type's range or
/// text an integer type cannot parse.
fn leaf_cause(l: &LeafMapping, v: &Value) -> Option<Value> {
    integer_bounds(&l.ty)?;
    if l.ty == "unsigned_long" {
        return None;
    }
    match v {
        Value::Number(n) => Some(number_cause(&l.ty, &n.to_string())),
        Value::String(s) => Some(string_cause(&l.ty, s)),
        _ => None,
    }
}

/// Whether a value (or every element of an array) fits a leaf field's type.
fn leaf_accepts(l: &LeafMapping, v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().all(|e| leaf_accepts(l, e)),
        Value::Null => true,
        _ => match FieldKind::of(&l.ty) {
            FieldKind::Long if integer_bounds(&l.ty).is_some() => match v {
                Value::Number(n) => integer_accepts_number(&l.ty, n),
                Value::String(s) => integer_accepts_string(&l.ty, s),
                _ => false,
            },
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
