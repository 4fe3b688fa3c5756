//! Training curves as a PNG: one panel per quantity (`loss`, `accuracy`, …), each with its
//! validation twin (`val_loss`) drawn dashed in the same colour, as Keras users plot
//! `history.history` with matplotlib.
//!
//! The text is drawn with DejaVu Sans compiled into the binary, so plotting needs no system
//! fonts (CI machines and containers have none).

use super::History;
use plotters::prelude::*;
use plotters::style::FontStyle;
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
        let image = image::RgbImage::from_raw(WIDTH, height, pixels)
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
    fn an_empty_history_is_an_error() {
        let e = History::default().plot("unused.png").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }
}
