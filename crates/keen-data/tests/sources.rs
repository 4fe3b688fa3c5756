//! File sources on small generated files: CSV, images, IDX, .mo catalogues, the dataset
//! loaders; and the text tools.

use keen_data::csv::{ColumnType, CsvOptions};
use keen_data::datasets::{self, Split};
use keen_data::image::{self, Filter, ImageOptions};
use keen_data::text::{pad_sequences, preprocess_sentence, Padding, Tokenizer};
use keen_data::{idx, DataErrorKind, Dataset, Rng};
use keen_tensor::Tensor;
use std::path::Path;

#[test]
fn csv_typed_columns_and_header_names() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.tsv");
    std::fs::write(
        &p,
        "user_id:token\titem_id:token\trating:float\n196\t242\t3\n186\t302\t3.5\n",
    )
    .unwrap();
    let ds = Dataset::csv(
        &p,
        CsvOptions::new()
            .delimiter('\t')
            .column("user", ColumnType::Int32)
            .column("item", ColumnType::Int64)
            .column("rating", ColumnType::Float32),
    )
    .unwrap();
    let b = ds.batch(2, false).to_vec().unwrap();
    assert_eq!(
        b[0].field("user")
            .unwrap()
            .tensor()
            .unwrap()
            .to_vec::<i32>(),
        [196, 186]
    );
    assert_eq!(
        b[0].field("item")
            .unwrap()
            .tensor()
            .unwrap()
            .to_vec::<i64>(),
        [242, 302]
    );
    assert_eq!(
        b[0].field("rating")
            .unwrap()
            .tensor()
            .unwrap()
            .to_vec::<f32>(),
        [3.0, 3.5]
    );
    // Header names, default float32, quoted fields.
    let q = dir.path().join("q.csv");
    std::fs::write(&q, "a,b\n\"1\",2\n").unwrap();
    let row = Dataset::csv(&q, CsvOptions::new())
        .unwrap()
        .to_vec()
        .unwrap();
    assert_eq!(
        row[0].field("a").unwrap().tensor().unwrap().item::<f32>(),
        1.0
    );
}

#[test]
fn csv_errors_name_the_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.csv");
    std::fs::write(&p, "x,y\n1,2\n3\n4,five\n").unwrap();
    let ds = Dataset::csv(&p, CsvOptions::new()).unwrap();
    let results: Vec<_> = ds.iter().collect();
    assert!(results[0].is_ok());
    let e1 = results[1].as_ref().unwrap_err();
    assert_eq!(e1.kind(), DataErrorKind::Parse);
    assert!(
        e1.message()
            .contains("bad.csv: row 3: expected 2 columns, found 1"),
        "{e1}"
    );
    let e2 = results[2].as_ref().unwrap_err();
    assert!(
        e2.message()
            .contains("row 4, column \"y\": \"five\" is not a number"),
        "{e2}"
    );
    let missing = Dataset::csv(dir.path().join("none.csv"), CsvOptions::new()).unwrap_err();
    assert_eq!(missing.kind(), DataErrorKind::Io);
    assert!(missing.message().contains("none.csv"), "{missing}");
}

fn write_png(path: &Path, w: u32, h: u32) {
    let mut px = Vec::new();
    for y in 0..h {
        for x in 0..w {
            px.extend_from_slice(&[(x * 40) as u8, (y * 40) as u8, 200]);
        }
    }
    ::image::save_buffer(path, &px, w, h, ::image::ExtendedColorType::Rgb8).unwrap();
}

#[test]
fn images_decode_resize_scale_and_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        write_png(&dir.path().join(format!("img{i}.png")), 4, 2);
    }
    std::fs::write(dir.path().join("broken.png"), b"not a png").unwrap();
    let t = image::load(dir.path().join("img0.png"), &ImageOptions::new()).unwrap();
    assert_eq!(t.dims(), [2, 4, 3]);
    let v = t.to_vec::<f32>();
    assert_eq!(v[3], 40.0 / 255.0); // pixel (0, 1) red
    let u = image::load(
        dir.path().join("img0.png"),
        &ImageOptions::new().uint8().channels(1),
    )
    .unwrap();
    assert_eq!(u.dims(), [2, 4, 1]);
    let r = image::load(
        dir.path().join("img0.png"),
        &ImageOptions::new()
            .range(-1.0, 1.0)
            .resize(4, 8, Filter::Nearest),
    )
    .unwrap();
    assert_eq!(r.dims(), [4, 8, 3]);
    assert!((r.to_vec::<f32>()[2] - (200.0 / 127.5 - 1.0)).abs() < 1e-6);
    let pattern = format!("{}/img*.png", dir.path().display());
    let ds = Dataset::images(&pattern, ImageOptions::new())
        .unwrap()
        .batch(3, false);
    assert_eq!(
        ds.to_vec().unwrap()[0].tensor().unwrap().dims(),
        [3, 2, 4, 3]
    );
    let err = image::load(dir.path().join("broken.png"), &ImageOptions::new()).unwrap_err();
    assert_eq!(err.kind(), DataErrorKind::Decode);
    assert!(err.message().contains("broken.png: cannot decode"), "{err}");
    let err = image::load(dir.path().join("gone.png"), &ImageOptions::new()).unwrap_err();
    assert_eq!(err.kind(), DataErrorKind::Io);
    let err = Dataset::list_files(&format!("{}/*.jpg", dir.path().display())).unwrap_err();
    assert!(err.message().contains("no file matches"), "{err}");
}

#[test]
fn resize_matches_tensorflow_half_pixel_values() {
    // tf.image.resize(x, (2, 2), method) for x = arange(16).reshape(1, 4, 4, 1), TF 2.x:
    // bilinear -> [[2.5, 4.5], [10.5, 12.5]]; nearest -> [[5, 7], [13, 15]];
    // upsampling [0, 1] to 4 bilinear -> [0, 0.25, 0.75, 1].
    let x = Tensor::from_vec((0..16).map(|v| v as f32).collect::<Vec<_>>(), [4, 4, 1]);
    let b = image::resize(&x, 2, 2, Filter::Bilinear).unwrap();
    assert_eq!(b.to_vec::<f32>(), [2.5, 4.5, 10.5, 12.5]);
    let n = image::resize(&x, 2, 2, Filter::Nearest).unwrap();
    assert_eq!(n.to_vec::<f32>(), [5.0, 7.0, 13.0, 15.0]);
    let up = image::resize(
        &Tensor::from_vec(vec![0f32, 1.0], [1, 2, 1]),
        1,
        4,
        Filter::Bilinear,
    )
    .unwrap();
    assert_eq!(up.to_vec::<f32>(), [0.0, 0.25, 0.75, 1.0]);
    // Bicubic keeps a constant image constant and a batch dimension works.
    let c = Tensor::full([2, 5, 5, 3], 0.5, keen_tensor::DType::Float32);
    let cb = image::resize(&c, 3, 7, Filter::Bicubic).unwrap();
    assert_eq!(cb.dims(), [2, 3, 7, 3]);
    assert!(cb.to_vec::<f32>().iter().all(|v| (v - 0.5).abs() < 1e-6));
}

#[test]
fn augmentation_crops_pairs_jointly_and_flips() {
    let a = Tensor::from_vec((0..64).map(|v| v as f32).collect::<Vec<_>>(), [8, 8, 1]);
    let b = Tensor::from_vec(
        (0..64).map(|v| v as f32 + 1000.0).collect::<Vec<_>>(),
        [8, 8, 1],
    );
    let mut rng = Rng::new(3);
    for _ in 0..10 {
        let (ca, cb) = image::random_crop_pair(&a, &b, 3, 3, &mut rng).unwrap();
        let (va, vb) = (ca.to_vec::<f32>(), cb.to_vec::<f32>());
        assert!(
            va.iter().zip(&vb).all(|(x, y)| y - x == 1000.0),
            "same window"
        );
    }
    let (ja, jb) = image::jitter_pair(&a, &b, (10, 10), (8, 8), &mut rng).unwrap();
    assert_eq!(ja.dims(), [8, 8, 1]);
    assert!(ja
        .to_vec::<f32>()
        .iter()
        .zip(jb.to_vec::<f32>())
        .all(|(x, y)| y - x == 1000.0));
    let f = image::flip_left_right(&a).unwrap();
    assert_eq!(f.to_vec::<f32>()[0], 7.0);
    let f = image::flip_up_down(&a).unwrap();
    assert_eq!(f.to_vec::<f32>()[0], 56.0);
    let n = image::normalize(
        &Tensor::full([1, 1, 2], 0.5, keen_tensor::DType::Float32),
        &[0.5],
        &[0.5],
    )
    .unwrap();
    assert_eq!(n.to_vec::<f32>(), [0.0, 0.0]);
    let err = image::random_crop(&a, 9, 2, &mut rng).unwrap_err();
    assert!(err.message().contains("larger than the image"), "{err}");
}

fn write_mnist_like(dir: &Path, n: usize) {
    let imgs: Vec<u8> = (0..n * 28 * 28).map(|i| (i % 251) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let it = Tensor::from_vec(imgs, [n, 28, 28]);
    let lt = Tensor::from_vec(labels, [n]);
    for prefix in ["train", "t10k"] {
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte")),
            idx::encode_u8(&it).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte")),
            idx::encode_u8(&lt).unwrap(),
        )
        .unwrap();
    }
}

#[test]
fn idx_files_and_the_mnist_loader() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist_like(dir.path(), 12);
    let m = datasets::mnist::load_from(dir.path(), Split::Train).unwrap();
    assert_eq!(m.len(), 12);
    assert_eq!(m.images.dims(), [12, 28, 28]);
    let b = m.dataset(-1.0, 1.0).batch(5, false).to_vec().unwrap();
    let (x, y) = b[0].clone().pair().unwrap();
    assert_eq!(x.dims(), [5, 28, 28, 1]);
    assert_eq!(y.to_vec::<i64>(), [0, 1, 2, 3, 4]);
    assert_eq!(x.to_vec::<f32>()[0], -1.0);
    // Truncated file.
    let p = dir.path().join("train-images-idx3-ubyte");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 1]).unwrap();
    let err = datasets::mnist::load_from(dir.path(), Split::Train).unwrap_err();
    assert!(
        err.message()
            .contains("train-images-idx3-ubyte: header says"),
        "{err}"
    );
}

#[test]
fn movielens_loader_reads_the_recbole_tsv() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ml-100k.inter"),
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n186\t302\t3\t891717742\n",
    )
    .unwrap();
    let r = datasets::movielens::load_from(dir.path()).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!((r.n_users, r.n_items), (196, 302));
    let b = r.dataset().batch(2, false).to_vec().unwrap();
    assert_eq!(
        b[0].field("item")
            .unwrap()
            .tensor()
            .unwrap()
            .to_vec::<i32>(),
        [242, 302]
    );
}

#[test]
fn movielens_movies_loader_reads_titles_and_years() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ml-100k.item"),
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n\
         1\tToy Story\t1995\tAnimation Children's Comedy\n\
         267\tunkonwn\tunkonwn\tunknown\n",
    )
    .unwrap();
    let m = datasets::movielens::load_movies_from(dir.path()).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(
        (m[0].id, m[0].title.as_str(), m[0].year),
        (1, "Toy Story", Some(1995))
    );
    assert_eq!(m[0].genres, "Animation Children's Comedy");
    assert_eq!((m[1].id, m[1].year), (267, None));

    std::fs::write(
        dir.path().join("ml-100k.item"),
        "h\nx\tTitle\t1990\tDrama\n",
    )
    .unwrap();
    let err = datasets::movielens::load_movies_from(dir.path()).unwrap_err();
    assert!(err.message().contains("row 2, column \"item_id\""), "{err}");
    let err = datasets::movielens::load_movies_from(&dir.path().join("absent")).unwrap_err();
    assert!(err.message().contains("ml-100k.item"), "{err}");
}

/// A little-endian .mo file with the given (msgid, msgstr) pairs (sorted, as msgfmt writes).
fn mo_bytes(pairs: &[(&str, &str)]) -> Vec<u8> {
    let n = pairs.len();
    let (orig, trans) = (28, 28 + 8 * n);
    let mut strings = Vec::new();
    let mut otab = Vec::new();
    let mut ttab = Vec::new();
    let base = 28 + 16 * n;
    for (k, _) in pairs {
        otab.push((k.len() as u32, (base + strings.len()) as u32));
        strings.extend_from_slice(k.as_bytes());
        strings.push(0);
    }
    for (_, v) in pairs {
        ttab.push((v.len() as u32, (base + strings.len()) as u32));
        strings.extend_from_slice(v.as_bytes());
        strings.push(0);
    }
    let mut b = Vec::new();
    for v in [0x950412deu32, 0, n as u32, orig as u32, trans as u32, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for (l, o) in otab.iter().chain(&ttab) {
        b.extend_from_slice(&l.to_le_bytes());
        b.extend_from_slice(&o.to_le_bytes());
    }
    b.extend_from_slice(&strings);
    b
}

#[test]
fn sentence_pairs_from_mo_catalogues() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mo")).unwrap();
    let bytes = mo_bytes(&[
        ("", "Content-Type: text/plain; charset=UTF-8\n"),
        ("They've seen us! Run!", "¡Nos han visto! ¡Corred!"),
        (
            "<i>That name</i> is no\nlonger mine.",
            "Ese ya no es mi nombre.",
        ),
        ("ctx\u{4}Move", "Mover"),
        ("Same", "Same"),
        ("A very long sentence with many words in it", "Una frase"),
    ]);
    std::fs::write(dir.path().join("mo/wesnoth-x.mo"), bytes).unwrap();
    let pairs = datasets::sentences::load_from(dir.path(), Some(6)).unwrap();
    assert_eq!(
        pairs,
        vec![
            (
                "They've seen us! Run!".to_string(),
                "¡Nos han visto! ¡Corred!".to_string()
            ),
            (
                "That name is no longer mine.".to_string(),
                "Ese ya no es mi nombre.".to_string()
            ),
        ]
    );
    assert_eq!(
        preprocess_sentence(&pairs[0].1),
        "<start> nos han visto ! corred ! <end>"
    );
    let ds = datasets::sentences::dataset(&pairs)
        .batch(2, false)
        .to_vec()
        .unwrap();
    assert_eq!(ds[0].get(0).unwrap().texts().unwrap().len(), 2);
    std::fs::write(dir.path().join("mo/bad.mo"), b"nonsense, not a catalogue").unwrap();
    let err = datasets::sentences::load_from(dir.path(), None).unwrap_err();
    assert!(err.message().contains("bad.mo: not a .mo file"), "{err}");
}

#[test]
fn captions_from_tuxpaint_and_emoji_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("animals");
    std::fs::create_dir(&d).unwrap();
    write_png(&d.join("tiger.png"), 3, 3);
    std::fs::write(
        d.join("tiger.txt"),
        "A Sumatran tiger.\nes.utf8=Un tigre.\n",
    )
    .unwrap();
    write_png(&d.join("nocaption.png"), 3, 3);
    let tp = datasets::captions::tuxpaint_from(dir.path()).unwrap();
    assert_eq!(tp.len(), 1);
    assert_eq!(tp[0].1, "A Sumatran tiger.");
    let e = dir.path().join("emoji");
    std::fs::create_dir_all(e.join("img/twitter/64")).unwrap();
    write_png(&e.join("img/twitter/64/1f600.png"), 2, 2);
    std::fs::write(
        e.join("emoji.json"),
        r#"[{"name":"GRINNING FACE","image":"1f600.png"},{"name":"GONE","image":"x.png"}]"#,
    )
    .unwrap();
    let em = datasets::captions::emoji_from(&e).unwrap();
    assert_eq!(em.len(), 1);
    assert_eq!(em[0].1, "grinning face");
    let ds = datasets::captions::dataset(
        &tp,
        ImageOptions::new()
            .channels(3)
            .resize(5, 5, Filter::Bilinear),
    );
    let (img, cap) = {
        let v = ds.to_vec().unwrap();
        let t = v[0].clone().into_tuple().unwrap();
        (
            t[0].tensor().unwrap().clone(),
            t[1].text().unwrap().to_string(),
        )
    };
    assert_eq!(img.dims(), [5, 5, 3]);
    assert_eq!(cap, "A Sumatran tiger.");
}

#[test]
fn tokenizer_follows_keras_and_round_trips_through_json() {
    let texts = ["The cat sat on the mat.", "The dog ate the cat!", "A cat."];
    let mut tok = Tokenizer::new().oov_token("<unk>");
    tok.fit_on_texts(texts);
    // Keras: {'<unk>': 1, 'the': 2, 'cat': 3, 'sat': 4, 'on': 5, 'mat': 6, 'dog': 7, 'ate': 8, 'a': 9}
    let wi = tok.word_index();
    assert_eq!(
        (
            wi["<unk>"],
            wi["the"],
            wi["cat"],
            wi["sat"],
            wi["dog"],
            wi["a"]
        ),
        (1, 2, 3, 4, 7, 9)
    );
    assert_eq!(
        tok.texts_to_sequences(["the bird sat"]),
        vec![vec![2, 1, 4]]
    );
    assert_eq!(
        tok.sequences_to_texts(&[vec![2, 3, 0, 99]]),
        ["the cat <unk>"]
    );
    let small = Tokenizer::new()
        .num_words(4)
        .oov_token("<unk>")
        .filters("")
        .lower(false);
    let mut small = small;
    small.fit_on_texts(["b b b a a c", "A"]);
    // index: <unk>=1, b=2, a=3, c=4, A=5; num_words=4 keeps 1..=3.
    assert_eq!(
        small.texts_to_sequences(["b a c A"]),
        vec![vec![2, 3, 1, 1]]
    );
    assert_eq!(small.vocab_size(), 4);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("vocab.json");
    tok.save(&p).unwrap();
    assert_eq!(Tokenizer::load(&p).unwrap(), tok);
    std::fs::write(&p, "{").unwrap();
    assert!(Tokenizer::load(&p)
        .unwrap_err()
        .message()
        .contains("bad JSON"));
}

#[test]
fn pad_sequences_pre_post_and_truncating() {
    let s = vec![vec![1, 2, 3], vec![4]];
    assert_eq!(
        pad_sequences(&s, None, Padding::Pre, Padding::Pre, 0).to_vec::<i32>(),
        [1, 2, 3, 0, 0, 4]
    );
    assert_eq!(
        pad_sequences(&s, None, Padding::Post, Padding::Pre, 0).to_vec::<i32>(),
        [1, 2, 3, 4, 0, 0]
    );
    assert_eq!(
        pad_sequences(&s, Some(2), Padding::Post, Padding::Pre, 0).to_vec::<i32>(),
        [2, 3, 4, 0]
    );
    assert_eq!(
        pad_sequences(&s, Some(2), Padding::Post, Padding::Post, 9).to_vec::<i32>(),
        [1, 2, 4, 9]
    );
}

#[test]
fn ensure_rejects_unknown_names() {
    let err = datasets::ensure("imagenet").unwrap_err();
    assert_eq!(err.kind(), DataErrorKind::Argument);
    assert!(
        err.message().contains("unknown dataset \"imagenet\""),
        "{err}"
    );
}

// ---- On the real data (run after `bash data/fetch.sh mnist movielens spa-eng`) ----

#[test]
#[ignore = "needs data: bash data/fetch.sh mnist"]
fn real_mnist_has_the_canonical_counts() {
    let train = datasets::mnist::load(Split::Train).unwrap();
    let test = datasets::mnist::load(Split::Test).unwrap();
    assert_eq!((train.len(), test.len()), (60000, 10000));
    let mut counts = [0usize; 10];
    for l in train.labels.to_vec::<u8>() {
        counts[l as usize] += 1;
    }
    assert_eq!(
        counts,
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(&train.labels.to_vec::<u8>()[..5], [5, 0, 4, 1, 9]);
}

#[test]
#[ignore = "needs data: bash data/fetch.sh movielens"]
fn real_movielens_has_100k_ratings() {
    let r = datasets::movielens::load().unwrap();
    assert_eq!((r.len(), r.n_users, r.n_items), (100_000, 943, 1682));
    let mut hist = [0usize; 5];
    for v in r.ratings.to_vec::<f32>() {
        hist[v as usize - 1] += 1;
    }
    assert_eq!(hist, [6110, 11370, 27145, 34174, 21201]);
    let movies = datasets::movielens::load_movies().unwrap();
    assert_eq!(movies.len(), 1682);
    assert_eq!((movies[0].id, movies[0].title.as_str()), (1, "Toy Story"));
}

#[test]
#[ignore = "needs data: bash data/fetch.sh spa-eng"]
fn real_sentence_pairs_are_many_and_short_ones_exist() {
    let all = datasets::sentences::load(None).unwrap();
    let short = datasets::sentences::load(Some(15)).unwrap();
    println!("{} pairs, {} with <= 15 words", all.len(), short.len());
    assert!(all.len() > 10_000, "{}", all.len());
    assert!(short.len() > 5_000, "{}", short.len());
}
