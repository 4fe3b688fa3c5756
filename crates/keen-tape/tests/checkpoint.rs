//! Checkpoints: safetensors interop with Python, the bincode training state, atomic writes,
//! and clear errors (never panics) on truncated, corrupt or mismatched files.

use keen_tape::checkpoint::{
    latest_checkpoint, load_safetensors, load_state, load_variables, parse_safetensors,
    parse_state, safetensors_bytes, save_checkpoint, save_safetensors, save_state, save_variables,
    state_bytes, CheckpointError, TrainingState,
};
use keen_tape::Variable;
use keen_tensor::{DType, Tensor};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keen-tape-ckpt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The tensors of `gen_safetensors.py`'s `expected()`.
fn expected() -> Vec<(&'static str, Tensor)> {
    vec![
        (
            "dense/kernel",
            Tensor::from_vec((0..6).map(|i| i as f32 / 4.0).collect::<Vec<_>>(), [2, 3]),
        ),
        ("dense/bias", Tensor::from([0.5f32, -1.5, 2.25])),
        (
            "embedding",
            Tensor::linspace(-1.0, 1.0, 8, DType::Float64).reshape([2, 2, 2]),
        ),
        ("step", Tensor::scalar(7i64)),
        ("ids", Tensor::from([1i32, -2, 3])),
        ("pixels", Tensor::from([0u8, 128, 255])),
        ("mask", Tensor::from([true, false, true])),
    ]
}

fn same(a: &Tensor, b: &Tensor) -> bool {
    a.shape() == b.shape() && a.dtype() == b.dtype() && a.to_f64_vec() == b.to_f64_vec()
}

#[test]
fn reads_a_file_written_by_python() {
    let got = load_safetensors(fixtures().join("python_written.safetensors")).unwrap();
    for (name, want) in expected() {
        let t = got.get(name).unwrap_or_else(|| panic!("missing {name}"));
        assert!(same(t, &want), "{name}: {t} vs {want}");
    }
}

#[test]
fn writes_a_file_python_reads() {
    // keen_written.safetensors was checked with `gen_safetensors.py --check`; keen must keep
    // writing exactly those bytes.
    let e = expected();
    let named: Vec<(&str, &Tensor)> = e.iter().map(|(n, t)| (*n, t)).collect();
    let bytes = safetensors_bytes(&named).unwrap();
    let path = fixtures().join("keen_written.safetensors");
    if std::env::var_os("KEEN_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, &bytes).unwrap();
    }
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let back = parse_safetensors(&path, &bytes).unwrap();
    for (name, want) in &e {
        assert!(same(&back[*name], want), "{name}");
    }
}

#[test]
fn variables_round_trip_by_name() {
    let d = scratch("vars");
    let w = Variable::new("dense/kernel", Tensor::from([[1.0f32, 2.0], [3.0, 4.0]]));
    let b = Variable::new("dense/bias", Tensor::from([0.5f32, 0.25]));
    save_variables(d.join("m.safetensors"), &[w.clone(), b.clone()]).unwrap();
    w.assign(&Tensor::zeros([2, 2], DType::Float32));
    b.assign(&Tensor::zeros([2], DType::Float32));
    load_variables(d.join("m.safetensors"), &[b.clone(), w.clone()]).unwrap();
    assert_eq!(w.value().to_vec::<f32>(), [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(b.value().to_vec::<f32>(), [0.5, 0.25]);
}

#[test]
fn a_missing_name_is_a_clear_error_and_changes_nothing() {
    let d = scratch("missing");
    let w = Variable::new("w", Tensor::from([1.0f32]));
    save_variables(d.join("m.safetensors"), std::slice::from_ref(&w)).unwrap();
    let other = Variable::new("v", Tensor::from([9.0f32]));
    w.assign(&Tensor::from([5.0f32]));
    let e = load_variables(d.join("m.safetensors"), &[w.clone(), other]).unwrap_err();
    assert!(
        matches!(&e, CheckpointError::Missing { name, .. } if name == "v"),
        "{e}"
    );
    assert!(e.to_string().ends_with("no tensor named `v`"), "{e}");
    assert_eq!(
        w.value().to_vec::<f32>(),
        [5.0],
        "nothing assigned on failure"
    );
}

#[test]
fn wrong_shapes_and_dtypes_are_clear_errors() {
    let d = scratch("mismatch");
    let p = d.join("m.safetensors");
    save_safetensors(&p, &[("w", &Tensor::zeros([2, 3], DType::Float32))]).unwrap();
    let e = load_variables(
        &p,
        &[Variable::new("w", Tensor::zeros([3, 2], DType::Float32))],
    )
    .unwrap_err();
    assert!(
        e.to_string().ends_with(
            "`w`: the file has shape (2, 3) and dtype float32, the variable has (3, 2) and float32"
        ),
        "{e}"
    );
    let e = load_variables(
        &p,
        &[Variable::new("w", Tensor::zeros([2, 3], DType::Float64))],
    )
    .unwrap_err();
    assert!(matches!(e, CheckpointError::Mismatch { .. }), "{e}");
}

#[test]
fn truncated_and_lying_safetensors_files_are_errors() {
    let e = expected();
    let named: Vec<(&str, &Tensor)> = e.iter().map(|(n, t)| (*n, t)).collect();
    let bytes = safetensors_bytes(&named).unwrap();
    let p = Path::new("x.safetensors");
    for cut in [0, 4, 8, 20, bytes.len() / 2, bytes.len() - 1] {
        let err = parse_safetensors(p, &bytes[..cut]).unwrap_err();
        assert!(
            matches!(err, CheckpointError::Corrupt { .. }),
            "cut at {cut}: {err}"
        );
    }
    // A header claiming a terabyte of JSON.
    let mut lying = bytes.clone();
    lying[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(matches!(
        parse_safetensors(p, &lying),
        Err(CheckpointError::Corrupt { .. })
    ));
    // A header whose offsets claim more data than the file holds.
    let header = br#"{"w":{"dtype":"F32","shape":[1000000],"data_offsets":[0,4000000]}}"#;
    let mut f = (header.len() as u64).to_le_bytes().to_vec();
    f.extend_from_slice(header);
    f.extend_from_slice(&[0u8; 16]);
    let err = parse_safetensors(p, &f).unwrap_err();
    assert!(err.to_string().contains("corrupt file"), "{err}");
    // An unsupported dtype.
    let header = br#"{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#;
    let mut f = (header.len() as u64).to_le_bytes().to_vec();
    f.extend_from_slice(header);
    f.extend_from_slice(&[0u8; 4]);
    let err = parse_safetensors(p, &f).unwrap_err();
    assert!(
        matches!(err, CheckpointError::UnsupportedDType { .. }),
        "{err}"
    );
}

fn state() -> TrainingState {
    let mut variables = BTreeMap::new();
    variables.insert(
        "dense/kernel".to_string(),
        Tensor::from([[1.0f32, -2.0], [3.5, 4.0]]),
    );
    variables.insert("dense/bias".to_string(), Tensor::from([0.0f64, 0.125]));
    let mut slots = BTreeMap::new();
    slots.insert(
        "dense/kernel/m".to_string(),
        Tensor::from([[0.1f32, 0.2], [0.3, 0.4]]),
    );
    slots.insert("count".to_string(), Tensor::scalar(3i64));
    TrainingState {
        step: 42,
        variables,
        slots,
    }
}

#[test]
fn training_state_round_trips() {
    let d = scratch("state");
    let s = state();
    save_state(d.join("s.keen"), &s).unwrap();
    let back = load_state(d.join("s.keen")).unwrap();
    assert_eq!(back.step, 42);
    for (a, b) in [(&s.variables, &back.variables), (&s.slots, &back.slots)] {
        assert_eq!(a.len(), b.len());
        for (k, v) in a {
            assert!(same(v, &b[k]), "{k}");
        }
    }
    let w = Variable::new("dense/kernel", Tensor::zeros([2, 2], DType::Float32));
    let bias = Variable::new("dense/bias", Tensor::zeros([2], DType::Float64));
    back.restore(&[w.clone(), bias]).unwrap();
    assert_eq!(w.value().to_vec::<f32>(), [1.0, -2.0, 3.5, 4.0]);
}

#[test]
fn truncated_or_corrupt_state_files_are_errors() {
    let bytes = state_bytes(&state());
    let p = Path::new("s.keen");
    for cut in [0, 7, 12, 13, 20, bytes.len() / 2, bytes.len() - 1] {
        let e = parse_state(p, &bytes[..cut]).unwrap_err();
        assert!(
            matches!(e, CheckpointError::Corrupt { .. }),
            "cut at {cut}: {e}"
        );
    }
    let e = parse_state(p, b"PK\x03\x04 a zip file, not a state").unwrap_err();
    assert!(
        e.to_string().contains("not a keen training-state file"),
        "{e}"
    );
    let mut v2 = bytes.clone();
    v2[8] = 2;
    assert!(parse_state(p, &v2)
        .unwrap_err()
        .to_string()
        .contains("format version 2"));
    // A length prefix claiming 2^60 bytes must not allocate them.
    let mut huge = bytes[..12].to_vec();
    huge.extend_from_slice(&42u64.to_le_bytes()); // step
    huge.extend_from_slice(&(1u64 << 60).to_le_bytes()); // number of variables
    assert!(matches!(
        parse_state(p, &huge),
        Err(CheckpointError::Corrupt { .. })
    ));
}

#[test]
fn latest_checkpoint_picks_the_highest_step() {
    let d = scratch("latest");
    assert_eq!(latest_checkpoint(&d), None);
    assert_eq!(latest_checkpoint(d.join("nope")), None);
    let mut s = state();
    for step in [5, 100, 20] {
        s.step = step;
        save_checkpoint(&d, &s).unwrap();
    }
    std::fs::write(d.join("ckpt-999.keen.tmp"), b"partial").unwrap();
    std::fs::write(d.join("notes.txt"), b"x").unwrap();
    let latest = latest_checkpoint(&d).unwrap();
    assert_eq!(latest.file_name().unwrap(), "ckpt-100.keen");
    assert_eq!(load_state(latest).unwrap().step, 100);
}

#[test]
fn a_failed_save_keeps_the_previous_checkpoint() {
    let d = scratch("atomic");
    let p = d.join("m.safetensors");
    save_safetensors(&p, &[("w", &Tensor::from([1.0f32]))]).unwrap();
    // Saving into a directory that vanished fails before touching the old file...
    let gone = d.join("gone").join("m.safetensors");
    assert!(matches!(
        save_safetensors(&gone, &[("w", &Tensor::from([2.0f32]))]),
        Err(CheckpointError::Io { .. })
    ));
    // ... and a save interrupted after writing its temporary file leaves the target intact:
    // the temporary name is never the target's.
    std::fs::write(d.join(".m.safetensors.tmp-1-0"), b"half a file").unwrap();
    assert_eq!(load_safetensors(&p).unwrap()["w"].to_vec::<f32>(), [1.0]);
    save_safetensors(&p, &[("w", &Tensor::from([3.0f32]))]).unwrap();
    assert_eq!(load_safetensors(&p).unwrap()["w"].to_vec::<f32>(), [3.0]);
    let leftovers: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp-") && n != ".m.safetensors.tmp-1-0")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn loaders_never_panic_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_safetensors(Path::new("g"), &bytes);
        let _ = parse_state(Path::new("g"), &bytes);
    }

    #[test]
    fn loaders_never_panic_on_mutated_files(pos in 0usize..4096, val in any::<u8>(), cut in 0usize..4096) {
        let e = expected();
        let named: Vec<(&str, &Tensor)> = e.iter().map(|(n, t)| (*n, t)).collect();
        let mut st = safetensors_bytes(&named).unwrap();
        let i = pos % st.len();
        st[i] = val;
        st.truncate(cut.min(st.len()).max(i));
        let _ = parse_safetensors(Path::new("m"), &st);
        let mut sb = state_bytes(&state());
        let i = pos % sb.len();
        sb[i] = val;
        sb.truncate(cut.min(sb.len()).max(i));
        let _ = parse_state(Path::new("m"), &sb);
    }
}
