"""Each browser's latest model on disk, so it survives a reload and a server restart (safe checkpoint format).

A browser is known by an unguessable token (`new_token`, kept in a cookie by aelab.ui). Its model lives in
`<AELAB_STATE_DIR>/<sha256 of the token>/model.pt`, written atomically; the token itself never appears in a file
name or a message. Files older than AELAB_STATE_DAYS are deleted, and the oldest go first when the folder holds
more than AELAB_STATE_MAX_SESSIONS sessions or AELAB_STATE_MAX_MB megabytes. Torch is imported only to save or load.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aelab import config

if TYPE_CHECKING:  # importing runs loads torch; the home page starts without it
    from aelab.runs import Run

TOKEN_BYTES = 32  # 256 random bits per browser (secrets.token_urlsafe)
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # what token_urlsafe(32) writes: 43 URL-safe base64 characters
MODEL_FILE = "model.pt"
BAD_SUFFIX = ".bad"  # a saved model that could not be restored is renamed to model.pt.bad (kept for a look)
DAY_S = 86_400


class RestoreFailed(RuntimeError):
    """A saved model exists but cannot be used; the message is for the learner (the file was moved aside)."""


class SaveSkipped(RuntimeError):
    """The model was not saved (too large, or the disk refused); the message is for the learner."""


@dataclass(frozen=True)
class Saved:
    run: Run  # the restored model
    saved_at: float  # when it was saved (seconds since the epoch, the file's modification time)


# -- tokens ------------------------------------------------------------------------------------
def new_token() -> str:
    """A fresh unguessable browser token (256 random bits, URL-safe text)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def valid_token(text) -> bool:
    """True only for text of exactly new_token's form (anything else, e.g. a tampered cookie, is ignored)."""
    return isinstance(text, str) and _TOKEN_RE.fullmatch(text) is not None


def _key(token: str) -> str:
    if not valid_token(token):
        raise ValueError("not a browser token")
    return hashlib.sha256(token.encode("ascii")).hexdigest()


# -- where -------------------------------------------------------------------------------------
def enabled() -> bool:
    """Saving is on unless AELAB_STATE_DAYS is 0."""
    return config.get("state_days") > 0


def root() -> Path:
    return config.get("state_dir")


def model_path(token: str) -> Path:
    """The file holding this browser's latest model (named by the token's hash, never the token)."""
    return root() / _key(token) / MODEL_FILE


# -- save and restore --------------------------------------------------------------------------
def save(token: str, run: Run) -> Path | None:
    """Write `run` as this browser's model (temp file + os.replace: a reader sees the old or the new file, never
    half of one), then apply the limits. None when saving is off; SaveSkipped says why a model was not saved."""
    if not enabled():
        return None
    from aelab import checkpoint

    blob = checkpoint.to_bytes(run)
    if len(blob) > checkpoint.MAX_BYTES:
        raise SaveSkipped(f"Your model is {len(blob) / 2**20:.1f} MB, more than the {checkpoint.MAX_BYTES // 2**20} MB "
                          "a saved model may have: it lasts only while this tab is open (download it on Save & load).")
    path = model_path(token)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".model-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise SaveSkipped(f"Your model could not be saved on the server ({exc.strerror or type(exc).__name__}): "
                          "it lasts only while this tab is open (download it on Save & load).") from None
    cleanup(keep=path.parent)
    return path


def load(token: str) -> Saved | None:
    """This browser's saved model, or None when there is none (or it has expired).

    A file that cannot be used (corrupt, refused by the checkpoint checks, trained on a data set this server
    lacks) is renamed to model.pt.bad and RestoreFailed says why in plain words. A restored file's time is
    renewed, so the expiry counts from the last visit.
    """
    if not enabled():
        return None
    path = model_path(token)
    try:
        info = path.stat()
    except OSError:
        return None
    if time.time() - info.st_mtime > config.get("state_days") * DAY_S:
        _remove_session(path.parent)
        return None
    from aelab import checkpoint, data

    try:
        run = checkpoint.from_bytes(path.read_bytes())
        if not data.is_available(run.dataset):
            raise checkpoint.CheckpointError(f"It was trained on {data.DATASETS[run.dataset]}, which this server "
                                             "does not have now.")
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with the file, the page goes on
        reason = str(exc) if isinstance(exc, checkpoint.CheckpointError) else \
            f"The file could not be read ({type(exc).__name__})."
        moved = _set_aside(path)
        raise RestoreFailed(f"Your saved model could not be restored. {reason} "
                            + ("The file was set aside. " if moved else "")
                            + "Train a new model on Build & Train, or load a checkpoint on Save & load.") from None
    now = time.time()
    try:
        os.utime(path, (now, now))
    except OSError:
        pass
    return Saved(run, info.st_mtime)


def _set_aside(path: Path) -> bool:
    try:
        os.replace(path, path.with_name(path.name + BAD_SUFFIX))
        return True
    except OSError:
        return False


def forget(token: str) -> None:
    """Delete everything saved for this browser."""
    _remove_session(model_path(token).parent)


# -- limits ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Entry:
    folder: Path
    newest: float  # modification time of its newest file
    n_bytes: int


def _entries() -> list[_Entry]:
    out = []
    try:
        folders = [p for p in root().iterdir() if p.is_dir() and re.fullmatch(r"[0-9a-f]{64}", p.name)]
    except OSError:
        return out
    for folder in folders:
        newest, size = 0.0, 0
        try:
            for f in folder.iterdir():
                info = f.stat()
                newest, size = max(newest, info.st_mtime), size + info.st_size
        except OSError:
            continue
        out.append(_Entry(folder, newest, size))
    return out


def cleanup(keep: Path | None = None, now: float | None = None) -> list[Path]:
    """Delete expired sessions, then the oldest ones while over the count or size cap (never `keep`).

    Only folders named like a token hash are touched. Returns the deleted folders."""
    now = time.time() if now is None else now
    max_age = config.get("state_days") * DAY_S
    max_n, max_bytes = config.get("state_max_sessions"), config.get("state_max_mb") * 2**20
    removed = []
    entries = sorted(_entries(), key=lambda e: e.newest)  # oldest first
    live = []
    for e in entries:
        if now - e.newest > max_age and e.folder != keep:
            removed.append(e.folder)
        else:
            live.append(e)
    total = sum(e.n_bytes for e in live)
    for e in list(live):
        if len(live) <= max_n and total <= max_bytes:
            break
        if e.folder == keep:
            continue
        live.remove(e)
        total -= e.n_bytes
        removed.append(e.folder)
    for folder in removed:
        _remove_session(folder)
    return removed


def _remove_session(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
