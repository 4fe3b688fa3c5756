//! Images with captions: the Tux Paint stamps (photos with an English sentence each) and the
//! Twemoji images with their Unicode names.

use crate::dataset::Dataset;
use crate::element::Elem;
use crate::error::{DataError, Result};
use crate::image::{self, ImageOptions};
use std::path::{Path, PathBuf};

/// `(image path, caption)` for the Tux Paint stamps, fetching them on first use.
pub fn tuxpaint() -> Result<Vec<(PathBuf, String)>> {
    tuxpaint_from(&super::ensure("tuxpaint")?)
}

/// `(image path, caption)` for every `X.png` under `dir` with an `X.txt` whose first line is
/// the English caption; sorted by path.
pub fn tuxpaint_from(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let pattern = format!("{}/**/*.png", dir.display());
    let mut out = Vec::new();
    for p in crate::dataset::glob_files(&pattern)? {
        let png = PathBuf::from(p);
        let txt = png.with_extension("txt");
        if let Ok(t) = std::fs::read_to_string(&txt) {
            let caption = t.lines().next().unwrap_or("").trim().to_string();
            if !caption.is_empty() {
                out.push((png, caption));
            }
        }
    }
    Ok(out)
}

/// `(image path, name)` for the Twemoji images, fetching them on first use.
pub fn emoji() -> Result<Vec<(PathBuf, String)>> {
    emoji_from(&super::ensure("emoji")?)
}

/// `(image path, lower-case name)` for each base emoji in `dir/emoji.json` whose 64×64 image
/// is present under `dir/img/twitter/64/`.
pub fn emoji_from(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let path = dir.join("emoji.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| DataError::io("emoji: cannot read", &path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        DataError::new(
            crate::DataErrorKind::Decode,
            format!("emoji {}: bad JSON: {e}", path.display()),
        )
    })?;
    let mut out = Vec::new();
    for e in v.as_array().into_iter().flatten() {
        let (Some(name), Some(img)) = (e["name"].as_str(), e["image"].as_str()) else {
            continue;
        };
        let p = dir.join("img/twitter/64").join(img);
        if p.is_file() {
            out.push((p, name.to_lowercase()));
        }
    }
    Ok(out)
}

/// A dataset of `(image, caption)` with images decoded lazily by `options` (e.g.
/// `ImageOptions::new().channels(3).background(1.0).resize(128, 128, Filter::Bilinear)`).
pub fn dataset(pairs: &[(PathBuf, String)], options: ImageOptions) -> Dataset {
    let elems = pairs
        .iter()
        .map(|(p, c)| Elem::from((p.display().to_string(), c.clone())))
        .collect();
    Dataset::from_elems(elems).map(move |e| {
        let mut t = e.into_tuple()?.into_iter();
        let path = t.next().expect("pair");
        let caption = t.next().expect("pair");
        Ok(Elem::from((image::load(path.text()?, &options)?, caption)))
    })
}
