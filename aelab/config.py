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


def _cores() -> int:
    return os.cpu_count() or 1


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _path(text: str) -> Path:
    return Path(text).expanduser()


SETTINGS: dict[str, Setting] = {
    "data_dir": Setting("AELAB_DATA_DIR", lambda: Path.home() / ".cache" / "aelab", _path,
                        "Folder with the MNIST / Fashion-MNIST raw files (and aelab's saved state).", "~/.cache/aelab"),
    "max_jobs": Setting("AELAB_MAX_JOBS", lambda: max(1, _cores() - 1), _positive_int,
                        "Training jobs that run at the same time (one core stays free for drawing pages).", "CPU cores - 1"),
    "torch_threads": Setting("AELAB_TORCH_THREADS", lambda: None, _positive_int,
                             "Torch threads per job.", "cores // (max_jobs + 1)"),
    "upload_total_mb": Setting("AELAB_UPLOAD_TOTAL_MB", lambda: 1000, _positive_int,
                               "Uploaded files (checkpoints, CSV tables) the server holds for all sessions "
                               "together, in MB; an upload beyond it is refused until others are released.", "1000"),
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
