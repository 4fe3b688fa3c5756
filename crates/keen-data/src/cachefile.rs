//! The file format of [`Dataset::cache_file`](crate::Dataset::cache_file): a magic line, then one
//! record per element (little-endian; tensors as dtype, rank, dims and raw data).

use crate::dataset::ElemIter;
use crate::element::Elem;
use crate::error::{DataError, DataErrorKind, Result};
use keen_tensor::{DType, Tensor};
use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 11] = b"KEENCACHE1\n";

fn dtype_code(d: DType) -> u8 {
    match d {
        DType::Float32 => 0,
        DType::Float64 => 1,
        DType::Int32 => 2,
        DType::Int64 => 3,
        DType::UInt8 => 4,
        DType::Bool => 5,
    }
}

fn put_u64(w: &mut impl Write, v: u64) -> std::io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

fn put_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    put_u64(w, s.len() as u64)?;
    w.write_all(s.as_bytes())
}

/// Writes one element.
pub(crate) fn write_elem(w: &mut impl Write, e: &Elem) -> std::io::Result<()> {
    match e {
        Elem::Tensor(t) => {
            w.write_all(&[0, dtype_code(t.dtype()), t.rank() as u8])?;
            for &d in t.dims() {
                put_u64(w, d as u64)?;
            }
            macro_rules! raw {
                ($t:ty) => {
                    for v in t.to_vec::<$t>() {
                        w.write_all(&v.to_le_bytes())?;
                    }
                };
            }
            match t.dtype() {
                DType::Float32 => raw!(f32),
                DType::Float64 => raw!(f64),
                DType::Int32 => raw!(i32),
                DType::Int64 => raw!(i64),
                DType::UInt8 => w.write_all(&t.to_vec::<u8>())?,
                DType::Bool => {
                    let b: Vec<u8> = t.to_vec::<bool>().into_iter().map(u8::from).collect();
                    w.write_all(&b)?
                }
            }
        }
        Elem::Text(s) => {
            w.write_all(&[1])?;
            put_str(w, s)?;
        }
        Elem::Texts(v) => {
            w.write_all(&[2])?;
            put_u64(w, v.len() as u64)?;
            for s in v {
                put_str(w, s)?;
            }
        }
        Elem::Tuple(v) => {
            w.write_all(&[3])?;
            put_u64(w, v.len() as u64)?;
            for e in v {
                write_elem(w, e)?;
            }
        }
        Elem::Map(m) => {
            w.write_all(&[4])?;
            put_u64(w, m.len() as u64)?;
            for (k, e) in m {
                put_str(w, k)?;
                write_elem(w, e)?;
            }
        }
    }
    Ok(())
}

struct Reader<R: Read> {
    r: R,
    path: PathBuf,
}

impl<R: Read> Reader<R> {
    fn bad(&self, what: &str) -> DataError {
        DataError::new(
            DataErrorKind::Decode,
            format!("cache file {}: {what}", self.path.display()),
        )
    }

    fn bytes(&mut self, n: usize) -> Result<Vec<u8>> {
        if n > (1 << 40) {
            return Err(self.bad("corrupt length"));
        }
        let mut b = vec![0u8; n];
        self.r
            .read_exact(&mut b)
            .map_err(|_| self.bad("truncated record"))?;
        Ok(b)
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn string(&mut self) -> Result<String> {
        let n = self.u64()? as usize;
        String::from_utf8(self.bytes(n)?).map_err(|_| self.bad("text is not UTF-8"))
    }

    /// The next element, or `None` at a clean end of file.
    fn elem(&mut self, top: bool) -> Result<Option<Elem>> {
        let mut tag = [0u8; 1];
        match self.r.read_exact(&mut tag) {
            Ok(()) => {}
            Err(e) if top && e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
            Err(_) => return Err(self.bad("truncated record")),
        }
        Ok(Some(match tag[0] {
            0 => {
                let h = self.bytes(2)?;
                let dims: Vec<usize> = (0..h[1])
                    .map(|_| self.u64().map(|d| d as usize))
                    .collect::<Result<_>>()?;
                let n: usize = dims.iter().product();
                macro_rules! raw {
                    ($t:ty) => {{
                        const S: usize = std::mem::size_of::<$t>();
                        let b = self.bytes(n * S)?;
                        let v: Vec<$t> = b
                            .chunks_exact(S)
                            .map(|c| <$t>::from_le_bytes(c.try_into().expect("size")))
                            .collect();
                        Tensor::from_vec(v, dims)
                    }};
                }
                Elem::Tensor(match h[0] {
                    0 => raw!(f32),
                    1 => raw!(f64),
                    2 => raw!(i32),
                    3 => raw!(i64),
                    4 => Tensor::from_vec(self.bytes(n)?, dims),
                    5 => Tensor::from_vec(
                        self.bytes(n)?
                            .into_iter()
                            .map(|b| b != 0)
                            .collect::<Vec<_>>(),
                        dims,
                    ),
                    _ => return Err(self.bad("unknown dtype")),
                })
            }
            1 => Elem::Text(self.string()?),
            2 => {
                let n = self.u64()?;
                Elem::Texts((0..n).map(|_| self.string()).collect::<Result<_>>()?)
            }
            3 => {
                let n = self.u64()?;
                let mut v = Vec::new();
                for _ in 0..n {
                    v.push(self.elem(false)?.expect("nested"));
                }
                Elem::Tuple(v)
            }
            4 => {
                let n = self.u64()?;
                let mut m = std::collections::BTreeMap::new();
                for _ in 0..n {
                    let k = self.string()?;
                    m.insert(k, self.elem(false)?.expect("nested"));
                }
                Elem::Map(m)
            }
            _ => return Err(self.bad("unknown record tag")),
        }))
    }
}

/// Streams the elements of a cache file.
pub(crate) fn read(path: &Path) -> ElemIter {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return Box::new(std::iter::once(Err(DataError::io(
                "cache: cannot open",
                path,
                e,
            ))))
        }
    };
    let mut r = Reader {
        r: BufReader::new(f),
        path: path.to_path_buf(),
    };
    let mut magic = [0u8; 11];
    if r.r.read_exact(&mut magic).is_err() || &magic != MAGIC {
        return Box::new(std::iter::once(Err(r.bad("not a keen cache file"))));
    }
    let mut failed = false;
    Box::new(std::iter::from_fn(move || {
        if failed {
            return None;
        }
        match r.elem(true) {
            Ok(e) => e.map(Ok),
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    }))
}

/// Passes `src` through while writing it to `path`; the file appears (by rename) only after a
/// complete pass without errors.
pub(crate) fn write_through(mut src: ElemIter, path: &Path) -> ElemIter {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let open = || -> std::io::Result<BufWriter<File>> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let mut w = BufWriter::new(File::create(&tmp)?);
        w.write_all(MAGIC)?;
        Ok(w)
    };
    let mut w = match open() {
        Ok(w) => Some(w),
        Err(e) => {
            return Box::new(std::iter::once(Err(DataError::io(
                "cache: cannot write",
                &tmp,
                e,
            ))))
        }
    };
    let path = path.to_path_buf();
    Box::new(std::iter::from_fn(move || match src.next() {
        Some(Ok(e)) => {
            if let Some(wr) = w.as_mut()
                && let Err(err) = write_elem(wr, &e)
            {
                w = None;
                let _ = std::fs::remove_file(&tmp);
                return Some(Err(DataError::io("cache: cannot write", &tmp, err)));
            }
            Some(Ok(e))
        }
        Some(Err(e)) => {
            if w.take().is_some() {
                let _ = std::fs::remove_file(&tmp);
            }
            Some(Err(e))
        }
        None => {
            if let Some(mut wr) = w.take() {
                let done = wr.flush().and_then(|_| std::fs::rename(&tmp, &path));
                if let Err(err) = done {
                    let _ = std::fs::remove_file(&tmp);
                    return Some(Err(DataError::io("cache: cannot finish", &path, err)));
                }
            }
            None
        }
    }))
}
