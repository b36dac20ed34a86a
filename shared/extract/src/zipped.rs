//! Parts of a zip package (OOXML, ODF), read with a budget: all parts together may not unpack
//! to more than `max_unpacked_bytes`, so a zip bomb stops at the budget instead of filling
//! memory.

use std::io::{Cursor, Read as _};

use crate::{ExtractError, Limits};

pub(crate) struct Package<'a> {
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
    format: &'static str,
    /// Bytes that may still be unpacked.
    budget: u64,
    limit: u64,
}

impl<'a> Package<'a> {
    pub fn open(
        bytes: &'a [u8],
        format: &'static str,
        limits: &Limits,
    ) -> Result<Self, ExtractError> {
        let archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| ExtractError::malformed(format, e))?;
        Ok(Package {
            archive,
            format,
            budget: limits.max_unpacked_bytes,
            limit: limits.max_unpacked_bytes,
        })
    }

    /// The names of the parts, in the archive's order.
    pub fn names(&self) -> Vec<String> {
        self.archive
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect()
    }

    /// The part `name` unpacked, or `None` when the package has no such part.
    pub fn part(&mut self, name: &str) -> Result<Option<Vec<u8>>, ExtractError> {
        let file = match self.archive.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(ExtractError::malformed(self.format, e)),
        };
        let declared = file.size();
        if declared > self.budget {
            return Err(ExtractError::TooLarge(self.limit));
        }
        let mut out = Vec::with_capacity(declared.min(64 * 1024 * 1024) as usize);
        // The declared size may lie: read at most one byte past the budget.
        file.take(self.budget + 1)
            .read_to_end(&mut out)
            .map_err(|e| ExtractError::malformed(self.format, e))?;
        if out.len() as u64 > self.budget {
            return Err(ExtractError::TooLarge(self.limit));
        }
        self.budget -= out.len() as u64;
        Ok(Some(out))
    }
}
