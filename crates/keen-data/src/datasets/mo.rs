//! GNU gettext `.mo` catalogues: the (msgid, msgstr) pairs of a translation.

use crate::error::{bail, DataError, Result};
use std::path::Path;

/// The translated pairs of a `.mo` file, skipping the header entry, entries with a context or
/// plural forms, untranslated ones and those whose translation equals the original.
pub fn decode(b: &[u8], name: &str) -> Result<Vec<(String, String)>> {
    if b.len() < 20 {
        bail!(Decode, "mo {name}: too short for a .mo header");
    }
    let le = match u32::from_le_bytes(b[0..4].try_into().expect("4")) {
        0x950412de => true,
        0xde120495 => false,
        _ => bail!(Decode, "mo {name}: not a .mo file (bad magic)"),
    };
    let u32_at = |o: usize| -> Result<usize> {
        let Some(s) = b.get(o..o + 4) else {
            bail!(Decode, "mo {name}: offset {o} is past the end");
        };
        let a: [u8; 4] = s.try_into().expect("4");
        Ok(if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        } as usize)
    };
    let (n, orig, trans) = (u32_at(8)?, u32_at(12)?, u32_at(16)?);
    let string = |table: usize, i: usize| -> Result<&[u8]> {
        let (len, off) = (u32_at(table + 8 * i)?, u32_at(table + 8 * i + 4)?);
        match b.get(off..off + len) {
            Some(s) => Ok(s),
            None => bail!(Decode, "mo {name}: string {i} lies past the end"),
        }
    };
    let mut out = Vec::new();
    for i in 0..n {
        let (k, v) = (string(orig, i)?, string(trans, i)?);
        if k.is_empty() || v.is_empty() || k == v || k.contains(&4) || k.contains(&0) {
            continue;
        }
        out.push((
            String::from_utf8_lossy(k).into_owned(),
            String::from_utf8_lossy(v).into_owned(),
        ));
    }
    Ok(out)
}

/// Reads a `.mo` file.
pub fn read(path: impl AsRef<Path>) -> Result<Vec<(String, String)>> {
    let path = path.as_ref();
    let b = std::fs::read(path).map_err(|e| DataError::io("mo: cannot read", path, e))?;
    decode(&b, &path.display().to_string())
}
