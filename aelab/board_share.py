"""What a page shares to the class board: a finished Build & Train Run or a Bigger-bottleneck SweepResult turned
into a board Draft (numbers, settings and a small preview image of reconstructions; weights only when asked).

Errors are measured the way the bottleneck experiment measures them (sweep.mean_error: mean squared error per pixel,
eval mode, whole training subset and whole test set), so every student's point is comparable on one chart.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from aelab import analysis, png, sweep_text
from aelab.board_fields import PREVIEW_MAX, Draft, Point
from aelab.data import DataBundle, sample_indices
from aelab.figures import tile
from aelab.runs import Run
from aelab.sweep import SweepResult

BOTTLENECK_QUESTION = "bigger_bottleneck"  # the predict-first question of the Bigger bottleneck page


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


def from_run(run: Run, bundle: DataBundle, weights: bool = False) -> Draft:
    """A Build & Train run as a Draft: errors measured on its own training subset and the whole test set
    (spec and settings as dicts; board_fields.clean_draft turns them into plain JSON)."""
    if bundle.name != run.dataset or bundle.input_dim != run.spec.input_dim:
        raise ValueError("the data set does not match the run")
    data = bundle.subset(run.cfg.n_train, seed=run.cfg.seed)
    idx = sample_indices(data.y_test, per_class=1, n=10)
    x = data.x_test[idx]  # (10, D)
    recon = analysis.reconstruct(run.model, x)  # (10, D)
    blob = None
    if weights:
        from aelab import checkpoint

        blob = checkpoint.to_bytes(run)
    spec = run.spec
    return Draft(kind="train", dataset=run.dataset, summary=spec.describe()[:160],
                 spec=dataclasses.asdict(spec), settings=dataclasses.asdict(run.cfg),
                 code_size=spec.bottleneck, params=spec.param_count, epochs=run.epochs_done,
                 train_error=analysis.model_error(run.model, data.x_train),
                 test_error=analysis.model_error(run.model, data.x_test),
                 seconds=float(run.seconds), preview=preview_png([x.numpy(), recon.numpy()], data.image_shape),
                 checkpoint=blob)


def from_sweep(result: SweepResult, prediction: str | None = None) -> Draft:
    """A bottleneck experiment as one Draft: every size's errors as points, the learner's prediction and the
    trend its own numbers show (both keys of sweep_text.TRENDS)."""
    cfg, rows = result.config, sorted(result.rows, key=lambda r: r.bottleneck)
    if not rows:
        raise ValueError("the experiment has no results")
    specs = [cfg.spec(r.bottleneck, result.input_dim) for r in rows]
    points = [Point(r.bottleneck, s.param_count, r.train_error, r.test_error) for r, s in zip(rows, specs)]
    hidden = "-".join(map(str, cfg.hidden))
    summary = f"{result.input_dim}-{hidden + '-' if hidden else ''}[{rows[0].bottleneck}..{rows[-1].bottleneck}]" \
              f"-{hidden + '-' if hidden else ''}{result.input_dim}"
    test = result.originals.get("test")
    grid = None
    if test is not None and all(r.recon is not None and "test" in r.recon for r in rows):
        grid = [test, *[r.recon["test"] for r in rows]]  # original, then each size: (n, D) each
    settings = {k: v for k, v in dataclasses.asdict(cfg).items()
                if k in ("n_train", "hidden", "epochs", "batch_size", "lr", "seed", "activation", "sizes")}
    return Draft(kind="bottleneck", dataset=cfg.dataset, summary=summary[:160],
                 spec={"input_dim": result.input_dim, "hidden": list(cfg.hidden),
                       "sizes": [r.bottleneck for r in rows]},
                 settings=settings, code_size=points[0].code_size, params=points[0].params, epochs=rows[0].epochs,
                 train_error=points[0].train_error, test_error=points[0].test_error, seconds=float(result.seconds),
                 question=BOTTLENECK_QUESTION, prediction=prediction if prediction in sweep_text.TRENDS else None,
                 measured=sweep_text.measured_trend(rows), points=tuple(points[1:]),
                 preview=preview_png(grid, result.image_shape) if grid else None)


def summarize(result, get_bundle: Callable[[str], DataBundle], prediction: str | None = None,
              weights: bool = False) -> Draft:
    """The Draft for what a page has: a Run (Build & Train), a SweepResult (Bigger bottleneck) or a Draft."""
    if isinstance(result, Draft):
        return result
    if isinstance(result, Run):
        return from_run(result, get_bundle(result.dataset), weights=weights)
    if isinstance(result, SweepResult):
        return from_sweep(result, prediction)
    raise TypeError(f"cannot share a {type(result).__name__}")

