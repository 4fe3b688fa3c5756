//! English→Spanish sentence pairs from the Spanish catalogues of the Wesnoth campaigns.

use super::mo;
use crate::dataset::Dataset;
use crate::element::Elem;
use crate::error::{DataError, Result};
use std::collections::HashSet;
use std::path::Path;

/// Loads the pairs (English, Spanish), fetching them on first use (`bash data/fetch.sh spa-eng`),
/// keeping those with at most `max_words` English words (the NMT post uses short sentences).
pub fn load(max_words: Option<usize>) -> Result<Vec<(String, String)>> {
    load_from(&super::ensure("spa-eng")?, max_words)
}

/// Loads the pairs from the `.mo` catalogues in `dir/mo` (or `dir`), in file-name order.
/// Markup (`<i>…</i>`) and line breaks are removed, spaces squeezed, duplicates dropped.
pub fn load_from(dir: &Path, max_words: Option<usize>) -> Result<Vec<(String, String)>> {
    let sub = dir.join("mo");
    let dir = if sub.is_dir() { sub } else { dir.to_path_buf() };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| DataError::io("sentence pairs: cannot list", &dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mo"))
        .collect();
    files.sort();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for f in files {
        for (en, es) in mo::read(&f)? {
            let (en, es) = (clean(&en), clean(&es));
            if en.is_empty() || es.is_empty() {
                continue;
            }
            if max_words.is_some_and(|m| en.split_whitespace().count() > m) {
                continue;
            }
            if seen.insert(en.clone()) {
                out.push((en, es));
            }
        }
    }
    Ok(out)
}

/// Removes markup tags and squeezes whitespace.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A dataset of `(english, spanish)` text tuples.
pub fn dataset(pairs: &[(String, String)]) -> Dataset {
    Dataset::from_elems(
        pairs
            .iter()
            .map(|(a, b)| Elem::from((a.as_str(), b.as_str())))
            .collect(),
    )
}
