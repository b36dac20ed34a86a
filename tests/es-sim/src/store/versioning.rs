//! Write conditions: `if_seq_no`/`if_primary_term` (compare-and-set), `version` and
//! `version_type` (external versions), checked like Elasticsearch's request validation.

use crate::error::{EsError, EsResult};

/// `if_seq_no` + `if_primary_term`.
#[derive(Debug, Clone, Copy)]
pub struct Cas {
    pub seq_no: i64,
    pub primary_term: i64,
}

/// Checks `if_seq_no`/`if_primary_term` parameters: both or neither.
pub fn cas_from(seq: Option<i64>, term: Option<i64>) -> EsResult<Option<Cas>> {
    cas_params(seq, term).map_err(|m| EsError::validation(&[m]))
}

/// [`cas_from`] with the validation message as the error.
fn cas_params(seq: Option<i64>, term: Option<i64>) -> Result<Option<Cas>, &'static str> {
    match (seq, term) {
        (None, None) => Ok(None),
        (Some(s), Some(t)) => {
            if s < 0 {
                return Err("ifSeqNo must be non negative");
            }
            if t <= 0 {
                return Err("ifPrimaryTerm must be positive");
            }
            Ok(Some(Cas {
                seq_no: s,
                primary_term: t,
            }))
        }
        (Some(_), None) => Err("ifSeqNo is set, but primary term is [0]"),
        (None, Some(_)) => Err("ifPrimaryTerm is set, but ifSeqNo is [-2]"),
    }
}

/// `Versions.MATCH_ANY`: the `version` of a write that names none.
pub const MATCH_ANY: i64 = -3;
/// `Versions.MATCH_DELETED`: the version a create expects.
pub const MATCH_DELETED: i64 = -4;

/// The `version_type` of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionType {
    #[default]
    Internal,
    External,
    ExternalGte,
}

impl VersionType {
    /// `VersionType.fromString`; absent is `internal`, `external_gt` is `external`.
    pub fn parse(s: Option<&str>) -> EsResult<VersionType> {
        match s {
            None | Some("internal") => Ok(VersionType::Internal),
            Some("external" | "external_gt") => Ok(VersionType::External),
            Some("external_gte") => Ok(VersionType::ExternalGte),
            Some(other) => Err(EsError::bad_request(format!(
                "No version type match [{other}]"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            VersionType::Internal => "INTERNAL",
            VersionType::External => "EXTERNAL",
            VersionType::ExternalGte => "EXTERNAL_GTE",
        }
    }
}

/// An external version: it must be higher than the current version (`external`), or at least
/// equal to it (`external_gte`), and becomes the document's `_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct External {
    pub version: i64,
    pub gte: bool,
}

/// The concurrency condition of an index or delete.
#[derive(Debug, Clone, Copy, Default)]
pub enum Cond {
    #[default]
    None,
    Cas(Cas),
    External(External),
}

impl Cond {
    /// The compare-and-set part (updates have no external versions).
    pub fn cas(self) -> Option<Cas> {
        match self {
            Cond::Cas(c) => Some(c),
            _ => None,
        }
    }
}

/// What a write does, for [`write_cond`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Index,
    Create,
    Delete,
}

/// Checks the `version`, `version_type`, `if_seq_no` and `if_primary_term` of an index, create or
/// delete like `IndexRequest#validate`/`DeleteRequest#validate` with
/// `DocWriteRequest#validateSeqNoBasedCASParams`. Problems are appended to `errors` (validation
/// messages); the result is the engine condition when there are none.
pub fn write_cond(
    kind: WriteKind,
    has_id: bool,
    version: Option<i64>,
    vt: VersionType,
    if_seq_no: Option<i64>,
    if_primary_term: Option<i64>,
    errors: &mut Vec<String>,
) -> Cond {
    let before = errors.len();
    let mut version = version.unwrap_or(MATCH_ANY);
    if kind == WriteKind::Create {
        if version == MATCH_ANY {
            version = MATCH_DELETED;
        }
        if vt != VersionType::Internal {
            errors.push(
                "create operations only support internal versioning. use index instead".into(),
            );
            return Cond::None;
        }
        if version != MATCH_DELETED {
            errors.push(
                "create operations do not support explicit versions. use index instead".into(),
            );
            return Cond::None;
        }
        if if_seq_no.is_some() || if_primary_term.is_some() {
            errors
                .push("create operations do not support compare and set. use index instead".into());
            return Cond::None;
        }
    }
    if !has_id
        && (vt != VersionType::Internal || (version != MATCH_ANY && version != MATCH_DELETED))
    {
        errors.push("an id must be provided if version type or value are set".into());
    }
    let valid = match vt {
        VersionType::Internal => version > 0 || version == MATCH_ANY || version == MATCH_DELETED,
        VersionType::External | VersionType::ExternalGte => version >= 0,
    };
    if !valid {
        errors.push(format!(
            "illegal version value [{version}] for version type [{}]",
            vt.name()
        ));
    }
    if vt == VersionType::Internal && version != MATCH_ANY && version != MATCH_DELETED {
        errors.push("internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead".into());
    }
    if if_seq_no.is_some() && (vt != VersionType::Internal || version != MATCH_ANY) {
        errors.push("compare and write operations can not use versioning".into());
    }
    let cas = cas_params(if_seq_no, if_primary_term).unwrap_or_else(|m| {
        errors.push(m.to_string());
        None
    });
    if errors.len() > before {
        return Cond::None;
    }
    match (cas, vt) {
        (Some(c), _) => Cond::Cas(c),
        (None, VersionType::Internal) => Cond::None,
        (None, vt) => Cond::External(External {
            version,
            gte: vt == VersionType::ExternalGte,
        }),
    }
}
