//! Corpus BLEU as sacrebleu computes it (`sacrebleu.corpus_bleu(hyps, [refs])` with its
//! defaults), so that a figure printed here can be compared with published ones.
//!
//! The definition, step by step (sacrebleu 2.x, `BLEU(tokenize="13a", smooth_method="exp",
//! lowercase=False, max_ngram_order=4)`):
//!
//! 1. Each segment is right-stripped and tokenised with [`tokenize_13a`], mteval-v13a's
//!    tokeniser: the entities `&quot; &amp; &lt; &gt;` are unescaped, then the ASCII symbols
//!    ``{|}~[\]^_` !"#$%&()*+:;<=>?@/`` are split off, `.` and `,` are split off unless they sit
//!    between digits on that side, `-` is split off after a digit, and whitespace is squeezed.
//! 2. For n = 1..4 the clipped n-gram matches of every hypothesis against its reference (each
//!    hypothesis n-gram counts at most as often as the reference has it) and the hypothesis
//!    n-gram counts are summed over the corpus: `correct[n]`, `total[n]`.
//! 3. Precision `p_n = correct[n] / total[n]`; an order with no match ("exp" smoothing, NIST's
//!    mteval) takes `1 / (2^k · total[n])` for the k-th such order instead. A corpus with no
//!    match at all scores 0, and so does one whose hypotheses have no n-gram of some order.
//! 4. Brevity penalty `BP = exp(1 − r/c)` when the hypotheses' length `c` is below the
//!    references' `r` (both token counts summed over the corpus), else 1.
//! 5. `BLEU = 100 · BP · exp(Σ log p_n / 4)`.
//!
//! Only one reference per segment is supported (the translation data has one).
//! `tests/bleu_fixture.json` holds scores computed by the `sacrebleu` package
//! (`tests/bleu_fixture.py`), and the unit tests check this code against them.

use std::collections::HashMap;

/// The maximum n-gram order (BLEU-4).
pub const MAX_ORDER: usize = 4;

/// A corpus score with its parts, as sacrebleu's `BLEUScore`.
#[derive(Clone, Debug, PartialEq)]
pub struct Bleu {
    /// BLEU in 0..=100.
    pub score: f64,
    /// The (smoothed) n-gram precisions in percent, n = 1..4.
    pub precisions: [f64; MAX_ORDER],
    /// The brevity penalty.
    pub bp: f64,
    /// Hypothesis tokens, summed.
    pub sys_len: usize,
    /// Reference tokens, summed.
    pub ref_len: usize,
}

impl std::fmt::Display for Bleu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.precisions;
        write!(
            f,
            "BLEU = {:.2} {:.1}/{:.1}/{:.1}/{:.1} (BP = {:.3} ratio = {:.3} hyp_len = {} ref_len = {})",
            self.score,
            p[0],
            p[1],
            p[2],
            p[3],
            self.bp,
            self.sys_len as f64 / self.ref_len.max(1) as f64,
            self.sys_len,
            self.ref_len
        )
    }
}

fn is_13a_symbol(c: char) -> bool {
    // The character class `[\{-\~\[-\` -\&\(-\+\:-\@\/]` of mteval-v13a.
    matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/')
}

/// One pass of a two-character regex substitution, left to right without overlaps, as
/// Python's `re.sub` does: where `first` and `second` match a pair, `emit` writes it.
fn sub_pairs(
    s: &[char],
    first: impl Fn(char) -> bool,
    second: impl Fn(char) -> bool,
    emit: impl Fn(char, char, &mut Vec<char>),
) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len() + 8);
    let mut i = 0;
    while i < s.len() {
        if i + 1 < s.len() && first(s[i]) && second(s[i + 1]) {
            emit(s[i], s[i + 1], &mut out);
            i += 2;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// sacrebleu's `13a` tokenisation of one segment, tokens joined by single spaces.
///
/// ```
/// use keen_zoo::nmt::bleu::tokenize_13a;
/// assert_eq!(tokenize_13a("Hello, world! It costs $3.50 (2026-11-26)."),
///            "Hello , world ! It costs $ 3.50 ( 2026 - 11 - 26 ) .");
/// ```
pub fn tokenize_13a(line: &str) -> String {
    let mut line = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let mut s: Vec<char> = Vec::with_capacity(line.len() + 16);
    s.push(' ');
    for c in line.chars() {
        if is_13a_symbol(c) {
            s.extend([' ', c, ' ']);
        } else {
            s.push(c);
        }
    }
    s.push(' ');
    let digit = |c: char| c.is_ascii_digit();
    let dot_comma = |c: char| c == '.' || c == ',';
    let s = sub_pairs(
        &s,
        |c| !digit(c),
        dot_comma,
        |a, b, o| o.extend([a, ' ', b, ' ']),
    );
    let s = sub_pairs(
        &s,
        dot_comma,
        |c| !digit(c),
        |a, b, o| o.extend([' ', a, ' ', b]),
    );
    let s = sub_pairs(
        &s,
        digit,
        |c| c == '-',
        |a, b, o| o.extend([a, ' ', b, ' ']),
    );
    let s: String = s.into_iter().collect();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn ngrams(tokens: &[&str]) -> HashMap<Vec<String>, usize> {
    let mut m = HashMap::new();
    for n in 1..=MAX_ORDER {
        for w in tokens.windows(n) {
            *m.entry(w.iter().map(|s| s.to_string()).collect())
                .or_insert(0) += 1;
        }
    }
    m
}

/// Corpus BLEU of `hypotheses` against one reference each (raw text: both are tokenised with
/// [`tokenize_13a`] here).
///
/// # Panics
/// When the two lists differ in length.
pub fn corpus_bleu<H: AsRef<str>, R: AsRef<str>>(hypotheses: &[H], references: &[R]) -> Bleu {
    assert_eq!(
        hypotheses.len(),
        references.len(),
        "corpus_bleu: {} hypotheses but {} references",
        hypotheses.len(),
        references.len()
    );
    let (mut correct, mut total) = ([0usize; MAX_ORDER], [0usize; MAX_ORDER]);
    let (mut sys_len, mut ref_len) = (0usize, 0usize);
    for (h, r) in hypotheses.iter().zip(references) {
        let h = tokenize_13a(h.as_ref().trim_end());
        let r = tokenize_13a(r.as_ref().trim_end());
        let (ht, rt): (Vec<&str>, Vec<&str>) = (
            h.split_whitespace().collect(),
            r.split_whitespace().collect(),
        );
        sys_len += ht.len();
        ref_len += rt.len();
        let rg = ngrams(&rt);
        for (g, c) in ngrams(&ht) {
            let n = g.len() - 1;
            total[n] += c;
            correct[n] += c.min(rg.get(&g).copied().unwrap_or(0));
        }
    }
    bleu_from_stats(&correct, &total, sys_len, ref_len)
}

/// Step 3 to 5 of the definition, from the summed statistics.
pub fn bleu_from_stats(
    correct: &[usize; MAX_ORDER],
    total: &[usize; MAX_ORDER],
    sys_len: usize,
    ref_len: usize,
) -> Bleu {
    let bp = if sys_len < ref_len {
        if sys_len > 0 {
            (1.0 - ref_len as f64 / sys_len as f64).exp()
        } else {
            0.0
        }
    } else {
        1.0
    };
    let mut precisions = [0.0; MAX_ORDER];
    let zero = Bleu {
        score: 0.0,
        precisions,
        bp,
        sys_len,
        ref_len,
    };
    if correct.iter().all(|&c| c == 0) {
        return zero;
    }
    let mut smooth = 1.0;
    for n in 0..MAX_ORDER {
        if total[n] == 0 {
            // sacrebleu stops here and logs the remaining zero precisions as -9999999999.
            return Bleu { precisions, ..zero };
        }
        precisions[n] = if correct[n] == 0 {
            smooth *= 2.0;
            100.0 / (smooth * total[n] as f64)
        } else {
            100.0 * correct[n] as f64 / total[n] as f64
        };
    }
    let log_mean = precisions.iter().map(|p| p.ln()).sum::<f64>() / MAX_ORDER as f64;
    Bleu {
        score: bp * log_mean.exp(),
        precisions,
        ..zero
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_corpus_scores_100() {
        let s = ["the cat sat on the mat .", "a b c d e"];
        let b = corpus_bleu(&s, &s);
        assert!((b.score - 100.0).abs() < 1e-9, "{b}");
        assert_eq!(b.bp, 1.0);
    }

    #[test]
    fn no_match_scores_0() {
        let b = corpus_bleu(&["x y z w"], &["a b c d"]);
        assert_eq!(b.score, 0.0);
    }

    #[test]
    fn tokenizer_keeps_numbers_and_splits_punctuation() {
        assert_eq!(tokenize_13a("a.b 3.5 x,y 1,000"), "a . b 3.5 x , y 1,000");
        assert_eq!(tokenize_13a("&quot;hi&quot; &amp; bye"), "\" hi \" & bye");
        assert_eq!(tokenize_13a("well-known 12-3"), "well-known 12 - 3");
    }
}
