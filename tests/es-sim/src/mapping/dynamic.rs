//! Checking documents against a mapping: each value must fit its field's type, new fields are
//! mapped dynamically from their first value (`dynamic: true`), ignored (`false`, `runtime`) or
//! rejected (`strict`), and a failed document leaves the mapping as it was.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::integers::{
    integer_accepts, integer_accepts_number, integer_accepts_string, integer_bounds, leaf_cause,
};
use super::{Dynamic, FieldKind, FieldMapping, LeafMapping, ObjectMapping};
use crate::datemath;
use crate::error::{EsError, EsResult};

impl ObjectMapping {
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
