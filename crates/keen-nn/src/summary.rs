//! The Keras summary table.

/// Formats Keras' summary: a header, one row per layer, the totals.
pub(crate) fn table(
    model: &str,
    rows: &[(String, String, usize)],
    total: usize,
    trainable: usize,
) -> String {
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(28);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(24);
    let w2 = 12;
    let width = w0 + w1 + w2 + 4;
    let mut s = format!("Model: \"{model}\"\n");
    s += &format!("{}\n", "━".repeat(width));
    s += &format!(
        "{:<w0$}  {:<w1$}  {:>w2$}\n",
        "Layer (type)", "Output Shape", "Param #"
    );
    s += &format!("{}\n", "━".repeat(width));
    for (i, (name, shape, params)) in rows.iter().enumerate() {
        s += &format!("{name:<w0$}  {shape:<w1$}  {:>w2$}\n", group(*params));
        if i + 1 < rows.len() {
            s += &format!("{}\n", "─".repeat(width));
        }
    }
    s += &format!("{}\n", "━".repeat(width));
    s += &format!(" Total params: {} ({})\n", group(total), bytes(total * 4));
    s += &format!(
        " Trainable params: {} ({})\n",
        group(trainable),
        bytes(trainable * 4)
    );
    s += &format!(
        " Non-trainable params: {} ({})\n",
        group(total - trainable),
        bytes((total - trainable) * 4)
    );
    s
}

/// `12345` → `12,345`.
fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.2} MB", n as f64 / (1 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.2} KB", n as f64 / 1024.0),
        n => format!("{n}.00 B"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_read_like_keras() {
        assert_eq!(super::group(1234567), "1,234,567");
        assert_eq!(super::group(321), "321");
        assert_eq!(super::bytes(1284), "1.25 KB");
    }
}
