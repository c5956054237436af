"""Server settings a deployer sets through environment variables: each declared once, with its default and meaning.

Read with `config.get("max_jobs")`. Values are read from the environment on every call (tests set them per
test); a value that does not parse raises ConfigError naming the variable, so a typo never passes silently.
The README lists them in one table (`config.table()` writes it; tests/test_deploy_files.py keeps the two equal).
"""
from __future__ import annotations

import ipaddress
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


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be 0 or more")
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


def _database_url(text: str) -> str:
    if "://" not in text:
        raise ValueError("must be a database URL such as postgresql+psycopg://user:password@host/aelab")
    return text


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """'10.0.0.2, 172.16.0.0/12' -> the networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


SETTINGS: dict[str, Setting] = {
    "data_dir": Setting("AELAB_DATA_DIR", lambda: Path.home() / ".cache" / "aelab", _path,
                        "Folder with the MNIST / Fashion-MNIST raw files (and aelab's saved state).", "~/.cache/aelab"),
    "max_jobs": Setting("AELAB_MAX_JOBS", lambda: max(1, _cores() - 1), _positive_int,
                        "Training jobs that run at the same time (one core stays free for drawing pages).", "CPU cores - 1"),
    "torch_threads": Setting("AELAB_TORCH_THREADS", lambda: None, _positive_int,
                             "Torch threads per job.", "cores // (max_jobs + 1)"),
    "state_dir": Setting("AELAB_STATE_DIR", lambda: get("data_dir") / "sessions", _path,
                         "Folder where each browser's latest model is kept across reloads and server restarts.",
                         "`$AELAB_DATA_DIR/sessions`"),
    "state_days": Setting("AELAB_STATE_DAYS", lambda: 30, _non_negative_int,
                          "Days a saved model is kept after its browser's last visit; 0 saves nothing.", "30"),
    "state_max_sessions": Setting("AELAB_STATE_MAX_SESSIONS", lambda: 1000, _positive_int,
                                  "Saved sessions kept at most (the oldest are deleted first).", "1000"),
    "state_max_mb": Setting("AELAB_STATE_MAX_MB", lambda: 2048, _positive_int,
                            "Megabytes of saved models kept at most (the oldest are deleted first).", "2048"),
    "database_url": Setting("AELAB_DATABASE_URL", lambda: f"sqlite:///{get('data_dir') / 'aelab.db'}", _database_url,
                            "Where the class board keeps classes and shared runs: any SQLAlchemy URL; several "
                            "replicas need one shared server database (PostgreSQL).",
                            "an SQLite file `aelab.db` in the data folder"),
    "class_days": Setting("AELAB_CLASS_DAYS", lambda: 14, _positive_int,
                          "Days after which a class, its members and its shared runs are deleted.", "14"),
    "trusted_proxies": Setting("AELAB_TRUSTED_PROXIES", lambda: (), _networks,
                               "Addresses (or networks) of reverse proxies whose X-Forwarded-For header is believed "
                               "for per-address rate limits; others' is ignored.", "none"),
    "upload_total_mb": Setting("AELAB_UPLOAD_TOTAL_MB", lambda: 1000, _positive_int,
                               "Uploaded files (checkpoints, CSV tables) the server holds for all sessions "
                               "together, in MB; an upload beyond it is refused until others are released.", "1000"),
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
