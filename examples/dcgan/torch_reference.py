"""The DCGAN of examples/dcgan trained by PyTorch, to compare whole runs with keen's.

Usage (from the repository root, MNIST fetched into data/mnist by the dcgan example):
    python examples/dcgan/torch_reference.py LR BETA1 EPOCHS OUT_DIR [BENCH_DIR]
The models are ../shared/bench/torch_workloads.py's DcganG/DcganD (the post's, with Keras'
batch-norm settings) with Keras' default initialisers; both Adams take LR, BETA1 and TF1's
epsilon 1e-8; batch 256 over all 60,000 images. After each epoch it writes 1000 digits from
a fixed noise, generator in inference mode, as raw little-endian float32 (1000, 28, 28, 1)
to OUT_DIR/torch-epoch-NNN.f32; score them with keen's classifier:
    cargo run --release -p keen --example dcgan -- --score-raw OUT_DIR/torch-epoch-005.f32
Tested with torch 2.15 and numpy 2.4 on 2026-11-27.
"""
import os, sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, sys.argv[5] if len(sys.argv) > 5 else "../shared/bench")
from torch_workloads import DcganG, DcganD
torch.set_num_threads(2); torch.manual_seed(7777)
lr, beta1, epochs, out = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.makedirs(out, exist_ok=True)
raw = np.fromfile("data/mnist/train-images-idx3-ubyte", dtype=np.uint8)[16:]
x = torch.tensor(raw.reshape(-1, 1, 28, 28).astype(np.float32) / 127.5 - 1.0)
G, D = DcganG(), DcganD()
for m in list(G.modules()) + list(D.modules()):  # Keras defaults: glorot_uniform, zero bias
    if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None: nn.init.zeros_(m.bias)
gopt = torch.optim.Adam(G.parameters(), lr, betas=(beta1, 0.999), eps=1e-8)
dopt = torch.optim.Adam(D.parameters(), lr, betas=(beta1, 0.999), eps=1e-8)
bce = F.binary_cross_entropy_with_logits
noise = torch.randn(1000, 100, generator=torch.Generator().manual_seed(1))
for ep in range(epochs):
    t0 = time.time(); perm = torch.randperm(len(x)); gl = dl = 0.0; n = 0
    G.train(); D.train()
    for i in range(0, len(x), 256):
        real = x[perm[i:i + 256]]
        fake = G(torch.randn(len(real), 100))
        ro, fo = D(real), D(fake)
        g_loss = bce(fo, torch.ones_like(fo)); d_loss = bce(ro, torch.ones_like(ro)) + bce(fo, torch.zeros_like(fo))
        gg = torch.autograd.grad(g_loss, list(G.parameters()), retain_graph=True)
        dg = torch.autograd.grad(d_loss, list(D.parameters()))
        for p, g in zip(list(G.parameters()) + list(D.parameters()), list(gg) + list(dg)): p.grad = g
        gopt.step(); dopt.step(); gl += g_loss.item(); dl += d_loss.item(); n += 1
    G.eval()
    with torch.no_grad():
        imgs = G(noise).permute(0, 2, 3, 1).contiguous().numpy().astype(np.float32)
    imgs.tofile(f"{out}/torch-epoch-{ep + 1:03}.f32")
    print(f"epoch {ep + 1}: gen {gl / n:.4f} disc {dl / n:.4f} {time.time() - t0:.0f}s", flush=True)
