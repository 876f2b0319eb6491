#!/usr/bin/env python3
"""Timed PyTorch (CPU) peer of the grokking MLP trainer: the training loop of
LucasPrietoAl/grokking-at-the-edge-of-numerical-stability (grokking_experiments.py @ 0cc9e8dc) at its
full default modular-arithmetic configuration, to compare scalelab's per-epoch cost against. Uses torch
only, not scalelab's code.

Configuration (the paper's defaults, see /work/shared/design/science.md §1.4): p = 113, add, all
12 769 pairs, input concat(one_hot(a), one_hot(b)) (226 values), train fraction 0.4 (5107 rows) by
torch random_split under torch.manual_seed(42) (as utils.split_dataset; the model init follows from
the same generator, as in the reference), MLP 226 -> 200 -> 200 -> 113 without biases, ReLU, nn.Linear
default init, float32, full batch, AdamW lr 0.01 betas (0.9, 0.99) eps 1e-25 wd 0, softmax
cross-entropy in float32 (utils.cross_entropy_float32). Per epoch, as the reference: forward on the
train set, loss, zero_grad, backward, step (the reference also permutes the train rows every epoch;
--shuffle does that too, off by default); every --log-every epochs the logger's work: a no-grad
forward on train and test, train/test loss and accuracy, per-tensor weight L2, zero-loss terms and
the softmax-collapse fraction. An epoch's time (time.perf_counter) includes its logging, if any.

--optimizer ortho_adamw wraps the step in orthograd.py's projection (per tensor, rescaled to the
original gradient norm). By default ⊥AdamW runs with what the reference code actually runs,
torch's AdamW defaults betas (0.9, 0.999) eps 1e-8 (the reference never passes its betas/eps to the
wrapped optimizer, repo issue #11); --ortho-hparams requested gives it (0.9, 0.99), 1e-25.

Prints one JSON line: {"peer": "torch", "torch", "threads", "epochs", "optimizer",
"seconds_per_epoch" (median over the timed epochs), "mean_seconds_per_epoch", "final_train_acc",
"final_test_acc"} (accuracies of the final weights, fractions).

--reproduce: ⊥AdamW lr 0.01 for 500 epochs (--epochs overrides), test accuracy every 10 epochs;
prints one JSON line with the first logged epoch (1-based count of steps taken) at which test
accuracy >= 0.95, or null.

  python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install numpy torch
  /tmp/venv-torch/bin/python bench/grokking_torch.py --threads 1 [--optimizer ortho_adamw] [--reproduce]
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

P = 113


def cross_entropy_float32(logits, labels, reduction="mean"):
    lp = F.log_softmax(logits.to(torch.float32), dim=-1)
    pred = torch.gather(lp, dim=-1, index=labels.view(-1, 1)).squeeze(-1)
    return -torch.mean(pred) if reduction == "mean" else -pred


class OrthoGrad(torch.optim.Optimizer):
    """orthograd.py's wrapper, with the base optimizer's hyperparameters passed explicitly."""

    def __init__(self, params, base_cls, **base_args):
        super().__init__(params, {})
        self.base_optimizer = base_cls(self.param_groups, **base_args)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                w, g = p.view(-1), p.grad.view(-1)
                proj = torch.dot(w, g) / (torch.dot(w, w) + 1e-30)
                g_orth = g - proj * w
                g_orth = g_orth * (g.norm(2) / (g_orth.norm(2) + 1e-30))
                p.grad.copy_(g_orth.view_as(p.grad))
        return self.base_optimizer.step(closure)


def build(seed, frac):
    torch.manual_seed(seed)
    idx = torch.arange(P * P)
    a, b = idx // P, idx % P
    x = torch.cat([F.one_hot(a, P), F.one_hot(b, P)], dim=1).to(torch.float32)
    y = (a + b) % P
    n_train = int(frac * P * P)
    train_ds, test_ds = torch.utils.data.random_split(torch.utils.data.TensorDataset(x, y),
                                                      [n_train, P * P - n_train])
    tr, te = torch.tensor(train_ds.indices), torch.tensor(test_ds.indices)
    layers = [torch.nn.Linear(226, 200, bias=False), torch.nn.ReLU(),
              torch.nn.Linear(200, 200, bias=False), torch.nn.ReLU(),
              torch.nn.Linear(200, P, bias=False)]
    model = torch.nn.Sequential(*layers)
    return model, x[tr], y[tr], x[te], y[te]


def make_optimizer(model, kind, ortho_hparams):
    if kind == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=0.01, betas=(0.9, 0.99), eps=1e-25, weight_decay=0.0)
    if ortho_hparams == "reference":
        return OrthoGrad(model.parameters(), torch.optim.AdamW, lr=0.01, weight_decay=0.0)
    return OrthoGrad(model.parameters(), torch.optim.AdamW, lr=0.01, weight_decay=0.0,
                     betas=(0.9, 0.99), eps=1e-25)


@torch.no_grad()
def log_metrics(model, xtr, ytr, xte, yte):
    model.eval()
    out_tr, out_te = model(xtr), model(xte)
    m = {
        "train_loss": cross_entropy_float32(out_tr, ytr).item(),
        "test_loss": cross_entropy_float32(out_te, yte).item(),
        "train_acc": (out_tr.argmax(dim=1) == ytr).float().mean().item(),
        "test_acc": (out_te.argmax(dim=1) == yte).float().mean().item(),
        "weights_l2": [p.square().sum().sqrt().item() for p in model.parameters()],
        "zero_terms": (cross_entropy_float32(out_tr, ytr, "none") == 0).float().mean().item(),
    }
    o = out_tr.to(torch.float32)
    o = o - o.amax(dim=1, keepdim=True)
    m["softmax_collapse"] = (torch.exp(o).sum(dim=-1, keepdim=True) == 1).float().mean().item()
    model.train()
    return m


@torch.no_grad()
def test_acc(model, xte, yte):
    return (model(xte).argmax(dim=1) == yte).float().mean().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=None, help="default 200 (500 with --reproduce)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5, help="untimed epochs before the timed ones")
    ap.add_argument("--optimizer", choices=["adamw", "ortho_adamw"], default="adamw")
    ap.add_argument("--ortho-hparams", choices=["reference", "requested"], default="reference")
    ap.add_argument("--shuffle", action="store_true", help="permute the train rows every epoch, as the reference")
    ap.add_argument("--reproduce", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model, xtr, ytr, xte, yte = build(42, 0.4)
    if args.reproduce:
        epochs = args.epochs or 500
        opt = make_optimizer(model, "ortho_adamw", args.ortho_hparams)
        first, log = None, []
        for epoch in range(1, epochs + 1):
            perm = torch.randperm(xtr.size(0)) if args.shuffle else slice(None)
            opt.zero_grad()
            loss = cross_entropy_float32(model(xtr[perm]), ytr[perm])
            loss.backward()
            opt.step()
            if epoch % 10 == 0:
                acc = test_acc(model, xte, yte)
                log.append((epoch, round(acc, 4)))
                if first is None and acc >= 0.95:
                    first = epoch
        print(json.dumps({"peer": "torch", "mode": "reproduce", "optimizer": "ortho_adamw",
                          "ortho_hparams": args.ortho_hparams, "epochs": epochs,
                          "first_epoch_test_acc_ge_0.95": first, "test_acc_every_10": log}))
        return

    epochs = args.epochs or 200
    opt = make_optimizer(model, args.optimizer, args.ortho_hparams)
    times = []
    for epoch in range(args.warmup + epochs):
        t0 = time.perf_counter()
        if args.shuffle:
            perm = torch.randperm(xtr.size(0))
            data, targets = xtr[perm], ytr[perm]
        else:
            data, targets = xtr, ytr
        model.train()
        output = model(data)
        loss = cross_entropy_float32(output, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if epoch % args.log_every == 0:
            log_metrics(model, data, targets, xte, yte)
        t1 = time.perf_counter()
        if epoch >= args.warmup:
            times.append(t1 - t0)
    final = log_metrics(model, xtr, ytr, xte, yte)
    print(json.dumps({"peer": "torch", "torch": torch.__version__, "threads": args.threads, "epochs": epochs,
                      "optimizer": args.optimizer, "seconds_per_epoch": statistics.median(times),
                      "mean_seconds_per_epoch": statistics.mean(times),
                      "final_train_acc": final["train_acc"], "final_test_acc": final["test_acc"]}))


if __name__ == "__main__":
    main()
