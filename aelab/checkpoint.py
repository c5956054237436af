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
with the class from `runnable_code`. Importing checks, in order: the size (at most limits.CHECKPOINT_MB MB,
enough for the largest model the lab trains), that the file is a zip archive of uncompressed members whose
size fields agree and whose CRC-32 checksums match (4 changed bytes are refused), that its pickled part is
small enough for the history cap, the format and version, the spec (through spec.check_arch), the training
settings (spec.check_train: seed, batch size, epochs, ... in range), the data set, the loss history (at most
limits.MAX_HISTORY_POINTS points, every x value in range), the message and the run time, every tensor name and
shape against a freshly built Autoencoder(spec), and that every weight is finite. Any failure raises
CheckpointError. A file in torch.save's legacy (pre-zip) format is recognized and named as such.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
import pickle
import struct
import zipfile

import torch

import aelab
from aelab import data, limits
from aelab.data import DataBundle
from aelab.model import Autoencoder, pytorch_code
from aelab.runs import Run
from aelab.spec import MAX_EPOCHS, MAX_LAYERS, ArchSpec, TrainConfig, check_arch, check_train
from aelab.train import History

FORMAT = "aelab-checkpoint"
VERSION = 1
MAX_BYTES = limits.CHECKPOINT_BYTES  # largest checkpoint file accepted: every model the lab trains fits
MAX_UNPACKED = MAX_BYTES  # members are stored uncompressed, so together they are never larger than the file
MAX_MEMBERS = 10_000  # largest number of members in the archive
# torch.save's legacy (pre-1.6, not zip) format starts with pickle protocol 2 and torch's magic number as a LONG1
LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
KNOWN_INPUT_DIMS = {data.DIGITS: 64, data.MNIST: 784, data.FASHION: 784}  # features per sample of each data set
STATUSES = ("done", "stopped", "diverged")
TERM_NAMES = ("recon", "kl")  # the loss terms a VAE's history holds


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
        "run": {"status": run.status, "message": run.message[:limits.MAX_MESSAGE],
                "seconds": min(max(float(run.seconds), 0.0), float(limits.MAX_SECONDS))},
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
        raise CheckpointError(f"The file has {n_bytes:,} bytes; checkpoints of at most {MAX_BYTES:,} bytes "
                              f"({limits.CHECKPOINT_MB} MB) are accepted: the largest model this lab trains "
                              "exports to less.")


def _damaged(name: str, what: str) -> CheckpointError:
    return CheckpointError(f"The file is damaged: {what} of its part '{name[:60]}'. It was changed or cut after it "
                           "was saved; download the checkpoint again.")


def _check_member(blob: bytes, archive: zipfile.ZipFile, m: zipfile.ZipInfo) -> None:
    """One member: stored uncompressed (as torch.save writes it), its size fields agree, its CRC-32 matches."""
    if m.compress_type != zipfile.ZIP_STORED or m.compress_size != m.file_size:
        raise CheckpointError(f"The archive holds a compressed part ('{m.filename[:60]}'); torch.save never "
                              "compresses, so this file was made or changed by another program.")
    head = blob[m.header_offset:m.header_offset + 30]
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise _damaged(m.filename, "the header the archive points to is missing")
    flags, crc, csize, usize, n_name, n_extra = struct.unpack("<6xH6xIIIHH", head)
    start = m.header_offset + 30 + n_name + n_extra
    if flags & 0x08:  # sizes and CRC follow the data in a descriptor (what torch.save writes)
        tail = blob[start + m.compress_size:start + m.compress_size + 24]
        tail = tail[4:] if tail[:4] == b"PK\x07\x08" else tail  # the descriptor's signature is optional
        fields = [struct.unpack("<III", tail[:12]) if len(tail) >= 12 else None,
                  struct.unpack("<IQQ", tail[:20]) if len(tail) >= 20 else None]  # 32-bit or ZIP64 sizes
        if (m.CRC, m.compress_size, m.file_size) not in fields:
            raise _damaged(m.filename, "the size fields disagree")
    elif (crc, csize, usize) != (m.CRC, m.compress_size, m.file_size) and 0xFFFFFFFF not in (csize, usize):
        raise _damaged(m.filename, "the size fields disagree")
    try:
        with archive.open(m) as f:  # zipfile checks the CRC-32 when it reaches the end
            while f.read(1 << 20):
                pass
    except zipfile.BadZipFile as exc:
        raise _damaged(m.filename, "the stored checksum (CRC-32) does not match the contents"
                       if "CRC" in str(exc) else "the archive's headers do not fit its contents") from None
    except (OSError, EOFError, ValueError, struct.error):
        raise _damaged(m.filename, "the archive's headers do not fit its contents") from None


def _check_archive(blob: bytes) -> None:
    """torch.save writes a zip archive: refuse anything else, archives that unpack too large, and any member whose
    size fields or CRC-32 do not match its bytes (torch.load itself checks neither)."""
    if blob.startswith(LEGACY_MAGIC):
        raise CheckpointError("This file was saved with torch.save in PyTorch's legacy format (before version 1.6, "
                              "or with _use_new_zipfile_serialization=False), which aelab does not read. aelab loads "
                              "only checkpoints downloaded from its Save & load page.")
    if not zipfile.is_zipfile(io.BytesIO(blob)):
        raise CheckpointError("This is not an aelab checkpoint: it is not a zip archive, as every checkpoint and "
                              "every current torch.save file is. It may be truncated, corrupt, or another kind "
                              "of file.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CheckpointError(f"The file is corrupt or truncated ({exc}).") from None
    if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED:
        raise CheckpointError("The archive unpacks to far more data than a checkpoint holds; it was refused.")
    names = [m.filename for m in members]
    if len(set(names)) != len(names):
        raise CheckpointError("The archive holds two parts with the same name; it was refused.")
    meta = [m for m in members if m.filename == "data.pkl" or m.filename.endswith("/data.pkl")]
    if meta and meta[0].file_size > limits.MAX_META_BYTES:
        raise CheckpointError(f"The checkpoint's settings and loss history take {meta[0].file_size / limits.MB:.1f} "
                              f"MB; aelab writes at most {limits.MAX_META_BYTES // limits.MB} MB (a loss history of "
                              f"at most {limits.MAX_HISTORY_POINTS:,} points). It was refused without being read.")
    for m in members:
        _check_member(blob, archive, m)


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


def _numbers(raw: dict, key: str, *, low: float | None = None, high: float | None = None,
             whole: bool = False) -> list:
    """The list `raw[key]` as numbers; with bounds, every value must be finite and inside them."""
    v = raw.get(key, [])
    if not isinstance(v, list) or not all(_is_number(x) for x in v):
        raise CheckpointError(f"The checkpoint's history entry '{key}' must be a list of numbers.")
    if low is not None and not all(math.isfinite(x) and low <= x <= high for x in v):
        raise CheckpointError(f"The checkpoint's history entry '{key}' holds values outside {low:g} to {high:g}.")
    if whole and not all(float(x).is_integer() for x in v):
        raise CheckpointError(f"The checkpoint's history entry '{key}' must hold whole epochs.")
    return [int(x) for x in v] if whole else [float(x) for x in v]


def history_from(raw) -> History:
    """Rebuild the loss curves: numbers only, x values and times in range, paired lists of equal length, and at
    most limits.MAX_HISTORY_POINTS training points (longer histories are refused: aelab never writes them).
    Losses may be NaN or infinite: a diverged run records the loss that blew up."""
    if not isinstance(raw, dict):
        raise CheckpointError("The checkpoint's history is not readable.")
    for key, cap in (("step_x", limits.MAX_HISTORY_POINTS), ("train", limits.MAX_HISTORY_POINTS),
                     ("epoch_x", limits.MAX_TEST_POINTS), ("test", limits.MAX_TEST_POINTS),
                     ("seconds", limits.MAX_TEST_POINTS)):
        n = len(raw.get(key, [])) if isinstance(raw.get(key, []), list) else 0
        if n > cap:
            raise CheckpointError(f"The checkpoint's loss history has {n:,} points in '{key}'; aelab writes at most "
                                  f"{cap:,} ({MAX_EPOCHS:,} epochs), so the file was refused.")
    lists = {"step_x": _numbers(raw, "step_x", low=0, high=MAX_EPOCHS),
             "train": _numbers(raw, "train"),
             "epoch_x": _numbers(raw, "epoch_x", low=0, high=MAX_EPOCHS, whole=True),
             "test": _numbers(raw, "test"),
             "seconds": _numbers(raw, "seconds", low=0, high=limits.MAX_SECONDS)}
    if len(lists["step_x"]) != len(lists["train"]) or len(lists["epoch_x"]) != len(lists["test"]) or \
            len(lists["seconds"]) not in (0, len(lists["test"])):
        raise CheckpointError("The checkpoint's history is inconsistent (curves of different lengths).")
    terms = {}
    for key, paired in (("terms", "train"), ("test_terms", "test")):
        t = raw.get(key, {})
        if not isinstance(t, dict) or not all(k in TERM_NAMES for k in t):
            raise CheckpointError(f"The checkpoint's history entry '{key}' must map {' and '.join(TERM_NAMES)} "
                                  "to lists of numbers.")
        terms[key] = {k: _numbers(t, k) for k in t}
        if any(len(v) != len(lists[paired]) for v in terms[key].values()):
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
    """How the run ended: status (unknown ones read as "done"), its message and wall time, both range-checked."""
    raw = raw if isinstance(raw, dict) else {}
    status = raw.get("status") if raw.get("status") in STATUSES else "done"
    message = raw.get("message") if isinstance(raw.get("message"), str) else ""
    if len(message) > limits.MAX_MESSAGE:
        raise CheckpointError(f"The checkpoint's message has {len(message):,} characters; aelab writes at most "
                              f"{limits.MAX_MESSAGE}.")
    seconds = raw.get("seconds", 0.0)
    if not _is_number(seconds) or not (math.isfinite(seconds) and 0 <= seconds <= limits.MAX_SECONDS):
        raise CheckpointError(f"The checkpoint's training time must be a number from 0 to {limits.MAX_SECONDS:,} s.")
    return status, message, float(seconds)


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
