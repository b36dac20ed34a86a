//! Sorting: a hit's sort values per sort field (`missing`, `unmapped_type`, numeric and keyword
//! fields, `_score`, `_doc`, `_shard_doc`), comparing rows, and the `search_after` cut.

use std::cmp::Ordering;

use serde_json::{Value, json};

use super::Target;
use super::request::{Missing, SearchRequest, SortBy, SortSpec, default_spec};
use crate::error::{EsError, EsResult};
use crate::mapping::FieldKind;
use crate::query::{Key, doc_key, visit_values};

/// One sort value of a hit.
#[derive(Debug, Clone)]
pub enum SortVal {
    Long(i64),
    Double(f64),
    Str(String),
    Null,
}

impl SortVal {
    pub(super) fn to_json(&self) -> Value {
        match self {
            SortVal::Long(i) => json!(i),
            SortVal::Double(f) => json!(f),
            SortVal::Str(s) => json!(s),
            SortVal::Null => Value::Null,
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            SortVal::Long(i) => Some(*i as f64),
            SortVal::Double(f) => Some(*f),
            _ => None,
        }
    }
}

/// How one sort field applies to one target.
pub(super) enum FieldSorter {
    Mapped {
        path: String,
        kind: FieldKind,
        /// The mapping's date `format`, for reading document values.
        format: Option<String>,
    },
    Unmapped(FieldKind),
}

pub(super) fn sorter_for(spec: &SortSpec, field: &str, t: &Target) -> EsResult<FieldSorter> {
    if field == "_id" {
        // `indices.id_field_data.enabled` is false by default since 8.0.
        return Err(EsError::bad_request(
            "Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled",
        )
        .shard_failure(&t.name, &t.uuid));
    }
    match t.mappings.resolve(field) {
        Some(r) => match r.kind {
            FieldKind::Text => Err(EsError::bad_request(format!(
                "Fielddata is disabled on [{field}] in [{}]. Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [{field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.",
                t.name
            ))
            .shard_failure(&t.name, &t.uuid)),
            FieldKind::Object | FieldKind::Other => Err(EsError::bad_request(format!("can't sort on field [{field}]")).shard_failure(&t.name, &t.uuid)),
            kind => Ok(FieldSorter::Mapped {
                path: r.source_path,
                kind,
                format: r.format,
            }),
        },
        None => match &spec.unmapped_type {
            Some(ty) => Ok(FieldSorter::Unmapped(FieldKind::of(ty))),
            None => Err(EsError::new(400, "query_shard_exception", format!("No mapping found for [{field}] in order to sort on"))
                .with("index_uuid", t.uuid.as_ref())
                .with("index", t.name.as_ref())
                .shard_failure(&t.name, &t.uuid)),
        },
    }
}

fn is_numeric(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::Long | FieldKind::Double | FieldKind::Date | FieldKind::Boolean
    )
}

fn missing_value(spec: &SortSpec, kind: FieldKind) -> SortVal {
    let first = spec.missing == Missing::First;
    match &spec.missing {
        Missing::Value(v) => value_to_sortval(v, kind, spec).unwrap_or(SortVal::Null),
        _ if is_numeric(kind) => {
            // Elasticsearch substitutes the extreme value that sorts missing docs last (or first).
            let high = spec.desc == first;
            if kind == FieldKind::Double {
                SortVal::Double(if high { f64::MAX } else { -f64::MAX })
            } else {
                SortVal::Long(if high { i64::MAX } else { i64::MIN })
            }
        }
        _ => SortVal::Null,
    }
}

fn key_to_sortval(k: Key, kind: FieldKind) -> SortVal {
    match (k, kind) {
        (Key::Num(n), FieldKind::Double) => SortVal::Double(n),
        (Key::Num(n), _) => SortVal::Long(n as i64),
        (Key::Bool(b), _) => SortVal::Long(b as i64),
        (Key::Str(s), _) => SortVal::Str(s),
    }
}

fn value_to_sortval(v: &Value, kind: FieldKind, spec: &SortSpec) -> Option<SortVal> {
    if v.is_null() {
        return Some(SortVal::Null);
    }
    let fmt = spec.format.as_deref();
    doc_key(v, kind, fmt).map(|k| key_to_sortval(k, kind))
}

pub(super) fn field_sortval(sorter: &FieldSorter, spec: &SortSpec, source: &Value) -> SortVal {
    let (path, kind, format) = match sorter {
        FieldSorter::Unmapped(kind) => return missing_value(spec, *kind),
        FieldSorter::Mapped { path, kind, format } => (path, *kind, format.as_deref()),
    };
    let mut vals: Vec<SortVal> = Vec::new();
    visit_values(source, path, &mut |v| {
        if let Some(k) = doc_key(v, kind, format) {
            vals.push(key_to_sortval(k, kind));
        }
    });
    if vals.is_empty() {
        return missing_value(spec, kind);
    }
    let mode = spec
        .mode
        .as_deref()
        .unwrap_or(if spec.desc { "max" } else { "min" });
    match mode {
        "sum" | "avg" | "median" if is_numeric(kind) => {
            let nums: Vec<f64> = vals.iter().filter_map(SortVal::num).collect();
            let sum: f64 = nums.iter().sum();
            let v = if mode == "sum" {
                sum
            } else {
                sum / nums.len().max(1) as f64
            };
            if kind == FieldKind::Double {
                SortVal::Double(v)
            } else {
                SortVal::Long(v as i64)
            }
        }
        "max" => vals
            .into_iter()
            .max_by(cmp_sortval)
            .unwrap_or(SortVal::Null),
        _ => vals
            .into_iter()
            .min_by(cmp_sortval)
            .unwrap_or(SortVal::Null),
    }
}

/// Natural order of sort values; `Null` compares greater than everything.
fn cmp_sortval(a: &SortVal, b: &SortVal) -> Ordering {
    match (a, b) {
        (SortVal::Null, SortVal::Null) => Ordering::Equal,
        (SortVal::Null, _) => Ordering::Greater,
        (_, SortVal::Null) => Ordering::Less,
        (SortVal::Str(x), SortVal::Str(y)) => x.cmp(y),
        (SortVal::Long(x), SortVal::Long(y)) => x.cmp(y),
        (x, y) => match (x.num(), y.num()) {
            (Some(p), Some(q)) => p.partial_cmp(&q).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            _ => Ordering::Equal,
        },
    }
}

/// Compares two sort-value rows under the specs (direction and missing placement).
pub(super) fn cmp_rows(specs: &[SortSpec], a: &[SortVal], b: &[SortVal]) -> Ordering {
    for (i, spec) in specs.iter().enumerate() {
        let (x, y) = (&a[i], &b[i]);
        let ord = match (x, y) {
            // Null only appears for missing keyword values: placed by `missing`, not by order.
            (SortVal::Null, SortVal::Null) => Ordering::Equal,
            (SortVal::Null, _) => {
                if spec.missing == Missing::First {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (_, SortVal::Null) => {
                if spec.missing == Missing::First {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = cmp_sortval(x, y);
                if spec.desc { o.reverse() } else { o }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// The effective sort: the requested one, `_score` by default, plus `_shard_doc` with a PIT.
pub(super) fn effective_sort(req: &SearchRequest, pit: bool) -> Vec<SortSpec> {
    let mut specs = if req.sort.is_empty() {
        vec![default_spec("_score")]
    } else {
        req.sort.clone()
    };
    // Like `SearchRequest#rewrite`: a PIT search with an explicit sort gets an implicit
    // `_shard_doc` tiebreaker, unless `search_after` was built without one.
    let add_tiebreaker = pit
        && req.sort.last().is_some_and(|s| s.by != SortBy::ShardDoc)
        && req
            .search_after
            .as_ref()
            .is_none_or(|a| a.len() == req.sort.len() + 1);
    if add_tiebreaker {
        specs.push(default_spec("_shard_doc"));
    }
    specs
}

pub(super) fn search_after_row(
    specs: &[SortSpec],
    after: &[Value],
    targets: &[Target],
) -> EsResult<Vec<SortVal>> {
    if after.len() != specs.len() {
        return Err(EsError::bad_request(format!(
            "search_after has {} value(s) but sort has {}.",
            after.len(),
            specs.len()
        )));
    }
    let mut row = Vec::with_capacity(after.len());
    for (spec, v) in specs.iter().zip(after) {
        let sv = match &spec.by {
            SortBy::Score => SortVal::Double(v.as_f64().unwrap_or(0.0)),
            SortBy::Doc | SortBy::ShardDoc => SortVal::Long(v.as_i64().unwrap_or(0)),
            SortBy::Field(f) => {
                let kind = targets
                    .iter()
                    .find_map(|t| t.mappings.resolve(f).map(|r| r.kind))
                    .or_else(|| spec.unmapped_type.as_deref().map(FieldKind::of))
                    .unwrap_or(FieldKind::Keyword);
                match v {
                    Value::Null => SortVal::Null,
                    Value::Number(n) if is_numeric(kind) => match n.as_i64() {
                        Some(i) if kind != FieldKind::Double => SortVal::Long(i),
                        _ => SortVal::Double(n.as_f64().unwrap_or(0.0)),
                    },
                    other => value_to_sortval(other, kind, spec).ok_or_else(|| {
                        EsError::bad_request(format!(
                            "Failed to parse search_after value [{other}] for field [{f}]"
                        ))
                    })?,
                }
            }
        };
        row.push(sv);
    }
    Ok(row)
}
