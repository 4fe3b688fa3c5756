//! NumPy-style printing: `Tensor([[ 50, 114], [ 60, 140]], shape=(2, 2), dtype=int32)`.
//!
//! Small tensors print on one line; wider ones break rows as NumPy does. Tensors with more
//! than [`SUMMARY_THRESHOLD`] elements show their first and last [`EDGE_ITEMS`] entries of each
//! axis around `...`.

use crate::dtype::DType;
use crate::tensor::Tensor;
use std::fmt;

/// Element count above which printing summarises with `...` (NumPy's default).
pub const SUMMARY_THRESHOLD: usize = 1000;
/// Items kept at each end of a summarised axis.
pub const EDGE_ITEMS: usize = 3;
const LINE_WIDTH: usize = 100;

fn float_style(vals: &[f64]) -> (bool, usize) {
    let finite: Vec<f64> = vals.iter().copied().filter(|v| v.is_finite()).collect();
    let max = finite.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let min_nz = finite
        .iter()
        .filter(|v| **v != 0.0)
        .fold(f64::INFINITY, |m, v| m.min(v.abs()));
    let sci = max >= 1e8 || (min_nz.is_finite() && min_nz < 1e-4);
    // Decimals: as many as needed for up to 4, trimmed of trailing zeros across all values.
    let mut prec = 0;
    for v in &finite {
        let s = format!("{:.4}", v.abs().fract());
        let t = s.trim_end_matches('0');
        let d = t.len().saturating_sub(2);
        prec = prec.max(d);
    }
    (sci, prec)
}

fn fmt_float(v: f64, sci: bool, prec: usize) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if sci {
        let s = format!("{v:.4e}");
        // Rust writes 1.2340e-5; NumPy writes 1.2340e-05.
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = if let Some(d) = e.strip_prefix('-') {
                    ("-", d)
                } else {
                    ("+", e)
                };
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        }
    } else if prec == 0 {
        format!("{v:.0}.")
    } else {
        format!("{v:.prec$}")
    }
}

struct Printer<'a> {
    t: &'a Tensor,
    summarise: bool,
    strings: Vec<String>,
    width: usize,
}

impl Printer<'_> {
    /// Flat indices of the elements printed, in order (all of them unless summarising).
    fn indices(dims: &[usize], summarise: bool) -> Vec<usize> {
        let mut out = Vec::new();
        fn rec(dims: &[usize], axis: usize, base: usize, summarise: bool, out: &mut Vec<usize>) {
            if axis == dims.len() {
                out.push(base);
                return;
            }
            let stride: usize = dims[axis + 1..].iter().product();
            for i in shown(dims[axis], summarise) {
                rec(dims, axis + 1, base + i * stride, summarise, out);
            }
        }
        rec(dims, 0, 0, summarise, &mut out);
        out
    }

    fn write(
        &self,
        f: &mut fmt::Formatter<'_>,
        axis: usize,
        pos: &mut usize,
        indent: usize,
        multiline: bool,
    ) -> fmt::Result {
        let dims = self.t.dims();
        if axis == dims.len() {
            let s = &self.strings[*pos];
            *pos += 1;
            return write!(f, "{s:>w$}", w = self.width);
        }
        f.write_str("[")?;
        let n = dims[axis];
        let cut = self.summarise && n > 2 * EDGE_ITEMS;
        let items: Vec<usize> = shown(n, self.summarise).collect();
        for (k, _) in items.iter().enumerate() {
            if k > 0 {
                f.write_str(",")?;
                if multiline && axis + 1 < dims.len() {
                    let blank = dims.len() - axis - 1;
                    for _ in 0..blank {
                        f.write_str("\n")?;
                    }
                    write!(f, "{:indent$}", "", indent = indent + axis + 1)?;
                } else {
                    f.write_str(" ")?;
                }
            }
            if cut && k == EDGE_ITEMS {
                f.write_str("...,")?;
                if multiline && axis + 1 < dims.len() {
                    f.write_str("\n")?;
                    write!(f, "{:indent$}", "", indent = indent + axis + 1)?;
                } else {
                    f.write_str(" ")?;
                }
            }
            self.write(f, axis + 1, pos, indent, multiline)?;
        }
        f.write_str("]")
    }
}

fn shown(n: usize, summarise: bool) -> Box<dyn Iterator<Item = usize>> {
    if summarise && n > 2 * EDGE_ITEMS {
        Box::new((0..EDGE_ITEMS).chain(n - EDGE_ITEMS..n))
    } else {
        Box::new(0..n)
    }
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let summarise = self.numel() > SUMMARY_THRESHOLD;
        let idx = Printer::indices(self.dims(), summarise);
        let vals: Vec<f64> = idx.iter().map(|&i| self.get_f64(i)).collect();
        let strings: Vec<String> = match self.dtype() {
            DType::Float32 | DType::Float64 => {
                let (sci, prec) = float_style(&vals);
                vals.iter().map(|&v| fmt_float(v, sci, prec)).collect()
            }
            DType::Bool => vals
                .iter()
                .map(|&v| if v != 0.0 { "true" } else { "false" }.to_string())
                .collect(),
            _ => vals.iter().map(|&v| format!("{}", v as i64)).collect(),
        };
        let width = strings.iter().map(|s| s.len()).max().unwrap_or(0);
        let p = Printer {
            t: self,
            summarise,
            strings,
            width,
        };
        let prefix = "Tensor(";
        let one_line_len = p.strings.len() * (width + 2) + 2 * self.rank();
        let multiline = self.rank() >= 2 && one_line_len > LINE_WIDTH;
        f.write_str(prefix)?;
        if self.rank() == 0 {
            write!(f, "{}", p.strings[0])?;
        } else {
            p.write(f, 0, &mut 0, prefix.len(), multiline)?;
        }
        write!(f, ", shape={}, dtype={})", self.shape(), self.dtype())
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use crate::{DType, Tensor};

    #[test]
    fn prints_like_the_design_card() {
        let t = Tensor::from([[50, 114], [60, 140]]);
        assert_eq!(
            t.to_string(),
            "Tensor([[ 50, 114], [ 60, 140]], shape=(2, 2), dtype=int32)"
        );
    }

    #[test]
    fn prints_scalars_floats_bools() {
        assert_eq!(
            Tensor::scalar(2.5f32).to_string(),
            "Tensor(2.5, shape=(), dtype=float32)"
        );
        assert_eq!(
            Tensor::from([1.0f64, 2.0]).to_string(),
            "Tensor([1., 2.], shape=(2,), dtype=float64)"
        );
        assert_eq!(
            Tensor::from([true, false]).to_string(),
            "Tensor([ true, false], shape=(2,), dtype=bool)"
        );
        assert_eq!(
            Tensor::from([1e-5f32, 1.0]).to_string(),
            "Tensor([1.0000e-05, 1.0000e+00], shape=(2,), dtype=float32)"
        );
    }

    #[test]
    fn summarises_large_tensors() {
        let t = Tensor::arange(0.0, 2000.0, 1.0, DType::Int32);
        assert_eq!(
            t.to_string(),
            "Tensor([   0,    1,    2, ..., 1997, 1998, 1999], shape=(2000,), dtype=int32)"
        );
        let m = Tensor::arange(0.0, 4000.0, 1.0, DType::Int32).reshape([100, 40]);
        let s = m.to_string();
        assert!(
            s.starts_with("Tensor([[   0,    1,    2, ...,   37,   38,   39],\n"),
            "{s}"
        );
        assert!(s.contains(" ...,\n"), "{s}");
        assert!(
            s.ends_with("3997, 3998, 3999]], shape=(100, 40), dtype=int32)"),
            "{s}"
        );
    }
}
