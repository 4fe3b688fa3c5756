//! [`Elem`]: one element of a dataset — a tensor, a piece of text, or a tuple or named map of them.

use crate::error::{bail, Result};
use keen_tensor::Tensor;
use std::collections::BTreeMap;
use std::fmt;

/// One element of a [`Dataset`](crate::Dataset): a tensor, a text (a file path, a sentence), or a
/// tuple or named map of elements, nested as deep as needed.
///
/// Conversions make the common cases short: `Elem::from(t)`, `Elem::from((x, y))`,
/// `Elem::map([("image", img), ("label", y)])`; and back: `e.tensor()?`, `e.pair()?`,
/// `e.field("image")?`.
///
/// ```
/// use keen_data::Elem;
/// use keen_tensor::Tensor;
/// let e = Elem::from((Tensor::from([1.0f32, 2.0]), Tensor::scalar(3i64)));
/// let (x, y) = e.pair().unwrap();
/// assert_eq!(x.dims(), [2]);
/// assert_eq!(y.item::<i64>(), 3);
/// ```
#[derive(Clone)]
pub enum Elem {
    /// A tensor.
    Tensor(Tensor),
    /// A UTF-8 string (keen has no string dtype).
    Text(String),
    /// A batch of strings (what batching [`Elem::Text`] gives).
    Texts(Vec<String>),
    /// A tuple of elements.
    Tuple(Vec<Elem>),
    /// Named elements, in key order.
    Map(BTreeMap<String, Elem>),
}

impl Elem {
    /// A named map from `(name, element)` pairs.
    pub fn map<K: Into<String>, V: Into<Elem>>(items: impl IntoIterator<Item = (K, V)>) -> Elem {
        Elem::Map(
            items
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// What kind of element this is, for messages: `tensor (28, 28) uint8`, `tuple of 2`, ….
    pub fn describe(&self) -> String {
        match self {
            Elem::Tensor(t) => format!("tensor {} {}", t.shape(), t.dtype()),
            Elem::Text(_) => "text".into(),
            Elem::Texts(v) => format!("{} texts", v.len()),
            Elem::Tuple(v) => format!(
                "tuple ({})",
                v.iter()
                    .map(|e| e.describe())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Elem::Map(m) => format!(
                "map {{{}}}",
                m.iter()
                    .map(|(k, e)| format!("{k}: {}", e.describe()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The tensor, or an error if this element is something else.
    pub fn tensor(&self) -> Result<&Tensor> {
        match self {
            Elem::Tensor(t) => Ok(t),
            other => bail!(Shape, "expected a tensor element, got {}", other.describe()),
        }
    }

    /// The tensor by value.
    pub fn into_tensor(self) -> Result<Tensor> {
        match self {
            Elem::Tensor(t) => Ok(t),
            other => bail!(Shape, "expected a tensor element, got {}", other.describe()),
        }
    }

    /// The text, or an error if this element is something else.
    pub fn text(&self) -> Result<&str> {
        match self {
            Elem::Text(s) => Ok(s),
            other => bail!(Shape, "expected a text element, got {}", other.describe()),
        }
    }

    /// The texts of a batched text element.
    pub fn texts(&self) -> Result<&[String]> {
        match self {
            Elem::Texts(s) => Ok(s),
            other => bail!(Shape, "expected a batch of texts, got {}", other.describe()),
        }
    }

    /// Item `i` of a tuple.
    pub fn get(&self, i: usize) -> Result<&Elem> {
        match self {
            Elem::Tuple(v) if i < v.len() => Ok(&v[i]),
            other => bail!(
                Shape,
                "expected a tuple with an item {i}, got {}",
                other.describe()
            ),
        }
    }

    /// The entry `name` of a map.
    pub fn field(&self, name: &str) -> Result<&Elem> {
        match self {
            Elem::Map(m) => match m.get(name) {
                Some(e) => Ok(e),
                None => bail!(
                    Shape,
                    "map has no entry {name:?} (it has {})",
                    m.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            },
            other => bail!(
                Shape,
                "expected a map with entry {name:?}, got {}",
                other.describe()
            ),
        }
    }

    /// The items of a tuple, by value.
    pub fn into_tuple(self) -> Result<Vec<Elem>> {
        match self {
            Elem::Tuple(v) => Ok(v),
            other => bail!(Shape, "expected a tuple, got {}", other.describe()),
        }
    }

    /// A two-tensor tuple `(x, y)` as a pair of tensors.
    pub fn pair(self) -> Result<(Tensor, Tensor)> {
        let d = self.describe();
        match self {
            Elem::Tuple(v) if v.len() == 2 => {
                let mut it = v.into_iter();
                let a = it.next().expect("two").into_tensor()?;
                let b = it.next().expect("two").into_tensor()?;
                Ok((a, b))
            }
            _ => bail!(Shape, "expected a pair of tensors, got {d}"),
        }
    }

    /// Every tensor in the element, depth first (map entries in key order).
    pub fn tensors(&self) -> Vec<&Tensor> {
        let mut out = Vec::new();
        fn walk<'a>(e: &'a Elem, out: &mut Vec<&'a Tensor>) {
            match e {
                Elem::Tensor(t) => out.push(t),
                Elem::Text(_) | Elem::Texts(_) => {}
                Elem::Tuple(v) => v.iter().for_each(|e| walk(e, out)),
                Elem::Map(m) => m.values().for_each(|e| walk(e, out)),
            }
        }
        walk(self, &mut out);
        out
    }

    /// Applies `f` to every tensor, keeping the structure.
    pub fn map_tensors(self, f: &mut impl FnMut(Tensor) -> Result<Tensor>) -> Result<Elem> {
        Ok(match self {
            Elem::Tensor(t) => Elem::Tensor(f(t)?),
            Elem::Tuple(v) => Elem::Tuple(
                v.into_iter()
                    .map(|e| e.map_tensors(f))
                    .collect::<Result<_>>()?,
            ),
            Elem::Map(m) => Elem::Map(
                m.into_iter()
                    .map(|(k, e)| Ok((k, e.map_tensors(f)?)))
                    .collect::<Result<_>>()?,
            ),
            other => other,
        })
    }
}

impl fmt::Debug for Elem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Elem::Tensor(t) => write!(f, "{t}"),
            Elem::Text(s) => write!(f, "{s:?}"),
            Elem::Texts(v) => write!(f, "{v:?}"),
            Elem::Tuple(v) => f.debug_tuple("").field(v).finish(),
            Elem::Map(m) => f.debug_map().entries(m.iter()).finish(),
        }
    }
}

impl PartialEq for Elem {
    /// Structural equality: same structure, shapes, dtypes and values.
    fn eq(&self, other: &Elem) -> bool {
        match (self, other) {
            (Elem::Tensor(a), Elem::Tensor(b)) => {
                a.dtype() == b.dtype() && a.shape() == b.shape() && a.to_f64_vec() == b.to_f64_vec()
            }
            (Elem::Text(a), Elem::Text(b)) => a == b,
            (Elem::Texts(a), Elem::Texts(b)) => a == b,
            (Elem::Tuple(a), Elem::Tuple(b)) => a == b,
            (Elem::Map(a), Elem::Map(b)) => a == b,
            _ => false,
        }
    }
}

impl From<Tensor> for Elem {
    fn from(t: Tensor) -> Elem {
        Elem::Tensor(t)
    }
}
impl From<&Tensor> for Elem {
    fn from(t: &Tensor) -> Elem {
        Elem::Tensor(t.clone())
    }
}
impl From<String> for Elem {
    fn from(s: String) -> Elem {
        Elem::Text(s)
    }
}
impl From<&str> for Elem {
    fn from(s: &str) -> Elem {
        Elem::Text(s.to_string())
    }
}
impl From<Vec<Elem>> for Elem {
    fn from(v: Vec<Elem>) -> Elem {
        Elem::Tuple(v)
    }
}
impl From<BTreeMap<String, Elem>> for Elem {
    fn from(m: BTreeMap<String, Elem>) -> Elem {
        Elem::Map(m)
    }
}
impl<A: Into<Elem>, B: Into<Elem>> From<(A, B)> for Elem {
    fn from((a, b): (A, B)) -> Elem {
        Elem::Tuple(vec![a.into(), b.into()])
    }
}
impl<A: Into<Elem>, B: Into<Elem>, C: Into<Elem>> From<(A, B, C)> for Elem {
    fn from((a, b, c): (A, B, C)) -> Elem {
        Elem::Tuple(vec![a.into(), b.into(), c.into()])
    }
}
