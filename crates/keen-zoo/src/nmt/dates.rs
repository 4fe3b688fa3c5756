//! A synthetic date-format task: dates written in many ways ("26 November 2026", "Nov 26,
//! 2026", "26.11.26", "Thursday, 26 nov 2026", …) to translate into ISO 8601 ("2026-11-26").
//!
//! Source tokens are words for month and weekday names and single characters for digits and
//! punctuation; target tokens are single characters. Each target token knows the span of the
//! source tokens it comes from (the year, month or day field), so an attention map can be
//! scored against the right alignment ([`DatePair::spans`]).
//!
//! Dates are split into training and held-out sets by the date itself: a held-out date never
//! appears in training, in any spelling.

use keen_tensor::ops::random::Generator;

/// Years the task draws from; two-digit years read as 1950–2049.
pub const YEARS: std::ops::RangeInclusive<i32> = 1950..=2049;

/// One example.
#[derive(Clone, Debug, PartialEq)]
pub struct DatePair {
    /// The written date, as tokens.
    pub source: Vec<String>,
    /// `yyyy-mm-dd` as ten one-character tokens.
    pub target: Vec<String>,
    /// `(year, month, day)`.
    pub date: (i32, u32, u32),
    /// For each target token, the half-open span of source tokens it is read from (`None` for
    /// the dashes, which come from no source token).
    pub spans: Vec<Option<(usize, usize)>>,
}

impl DatePair {
    /// The source as text (tokens joined by spaces).
    pub fn source_text(&self) -> String {
        self.source.join(" ")
    }

    /// The target as text, `yyyy-mm-dd`.
    pub fn target_text(&self) -> String {
        self.target.concat()
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in(y: i32, m: u32) -> u32 {
    match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// 0 = Sunday (Sakamoto's method).
fn weekday(y: i32, m: u32, d: u32) -> usize {
    const T: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if m < 3 { y - 1 } else { y };
    ((y + y / 4 - y / 100 + y / 400 + T[m as usize - 1] + d as i32).rem_euclid(7)) as usize
}

/// Whether a date belongs to the held-out tenth (a fixed hash of the date and the seed).
fn held_out(date: (i32, u32, u32), seed: u64) -> bool {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for v in [date.0 as u64, date.1 as u64, date.2 as u64] {
        h = (h ^ v).wrapping_mul(0x100_0000_01B3).rotate_left(29);
        h ^= h >> 31;
    }
    h.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 60 < 2 // 2 of 16 buckets: 12.5%
}

struct Writer {
    tokens: Vec<String>,
}

impl Writer {
    /// Appends `s` as one token, or as single characters with `chars`; returns its span.
    fn push(&mut self, s: &str, chars: bool) -> (usize, usize) {
        let start = self.tokens.len();
        if chars {
            self.tokens.extend(s.chars().map(String::from));
        } else {
            self.tokens.push(s.to_string());
        }
        (start, self.tokens.len())
    }
}

fn pick<'a>(g: &mut Generator, xs: &[&'a str]) -> &'a str {
    xs[(g.next_u64() % xs.len() as u64) as usize]
}

fn cased(g: &mut Generator, word: &str) -> String {
    match g.next_u64() % 3 {
        0 => word.to_string(),
        1 => word.to_lowercase(),
        _ => word.to_uppercase(),
    }
}

/// The number of source spellings [`write`] chooses from.
pub const FORMATS: usize = 9;

/// Writes `date` in spelling `format` (0..[`FORMATS`]) with random casing and padding.
pub fn write(date: (i32, u32, u32), format: usize, g: &mut Generator) -> DatePair {
    let (y, m, d) = date;
    let mut w = Writer { tokens: Vec::new() };
    let month_full = cased(g, MONTHS[m as usize - 1]);
    let month_abbr = cased(g, &MONTHS[m as usize - 1][..3]);
    let day = if g.next_u64().is_multiple_of(2) {
        format!("{d}")
    } else {
        format!("{d:02}")
    };
    let (dd, mm, yyyy, yy) = (
        format!("{d:02}"),
        format!("{m:02}"),
        format!("{y}"),
        format!("{:02}", y % 100),
    );
    let suffix = match d {
        1 | 21 | 31 => "st",
        2 | 22 => "nd",
        3 | 23 => "rd",
        _ => "th",
    };
    let (ys, ms, ds);
    match format % FORMATS {
        0 => {
            ds = w.push(&day, true);
            ms = w.push(&month_full, false);
            ys = w.push(&yyyy, true);
        }
        1 => {
            ms = w.push(&month_full, false);
            ds = w.push(&day, true);
            w.push(",", true);
            ys = w.push(&yyyy, true);
        }
        2 => {
            ds = w.push(&day, true);
            w.push(suffix, false);
            w.push("of", false);
            ms = w.push(&month_full, false);
            ys = w.push(&yyyy, true);
        }
        3 => {
            w.push(&cased(g, WEEKDAYS[weekday(y, m, d)]), false);
            w.push(",", true);
            ds = w.push(&day, true);
            ms = w.push(&month_abbr, false);
            ys = w.push(&yyyy, true);
        }
        4 => {
            let sep = pick(g, &["/", "-", "."]);
            ds = w.push(&dd, true);
            w.push(sep, true);
            ms = w.push(&mm, true);
            w.push(sep, true);
            ys = w.push(&yyyy, true);
        }
        5 => {
            ds = w.push(&dd, true);
            w.push(".", true);
            ms = w.push(&mm, true);
            w.push(".", true);
            ys = w.push(&yy, true);
        }
        6 => {
            let sep = pick(g, &["/", "."]);
            ys = w.push(&yyyy, true);
            w.push(sep, true);
            ms = w.push(&mm, true);
            w.push(sep, true);
            ds = w.push(&dd, true);
        }
        7 => {
            ms = w.push(&month_abbr, false);
            ds = w.push(&day, true);
            ys = w.push(&yyyy, true);
        }
        _ => {
            ds = w.push(&day, true);
            ms = w.push(&month_abbr, false);
            w.push("'", true);
            ys = w.push(&yy, true);
        }
    }
    let iso = format!("{yyyy}-{mm}-{dd}");
    let target: Vec<String> = iso.chars().map(String::from).collect();
    let spans = (0..10)
        .map(|i| match i {
            0..=3 => Some(ys),
            5 | 6 => Some(ms),
            8 | 9 => Some(ds),
            _ => None,
        })
        .collect();
    DatePair {
        source: w.tokens,
        target,
        date,
        spans,
    }
}

/// `n` examples from seed `seed`: training dates (`held_out = false`) or the held-out ones.
/// The same seed always gives the same split and the same examples.
///
/// ```
/// use keen_zoo::nmt::dates;
/// let train = dates::generate(200, 1, false);
/// let test = dates::generate(50, 1, true);
/// assert!(test.iter().all(|t| train.iter().all(|p| p.date != t.date)));
/// assert_eq!(train[0].target.len(), 10);
/// ```
pub fn generate(n: usize, seed: u64, held_out_dates: bool) -> Vec<DatePair> {
    let mut g = Generator::new(seed).with_stream(if held_out_dates { 2 } else { 1 });
    let years = (*YEARS.end() - *YEARS.start() + 1) as u64;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let y = *YEARS.start() + (g.next_u64() % years) as i32;
        let m = 1 + (g.next_u64() % 12) as u32;
        let d = 1 + (g.next_u64() % days_in(y, m) as u64) as u32;
        if held_out((y, m, d), seed) != held_out_dates {
            continue;
        }
        let format = (g.next_u64() % FORMATS as u64) as usize;
        out.push(write((y, m, d), format, &mut g));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_are_right() {
        assert_eq!(weekday(2026, 11, 26), 4); // a Thursday
        assert_eq!(weekday(2000, 1, 1), 6); // a Saturday
    }

    #[test]
    fn every_format_spells_the_date() {
        let mut g = Generator::new(3);
        for f in 0..FORMATS {
            let p = write((2026, 11, 26), f, &mut g);
            assert_eq!(p.target_text(), "2026-11-26");
            let text = p.source.concat().to_lowercase();
            assert!(text.contains("26"), "format {f}: {text}");
            assert!(
                text.contains("nov") || text.contains("11"),
                "format {f}: {text}"
            );
            for s in p.spans.iter().flatten() {
                assert!(s.0 < s.1 && s.1 <= p.source.len());
            }
        }
    }

    #[test]
    fn split_is_disjoint_and_about_an_eighth() {
        let dates: Vec<_> = (1..=365)
            .map(|k| {
                let mut m = 1;
                let mut d = k;
                while d > days_in(2001, m) {
                    d -= days_in(2001, m);
                    m += 1;
                }
                (2001, m, d)
            })
            .collect();
        let held = dates.iter().filter(|&&x| held_out(x, 5)).count();
        assert!((20..=70).contains(&held), "{held} of 365 held out");
    }
}
