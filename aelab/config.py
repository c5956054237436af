"""Server settings a deployer sets through environment variables: each declared once, with its default and meaning.

Read with `config.get("max_jobs")`. Values are read from the environment on every call (tests set them per
test); a value that does not parse raises ConfigError naming the variable, so a typo never passes silently.
The README's "Running aelab for a class" section lists them (`config.table()` writes that table).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


class ConfigError(ValueError):
    """An environment variable holds a value aelab cannot use; the message names it."""


@dataclass(frozen=True)
class Setting:
    env: str  # environment variable, e.g. "AELAB_MAX_JOBS"
    default: Callable[[], Any]  # the value when the variable is unset or empty (computed: may depend on the machine)
    parse: Callable[[str], Any]  # text -> value; raises ValueError on bad text
    help: str  # one sentence for the README table: what it limits or protects
    shown: str = ""  # the default as the README states it ("cores - 1", "~/.cache/aelab")


# The default compute limit per run, in parameters x training samples x epochs (spec.compute_units). It
# allows every page's default run on MNIST with room to spare: the largest, Anomaly detection on all of MNIST
# (5 models x ~54,000 normal images x 60 epochs), needs 3.3e12; Build & Train's default needs 4.0e11 (30
# epochs), and 1e13 lets it run ~750 epochs, about 17 minutes of one core at the ~44,000 samples/s measured
# for that model (benchmarks/bench_train.py). A 17 M-parameter model gets ~10 epochs of 60,000 images.
MAX_COMPUTE = 1e13


def _cores() -> int:
    return os.cpu_count() or 1


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a number above 0")
    return value


def _choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.lower() not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return text.lower()
    return parse


def _path(text: str) -> Path:
    return Path(text).expanduser()


SETTINGS: dict[str, Setting] = {
    "data_dir": Setting("AELAB_DATA_DIR", lambda: Path.home() / ".cache" / "aelab", _path,
                        "Folder with the MNIST / Fashion-MNIST raw files (and aelab's saved state).", "~/.cache/aelab"),
    "max_jobs": Setting("AELAB_MAX_JOBS", lambda: max(1, _cores() - 1), _positive_int,
                        "Training jobs that run at the same time (one core stays free for drawing pages).", "CPU cores - 1"),
    "torch_threads": Setting("AELAB_TORCH_THREADS", lambda: None, _positive_int,
                             "Torch threads per job.", "cores // (max_jobs + 1)"),
    "scheduler": Setting("AELAB_SCHEDULER", lambda: "fair", _choice("fair", "fifo"),
                         "Who gets a free slot: `fair` takes turns per student (time slices; a student's extra tabs "
                         "and jobs share that student's turn), `fifo` is first come, first served per job.", "fair"),
    "time_slice": Setting("AELAB_TIME_SLICE", lambda: 1.0, _positive_float,
                          "Seconds a job trains before it gives its slot to a waiting student's job (fair only).",
                          "1"),
    "max_compute": Setting("AELAB_MAX_COMPUTE", lambda: MAX_COMPUTE, _positive_float,
                           "Compute one run may use, as parameters × training samples × epochs: larger runs are "
                           "refused before they start (and a run that trains on is stopped there).",
                           f"{MAX_COMPUTE:.0e}".replace("e+", "e")),
}


def get(name: str) -> Any:
    """The current value of setting `name` (a key of SETTINGS)."""
    setting = SETTINGS[name]
    raw = os.environ.get(setting.env, "").strip()
    if not raw:
        return setting.default()
    try:
        return setting.parse(raw)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{setting.env}={raw[:40]!r} cannot be used: {exc}.") from None


def table() -> str:
    """The settings as a Markdown table (variable, default, meaning) for the README."""
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    for setting in SETTINGS.values():
        rows.append(f"| `{setting.env}` | {setting.shown} | {setting.help} |")
    return "\n".join(rows)
