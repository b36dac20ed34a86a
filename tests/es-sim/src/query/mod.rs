//! The query DSL subset: parsing (`parsing_exception` for unknown queries), compiling against an
//! index's mapping (unmapped fields match nothing), and matching documents.
//!
//! Scores are simple: every matching leaf scores its boost (1.0), `bool` sums its scoring clauses,
//! filters score 0.
//!
//! Layout: `parse` (the DSL into [`Query`]), `compile` (a [`Query`] against a mapping into the
//! compiled form), `matching` (matching and scoring documents, reading document values as [`Key`]s).

mod compile;
mod matching;
mod parse;

#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::error::EsResult;
use crate::mapping::ObjectMapping;

pub use compile::tokenize;
use compile::{Compiled, compile};
use matching::eval;
pub use matching::{doc_key, key_feeds_paths, visit_values};
pub use parse::{BoolQuery, Query, RangeBounds};

/// A comparable value of one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Str(String),
    Num(f64),
    Bool(bool),
}

/// A query compiled for one index.
#[derive(Debug)]
pub struct CompiledQuery {
    root: Compiled,
}

/// What a compiled query needs to know about the index it runs on.
pub struct CompileCtx<'a> {
    pub mapping: &'a ObjectMapping,
    pub index_name: &'a str,
    pub now: i64,
}

impl CompiledQuery {
    pub fn new(q: &Query, ctx: &CompileCtx) -> EsResult<CompiledQuery> {
        let root = compile(q, ctx)?;
        let _ = ctx.index_name;
        Ok(CompiledQuery { root })
    }

    /// Adds the source paths the query reads to `out`.
    pub fn paths<'q>(&'q self, out: &mut Vec<&'q str>) {
        fn walk<'q>(c: &'q Compiled, out: &mut Vec<&'q str>) {
            match c {
                Compiled::All(_) | Compiled::Nothing | Compiled::Ids(_) | Compiled::Index(_) => {}
                Compiled::Field { path, .. } | Compiled::Exists(path) => out.push(path),
                Compiled::Constant(inner, _) => walk(inner, out),
                Compiled::Bool {
                    must,
                    filter,
                    should,
                    must_not,
                    ..
                } => {
                    for q in must.iter().chain(filter).chain(should).chain(must_not) {
                        walk(q, out);
                    }
                }
            }
        }
        walk(&self.root, out);
    }

    /// The score of a matching document, `None` when it does not match.
    pub fn score(&self, id: &str, index: &str, source: &Value) -> Option<f32> {
        eval(&self.root, id, index, source)
    }
}
