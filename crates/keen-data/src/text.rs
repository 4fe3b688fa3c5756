//! Text: a word-level tokenizer like Keras' `text_tokenizer`, `pad_sequences`, and the sentence
//! cleaning of the NMT-with-attention tutorial.
//!
//! ```
//! use keen_data::text::{Tokenizer, pad_sequences, Padding};
//! let mut tok = Tokenizer::new().num_words(10).oov_token("<unk>");
//! tok.fit_on_texts(["The cat sat.", "The dog sat!"]);
//! let seqs = tok.texts_to_sequences(["the cat ran"]);
//! assert_eq!(seqs, vec![vec![2, 4, 1]]); // the=2, cat=4, ran is unknown → <unk>=1
//! let x = pad_sequences(&seqs, Some(5), Padding::Post, Padding::Post, 0);
//! assert_eq!(x.to_vec::<i32>(), [2, 4, 1, 0, 0]);
//! ```

use crate::error::{DataError, DataErrorKind, Result};
use keen_tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Keras' default filters: punctuation, tab and newline.
pub const DEFAULT_FILTERS: &str = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

/// A word-level tokenizer with Keras' `Tokenizer` semantics: indices start at 1 by descending
/// frequency (ties in first-seen order), the OOV token (if any) takes index 1, and only indices
/// below `num_words` are used when encoding. Saves and loads as JSON with the model.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Tokenizer {
    num_words: Option<usize>,
    filters: String,
    lower: bool,
    split: char,
    oov_token: Option<String>,
    /// Word counts in first-seen order.
    word_counts: Vec<(String, u64)>,
    /// Word → index (1-based), every word seen.
    word_index: HashMap<String, usize>,
    /// Index → word.
    index_word: Vec<String>,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Tokenizer::new()
    }
}

impl Tokenizer {
    /// Keras' defaults: all words, [`DEFAULT_FILTERS`], lower-casing, split on spaces, no OOV token.
    pub fn new() -> Self {
        Tokenizer {
            num_words: None,
            filters: DEFAULT_FILTERS.to_string(),
            lower: true,
            split: ' ',
            oov_token: None,
            word_counts: Vec::new(),
            word_index: HashMap::new(),
            index_word: vec![String::new()],
        }
    }

    /// Keeps only the `n - 1` most frequent words when encoding (Keras' `num_words`).
    pub fn num_words(mut self, n: usize) -> Self {
        self.num_words = Some(n);
        self
    }

    /// Characters replaced by the separator before splitting (`""` keeps punctuation).
    pub fn filters(mut self, filters: &str) -> Self {
        self.filters = filters.to_string();
        self
    }

    /// Whether to lower-case texts.
    pub fn lower(mut self, lower: bool) -> Self {
        self.lower = lower;
        self
    }

    /// The word separator.
    pub fn split(mut self, c: char) -> Self {
        self.split = c;
        self
    }

    /// The token standing for words outside the vocabulary (index 1).
    pub fn oov_token(mut self, token: &str) -> Self {
        self.oov_token = Some(token.to_string());
        self
    }

    /// The words of a text after lower-casing and filtering.
    pub fn words(&self, text: &str) -> Vec<String> {
        let t = if self.lower {
            text.to_lowercase()
        } else {
            text.to_string()
        };
        let t: String = t
            .chars()
            .map(|c| {
                if self.filters.contains(c) {
                    self.split
                } else {
                    c
                }
            })
            .collect();
        t.split(self.split)
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Counts the words of `texts` and rebuilds the index.
    pub fn fit_on_texts<S: AsRef<str>>(&mut self, texts: impl IntoIterator<Item = S>) {
        let mut pos: HashMap<String, usize> = self
            .word_counts
            .iter()
            .enumerate()
            .map(|(i, (w, _))| (w.clone(), i))
            .collect();
        for t in texts {
            for w in self.words(t.as_ref()) {
                match pos.get(&w) {
                    Some(&i) => self.word_counts[i].1 += 1,
                    None => {
                        pos.insert(w.clone(), self.word_counts.len());
                        self.word_counts.push((w, 1));
                    }
                }
            }
        }
        let mut sorted: Vec<&(String, u64)> = self.word_counts.iter().collect();
        sorted.sort_by_key(|e| std::cmp::Reverse(e.1)); // stable: ties keep first-seen order
        self.index_word = vec![String::new()];
        if let Some(o) = &self.oov_token {
            self.index_word.push(o.clone());
        }
        for (w, _) in sorted {
            if Some(w) != self.oov_token.as_ref() {
                self.index_word.push(w.clone());
            }
        }
        self.word_index = self
            .index_word
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, w)| (w.clone(), i))
            .collect();
    }

    /// The index of every word seen (1-based).
    pub fn word_index(&self) -> &HashMap<String, usize> {
        &self.word_index
    }

    /// The word of an index, if any.
    pub fn index_word(&self, i: usize) -> Option<&str> {
        self.index_word.get(i).filter(|_| i > 0).map(String::as_str)
    }

    /// The vocabulary size to give an embedding: `num_words` if set, else every word + 1 (0 is
    /// reserved for padding).
    pub fn vocab_size(&self) -> usize {
        match self.num_words {
            Some(n) => n.min(self.index_word.len()),
            None => self.index_word.len(),
        }
    }

    fn oov_index(&self) -> Option<usize> {
        self.oov_token
            .as_ref()
            .and_then(|o| self.word_index.get(o).copied())
    }

    fn usable(&self, i: usize) -> bool {
        self.num_words.is_none_or(|n| i < n)
    }

    /// Encodes each text as word indices (unknown or rare words become the OOV index, or are
    /// dropped without an OOV token).
    pub fn texts_to_sequences<S: AsRef<str>>(
        &self,
        texts: impl IntoIterator<Item = S>,
    ) -> Vec<Vec<i64>> {
        let oov = self.oov_index();
        texts
            .into_iter()
            .map(|t| {
                self.words(t.as_ref())
                    .iter()
                    .filter_map(|w| match self.word_index.get(w) {
                        Some(&i) if self.usable(i) => Some(i as i64),
                        _ => oov.map(|o| o as i64),
                    })
                    .collect()
            })
            .collect()
    }

    /// Decodes index sequences back to space-joined words (0 and unknown indices are dropped,
    /// or become the OOV token when there is one).
    pub fn sequences_to_texts(&self, seqs: &[Vec<i64>]) -> Vec<String> {
        let oov = self.oov_token.clone();
        seqs.iter()
            .map(|s| {
                s.iter()
                    .filter_map(|&i| {
                        let i = usize::try_from(i).ok()?;
                        match self.index_word(i) {
                            Some(w) if self.usable(i) => Some(w.to_string()),
                            _ if i == 0 => None,
                            _ => oov.clone(),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// The tokenizer as JSON (configuration, counts and index).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("tokenizer serialises")
    }

    /// A tokenizer from [`to_json`](Self::to_json) output.
    pub fn from_json(s: &str) -> Result<Tokenizer> {
        serde_json::from_str(s)
            .map_err(|e| DataError::new(DataErrorKind::Decode, format!("tokenizer: bad JSON: {e}")))
    }

    /// Saves the tokenizer as JSON (atomically: temporary file, then rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, self.to_json())
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| DataError::io("tokenizer: cannot save", path, e))
    }

    /// Loads a tokenizer saved by [`save`](Self::save).
    pub fn load(path: impl AsRef<Path>) -> Result<Tokenizer> {
        let path = path.as_ref();
        let s = std::fs::read_to_string(path)
            .map_err(|e| DataError::io("tokenizer: cannot load", path, e))?;
        Tokenizer::from_json(&s).map_err(|e| e.context(path.display()))
    }
}

/// Where [`pad_sequences`] pads or truncates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// At the start (Keras' default).
    Pre,
    /// At the end.
    Post,
}

/// Pads (or truncates) sequences to one length, as an int32 tensor `(n, maxlen)`; `maxlen`
/// defaults to the longest sequence (Keras' `pad_sequences`).
pub fn pad_sequences(
    seqs: &[Vec<i64>],
    maxlen: Option<usize>,
    padding: Padding,
    truncating: Padding,
    value: i32,
) -> Tensor {
    let len = maxlen.unwrap_or_else(|| seqs.iter().map(Vec::len).max().unwrap_or(0));
    let mut out = vec![value; seqs.len() * len];
    for (r, s) in seqs.iter().enumerate() {
        let s: &[i64] = if s.len() > len {
            match truncating {
                Padding::Pre => &s[s.len() - len..],
                Padding::Post => &s[..len],
            }
        } else {
            s
        };
        let start = match padding {
            Padding::Pre => len - s.len(),
            Padding::Post => 0,
        };
        for (k, &v) in s.iter().enumerate() {
            out[r * len + start + k] = v as i32;
        }
    }
    Tensor::from_vec(out, [seqs.len(), len])
}

/// Replaces accented Latin letters by their base letter (`"canción"` → `"cancion"`, `ñ` → `n`),
/// like NFD normalisation followed by dropping combining marks.
pub fn unicode_to_ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'A',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' => 'O',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
            'ñ' => 'n',
            'Ñ' => 'N',
            'ç' => 'c',
            'Ç' => 'C',
            'ý' | 'ÿ' => 'y',
            c => c,
        })
        .collect()
}

/// The NMT tutorial's sentence cleaning as words: lower-case, strip accents, split off
/// `? . ! , ¿`, drop anything else that is not a letter.
///
/// ```
/// use keen_data::text::sentence_words;
/// assert_eq!(sentence_words("It's Élodie's!"), ["it", "s", "elodie", "s", "!"]);
/// ```
pub fn sentence_words(s: &str) -> Vec<String> {
    let s = unicode_to_ascii(&s.trim().to_lowercase());
    let mut spaced = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(c, '?' | '.' | '!' | ',' | '¿') {
            spaced.push(' ');
            spaced.push(c);
            spaced.push(' ');
        } else if c.is_ascii_alphabetic() {
            spaced.push(c);
        } else {
            spaced.push(' ');
        }
    }
    spaced.split_whitespace().map(str::to_string).collect()
}

/// The NMT tutorial's sentence cleaning ([`sentence_words`]) wrapped as
/// `"<start> … <end>"`.
///
/// ```
/// use keen_data::text::preprocess_sentence;
/// assert_eq!(preprocess_sentence("¿Puedo tomar prestado este libro?"),
///            "<start> ¿ puedo tomar prestado este libro ? <end>");
/// ```
pub fn preprocess_sentence(s: &str) -> String {
    format!("<start> {} <end>", sentence_words(s).join(" "))
}
