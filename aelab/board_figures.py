"""The class board's tables, figures and verdicts, computed from the runs the class shared (board.SharedRun).

Student names are untrusted text: tables hand them to st.dataframe as plain strings, and in figures they are
HTML-escaped (plotly draws a small HTML subset in hover labels), so no markup or script from a name ever runs.
"""
from __future__ import annotations

import html
import math
import statistics
import textwrap
import time
from collections import Counter
from dataclasses import dataclass

import plotly.graph_objects as go

from aelab import catalog, questions, sweep, sweep_text
from aelab.board import SharedRun
from aelab.board_fields import PAGES, RECONSTRUCT, TASKS
from aelab.figures import LEGEND_BELOW, PALETTE

BUDGETS = [(0, 1_000, "up to 1k"), (1_000, 10_000, "1k to 10k"), (10_000, 100_000, "10k to 100k"),
           (100_000, 1_000_000, "100k to 1M"), (1_000_000, math.inf, "over 1M")]  # parameters: [low, high)
NEAR_BEST = 1.10  # "about as good as the best": within 10 % of the best test error
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10), legend=LEGEND_BELOW)


def label(text: str) -> str:
    """Untrusted text for a plotly label: HTML-escaped (plotly shows the escaped characters literally)."""
    return html.escape(text, quote=True)


def dataset_name(key: str) -> str:
    return catalog.DATASETS.get(key, key)


PREVIEWS = {  # Draft.kind -> what its preview image shows, top row first
    "bottleneck": "held-out images (top), then each code size's reconstructions, smallest first",
    "denoising": "clean held-out images, the noisy inputs, the plain AE's and the denoising AE's outputs",
    "anomaly": "the worst-reconstructed held-out images (top) and their reconstructions",
    "pca": "held-out images, PCA's reconstructions, then the linear and the nonlinear AE's",
    "split": "held-out images, the model's reconstructions, then each asymmetric model's",
    "latent": "held-out images, the autoencoder's reconstructions, then the VAE's",
    "signals": "held-out sensor windows (each a grey strip: channels × time steps) and their reconstructions",
    "kinds": "held-out images, then each kind's reconstructions in the table's order",
}


def page_name(kind: str) -> str:
    return PAGES.get(kind, kind)


def preview_caption(kind: str) -> str:
    return PREVIEWS.get(kind, "held-out images (top) and their reconstructions (bottom)")


def question(question_id: str) -> questions.Question:
    """A predict-first question by id (an id no page asks any more comes back with its id as its text)."""
    return questions.QUESTIONS.get(question_id) or questions.Question(question_id, "", question_id, {})


@dataclass(frozen=True)
class ClassPoint:
    """One trained model a student shared (a lab that trains several gives several points)."""

    share_id: int
    name: str  # the student's display name (untrusted)
    code_size: int
    params: int  # trainable parameters of this model
    train_error: float | None
    test_error: float | None
    summary: str  # the model's architecture as text
    page: str = "train"  # Draft.kind of the run it came from
    task: str = RECONSTRUCT  # what its errors measure (board_fields.TASKS)


# -- the table of every shared run ---------------------------------------------------------------
def runs_table(runs: list[SharedRun]) -> list[dict]:
    """One row per shared run for st.dataframe (text stays text), newest first."""
    rows = []
    for r in reversed(runs):
        d = r.draft
        gap = d.test_error / d.train_error if d.train_error and d.test_error is not None else None
        q = question(d.question) if d.question else None
        rows.append({"#": r.id, "shared (UTC)": time.strftime("%H:%M:%S", time.gmtime(r.created_at)),
                     "name": r.name, "page": page_name(d.kind), "data": dataset_name(d.dataset),
                     "architecture": d.summary, "models": 1 + len(d.points), "code size": d.code_size,
                     "parameters": d.params, "epochs": d.epochs, "errors on": TASKS.get(d.task, d.task),
                     "train error": d.train_error, "test error": d.test_error, "gap (test ÷ train)": gap,
                     "seconds": round(d.seconds, 1), "predicted": q.show(d.prediction) if q and d.prediction else "",
                     "measured": q.show(d.measured) if q and d.measured else ""})
    return rows


def datasets(runs: list[SharedRun]) -> list[str]:
    """Data sets the class shared reconstruction models on (the sweep's and budgets' choices), most shared first."""
    counts = Counter(r.draft.dataset for r in runs if any(p.task == RECONSTRUCT for p in r.points))
    return sorted(counts, key=lambda k: (-counts[k], k))


def all_points(runs: list[SharedRun], dataset: str) -> list[ClassPoint]:
    """Every model shared on `dataset`, whatever its errors measure."""
    return [ClassPoint(r.id, r.name, p.code_size, p.params, p.train_error, p.test_error, p.summary or r.draft.summary,
                       r.draft.kind, p.task) for r in runs if r.draft.dataset == dataset for p in r.points]


def points(runs: list[SharedRun], dataset: str) -> list[ClassPoint]:
    """The models on `dataset` whose errors measure a plain reconstruction (the sweep's and budgets' points): on
    every page measured alike (board_share), so they compare across pages."""
    return [p for p in all_points(runs, dataset) if p.task == RECONSTRUCT]


def left_out(runs: list[SharedRun], dataset: str | None = None) -> str:
    """Which models on `dataset` (None: any) the sweep and budgets leave out, and why ("" when none)."""
    sets = [dataset] if dataset is not None else sorted({r.draft.dataset for r in runs})
    others = [p for name in sets for p in all_points(runs, name) if p.task != RECONSTRUCT]
    if not others:
        return ""
    tasks = Counter(p.task for p in others)
    pages = sorted({page_name(p.page) for p in others})
    what = "; ".join(f"{n} on {TASKS.get(task, task)}" for task, n in sorted(tasks.items()))
    return (f"Left out of the sweep and the budgets: {len(others)} model{'s' if len(others) != 1 else ''} from "
            f"{', '.join(pages)} whose errors measure another task ({what}); they compare only with each other, "
            "in the table above.")


# -- the crowd-sourced bottleneck sweep -----------------------------------------------------------
def size_rows(pts: list[ClassPoint]) -> list[sweep.SizeResult]:
    """The class's median train and test error per code size, as rows sweep_text.explain and its charts read."""
    by_size: dict[int, list[ClassPoint]] = {}
    for p in pts:
        if p.train_error is not None and p.test_error is not None:
            by_size.setdefault(p.code_size, []).append(p)
    return [sweep.SizeResult(b, 0, statistics.median(p.train_error for p in ps),
                             statistics.median(p.test_error for p in ps), {}, math.nan, math.nan, 0.0)
            for b, ps in sorted(by_size.items())]


def _spread(runs: list[SharedRun], key: str) -> list:
    values = {r.draft.settings.get(key) for r in runs}
    return sorted(values, key=lambda v: (v is None, v if isinstance(v, (int, float)) else 0))


def sweep_verdict(runs: list[SharedRun], dataset: str) -> list[str]:
    """Sentences about the class's sweep on `dataset`, computed from its numbers (sweep_text.explain on the medians)."""
    pts = [p for p in points(runs, dataset) if p.train_error is not None and p.test_error is not None]
    rows = size_rows(pts)
    students = len({p.name for p in pts})
    if not pts:
        return [f"No finished run on {dataset_name(dataset)} with measured errors yet."]
    head = (f"{len(pts)} model{'s' if len(pts) != 1 else ''} from {students} student{'s' if students != 1 else ''} "
            f"at {len(rows)} code size{'s' if len(rows) != 1 else ''} ({', '.join(str(r.bottleneck) for r in rows)}) "
            f"on {dataset_name(dataset)}; the lines join the medians per code size.")
    if len(rows) < 2:
        return [head, f"Every run so far used b={rows[0].bottleneck}. Ask students to pick different bottlenecks "
                      "(e.g. 2, 4, 8, 16, 32), so the class covers a range of sizes."]
    out = [head]
    ids = {p.share_id for p in pts}
    mine = [r for r in runs if r.id in ids]
    n_train, epochs = _spread(mine, "n_train"), _spread(mine, "epochs")
    pages = sorted({page_name(r.draft.kind) for r in mine})
    sizes = ", ".join("all" if v is None else str(v) for v in n_train)
    varied = [f"pages {', '.join(pages)} (each with its own layers)"] if len(pages) > 1 else []
    varied += [f"training-set sizes {sizes}"] if len(n_train) > 1 else []
    varied += [f"epochs {', '.join(str(v) for v in epochs)}"] if len(epochs) > 1 else []
    if varied:
        out.append(f"Settings other than the code size differ between runs ({'; '.join(varied)}), so part of the "
                   "differences below comes from them. Agree on the same settings for a clean comparison.")
    same_n = n_train[0] if len(n_train) == 1 and isinstance(n_train[0], int) else None
    return out + sweep_text.explain(rows, same_n)


def sweep_figure(pts: list[ClassPoint], height: int = 420) -> go.Figure:
    """Every student's train and test error against their code size (log-log), with the class medians joined."""
    fig = go.Figure()
    for key, name, color in (("train_error", "train error", PALETTE[0]), ("test_error", "test error", PALETTE[1])):
        mine = [p for p in pts if getattr(p, key) is not None]
        jitter = [1 + 0.04 * ((p.share_id * 7919) % 11 - 5) / 5 for p in mine]  # spread equal sizes a little
        fig.add_trace(go.Scatter(
            x=[p.code_size * j for p, j in zip(mine, jitter)], y=[getattr(p, key) for p in mine], mode="markers",
            name=f"{name}, each run", marker=dict(color=color, size=9, opacity=0.55),
            customdata=[[label(p.name), label(p.summary), p.code_size] for p in mine],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>b=%{customdata[2]}: %{y:.4f}<extra></extra>"))
    rows = size_rows(pts)
    for key, name, color in (("train_error", "train error, class median", PALETTE[0]),
                             ("test_error", "test error, class median", PALETTE[1])):
        fig.add_trace(go.Scatter(x=[r.bottleneck for r in rows], y=[getattr(r, key) for r in rows],
                                 mode="lines+markers", name=name, line=dict(color=color, width=3)))
    sizes = sorted({p.code_size for p in pts})
    fig.update_xaxes(type="log", tickvals=sizes, ticktext=[str(s) for s in sizes], title="bottleneck size (log)")
    fig.update_yaxes(type="log", title="mean squared error per pixel")
    fig.update_layout(**_LAYOUT, height=height, title="The class's bottleneck sweep: train vs test error")
    return fig


# -- best test error per parameter budget ---------------------------------------------------------
def budget_table(pts: list[ClassPoint]) -> list[dict]:
    """Per parameter budget (decades): how many models, the best test error, whose and which architecture."""
    rows = []
    for low, high, name in BUDGETS:
        inside = [p for p in pts if low <= p.params < high and p.test_error is not None]
        if not inside:
            continue
        best = min(inside, key=lambda p: p.test_error)
        rows.append({"parameters": name, "models": len(inside), "best test error": best.test_error,
                     "by": best.name, "architecture": best.summary, "code size": best.code_size,
                     "its parameters": best.params})
    return rows


def budget_verdict(pts: list[ClassPoint]) -> str:
    """Does the best model need the most parameters? Computed from the class's test errors."""
    scored = [p for p in pts if p.test_error is not None]
    if len(scored) < 2:
        return "Budgets compare once at least two models with a test error are shared."
    best = min(scored, key=lambda p: p.test_error)
    near = min((p for p in scored if p.test_error <= best.test_error * NEAR_BEST), key=lambda p: p.params)
    biggest = max(scored, key=lambda p: p.params)
    text = f"Best test error {best.test_error:.4f} with {best.params:,} parameters."
    if near.share_id != best.share_id or near.params < best.params:
        text += (f" A model with {near.params:,} parameters ({best.params / max(near.params, 1):.1f}× fewer) came "
                 f"within {100 * (NEAR_BEST - 1):.0f}% of it ({near.test_error:.4f}).")
    else:
        text += f" No smaller model came within {100 * (NEAR_BEST - 1):.0f}% of it."
    if biggest.share_id != best.share_id and biggest.test_error > best.test_error * NEAR_BEST:
        text += (f" The largest model ({biggest.params:,} parameters) did worse ({biggest.test_error:.4f}): "
                 "more parameters did not buy a lower test error here.")
    return text


def budget_figure(pts: list[ClassPoint], height: int = 380) -> go.Figure:
    """Test error against parameter count (log-log) with the best-so-far line: the class's frontier."""
    scored = sorted((p for p in pts if p.test_error is not None), key=lambda p: (p.params, p.test_error))
    fig = go.Figure(go.Scatter(
        x=[p.params for p in scored], y=[p.test_error for p in scored], mode="markers", name="each model",
        marker=dict(color=PALETTE[1], size=9, opacity=0.6),
        customdata=[[label(p.name), label(p.summary)] for p in scored],
        hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>%{x:,} parameters: %{y:.4f}<extra></extra>"))
    frontier, best = [], math.inf
    for p in scored:
        if p.test_error < best:
            best = p.test_error
            frontier.append(p)
    fig.add_trace(go.Scatter(x=[p.params for p in frontier], y=[p.test_error for p in frontier], mode="lines",
                             line=dict(color=PALETTE[3], shape="hv", width=2), name="best so far"))
    fig.update_xaxes(type="log", title="trainable parameters (log)")
    fig.update_yaxes(type="log", title="test error (MSE per pixel)")
    fig.update_layout(**_LAYOUT, height=height, title="Best test error per parameter budget")
    return fig


# -- predicted vs measured ------------------------------------------------------------------------
@dataclass(frozen=True)
class Answers:
    question: str  # question id
    text: str  # the question
    options: dict[str, str]  # answer key -> text
    shared: int  # runs shared with this question
    predicted: Counter  # answer key -> how many runs carried it as their prediction
    measured: Counter  # answer key -> how many runs measured it
    right: int  # runs whose prediction matched their own measurement
    committed: int  # runs with both a prediction and a measurement


def answers(runs: list[SharedRun]) -> list[Answers]:
    """Every predict-first question of the pages (aelab/questions.py, in its order, then ids only old runs carry):
    what the class predicted and what its runs measured."""
    asked = {r.draft.question for r in runs if r.draft.question}
    out = []
    for qid in [*questions.QUESTIONS, *sorted(asked - set(questions.QUESTIONS))]:
        mine = [r.draft for r in runs if r.draft.question == qid]
        q = question(qid)
        both = [d for d in mine if d.prediction and d.measured]
        out.append(Answers(qid, q.text.replace("*", ""), dict(q.options), len(mine),
                           Counter(d.prediction for d in mine if d.prediction),
                           Counter(d.measured for d in mine if d.measured),
                           sum(d.prediction == d.measured for d in both), len(both)))
    return out


def _tops(counts: Counter) -> list[str]:
    k = max(counts.values())
    return [key for key, n in counts.items() if n == k]


def _quoted(keys: list[str], options: dict[str, str]) -> str:
    return " and ".join(f"\"{options.get(key, key)}\"" for key in keys)


def _most_often(counts: Counter, options: dict[str, str]) -> str:
    """'all 3: "A"', 'most often "A" (5)', or every answer that ties for the most: 'most often "A" and "B" (5 each)'."""
    tops, total = _tops(counts), sum(counts.values())
    if total == 1:
        return _quoted(tops, options)
    if len(counts) == 1:
        return f"all {total}: {_quoted(tops, options)}"
    k = counts[tops[0]]
    return f"most often {_quoted(tops, options)} ({k}{' each' if len(tops) > 1 else ''})"


def answers_verdict(a: Answers) -> str:
    """What the class predicted and measured for one question, computed from the counts (a branch per outcome)."""
    if not a.shared:
        return "No shared run answers this yet."
    n_pred, n_meas = sum(a.predicted.values()), sum(a.measured.values())
    runs = f"{a.shared} run{'s' if a.shared != 1 else ''} shared"
    parts = [f"{runs}."]
    if n_pred:
        parts.append(f"Predicted: {_most_often(a.predicted, a.options)}.")
    else:
        parts.append("None carried a prediction (not committed, or skipped in classroom mode).")
    if n_meas:
        parts.append(f"Measured: {_most_often(a.measured, a.options)}.")
    unsettled = a.shared - n_meas
    if unsettled:
        parts.append(f"{unsettled} run{'s' if unsettled != 1 else ''} did not settle it clearly.")
    if n_pred and n_meas:
        said, found = set(_tops(a.predicted)), set(_tops(a.measured))
        if said == found:
            parts.append("The class's most common prediction is what its runs measured most often.")
        elif said & found:
            parts.append(f"The most common predictions and measurements share only "
                         f"{_quoted(sorted(said & found), a.options)}.")
        else:
            parts.append(f"Most predicted {_quoted(sorted(said), a.options)}, but the runs measured "
                         f"{_quoted(sorted(found), a.options)} most often.")
    if a.committed:
        who = f"{a.committed} who committed an answer measured what they predicted."
        if a.committed == 1:
            parts.append("The one run with both a prediction and a measurement "
                         f"{'measured what it predicted' if a.right else 'measured something else'}.")
        else:
            parts.append(f"All {who}" if a.right == a.committed else f"None of the {who}" if a.right == 0 else
                         f"{a.right} of {who}")
    return " ".join(parts)


def unanswered_text(found: list[Answers]) -> str:
    """The questions no shared run answers yet, by page ("" when every one has answers)."""
    pages = [page_name(a.question) for a in found if not a.shared]  # a page's Draft.kind is its question's id
    if not pages:
        return ""
    return f"No shared run answers the question of {', '.join(pages)} yet: run those pages and share."


def answers_figure(a: Answers, height: int = 320) -> go.Figure:
    """Predicted vs measured counts per answer: grouped horizontal bars, the answers written out on the left."""
    keys = list(a.options) + sorted((set(a.predicted) | set(a.measured)) - set(a.options))
    names = ["<br>".join(textwrap.wrap(label(a.options.get(k, k)), 40)) for k in keys]
    fig = go.Figure([go.Bar(y=names, x=[a.predicted.get(k, 0) for k in keys], name="predicted", orientation="h",
                            marker_color=PALETTE[0]),
                     go.Bar(y=names, x=[a.measured.get(k, 0) for k in keys], name="measured", orientation="h",
                            marker_color=PALETTE[1])])
    fig.update_layout(**_LAYOUT, height=height, barmode="group", title="<br>".join(textwrap.wrap(label(a.text), 70)))
    fig.update_xaxes(title="runs", dtick=1)
    fig.update_yaxes(autorange="reversed")  # the answers in their order, top to bottom
    return fig


# -- the spotlight --------------------------------------------------------------------------------
def spotlight_line(run: SharedRun) -> str:
    """Where the run comes from, as plain text: page, architecture, data set, what its errors measure."""
    d = run.draft
    more = f" (+{len(d.points)} more model{'s' if len(d.points) != 1 else ''})" if d.points else ""
    return (f"{page_name(d.kind)}: {d.summary}{more} on {dataset_name(d.dataset)}; errors on "
            f"{TASKS.get(d.task, d.task)}")


def spotlight_facts(run: SharedRun) -> list[tuple[str, str]]:
    """(label, value) pairs for the big screen; values are plain text built from numbers and keys."""
    d = run.draft
    facts = [("code size", str(d.code_size)), ("parameters", f"{d.params:,}"), ("epochs", str(d.epochs))]
    if d.train_error is not None:
        facts.append(("train error", f"{d.train_error:.4f}"))
    if d.test_error is not None:
        facts.append(("test error", f"{d.test_error:.4f}"))
    if d.train_error and d.test_error is not None:
        facts.append(("gap (test ÷ train)", f"{d.test_error / d.train_error:.2f}×"))
    facts.append(("training time", f"{d.seconds:.1f} s"))
    return facts
