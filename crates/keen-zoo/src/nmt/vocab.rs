//! The post's text side: sentence cleaning and a word vocabulary with padding 0.

use std::collections::{BTreeSet, HashMap};

/// The padding id (also what the loss masks out).
pub const PAD: i64 = 0;
/// The token that opens every target sequence.
pub const START: &str = "<start>";
/// The token that closes every sequence.
pub const END: &str = "<end>";
/// The token for words not seen in training.
pub const UNK: &str = "<unk>";

/// The NMT post's cleaning (as its Python original), keen-data's: lower-case, strip accents,
/// a space before and after `? . ! , ¿`, anything else that is not an ASCII letter becomes a
/// space, spaces squeezed. Returns the words, without `<start>`/`<end>`.
///
/// ```
/// use keen_zoo::nmt::clean;
/// assert_eq!(clean("¿Puedo tomar prestado este libro?"),
///            ["¿", "puedo", "tomar", "prestado", "este", "libro", "?"]);
/// assert_eq!(clean("It's Élodie's!"), ["it", "s", "elodie", "s", "!"]);
/// ```
pub fn clean(s: &str) -> Vec<String> {
    keen_data::text::sentence_words(s)
}

/// A word vocabulary as the post builds it: the sorted unique tokens get ids `1..`, id 0 is
/// padding. `<start>`, `<end>` and `<unk>` are always present, so held-out text with unseen
/// words still encodes.
///
/// ```
/// use keen_zoo::nmt::Vocab;
/// let v = Vocab::build([vec!["b", "a"], vec!["a", "c"]]);
/// let ids = v.encode(&["a", "zz"], true);
/// assert_eq!(v.decode(&ids), ["<start>", "a", "<unk>", "<end>"]);
/// assert_eq!(v.id("<pad>"), None); // padding has no word
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Vocab {
    words: Vec<String>,
    ids: HashMap<String, i64>,
}

impl Vocab {
    /// The vocabulary of the words of `sentences`, plus the three special tokens.
    pub fn build<I, S, W>(sentences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: IntoIterator<Item = W>,
        W: AsRef<str>,
    {
        let mut set: BTreeSet<String> = [START, END, UNK].iter().map(|s| s.to_string()).collect();
        for s in sentences {
            for w in s {
                set.insert(w.as_ref().to_string());
            }
        }
        Self::from_words(set.into_iter().collect())
    }

    /// A vocabulary from its words in id order (id 1 first), as [`words`](Self::words) lists
    /// them: how a saved vocabulary is read back.
    ///
    /// # Panics
    /// If a word repeats or a special token is missing.
    pub fn from_words(words: Vec<String>) -> Self {
        let mut all = vec!["<pad>".to_string()];
        all.extend(words);
        let ids: HashMap<String, i64> = all
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, w)| (w.clone(), i as i64))
            .collect();
        assert_eq!(ids.len() + 1, all.len(), "Vocab: a word repeats");
        for s in [START, END, UNK] {
            assert!(ids.contains_key(s), "Vocab: {s} is missing");
        }
        Vocab { words: all, ids }
    }

    /// The words in id order, from id 1 (padding has none).
    pub fn words(&self) -> &[String] {
        &self.words[1..]
    }

    /// The number of ids, padding included: the size of an embedding or output layer.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Never true: the special tokens are always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The id of `word`, if known.
    pub fn id(&self, word: &str) -> Option<i64> {
        self.ids.get(word).copied()
    }

    /// The id of `<start>`.
    pub fn start(&self) -> i64 {
        self.ids[START]
    }

    /// The id of `<end>`.
    pub fn end(&self) -> i64 {
        self.ids[END]
    }

    /// The word of `id` (`"<pad>"` for 0, `"<unk>"` for an id out of range).
    pub fn word(&self, id: i64) -> &str {
        self.words
            .get(usize::try_from(id).unwrap_or(usize::MAX))
            .map_or(UNK, String::as_str)
    }

    /// The ids of `words` (unknown ones as `<unk>`), wrapped in `<start>`…`<end>` if `wrap`.
    pub fn encode<W: AsRef<str>>(&self, words: &[W], wrap: bool) -> Vec<i64> {
        let unk = self.ids[UNK];
        let mut out = Vec::with_capacity(words.len() + 2);
        if wrap {
            out.push(self.start());
        }
        out.extend(words.iter().map(|w| self.id(w.as_ref()).unwrap_or(unk)));
        if wrap {
            out.push(self.end());
        }
        out
    }

    /// The words of `ids`.
    pub fn decode(&self, ids: &[i64]) -> Vec<String> {
        ids.iter().map(|&i| self.word(i).to_string()).collect()
    }
}

/// Sequences padded with [`PAD`] at the end to the longest one (or `len`, truncating), as a
/// `(n, len)` int64 tensor.
pub fn pad_batch(seqs: &[&[i64]], len: Option<usize>) -> keen_tensor::Tensor {
    let len = len.unwrap_or_else(|| seqs.iter().map(|s| s.len()).max().unwrap_or(0));
    let mut out = vec![PAD; seqs.len() * len];
    for (r, s) in seqs.iter().enumerate() {
        for (k, &v) in s.iter().take(len).enumerate() {
            out[r * len + k] = v;
        }
    }
    keen_tensor::Tensor::from_vec(out, [seqs.len(), len])
}
