"""A trained Run as one file: export (checkpoint, runnable PyTorch code, history CSV) and safe import.

Checkpoint format "aelab-checkpoint", version 1: a `torch.save` file (zip archive) holding one
plain dict with these keys:

    format      "aelab-checkpoint"
    version     1
    aelab_version  the aelab version that wrote the file (informational)
    spec        the ArchSpec: {"input_dim": int, "encoder": [int, ...], "bottleneck": int,
                "decoder": [int, ...] or None (mirror the encoder), "activation": str,
                "output": "sigmoid" | "none", "kind": "ae" | "vae"}
    config      the TrainConfig: {"loss", "optimizer", "lr", "batch_size", "epochs", "seed",
                "n_train" (int or None = all), "beta"}
    dataset     {"name": data-set key ("digits", "mnist", "fashion"), "input_dim": int}
    history     the loss curves, History.as_dict(): {"step_x", "train", "epoch_x", "test",
                "terms", "test_terms", "seconds"} (lists of numbers; terms: name -> list)
    run         {"status": "done" | "stopped" | "diverged", "message": str, "seconds": float}
    state_dict  {parameter name: float32 tensor}: exactly the names and shapes of
                aelab.model.Autoencoder(spec).state_dict(), e.g. "encoder.0.weight" (128, 784)

Only tensors, dicts, lists, str, int, float, bool and None appear, so the file loads with
`torch.load(f, weights_only=True)`, which refuses any pickle that would import or call code.
Plain PyTorch reads it too: `Autoencoder().load_state_dict(torch.load(f, weights_only=True)["state_dict"])`
with the class from `runnable_code`. Importing checks, in order: the size (at most 50 MB), that the
file is a zip archive whose unpacked size is bounded, the format and version, the spec (through
spec.check_arch), the training settings, the data set, every tensor name and shape against a freshly
built Autoencoder(spec), and that every weight is finite. Any failure raises CheckpointError.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
import pickle
import zipfile

import torch

import aelab
from aelab import data
from aelab.data import DataBundle
from aelab.model import Autoencoder, pytorch_code
from aelab.runs import Run
from aelab.spec import MAX_LAYERS, ArchSpec, TrainConfig, check_arch, check_train
from aelab.train import History

FORMAT = "aelab-checkpoint"
VERSION = 1
MAX_BYTES = 50 * 1024 * 1024  # largest checkpoint file accepted (a 20M-parameter model is ~80 MB: too big)
MAX_UNPACKED = 4 * MAX_BYTES  # largest total size of the archive's members once unpacked (zip-bomb guard)
MAX_MEMBERS = 10_000  # largest number of members in the archive
KNOWN_INPUT_DIMS = {data.DIGITS: 64, data.MNIST: 784, data.FASHION: 784}  # features per sample of each data set
STATUSES = ("done", "stopped", "diverged")
_HISTORY_LISTS = ("step_x", "train", "epoch_x", "test", "seconds")


class CheckpointError(ValueError):
    """A learner-facing reason why a file was refused."""


# -- export ------------------------------------------------------------------------------------
def _plain(value):
    """Tuples -> lists, recursively, so the file holds only the plain types named in the format."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def to_dict(run: Run) -> dict:
    """The checkpoint as a plain dict (see the module docstring for every key)."""
    state = {k: v.detach().to("cpu", torch.float32).clone().contiguous() for k, v in run.model.state_dict().items()}
    return {
        "format": FORMAT,
        "version": VERSION,
        "aelab_version": aelab.__version__,
        "spec": _plain(dataclasses.asdict(run.spec)),
        "config": _plain(dataclasses.asdict(run.cfg)),
        "dataset": {"name": run.dataset, "input_dim": run.spec.input_dim},
        "history": _plain(run.history.as_dict()),
        "run": {"status": run.status, "message": run.message, "seconds": float(run.seconds)},
        "state_dict": state,
    }


def to_bytes(run: Run) -> bytes:
    """The checkpoint file's bytes (what the Download button hands out)."""
    buf = io.BytesIO()
    torch.save(to_dict(run), buf)
    return buf.getvalue()


def file_stem(run: Run) -> str:
    """A file name without extension that says what the model is, e.g. 'aelab_digits_64-128-3-128-64'."""
    return f"aelab_{run.dataset}_{run.spec.describe()}"[:120]


def runnable_code(run: Run, file_name: str | None = None) -> str:
    """PyTorch source that rebuilds the architecture and loads the checkpoint's weights into it."""
    file_name = file_name or f"{file_stem(run)}.pt"
    lines = [
        "",
        "# Load the weights trained in aelab (download the checkpoint next to this script).",
        f"# Trained on {run.dataset} for {run.epochs_done} epochs with {run.cfg.loss.upper()} loss.",
        f'checkpoint = torch.load("{file_name}", weights_only=True, map_location="cpu")',
        'model.load_state_dict(checkpoint["state_dict"])',
        "model.eval()",
    ]
    if run.spec.kind == "vae":
        lines.append(f"recon, mu, logvar = model(torch.rand(2, {run.spec.input_dim}))")
    else:
        lines.append("with torch.no_grad():")
        d = run.spec.input_dim
        lines.append(f"    print(model(torch.rand(2, {d})).shape)  # torch.Size([2, {d}])")
    return pytorch_code(run.spec) + "\n".join(lines) + "\n"


def history_csv(history: History) -> str:
    """The loss curves as CSV: one row per logged point, split = train (per window) or test (per epoch)."""
    terms = sorted(set(history.terms) | set(history.test_terms))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["split", "epoch", "loss", *terms, "seconds"])
    for i, (x, y) in enumerate(zip(history.step_x, history.train)):
        writer.writerow(["train", x, y, *[_at(history.terms.get(t), i) for t in terms], ""])
    for i, (x, y) in enumerate(zip(history.epoch_x, history.test)):
        writer.writerow(["test", x, y, *[_at(history.test_terms.get(t), i) for t in terms],
                         _at(history.seconds, i)])
    return out.getvalue()


def _at(values: list | None, i: int):
    return values[i] if values is not None and i < len(values) else ""


# -- import ------------------------------------------------------------------------------------
def check_size(n_bytes: int) -> None:
    """Refuse empty files and files over MAX_BYTES (call before reading the upload)."""
    if n_bytes <= 0:
        raise CheckpointError("The file is empty.")
    if n_bytes > MAX_BYTES:
        raise CheckpointError(f"The file is {n_bytes / 2**20:.1f} MB; checkpoints of at most "
                              f"{MAX_BYTES // 2**20} MB are accepted.")


def _check_archive(blob: bytes) -> None:
    """torch.save writes a zip archive: refuse anything else, and archives that unpack too large."""
    if not zipfile.is_zipfile(io.BytesIO(blob)):
        raise CheckpointError("This is not a checkpoint saved by aelab or torch.save (it is not a zip archive); "
                              "it may be truncated, corrupt, or another kind of file.")
    try:
        members = zipfile.ZipFile(io.BytesIO(blob)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"The file is corrupt or truncated ({exc}).") from None
    if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED:
        raise CheckpointError("The archive unpacks to far more data than a checkpoint holds; it was refused.")


def _load(blob: bytes):
    """torch.load with weights_only=True: only tensors and plain containers, no code is run."""
    try:
        return torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        detail = str(exc)
        if "GLOBAL" in detail or "Unsupported" in detail or "not an allowed global" in detail:
            raise CheckpointError("The file contains Python objects or code, not only weights. It was refused "
                                  "without running anything; only checkpoints saved by aelab can be loaded.") from None
        raise CheckpointError("The file is corrupt or truncated (the archive could not be read).") from None
    except Exception as exc:  # noqa: BLE001 - zip/storage errors of every kind mean a damaged file
        raise CheckpointError(f"The file is corrupt or truncated ({type(exc).__name__}).") from None


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _widths(value, name: str) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not all(_is_int(w) for w in value):
        raise CheckpointError(f"The checkpoint's {name} widths must be a list of whole numbers.")
    if len(value) > MAX_LAYERS:
        raise CheckpointError(f"The checkpoint's {name} has {len(value)} hidden layers; "
                              f"at most {MAX_LAYERS} are allowed.")
    return tuple(value)


def _fields(raw, cls, what: str) -> dict:
    """The dict's keys must be fields of the dataclass `cls` (missing ones take their defaults)."""
    if not isinstance(raw, dict):
        raise CheckpointError(f"The checkpoint has no readable {what}.")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in raw if k not in names)
    if unknown:
        raise CheckpointError(f"The checkpoint's {what} has unknown fields ({', '.join(unknown)[:80]}): "
                              "it was written by another program or a newer aelab.")
    return dict(raw)


def spec_from(raw) -> ArchSpec:
    """Rebuild and validate the ArchSpec; bad values raise CheckpointError with the reason."""
    d = _fields(raw, ArchSpec, "architecture")
    for key in ("input_dim", "bottleneck"):
        if not _is_int(d.get(key)):
            raise CheckpointError(f"The checkpoint's architecture needs a whole-number {key}.")
    d["encoder"] = _widths(d.get("encoder", ()), "encoder")
    if d.get("decoder") is not None:
        d["decoder"] = _widths(d["decoder"], "decoder")
    for key in ("activation", "output", "kind"):
        if key in d and not isinstance(d[key], str):
            raise CheckpointError(f"The checkpoint's {key} must be a name such as 'relu'.")
    spec = ArchSpec(**d)
    check = check_arch(spec)
    if not check.ok:
        raise CheckpointError("The checkpoint's architecture is not valid: " + " ".join(map(str, check.errors)))
    return spec


def config_from(raw, spec: ArchSpec) -> TrainConfig:
    """Rebuild and validate the TrainConfig."""
    d = _fields(raw, TrainConfig, "training settings")
    types = {"loss": str, "optimizer": str, "lr": "num", "batch_size": "int", "epochs": "int", "seed": "int",
             "n_train": "int?", "beta": "num"}
    for key, kind in types.items():
        if key not in d:
            continue
        v = d[key]
        ok = (isinstance(v, str) if kind is str else _is_number(v) if kind == "num"
              else _is_int(v) or (kind == "int?" and v is None))
        if not ok:
            raise CheckpointError(f"The checkpoint's training setting '{key}' has a value of the wrong type.")
    cfg = TrainConfig(**d)
    check = check_train(cfg, spec)
    if not check.ok:
        raise CheckpointError("The checkpoint's training settings are not valid: " +
                              " ".join(map(str, check.errors)))
    return cfg


def history_from(raw) -> History:
    """Rebuild the loss curves; every entry must be a number and paired lists must have equal lengths."""
    if not isinstance(raw, dict):
        raise CheckpointError("The checkpoint's history is not readable.")
    lists = {}
    for key in _HISTORY_LISTS:
        v = raw.get(key, [])
        if not isinstance(v, list) or not all(_is_number(x) for x in v):
            raise CheckpointError(f"The checkpoint's history entry '{key}' must be a list of numbers.")
        lists[key] = [int(x) if key == "epoch_x" else float(x) for x in v]
    terms = {}
    for key in ("terms", "test_terms"):
        t = raw.get(key, {})
        if not isinstance(t, dict) or not all(isinstance(k, str) and isinstance(v, list) and
                                              all(_is_number(x) for x in v) for k, v in t.items()):
            raise CheckpointError(f"The checkpoint's history entry '{key}' must map names to lists of numbers.")
        terms[key] = {k: [float(x) for x in v] for k, v in t.items()}
    if len(lists["step_x"]) != len(lists["train"]) or len(lists["epoch_x"]) != len(lists["test"]):
        raise CheckpointError("The checkpoint's history is inconsistent (curves of different lengths).")
    return History(lists["step_x"], lists["train"], lists["epoch_x"], lists["test"], terms["terms"],
                   terms["test_terms"], lists["seconds"])


def check_dataset(name, input_dim, spec: ArchSpec, expected: DataBundle | None = None) -> str:
    """The data set must be one this lab knows, fit the model's input, and match `expected` if given."""
    if not isinstance(name, str) or name not in data.DATASETS:
        shown = name[:40] if isinstance(name, str) else type(name).__name__
        raise CheckpointError(f"The checkpoint was trained on '{shown}', which this lab cannot load "
                              f"(known data sets: {', '.join(data.DATASETS)}).")
    if not _is_int(input_dim) or input_dim != spec.input_dim:
        raise CheckpointError(f"The checkpoint says {name} has {input_dim} features, but its network takes "
                              f"{spec.input_dim}: the file is inconsistent.")
    known = KNOWN_INPUT_DIMS.get(name)
    if known is not None and known != spec.input_dim:
        raise CheckpointError(f"{data.DATASETS[name]} has {known} features per sample, but this network takes "
                              f"{spec.input_dim}.")
    if expected is not None:
        if expected.name != name:
            raise CheckpointError(f"This model was trained on {data.DATASETS[name]}, not on "
                                  f"{expected.label}: pick that data set, or load a checkpoint made for it.")
        if expected.input_dim != spec.input_dim:
            raise CheckpointError(f"{expected.label} has {expected.input_dim} features per sample, but this "
                                  f"network takes {spec.input_dim}.")
    return name


def model_from(state, spec: ArchSpec) -> Autoencoder:
    """Check every tensor's name, shape and values against Autoencoder(spec), then load it."""
    if not isinstance(state, dict) or not state:
        raise CheckpointError("The checkpoint holds no weights (state_dict).")
    model = Autoencoder(spec)
    wanted = model.state_dict()
    missing = [k for k in wanted if k not in state]
    extra = [str(k) for k in state if k not in wanted]
    if missing or extra:
        parts = ([f"missing {', '.join(missing[:3])}"] if missing else []) + \
                ([f"unexpected {', '.join(extra[:3])[:80]}"] if extra else [])
        raise CheckpointError(f"The weights do not fit the architecture {spec.describe()}: " + "; ".join(parts) + ".")
    clean = {}
    for key, ref in wanted.items():
        t = state[key]
        if not isinstance(t, torch.Tensor) or t.layout != torch.strided or not t.is_floating_point():
            raise CheckpointError(f"The weight '{key}' is not a plain floating-point tensor.")
        if tuple(t.shape) != tuple(ref.shape):
            raise CheckpointError(f"The weight '{key}' has shape {tuple(t.shape)}, but the architecture "
                                  f"{spec.describe()} needs {tuple(ref.shape)}.")
        t = t.detach().to(torch.float32)
        if not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"The weight '{key}' contains NaN or infinite values.")
        clean[key] = t
    model.load_state_dict(clean)
    return model.eval()


def _run_meta(raw) -> tuple[str, str, float]:
    raw = raw if isinstance(raw, dict) else {}
    status = raw.get("status") if raw.get("status") in STATUSES else "done"
    message = raw.get("message") if isinstance(raw.get("message"), str) else ""
    seconds = float(raw["seconds"]) if _is_number(raw.get("seconds")) and math.isfinite(raw["seconds"]) else 0.0
    return status, message[:300], seconds


def from_dict(payload, expected: DataBundle | None = None) -> Run:
    """Validate a loaded checkpoint dict and rebuild the Run (model on the CPU, eval mode)."""
    if not isinstance(payload, dict):
        raise CheckpointError(f"This file holds a {type(payload).__name__}, not an aelab checkpoint.")
    if payload.get("format") != FORMAT:
        raise CheckpointError("This file is not an aelab checkpoint (it has no 'aelab-checkpoint' format tag); "
                              "only models downloaded from aelab's Save & load page can be loaded.")
    version = payload.get("version")
    if not _is_int(version) or version < 1:
        raise CheckpointError("The checkpoint's version is missing or not a number.")
    if version > VERSION:
        raise CheckpointError(f"The checkpoint has format version {version}; this aelab reads version {VERSION}. "
                              "Update aelab to load it.")
    spec = spec_from(payload.get("spec"))
    cfg = config_from(payload.get("config"), spec)
    ds = payload.get("dataset")
    if not isinstance(ds, dict):
        raise CheckpointError("The checkpoint does not say which data set it was trained on.")
    name = check_dataset(ds.get("name"), ds.get("input_dim"), spec, expected)
    history = history_from(payload.get("history", {}))
    model = model_from(payload.get("state_dict"), spec)
    status, message, seconds = _run_meta(payload.get("run"))
    return Run(spec, cfg, name, model, history, status, message or "Loaded from a checkpoint.", seconds)


def from_bytes(blob: bytes, expected: DataBundle | None = None) -> Run:
    """Read a checkpoint file's bytes safely; every problem raises CheckpointError with a clear message."""
    if not isinstance(blob, (bytes, bytearray)):
        raise CheckpointError("Expected the file's bytes.")
    check_size(len(blob))
    _check_archive(bytes(blob))
    return from_dict(_load(bytes(blob)), expected)
