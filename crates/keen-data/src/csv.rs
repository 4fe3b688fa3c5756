//! CSV/TSV files with typed columns: each row becomes an [`Elem::Map`] of scalars (or texts)
//! keyed by column name.
//!
//! ```
//! use keen_data::csv::{CsvOptions, ColumnType};
//! use keen_data::Dataset;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("r.csv");
//! std::fs::write(&path, "user,item,rating\n1,10,4.5\n2,11,3\n").unwrap();
//! let ds = Dataset::csv(&path, CsvOptions::new()
//!     .column("user", ColumnType::Int32)
//!     .column("item", ColumnType::Int32)
//!     .column("rating", ColumnType::Float32)).unwrap();
//! let rows = ds.batch(2, false).to_vec().unwrap();
//! assert_eq!(rows[0].field("rating").unwrap().tensor().unwrap().to_vec::<f32>(), [4.5, 3.0]);
//! ```

use crate::dataset::{Dataset, ElemIter};
use crate::element::Elem;
use crate::error::{bail, DataError, DataErrorKind, Result};
use keen_tensor::Tensor;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The type a column parses to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// A float32 scalar.
    Float32,
    /// A float64 scalar.
    Float64,
    /// An int32 scalar.
    Int32,
    /// An int64 scalar.
    Int64,
    /// The raw text.
    Text,
    /// Read and dropped.
    Skip,
}

/// How to read a CSV file: delimiter, header, and the columns (in file order).
#[derive(Clone, Debug)]
pub struct CsvOptions {
    delimiter: char,
    header: bool,
    columns: Vec<(String, ColumnType)>,
    default_type: ColumnType,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions::new()
    }
}

impl CsvOptions {
    /// Comma-separated, with a header row; without [`column`](Self::column) calls every column
    /// is float32 and named by the header.
    pub fn new() -> Self {
        CsvOptions {
            delimiter: ',',
            header: true,
            columns: Vec::new(),
            default_type: ColumnType::Float32,
        }
    }

    /// The field separator (`'\t'` for TSV).
    pub fn delimiter(mut self, d: char) -> Self {
        self.delimiter = d;
        self
    }

    /// Whether the first line is a header (skipped when the columns are named here).
    pub fn header(mut self, has_header: bool) -> Self {
        self.header = has_header;
        self
    }

    /// Declares the next column (columns are declared in file order; a row must have exactly
    /// this many fields).
    pub fn column(mut self, name: &str, ty: ColumnType) -> Self {
        self.columns.push((name.to_string(), ty));
        self
    }

    /// The type of every column when they are named by the header.
    pub fn default_type(mut self, ty: ColumnType) -> Self {
        self.default_type = ty;
        self
    }
}

/// Splits one line into fields; double quotes may enclose a field (with `""` for a quote).
pub fn split_fields(line: &str, delimiter: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.is_empty() {
            quoted = true;
        } else if c == delimiter {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn parse_value(s: &str, ty: ColumnType) -> std::result::Result<Option<Elem>, ()> {
    let t = s.trim();
    Ok(Some(match ty {
        ColumnType::Float32 => Tensor::scalar(t.parse::<f32>().map_err(|_| ())?).into(),
        ColumnType::Float64 => Tensor::scalar(t.parse::<f64>().map_err(|_| ())?).into(),
        ColumnType::Int32 => Tensor::scalar(t.parse::<i32>().map_err(|_| ())?).into(),
        ColumnType::Int64 => Tensor::scalar(t.parse::<i64>().map_err(|_| ())?).into(),
        ColumnType::Text => Elem::Text(s.to_string()),
        ColumnType::Skip => return Ok(None),
    }))
}

impl Dataset {
    /// Rows of a CSV (or TSV) file as maps of column name → scalar tensor (or text).
    ///
    /// # Errors
    /// Opening the file and reading the header happen here (a missing file is an error at once).
    /// A row with the wrong number of fields, or a field that does not parse as its column's
    /// type, is an error element naming the file, the row (1-based line number) and the column.
    pub fn csv(path: impl AsRef<Path>, options: CsvOptions) -> Result<Dataset> {
        let path = path.as_ref().to_path_buf();
        let f =
            std::fs::File::open(&path).map_err(|e| DataError::io("csv: cannot open", &path, e))?;
        let mut columns = options.columns.clone();
        if options.header {
            let mut first = String::new();
            std::io::BufReader::new(f)
                .read_line(&mut first)
                .map_err(|e| DataError::io("csv: cannot read", &path, e))?;
            let names = split_fields(first.trim_end_matches(['\n', '\r']), options.delimiter);
            if columns.is_empty() {
                columns = names
                    .into_iter()
                    .map(|n| (n.trim().to_string(), options.default_type))
                    .collect();
            } else if names.len() != columns.len() {
                bail!(
                    Parse,
                    "csv {}: the header has {} columns but {} were declared",
                    path.display(),
                    names.len(),
                    columns.len()
                );
            }
        } else if columns.is_empty() {
            bail!(
                Argument,
                "csv {}: without a header, declare the columns with CsvOptions::column",
                path.display()
            );
        }
        let columns = Arc::new(columns);
        let (delim, header) = (options.delimiter, options.header);
        Ok(Dataset::from_fn(move |_| {
            rows(path.clone(), columns.clone(), delim, header)
        }))
    }
}

fn rows(
    path: PathBuf,
    columns: Arc<Vec<(String, ColumnType)>>,
    delim: char,
    header: bool,
) -> ElemIter {
    let f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            return Box::new(std::iter::once(Err(DataError::io(
                "csv: cannot open",
                &path,
                e,
            ))))
        }
    };
    let lines = std::io::BufReader::new(f)
        .lines()
        .enumerate()
        .skip(header as usize);
    Box::new(lines.filter_map(move |(i, line)| {
        let row = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => return Some(Err(DataError::io(&format!("csv: row {row}:"), &path, e))),
        };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            return None;
        }
        let fields = split_fields(line, delim);
        if fields.len() != columns.len() {
            return Some(Err(DataError::new(
                DataErrorKind::Parse,
                format!(
                    "csv {}: row {row}: expected {} columns, found {}",
                    path.display(),
                    columns.len(),
                    fields.len()
                ),
            )));
        }
        let mut m = BTreeMap::new();
        for (f, (name, ty)) in fields.iter().zip(columns.iter()) {
            match parse_value(f, *ty) {
                Ok(Some(e)) => {
                    m.insert(name.clone(), e);
                }
                Ok(None) => {}
                Err(()) => {
                    return Some(Err(DataError::new(
                        DataErrorKind::Parse,
                        format!(
                            "csv {}: row {row}, column {name:?}: {f:?} is not {}",
                            path.display(),
                            match ty {
                                ColumnType::Int32 | ColumnType::Int64 => "an integer",
                                _ => "a number",
                            }
                        ),
                    )))
                }
            }
        }
        Some(Ok(Elem::Map(m)))
    }))
}
