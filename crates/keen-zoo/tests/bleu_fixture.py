"""Writes bleu_fixture.json: corpus BLEU by the `sacrebleu` package (default settings: 13a
tokenisation, exp smoothing, BLEU-4) on small corpora, for keen_zoo::nmt::bleu's unit test.

    ~/torch-venv/bin/pip install sacrebleu
    ~/torch-venv/bin/python crates/keen-zoo/tests/bleu_fixture.py > crates/keen-zoo/tests/bleu_fixture.json
"""
import json
import sacrebleu

CORPORA = {
    "translations": (
        ["el gato se sento en la alfombra .", "no se que decir .", "vamos a la ciudad !",
         "los orcos atacan al amanecer .", "preparad las defensas"],
        ["el gato se sentó en la alfombra .", "no sé qué decir .", "vamos a la ciudad.",
         "los orcos atacarán al amanecer.", "¡Preparad las defensas, rápido!"],
    ),
    "short_hypotheses": (
        ["the", "a cat", "on the mat"],
        ["the cat is on the mat", "there is a cat here", "it sat on the mat today"],
    ),
    "no_4gram_match": (
        ["a b c d x", "e f g y h"],
        ["a b c q d", "e f g z h"],
    ),
    "longer_than_reference": (
        ["it is a guide to action which ensures that the military always obeys the commands of the party",
         "he read the book because he was interested in world history"],
        ["it is a guide to action that ensures that the military will forever heed party commands",
         "he was interested in world history because he read the book"],
    ),
    "tokenisation": (
        ["It costs $3.50, (really)!", "Dates: 2026-11-26 & 1999-01-02.", "&quot;quoted&quot; a/b"],
        ["It costs $3.50 (really).", "Dates: 2026-11-26 and 1999-01-02.", "\"quoted\" a / b"],
    ),
    "dates_exact": (
        ["2026 - 11 - 26", "1999 - 01 - 02", "2000 - 12 - 31"],
        ["2026 - 11 - 26", "1999 - 01 - 02", "2000 - 12 - 30"],
    ),
    "no_match": (["x y z"], ["a b c"]),
}

out = []
for name, (hyps, refs) in CORPORA.items():
    b = sacrebleu.corpus_bleu(hyps, [refs])
    out.append(dict(name=name, hypotheses=hyps, references=refs, score=b.score,
                    precisions=b.precisions, bp=b.bp, sys_len=b.sys_len, ref_len=b.ref_len,
                    tokenized_hypotheses=[sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()(h) for h in hyps]))
print(json.dumps(dict(sacrebleu=sacrebleu.__version__, corpora=out), indent=1, ensure_ascii=False))
