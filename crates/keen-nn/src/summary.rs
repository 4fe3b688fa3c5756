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
    s + &totals(total, trainable)
}

/// Keras' summary of a Functional model: rows of name (type), output shape, parameters
/// (already formatted) and the tensors the layer is connected to.
pub(crate) fn table4(model: &str, rows: &[[String; 4]], total: usize, trainable: usize) -> String {
    let head = ["Layer (type)", "Output Shape", "Param #", "Connected to"];
    let mut w = [28, 24, 10, 20];
    for r in rows {
        for (w, c) in w.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |r: &[String; 4]| {
        format!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {}\n",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        )
    };
    let width = w.iter().sum::<usize>() + 6;
    let mut s = format!("Model: \"{model}\"\n{}\n", "━".repeat(width));
    s += &line(&head.map(String::from));
    s += &format!("{}\n", "━".repeat(width));
    for (i, r) in rows.iter().enumerate() {
        s += &line(r);
        if i + 1 < rows.len() {
            s += &format!("{}\n", "─".repeat(width));
        }
    }
    s += &format!("{}\n", "━".repeat(width));
    s + &totals(total, trainable)
}

fn totals(total: usize, trainable: usize) -> String {
    format!(
        " Total params: {} ({})\n Trainable params: {} ({})\n Non-trainable params: {} ({})\n",
        group(total),
        bytes(total * 4),
        group(trainable),
        bytes(trainable * 4),
        group(total - trainable),
        bytes((total - trainable) * 4)
    )
}

/// `12345` → `12,345`.
pub(crate) fn group(n: usize) -> String {
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
