//! NDJSON encoding of one bulk operation: its action line (`{"index":{"_index":..,"_id":..}}`)
//! and, except for deletes, its source line, appended to the request buffer.

use serde::Serialize;

use super::BulkAction;
use crate::error::EsError;

#[derive(Serialize)]
struct Meta<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ActionLine<'a> {
    Index(Meta<'a>),
    Create(Meta<'a>),
    Update(Meta<'a>),
    Delete(Meta<'a>),
}

#[derive(Serialize)]
struct UpdateLine<'a, T: ?Sized> {
    doc: &'a T,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    doc_as_upsert: bool,
}

/// Where one encoded operation sits in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Encoded {
    /// Byte range of the action line + source line (with newlines).
    pub(super) start: usize,
    pub(super) end: usize,
    /// Bytes of the source line without its newline; 0 for deletes.
    pub(super) source_bytes: usize,
}

/// The source of an `update`: `{"doc": doc}`, plus `"doc_as_upsert": true` if asked.
pub(super) fn write_update<T: Serialize + ?Sized>(
    w: &mut Vec<u8>,
    doc: &T,
    doc_as_upsert: bool,
) -> serde_json::Result<()> {
    serde_json::to_writer(w, &UpdateLine { doc, doc_as_upsert })
}

/// The source of an `update` with a separate `upsert`: `{"doc": doc, "upsert": upsert}`.
pub(super) fn write_upsert<T: Serialize + ?Sized, U: Serialize + ?Sized>(
    w: &mut Vec<u8>,
    doc: &T,
    upsert: &U,
) -> serde_json::Result<()> {
    #[derive(Serialize)]
    struct Line<'a, T: ?Sized, U: ?Sized> {
        doc: &'a T,
        upsert: &'a U,
    }
    serde_json::to_writer(w, &Line { doc, upsert })
}

/// Appends one operation to `buf`. The index must be non-empty, and the id too when given;
/// updates and deletes need one. On a serialization error `buf` is left as it was.
pub(super) fn encode(
    buf: &mut Vec<u8>,
    action: BulkAction,
    index: &str,
    id: Option<&str>,
    write_source: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> Result<Encoded, EsError> {
    if index.is_empty() {
        return Err(EsError::InvalidRequest(
            "a bulk operation needs an index".into(),
        ));
    }
    if id == Some("") || (id.is_none() && matches!(action, BulkAction::Update | BulkAction::Delete))
    {
        return Err(EsError::InvalidRequest(format!(
            "a bulk {} needs a non-empty id",
            action.as_str()
        )));
    }
    let start = buf.len();
    let meta = Meta { index, id };
    let line = match action {
        BulkAction::Index => ActionLine::Index(meta),
        BulkAction::Create => ActionLine::Create(meta),
        BulkAction::Update => ActionLine::Update(meta),
        BulkAction::Delete => ActionLine::Delete(meta),
    };
    let mut source_bytes = 0;
    let written = serde_json::to_writer(&mut *buf, &line).and_then(|()| {
        buf.push(b'\n');
        if action != BulkAction::Delete {
            let source_start = buf.len();
            write_source(buf)?;
            // Compact JSON has no raw newline; a RawValue might. Outside strings a newline
            // is whitespace (inside one it would be invalid JSON anyway), so a space is
            // equivalent and keeps the NDJSON framing.
            let source = &mut buf[source_start..];
            let mut from = 0;
            while let Some(at) = memchr::memchr(b'\n', &source[from..]) {
                source[from + at] = b' ';
                from += at + 1;
            }
            source_bytes = buf.len() - source_start;
            buf.push(b'\n');
        }
        Ok(())
    });
    if let Err(error) = written {
        buf.truncate(start);
        return Err(EsError::Serialize(error));
    }
    Ok(Encoded {
        start,
        end: buf.len(),
        source_bytes,
    })
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;

    use super::super::test_support::{client, text};
    use super::super::{BulkOptions, BulkWriter};
    use crate::error::EsError;

    #[test]
    fn builds_ndjson() {
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default());
        w.push_index("idx", Some("1"), &json!({"a": "x\ny"}), 1)
            .unwrap();
        w.push_create("idx", None, &json!({"b": 2}), 2).unwrap();
        w.push_update("idx", "3", &json!({"c": 3}), true, 3)
            .unwrap();
        w.push_update("idx", "4", &json!({"c": 4}), false, 4)
            .unwrap();
        w.push_delete("idx", "we\"ird", 5).unwrap();
        assert_eq!(
            text(&w),
            concat!(
                "{\"index\":{\"_index\":\"idx\",\"_id\":\"1\"}}\n{\"a\":\"x\\ny\"}\n",
                "{\"create\":{\"_index\":\"idx\"}}\n{\"b\":2}\n",
                "{\"update\":{\"_index\":\"idx\",\"_id\":\"3\"}}\n{\"doc\":{\"c\":3},\"doc_as_upsert\":true}\n",
                "{\"update\":{\"_index\":\"idx\",\"_id\":\"4\"}}\n{\"doc\":{\"c\":4}}\n",
                "{\"delete\":{\"_index\":\"idx\",\"_id\":\"we\\\"ird\"}}\n",
            )
        );
        assert_eq!(w.pending.ops[0].source_bytes, r#"{"a":"x\ny"}"#.len());
        assert_eq!(w.pending.ops[4].source_bytes, 0);
        assert!(w.pending.ops[1].auto_id);
        assert_eq!(w.pending_ops(), 5);
        w.discard();
    }

    #[test]
    fn raw_newlines_are_neutralised() {
        let raw = serde_json::value::RawValue::from_string("{\n  \"a\": 1\n}".to_string()).unwrap();
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default());
        w.push_index("i", Some("1"), &raw, 0).unwrap();
        assert_eq!(text(&w).matches('\n').count(), 2);
        let source = text(&w).lines().nth(1).unwrap().to_string();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&source).unwrap(),
            json!({"a": 1})
        );
        w.discard();
    }

    #[test]
    fn rejects_bad_input_and_keeps_buffer_clean() {
        struct Failing;
        impl Serialize for Failing {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("nope"))
            }
        }
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default());
        w.push_index("i", Some("1"), &json!({}), 0).unwrap();
        let before = w.pending_bytes();
        assert!(matches!(
            w.push_index("i", Some("2"), &Failing, 1),
            Err(EsError::Serialize(_))
        ));
        assert_eq!(w.pending_bytes(), before);
        assert_eq!(w.pending_ops(), 1);
        assert!(w.push_delete("i", "", 2).is_err());
        assert!(w.push_index("", Some("x"), &json!({}), 3).is_err());
        w.discard();
    }
}
