//! Images: decoding PNG/JPEG into HWC tensors, resizing (nearest, bilinear, bicubic), and the
//! augmentation ops of pix2pix-style jitter (random crop joint over a pair, flip, normalise).
//!
//! Tensors are channels-last: `(height, width, channels)` for one image, `(n, h, w, c)` for a
//! batch. Decoded images are float32 in a chosen range (default `[0, 1]`) or raw uint8.
//!
//! ```
//! use keen_data::image::{self, Filter};
//! use keen_tensor::Tensor;
//! let img = Tensor::from_vec((0..48).map(|v| v as f32).collect::<Vec<_>>(), [4, 4, 3]);
//! let small = image::resize(&img, 2, 2, Filter::Bilinear).unwrap();
//! assert_eq!(small.dims(), [2, 2, 3]);
//! let flipped = image::flip_left_right(&img).unwrap();
//! assert_eq!(flipped.to_vec::<f32>()[..3], [9.0, 10.0, 11.0]);
//! ```

use crate::dataset::Dataset;
use crate::element::Elem;
use crate::error::{bail, DataError, DataErrorKind, Result};
use crate::rng::Rng;
use keen_tensor::{DType, Tensor};
use std::path::Path;

/// Resampling filter for [`resize`], with half-pixel centres (TensorFlow 2 / PyTorch
/// `align_corners=False`), no antialiasing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// The nearest source pixel.
    Nearest,
    /// Linear interpolation between the 2×2 nearest pixels.
    Bilinear,
    /// Keys' cubic convolution (a = −0.5, as TensorFlow) over 4×4 pixels.
    Bicubic,
}

/// How to decode an image: channels, size, resampling filter, value range.
#[derive(Clone, Debug)]
pub struct ImageOptions {
    channels: Option<usize>,
    size: Option<(usize, usize)>,
    filter: Filter,
    range: Option<(f32, f32)>,
    background: Option<f32>,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions::new()
    }
}

impl ImageOptions {
    /// The stored channels (alpha kept), stored size, float32 in `[0, 1]`.
    pub fn new() -> Self {
        ImageOptions {
            channels: None,
            size: None,
            filter: Filter::Bilinear,
            range: Some((0.0, 1.0)),
            background: None,
        }
    }

    /// Converts to 1 (grey), 3 (RGB) or 4 (RGBA) channels.
    pub fn channels(mut self, c: usize) -> Self {
        self.channels = Some(c);
        self
    }

    /// Resizes to `height × width` with `filter`.
    pub fn resize(mut self, height: usize, width: usize, filter: Filter) -> Self {
        self.size = Some((height, width));
        self.filter = filter;
        self
    }

    /// Float32 values scaled linearly from `0..=255` to `lo..=hi` (e.g. `(-1.0, 1.0)` for a
    /// tanh generator).
    pub fn range(mut self, lo: f32, hi: f32) -> Self {
        self.range = Some((lo, hi));
        self
    }

    /// Raw uint8 values instead of floats.
    pub fn uint8(mut self) -> Self {
        self.range = None;
        self
    }

    /// Composites transparent images over a grey level in `[0, 1]` (1 = white) when dropping
    /// alpha (channels 1 or 3); without it alpha is simply dropped.
    pub fn background(mut self, level: f32) -> Self {
        self.background = Some(level);
        self
    }
}

/// Decodes PNG or JPEG bytes into an HWC tensor. `name` is used in error messages.
pub fn decode(bytes: &[u8], options: &ImageOptions, name: &str) -> Result<Tensor> {
    let img = ::image::load_from_memory(bytes).map_err(|e| {
        DataError::new(
            DataErrorKind::Decode,
            format!("image {name}: cannot decode: {e}"),
        )
    })?;
    let stored = img.color().channel_count() as usize;
    let c = options.channels.unwrap_or(stored);
    let (w, h) = (img.width() as usize, img.height() as usize);
    let has_alpha = img.color().has_alpha();
    let mut data: Vec<f32> = match (c, options.background, has_alpha) {
        (1 | 3, Some(bg), true) => {
            let rgba = img.to_rgba8();
            let bg = bg * 255.0;
            let mut out = Vec::with_capacity(w * h * c);
            for p in rgba.pixels() {
                let a = p[3] as f32 / 255.0;
                let rgb = [0, 1, 2].map(|k| p[k] as f32 * a + bg * (1.0 - a));
                if c == 1 {
                    out.push(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
                } else {
                    out.extend_from_slice(&rgb);
                }
            }
            out
        }
        (1, _, _) => img
            .to_luma8()
            .into_raw()
            .into_iter()
            .map(f32::from)
            .collect(),
        (2, _, _) => img
            .to_luma_alpha8()
            .into_raw()
            .into_iter()
            .map(f32::from)
            .collect(),
        (3, _, _) => img
            .to_rgb8()
            .into_raw()
            .into_iter()
            .map(f32::from)
            .collect(),
        (4, _, _) => img
            .to_rgba8()
            .into_raw()
            .into_iter()
            .map(f32::from)
            .collect(),
        _ => bail!(
            Argument,
            "image {name}: cannot convert to {c} channels (1, 2, 3 or 4)"
        ),
    };
    let mut dims = [h, w, c];
    if let Some((nh, nw)) = options.size {
        data = resize_hwc(&data, h, w, c, nh, nw, options.filter);
        dims = [nh, nw, c];
    }
    Ok(match options.range {
        Some((lo, hi)) => {
            let s = (hi - lo) / 255.0;
            Tensor::from_vec(
                data.into_iter().map(|v| v * s + lo).collect::<Vec<_>>(),
                dims,
            )
        }
        None => Tensor::from_vec(
            data.into_iter()
                .map(|v| v.round().clamp(0.0, 255.0) as u8)
                .collect::<Vec<_>>(),
            dims,
        ),
    })
}

/// Reads and decodes an image file.
pub fn load(path: impl AsRef<Path>, options: &ImageOptions) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| DataError::io("image: cannot read", path, e))?;
    decode(&bytes, options, &path.display().to_string())
}

/// Writes an HWC (or HW) tensor as PNG: uint8 as is, floats clamped from `[0, 1]`.
pub fn save_png(t: &Tensor, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let (h, w, c) = match t.dims() {
        [h, w] => (*h, *w, 1),
        [h, w, c] => (*h, *w, *c),
        _ => bail!(
            Shape,
            "save_png: expected an (h, w, c) image, got shape {}",
            t.shape()
        ),
    };
    let bytes: Vec<u8> = if t.dtype() == DType::UInt8 {
        t.to_vec::<u8>()
    } else {
        t.cast(DType::Float32)
            .to_vec::<f32>()
            .into_iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect()
    };
    let color = match c {
        1 => ::image::ExtendedColorType::L8,
        2 => ::image::ExtendedColorType::La8,
        3 => ::image::ExtendedColorType::Rgb8,
        4 => ::image::ExtendedColorType::Rgba8,
        _ => bail!(Shape, "save_png: {c} channels; expected 1 to 4"),
    };
    ::image::save_buffer(path, &bytes, w as u32, h as u32, color).map_err(|e| {
        DataError::new(
            DataErrorKind::Io,
            format!("save_png {}: {e}", path.display()),
        )
    })
}

impl Dataset {
    /// The images matching a glob pattern, decoded with `options`, in sorted path order.
    /// Decoding is lazy; an undecodable file is an error element naming it.
    pub fn images(pattern: &str, options: ImageOptions) -> Result<Dataset> {
        Ok(Dataset::list_files(pattern)?.map(move |e| Ok(Elem::from(load(e.text()?, &options)?))))
    }
}

// ---------------------------------------------------------------------------------------------
// Resizing

fn cubic(x: f32) -> f32 {
    const A: f32 = -0.5;
    let x = x.abs();
    if x <= 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
    } else {
        0.0
    }
}

/// Source taps and weights for each output index along one axis.
fn taps(n_in: usize, n_out: usize, filter: Filter) -> Vec<Vec<(usize, f32)>> {
    let scale = n_in as f32 / n_out as f32;
    let clamp = |i: isize| i.clamp(0, n_in as isize - 1) as usize;
    (0..n_out)
        .map(|o| {
            let src = (o as f32 + 0.5) * scale - 0.5;
            match filter {
                Filter::Nearest => {
                    vec![(
                        ((o as f32 + 0.5) * scale).floor().min(n_in as f32 - 1.0) as usize,
                        1.0,
                    )]
                }
                Filter::Bilinear => {
                    let s = src.max(0.0);
                    let i0 = s.floor() as isize;
                    let f = s - i0 as f32;
                    vec![(clamp(i0), 1.0 - f), (clamp(i0 + 1), f)]
                }
                Filter::Bicubic => {
                    let i0 = src.floor() as isize;
                    let f = src - i0 as f32;
                    (-1..=2)
                        .map(|k| (clamp(i0 + k), cubic(f - k as f32)))
                        .collect()
                }
            }
        })
        .collect()
}

fn resize_hwc(
    data: &[f32],
    h: usize,
    w: usize,
    c: usize,
    nh: usize,
    nw: usize,
    f: Filter,
) -> Vec<f32> {
    if (h, w) == (nh, nw) {
        return data.to_vec();
    }
    // Rows first (h → nh), then columns (w → nw).
    let th = taps(h, nh, f);
    let mut mid = vec![0f32; nh * w * c];
    for (o, t) in th.iter().enumerate() {
        let dst = &mut mid[o * w * c..(o + 1) * w * c];
        for &(i, wt) in t {
            let src = &data[i * w * c..(i + 1) * w * c];
            for (d, s) in dst.iter_mut().zip(src) {
                *d += wt * s;
            }
        }
    }
    let tw = taps(w, nw, f);
    let mut out = vec![0f32; nh * nw * c];
    for y in 0..nh {
        let row = &mid[y * w * c..(y + 1) * w * c];
        for (o, t) in tw.iter().enumerate() {
            let dst = &mut out[(y * nw + o) * c..(y * nw + o + 1) * c];
            for &(i, wt) in t {
                for k in 0..c {
                    dst[k] += wt * row[i * c + k];
                }
            }
        }
    }
    out
}

/// Splits an image or batch into (batch, h, w, c) for the ops below.
fn hwc(t: &Tensor, op: &str) -> Result<(usize, usize, usize, usize)> {
    match *t.dims() {
        [h, w, c] => Ok((1, h, w, c)),
        [n, h, w, c] => Ok((n, h, w, c)),
        _ => bail!(
            Shape,
            "{op}: expected an image (h, w, c) or a batch (n, h, w, c), got shape {}",
            t.shape()
        ),
    }
}

fn rebuild(t: &Tensor, data: Vec<f32>, n: usize, h: usize, w: usize, c: usize) -> Tensor {
    let dims: Vec<usize> = if t.rank() == 3 {
        vec![h, w, c]
    } else {
        vec![n, h, w, c]
    };
    if t.dtype() == DType::UInt8 {
        Tensor::from_vec(
            data.into_iter()
                .map(|v| v.round().clamp(0.0, 255.0) as u8)
                .collect::<Vec<_>>(),
            dims,
        )
    } else {
        Tensor::from_vec(data, dims).cast(t.dtype())
    }
}

/// Resizes an image `(h, w, c)` or a batch `(n, h, w, c)` to `height × width`. Floats stay
/// floats (the result is float32 or float64 like the input); uint8 is rounded back.
pub fn resize(t: &Tensor, height: usize, width: usize, filter: Filter) -> Result<Tensor> {
    let (n, h, w, c) = hwc(t, "resize")?;
    if height == 0 || width == 0 || h == 0 || w == 0 {
        bail!(
            Argument,
            "resize: cannot resize shape {} to {height}x{width}",
            t.shape()
        );
    }
    let src = t.cast(DType::Float32).contiguous().to_vec::<f32>();
    let mut out = Vec::with_capacity(n * height * width * c);
    for b in 0..n {
        out.extend(resize_hwc(
            &src[b * h * w * c..(b + 1) * h * w * c],
            h,
            w,
            c,
            height,
            width,
            filter,
        ));
    }
    Ok(rebuild(t, out, n, height, width, c))
}

/// Mirrors left–right (along the width axis).
pub fn flip_left_right(t: &Tensor) -> Result<Tensor> {
    let (n, h, w, c) = hwc(t, "flip_left_right")?;
    let src = t.cast(DType::Float32).contiguous().to_vec::<f32>();
    let mut out = vec![0f32; src.len()];
    for r in 0..n * h {
        for x in 0..w {
            let (d, s) = ((r * w + x) * c, (r * w + (w - 1 - x)) * c);
            out[d..d + c].copy_from_slice(&src[s..s + c]);
        }
    }
    Ok(rebuild(t, out, n, h, w, c))
}

/// Mirrors top–bottom (along the height axis).
pub fn flip_up_down(t: &Tensor) -> Result<Tensor> {
    let (n, h, w, c) = hwc(t, "flip_up_down")?;
    let src = t.cast(DType::Float32).contiguous().to_vec::<f32>();
    let row = w * c;
    let mut out = vec![0f32; src.len()];
    for b in 0..n {
        for y in 0..h {
            let (d, s) = ((b * h + y) * row, (b * h + h - 1 - y) * row);
            out[d..d + row].copy_from_slice(&src[s..s + row]);
        }
    }
    Ok(rebuild(t, out, n, h, w, c))
}

/// The `height × width` window whose top-left corner is `(top, left)`.
pub fn crop(t: &Tensor, top: usize, left: usize, height: usize, width: usize) -> Result<Tensor> {
    let (n, h, w, c) = hwc(t, "crop")?;
    if top + height > h || left + width > w {
        bail!(
            Shape,
            "crop: window {height}x{width} at ({top}, {left}) does not fit in an image of shape {}",
            t.shape()
        );
    }
    let src = t.cast(DType::Float32).contiguous().to_vec::<f32>();
    let mut out = Vec::with_capacity(n * height * width * c);
    for b in 0..n {
        for y in top..top + height {
            let s = ((b * h + y) * w + left) * c;
            out.extend_from_slice(&src[s..s + width * c]);
        }
    }
    Ok(rebuild(t, out, n, height, width, c))
}

/// A random `height × width` crop (the same window for every image of a batch).
pub fn random_crop(t: &Tensor, height: usize, width: usize, rng: &mut Rng) -> Result<Tensor> {
    let (_, h, w, _) = hwc(t, "random_crop")?;
    if height > h || width > w {
        bail!(
            Shape,
            "random_crop: {height}x{width} is larger than the image {}",
            t.shape()
        );
    }
    let (top, left) = (rng.below(h - height + 1), rng.below(w - width + 1));
    crop(t, top, left, height, width)
}

/// The same random crop of two images of one size (pix2pix: input and target stay aligned).
pub fn random_crop_pair(
    a: &Tensor,
    b: &Tensor,
    height: usize,
    width: usize,
    rng: &mut Rng,
) -> Result<(Tensor, Tensor)> {
    let (_, h, w, _) = hwc(a, "random_crop_pair")?;
    let (_, hb, wb, _) = hwc(b, "random_crop_pair")?;
    if (h, w) != (hb, wb) {
        bail!(
            Shape,
            "random_crop_pair: images differ in size: {} vs {}",
            a.shape(),
            b.shape()
        );
    }
    if height > h || width > w {
        bail!(
            Shape,
            "random_crop_pair: {height}x{width} is larger than the images {}",
            a.shape()
        );
    }
    let (top, left) = (rng.below(h - height + 1), rng.below(w - width + 1));
    Ok((
        crop(a, top, left, height, width)?,
        crop(b, top, left, height, width)?,
    ))
}

/// Per-channel `(x - mean) / std` on a float image or batch (one entry per channel, or one for
/// all).
pub fn normalize(t: &Tensor, mean: &[f32], std: &[f32]) -> Result<Tensor> {
    let (n, h, w, c) = hwc(t, "normalize")?;
    let pick = |v: &[f32], k: usize, what: &str| -> Result<f32> {
        match v.len() {
            1 => Ok(v[0]),
            l if l == c => Ok(v[k]),
            l => bail!(Shape, "normalize: {l} {what} values for {c} channels"),
        }
    };
    let mut mu = Vec::with_capacity(c);
    let mut inv = Vec::with_capacity(c);
    for k in 0..c {
        mu.push(pick(mean, k, "mean")?);
        inv.push(1.0 / pick(std, k, "std")?);
    }
    let src = t.cast(DType::Float32).contiguous().to_vec::<f32>();
    let out: Vec<f32> = src
        .iter()
        .enumerate()
        .map(|(i, v)| (v - mu[i % c]) * inv[i % c])
        .collect();
    let dims: Vec<usize> = if t.rank() == 3 {
        vec![h, w, c]
    } else {
        vec![n, h, w, c]
    };
    Ok(Tensor::from_vec(out, dims))
}

/// pix2pix's random jitter: resize both to `resize_to` (nearest), crop the same random
/// `crop_to` window from both, and flip both left–right with probability 1/2.
pub fn jitter_pair(
    a: &Tensor,
    b: &Tensor,
    resize_to: (usize, usize),
    crop_to: (usize, usize),
    rng: &mut Rng,
) -> Result<(Tensor, Tensor)> {
    let a = resize(a, resize_to.0, resize_to.1, Filter::Nearest)?;
    let b = resize(b, resize_to.0, resize_to.1, Filter::Nearest)?;
    let (a, b) = random_crop_pair(&a, &b, crop_to.0, crop_to.1, rng)?;
    if rng.coin() {
        Ok((flip_left_right(&a)?, flip_left_right(&b)?))
    } else {
        Ok((a, b))
    }
}
