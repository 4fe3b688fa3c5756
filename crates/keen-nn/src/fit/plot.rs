//! Training curves as a PNG: one panel per quantity (`loss`, `accuracy`, …), each with its
//! validation twin (`val_loss`) drawn dashed in the same colour, as Keras users plot
//! `history.history` with matplotlib; and [`heat_map`], a labelled grid of weights (attention
//! maps: source tokens across, output tokens down).
//!
//! The text is drawn with DejaVu Sans compiled into the binary, so plotting needs no system
//! fonts (CI machines and containers have none).

use super::History;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform};
use std::fmt;
use std::path::Path;
use std::sync::Once;

/// Why a plot could not be written.
#[derive(Debug)]
pub struct PlotError(String);

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plot: {}", self.0)
    }
}

impl std::error::Error for PlotError {}

fn err(what: impl fmt::Display) -> PlotError {
    PlotError(what.to_string())
}

const FONT: &str = "sans-serif";
const PANEL_HEIGHT: u32 = 300;
const WIDTH: u32 = 720;

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are DejaVu Sans itself: registering cannot fail short of a corrupt crate.
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans font is valid"));
    });
}

impl History {
    /// Writes the curves of every logged quantity to `path` as a PNG, one panel per quantity
    /// with its `val_` twin dashed. The file is replaced atomically (temporary file, then
    /// rename), so a reader never sees half an image.
    ///
    /// ```
    /// # use keen_nn::fit::History;
    /// # fn demo(history: &History) -> Result<(), Box<dyn std::error::Error>> {
    /// history.plot("out/history.png")?;
    /// # Ok(()) }
    /// ```
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<(), PlotError> {
        let path = path.as_ref();
        let panels = self.panels();
        if panels.is_empty() || self.epochs.is_empty() {
            return Err(err("the history is empty: nothing was logged yet"));
        }
        register_font();
        let height = PANEL_HEIGHT * panels.len() as u32;
        let mut pixels = vec![255u8; (WIDTH * height * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, height)).into_drawing_area();
            let areas = root.split_evenly((panels.len(), 1));
            for (area, (name, val)) in areas.iter().zip(&panels) {
                self.draw_panel(area, name, val.as_deref())?;
            }
            root.present().map_err(err)?;
        }
        save_png(pixels, (WIDTH, height), path)
    }

    /// The quantities to draw, each with the name of its validation twin when logged.
    fn panels(&self) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        for n in &self.names {
            if let Some(base) = n.strip_prefix("val_")
                && self.values.contains_key(base)
            {
                continue;
            }
            let val = format!("val_{n}");
            let val = self.values.contains_key(&val).then_some(val);
            out.push((n.clone(), val));
        }
        out
    }

    fn draw_panel(
        &self,
        area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
        name: &str,
        val: Option<&str>,
    ) -> Result<(), PlotError> {
        // Epochs are 1-based on the axis, as Keras' progress bar counts them.
        let series = |n: &str| -> Vec<(f64, f64)> {
            self.epochs
                .iter()
                .zip(&self.values[n])
                .filter(|(_, v)| v.is_finite())
                .map(|(&e, &v)| (e as f64 + 1.0, v))
                .collect()
        };
        let train = series(name);
        let valid = val.map(series).unwrap_or_default();
        let all = train.iter().chain(&valid);
        let (mut lo, mut hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        let pad = ((hi - lo) * 0.08).max(1e-6 * hi.abs().max(1.0));
        let first = *self.epochs.first().unwrap_or(&0) as f64 + 1.0;
        let last = (*self.epochs.last().unwrap_or(&0) as f64 + 1.0).max(first + 1.0);

        let mut chart = ChartBuilder::on(area)
            .caption(name, (FONT, 18))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(60)
            .build_cartesian_2d(first..last, (lo - pad)..(hi + pad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_labels(10.min(self.epochs.len() + 1))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        let colour = BLUE;
        chart
            .draw_series(LineSeries::new(train.clone(), colour.stroke_width(2)))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart
            .draw_series(train.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(err)?;
        if let Some(val) = val {
            let orange = RGBColor(230, 120, 20);
            chart
                .draw_series(DashedLineSeries::new(
                    valid.clone(),
                    6,
                    4,
                    orange.stroke_width(2),
                ))
                .map_err(err)?
                .label(val)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], orange.stroke_width(2))
                });
            chart
                .draw_series(valid.iter().map(|&p| Circle::new(p, 3, orange.filled())))
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 12))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

/// Writes an RGB buffer to `path` as a PNG, atomically (temporary file, then rename), so a
/// reader never sees half an image; creates the folder.
fn save_png(pixels: Vec<u8>, (w, h): (u32, u32), path: &Path) -> Result<(), PlotError> {
    let image = image::RgbImage::from_raw(w, h, pixels)
        .ok_or_else(|| err("the pixel buffer does not match the image size"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
    }
    let tmp = path.with_extension("png.tmp");
    image
        .save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(|e| err(format!("cannot write {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(format!("cannot replace {}: {e}", path.display()))
    })
}

/// The side of a heat map's cell, in pixels.
const CELL: u32 = 26;

/// Writes a heat map of `weights` to `path` as a PNG: one row per `y_labels` entry, one
/// column per `x_labels` entry (a row's values past the last label are ignored, as padding
/// is), each cell shaded from dark blue (0) through green to yellow (1) by matplotlib's
/// viridis, the labels along the axes (x labels on top, turned upright to fit under long
/// words), `title` above and a colour bar on the right. Values are clamped to 0–1: the scale
/// of attention weights and probabilities, so maps of different steps compare.
///
/// This is the attention plot of the TensorFlow translation tutorials: source tokens across,
/// output tokens down, a bright cell where an output token looked at a source token.
///
/// ```
/// # fn demo() -> Result<(), keen_nn::fit::PlotError> {
/// let weights = vec![vec![0.9, 0.1, 0.0], vec![0.2, 0.7, 0.1]];
/// keen_nn::fit::heat_map(
///     "out/attention.png",
///     &weights,
///     &["<start>", "hola", "<end>"],
///     &["hello", "<end>"],
///     "attention",
/// )?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// When the labels and the weights disagree (the message gives both counts), or the file
/// cannot be written.
pub fn heat_map<X: AsRef<str>, Y: AsRef<str>>(
    path: impl AsRef<Path>,
    weights: &[Vec<f32>],
    x_labels: &[X],
    y_labels: &[Y],
    title: &str,
) -> Result<(), PlotError> {
    let (rows, cols) = (y_labels.len(), x_labels.len());
    if rows == 0 || cols == 0 {
        return Err(err(format!(
            "heat_map needs at least one label on each axis, got {cols} x labels and {rows} y labels"
        )));
    }
    if weights.len() != rows {
        return Err(err(format!(
            "heat_map has {rows} y labels but {} rows of weights",
            weights.len()
        )));
    }
    if let Some((r, row)) = weights.iter().enumerate().find(|(_, w)| w.len() < cols) {
        return Err(err(format!(
            "heat_map has {cols} x labels but row {r} has {} weights",
            row.len()
        )));
    }
    register_font();
    let label = TextStyle::from((FONT, 13).into_font()).color(&BLACK);
    let upright = label.transform(FontTransform::Rotate270);
    let heading = TextStyle::from((FONT, 16).into_font()).color(&BLACK);
    // Text sizes need a backend; a one-pixel one measures as well as any.
    let measure = |text: &str, style: &TextStyle| -> Result<(u32, u32), PlotError> {
        let mut px = [0u8; 3];
        let area = BitMapBackend::with_buffer(&mut px, (1, 1)).into_drawing_area();
        area.estimate_text_size(text, style).map_err(err)
    };
    let widest = |labels: Vec<&str>| -> Result<u32, PlotError> {
        labels
            .into_iter()
            .try_fold(0, |w, l| Ok(w.max(measure(l, &label)?.0)))
    };
    let y_width = widest(y_labels.iter().map(AsRef::as_ref).collect())?;
    let x_height = widest(x_labels.iter().map(AsRef::as_ref).collect())?;
    let (title_w, title_h) = measure(title, &heading)?;
    let (bar_w, bar_gap, bar_text) = (12, 14, measure("1.0", &label)?.0 + 6);
    let left = 10 + y_width + 8;
    let top = 10 + title_h + 10 + x_height + 8;
    let grid_w = cols as u32 * CELL;
    let width = (left + grid_w + bar_gap + bar_w + bar_text + 10).max(title_w + 20);
    let height = top + rows as u32 * CELL + 10;

    let mut pixels = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        let rgb = |v: f32| {
            let [r, g, b] = viridis(v);
            RGBColor(r, g, b)
        };
        let cell = |c: u32, r: u32| (left + c * CELL, top + r * CELL);
        for (r, row) in weights.iter().enumerate() {
            for (c, &v) in row.iter().take(cols).enumerate() {
                let (x, y) = cell(c as u32, r as u32);
                let corners = [(x as i32, y as i32), ((x + CELL) as i32, (y + CELL) as i32)];
                root.draw(&Rectangle::new(corners, rgb(v).filled()))
                    .map_err(err)?;
            }
        }
        for (r, l) in y_labels.iter().enumerate() {
            let (_, y) = cell(0, r as u32);
            let at = ((left - 8) as i32, (y + CELL / 2) as i32);
            let style = label.pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(l.as_ref(), at, style)).map_err(err)?;
        }
        for (c, l) in x_labels.iter().enumerate() {
            let (x, _) = cell(c as u32, 0);
            // Turned a quarter left, the text runs upwards from just above the grid.
            let at = ((x + CELL / 2) as i32, (top - 8) as i32);
            let style = upright.pos(Pos::new(HPos::Left, VPos::Center));
            root.draw(&Text::new(l.as_ref(), at, style)).map_err(err)?;
        }
        let at = ((width / 2) as i32, 10);
        let style = heading.pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(title, at, style)).map_err(err)?;

        // The colour bar: 1 at the top, 0 at the bottom.
        let bar_x = (left + grid_w + bar_gap) as i32;
        let grid_h = rows as u32 * CELL;
        for y in 0..grid_h {
            let v = 1.0 - y as f32 / (grid_h - 1).max(1) as f32;
            let y = (top + y) as i32;
            root.draw(&Rectangle::new(
                [(bar_x, y), (bar_x + bar_w as i32, y + 1)],
                rgb(v).filled(),
            ))
            .map_err(err)?;
        }
        let text_x = bar_x + bar_w as i32 + 4;
        let ends = [("1.0", top, VPos::Top), ("0.0", top + grid_h, VPos::Bottom)];
        for (t, y, v) in ends {
            let style = label.pos(Pos::new(HPos::Left, v));
            root.draw(&Text::new(t, (text_x, y as i32), style))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    save_png(pixels, (width, height), path.as_ref())
}

/// matplotlib's viridis at `v` (clamped to 0–1), from five stops linearly interpolated.
fn viridis(v: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] = [
        [68.0, 1.0, 84.0],
        [59.0, 82.0, 139.0],
        [33.0, 145.0, 140.0],
        [94.0, 201.0, 98.0],
        [253.0, 231.0, 37.0],
    ];
    let x = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) } * 4.0;
    let i = (x.floor() as usize).min(3);
    let f = x - i as f32;
    std::array::from_fn(|k| (STOPS[i][k] + f * (STOPS[i + 1][k] - STOPS[i][k])).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::Logs;

    fn history() -> History {
        let mut h = History::default();
        for e in 0..6 {
            let mut logs = Logs::new();
            logs.set("loss", 1.0 / (e as f64 + 1.0));
            logs.set("accuracy", 0.5 + 0.08 * e as f64);
            logs.set("val_loss", 1.2 / (e as f64 + 1.0));
            h.push(e, &logs);
        }
        h
    }

    #[test]
    fn plots_a_panel_per_quantity_with_its_validation_twin() {
        let dir = std::env::temp_dir().join(format!("keen-plot-{}", std::process::id()));
        let path = dir.join("history.png");
        history().plot(&path).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        // loss (+ val_loss) and accuracy: two panels.
        assert_eq!(img.dimensions(), (WIDTH, 2 * PANEL_HEIGHT));
        let count = |f: &dyn Fn(&image::Rgb<u8>) -> bool, top: bool| {
            img.enumerate_pixels()
                .filter(|(_, y, p)| (*y < PANEL_HEIGHT) == top && f(p))
                .count()
        };
        let blue = |p: &image::Rgb<u8>| p.0 == [0, 0, 255];
        let orange = |p: &image::Rgb<u8>| p.0 == [230, 120, 20];
        let dark = |p: &image::Rgb<u8>| p.0.iter().all(|&c| c < 80);
        assert!(count(&blue, true) > 200, "the loss curve is drawn");
        assert!(
            count(&orange, true) > 100,
            "val_loss is drawn in the loss panel"
        );
        assert!(count(&blue, false) > 200, "the accuracy curve is drawn");
        assert_eq!(count(&orange, false), 0, "accuracy has no validation twin");
        assert!(count(&dark, true) > 300, "axes and text are drawn");
        assert!(!dir.join("history.png.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn heat_map_draws_cells_labels_and_title() {
        let dir = std::env::temp_dir().join(format!("keen-heat-{}", std::process::id()));
        let path = dir.join("attention.png");
        // A padded row (the fourth value) is ignored.
        let w = vec![vec![1.0, 0.0, 0.0, 0.5], vec![0.0, 0.0, 1.0, 0.5]];
        heat_map(
            &path,
            &w,
            &["<start>", "hola", "<end>"],
            &["hello", "<end>"],
            "map",
        )
        .unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        let (width, height) = img.dimensions();
        assert!(width > 3 * CELL && height > 2 * CELL, "{width}x{height}");
        let yellow = viridis(1.0);
        let purple = viridis(0.0);
        let count = |c: [u8; 3]| img.pixels().filter(|p| p.0 == c).count() as u32;
        // Two bright cells and four dark ones, plus a sliver of each in the colour bar.
        assert!(count(yellow) >= 2 * CELL * CELL, "bright cells");
        assert!(count(purple) >= 4 * CELL * CELL, "dark cells");
        assert!(count(yellow) < 3 * CELL * CELL, "only the two bright cells");
        let dark = img.pixels().filter(|p| p.0.iter().all(|&c| c < 60)).count();
        assert!(dark > 200, "labels and title are drawn: {dark} dark pixels");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn heat_map_labels_must_fit_the_weights() {
        let w = vec![vec![0.5, 0.5]];
        let e = heat_map("unused.png", &w, &["a", "b", "c"], &["x"], "t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "plot: heat_map has 3 x labels but row 0 has 2 weights"
        );
        let e = heat_map("unused.png", &w, &["a"], &["x", "y"], "t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "plot: heat_map has 2 y labels but 1 rows of weights"
        );
    }

    #[test]
    fn viridis_ends_at_purple_and_yellow() {
        assert_eq!(viridis(0.0), [68, 1, 84]);
        assert_eq!(viridis(1.0), [253, 231, 37]);
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(f32::NAN), viridis(0.0));
    }

    #[test]
    fn an_empty_history_is_an_error() {
        let e = History::default().plot("unused.png").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }
}
