//! The Keras summary table.

/// Keras' class name for a layer's snake-case type name (`gru` → `GRU`, `conv2d_transpose` →
/// `Conv2DTranspose`), as the summary prints it after the layer's name. Keras' own class names
/// are not a rule of the snake-case names (`GRU`, `SimpleRNN`, `LeakyReLU`), so the known ones
/// are listed; a type outside the list (a user's layer) is CamelCased.
///
/// ```
/// use keen_nn::summary::class_name;
/// assert_eq!(class_name("simple_rnn"), "SimpleRNN");
/// assert_eq!(class_name("max_pooling2d"), "MaxPooling2D");
/// assert_eq!(class_name("my_block"), "MyBlock");
/// ```
pub fn class_name(type_name: &str) -> String {
    let known = match type_name {
        "activation" => "Activation",
        "add" => "Add",
        "additive_attention" => "AdditiveAttention",
        "attention" => "Attention",
        "average_pooling2d" => "AveragePooling2D",
        "batch_normalization" => "BatchNormalization",
        "bidirectional" => "Bidirectional",
        "concatenate" => "Concatenate",
        "conv2d" => "Conv2D",
        "conv2d_transpose" => "Conv2DTranspose",
        "cropping2d" => "Cropping2D",
        "dense" => "Dense",
        "dropout" => "Dropout",
        "embedding" => "Embedding",
        "flatten" => "Flatten",
        "functional" => "Functional",
        "global_average_pooling1d" => "GlobalAveragePooling1D",
        "global_average_pooling2d" => "GlobalAveragePooling2D",
        "global_max_pooling1d" => "GlobalMaxPooling1D",
        "global_max_pooling2d" => "GlobalMaxPooling2D",
        "gru" => "GRU",
        "input_layer" => "InputLayer",
        "lambda" => "Lambda",
        "layer_normalization" => "LayerNormalization",
        "leaky_re_lu" => "LeakyReLU",
        "lstm" => "LSTM",
        "masking" => "Masking",
        "max_pooling2d" => "MaxPooling2D",
        "multi_head_attention" => "MultiHeadAttention",
        "multiply" => "Multiply",
        "permute" => "Permute",
        "repeat_vector" => "RepeatVector",
        "reshape" => "Reshape",
        "sequential" => "Sequential",
        "simple_rnn" => "SimpleRNN",
        "spatial_dropout1d" => "SpatialDropout1D",
        "spatial_dropout2d" => "SpatialDropout2D",
        "up_sampling2d" => "UpSampling2D",
        "zero_padding2d" => "ZeroPadding2D",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    type_name
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

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
