"""Where does the encoder end? A trained autoencoder as ONE nn.Sequential that can be cut anywhere.

Cutting at point s gives encoder = modules[:s], decoder = modules[s:] (the same module objects), so
decoder(encoder(x)) is the model's output for every s; the usual cut is the narrowest layer. Also:
per-layer statistics of the held-out activations, code export for a cut, and asymmetric models.
"""
from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from torch import nn

from aelab import analysis, convnet, data as data_mod, figures, model as model_mod, pca, runs
from aelab.data import DataBundle
from aelab.diagram import CODE, DEC, ENC
from aelab.figures import LEGEND_BELOW, PALETTE, class_marker
from aelab.jobs import Job, JobContext
from aelab.fields import Check
from aelab.progress import LabProgress, phase_monitor
from aelab.settings import SPLIT
from aelab.spec import ArchSpec, TrainConfig, check_arch, check_train

QUICK_SPEC = ArchSpec(64, encoder=(128, 64, 12), bottleneck=3)  # the page's quick model: the seed network on digits
QUICK_CFG = TrainConfig(epochs=40, batch_size=64, lr=3e-3)  # about 3-5 s on one CPU core
ALL_CUTS_POINTS = 256  # held-out inputs for the every-cut sweep (one forward pass per cut)
PART = {"input": "⬜ input", "encoder": "🟦 encoder", "decoder": "🟩 decoder"}  # split_table's parts, as shown
STATS_POINTS = 1000  # held-out samples used for the per-layer statistics (a fixed random subset)
VAR_SHARE = 0.95  # "how many dimensions explain 95% of the variance"
PROBE_TRAIN = 2 / 3  # share of the held-out activations the probes are fitted on (the rest scores them)
KNN_K = 5  # neighbours that vote in the kNN probe
CLEAR_KNN = 0.02  # kNN accuracies further apart than 2 points count as a difference
# Linear-probe ridge penalty = RIDGE_REL x the mean squared norm of a training row, which damps directions
# holding under ~1/n of the variance. Measured on 1000 MNIST test images (784 pixels, 667 to fit): accuracy
# 0.58 with 1e-3 (near-interpolation overfits when width ~ samples), 0.76 with 0.1, 0.82 with 1.0.
RIDGE_REL = 1.0
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10))


TEXT = {  # the Encoder | Decoder page's fixed explanations (definitions; every measured statement is computed)
    "intro": "An autoencoder is usually written as two networks, an encoder and a decoder. But the computer only "
             "sees one chain of layers, each feeding the next, and the same chain can be written as a single "
             "`nn.Sequential`. Where one half ends is a choice we make: by convention at the narrowest layer, "
             "because that is where the data is most compressed. Try other cuts on your own trained model.",
    "three points": "1. **To the computer it is one chain.** Each module's output is the next one's input. Grouping "
                    "the modules into an encoder and a decoder, or into one `nn.Sequential`, computes exactly the "
                    "same function; section 1 measures it for every possible cut.\n"
                    "2. **The usual cut is a choice with a reason.** We end the encoder at the narrowest layer "
                    "because that is where each input must squeeze through the fewest numbers: the code. Every "
                    "layer holds some representation of the input (section 2), but the code is the most compressed "
                    "one. Nothing forces the two halves to mirror each other (section 3).\n"
                    "3. **In a VAE the cut is fixed.** Its encoder outputs a distribution and the decoder receives "
                    "a random sample from it, so the boundary sits at the sampling step, not wherever we like.",
    "vae": "Your session model is a **VAE**. Its encoder outputs a mean and a spread for every code number, and a "
           "random code is *drawn* from them before the decoder runs. That sampling step sits between encoder and "
           "decoder, so a VAE is not one plain chain of layers that can be cut anywhere: this page is about plain "
           "autoencoders. Train a quick one here (your VAE stays the session model) or a plain one on Build & "
           "Train.",
    "every layer": "Every point of the chain holds *some* representation of the input. Below, each one's held-out "
                   "activations are squeezed to 2D by PCA and colored by class (the labels were never used in "
                   "training), with three measurements per layer: its width, how many directions hold "
                   f"{VAR_SHARE:.0%} of its variance, and how well the classes can be told apart from it (kNN and "
                   f"a linear probe, fitted on {PROBE_TRAIN:.0%} of the samples, scored on the rest).",
    "weights": "**Weights as images.** Each small image is one unit's weights in the first encoder layer (its weight "
               "on every pixel: the pattern that makes the unit fire most) or in the last decoder layer (the "
               "pattern it adds to the output); a convolutional model shows its first and last 3x3 filters. "
               "Strongest first; red is positive, blue negative.",
    "pair": "Nothing forces the encoder and decoder to mirror each other. Train two networks with the same code size "
            "and the same layers, once with the deep stack on the encoder side and once on the decoder side, and "
            "compare what they reach.",
}


# -- the one-Sequential view and its split points ----------------------------------------------------
def sequential(model: model_mod.Autoencoder) -> nn.Sequential:
    """The model as one Sequential sharing its modules (a VAE raises ValueError: it samples in between)."""
    return model_mod.as_sequential(model)


WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)  # modules with weights: a whole layer starts with one
RESHAPES = (nn.Flatten, nn.Unflatten)  # modules that only rearrange the numbers (the conv layout's two ends)


def point_shapes(seq: nn.Sequential, input_dim: int) -> list[tuple[int, ...]]:
    """Shape of one sample at each split point 0..n: (64,) for a flat layer, (16, 4, 4) for a conv feature map."""
    return model_mod.point_shapes(seq, input_dim)


def point_widths(seq: nn.Sequential, input_dim: int) -> list[int]:
    """Width of the representation at each split point 0..n: point s is the output of modules[:s]; a feature map
    of C channels, H x W pixels is C*H*W numbers wide."""
    return [math.prod(shape) for shape in point_shapes(seq, input_dim)]


def point_labels(seq: nn.Sequential) -> list[str]:
    """Names of the split points by the module that produced them: 'input', '0 Linear', '1 ReLU', ..."""
    return ["input"] + [f"{i} {type(m).__name__}" for i, m in enumerate(seq)]


def bottleneck_point(widths: list[int], prefer: int | None = None) -> int:
    """The narrowest inner point (input and output excluded); on a tie `prefer` wins, else the first."""
    inner = list(range(1, len(widths) - 1)) or list(range(len(widths)))
    narrowest = min(widths[s] for s in inner)
    ties = [s for s in inner if widths[s] == narrowest]
    return prefer if prefer in ties else ties[0]


def chain(model: model_mod.Autoencoder) -> tuple[nn.Sequential, list[int], int]:
    """The model as one Sequential, the width at every point of it, and its bottleneck point."""
    seq = sequential(model)
    widths = point_widths(seq, model.spec.input_dim)
    return seq, widths, bottleneck_point(widths, prefer=len(model.encoder))


def whole_layer_points(seq: nn.Sequential) -> list[int]:
    """Points that end a whole layer (a Linear or a conv with its activation): the point between a layer and its
    activation is skipped, and so is a point that only reshapes its neighbour (Flatten / Unflatten keep the numbers,
    so of such points the first is kept, or the output)."""
    mods = list(seq)
    n = len(mods)

    def inside_layer(s: int) -> bool:  # between a weighted module and the activation that follows it
        return isinstance(mods[s - 1], WEIGHTED) and not isinstance(mods[s], (*WEIGHTED, *RESHAPES))

    def reshaped(s: int) -> bool:  # the same numbers as the point before (after a reshape) or after (the output's)
        return isinstance(mods[s - 1], RESHAPES) or all(isinstance(m, RESHAPES) for m in mods[s:])

    return [s for s in range(n + 1) if s in (0, n) or not (inside_layer(s) or reshaped(s))]


def split(seq: nn.Sequential, at: int) -> tuple[nn.Sequential, nn.Sequential]:
    """(encoder, decoder) = (modules[:at], modules[at:]), renumbered from 0, sharing the same modules."""
    mods = list(seq)
    return nn.Sequential(*mods[:at]), nn.Sequential(*mods[at:])


@torch.no_grad()
def split_gap(reference: nn.Module, seq: nn.Sequential, at: int, x: torch.Tensor) -> float:
    """max |reference(x) - decoder(encoder(x))| for the split at `at` (0.0 means: the very same function)."""
    reference.eval()
    encoder, decoder = split(seq, at)
    return float((reference(x) - decoder(encoder(x))).abs().max())  # (N, D) -> scalar


@torch.no_grad()
def split_gaps(reference: nn.Module, seq: nn.Sequential, x: torch.Tensor) -> list[float]:
    """split_gap for every cut 0..n, with the reference output computed once."""
    reference.eval()
    expected = reference(x)  # (N, D)
    gaps = []
    for at in range(len(seq) + 1):
        encoder, decoder = split(seq, at)
        gaps.append(float((expected - decoder(encoder(x))).abs().max()))
    return gaps


def point_label(widths: list[int], point: int, bottleneck: int, shapes: list[tuple[int, ...]] | None = None) -> str:
    """How the split slider names a point: 'after module 3 · 12 wide ★' (★ = the bottleneck); with the points'
    `shapes`, a feature map shows them: 'after module 2 · 16×4×4 = 256 wide'."""
    where = f"after module {point - 1}" if point else "before module 0"
    shape = shapes[point] if shapes is not None else (widths[point],)
    size = f"{model_mod.shape_text(shape)} = {widths[point]}" if len(shape) > 1 else f"{widths[point]}"
    return f"{where} · {size} wide" + (" ★" if point == bottleneck else "")


def shown_points(seq: nn.Sequential, every: bool, at: int, bottleneck: int) -> list[int]:
    """The points the layer grid shows: every module's output (`every`) or whole layers, plus the cut and the code."""
    return sorted(set(range(len(seq) + 1) if every else whole_layer_points(seq)) | {at, bottleneck})


def worst_split_gap(reference: nn.Module, seq: nn.Sequential, x: torch.Tensor,
                    n: int = ALL_CUTS_POINTS) -> tuple[float, int]:
    """The largest split_gap over every cut, on the first `n` inputs: (gap, inputs used)."""
    sample = x[:n]  # (n, D)
    return max(split_gaps(reference, seq, sample)), len(sample)


def cut_message(widths: list[int], at: int, bottleneck: int) -> tuple[str, str]:
    """What a cut at `at` means, from the widths: (kind "success" | "warning" | "info", sentence)."""
    n, k = len(widths) - 1, widths[bottleneck]
    if at == bottleneck:
        return "success", (f"This is the usual cut: the narrowest point, a {k}-number code "
                           f"({widths[0] / k:.1f} input numbers per code number).")
    if at in (0, n):
        side = "encoder" if at == 0 else "decoder"
        return "warning", (f"The {side} is empty: the 'code' is the {'raw input' if at == 0 else 'reconstruction'} "
                           f"({widths[at]} numbers). Still the same function, but nothing was compressed.")
    if widths[at] == k:
        return "success", (f"This cut also hands over {k} numbers, as few as the bottleneck: an equally good place "
                           "to call the output the code.")
    where = "decoder" if at < bottleneck else "encoder"
    return "info", (f"This 'encoder' hands over {widths[at]} numbers, {widths[at] / k:.1f}x the bottleneck's {k}. "
                    f"The output is unchanged, but the real squeeze now happens inside the {where}: calling this "
                    "the code is legal, just not useful.")


@torch.no_grad()
def activations(seq: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """Every point's representation in one forward pass: [x, modules[:1](x), ..., seq(x)]."""
    seq.eval()
    outs = [x]  # (N, D)
    for module in seq:
        outs.append(module(outs[-1]))  # (N, w_in) -> (N, w_out)
    return outs


def split_table(seq: nn.Sequential, input_dim: int, at: int, bottleneck: int,
                parts: dict[str, str] | None = None) -> list[dict]:
    """One row per module (plus the input): its output width, which side of the cut it is on, markers.

    `parts` renames the sides as shown ("encoder" -> "🟦 encoder", see PART)."""
    shapes = point_shapes(seq, input_dim)
    maps = any(len(shape) > 1 for shape in shapes)  # a conv model: its table also gives each output's shape
    rows = [{"module": "—", "layer": "input", "output width": input_dim, "part": "input", "note": ""}]
    for i, module in enumerate(seq):
        notes = ["split: the code is this output" if i + 1 == at else "",
                 "bottleneck (narrowest)" if i + 1 == bottleneck else ""]
        rows.append({"module": str(i), "layer": _module_code(module).removeprefix("nn."),
                     "output width": math.prod(shapes[i + 1]), "part": "encoder" if i < at else "decoder",
                     "note": " · ".join(n for n in notes if n)})
    if maps:
        for row, shape in zip(rows, shapes):
            row["output shape"] = model_mod.shape_text(shape)
    if at == 0:
        rows[0]["note"] = "split: the encoder is empty, the code is the input itself"
    for row in rows:
        row["part"] = (parts or {}).get(row["part"], row["part"])
    return rows


# -- per-layer statistics --------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerStats:
    point: int  # split point: the representation after the first `point` modules (0 = the input)
    label: str  # the module that produced it, e.g. "4 Linear" (point 5), or "input" (point 0)
    width: int  # number of units (features) at this point
    dims95: int  # fewest principal directions holding VAR_SHARE of the variance (0 for a constant layer)
    view_share: float  # share of the variance the 2D PCA view shows
    knn: float  # kNN accuracy (fixed probe split of the held-out activations)
    linear: float  # accuracy of a ridge linear probe (same split)
    seconds: float  # time these statistics took


@dataclass(frozen=True)
class LayerView:
    """One point's statistics plus the 2D coordinates drawn in its scatter."""

    stats: LayerStats
    scores: np.ndarray  # (N, 2) PCA coordinates of the held-out points ((N, 1) for a 1-wide layer)


def held_out(bundle: DataBundle, limit: int = STATS_POINTS, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """A fixed subset of the held-out set: (n, D) inputs and (n,) labels, n <= limit."""
    idx = analysis.subsample(len(bundle.x_test), limit, seed)
    return bundle.x_test[idx], bundle.y_test[idx].numpy()


def dims_for_share(ev: np.ndarray, share: float = VAR_SHARE) -> int:
    """Fewest leading directions whose variances sum to `share` of the total (0 when all are 0)."""
    total = float(ev.sum())
    if total <= 0:
        return 0
    cum = np.cumsum(ev) / total
    return int(np.searchsorted(cum, share - 1e-9) + 1)


def probe_split(n: int, seed: int = 0, train_share: float = PROBE_TRAIN) -> tuple[np.ndarray, np.ndarray]:
    """Fixed (train, test) index arrays over n held-out samples."""
    perm = np.random.default_rng(seed).permutation(n)
    n_train = min(max(1, int(round(n * train_share))), n - 1)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])


def knn_probe(gram: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, k: int = KNN_K) -> float:
    """kNN accuracy with distances read off the Gram matrix: |a-b|^2 = <a,a> + <b,b> - 2<a,b>."""
    sq = np.diag(gram)
    dist = sq[test, None] + sq[None, train] - 2 * gram[np.ix_(test, train)]  # (n_test, n_train)
    k = min(k, len(train))
    nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]  # (n_test, k)
    votes = y[train][nearest]
    pred = np.array([np.bincount(v).argmax() for v in votes])
    return float((pred == y[test]).mean())


def ridge_probe(gram: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
                rel: float = RIDGE_REL) -> float:
    """Accuracy of a linear classifier (ridge regression onto one-hot labels), solved in the dual.

    The dual form needs only inner products, so its cost does not grow with the layer's width; the
    penalty is `rel` times the mean squared norm of a (centered) training row, so rescaling a layer
    does not change the result.
    """
    classes = np.unique(y[train])
    onehot = (y[train][:, None] == classes[None, :]).astype(np.float64)  # (n_train, C)
    mean = onehot.mean(axis=0)
    ktr = gram[np.ix_(train, train)]  # (n_train, n_train)
    # center in feature space (= fitting an intercept): K_c = H K H with H = I - 1/n
    row_tr = ktr.mean(axis=0)
    ktr_c = ktr - row_tr[None, :] - row_tr[:, None] + row_tr.mean()
    kte = gram[np.ix_(test, train)]  # (n_test, n_train)
    kte_c = kte - row_tr[None, :] - kte.mean(axis=1, keepdims=True) + row_tr.mean()
    alpha = rel * max(float(np.trace(ktr_c)) / len(train), 1e-12)
    coef = np.linalg.solve(ktr_c + alpha * np.eye(len(train)), onehot - mean)  # (n_train, C)
    pred = classes[(kte_c @ coef + mean).argmax(axis=1)]
    return float((pred == y[test]).mean())


def layer_stats(acts: np.ndarray | torch.Tensor, y: np.ndarray, point: int = 0, label: str = "",
                seed: int = 0) -> LayerView:
    """Width, dims for 95% variance, 2D PCA view and kNN/linear probe accuracy of one (N, d) layer."""
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    x = np.asarray(acts, dtype=np.float32).reshape(len(acts), -1)  # (N, d)
    y = np.asarray(y)
    if not np.isfinite(x).all():
        raise ValueError(f"The activations at {label or 'this layer'} contain NaN or infinite values; "
                         "retrain the model with a lower learning rate.")
    # one BLAS thread: on a busy shared CPU, spinning BLAS threads slow eigensolvers down 10-100x
    with threadpool_limits(1, user_api="blas"):
        xc = x - x.mean(axis=0, keepdims=True)  # (N, d)
        gram = (xc @ xc.T).astype(np.float64)  # (N, N) inner products: spectrum, kNN and linear probe
        ev = pca.variances(xc, gram)  # (d,) largest first
        scores = pca.view(xc, 2, seed)  # (N, 2)
        train, test = probe_split(len(x), seed)
        knn = knn_probe(gram, y, train, test) if len(x) >= 4 else float("nan")
        linear = ridge_probe(gram, y, train, test) if len(x) >= 4 else float("nan")
    total = float(ev.sum())
    share = float(ev[:2].sum() / total) if total > 0 else 0.0
    stats = LayerStats(point, label, x.shape[1], dims_for_share(ev), share, knn, linear,
                       time.perf_counter() - start)
    return LayerView(stats, scores)


def layer_views(seq: nn.Sequential, x: torch.Tensor, y: np.ndarray, points: list[int] | None = None,
                seed: int = 0) -> list[LayerView]:
    """Statistics of every requested point (default: all) from one forward pass over x."""
    acts = activations(seq, x)
    labels = point_labels(seq)
    points = list(range(len(acts))) if points is None else points
    return [layer_stats(acts[s].numpy(), y, s, labels[s], seed) for s in points]


def model_views(model: model_mod.Autoencoder, x: torch.Tensor, y: np.ndarray) -> tuple[list[LayerView], int]:
    """Every whole layer's statistics of a model, and its bottleneck point."""
    seq, _, bottleneck = chain(model)
    return layer_views(seq, x, y, whole_layer_points(seq)), bottleneck


def describe_views(views: list[LayerView], bottleneck: int) -> str:
    """What the measured per-layer numbers show, in a few sentences (empty if input or code is missing)."""
    by_point = {v.stats.point: v.stats for v in views}
    if bottleneck not in by_point or 0 not in by_point:
        return ""
    code, inp = by_point[bottleneck], by_point[0]
    before = [s for p, s in by_point.items() if p < bottleneck]
    after = [s for p, s in by_point.items() if p > bottleneck]
    best_before = max(before, key=lambda s: s.knn)
    text = (f"The input needs {inp.dims95} of its {inp.width} dimensions for {VAR_SHARE:.0%} of the variance; "
            f"the bottleneck (after module {code.label}, {code.width} wide) needs {code.dims95}. "
            f"kNN accuracy is {code.knn:.0%} at the bottleneck and up to {best_before.knn:.0%} before it "
            f"(at {best_before.label}, {best_before.width} wide). ")
    if best_before.knn - code.knn > CLEAR_KNN:
        text += ("So the code is the most *compressed* representation, not the most class-separable one: from the "
                 "wider encoder layers kNN reads the class better than from the code. ")
    elif code.knn - best_before.knn > CLEAR_KNN:
        text += ("So kNN reads the class better from the code than from any layer before it, in far fewer numbers: "
                 "compressing put images of one class closer together. ")
    else:
        text += "So kNN reads the class about as well from the code as from any encoder layer, in far fewer numbers. "
    if after:
        lo, hi = min(s.knn for s in after), max(s.knn for s in after)
        best_after = max(after, key=lambda s: s.knn)
        text += f"After the code, kNN accuracy ranges from {lo:.0%} to {hi:.0%}. "
        if hi - code.knn > CLEAR_KNN:
            text += (f"That is up to {(hi - code.knn) * 100:.0f} points above the code's {code.knn:.0%} (at "
                     f"{best_after.label}, {best_after.width} wide), yet decoder layers compute only from the code, "
                     "so they hold no information about the class that the code lacks. What they change is how "
                     "*accessible* it is: kNN compares plain distances, and the decoder re-draws the code in "
                     "pixel-like coordinates where images of one class happen to sit closer together.")
        elif code.knn - hi > CLEAR_KNN:
            text += ("All below the code's: decoder layers compute only from the code, so they cannot add class "
                     "information, and here they also make it harder to read off by distance.")
        else:
            text += ("About the code's: decoder layers compute only from the code, and here they neither add to "
                     "nor hide the class information it holds.")
    return text


def measured_answer(views: list[LayerView], bottleneck: int) -> str | None:
    """Where kNN accuracy is highest: "encoder" (the input or a layer before the code), "code" or "decoder" (the
    split page question's options); None when the best two places are within CLEAR_KNN of each other."""
    best: dict[str, float] = {}
    for v in views:
        p = v.stats.point
        place = "encoder" if p < bottleneck else "code" if p == bottleneck else "decoder"
        best[place] = max(best.get(place, -1.0), v.stats.knn)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    if not ranked or (len(ranked) > 1 and ranked[0][1] - ranked[1][1] <= CLEAR_KNN):
        return None
    return ranked[0][0]


# -- code export -----------------------------------------------------------------------------------
def _module_code(module: nn.Module) -> str:
    if isinstance(module, nn.Linear):
        bias = "" if module.bias is not None else ", bias=False"
        return f"nn.Linear({module.in_features}, {module.out_features}{bias})"
    return convnet.module_text(module) or f"nn.{module!r}"


def _batch(shape: tuple[int, ...]) -> str:
    """A shape comment with the batch: (B, 64) or (B, 16, 4, 4)."""
    return f"(B, {', '.join(map(str, shape))})"


def _module_lines(mods: list[nn.Module], shapes: list[tuple[int, ...]], first: int, indent: str,
                  name: str = "") -> list[str]:
    """One line per module with its index and a shape comment: 'nn.Linear(64, 128),  # [0] (B, 64) -> (B, 128)'."""
    return [f"{indent}{_module_code(m)},  # {name}[{i}] {_batch(shapes[first + i])} -> {_batch(shapes[first + i + 1])}"
            for i, m in enumerate(mods)]


def split_code(seq: nn.Sequential, at: int, input_dim: int) -> str:
    """Runnable PyTorch source: the network as an encoder and a decoder Sequential, cut at point `at`."""
    shapes, mods = point_shapes(seq, input_dim), list(seq)
    widths = [math.prod(s) for s in shapes]
    d, k, code = input_dim, widths[at], _batch(shapes[at])
    shape = "-".join(model_mod.shape_text(shapes[s]) for s in whole_layer_points(seq))
    cut = f"cut after module {at - 1}" if at else "cut before module 0 (an empty encoder)"
    lines = [
        "import torch",
        "from torch import nn",
        "",
        "",
        "class SplitAutoencoder(nn.Module):",
        f'    """{shape}, {cut}: the code is {k} numbers wide."""',
        "",
        "    def __init__(self):",
        "        super().__init__()",
        f"        self.encoder = nn.Sequential(  # (B, {d}) -> {code}",
        *_module_lines(mods[:at], shapes, 0, " " * 12, "encoder"),
        "        )",
        f"        self.decoder = nn.Sequential(  # {code} -> (B, {d})",
        *_module_lines(mods[at:], shapes, at, " " * 12, "decoder"),
        "        )",
        "",
        "    def forward(self, x):",
        f"        x = x.view(x.size(0), -1)  # (B, ...) -> (B, {d})",
        f"        code = self.encoder(x)  # {code}",
        f"        return self.decoder(code)  # (B, {d})",
        "",
        "",
        "model = SplitAutoencoder()",
        '# model.load_state_dict(torch.load("split_weights.pt"))  # the trained weights from this page',
    ]
    return "\n".join(lines) + "\n"


def single_code(seq: nn.Sequential, at: int, input_dim: int) -> str:
    """Runnable PyTorch source: the same network as ONE Sequential, with the cut shown as slicing."""
    shapes, mods = point_shapes(seq, input_dim), list(seq)
    lines = [
        "import torch",
        "from torch import nn",
        "",
        f"network = nn.Sequential(  # (B, {input_dim}) -> {_batch(shapes[-1])}",
        *_module_lines(mods, shapes, 0, " " * 4, "network"),
        ")",
        '# network.load_state_dict(torch.load("sequential_weights.pt"))  # the trained weights from this page',
        "",
        "# The encoder/decoder split is a convention: slicing shares the modules, so",
        "# decoder(encoder(x)) == network(x) for ANY cut. The usual cut is the narrowest layer.",
        f"encoder, decoder = network[:{at}], network[{at}:]  # the code: {_batch(shapes[at])}",
    ]
    return "\n".join(lines) + "\n"


def split_state(seq: nn.Sequential, at: int) -> dict[str, torch.Tensor]:
    """Weights under the names `split_code` uses (encoder.i / decoder.j, renumbered from 0)."""
    encoder, decoder = split(seq, at)
    holder = nn.Module()
    holder.encoder, holder.decoder = encoder, decoder
    return {k: v.detach().clone() for k, v in holder.state_dict().items()}


def single_state(seq: nn.Sequential) -> dict[str, torch.Tensor]:
    """Weights under the names `single_code` uses (0.weight, 0.bias, ...)."""
    return {k: v.detach().clone() for k, v in seq.state_dict().items()}


@dataclass(frozen=True)
class CodeExport:
    """One way to write the cut network as PyTorch code, with its weights."""

    title: str  # tab title
    code: str  # runnable Python source
    code_file: str  # file name of the source download
    weights: Callable[[], bytes]  # the weights as torch.save bytes (called only when downloaded)
    weights_file: str  # file name of the weights download
    key: str  # widget-key prefix


def code_exports(seq: nn.Sequential, at: int, input_dim: int) -> list[CodeExport]:
    """The cut network as two Sequentials, and as one (split_code / single_code and their weights)."""
    return [CodeExport(f"Two Sequentials (cut at {at})", split_code(seq, at, input_dim), "split_autoencoder.py",
                       lambda: weights_bytes(split_state(seq, at)), "split_weights.pt", "split"),
            CodeExport("One Sequential", single_code(seq, at, input_dim), "sequential_autoencoder.py",
                       lambda: weights_bytes(single_state(seq)), "sequential_weights.pt", "single")]


def weights_bytes(state: dict[str, torch.Tensor]) -> bytes:
    """A state dict as the bytes of a torch.save file (for a download button)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


# -- asymmetric models ------------------------------------------------------------------------------
DEEP_ENCODER = "deep encoder · shallow decoder"
DEEP_DECODER = "shallow encoder · deep decoder"


def asymmetric_specs(input_dim: int, bottleneck: int, deep: tuple[int, ...], shallow: tuple[int, ...],
                     activation: str = "relu", output: str = "sigmoid") -> dict[str, ArchSpec]:
    """Two autoencoders with the same code size: the deep stack on the encoder side, then on the decoder side."""
    deep_dec = tuple(reversed(deep))
    return {
        DEEP_ENCODER: ArchSpec(input_dim, encoder=tuple(deep), bottleneck=bottleneck, decoder=tuple(shallow),
                               activation=activation, output=output),
        DEEP_DECODER: ArchSpec(input_dim, encoder=tuple(shallow), bottleneck=bottleneck, decoder=deep_dec,
                               activation=activation, output=output),
    }


def pair_setup(run: runs.Run, values: dict, n_available: int) -> tuple[dict[str, ArchSpec] | None,
                                                                      TrainConfig | None, Check]:
    """The two asymmetric models and their shared training settings, from the page's values (settings.SPLIT)
    and the session model (its activation, output, loss, optimizer, learning rate, batch size and seed)."""
    specs = asymmetric_specs(run.spec.input_dim, values["cfg_split_code"], values["cfg_split_deep"],
                             values["cfg_split_shallow"], run.spec.activation, run.spec.output)
    cfg = TrainConfig(loss=run.cfg.loss, optimizer=run.cfg.optimizer, lr=run.cfg.lr, batch_size=run.cfg.batch_size,
                      seed=run.cfg.seed, **SPLIT.kwargs(values))
    check = Check(errors=SPLIT.check(cfg, {"n_available": n_available}))
    for spec in specs.values():
        check.add(check_arch(spec))
    params = sum(s.param_count for s in specs.values())  # both models train: the compute budget counts both
    check.errors += check_train(cfg, None, n_available, params).errors
    return (specs, cfg, check) if check.ok else (None, None, check)


def pair_reconstructions(pair: dict[str, runs.Run], bundle: DataBundle) -> tuple[list[np.ndarray], list[str], list[str]]:
    """One held-out image per class and both models' reconstructions: rows (n, D), row labels, column labels."""
    idx = data_mod.sample_indices(bundle.y_test, per_class=1, n=10)
    x = bundle.x_test[idx]  # (10, D)
    rows = [x.numpy()] + [analysis.reconstruct(r.model, x).numpy() for r in pair.values()]
    return rows, ["input", *pair], [bundle.class_names[int(bundle.y_test[i])] for i in idx]


def stats_rows(views: list[LayerView]) -> list[dict]:
    """The per-layer numbers as table rows."""
    return [{"point": v.stats.label, "width": v.stats.width, "dims for 95%": v.stats.dims95,
             "2D view shows": f"{v.stats.view_share:.0%}", "kNN": f"{v.stats.knn:.1%}",
             "linear probe": f"{v.stats.linear:.1%}"} for v in views]


@dataclass
class PairResult:
    runs: dict[str, runs.Run]  # label -> finished Run, in training order
    status: str  # "done", "stopped" or "diverged"
    message: str  # a sentence for the learner


def train_pair(bundle: DataBundle, specs: dict[str, ArchSpec], cfg: TrainConfig,
               ctx: JobContext | None = None) -> PairResult:
    """Train the models one after the other with the same settings; publish each Run as it finishes."""
    done: dict[str, runs.Run] = {}
    for i, (label, spec) in enumerate(specs.items()):
        lab = LabProgress(label, i + 1, len(specs), histories={name: r.history for name, r in done.items()})
        run = runs.train_run(bundle, spec, cfg, phase_monitor(ctx, lab, label))
        done[label] = run
        if ctx is not None:
            ctx.publish(finished=dict(done))
        if run.status != "done":
            word = "was stopped" if run.status == "stopped" else "diverged"
            return PairResult(done, run.status, f"The {label} model {word}; {len(done)} of {len(specs)} trained.")
    return PairResult(done, "done", f"Trained {len(done)} models, {cfg.epochs} epochs each.")


def start_pair(bundle: DataBundle, specs: dict[str, ArchSpec], cfg: TrainConfig, name: str = "split-pair",
               student: str = "") -> Job:
    """Train both asymmetric models in one background job (result: a PairResult) in `student`'s turns."""
    return Job(lambda ctx: train_pair(bundle, specs, cfg, ctx), name=name, student=student).start()


def describe_pair(pair: dict[str, runs.Run]) -> str:
    """Which of the two reached the lower held-out loss, by how much, with which parameter counts."""
    if len(pair) < 2:
        return ""
    (la, a), (lb, b) = list(pair.items())[:2]
    if not (math.isfinite(a.test_loss) and math.isfinite(b.test_loss)):
        return "One of the models has no finite test loss; retrain with a lower learning rate."
    win, lose = ((la, a), (lb, b)) if a.test_loss <= b.test_loss else ((lb, b), (la, a))
    gap = (lose[1].test_loss - win[1].test_loss) / lose[1].test_loss if lose[1].test_loss > 0 else 0.0
    text = (f"The **{win[0]}** model reached a held-out loss of {win[1].test_loss:.4f} against "
            f"{lose[1].test_loss:.4f} ({gap:.0%} lower), with {win[1].spec.param_count:,} against "
            f"{lose[1].spec.param_count:,} parameters. ")
    if gap < 0.05:
        text += "That is within 5%: with this data and budget, where the depth sits barely matters."
    else:
        text += "Same code size, same training: only the place of the extra layers differs."
    return text


# -- figures ----------------------------------------------------------------------------------------
def _role_color(point: int, at: int) -> str:
    return CODE if point == at else ENC if point < at else DEC


GRID_PAD = 0.05  # empty margin inside each small-multiple cell (in cell widths)
GRID_TITLE = 0.2  # share of a cell's height kept for its two-line title


def _fit_box(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Values scaled linearly into [lo, hi] (a constant column goes to the middle)."""
    span = float(v.max() - v.min()) if len(v) else 0.0
    return np.full(len(v), (lo + hi) / 2) if span == 0 else lo + (v - v.min()) / span * (hi - lo)


def pca_grid(views: list[LayerView], y: np.ndarray, class_names, at: int, bottleneck: int, cols: int = 3,
             max_points: int = 300, row_height: int = 280) -> go.Figure:
    """One 2D PCA scatter per layer, colored by class, in a grid; the split and the bottleneck are marked.

    Drawn as small multiples on a single pair of hidden axes (cell (r, c) spans x in [c, c+1], y in
    [-r-1, -r]) with one trace per class: the browser draws it several times faster than one subplot per
    layer, and a legend click hides a class in every panel at once.
    """
    cols = max(1, min(cols, len(views)))
    rows = math.ceil(len(views) / cols)
    y = np.asarray(y)
    keep = analysis.subsample(len(y), max_points)
    yy = y[keep]
    xs, ys, shapes, notes = [], [], [], []
    for i, v in enumerate(views):
        r, c = divmod(i, cols)
        pts = v.scores[keep]  # (n, 2) or (n, 1)
        second = pts[:, 1] if pts.shape[1] > 1 else (yy + np.linspace(-0.3, 0.3, len(yy))).astype(float)
        x0, x1 = c + GRID_PAD, c + 1 - GRID_PAD
        y0, y1 = -r - 1 + GRID_PAD, -r - GRID_TITLE
        xs.append(_fit_box(pts[:, 0].astype(float), x0 + 0.03, x1 - 0.03))
        ys.append(_fit_box(second.astype(float), y0 + 0.03, y1 - 0.03))
        s = v.stats
        shapes.append(dict(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor="rgba(0,0,0,0)",
                           line=dict(color=_role_color(s.point, at), width=3 if s.point in (at, bottleneck) else 1)))
        marks = (" ★ bottleneck" if s.point == bottleneck else "") + (" ✂ code" if s.point == at else "")
        notes.append(dict(x=c + 0.5, y=-r - GRID_TITLE / 2, showarrow=False, font=dict(size=11),
                          text=f"<b>{s.label}</b>{marks}<br>{s.width} wide · {s.dims95} dims · kNN {s.knn:.0%}"))
    xs, ys = np.stack(xs), np.stack(ys)  # (panels, n)
    labels = np.array([v.stats.label for v in views])
    traces = []
    for cls in np.unique(yy):
        m = yy == cls
        name = str(class_names[int(cls)]) if int(cls) < len(class_names) else str(cls)
        traces.append(dict(type="scatter", x=xs[:, m].ravel(), y=ys[:, m].ravel(), mode="markers", name=name,
                           customdata=np.repeat(labels, m.sum()), marker=dict(size=4, opacity=0.7,
                                                                           **class_marker(cls)),
                           hovertemplate=f"class {name}<extra>%{{customdata}}</extra>"))
    hidden = dict(visible=False, fixedrange=True)
    layout = dict(margin=dict(l=10, r=10, t=20, b=10), height=row_height * rows + 30, legend=dict(title="class"),
                  xaxis=dict(range=[0, cols], **hidden), yaxis=dict(range=[-rows, 0], **hidden),
                  shapes=shapes, annotations=notes)
    return go.Figure(dict(data=traces, layout=layout))


def stats_chart(views: list[LayerView], at: int, bottleneck: int, title: str = "Per-layer statistics",
                height: int = 480) -> go.Figure:
    """Width (log), dims for 95% variance, and probe accuracies per layer; dashed line: the cut, ★: bottleneck."""
    labels = [v.stats.label + (" ★" if v.stats.point == bottleneck else "") for v in views]
    colors = [_role_color(v.stats.point, at) for v in views]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.09,
                        subplot_titles=("width (units, log scale)", f"dimensions for {VAR_SHARE:.0%} of the variance",
                                        "class separability of the held-out activations"))
    widths = [v.stats.width for v in views]
    dims = [v.stats.dims95 for v in views]
    fig.add_trace(go.Bar(x=labels, y=widths, marker_color=colors, name="width", text=widths,
                         textposition="auto", showlegend=False), row=1, col=1)
    fig.add_trace(go.Bar(x=labels, y=dims, marker_color=colors, name="dims", text=dims, textposition="outside",
                         cliponaxis=False, showlegend=False), row=2, col=1)
    fig.add_trace(go.Scatter(x=labels, y=[v.stats.knn for v in views], mode="lines+markers",
                             name=f"kNN (k={KNN_K})", line_color=PALETTE[1]), row=3, col=1)
    fig.add_trace(go.Scatter(x=labels, y=[v.stats.linear for v in views], mode="lines+markers",
                             name="linear probe", line_color=PALETTE[6]), row=3, col=1)
    fig.update_yaxes(type="log", dtick=1, row=1, col=1)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", row=3, col=1)
    points = [v.stats.point for v in views]
    if at in points:
        for r in (1, 2, 3):
            fig.add_vline(x=points.index(at), line_dash="dash", line_color=CODE, row=r, col=1)
    fig.update_layout(**_LAYOUT, height=height, title=title, legend=LEGEND_BELOW)
    return fig


def compare_losses(pair: dict[str, runs.Run], height: int = 340) -> go.Figure:
    """Held-out (solid) and training (dotted) loss curves of several runs on one log axis."""
    return figures.run_curves({label: run.history for label, run in pair.items()},
                              "Loss curves: same code size, depth on opposite sides", height=height,
                              loss=next(iter(pair.values())).cfg.loss if pair else None)
