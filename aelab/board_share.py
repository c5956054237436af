"""What a page shares to the class board: each lab's finished result turned into a board Draft (every model's
numbers, the settings, the learner's prediction and what the run measured, a small preview image; weights only
when asked).

The numbers mean the same on every page: a model's errors are analysis.model_error (mean squared error per input
value, eval mode) on the training subset the lab trained it on and on the data set's whole test set, and its
parameters are its ArchSpec's trainable parameters. Models trained for another task say so (board_fields.TASKS):
a denoiser is measured on noisy inputs against the clean images, an anomaly detector on normal data only.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from aelab import analysis, png, questions
from aelab.board_fields import PREVIEW_MAX, RECONSTRUCT, SUMMARY_MAX, Draft, Point
from aelab.data import DataBundle, sample_indices
from aelab.figures import tile
from aelab.model import Autoencoder
from aelab.runs import Run
from aelab.spec import ArchSpec

GetBundle = Callable[[str], DataBundle]  # data set key -> its bundle (ui.get_bundle)
PREVIEW_IMAGES = 10  # held-out images in a preview: one per class where there are ten classes


@dataclass(frozen=True)
class Asked:
    """The page's predict-first question, the learner's committed answer and the answer the run measured: option keys
    of questions.QUESTIONS (None: not committed or skipped / the numbers settle nothing clearly)."""

    question: str | None = None
    prediction: str | None = None
    measured: str | None = None


NOT_ASKED = Asked()


def asked(question_id: str | None, answer: str | None, measured: str | None) -> Asked:
    """What a share says about the page's question; keys that are not options of it (a skipped prediction) are
    dropped, and a question with neither an answer nor a measurement is left out."""
    q = questions.QUESTIONS.get(question_id) if question_id else None
    if q is None:
        return NOT_ASKED
    prediction, measured = (k if k in q.options else None for k in (answer, measured))
    return Asked(q.id, prediction, measured) if prediction or measured else NOT_ASKED


@dataclass(frozen=True, eq=False)
class Twins:
    """Latent space's AE-vs-VAE comparison: the session model and its twin of the other kind."""

    base: Run
    other: Run

    def parts(self) -> tuple:
        return self.base, self.other


@dataclass(frozen=True, eq=False)
class Layers:
    """Encoder | Decoder: the model it cuts apart, and the page's asymmetric pair ({"runs": {label: Run}}) if trained."""

    run: Run
    pair: dict | None = None

    def parts(self) -> tuple:
        return self.run, self.pair


def same(a, b) -> bool:
    """Whether two results are one (a composite of the same parts counts as the same, whoever built it)."""
    if a is b:
        return True
    return type(a) is type(b) and hasattr(a, "parts") and all(x is y for x, y in zip(a.parts(), b.parts()))


# -- pieces every Draft is made of ----------------------------------------------------------------------
def preview_png(rows: list[np.ndarray], shape: tuple[int, int] | None, limit: int = PREVIEW_MAX) -> bytes | None:
    """Rows of flattened images (each (C, H*W) in [0, 1]) as one PNG of at most `limit` bytes: fewer columns, then
    half the resolution, until it fits. None for data that are not images."""
    if shape is None or not rows:
        return None
    arr = np.clip(np.stack([np.asarray(r, dtype=np.float32) for r in rows]), 0, 1)  # (R, C, H*W)
    h, w = shape
    while arr.shape[1] >= 1:
        for step in (1, 2, 4):
            small = arr.reshape(*arr.shape[:2], h, w)[:, :, ::step, ::step]  # (R, C, H/step, W/step)
            sh = small.shape[2:]
            blob = png.gray(tile(small.reshape(*arr.shape[:2], -1), sh))
            if len(blob) <= limit:
                return blob
        arr = arr[:, : arr.shape[1] // 2]
    return None


def named(spec: ArchSpec, label: str = "") -> str:
    """A model in words and widths: "denoising AE 64-32-8-32-64" (a VAE says so when no label does)."""
    label = label or ("VAE" if spec.kind == "vae" else "")
    return f"{label} {spec.describe()}".strip()[:SUMMARY_MAX]


def point(model: Autoencoder, data: DataBundle, label: str = "", task: str = RECONSTRUCT,
          inputs: tuple[torch.Tensor, torch.Tensor] | None = None) -> Point:
    """One model's numbers: its trainable parameters, and model_error on data's training subset and whole test set
    (against those clean images; `inputs` replaces what the model is fed, e.g. noisy versions of both)."""
    x_train, x_test = inputs or (data.x_train, data.x_test)
    return Point(model.spec.bottleneck, model.spec.param_count,
                 analysis.model_error(model, x_train, data.x_train), analysis.model_error(model, x_test, data.x_test),
                 named(model.spec, label), task)


def run_point(run: Run, bundle: DataBundle, label: str = "") -> Point:
    """A runs.Run's point, measured on the subset it trained on (runs.train_run: cfg.n_train, cfg.seed)."""
    return point(run.model, bundle.subset(run.cfg.n_train, seed=run.cfg.seed), label)


def draft(kind: str, dataset: str, models: list[Point], spec: dict, settings: dict, epochs: int, seconds: float,
          said: Asked = NOT_ASKED, preview: bytes | None = None, checkpoint: bytes | None = None) -> Draft:
    """The Draft of a result whose first model is the main one (its numbers fill the Draft's own fields)."""
    if not models:
        raise ValueError("the result has no trained model")
    main = models[0]
    return Draft(kind=kind, dataset=dataset, summary=main.summary, spec=spec, settings=settings,
                 code_size=main.code_size, params=main.params, epochs=int(epochs), train_error=main.train_error,
                 test_error=main.test_error, seconds=float(seconds), question=said.question,
                 prediction=said.prediction, measured=said.measured, points=tuple(models[1:]), task=main.task,
                 preview=preview, checkpoint=checkpoint)


def held_out(bundle: DataBundle) -> torch.Tensor:
    """The preview's held-out images: one per class (the same ones on every page)."""
    return bundle.x_test[sample_indices(bundle.y_test, per_class=1, n=PREVIEW_IMAGES)]  # (10, D)


def recon_preview(models: list[Autoencoder], bundle: DataBundle) -> bytes | None:
    """Held-out images (top row) and each model's reconstructions below them."""
    x = held_out(bundle)
    return preview_png([x.numpy(), *[analysis.reconstruct(m, x).numpy() for m in models]], bundle.image_shape)


def epochs_done(*histories) -> int:
    """The most epochs any of the models finished (a stopped lab shares what it trained)."""
    return max((h.epoch_x[-1] for h in histories if h.epoch_x), default=0)


# -- one builder per page ---------------------------------------------------------------------------------
def from_run(run: Run, bundle: DataBundle, weights: bool = False, said: Asked = NOT_ASKED) -> Draft:
    """A Build & Train run: its errors on its own training subset and the whole test set (spec and settings as
    dicts; board_fields.clean_draft turns them into plain JSON)."""
    if bundle.name != run.dataset or bundle.input_dim != run.spec.input_dim:
        raise ValueError("the data set does not match the run")
    blob = None
    if weights:
        from aelab import checkpoint

        blob = checkpoint.to_bytes(run)
    return draft("train", run.dataset, [run_point(run, bundle)], asdict(run.spec), asdict(run.cfg), run.epochs_done,
                 run.seconds, said, recon_preview([run.model], bundle), blob)


def from_sweep(result, said: Asked = NOT_ASKED) -> Draft:
    """A bottleneck experiment: every size's errors as points (sweep.mean_error measures them as model_error does)."""
    cfg, rows = result.config, sorted(result.rows, key=lambda r: r.bottleneck)
    if not rows:
        raise ValueError("the experiment has no results")
    specs = [cfg.spec(r.bottleneck, result.input_dim) for r in rows]
    models = [Point(r.bottleneck, s.param_count, r.train_error, r.test_error, named(s)) for r, s in zip(rows, specs)]
    test = result.originals.get("test")
    grid = None
    if test is not None and all(r.recon is not None and "test" in r.recon for r in rows):
        grid = [test, *[r.recon["test"] for r in rows]]  # original, then each size: (n, D) each
    settings = {k: v for k, v in asdict(cfg).items()
                if k in ("n_train", "hidden", "epochs", "batch_size", "lr", "seed", "activation", "sizes")}
    spec = {"input_dim": result.input_dim, "hidden": list(cfg.hidden), "sizes": [r.bottleneck for r in rows]}
    return draft("bottleneck", cfg.dataset, models, spec, settings, rows[0].epochs, result.seconds, said,
                 preview_png(grid, result.image_shape) if grid else None)


def from_denoise(result, bundle: DataBundle, said: Asked = NOT_ASKED) -> Draft:
    """Denoising: the denoising AE on noisy inputs (the lab's held-out noise; the training images noised once with
    the lab's seed) against the clean images, and the plain AE on clean inputs."""
    from aelab import denoise, noise

    s = result.settings
    data = bundle.subset(s.n_train, seed=s.seed)
    noisy = (noise.corrupt(data.x_train, s.noise, s.level, seed=s.seed),
             noise.corrupt(data.x_test, s.noise, s.level, seed=s.seed + denoise.TEST_NOISE))
    models = [point(result.denoiser, data, "denoising AE", "denoise", noisy), point(result.plain, data, "plain AE")]
    ex = result.examples
    rows = [ex["clean"], ex["noisy"], ex["plain"], ex["denoiser"]]
    return draft("denoising", result.dataset, models, asdict(s.spec(bundle.input_dim)), asdict(s),
                 epochs_done(result.plain_history, result.denoiser_history), result.seconds, said, preview_png(rows, result.image_shape))


def from_anomaly(result, bundle: DataBundle, said: Asked = NOT_ASKED) -> Draft:
    """Anomaly detection: the main detector on the normal training and normal held-out images; the other code
    sizes with their normal held-out error (their models are not kept, so no training error)."""
    from aelab import anomaly

    s, det = result.settings, result.main
    x_normal, x_test, is_anomaly = anomaly.split(bundle.subset(s.n_train, seed=s.seed), s.normal)
    normal_test = x_test[torch.from_numpy(~is_anomaly)]  # (M_normal, D)
    main = Point(det.bottleneck, det.model.spec.param_count, analysis.model_error(det.model, x_normal),
                 analysis.model_error(det.model, normal_test), named(det.model.spec, "detector"), "normal_only")
    others = [Point(r.bottleneck, s.spec(bundle.input_dim, r.bottleneck).param_count, None, r.normal_error,
                    named(s.spec(bundle.input_dim, r.bottleneck), "detector"), "normal_only")
              for r in result.rows if r.bottleneck != det.bottleneck]
    return draft("anomaly", result.dataset, [main, *others], asdict(s.spec(bundle.input_dim)), asdict(s),
                 epochs_done(det.history), result.seconds, said, preview_png([result.worst_images, result.worst_recon],
                                                             result.image_shape))


def from_pca(result, bundle: DataBundle, said: Asked = NOT_ASKED) -> Draft:
    """PCA = linear AE: the linear AE first, then the nonlinear one (PCA itself has no trained parameters)."""
    from aelab import linear

    cfg = result.cfg
    data = bundle.subset(cfg.n_train, seed=cfg.seed)
    trained = [(name, r) for name, r in ((linear.LINEAR, result.linear), (linear.NONLINEAR, result.nonlinear)) if r]
    rows, _ = linear.reconstruction_rows(result, held_out(bundle))
    return draft("pca", result.dataset, [point(r.model, data, name) for name, r in trained],
                 asdict(trained[0][1].spec) if trained else {}, asdict(cfg), max(r.epochs_done for _, r in trained)
                 if trained else 0, sum(r.seconds for _, r in trained), said, preview_png(rows, bundle.image_shape))


def from_layers(shared: Layers, bundle: DataBundle, said: Asked = NOT_ASKED) -> Draft:
    """Encoder | Decoder: the model it cut apart (the per-layer question is about it), then the asymmetric pair."""
    pair = {label: r for label, r in ((shared.pair or {}).get("runs") or {}).items()
            if r.dataset == shared.run.dataset}  # a pair trained earlier on other data is left out
    runs = [shared.run, *pair.values()]
    models = [run_point(shared.run, bundle), *[run_point(r, bundle, f"{label} model") for label, r in pair.items()]]
    settings = {"n_train": shared.run.cfg.n_train, "epochs": shared.run.cfg.epochs,
                "pair": {label: {"epochs": r.cfg.epochs, "n_train": r.cfg.n_train} for label, r in pair.items()}}
    return draft("split", shared.run.dataset, models, asdict(shared.run.spec), settings, shared.run.epochs_done,
                 sum(r.seconds for r in runs), said, recon_preview([r.model for r in runs], bundle))


def from_twins(shared: Twins, bundle: DataBundle, said: Asked = NOT_ASKED) -> Draft:
    """Latent space, AE vs VAE: both models on the same data, the autoencoder first."""
    runs = sorted(shared.parts(), key=lambda r: r.spec.kind != "ae")
    settings = {"n_train": runs[0].cfg.n_train, "epochs": runs[0].cfg.epochs,
                **{r.spec.kind: {"epochs": r.cfg.epochs, "beta": r.cfg.beta} for r in runs}}
    return draft("latent", shared.base.dataset, [run_point(r, bundle) for r in runs], asdict(shared.base.spec),
                 settings, runs[0].epochs_done, sum(r.seconds for r in runs), said,
                 recon_preview([r.model for r in runs], bundle))


def from_signals(result, said: Asked = NOT_ASKED) -> Draft:
    """Not only images: the glitch detector on normal windows (training windows and the normal held-out ones); the
    preview draws the page's example windows (a normal one, one per glitch kind) and their reconstructions as grey
    strips (channels x time steps)."""
    from aelab import signals

    sig_cfg, run = result.source, result.run
    if not isinstance(sig_cfg, signals.SignalConfig):
        raise TypeError("only the built-in signals can be shared (an uploaded table stays private)")
    sigset = signals.make_signals(sig_cfg)
    bundle = sigset.bundle
    normal = bundle.y_test == 0  # (M,) bool
    main = Point(run.spec.bottleneck, run.spec.param_count, analysis.model_error(run.model, bundle.x_train),
                 analysis.model_error(run.model, bundle.x_test[normal]), named(run.spec), "normal_only")
    x = bundle.x_test[signals.examples(sigset)[0]]  # (n, C*L)
    preview = preview_png([x.numpy(), analysis.reconstruct(run.model, x).numpy()], (sig_cfg.channels, sig_cfg.length))
    return draft("signals", "signals", [main], asdict(run.spec), {**asdict(run.cfg), "signals": asdict(sig_cfg)},
                 run.epochs_done, run.seconds, said, preview)


def from_kinds(result, bundle: DataBundle, said: Asked = NOT_ASKED) -> Draft:
    """Kinds side by side: every kind trained, in the page's order, measured on the whole test set."""
    s = result.settings
    data = bundle.subset(s.n_train, seed=s.seed)
    models = [point(r.model, data, r.label) for r in result.results]
    rows = [result.examples, *[r.recon for r in result.results]]
    return draft("kinds", result.dataset, models, asdict(result.results[0].spec) if result.results else {},
                 asdict(s), round(max((r.epochs for r in result.results), default=0)), result.seconds, said,
                 preview_png(rows, result.image_shape))


# -- which builder a result needs ---------------------------------------------------------------------------
_BUILDERS = (  # (module, class, build(result, get_bundle, said, weights)): a result's module is always imported
    ("aelab.runs", "Run", lambda r, get, said, w: from_run(r, get(r.dataset), w, said)),
    ("aelab.sweep", "SweepResult", lambda r, get, said, w: from_sweep(r, said)),
    ("aelab.denoise", "DenoiseResult", lambda r, get, said, w: from_denoise(r, get(r.dataset), said)),
    ("aelab.anomaly", "AnomalyResult", lambda r, get, said, w: from_anomaly(r, get(r.dataset), said)),
    ("aelab.linear", "PcaLabResult", lambda r, get, said, w: from_pca(r, get(r.dataset), said)),
    ("aelab.signals", "LabRun", lambda r, get, said, w: from_signals(r, said)),
    ("aelab.kinds", "CompareResult", lambda r, get, said, w: from_kinds(r, get(r.dataset), said)),
    ("aelab.board_share", "Layers", lambda r, get, said, w: from_layers(r, get(r.run.dataset), said)),
    ("aelab.board_share", "Twins", lambda r, get, said, w: from_twins(r, get(r.base.dataset), said)),
)


def summarize(result, get_bundle: GetBundle, said: Asked = NOT_ASKED, weights: bool = False) -> Draft:
    """The Draft for what a page has finished (a Draft passes through). Weights travel only with a Build & Train
    run, the one model a page can load again (checkpoint.from_bytes)."""
    if isinstance(result, Draft):
        return result
    for module, name, build in _BUILDERS:
        mod = sys.modules.get(module)
        if mod is not None and isinstance(result, getattr(mod, name)):
            return build(result, get_bundle, said, weights)
    raise TypeError(f"cannot share a {type(result).__name__}")
