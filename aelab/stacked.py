"""K autoencoders that differ only in their code size, trained as ONE network with stacked weights.

Every layer of all K models is one batched matmul, and the training loop below gives each model exactly
the gradients and Adam steps it would get alone (tests/test_sweep.py checks it against train.fit).
"""
from __future__ import annotations

import math
import time
from typing import Protocol

import torch
from torch import nn

from aelab.model import Autoencoder, activation
from aelab.spec import ArchSpec, TrainConfig
from aelab.train import History, make_optimizer


def _linears(model: Autoencoder) -> list[nn.Linear]:
    return [m for m in [*model.encoder, *model.decoder] if isinstance(m, nn.Linear)]


class StackedAutoencoders(nn.Module):
    """K autoencoders with the same hidden widths and different code sizes, computed together.

    Layer j holds the K weight matrices as one (K, in, out) tensor, so a forward pass is one
    `torch.baddbmm` per layer (the first layer, whose input all models share, is one plain matmul
    with K times the outputs). The code layer is padded to the largest size and multiplied by a 0/1
    mask: padded units are always 0, their weights get zero gradient, and Adam leaves them at 0, so
    each slot computes exactly its own-size model.
    """

    def __init__(self, models: list[Autoencoder]):
        super().__init__()
        specs = [m.spec for m in models]
        self.sizes = [s.bottleneck for s in specs]
        self.hidden_act = activation(specs[0].activation)  # the same modules as each Autoencoder uses
        self.output_act = activation("sigmoid" if specs[0].output == "sigmoid" else "identity")
        self.code_layer = len(specs[0].encoder)  # index of the Linear that produces the code
        per_model = [_linears(m) for m in models]
        shapes = [(max(ls[j].in_features for ls in per_model), max(ls[j].out_features for ls in per_model))
                  for j in range(len(per_model[0]))]  # (in, out) of layer j, padded to the widest model
        n = len(models)
        # Layer 0 sees the same input in every model, so its weights are stored (D, K, out) and used
        # as ONE ordinary matmul with K*out outputs; later layers are (K, in, out) for baddbmm.
        self.weights = nn.ParameterList([nn.Parameter(torch.zeros(i, n, o) if j == 0 else torch.zeros(n, i, o))
                                         for j, (i, o) in enumerate(shapes)])
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(n, o) if j == 0 else torch.zeros(n, 1, o))
                                        for j, (_, o) in enumerate(shapes)])
        mask = torch.zeros(n, 1, max(self.sizes))  # (K, 1, kmax)
        for k, size in enumerate(self.sizes):
            mask[k, :, :size] = 1.0
        self.register_buffer("mask", mask)
        self._copy_in(per_model)

    @torch.no_grad()
    def _copy_in(self, per_model: list[list[nn.Linear]]) -> None:
        for k, layers in enumerate(per_model):
            for j, lin in enumerate(layers):
                w, b = self._slot(j, k, lin.in_features, lin.out_features)
                w.copy_(lin.weight.T)  # (out, in) -> (in, out)
                b.copy_(lin.bias)

    def _slot(self, j: int, k: int, n_in: int, n_out: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Views of model k's weight (in, out) and bias (out,) inside layer j's stacked tensors."""
        w, b = self.weights[j], self.biases[j]
        if j == 0:
            return w[:n_in, k, :n_out], b[k, :n_out]
        return w[k, :n_in, :n_out], b[k, 0, :n_out]

    def _act(self, j: int, h: torch.Tensor) -> torch.Tensor:
        if j == self.code_layer:
            return h * self.mask  # (K, B, kmax): each model keeps only its own code units
        if j == len(self.weights) - 1:
            return self.output_act(h)
        return self.hidden_act(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) -> (K, B, D): every model's reconstruction of the same batch."""
        w0 = self.weights[0]  # (D, K, out)
        h = torch.addmm(self.biases[0].flatten(), x, w0.flatten(1))  # (B, D) @ (D, K*out) -> (B, K*out)
        h = self._act(0, h.view(len(x), len(self.sizes), -1).transpose(0, 1))  # -> (K, B, out)
        for j in range(1, len(self.weights)):
            h = self._act(j, torch.baddbmm(self.biases[j], h, self.weights[j]))  # (K, B, in) @ (K, in, out)
        return h

    @torch.no_grad()
    def extract(self, k: int, spec: ArchSpec) -> Autoencoder:
        """Model k as a standalone CPU Autoencoder (same function, unpadded weights)."""
        model = Autoencoder(spec)
        for j, lin in enumerate(_linears(model)):
            w, b = self._slot(j, k, lin.in_features, lin.out_features)
            lin.weight.copy_(w.T)
            lin.bias.copy_(b)
        return model.eval()


def group_sizes(sizes: list[int], penalty: int = 256) -> list[list[int]]:
    """Split ascending code sizes into runs that share one padded stack.

    Padding a 2-unit code to 784 wastes work, so sizes are cut into consecutive groups minimizing
    sum(len(group) * max(group)) + penalty per group (a group costs a few extra kernel calls per step).
    """
    n = len(sizes)
    best, cut = [0.0] + [math.inf] * n, [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):
            cost = best[i] + (j - i) * sizes[j - 1] + penalty
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], n
    while j > 0:
        groups.append(list(sizes[cut[j]:j]))
        j = cut[j]
    return groups[::-1]


class SweepNetwork(nn.Module):
    """All models of the experiment: a few StackedAutoencoders (see group_sizes), trained as one module."""

    def __init__(self, models: list[Autoencoder], penalty: int = 256):
        super().__init__()
        sizes = sorted(m.spec.bottleneck for m in models)
        by_size = {m.spec.bottleneck: m for m in models}
        self.stacks = nn.ModuleList([StackedAutoencoders([by_size[s] for s in g])
                                     for g in group_sizes(sizes, penalty)])
        self.sizes = [s for stack in self.stacks for s in stack.sizes]

    def losses(self, x: torch.Tensor) -> torch.Tensor:
        """Each model's mean squared error on the batch x: (B, D) -> (K,)."""
        return torch.cat([_per_model_loss(stack(x), x) for stack in self.stacks])

    def extract(self, k: int, spec: ArchSpec) -> Autoencoder:
        """Model k (in `sizes` order) as a standalone CPU Autoencoder."""
        for stack in self.stacks:
            if k < len(stack.sizes):
                return stack.extract(k, spec)
            k -= len(stack.sizes)
        raise IndexError("no such model")


def _per_model_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each model: (K, B, D), (B, D) -> (K,)."""
    return (out - target).pow(2).mean(dim=(1, 2))


@torch.no_grad()
def _eval_stacked(net: SweepNetwork, x: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Each model's mean squared error on x: (N, D) -> (K,)."""
    total = torch.zeros(len(net.sizes), device=x.device)
    for i in range(0, len(x), chunk):
        xb = x[i:i + chunk]  # (b, D)
        total += net.losses(xb) * len(xb)
    return total / max(len(x), 1)


def _eval_epochs(epochs: int, points: int) -> set[int]:
    every = max(1, math.ceil(epochs / max(points, 1)))
    return {e for e in range(epochs + 1) if e % every == 0} | {epochs}


class StackMonitor(Protocol):
    """What train_stacked reports to (the sweep experiment's reporter)."""

    start: float  # time.perf_counter() when the experiment began: the curves' seconds count from it

    def should_stop(self) -> bool: ...  # blocks while paused; True when the learner pressed Stop

    def progress(self, epoch: int, step: int, samples: int, histories: dict[int, History] | None,
                 force: bool = False) -> None: ...  # after every epoch: every model's curves so far


def train_stacked(net: SweepNetwork, x: torch.Tensor, x_curve: torch.Tensor, cfg: TrainConfig, curve_points: int,
                  reporter: StackMonitor) -> tuple[list[History], int, str]:
    """Train all K models at once with identical batches; returns (histories, epochs done, status).

    The loss is the SUM of the K models' mean errors, so each model's gradient is exactly the one
    it would get alone; Adam works element by element, so each model takes its own steps.
    The held-out curve is measured on x_curve `curve_points` times (and at epochs 0 and the last).
    """
    opt = make_optimizer(net, cfg)  # fused Adam where available
    g = torch.Generator().manual_seed(cfg.seed)  # the same batch order train.fit would use
    n, bs = len(x), max(1, min(cfg.batch_size, len(x)))
    evals = _eval_epochs(cfg.epochs, curve_points)
    hists = {s: History() for s in net.sizes}
    step, status = 0, "done"

    def record(epoch: int) -> None:
        for s, loss in zip(net.sizes, _eval_stacked(net, x_curve).tolist()):
            hists[s].epoch_x.append(epoch)
            hists[s].test.append(loss)
            hists[s].seconds.append(time.perf_counter() - reporter.start)

    record(0)
    for epoch in range(cfg.epochs):
        perm = torch.randperm(n, generator=g).to(x.device)  # (N,)
        acc, batches = torch.zeros(len(net.sizes), device=x.device), 0
        for i in range(0, n, bs):
            if reporter.should_stop():
                return list(hists.values()), epoch, "stopped"
            xb = x[perm[i:i + bs]]  # (B, D)
            losses = net.losses(xb)  # (K,)
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            opt.step()
            acc += losses.detach()
            batches, step = batches + 1, step + 1
        means = (acc / batches).tolist()
        if not all(math.isfinite(m) for m in means):
            return list(hists.values()), epoch, "diverged"
        for s, m in zip(net.sizes, means):
            hists[s].step_x.append(epoch + 1)
            hists[s].train.append(m)
        if epoch + 1 in evals:
            record(epoch + 1)
        reporter.progress(epoch + 1, step, step * bs, hists, force=epoch + 1 == cfg.epochs)
    return list(hists.values()), cfg.epochs, status
