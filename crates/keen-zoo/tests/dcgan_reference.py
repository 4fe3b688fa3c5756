"""Writes dcgan_reference.json: one whole DCGAN training step computed by Keras, for
keen_zoo::dcgan's reference test (tests/dcgan_reference.rs).

Pinned: keras 3.15.1 on the torch backend (torch 2.15.0), numpy. Run from the repository root:

    KERAS_BACKEND=torch ~/torch-venv/bin/python crates/keen-zoo/tests/dcgan_reference.py

The models are the R post's generator and discriminator (see keen_zoo::dcgan). No weights are
stored: both sides fill every variable from a formula,

    value[i] = offset + scale · sin(0.37·i + k)        (i: row-major index, k: the variable's
                                                        number in `VARIABLES`)

where the layouts agree (Dense (in, out); Conv2D (kh, kw, in, out); Conv2DTranspose
(kh, kw, out, in), keen's too), and the scale is near Keras' glorot-uniform limit. The noise
(8, 100) and the "real" batch (8, 28, 28, 1) come from the same formula.

The step, per dtype (float32, what training uses, and float64):
    fake = generator(noise, training=True)          batch statistics, moving stats updated
    real_logits = discriminator(real, training=False)   dropout off, or it could not match
    fake_logits = discriminator(fake, training=False)
    gen_loss = BCE(ones, fake_logits); disc_loss = BCE(ones, real) + BCE(zeros, fake)
    gradients of each loss w.r.t. its own model's trainable variables, then one
    Adam(1e-4) step per model (beta 0.9 / 0.999, epsilon 1e-7: Keras' and keen's defaults).

Per variable the fixture keeps sums, sums of |·| and of squares, and a few entries at fixed
indices of the gradient, of the update (new − old) and of the new value (BN moving
statistics: the new value only), so it stays small.
"""

import json
import math
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

assert keras.__version__ == "3.15.1", keras.__version__
assert keras.backend.backend() == "torch"

L = keras.layers
BATCH = 8
LR = 1e-4


def glorot(fan_in, fan_out):
    return math.sqrt(6.0 / (fan_in + fan_out))


# (keen path, shape, offset, scale) in order; k is the position in this list.
VARIABLES = [
    ("generator.fc.kernel", (100, 3136), 0.0, glorot(100, 3136)),
    ("generator.bn0.gamma", (3136,), 1.0, 0.1),
    ("generator.bn0.beta", (3136,), 0.0, 0.1),
    ("generator.deconv1.kernel", (5, 5, 64, 64), 0.0, glorot(25 * 64, 25 * 64)),
    ("generator.bn1.gamma", (64,), 1.0, 0.1),
    ("generator.bn1.beta", (64,), 0.0, 0.1),
    ("generator.deconv2.kernel", (5, 5, 32, 64), 0.0, glorot(25 * 64, 25 * 32)),
    ("generator.bn2.gamma", (32,), 1.0, 0.1),
    ("generator.bn2.beta", (32,), 0.0, 0.1),
    ("generator.deconv3.kernel", (5, 5, 1, 32), 0.0, glorot(25 * 32, 25)),
    ("discriminator.conv1.kernel", (5, 5, 1, 64), 0.0, glorot(25, 25 * 64)),
    ("discriminator.conv1.bias", (64,), 0.0, 0.01),
    ("discriminator.conv2.kernel", (5, 5, 64, 128), 0.0, glorot(25 * 64, 25 * 128)),
    ("discriminator.conv2.bias", (128,), 0.0, 0.01),
    ("discriminator.fc.kernel", (6272, 1), 0.0, glorot(6272, 1)),
    ("discriminator.fc.bias", (1,), 0.0, 0.01),
]
# Not filled (Keras' and keen's initial values): moving means 0, moving variances 1.
MOVING = [f"generator.bn{i}.moving_{s}" for i in range(3) for s in ("mean", "variance")]
NOISE = (len(VARIABLES), 1.0)  # (k, scale) for the noise
REAL = (len(VARIABLES) + 1, 0.9)  # and for the real batch


def formula(shape, k, offset, scale):
    i = np.arange(int(np.prod(shape)), dtype=np.float64)
    return (offset + scale * np.sin(0.37 * i + k)).reshape(shape)


def sample_indices(n):
    return sorted({0, min(1, n - 1), n // 3, n // 2, (2 * n) // 3, n - 1, 7919 % n, 104729 % n})


def stats(x):
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    idx = sample_indices(x.size)
    return {
        "sum": float(x.sum()),
        "abs_sum": float(np.abs(x).sum()),
        "sq_sum": float((x * x).sum()),
        "indices": idx,
        "values": [float(x[j]) for j in idx],
    }


def models():
    leaky = lambda: L.LeakyReLU()  # noqa: E731  (negative_slope 0.3)
    deconv = lambda f, s, **kw: L.Conv2DTranspose(  # noqa: E731
        f, 5, strides=s, padding="same", use_bias=False, **kw
    )
    gen = keras.Sequential(
        [
            keras.Input((100,)),
            L.Dense(7 * 7 * 64, use_bias=False),
            L.BatchNormalization(),
            leaky(),
            L.Reshape((7, 7, 64)),
            deconv(64, 1),
            L.BatchNormalization(),
            leaky(),
            deconv(32, 2),
            L.BatchNormalization(),
            leaky(),
            deconv(1, 2, activation="tanh"),
        ]
    )
    disc = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            L.Conv2D(64, 5, strides=2, padding="same"),
            leaky(),
            L.Dropout(0.3),
            L.Conv2D(128, 5, strides=2, padding="same"),
            leaky(),
            L.Flatten(),
            L.Dense(1),
        ]
    )
    return gen, disc


def keras_variables(gen, disc):
    """Maps keen paths to the Keras variables (trainable ones in VARIABLES order)."""
    names = {}
    for prefix, model, layer_names in (
        ("generator", gen, ["fc", "bn0", "deconv1", "bn1", "deconv2", "bn2", "deconv3"]),
        ("discriminator", disc, ["conv1", "conv2", "fc"]),
    ):
        layers = [layer for layer in model.layers if layer.weights]
        assert len(layers) == len(layer_names), [layer.name for layer in layers]
        for layer, name in zip(layers, layer_names):
            for w in layer.weights:
                names[f"{prefix}.{name}.{w.name}"] = w
    return names


def keep_float64():
    """Keras 3.15 promotes float64 with float32 to float32 (`result_type("float64", "float32")`
    is float32), so its BatchNormalization and `ops.mean` compute a float64 model in float32.
    For a float64 reference that is float64 throughout, float64 wins here."""
    from keras.src import backend
    from keras.src.backend.common import dtypes

    original = dtypes.result_type

    def result_type(*args):
        names = [backend.standardize_dtype(getattr(a, "dtype", a)) for a in args]
        if "float64" in names and all("float" in n for n in names):
            return "float64"
        return original(*args)

    dtypes.result_type = result_type
    backend.result_type = result_type
    assert backend.result_type("float64", "float32") == "float64"


def step(dtype):
    if dtype == "float64":
        keep_float64()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)  # set_floatx alone leaves the policy at float32
    keras.utils.set_random_seed(0)
    gen, disc = models()
    assert all(str(v.dtype) == dtype for v in gen.weights + disc.weights)
    kv = keras_variables(gen, disc)
    assert set(kv) == {v[0] for v in VARIABLES} | set(MOVING), sorted(kv)
    for k, (name, shape, offset, scale) in enumerate(VARIABLES):
        assert tuple(kv[name].shape) == shape, (name, kv[name].shape, shape)
        kv[name].assign(formula(shape, k, offset, scale).astype(dtype))
    before = {name: np.array(kv[name].numpy(), dtype=np.float64) for name, *_ in VARIABLES}

    noise = torch.tensor(formula((BATCH, 100), NOISE[0], 0.0, NOISE[1]).astype(dtype))
    real = torch.tensor(formula((BATCH, 28, 28, 1), REAL[0], 0.0, REAL[1]).astype(dtype))

    def bce(labels, logits):
        # Keras' BinaryCrossentropy(from_logits=True) is this backend op and a mean, but its
        # means (keras.ops.mean) round through float32 even for float64 input; torch's mean
        # keeps float64 exact.
        per_sample = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, labels, reduction="none"
        )
        return torch.mean(per_sample)

    fake = gen(noise, training=True)
    real_logits = disc(real, training=False)
    fake_logits = disc(fake, training=False)
    gen_loss = bce(torch.ones_like(fake_logits), fake_logits)
    disc_loss = bce(torch.ones_like(real_logits), real_logits) + bce(
        torch.zeros_like(fake_logits), fake_logits
    )

    gen_vars = [kv[n] for n, *_ in VARIABLES if n.startswith("generator.")]
    disc_vars = [kv[n] for n, *_ in VARIABLES if n.startswith("discriminator.")]
    gen_grads = torch.autograd.grad(gen_loss, [v.value for v in gen_vars], retain_graph=True)
    disc_grads = torch.autograd.grad(disc_loss, [v.value for v in disc_vars])
    grads = dict(
        zip([n for n, *_ in VARIABLES], [g.detach() for g in gen_grads + disc_grads])
    )

    for vars_, grads_ in ((gen_vars, gen_grads), (disc_vars, disc_grads)):
        opt = keras.optimizers.Adam(learning_rate=LR)  # beta 0.9/0.999, epsilon 1e-7
        opt.apply_gradients(zip([g.detach() for g in grads_], vars_))

    out = {
        "gen_loss": float(gen_loss.detach()),
        "disc_loss": float(disc_loss.detach()),
        "fake": stats(fake.detach().cpu().numpy()),
        "real_logits": [float(x) for x in real_logits.detach().reshape(-1)],
        "fake_logits": [float(x) for x in fake_logits.detach().reshape(-1)],
        "variables": {},
    }
    for name, *_ in VARIABLES:
        new = np.array(kv[name].numpy(), dtype=np.float64)
        out["variables"][name] = {
            "gradient": stats(grads[name].cpu().numpy()),
            "update": stats(new - before[name]),
            "new": stats(new),
        }
    for name in MOVING:
        out["variables"][name] = {"new": stats(kv[name].numpy())}
    return out


fixture = {
    "batch": BATCH,
    "learning_rate": LR,
    "formula": "offset + scale * sin(0.37 * i + k)",
    "variables": [
        {"name": n, "shape": list(s), "k": k, "offset": o, "scale": sc}
        for k, (n, s, o, sc) in enumerate(VARIABLES)
    ],
    "noise": {"k": NOISE[0], "scale": NOISE[1]},
    "real": {"k": REAL[0], "scale": REAL[1]},
    "float32": step("float32"),
    "float64": step("float64"),
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcgan_reference.json")
with open(path, "w") as f:
    json.dump(fixture, f, indent=1)
    f.write("\n")
print(f"wrote {path}: {os.path.getsize(path)} bytes")
