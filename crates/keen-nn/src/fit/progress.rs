//! The Keras progress display: a bar per epoch on a terminal, one plain line per epoch
//! elsewhere (CI logs, files), nothing at verbosity 0.

use super::Logs;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How much `fit` prints, as Keras' `verbose`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    /// Nothing.
    Silent,
    /// A progress bar on a terminal; one line per epoch when stdout is not a terminal.
    Bar,
    /// One line per epoch.
    Line,
}

pub(crate) struct Progress {
    verbosity: Verbosity,
    epochs: usize,
    steps: Option<usize>,
    bar: Option<ProgressBar>,
    started: Instant,
    step: usize,
}

impl Progress {
    pub(crate) fn new(verbosity: Verbosity, epochs: usize, steps: Option<usize>) -> Self {
        // A bar that nobody sees (a pipe, a CI log) would only print its final frame, if that.
        let verbosity = match verbosity {
            Verbosity::Bar if !std::io::stdout().is_terminal() => Verbosity::Line,
            v => v,
        };
        Progress {
            verbosity,
            epochs,
            steps,
            bar: None,
            started: Instant::now(),
            step: 0,
        }
    }

    pub(crate) fn epoch_begin(&mut self, epoch: usize) {
        self.started = Instant::now();
        self.step = 0;
        if self.verbosity != Verbosity::Bar {
            return;
        }
        println!("Epoch {}/{}", epoch + 1, self.epochs);
        let bar = match self.steps {
            Some(n) => ProgressBar::with_draw_target(Some(n as u64), ProgressDrawTarget::stdout()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout()),
        };
        let template = if self.steps.is_some() {
            "{pos}/{len} [{bar:30}] - ETA: {eta_keras} - {msg}"
        } else {
            "{pos}/Unknown - {elapsed} - {msg}"
        };
        let style = ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=>.")
            .with_key(
                "eta_keras",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", clock(s.eta()));
                },
            );
        bar.set_style(style);
        self.bar = Some(bar);
    }

    pub(crate) fn batch_end(&mut self, logs: &Logs) {
        self.step += 1;
        if let Some(bar) = &self.bar {
            bar.set_message(logs.to_string());
            bar.set_position(self.step as u64);
        }
    }

    pub(crate) fn epoch_end(&mut self, epoch: usize, logs: &Logs) {
        let elapsed = self.started.elapsed();
        let per_step = elapsed / self.step.max(1) as u32;
        let timing = format!("{} {}/step", seconds(elapsed), per_step_text(per_step));
        match self.verbosity {
            Verbosity::Silent => {}
            Verbosity::Bar => {
                if let Some(bar) = self.bar.take() {
                    let style = ProgressStyle::with_template("{pos}/{len} [{bar:30}] - {msg}")
                        .expect("a valid template")
                        .progress_chars("=>.");
                    bar.set_style(style);
                    bar.finish_with_message(format!("{timing} - {logs}"));
                }
            }
            Verbosity::Line => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "Epoch {}/{} - {}/{} - {timing} - {logs}",
                    epoch + 1,
                    self.epochs,
                    self.step,
                    self.steps.unwrap_or(self.step)
                );
            }
        }
    }
}

/// Keras' ETA as `m:ss` (or `h:mm:ss`).
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn seconds(d: Duration) -> String {
    if d.as_secs_f64() < 1.0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs_f64().round() as u64)
    }
}

fn per_step_text(d: Duration) -> String {
    if d.as_millis() >= 1 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}us", d.as_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_like_keras() {
        assert_eq!(clock(Duration::from_secs(12)), "0:12");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
        assert_eq!(seconds(Duration::from_millis(2400)), "2s");
        assert_eq!(per_step_text(Duration::from_micros(2300)), "2ms");
        assert_eq!(per_step_text(Duration::from_micros(300)), "300us");
    }
}
