#!/usr/bin/env python3
"""PyTorch (CPU) reference runs of a full-batch modular-arithmetic grokking trainer, for a Rust test
that replays each run exactly (same initial weights, same split) and compares the per-epoch metrics.
Written with torch and numpy only (the peer), not scalelab's code. The semantics follow the
reference code of "Grokking at the Edge of Numerical Stability" (Prieto et al., ICLR 2025;
LucasPrietoAl/grokking-at-the-edge-of-numerical-stability @ 0cc9e8dc: utils.py cross_entropy_float16/32/64,
stablemax_cross_entropy, orthograd.py OrthoGrad, logger.py MetricsLogger), see
/work/shared/design/science.md §1. Differences from that code, all deliberate: no per-epoch
permutation of the train rows (the reference shuffles each epoch; here they are used in the stored
order), the split is numpy's, not torch's random_split, and ⊥AdamW gets the betas/eps it is given
(run 6 gives it the reference's accidental torch defaults (0.9, 0.999), 1e-8).

Task and data
  * pairs (a, b), a, b in [0, p); sample index i = a*p + b; target (a op b) mod p, op in
    {add, subtract, multiply}; subtract is ((a - b) mod p + p) mod p. Input row i is
    concat(one_hot(a, p), one_hot(b, p)) (2p values, exactly 0/1), in the training dtype.
  * train = numpy.random.default_rng(seed).permutation(p*p)[:int(train_fraction*p*p)], stored in that
    order (the rows of every forward are in this order); test = every other index, increasing.

Model: MLP 2p -> hidden[0] -> ... -> p. Layer l computes x @ W_l^T (+ b_l); ReLU after every hidden
  layer, nothing after the last. W_l has shape [out, in] (torch nn.Linear). Initial weights are the
  nn.Linear default init (kaiming_uniform(a=sqrt 5), i.e. U(-1/sqrt(in), 1/sqrt(in)), bias the same
  bound) under torch.manual_seed(seed), layers built in order, float32; the f64 runs cast that same
  float32 init to float64. Logits are not scaled (the reference's alpha = 1).

Loss (mean over the train rows; `loss.kind`):
  * softmax, precision q in {f16, bf16, f32, f64}: lp = F.log_softmax(logits.to(q), -1);
    per-sample loss = -lp[label] (in q); mean loss = -mean(lp[label]) in q, then cast to the training
    dtype (exact for f16/bf16/f32 -> f32/f64; an f64 loss in an f32 run would round), backward
    through the casts. torch supports f16 and bf16 log_softmax on CPU (torch 2.15), so both run.
  * stablemax: x = logits.to(float64); s = where(x < 0, 1/(1 - x + 1e-30), x + 1);
    lp = log(s / sum(s, -1)); mean loss = -mean(lp[label]) as a float64 tensor (no cast back; in an
    f32 run the gradient is cast to f32 at the logits).

Optimizers (`optimizer.kind`), each torch's single-tensor (foreach=False) implementation:
  * adamw: torch.optim.AdamW(lr, betas=(beta1, beta2), eps, weight_decay). Per tensor and step t
    (in the parameter's dtype, scalars as Python floats): w *= 1 - lr*wd; m.lerp_(g, 1 - beta1);
    v = v*beta2 + (1 - beta2)*g*g; denom = sqrt(v)/sqrt(1 - beta2^t) + eps;
    w += -(lr/(1 - beta1^t)) * m/denom.
  * sgd: torch.optim.SGD(lr, momentum, weight_decay=0, dampening 0): buf = g at step 1, then
    buf = buf*momentum + g; w += -lr*buf.
  * ortho_adamw / ortho_sgd: before the step, per parameter tensor, flattened, in its dtype:
    proj = dot(w, g)/(dot(w, w) + 1e-30); g_orth = g - proj*w; if rescale:
    g_orth = g_orth * (norm(g)/(norm(g_orth) + 1e-30)); p.grad = g_orth; then the adamw / sgd step
    above (orthograd.py exactly, with rescale=false as the paper's equations' variant).

Epoch e = 1..E: one forward over all train rows with theta_{e-1}, mean loss, backward, optimizer step
  -> theta_e. Metrics at index e-1 of each list all describe theta_{e-1} and that step:
  * train_loss: the float value of that mean loss (after the cast to the training dtype);
  * train_acc: mean(argmax(logits, 1) == target) over train rows (torch argmax: first max on ties);
  * test_loss, test_acc: the same loss function and argmax on the test rows with theta_{e-1}, no grad;
  * sc_fraction: logger.py compute_softmax_collapse on the train logits: o = logits.to(q) with q the
    softmax precision (f32 for stablemax runs); o = o - amax(o, 1); sum_exp = exp(o).sum(1) in q
    (torch's CPU sum: f16/bf16 accumulate in float32 and round once to q; f32/f64 sum in q, vectorised
    order); mean(sum_exp == 1);
  * zero_loss_fraction: mean(per-sample loss == 0), the per-sample loss in the loss's own dtype (q, or
    float64 for stablemax);
  * logit_norm: mean over train rows of the L2 norm of the logit row (in the training dtype);
  * weight_norms: per parameter tensor of theta_{e-1}, order W1, [b1], W2, [b2], ...:
    sqrt(sum(w^2)) in the parameter's dtype;
  * update_cosine: per parameter tensor, cos(theta_e - theta_{e-1}, theta_{e-1}) over the flattened
    tensor, computed in float64 from the two tensors (d = new.double() - old.double(),
    dot(d, old)/(|d| |old|)); null if either norm is 0.
  Floats from f16/bf16/f32 tensors are stored as the exact float64 value of that tensor element.

Runs (p = 11, train fraction 0.4 (48 train rows), hidden [16, 16], no biases, seed 42, E = 50, f32,
add, unless the config says otherwise): see RUNS below; run 1 also stores final_weights (theta_E) and
fourier_a / fourier_b: for W1 (theta_E, [h, 2p]) E_a = W1[:, :p], E_b = W1[:, p:];
F = numpy.fft.fft(E, axis=1) (float64); power[k] = sum_h |F[h, k]|^2, k = 0..p//2, not normalised.
Run 13 ("collapse") is the one run made to show Softmax Collapse: p = 11, hidden [32, 32],
train fraction 0.6 (72 rows), AdamW lr 0.05, betas (0.9, 0.99), eps 1e-25, wd 0, softmax f32,
E = 300 (the settings as first tried; no tuning was needed). Train accuracy reaches 1 at epoch 13 and
sc_fraction first becomes > 0 at epoch 26 (1-based, as above; 1/72 rows), then climbs to ~0.58 by
epoch 300; the run stores that epoch as "first_sc_epoch". For this run only train_loss, train_acc,
sc_fraction and zero_loss_fraction are stored under "epochs" (test_loss, test_acc, logit_norm,
weight_norms and update_cosine are omitted); config, train, test and init are stored as for the
other runs. (Run 11, bf16, also shows one collapsed train row (1/48) from epoch 39 on.)

JSON layout:
  {"script": "tests/vectors/grokking_torch.py", "torch": version, "numpy": version,
   "runs": [{"name": str,
             "config": {"p", "op": "add"|"subtract"|"multiply", "train_fraction", "hidden": [..],
                        "bias": bool, "seed", "epochs", "dtype": "f32"|"f64",
                        "loss": {"kind": "softmax", "precision": "f16"|"bf16"|"f32"|"f64"}
                                | {"kind": "stablemax"},
                        "optimizer": {"kind": "adamw", "lr", "beta1", "beta2", "eps", "weight_decay"}
                                   | {"kind": "ortho_adamw", same + "rescale"}
                                   | {"kind": "sgd", "lr", "momentum", "weight_decay"}
                                   | {"kind": "ortho_sgd", same + "rescale"}},
             "train": [sample indices], "test": [sample indices],
             "init": {"weights": [W_l as [out][in] lists], "biases": [b_l lists] or null},
             "epochs": {"train_loss": [E], "train_acc": [E], "test_loss": [E], "test_acc": [E],
                        "sc_fraction": [E], "zero_loss_fraction": [E], "logit_norm": [E],
                        "weight_norms": [E][n_tensors], "update_cosine": [E][n_tensors]},
             "final_weights": {"weights", "biases"}, "fourier_a": [p//2+1], "fourier_b": [p//2+1]
                                                       (run 1 only),
             "first_sc_epoch": int or null (collapse run only)}]}

Deterministic: torch.set_num_threads(1), torch.use_deterministic_algorithms(True); two runs give the
same bytes.

  python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install numpy torch
        (or --index-url https://download.pytorch.org/whl/cpu for the CPU-only wheel)
  /tmp/venv-torch/bin/python tests/vectors/grokking_torch.py      (from the repository root)
Writes tests/vectors/grokking_torch.json next to this script.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

QDTYPE = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32, "f64": torch.float64}
TDTYPE = {"f32": torch.float32, "f64": torch.float64}


def base_config(**over):
    cfg = {
        "p": 11,
        "op": "add",
        "train_fraction": 0.4,
        "hidden": [16, 16],
        "bias": False,
        "seed": 42,
        "epochs": 50,
        "dtype": "f32",
        "loss": {"kind": "softmax", "precision": "f32"},
        "optimizer": adamw(0.01, 0.9, 0.99, 1e-25, 0.0),
    }
    cfg.update(over)
    return cfg


def adamw(lr, b1, b2, eps, wd, kind="adamw", rescale=None):
    o = {"kind": kind, "lr": lr, "beta1": b1, "beta2": b2, "eps": eps, "weight_decay": wd}
    if rescale is not None:
        o["rescale"] = rescale
    return o


def sgd(lr, momentum, kind="sgd", rescale=None):
    o = {"kind": kind, "lr": lr, "momentum": momentum, "weight_decay": 0.0}
    if rescale is not None:
        o["rescale"] = rescale
    return o


RUNS = [
    ("adamw_f32", base_config(), {"final": True}),
    ("adamw_f64", base_config(dtype="f64", loss={"kind": "softmax", "precision": "f64"}), {}),
    ("adamw_wd1_subtract", base_config(op="subtract", optimizer=adamw(0.01, 0.9, 0.99, 1e-25, 1.0)), {}),
    ("ortho_adamw_rescale", base_config(optimizer=adamw(0.01, 0.9, 0.99, 1e-25, 0.0, "ortho_adamw", True)), {}),
    ("ortho_adamw_norescale", base_config(optimizer=adamw(0.01, 0.9, 0.99, 1e-25, 0.0, "ortho_adamw", False)), {}),
    ("ortho_adamw_reference_quirk", base_config(optimizer=adamw(0.01, 0.9, 0.999, 1e-8, 0.0, "ortho_adamw", True)), {}),
    ("stablemax_adamw", base_config(loss={"kind": "stablemax"}, optimizer=adamw(0.01, 0.9, 0.999, 1e-25, 0.0)), {}),
    ("sgd_f32", base_config(optimizer=sgd(0.5, 0.2)), {}),
    ("ortho_sgd_stablemax_f64", base_config(dtype="f64", loss={"kind": "stablemax"}, optimizer=sgd(0.5, 0.8, "ortho_sgd", True)), {}),
    ("softmax_f16_multiply", base_config(op="multiply", loss={"kind": "softmax", "precision": "f16"}), {}),
    ("softmax_bf16_multiply", base_config(op="multiply", loss={"kind": "softmax", "precision": "bf16"}), {}),
    ("one_hidden_bias_p7", base_config(p=7, hidden=[16], bias=True), {}),
    ("collapse", base_config(hidden=[32, 32], train_fraction=0.6, epochs=300, optimizer=adamw(0.05, 0.9, 0.99, 1e-25, 0.0)), {"collapse": True}),
]

COLLAPSE_FIELDS = ["train_loss", "train_acc", "sc_fraction", "zero_loss_fraction"]


def make_data(p, op):
    i = np.arange(p * p)
    a, b = i // p, i % p
    if op == "add":
        t = (a + b) % p
    elif op == "subtract":
        t = ((a - b) % p + p) % p
    elif op == "multiply":
        t = (a * b) % p
    else:
        raise ValueError(op)
    x = np.zeros((p * p, 2 * p))
    x[i, a] = 1.0
    x[i, p + b] = 1.0
    return x, t


def per_sample_and_mean(logits, y, loss):
    """(per-sample loss in the loss's dtype, mean loss tensor before the cast to the training dtype)."""
    if loss["kind"] == "softmax":
        lp = F.log_softmax(logits.to(QDTYPE[loss["precision"]]), dim=-1)
    else:
        x = logits.to(torch.float64)
        s = torch.where(x < 0, 1 / (1 - x + 1e-30), x + 1)
        lp = torch.log(s / torch.sum(s, dim=-1, keepdim=True))
    pred = torch.gather(lp, index=y[:, None], dim=-1)
    return -pred.squeeze(-1), -torch.mean(pred)


def sc_fraction(logits, loss):
    q = QDTYPE[loss["precision"]] if loss["kind"] == "softmax" else torch.float32
    o = logits.to(q)
    o = o - o.amax(dim=1, keepdim=True)
    sum_exp = torch.sum(torch.exp(o), dim=-1, keepdim=True)
    return (sum_exp == 1).double().mean().item()


def forward(layers, x):
    for li, layer in enumerate(layers):
        x = layer(x)
        if li < len(layers) - 1:
            x = torch.relu(x)
    return x


def orthogonalize(params, rescale):
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            w = p.view(-1)
            g = p.grad.view(-1)
            w_norm_sq = torch.dot(w, w) + 1e-30
            proj = torch.dot(w, g) / w_norm_sq
            g_orth = g - proj * w
            if rescale:
                g_norm = g.norm(2)
                g_orth_norm = g_orth.norm(2) + 1e-30
                g_orth = g_orth * (g_norm / g_orth_norm)
            p.grad.copy_(g_orth.view_as(p.grad))


def tolist(t):
    return t.detach().to(torch.float64).tolist()


def snapshot(layers, bias):
    return {
        "weights": [tolist(l.weight) for l in layers],
        "biases": [tolist(l.bias) for l in layers] if bias else None,
    }


def finite_or_none(v):
    return v if math.isfinite(v) else None


def run(name, cfg, extra):
    p, seed, epochs = cfg["p"], cfg["seed"], cfg["epochs"]
    tdt = TDTYPE[cfg["dtype"]]
    x_np, t_np = make_data(p, cfg["op"])
    n = p * p
    train = np.random.default_rng(seed).permutation(n)[: int(cfg["train_fraction"] * n)]
    test = np.setdiff1d(np.arange(n), train)  # sorted
    xtr = torch.tensor(x_np[train], dtype=tdt)
    ytr = torch.tensor(t_np[train], dtype=torch.int64)
    xte = torch.tensor(x_np[test], dtype=tdt)
    yte = torch.tensor(t_np[test], dtype=torch.int64)

    sizes = [2 * p] + cfg["hidden"] + [p]
    torch.manual_seed(seed)
    layers = torch.nn.ModuleList(
        [torch.nn.Linear(sizes[i], sizes[i + 1], bias=cfg["bias"]) for i in range(len(sizes) - 1)]
    )
    init = snapshot(layers, cfg["bias"])
    layers = layers.to(tdt)
    params = list(layers.parameters())  # W1, [b1], W2, [b2], ...

    o = cfg["optimizer"]
    if o["kind"] in ("adamw", "ortho_adamw"):
        opt = torch.optim.AdamW(params, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                                weight_decay=o["weight_decay"], foreach=False)
    else:
        opt = torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], weight_decay=o["weight_decay"],
                              foreach=False)
    ortho = o["kind"].startswith("ortho_")

    loss_cfg = cfg["loss"]
    m = {k: [] for k in ["train_loss", "train_acc", "test_loss", "test_acc", "sc_fraction",
                         "zero_loss_fraction", "logit_norm", "weight_norms", "update_cosine"]}
    first_sc = None
    for e in range(1, epochs + 1):
        logits = forward(layers, xtr)
        per, mean = per_sample_and_mean(logits, ytr, loss_cfg)
        loss = mean.to(tdt) if loss_cfg["kind"] == "softmax" else mean
        with torch.no_grad():
            lg = logits.detach()
            m["train_loss"].append(loss.item())
            m["train_acc"].append((lg.argmax(dim=1) == ytr).double().mean().item())
            te_logits = forward(layers, xte)
            _, te_mean = per_sample_and_mean(te_logits, yte, loss_cfg)
            te_loss = te_mean.to(tdt) if loss_cfg["kind"] == "softmax" else te_mean
            m["test_loss"].append(te_loss.item())
            m["test_acc"].append((te_logits.argmax(dim=1) == yte).double().mean().item())
            sc = sc_fraction(lg, loss_cfg)
            m["sc_fraction"].append(sc)
            if sc > 0 and first_sc is None:
                first_sc = e
            m["zero_loss_fraction"].append((per.detach() == 0).double().mean().item())
            m["logit_norm"].append(lg.norm(dim=1).mean().item())
            m["weight_norms"].append([w.square().sum().sqrt().item() for w in params])
            old = [w.detach().clone() for w in params]
        opt.zero_grad()
        loss.backward()
        if ortho:
            orthogonalize(params, o["rescale"])
        opt.step()
        with torch.no_grad():
            cos = []
            for w0, w1 in zip(old, params):
                a0 = w0.double().reshape(-1)
                d = w1.detach().double().reshape(-1) - a0
                den = (d.norm() * a0.norm()).item()
                cos.append(torch.dot(d, a0).item() / den if den > 0 else None)
            m["update_cosine"].append(cos)

    for k in ["train_loss", "test_loss", "logit_norm"]:
        m[k] = [finite_or_none(v) for v in m[k]]
    out = {"name": name, "config": cfg, "train": train.tolist(), "test": test.tolist(), "init": init}
    if extra.get("collapse"):
        out["epochs"] = {k: m[k] for k in COLLAPSE_FIELDS}
        out["first_sc_epoch"] = first_sc
        assert first_sc is not None, "collapse run did not collapse"
    else:
        out["epochs"] = m
    if extra.get("final"):
        out["final_weights"] = snapshot(layers, cfg["bias"])
        w1 = layers[0].weight.detach().double().numpy()
        for key, e_mat in (("fourier_a", w1[:, :p]), ("fourier_b", w1[:, p:])):
            f = np.fft.fft(e_mat, axis=1)
            out[key] = [float(v) for v in (np.abs(f[:, : p // 2 + 1]) ** 2).sum(axis=0)]
    return out


def main():
    runs = [run(name, cfg, extra) for name, cfg, extra in RUNS]
    doc = {"script": "tests/vectors/grokking_torch.py", "torch": torch.__version__, "numpy": np.__version__,
           "runs": runs}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grokking_torch.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    for r in runs:
        ep = r["epochs"]
        print(r["name"], "train_acc", ep["train_acc"][-1], "sc", max(ep["sc_fraction"]),
              "zero", max(ep["zero_loss_fraction"]), "first_sc", r.get("first_sc_epoch"),
              "test_acc", ep.get("test_acc", [None])[-1])
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
