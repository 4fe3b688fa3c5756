//! Row plumbing: slicing elements along axis 0, stacking them into batches (with or without
//! padding) and splitting batches back. Works on contiguous row data directly, which is both the
//! simplest and the fastest way to build a batch.

use crate::element::Elem;
use crate::error::{bail, DataError, DataErrorKind, Result};
use keen_tensor::{dispatch_all, Shape, Tensor};

/// Row `i` of `t` along axis 0 (a copy of shape `dims[1..]`).
pub(crate) fn tensor_row(t: &Tensor, i: usize) -> Tensor {
    let inner: Vec<usize> = t.dims()[1..].to_vec();
    let n: usize = inner.iter().product();
    let c = t.contiguous();
    dispatch_all!(t.dtype(), T, {
        let s = c.as_slice::<T>().expect("contiguous");
        Tensor::from_vec(s[i * n..(i + 1) * n].to_vec(), inner)
    })
}

/// The length along axis 0 shared by every tensor in `e`, or an error.
pub(crate) fn leading_len(e: &Elem, what: &str) -> Result<usize> {
    let mut n: Option<usize> = None;
    fn walk(e: &Elem, n: &mut Option<usize>, what: &str) -> Result<()> {
        let len = match e {
            Elem::Tensor(t) => {
                if t.rank() == 0 {
                    bail!(Shape, "{what}: a scalar tensor has no axis 0 to slice");
                }
                t.dims()[0]
            }
            Elem::Texts(v) => v.len(),
            Elem::Text(_) => bail!(Shape, "{what}: a single text has no axis 0 to slice"),
            Elem::Tuple(v) => {
                for e in v {
                    walk(e, n, what)?;
                }
                return Ok(());
            }
            Elem::Map(m) => {
                for e in m.values() {
                    walk(e, n, what)?;
                }
                return Ok(());
            }
        };
        match *n {
            None => *n = Some(len),
            Some(m) if m != len => bail!(
                Shape,
                "{what}: components differ in length along axis 0 ({m} vs {len})"
            ),
            _ => {}
        }
        Ok(())
    }
    walk(e, &mut n, what)?;
    n.ok_or_else(|| DataError::new(DataErrorKind::Shape, format!("{what}: no tensors")))
}

/// Row `i` of every component of `e`.
pub(crate) fn elem_row(e: &Elem, i: usize) -> Elem {
    match e {
        Elem::Tensor(t) => Elem::Tensor(tensor_row(t, i)),
        Elem::Texts(v) => Elem::Text(v[i].clone()),
        Elem::Text(s) => Elem::Text(s.clone()),
        Elem::Tuple(v) => Elem::Tuple(v.iter().map(|e| elem_row(e, i)).collect()),
        Elem::Map(m) => Elem::Map(m.iter().map(|(k, e)| (k.clone(), elem_row(e, i))).collect()),
    }
}

/// How [`stack`] fills rows of different shapes.
#[derive(Clone, Debug)]
pub(crate) enum Pad {
    /// No padding: shapes must agree.
    None,
    /// Pad every axis to the longest row in the batch (or to the given fixed shapes, one per
    /// tensor in depth-first order; `None` entries pad to the longest) with `value`.
    To(Option<Vec<Option<Vec<usize>>>>, f64),
}

/// Stacks elements of one structure into a batch along a new axis 0.
pub(crate) fn stack(items: &[Elem], pad: &Pad) -> Result<Elem> {
    let mut leaf = 0usize;
    stack_at(items, pad, &mut leaf, "")
}

fn stack_at(items: &[Elem], pad: &Pad, leaf: &mut usize, path: &str) -> Result<Elem> {
    let first = &items[0];
    let mismatch = |i: usize, e: &Elem| -> DataError {
        DataError::new(
            DataErrorKind::Shape,
            format!(
                "batch: element {i}{path} is {} but element 0 is {}",
                e.describe(),
                first.describe()
            ),
        )
    };
    Ok(match first {
        Elem::Tensor(_) => {
            let mut ts = Vec::with_capacity(items.len());
            for (i, e) in items.iter().enumerate() {
                match e {
                    Elem::Tensor(t) => ts.push(t),
                    other => return Err(mismatch(i, other)),
                }
            }
            let fixed = match pad {
                Pad::To(Some(shapes), _) => shapes.get(*leaf).cloned().flatten(),
                _ => None,
            };
            *leaf += 1;
            Elem::Tensor(stack_tensors(&ts, pad, fixed.as_deref(), path)?)
        }
        Elem::Text(_) => {
            let mut v = Vec::with_capacity(items.len());
            for (i, e) in items.iter().enumerate() {
                match e {
                    Elem::Text(s) => v.push(s.clone()),
                    other => return Err(mismatch(i, other)),
                }
            }
            Elem::Texts(v)
        }
        Elem::Texts(_) => bail!(
            Shape,
            "batch{path}: elements are already batches of texts; unbatch first"
        ),
        Elem::Tuple(f) => {
            let mut cols: Vec<Vec<Elem>> = vec![Vec::with_capacity(items.len()); f.len()];
            for (i, e) in items.iter().enumerate() {
                match e {
                    Elem::Tuple(v) if v.len() == f.len() => {
                        for (c, x) in cols.iter_mut().zip(v) {
                            c.push(x.clone());
                        }
                    }
                    other => return Err(mismatch(i, other)),
                }
            }
            let mut out = Vec::with_capacity(f.len());
            for (j, c) in cols.iter().enumerate() {
                out.push(stack_at(c, pad, leaf, &format!("{path}.{j}"))?);
            }
            Elem::Tuple(out)
        }
        Elem::Map(f) => {
            let mut out = std::collections::BTreeMap::new();
            for k in f.keys() {
                let mut col = Vec::with_capacity(items.len());
                for (i, e) in items.iter().enumerate() {
                    match e {
                        Elem::Map(m) if m.len() == f.len() && m.contains_key(k) => {
                            col.push(m[k].clone())
                        }
                        other => return Err(mismatch(i, other)),
                    }
                }
                out.insert(
                    k.clone(),
                    stack_at(&col, pad, leaf, &format!("{path}[{k:?}]"))?,
                );
            }
            Elem::Map(out)
        }
    })
}

/// Stacks tensors of one dtype along a new axis 0, padding when asked.
pub(crate) fn stack_tensors(
    ts: &[&Tensor],
    pad: &Pad,
    fixed: Option<&[usize]>,
    path: &str,
) -> Result<Tensor> {
    let t0 = ts[0];
    for (i, t) in ts.iter().enumerate() {
        if t.dtype() != t0.dtype() {
            bail!(
                Shape,
                "batch: element {i}{path} has dtype {} but element 0 has {}",
                t.dtype(),
                t0.dtype()
            );
        }
        if t.rank() != t0.rank() {
            bail!(
                Shape,
                "batch: element {i}{path} has shape {} but element 0 has {}: ranks differ",
                t.shape(),
                t0.shape()
            );
        }
    }
    let value = match pad {
        Pad::None => {
            for (i, t) in ts.iter().enumerate() {
                if t.shape() != t0.shape() {
                    bail!(
                        Shape,
                        "batch: element {i}{path} has shape {} but element 0 has {}; \
                         use padded_batch for elements of different shapes",
                        t.shape(),
                        t0.shape()
                    );
                }
            }
            let mut dims = vec![ts.len()];
            dims.extend_from_slice(t0.dims());
            return Ok(dispatch_all!(t0.dtype(), T, {
                let mut data: Vec<T> = Vec::with_capacity(ts.len() * t0.numel());
                for t in ts {
                    match t.as_slice::<T>() {
                        Some(s) => data.extend_from_slice(s),
                        None => data.extend(t.view::<T>().iter().copied()),
                    }
                }
                Tensor::from_vec(data, dims)
            }));
        }
        Pad::To(_, v) => *v,
    };
    let rank = t0.rank();
    let mut target: Vec<usize> = (0..rank)
        .map(|a| ts.iter().map(|t| t.dims()[a]).max().unwrap_or(0))
        .collect();
    if let Some(f) = fixed {
        if f.len() != rank {
            bail!(
                Shape,
                "padded_batch{path}: padded shape {} has rank {} but the elements have rank {rank}",
                Shape::new(f),
                f.len()
            );
        }
        for (i, t) in ts.iter().enumerate() {
            for a in 0..rank {
                if t.dims()[a] > f[a] {
                    bail!(
                        Shape,
                        "padded_batch: element {i}{path} has shape {}, longer than the padded shape {} on axis {a}",
                        t.shape(),
                        Shape::new(f)
                    );
                }
            }
        }
        target = f.to_vec();
    }
    let row: usize = target.iter().product();
    let mut dims = vec![ts.len()];
    dims.extend_from_slice(&target);
    Ok(dispatch_all!(t0.dtype(), T, {
        let fill = T::from_f64(value);
        let mut data: Vec<T> = vec![fill; ts.len() * row];
        let tstrides = Shape::new(&target).contiguous_strides();
        for (i, t) in ts.iter().enumerate() {
            let base = i * row;
            let src = t.contiguous();
            let s = src.as_slice::<T>().expect("contiguous");
            let d = t.dims();
            let inner = if rank == 0 { 1 } else { d[rank - 1] };
            let nrows = s.len().checked_div(inner).unwrap_or(0);
            for r in 0..nrows {
                // Position of row r (all axes but the last) inside the padded row.
                let mut rem = r;
                let mut off = 0usize;
                for a in (0..rank.saturating_sub(1)).rev() {
                    off += (rem % d[a]) * tstrides[a] as usize;
                    rem /= d[a];
                }
                data[base + off..base + off + inner]
                    .copy_from_slice(&s[r * inner..(r + 1) * inner]);
            }
        }
        Tensor::from_vec(data, dims)
    }))
}

/// Splits a batched element along axis 0 into its rows.
pub(crate) fn unstack(e: &Elem) -> Result<Vec<Elem>> {
    let n = leading_len(e, "unbatch")?;
    Ok((0..n).map(|i| elem_row(e, i)).collect())
}
