//! The XML of Azure Blob listings (List Containers, List Blobs), read with quick-xml's event
//! reader: element paths are few and metadata names are arbitrary, which a serde mapping would
//! not keep in order.

use quick_xml::Reader;
use quick_xml::events::Event;

/// A container of List Containers.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ContainerXml {
    pub name: String,
    pub metadata: Vec<(String, String)>,
}

/// A blob of List Blobs: its name, its `Properties` by element name, its metadata in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BlobXml {
    pub name: String,
    pub properties: Vec<(String, String)>,
    pub metadata: Vec<(String, String)>,
}

impl BlobXml {
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One page of a listing: its items and `NextMarker` (absent or empty at the end).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Walks the document, calling `on` with each element path and its text (empty elements too).
fn walk(xml: &str, mut on: impl FnMut(&[String], String, bool)) -> Result<(), String> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                path.push(element_name(&e));
                text.clear();
                on(&path, String::new(), true);
            }
            Event::Empty(e) => {
                path.push(element_name(&e));
                on(&path, String::new(), true);
                on(&path, String::new(), false);
                path.pop();
            }
            Event::Text(t) => text.push_str(&t.into_inner()),
            Event::CData(t) => text.push_str(&t.into_inner()),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                    continue;
                }
                match r.into_inner().as_ref() {
                    "amp" => text.push('&'),
                    "lt" => text.push('<'),
                    "gt" => text.push('>'),
                    "quot" => text.push('"'),
                    "apos" => text.push('\''),
                    other => {
                        if let Some(c) = other
                            .strip_prefix("#x")
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .or_else(|| other.strip_prefix('#').and_then(|d| d.parse().ok()))
                            .and_then(char::from_u32)
                        {
                            text.push(c);
                        }
                    }
                }
            }
            Event::End(_) => {
                on(&path, std::mem::take(&mut text), false);
                path.pop();
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

fn element_name(e: &quick_xml::events::BytesStart<'_>) -> String {
    let name = e.name();
    let name: &str = name.as_ref();
    name.to_string()
}

fn tail(path: &[String], n: usize) -> Option<&[String]> {
    path.len().checked_sub(n).map(|i| &path[i..])
}

fn next_marker(path: &[String], text: &str, next: &mut Option<String>) {
    if path.len() == 2 && path[1] == "NextMarker" && !text.is_empty() {
        *next = Some(text.to_string());
    }
}

pub fn containers(xml: &str) -> Result<Page<ContainerXml>, String> {
    let mut page = Page::default();
    walk(xml, |path, text, start| {
        if start {
            if path.last().is_some_and(|n| n == "Container") {
                page.items.push(ContainerXml::default());
            }
            return;
        }
        next_marker(path, &text, &mut page.next);
        let Some(item) = page.items.last_mut() else {
            return;
        };
        if let Some([c, n]) = tail(path, 2)
            && c == "Container"
            && n == "Name"
        {
            item.name = text;
        } else if let Some([c, m, key]) = tail(path, 3)
            && c == "Container"
            && m == "Metadata"
        {
            item.metadata.push((key.clone(), text));
        }
    })?;
    Ok(page)
}

pub fn blobs(xml: &str) -> Result<Page<BlobXml>, String> {
    let mut page = Page::default();
    walk(xml, |path, text, start| {
        if start {
            if path.last().is_some_and(|n| n == "Blob") {
                page.items.push(BlobXml::default());
            }
            return;
        }
        next_marker(path, &text, &mut page.next);
        let Some(item) = page.items.last_mut() else {
            return;
        };
        if let Some([b, n]) = tail(path, 2)
            && b == "Blob"
            && n == "Name"
        {
            item.name = text;
        } else if let Some([b, group, key]) = tail(path, 3)
            && b == "Blob"
        {
            match group.as_str() {
                "Properties" => item.properties.push((key.clone(), text)),
                "Metadata" => item.metadata.push((key.clone(), text)),
                _ => {}
            }
        }
    })?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_blob_listing() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="c"><Blobs><Blob><Name>a &amp; b.txt</Name><Properties><Creation-Time>Thu, 21 Apr 2022 12:12:30 GMT</Creation-Time><Content-Length>3</Content-Length><Content-Type /><LeaseStatus>unlocked</LeaseStatus></Properties><Metadata><k1>v1</k1><k2/></Metadata></Blob><Blob><Name>z</Name></Blob></Blobs><NextMarker>m1</NextMarker></EnumerationResults>"#;
        let page = blobs(xml).unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].name, "a & b.txt");
        assert_eq!(page.items[0].property("Content-Length"), Some("3"));
        assert_eq!(page.items[0].property("Content-Type"), Some(""));
        assert_eq!(
            page.items[0].metadata,
            vec![("k1".into(), "v1".into()), ("k2".into(), String::new())]
        );
        assert_eq!(page.next.as_deref(), Some("m1"));
    }

    #[test]
    fn reads_a_container_listing() {
        let xml = "<EnumerationResults><Containers><Container><Name>c1</Name><Properties><Etag>x</Etag></Properties><Metadata><a>1</a></Metadata></Container></Containers><NextMarker /></EnumerationResults>";
        let page = containers(xml).unwrap();
        assert_eq!(page.items[0].name, "c1");
        assert_eq!(page.items[0].metadata, vec![("a".into(), "1".into())]);
        assert_eq!(page.next, None);
    }
}
