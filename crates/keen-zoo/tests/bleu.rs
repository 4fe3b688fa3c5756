//! keen_zoo::nmt::bleu against scores computed by the `sacrebleu` package
//! (`bleu_fixture.json`, written by `bleu_fixture.py`; no Python needed to run this test).

use keen_zoo::nmt::bleu::{corpus_bleu, tokenize_13a};
use serde_json::Value;

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn corpus_bleu_matches_sacrebleu() {
    let fixture: Value =
        serde_json::from_str(include_str!("bleu_fixture.json")).expect("valid fixture JSON");
    let corpora = fixture["corpora"].as_array().expect("corpora");
    assert!(corpora.len() >= 5);
    for c in corpora {
        let name = c["name"].as_str().unwrap();
        let (hyps, refs) = (strings(&c["hypotheses"]), strings(&c["references"]));
        for (h, want) in hyps.iter().zip(strings(&c["tokenized_hypotheses"])) {
            assert_eq!(tokenize_13a(h), want, "{name}: tokenisation of {h:?}");
        }
        let b = corpus_bleu(&hyps, &refs);
        let close = |got: f64, key: &str| {
            let want = c[key].as_f64().unwrap();
            assert!(
                (got - want).abs() < 1e-9 * want.abs().max(1.0),
                "{name}: {key} is {got}, sacrebleu says {want}"
            );
        };
        close(b.score, "score");
        close(b.bp, "bp");
        for (n, p) in b.precisions.iter().enumerate() {
            let want = c["precisions"][n].as_f64().unwrap();
            assert!(
                (p - want).abs() < 1e-9 * want.max(1.0),
                "{name}: p{} is {p}, sacrebleu says {want}",
                n + 1
            );
        }
        assert_eq!(
            b.sys_len as u64,
            c["sys_len"].as_u64().unwrap(),
            "{name}: sys_len"
        );
        assert_eq!(
            b.ref_len as u64,
            c["ref_len"].as_u64().unwrap(),
            "{name}: ref_len"
        );
    }
}
