"""Seed 001's "geometric attention": Q and K multiplied by a frozen block-diagonal 24×24 orthogonal matrix.

For an orthogonal ``R`` (``R Rᵀ = I``) applied to every query and key row, ``(q R)(k R)ᵀ = q R Rᵀ kᵀ = q kᵀ``: the
attention scores, hence the whole forward pass and every gradient with respect to the learned parameters, are
those of the model without the kernel, up to floating-point rounding. A fixed *non*-orthogonal invertible ``M``
changes the scores to ``q M Mᵀ kᵀ``, which the learned ``W_q`` absorbs (``W_q' = W_q M Mᵀ``): the function class is
unchanged (only the optimiser's parametrisation differs).

This module holds

* :func:`block_diag_kernel`: the block-diagonal kernel for a head dimension (24×24 blocks; a remainder of
  ``head_dim mod 24`` coordinates is left as identity, which is what "block-diagonal" allows when the head size is
  not a multiple of 24, e.g. SmolLM2's 64 or MiniLM's 32);
* :class:`TinyLM`: a pre-norm transformer with learned absolute position embeddings (the seed's ``LeechTransformer``
  layout: token/position embeddings, blocks, final norm, LM head) whose attention optionally multiplies Q and K by
  a frozen kernel, and :func:`train_pair`, which trains two copies from identical seeds on identical batches.
"""

from __future__ import annotations

import numpy as np


def block_diag_kernel(head_dim: int, block: np.ndarray | None = None) -> np.ndarray:
    """(head_dim, head_dim) matrix with copies of the b×b ``block`` on the diagonal, identity on the remainder.

    Default block: :func:`quantproof.math.attention.leech_kernel` (24) (normalised Paley Hadamard H₂₄/√24).
    """
    if block is None:
        from quantproof.math.attention import leech_kernel

        block = leech_kernel(24)
    b = block.shape[0]
    K = np.eye(head_dim, dtype=np.float64)
    for s in range(0, head_dim - b + 1, b):
        K[s:s + b, s:s + b] = block
    return K


def score_invariance(q: np.ndarray, k: np.ndarray, R: np.ndarray) -> dict[str, float]:
    """max |q kᵀ − (qR)(kR)ᵀ| relative to max |q kᵀ| (float32 and float64)."""
    out = {}
    for name, dt in (("fp32", np.float32), ("fp64", np.float64)):
        qq, kk, RR = q.astype(dt), k.astype(dt), R.astype(dt)
        s0 = qq @ kk.T
        s1 = (qq @ RR) @ (kk @ RR).T
        out[f"max_abs_{name}"] = float(np.max(np.abs(s1 - s0)))
        out[f"rel_{name}"] = float(np.max(np.abs(s1 - s0)) / max(np.max(np.abs(s0)), 1e-30))
    return out


def _torch_modules():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Attention(nn.Module):
        def __init__(self, d_model: int, n_heads: int, kernel):
            super().__init__()
            self.h = n_heads
            self.hd = d_model // n_heads
            self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
            self.out = nn.Linear(d_model, d_model, bias=False)
            if kernel is not None:
                self.register_buffer("kernel", torch.as_tensor(kernel, dtype=torch.float32), persistent=False)
            else:
                self.kernel = None

        def forward(self, x):
            B, T, D = x.shape
            q, k, v = self.qkv(x).split(D, dim=-1)
            q, k, v = (t.view(B, T, self.h, self.hd).transpose(1, 2) for t in (q, k, v))
            if self.kernel is not None:           # the frozen "Leech" transform of Q and K
                q = q @ self.kernel
                k = k @ self.kernel
            att = (q @ k.transpose(-1, -2)) / self.hd ** 0.5
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            att = att.masked_fill(mask, float("-inf")).softmax(-1)
            return self.out((att @ v).transpose(1, 2).reshape(B, T, D))

    class Block(nn.Module):
        def __init__(self, d_model, n_heads, kernel):
            super().__init__()
            self.ln1 = nn.LayerNorm(d_model)
            self.att = Attention(d_model, n_heads, kernel)
            self.ln2 = nn.LayerNorm(d_model)
            self.ff = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

        def forward(self, x):
            x = x + self.att(self.ln1(x))
            return x + self.ff(self.ln2(x))

    class TinyLM(nn.Module):
        def __init__(self, vocab: int, d_model: int = 48, n_heads: int = 2, n_layers: int = 2, ctx_len: int = 64,
                     kernel=None):
            super().__init__()
            self.tok = nn.Embedding(vocab, d_model)
            self.pos = nn.Embedding(ctx_len, d_model)
            self.blocks = nn.ModuleList([Block(d_model, n_heads, kernel) for _ in range(n_layers)])
            self.ln = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, vocab, bias=False)

        def forward(self, idx):
            T = idx.shape[1]
            x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))[None]
            for b in self.blocks:
                x = b(x)
            return self.head(self.ln(x))

    return torch, F, TinyLM


def train_pair(data: np.ndarray, kernel: np.ndarray, *, steps: int = 40, batch: int = 8, ctx_len: int = 64,
               d_model: int = 48, n_heads: int = 2, n_layers: int = 2, lr: float = 3e-3, seed: int = 0,
               device: str = "cpu", second_kernel: np.ndarray | None = None) -> dict[str, object]:
    """Train a kernel-free TinyLM and a TinyLM with the frozen ``kernel`` from the same seed on the same batches.

    ``data``: 1-D array of token ids (vocab = max+1). Returns both loss curves, the held-out batch logits of both
    models after training, and their differences. ``second_kernel`` (optional) trains a third model with another
    frozen matrix (e.g. a non-orthogonal one) for comparison.
    """
    torch, F, TinyLM = _torch_modules()
    vocab = int(data.max()) + 1
    gen = np.random.default_rng(seed)
    starts = gen.integers(0, len(data) - ctx_len - 1, size=(steps, batch))
    eval_starts = gen.integers(0, len(data) - ctx_len - 1, size=batch)
    X = torch.as_tensor(np.stack([[data[s:s + ctx_len] for s in row] for row in starts]), dtype=torch.long)
    Y = torch.as_tensor(np.stack([[data[s + 1:s + ctx_len + 1] for s in row] for row in starts]), dtype=torch.long)
    Xe = torch.as_tensor(np.stack([data[s:s + ctx_len] for s in eval_starts]), dtype=torch.long)

    def run(k):
        torch.manual_seed(seed)
        model = TinyLM(vocab, d_model, n_heads, n_layers, ctx_len, kernel=k).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        losses = []
        with torch.enable_grad():
            for i in range(steps):
                logits = model(X[i].to(device))
                loss = F.cross_entropy(logits.reshape(-1, vocab), Y[i].to(device).reshape(-1))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
        with torch.no_grad():
            ev = model(Xe.to(device)).float().cpu().numpy()
        return np.array(losses), ev

    base_l, base_ev = run(None)
    ker_l, ker_ev = run(kernel)
    out: dict[str, object] = {
        "loss_base": base_l, "loss_kernel": ker_l,
        "max_abs_loss_diff": float(np.max(np.abs(base_l - ker_l))),
        "max_abs_logit_diff": float(np.max(np.abs(base_ev - ker_ev))),
        "logit_scale": float(np.max(np.abs(base_ev))),
        "initial_loss": float(base_l[0]), "final_loss": float(base_l[-1]),
    }
    if second_kernel is not None:
        l2, ev2 = run(second_kernel)
        out["loss_second"] = l2
        out["max_abs_loss_diff_second"] = float(np.max(np.abs(base_l - l2)))
        out["max_abs_logit_diff_second"] = float(np.max(np.abs(base_ev - ev2)))
    return out
