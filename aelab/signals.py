"""Not only images: generated multichannel sensor windows with labelled glitches, and uploaded CSV tables.

Both become a data.DataBundle (rows of numbers in [0, 1], image_shape None), so the same ArchSpec,
train.fit and analysis functions that work on digits work here unchanged.
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from aelab import analysis, limits, text
from aelab.colors import NEUTRAL, PALETTE
from aelab.figures import LEGEND_BELOW
from aelab.data import DataBundle
from aelab.limits import SIGNAL_SCORES as SCORES  # noqa: F401 - re-exported: how a window becomes one score
from aelab.runs import Run
from aelab.settings import SIGNAL_MODELS, SIGNALS
from aelab.spec import ArchSpec, Check, TrainConfig, check_model

NAME = "signals"  # DataBundle.name of the generated set
CLASS_NAMES = ("normal", "glitch")  # label 0 and label 1 of the test windows
GLITCH_KINDS = ("spike", "flat-line", "drift")
CENTER, SCALE = 0.5, 0.4  # value = CENTER + SCALE * (sine + noise), clipped to [0, 1]; |sine| <= 1 fits inside
CHANNEL_COLORS = PALETTE[:6]
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10))


@dataclass(frozen=True)
class SignalConfig:
    n_train: int = 3000  # normal windows to train on
    n_test: int = 400  # held-out windows; a share of them get one glitch each
    channels: int = SIGNALS.dataclass_default("channels")  # sensors recorded together (they share one frequency)
    length: int = 64  # time steps per window
    glitch_fraction: float = 0.25  # share of the held-out windows with an injected glitch
    noise: float = SIGNALS.dataclass_default("noise")  # std of the sensor noise, relative to the sines' largest (1)
    min_cycles: float = 1.0  # slowest signal: sine periods per window
    max_cycles: float = 3.0  # fastest signal
    seed: int = 0  # same seed = same windows and the same glitches

    @property
    def input_dim(self) -> int:
        return self.channels * self.length


@dataclass(frozen=True)
class Glitch:
    index: int  # row in x_test
    kind: str  # one of GLITCH_KINDS
    channel: int  # the sensor it hit
    start: int  # first time step changed
    stop: int  # one past the last time step changed


@dataclass(frozen=True)
class SignalSet:
    bundle: DataBundle  # x_train: normal windows; x_test: normal + glitched windows, y_test 1 = glitch
    clean_test: torch.Tensor  # (M, C*L) the held-out windows before the glitches were injected
    glitches: tuple[Glitch, ...]  # where every glitch is, one per glitched window
    cfg: SignalConfig  # how they were made

    def kind_of(self) -> np.ndarray:
        """(M,) glitch kind of each held-out window ('normal' for clean ones)."""
        kinds = np.array(["normal"] * len(self.clean_test), dtype=object)
        for g in self.glitches:
            kinds[g.index] = g.kind
        return kinds


# -- generating the signals -------------------------------------------------------------------------
def _windows(rng: np.random.Generator, n: int, cfg: SignalConfig) -> np.ndarray:
    """n windows of `channels` noisy sines that share one frequency: (n, C, L) values in [0, 1]."""
    t = np.arange(cfg.length) / cfg.length  # (L,) time in windows
    freq = rng.uniform(cfg.min_cycles, cfg.max_cycles, size=(n, 1, 1))  # cycles per window, shared by all channels
    amp = rng.uniform(0.4, 1.0, size=(n, cfg.channels, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, cfg.channels, 1))
    wave = amp * np.sin(2 * np.pi * freq * t + phase)  # (n, C, L)
    wave += cfg.noise * rng.standard_normal(wave.shape)
    return np.clip(CENTER + SCALE * wave, 0.0, 1.0)


def _inject(rng: np.random.Generator, w: np.ndarray, kind: str, index: int, length: int) -> Glitch:
    """Change one channel of window w (C, L) in place; return where."""
    c = int(rng.integers(w.shape[0]))
    row = w[c]  # (L,) a view: edits land in w
    if kind == "spike":  # 1-3 samples pushed towards the far rail, never clipped (a loose contact, a surge)
        start = int(rng.integers(0, length - 3))
        stop = start + int(rng.integers(1, 4))
        for i in range(start, stop):
            toward = 1.0 if row[i] < CENTER else -1.0
            row[i] = np.clip(row[i] + toward * rng.uniform(0.35, 0.5), 0.0, 1.0)
    elif kind == "flat-line":  # the sensor freezes at its last reading
        span = int(rng.integers(length // 4, length // 2 + 1))
        start = int(rng.integers(1, length - span + 1))
        stop = start + span
        row[start:stop] = row[start - 1]
    else:  # drift: a slowly growing offset until the end of the window (calibration creeping away)
        start = int(rng.integers(0, length // 2))
        stop = length
        end = rng.uniform(0.25, 0.4) * (1.0 if row[start:].mean() < CENTER else -1.0)
        ramp = np.linspace(0.0, end, stop - start + 1)[1:]  # (stop - start,), nonzero at every step
        row[start:stop] = np.clip(row[start:stop] + ramp, 0.0, 1.0)
    return Glitch(index, kind, c, start, stop)


def flatten(w: np.ndarray) -> torch.Tensor:
    """(N, C, L) -> (N, C*L) float32, channel after channel (the layout every model here sees)."""
    return torch.from_numpy(np.ascontiguousarray(w.reshape(len(w), -1), dtype=np.float32))


def as_channels(x: torch.Tensor | np.ndarray, channels: int) -> np.ndarray:
    """(N, C*L) -> (N, C, L) numpy, the inverse of `flatten`."""
    arr = np.asarray(x)
    return arr.reshape(len(arr), channels, -1)


def make_signals(cfg: SignalConfig = SignalConfig()) -> SignalSet:
    """Normal training windows, and held-out windows of which `glitch_fraction` carry one glitch each."""
    rng = np.random.default_rng(cfg.seed)
    train = _windows(rng, cfg.n_train, cfg)  # (n_train, C, L)
    clean = _windows(rng, cfg.n_test, cfg)  # (n_test, C, L)
    test = clean.copy()
    n_bad = int(round(cfg.n_test * cfg.glitch_fraction))
    bad = np.sort(rng.choice(cfg.n_test, size=n_bad, replace=False))
    kinds = [GLITCH_KINDS[i % len(GLITCH_KINDS)] for i in range(n_bad)]  # equal shares of the three kinds
    rng.shuffle(kinds)
    glitches = tuple(_inject(rng, test[i], kind, int(i), cfg.length) for i, kind in zip(bad, kinds))
    y_test = np.zeros(cfg.n_test, dtype=np.int64)
    y_test[bad] = 1
    bundle = DataBundle(NAME, flatten(train), torch.zeros(cfg.n_train, dtype=torch.int64), flatten(test),
                        torch.from_numpy(y_test), None, CLASS_NAMES)
    return SignalSet(bundle, flatten(clean), glitches, cfg)


def signal_spec(input_dim: int, encoder: tuple[int, ...] = SIGNALS["cfg_sig_hidden"].default,
                bottleneck: int = SIGNALS["cfg_sig_bottleneck"].default) -> ArchSpec:
    """The lab's default network for windows: ReLU hidden layers, sigmoid output (values live in [0, 1])."""
    return ArchSpec(input_dim, encoder=encoder, bottleneck=bottleneck, activation="relu", output="sigmoid")


DEFAULT_TRAIN = TrainConfig(loss="mse", optimizer="adam", lr=SIGNALS["cfg_sig_lr"].default, batch_size=64,
                            epochs=SIGNALS["cfg_sig_epochs"].default)  # the page's defaults; measured: AUC > 0.95


def model_from_values(values: dict, tab: str, input_dim: int,
                      n_rows: int | None = None) -> tuple[tuple[ArchSpec, TrainConfig] | None, Check]:
    """A tab's model settings (session key -> value, see settings.SIGNAL_MODELS) -> (ArchSpec, TrainConfig), with
    every message about them (with `n_rows`, the training rows, also the compute budget)."""
    hidden, bottleneck, epochs, lr = (values.get(k) for k in SIGNAL_MODELS[tab])
    spec = signal_spec(input_dim, hidden, bottleneck)
    cfg = TrainConfig(loss="mse", optimizer="adam", lr=lr, batch_size=DEFAULT_TRAIN.batch_size, epochs=epochs)
    check = check_model(spec, cfg, n_rows)
    return ((spec, cfg) if check.ok else None), check


@dataclass
class LabRun:
    """A trained Run together with what it was trained on (a SignalConfig or a CsvData): a job's result."""

    run: Run  # the trained model, its settings and curves
    source: object  # SignalConfig of the generated windows, or the CsvData of the table

    @property
    def status(self) -> str:  # read by jobs.Job to report how the job ended
        return self.run.status

    @property
    def message(self) -> str:
        return self.run.message


def examples(s: SignalSet) -> tuple[list[int], list[str], list[tuple[int, int, int] | None]]:
    """Held-out windows worth plotting: the first normal one and the first of each glitch kind."""
    idx, titles, spans = [], [], []
    normal = np.flatnonzero(s.bundle.y_test.numpy() == 0)
    if len(normal):
        idx.append(int(normal[0]))
        titles.append(f"window {int(normal[0])}: normal")
        spans.append(None)
    for kind in GLITCH_KINDS:
        g = next((g for g in s.glitches if g.kind == kind), None)
        if g is not None:
            idx.append(g.index)
            titles.append(f"window {g.index}: {kind} on channel {g.channel + 1}, steps {g.start}-{g.stop - 1}")
            spans.append((g.channel, g.start, g.stop))
    return idx, titles, spans


# -- anomaly scores ---------------------------------------------------------------------------------


def scores(x: torch.Tensor, recon: torch.Tensor, how: str = "mean") -> np.ndarray:
    """Anomaly score per window: (N, D), (N, D) -> (N,). 'max' catches short glitches that 'mean' dilutes."""
    if how == "mean":
        return analysis.per_sample_error(x, recon)
    return ((x - recon) ** 2).max(dim=1).values.numpy()  # (N, D) -> (N,)


@dataclass(frozen=True)
class Detection:
    auc: float  # area under the ROC curve, all glitches against all normal windows
    auc_by_kind: dict  # glitch kind -> AUC of that kind against the normal windows
    fpr: np.ndarray  # ROC curve x: share of normal windows flagged
    tpr: np.ndarray  # ROC curve y: share of glitches flagged
    threshold: float  # flag a window when its score is above this (a high percentile of training scores)
    percentile: float  # which percentile of the training scores the threshold is
    caught: int  # glitched windows above the threshold
    n_glitch: int  # glitched windows in the test set
    false_alarms: int  # normal windows above the threshold
    n_normal: int  # normal windows in the test set


def detect(test_scores: np.ndarray, y_test: np.ndarray, kinds: np.ndarray, train_scores: np.ndarray,
           percentile: float = 99.0) -> Detection:
    """ROC AUC overall and per glitch kind, and the counts at a threshold set from the training scores."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.asarray(y_test).astype(int)
    fpr, tpr, _ = roc_curve(y, test_scores)
    by_kind = {}
    for kind in GLITCH_KINDS:
        keep = (kinds == kind) | (y == 0)
        if (kinds == kind).any() and (y == 0).any():
            by_kind[kind] = float(roc_auc_score(y[keep], test_scores[keep]))
    threshold = float(np.percentile(train_scores, percentile))
    flagged = test_scores > threshold
    return Detection(float(roc_auc_score(y, test_scores)), by_kind, fpr, tpr, threshold, percentile,
                     int((flagged & (y == 1)).sum()), int((y == 1).sum()), int((flagged & (y == 0)).sum()),
                     int((y == 0).sum()))


SAME_AUC = 0.01  # per-kind AUCs this close count as equally easy


def measured_answer(d: Detection) -> str | None:
    """The glitch kind hardest to spot (lowest AUC), or "equal" when all are within SAME_AUC (the Signals page
    question's options); None without per-kind AUCs."""
    if not d.auc_by_kind:
        return None
    worst, best = min(d.auc_by_kind, key=d.auc_by_kind.get), max(d.auc_by_kind, key=d.auc_by_kind.get)
    return "equal" if d.auc_by_kind[best] - d.auc_by_kind[worst] < SAME_AUC else worst


def explain_detection(d: Detection, how: str) -> list[str]:
    """Sentences built from the measured detection numbers."""
    lines = [f"Scored by {SCORES[how].lower()}, glitched windows rank {'above' if d.auc >= 0.5 else 'below'} normal "
             f"ones with ROC AUC {d.auc:.3f} (1.0 = every glitch scores above every normal window, 0.5 = a coin "
             "flip)."]
    if d.auc_by_kind:
        best = max(d.auc_by_kind, key=d.auc_by_kind.get)
        worst = min(d.auc_by_kind, key=d.auc_by_kind.get)
        parts = ", ".join(f"{k} {v:.3f}" for k, v in d.auc_by_kind.items())
        if measured_answer(d) == "equal":
            lines.append(f"By kind: {parts}: all kinds are about equally easy to spot.")
        else:
            lines.append(f"By kind: {parts}. {best.capitalize()} glitches are the easiest to spot, "
                         f"{worst} glitches the hardest.")
    lines.append(f"With the threshold at the {d.percentile:g}th percentile of the training windows' scores "
                 f"({d.threshold:.2e}), {d.caught} of {d.n_glitch} glitches are caught "
                 f"({d.caught / max(d.n_glitch, 1):.0%}) and {d.false_alarms} of {d.n_normal} normal windows "
                 "are false alarms. No labels were used to train: the model only ever saw normal windows.")
    return lines


# -- figures -----------------------------------------------------------------------------------------
def signals_figure(x: np.ndarray, recon: np.ndarray | None, channels: int, titles: list[str],
                   spans: list[tuple[int, int, int] | None] | None = None, height_per_row: int = 150) -> go.Figure:
    """One subplot per window: every channel as a line (solid: original, dashed: reconstruction).

    `spans` marks (channel, start, stop) of a glitch with a shaded band, or None for a normal window.
    """
    xs = as_channels(x, channels)  # (n, C*L) -> (n, C, L)
    rs = as_channels(recon, channels) if recon is not None else None
    n = len(xs)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, subplot_titles=titles, vertical_spacing=0.3 / max(n, 1))
    for i in range(n):
        for c in range(channels):
            color = CHANNEL_COLORS[c % len(CHANNEL_COLORS)]
            fig.add_trace(go.Scatter(y=xs[i, c], mode="lines", line=dict(color=color, width=1.6),
                                     name=f"channel {c + 1}", legendgroup=f"c{c}", showlegend=i == 0),
                          row=i + 1, col=1)
            if rs is not None:
                fig.add_trace(go.Scatter(y=rs[i, c], mode="lines", line=dict(color=color, width=1.6, dash="dot"),
                                         name=f"channel {c + 1} reconstructed", legendgroup=f"c{c}",
                                         showlegend=i == 0), row=i + 1, col=1)
        if spans and spans[i] is not None:
            _, start, stop = spans[i]
            fig.add_vrect(x0=start - 0.5, x1=stop - 0.5, fillcolor=PALETTE[3], opacity=0.15, line_width=0,
                          row=i + 1, col=1)
    fig.update_layout(**{**_LAYOUT, "margin": dict(l=10, r=10, t=40, b=70)}, height=110 + height_per_row * n,
                      legend=LEGEND_BELOW)
    fig.update_yaxes(range=[-0.05, 1.05])
    fig.update_xaxes(title="time step", row=n, col=1)
    return fig


def histogram_figure(test_scores: np.ndarray, y_test: np.ndarray, threshold: float | None = None,
                     names: tuple[str, str] = CLASS_NAMES, height: int = 320) -> go.Figure:
    """Overlaid histograms of the anomaly score for normal (0) and glitched (1) windows, log-x bins."""
    fig = go.Figure()
    logs = np.log10(np.clip(test_scores, 1e-12, None))
    bins = dict(start=float(logs.min()), end=float(logs.max()) + 1e-9, size=(float(np.ptp(logs)) or 1.0) / 40)
    for label, color in ((0, PALETTE[0]), (1, PALETTE[3])):
        m = np.asarray(y_test) == label
        fig.add_trace(go.Histogram(x=logs[m], xbins=bins, name=f"{names[label]} ({int(m.sum())})",
                                   marker_color=color, opacity=0.6))
    if threshold is not None and threshold > 0:
        fig.add_vline(x=math.log10(threshold), line_dash="dash", line_color="#333",
                      annotation_text="threshold", annotation_position="top")
    fig.update_layout(**_LAYOUT, barmode="overlay", height=height, title="Anomaly score of held-out windows")
    fig.update_xaxes(title="log10(score)")
    fig.update_yaxes(title="windows")
    return fig


def roc_figure(fpr: np.ndarray, tpr: np.ndarray, auc: float, height: int = 320) -> go.Figure:
    """ROC curve with the diagonal a random score would give."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random (AUC 0.5)",
                             line=dict(color=NEUTRAL, dash="dash")))
    fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"autoencoder (AUC {auc:.3f})",
                             line=dict(color=PALETTE[3], width=2.5)))
    fig.update_layout(**_LAYOUT, height=height, title="ROC curve",
                      legend=LEGEND_BELOW)
    fig.update_xaxes(title="false alarms (share of normal windows flagged)", range=[0, 1])
    fig.update_yaxes(title="glitches caught", range=[0, 1.02])
    return fig


# -- uploaded CSV tables -----------------------------------------------------------------------------
MAX_BYTES = limits.CSV_BYTES  # larger uploads are refused (the uploader's limit, limits.CSV_MB)
MAX_ROWS = 20_000  # data rows
MAX_COLUMNS = 500
MIN_ROWS = 20  # fewer leaves too little to train on and hold out
MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-", "--", "#n/a"}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


class CsvError(ValueError):
    """A learner-facing message saying what is wrong with the file and what to change."""


@dataclass(frozen=True)
class MinMaxScaler:
    low: np.ndarray  # (D,) smallest value of each column
    high: np.ndarray  # (D,) largest value of each column (always > low: constant columns are dropped)

    @classmethod
    def fit(cls, values: np.ndarray) -> "MinMaxScaler":
        return cls(values.min(axis=0), values.max(axis=0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Original units -> [0, 1] per column: (N, D) -> (N, D)."""
        return (values - self.low) / (self.high - self.low)

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        """[0, 1] -> original units: (N, D) -> (N, D)."""
        return scaled * (self.high - self.low) + self.low


@dataclass(frozen=True)
class CsvData:
    bundle: DataBundle  # scaled rows, split into train/test; labels all 0 (a table has none)
    scaler: MinMaxScaler  # maps the bundle's [0, 1] values back to the file's units
    columns: tuple[str, ...]  # names of the kept columns, in file order
    values: np.ndarray  # (R, D) kept rows in the file's units
    notes: tuple[str, ...]  # what was dropped or changed on the way, one sentence each
    file_name: str  # the uploaded file's name


def _decode(raw: bytes) -> tuple[str, list[str]]:
    """Bytes -> text, with the size and encoding checks."""
    if len(raw) > MAX_BYTES:
        raise CsvError(f"The file is {len(raw) / 1e6:.1f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB. "
                       f"Upload fewer rows (at most {MAX_ROWS:,}) or fewer columns.")
    if not raw.strip():
        raise CsvError("The file is empty. Upload a CSV with a header line and at least "
                       f"{MIN_ROWS} rows of numbers.")
    if b"\x00" in raw[:8192]:
        raise CsvError("This looks like a binary file (or UTF-16 text), not a CSV. Save it as 'CSV UTF-8' "
                       "(comma-separated text) and upload that.")
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return raw.decode("latin-1"), ["The file is not UTF-8 text; it was read as Latin-1 (Western European). "
                                       "Column names with accents may look odd."]


def _rows(text: str) -> tuple[list[list[str]], str]:
    """Split text into rows of cells, guessing the delimiter among , ; tab |; blank lines are skipped."""
    sample = text[:16384]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise CsvError(f"The file could not be read as CSV ({exc}). Check for unmatched quotes.") from None
    return rows, dialect.delimiter


def _number(cell: str, decimal_comma: bool = False) -> float | None:
    """A cell as a finite float, None when missing or not a number.

    With `decimal_comma` (files not delimited by commas, as European spreadsheets save them) 1,5 means 1.5.
    """
    cell = cell.strip()
    if cell.lower() in MISSING:
        return None
    text = cell.replace(",", ".") if decimal_comma and _DECIMAL_COMMA.match(cell) else cell
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _clean_name(name: str, j: int) -> str:
    text = "".join(ch for ch in name.strip() if ch.isprintable())[:40]
    return text or f"column {j + 1}"


def _header(rows: list[list[str]], decimal_comma: bool) -> tuple[list[str], list[list[str]]]:
    """Column names and data rows: the first row is a header unless every cell in it is a number."""
    first = rows[0]
    if all(_number(c, decimal_comma) is not None for c in first):
        return [f"column {j + 1}" for j in range(len(first))], rows
    names, seen = [], {}
    for j, c in enumerate(first):
        name = _clean_name(c, j)
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names, rows[1:]


def _quote(name: str) -> str:
    return f"'{name}'"


def _columns(names: list[str], body: list[list[str]], first_line: int,
             decimal_comma: bool) -> tuple[np.ndarray, list[str], list[str]]:
    """Parse cells column by column: (R, D) floats (NaN = missing), the kept names, and notes.

    `first_line` is the file's line number of body[0] (2 below a header), used in the messages.
    """
    notes, keep, cols = [], [], []
    non_numeric, empty = [], []
    for j, name in enumerate(names):
        cells = [row[j] for row in body]
        parsed = [_number(c, decimal_comma) for c in cells]
        present = [c for c in cells if c.strip().lower() not in MISSING]
        bad = [(i, c) for i, (c, v) in enumerate(zip(cells, parsed)) if v is None and c.strip().lower() not in MISSING]
        if not present:
            empty.append(name)
        elif len(bad) > len(present) / 2:
            i, c = bad[0]
            non_numeric.append(f"{_quote(name)} (row {i + first_line}: '{c.strip()[:20]}')")
        else:
            if bad:
                i, c = bad[0]
                notes.append(f"Column {_quote(name)} has {len(bad)} cell(s) that are not finite numbers "
                             f"(row {i + first_line}: '{c.strip()[:20]}'); they count as missing values.")
            keep.append(name)
            cols.append([np.nan if v is None else v for v in parsed])
    if non_numeric:
        notes.insert(0, f"Dropped {len(non_numeric)} non-numeric column(s): {', '.join(non_numeric)}. "
                        "An autoencoder needs numbers; encode categories as numbers if you want to keep them.")
    if empty:
        notes.insert(0, f"Dropped {len(empty)} empty column(s): {', '.join(map(_quote, empty))}.")
    values = np.array(cols, dtype=np.float64).T if cols else np.zeros((len(body), 0))  # (D, R) -> (R, D)
    return values, keep, notes


def _drop_missing(values: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Remove rows with a missing value; say how many and where most were."""
    missing = np.isnan(values)  # (R, D)
    bad_rows = missing.any(axis=1)
    if not bad_rows.any():
        return values, []
    per_col = missing.sum(axis=0)
    worst = int(per_col.argmax())
    kept = values[~bad_rows]
    if len(kept) < MIN_ROWS:
        raise CsvError(f"{int(bad_rows.sum())} of {len(values)} rows have missing values, leaving only "
                       f"{len(kept)} complete rows (at least {MIN_ROWS} are needed). Column "
                       f"{_quote(names[worst])} is missing {int(per_col[worst])} values: fill the gaps or remove "
                       "that column.")
    return kept, [f"Dropped {int(bad_rows.sum())} of {len(values)} rows with missing values (most are in "
                  f"{_quote(names[worst])}: {int(per_col[worst])})."]


def read_csv(raw: bytes, file_name: str = "upload.csv", test_fraction: float = 0.2, seed: int = 0) -> CsvData:
    """Validate an uploaded CSV and turn it into a DataBundle in [0, 1]; raise CsvError saying what to fix.

    Dropped with a note: non-numeric, empty and constant columns, rows with missing values.
    Refused: empty, too big, too many rows or columns, ragged rows, fewer than 2 usable columns
    or MIN_ROWS usable rows.
    """
    text, notes = _decode(raw)
    rows, delimiter = _rows(text)
    if not rows:
        raise CsvError("The file has no rows. Upload a CSV with a header line and rows of numbers.")
    decimal_comma = delimiter != ","
    names, body = _header(rows, decimal_comma)
    if len(names) > MAX_COLUMNS:
        raise CsvError(f"The file has {len(names):,} columns; the limit is {MAX_COLUMNS}. Keep fewer columns.")
    first_line = 2 if body is not rows else 1
    for i, row in enumerate(body):
        if len(row) != len(names):
            line = i + first_line
            raise CsvError(f"Row {line} has {len(row)} values but the file has {len(names)} columns. Every row "
                           "needs one value per column (leave a cell empty, not out).")
    if len(body) > MAX_ROWS:
        raise CsvError(f"The file has {len(body):,} rows; the limit is {MAX_ROWS:,}. Upload a sample of the rows.")
    if len(body) < MIN_ROWS:
        raise CsvError(f"The file has only {len(body)} data rows; at least {MIN_ROWS} are needed (a fifth is "
                       "held out to test the model).")
    values, kept, col_notes = _columns(names, body, first_line, decimal_comma)
    notes += col_notes
    if values.shape[1] == 0:
        raise CsvError("No column holds numbers. " + " ".join(col_notes))
    values, miss_notes = _drop_missing(values, kept)
    notes += miss_notes
    low, high = values.min(axis=0), values.max(axis=0)
    constant = [j for j in range(len(kept)) if high[j] == low[j]]
    if constant:
        shown = ", ".join(f"{_quote(kept[j])} (always {low[j]:g})" for j in constant)
        notes.append(f"Dropped {len(constant)} constant column(s): {shown}. A column that never changes carries "
                     "no information, and scaling it to [0, 1] would divide by zero.")
        keep_idx = [j for j in range(len(kept)) if j not in constant]
        values, kept = values[:, keep_idx], [kept[j] for j in keep_idx]
    if len(kept) < 2:
        found = f"only {_quote(kept[0])}" if kept else "none"
        raise CsvError(f"An autoencoder needs at least 2 usable numeric columns to compress; this file has {found}. "
                       + " ".join(notes))
    scaler = MinMaxScaler.fit(values)
    scaled = torch.from_numpy(scaler.transform(values).astype(np.float32))  # (R, D) in [0, 1]
    perm = torch.randperm(len(scaled), generator=torch.Generator().manual_seed(seed))
    n_test = max(1, int(round(len(scaled) * test_fraction)))
    test, train = perm[:n_test], perm[n_test:]
    zeros = torch.zeros(len(scaled), dtype=torch.int64)
    bundle = DataBundle(f"csv:{file_name}", scaled[train], zeros[train], scaled[test], zeros[test], None, ("row",))
    return CsvData(bundle, scaler, tuple(kept), values, tuple(notes), file_name)


def column_errors(x: torch.Tensor, recon: torch.Tensor) -> np.ndarray:
    """Mean squared error of each column over the rows, in [0, 1] units: (N, D), (N, D) -> (D,)."""
    return ((x - recon) ** 2).mean(dim=0).numpy()


def explain_columns(names: tuple[str, ...], col_mse: np.ndarray, scaler: MinMaxScaler) -> list[str]:
    """Which columns the model rebuilds best and worst, in the file's units."""
    rmse = np.sqrt(col_mse)  # share of each column's range
    worst, best = int(rmse.argmax()), int(rmse.argmin())
    units = rmse * (scaler.high - scaler.low)
    lines = [f"Hardest to rebuild: {_quote(names[worst])}, typically off by {units[worst]:.3g} "
             f"({rmse[worst]:.1%} of its range). Easiest: {_quote(names[best])}, off by {units[best]:.3g} "
             f"({rmse[best]:.1%} of its range)."]
    if rmse[worst] > 3 * max(rmse[best], 1e-12):
        lines.append("A column the others cannot predict has to squeeze through the code on its own; with a "
                     "small code it is the first to be given up. Try a larger bottleneck or more epochs and watch "
                     "its bar.")
    return lines


def column_error_figure(names: tuple[str, ...], col_mse: np.ndarray, height: int = 320) -> go.Figure:
    """Root-mean-squared error per column as a share of the column's range (bars)."""
    rmse = np.sqrt(col_mse)
    fig = go.Figure(go.Bar(x=[text.label(n) for n in names], y=rmse, marker_color=PALETTE[0],
                           hovertemplate="%{x}: %{y:.1%} of its range<extra></extra>"))
    fig.update_layout(**_LAYOUT, height=height, title="Reconstruction error per column (held-out rows)")
    fig.update_yaxes(title="RMSE / column range", tickformat=".0%")
    return fig


def sample_csv() -> bytes:
    """A small real table to try the CSV path with: scikit-learn's wine measurements (178 rows, 13 columns)."""
    from sklearn.datasets import load_wine

    raw = load_wine()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(raw.feature_names)
    writer.writerows([[f"{v:g}" for v in row] for row in raw.data])
    return out.getvalue().encode("utf-8")


def worst_rows(table: CsvData, recon: torch.Tensor, n: int = 5) -> list[dict]:
    """The n held-out rows rebuilt worst, in the file's units, with their error (for a table on the page)."""
    x = table.bundle.x_test  # (M, D) in [0, 1]
    err = analysis.per_sample_error(x, recon)  # (M,)
    order = np.argsort(-err)[:n]
    original = table.scaler.inverse(x[order].double().numpy())  # (n, D) in file units
    return [{"error (MSE, scaled)": float(err[i]), **{c: float(v) for c, v in zip(table.columns, row)}}
            for i, row in zip(order, original)]
