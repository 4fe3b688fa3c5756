//! The op table: gradient checks for every differentiable op of keen-tensor.
//!
//! Each op family has a file (`core.rs`, `reduce.rs`, `shape.rs`, `conv.rs`) exposing
//! `pub fn entries() -> Vec<OpInfo>`. An entry names the op (its rule's `Backward::name`), the
//! function under test and samples with edge cases (broadcasting pairs, non-contiguous views,
//! size-1 axes). The tests below run `gradcheck` and `gradgradcheck` over every sample, and a
//! completeness test fails when a rule in `keen_tensor::ops::DIFFERENTIABLE_OPS` has no entry
//! or a rule recorded while running the table is missing from that list.
//!
//! Run one family or op: `OPINFO_FILTER=matmul cargo test -p keen-tape --test opinfo`.

#![allow(clippy::type_complexity)] // OpInfo spells out its closure type on purpose

mod conv;
mod core;
mod reduce;
mod shape;

use keen_tape::{gradcheck, gradgradcheck, GradcheckProblem, GradientTape};
use keen_tensor::Tensor;
use std::collections::BTreeSet;

/// One differentiable op and the samples it is checked on.
pub struct OpInfo {
    /// Equals the `Backward::name()` of the op's rule.
    pub name: &'static str,
    /// The function under test (may capture options such as axes or strides).
    pub f: Box<dyn Fn(&[Tensor]) -> Tensor>,
    /// `(label, inputs)`: float64 inputs are checked, int/bool inputs are passed through.
    pub samples: Vec<(String, Vec<Tensor>)>,
    /// True (the default) when the rule supports gradients of gradients; false when it
    /// declares first-order only, in which case the clear error is asserted instead.
    pub second_order: bool,
}

impl OpInfo {
    /// An entry for the op whose rule is called `name`, checked through `f`.
    pub fn new(name: &'static str, f: impl Fn(&[Tensor]) -> Tensor + 'static) -> Self {
        OpInfo {
            name,
            f: Box::new(f),
            samples: Vec::new(),
            second_order: true,
        }
    }

    /// Adds a sample.
    pub fn sample(mut self, label: &str, inputs: Vec<Tensor>) -> Self {
        self.samples.push((label.to_string(), inputs));
        self
    }

    /// Declares that the op's rule is first-order only.
    pub fn first_order_only(mut self) -> Self {
        self.second_order = false;
        self
    }
}

/// Every entry of every family, filtered by the `OPINFO_FILTER` environment variable.
fn table() -> Vec<OpInfo> {
    let mut all = Vec::new();
    all.extend(self::core::entries());
    all.extend(self::reduce::entries());
    all.extend(self::shape::entries());
    all.extend(self::conv::entries());
    if let Ok(filter) = std::env::var("OPINFO_FILTER") {
        all.retain(|e| e.name.contains(filter.as_str()));
    }
    all
}

/// Runs `check` on every sample, collecting failures (a panic in an op counts as a failure).
fn run_table(what: &str, check: impl Fn(&OpInfo, &str, &[Tensor]) -> Result<(), String>) {
    let mut failures = Vec::new();
    let mut count = 0;
    for entry in table() {
        for (label, inputs) in &entry.samples {
            count += 1;
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                check(&entry, label, inputs)
            }));
            match r {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => failures.push(msg),
                Err(p) => {
                    let m = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    failures.push(format!("`{}` (sample {label:?}) panicked: {m}", entry.name));
                }
            }
        }
    }
    eprintln!("{what}: {count} samples, {} failures", failures.len());
    assert!(
        failures.is_empty(),
        "{what}: {} of {count} samples failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn gradcheck_every_op() {
    run_table("gradcheck", |entry, label, inputs| {
        gradcheck(&*entry.f, inputs).map_err(|e| e.in_sample(entry.name, label).to_string())
    });
}

#[test]
fn gradgradcheck_every_op() {
    run_table("gradgradcheck", |entry, label, inputs| {
        let r = gradgradcheck(&*entry.f, inputs);
        if entry.second_order {
            return r.map_err(|e| e.in_sample(entry.name, label).to_string());
        }
        match r {
            Err(e) if matches!(&e.problem, GradcheckProblem::Tape(m) if m.contains("first-order-only")) => {
                Ok(())
            }
            Err(e) => Err(format!(
                "`{}` (sample {label:?}) declares first-order only, but gradgradcheck failed otherwise: {}",
                entry.name,
                e.in_sample(entry.name, label)
            )),
            Ok(()) => Err(format!(
                "`{}` (sample {label:?}) declares first-order only, but its gradient was differentiated \
                 without the clear error: drop `.first_order_only()` or make the rule say so",
                entry.name
            )),
        }
    });
}

/// The rule names recorded while running `f` on `inputs` with the float inputs watched.
fn recorded_rules(f: &dyn Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) -> Vec<&'static str> {
    let tape = GradientTape::persistent();
    for x in inputs.iter().filter(|x| x.dtype().is_float()) {
        tape.watch(x);
    }
    let _ = f(inputs);
    tape.op_names()
}

#[test]
fn every_differentiable_op_has_an_entry() {
    let known: BTreeSet<&str> = keen_tensor::ops::DIFFERENTIABLE_OPS
        .iter()
        .copied()
        .collect();
    let table = table();
    let with_entry: BTreeSet<&str> = table
        .iter()
        .filter(|e| !e.samples.is_empty())
        .map(|e| e.name)
        .collect();
    let missing: Vec<&str> = known.difference(&with_entry).copied().collect();

    let mut unlisted = BTreeSet::new();
    for entry in &table {
        for (_, inputs) in &entry.samples {
            let rules = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                recorded_rules(&*entry.f, inputs)
            }))
            .unwrap_or_default();
            for r in rules {
                if !known.contains(r) {
                    unlisted.insert(format!("`{r}` (seen in the entry for `{}`)", entry.name));
                }
            }
        }
    }
    let not_rules: Vec<&str> = with_entry.difference(&known).copied().collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!(
            "{} differentiable ops have no op-table entry with samples: {}",
            missing.len(),
            missing.join(", ")
        ));
    }
    if !unlisted.is_empty() {
        problems.push(format!(
            "rules recorded by the table but missing from keen_tensor::ops::DIFFERENTIABLE_OPS: {}",
            unlisted.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if !not_rules.is_empty() {
        problems.push(format!(
            "entries whose name is not in DIFFERENTIABLE_OPS: {}",
            not_rules.join(", ")
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
