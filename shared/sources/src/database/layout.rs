//! How a listing's rows become JSON documents (`SourceItem::Json`): the column names encoded,
//! the members every document ends with, and whether the names allow the text to be indexed as
//! written. Worked out once per listing, not per row.

use connectors_sdk::{JsonDocument, JsonFields, SourceError, SourceItem, json_key};
use serde_json::Value;

pub struct Layout {
    /// The column names as JSON strings.
    names: Vec<String>,
    /// The column that holds the `_id` instead of its own value, if any.
    id_column: Option<usize>,
    /// `_timestamp`'s value.
    timestamp: Vec<u8>,
    /// The source's own members after `_timestamp` (`database`, `table`, ... or `Table`).
    tail: Vec<u8>,
    /// Whether documents can be indexed as written (see `JsonFields::names_are_safe`).
    json_safe: bool,
}

impl Layout {
    /// `columns` are the output field names, in order; `tail` the members that follow
    /// `_timestamp`. With `id_holds_id`, a column named `id` holds the `_id`, as in the
    /// reference's documents where column names are kept (MySQL).
    pub fn new(
        columns: &[String],
        timestamp: &Value,
        tail: &[(&str, &Value)],
        id_holds_id: bool,
    ) -> Self {
        let id_column = if id_holds_id {
            columns.iter().position(|c| c == "id")
        } else {
            None
        };
        let tail_text: Vec<String> = tail
            .iter()
            .map(|(name, value)| format!("{}:{value}", json_key(name)))
            .collect();
        let names = columns
            .iter()
            .map(String::as_str)
            .chain(["_timestamp"])
            .chain(tail.iter().map(|(name, _)| *name));
        Layout {
            names: columns.iter().map(|c| json_key(c)).collect(),
            id_column,
            timestamp: timestamp.to_string().into_bytes(),
            tail: tail_text.join(",").into_bytes(),
            json_safe: JsonFields::names_are_safe(names, id_column.is_some()),
        }
    }

    /// A row's document: every column (`write(i, out)` writes column `i`'s value), then
    /// `_timestamp` and the tail, the reference's field order.
    pub fn document<E>(
        &self,
        id: String,
        mut write: impl FnMut(usize, &mut Vec<u8>) -> Result<(), E>,
    ) -> Result<JsonDocument, E> {
        let mut fields = JsonFields::with_capacity(32 * self.names.len() + 128 + self.tail.len());
        for (i, name) in self.names.iter().enumerate() {
            if self.id_column == Some(i) {
                fields.id(&id);
            } else {
                write(i, fields.key(name))?;
            }
        }
        fields.timestamp(&self.timestamp);
        fields.members(&self.tail);
        Ok(fields.finish(id))
    }

    /// The page item of a document: as written, or as a map when the names require it.
    pub fn item(&self, doc: JsonDocument) -> Result<SourceItem, SourceError> {
        doc.into_item(self.json_safe).map_err(|e| {
            // A bug, not bad data: values are encoded by serde_json.
            SourceError::Other(format!("a row's document is not valid JSON: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_follow_the_reference_order() {
        let columns = vec!["id".to_string(), "name".to_string()];
        let table = json!("t");
        let layout = Layout::new(&columns, &json!("2024-01-01"), &[("Table", &table)], true);
        let doc = layout
            .document::<()>("t_1".into(), |_, out| {
                out.extend_from_slice(b"\"x\"");
                Ok(())
            })
            .unwrap();
        assert_eq!(
            std::str::from_utf8(doc.members()).unwrap(),
            r#""id":"t_1","name":"x","_timestamp":"2024-01-01","Table":"t""#
        );
        assert!(matches!(layout.item(doc).unwrap(), SourceItem::Json(_)));

        // Without `id_holds_id`, a column named `id` clashes with the engine's: the map path.
        let layout = Layout::new(&columns, &json!("2024-01-01"), &[], false);
        let doc = layout
            .document::<()>("t_1".into(), |_, out| {
                out.extend_from_slice(b"1");
                Ok(())
            })
            .unwrap();
        assert!(matches!(layout.item(doc).unwrap(), SourceItem::Upsert(_)));
    }
}
