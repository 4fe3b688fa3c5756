//! serde for [`Tensor`]: a struct of `dtype`, `shape` and `data` (the values in row-major order,
//! in their own element type, so int64 values survive exactly).
//!
//! In JSON a float32 tensor of shape (2, 2) reads
//! `{"dtype":"Float32","shape":[2,2],"data":[1.0,2.0,3.0,4.0]}`. Views (transposed, broadcast)
//! serialize their logical values, and deserialize as a new contiguous tensor.
//!
//! Deserialization checks that `data` fills `shape` exactly and that the shape's size is
//! sane, and reports the problem in keen's words (`tensor: 5 values do not fill shape (2, 3)
//! (6 elements)`). `dtype` must come before `data`, as keen writes it: formats that are not
//! self-describing (bincode) need the dtype to read the data. JSON cannot hold NaN or
//! infinities (serde_json writes `null`); use a binary format for such tensors. Tests:
//! `tests/core_ops.rs` (`serde_*`).

use crate::dtype::{DType, Element};
use crate::shape::Shape;
use crate::tensor::Tensor;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

const FIELDS: &[&str] = &["dtype", "shape", "data"];

impl Serialize for Tensor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Tensor", 3)?;
        st.serialize_field("dtype", &self.dtype())?;
        st.serialize_field("shape", self.shape())?;
        crate::dispatch_all!(self.dtype(), T, {
            match self.as_slice::<T>() {
                Some(v) => st.serialize_field("data", v)?,
                None => st.serialize_field("data", &self.to_vec::<T>())?,
            }
        });
        st.end()
    }
}

impl<'de> Deserialize<'de> for Tensor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Tensor, D::Error> {
        d.deserialize_struct("Tensor", FIELDS, TensorVisitor)
    }
}

/// The values of a tensor, read in the element type named by the dtype field.
enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    Bool(Vec<bool>),
}

/// Reads `data` once the dtype is known.
struct DataSeed(DType);

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = Data;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Data, D::Error> {
        Ok(match self.0 {
            DType::Float32 => Data::F32(d.deserialize_seq(VecVisitor(PhantomData))?),
            DType::Float64 => Data::F64(d.deserialize_seq(VecVisitor(PhantomData))?),
            DType::Int32 => Data::I32(d.deserialize_seq(VecVisitor(PhantomData))?),
            DType::Int64 => Data::I64(d.deserialize_seq(VecVisitor(PhantomData))?),
            DType::UInt8 => Data::U8(d.deserialize_seq(VecVisitor(PhantomData))?),
            DType::Bool => Data::Bool(d.deserialize_seq(VecVisitor(PhantomData))?),
        })
    }
}

/// A `Vec<T>` that does not trust the format's length hint with its allocation: a corrupt
/// or hostile length cannot exhaust memory before the data runs out.
struct VecVisitor<T>(PhantomData<T>);

impl<'de, T: Element + Deserialize<'de>> Visitor<'de> for VecVisitor<T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a sequence of {} values", T::DTYPE)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
        while let Some(x) = seq.next_element()? {
            v.push(x);
        }
        Ok(v)
    }
}

struct TensorVisitor;

impl TensorVisitor {
    fn build<E: de::Error>(shape: Shape, data: Data) -> Result<Tensor, E> {
        let t = match data {
            Data::F32(v) => Tensor::try_from_vec(v, shape),
            Data::F64(v) => Tensor::try_from_vec(v, shape),
            Data::I32(v) => Tensor::try_from_vec(v, shape),
            Data::I64(v) => Tensor::try_from_vec(v, shape),
            Data::U8(v) => Tensor::try_from_vec(v, shape),
            Data::Bool(v) => Tensor::try_from_vec(v, shape),
        };
        // try_from_vec names itself; a reader of a checkpoint wants to hear about the tensor.
        t.map_err(|e| E::custom(e.message().replacen("from_vec:", "tensor:", 1)))
    }
}

impl<'de> Visitor<'de> for TensorVisitor {
    type Value = Tensor;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tensor: a struct with dtype, shape and data")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tensor, A::Error> {
        const WANT: &str = "dtype, shape and data";
        let dtype: DType = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &WANT))?;
        let shape: Shape = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &WANT))?;
        let data = seq
            .next_element_seed(DataSeed(dtype))?
            .ok_or_else(|| de::Error::invalid_length(2, &WANT))?;
        Self::build(shape, data)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tensor, A::Error> {
        let (mut dtype, mut shape, mut data) = (None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "dtype" => dtype = Some(map.next_value::<DType>()?),
                "shape" => shape = Some(map.next_value::<Shape>()?),
                "data" => {
                    let Some(dt) = dtype else {
                        return Err(de::Error::custom(
                            "tensor: field `dtype` must come before `data`",
                        ));
                    };
                    data = Some(map.next_value_seed(DataSeed(dt))?);
                }
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        dtype.ok_or_else(|| de::Error::missing_field("dtype"))?;
        let shape = shape.ok_or_else(|| de::Error::missing_field("shape"))?;
        let data = data.ok_or_else(|| de::Error::missing_field("data"))?;
        Self::build(shape, data)
    }
}
