"""What the class board stores and its limits: display names, class titles and shared runs (`Draft`), each checked
before it reaches the database, with a message that says what to change.

Names are for a first name or a nickname: letters, digits, spaces, punctuation and symbols, at most 32 characters,
no '@' (e-mail addresses) and at most 4 digits (no phone or student numbers). Control and invisible formatting
characters (e.g. right-to-left overrides) are refused. Whatever passes is still shown only as plain text.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field, replace

from aelab import png

NAME_MAX = 32  # characters in a display name
TITLE_MAX = 60  # characters in a class title
CODE_INPUT_MAX = 20  # characters a typed join code may have (9 symbols, with dashes or spaces between groups)
KEY_INPUT_MAX = 60  # characters a typed teacher key may have (28 symbols, with dashes or spaces)
SUMMARY_MAX = 160  # characters in an architecture summary
JSON_MAX = 2000  # characters of a share's spec or settings as JSON
POINTS_MAX = 32  # models in one shared run (a lab that trains several)
PREVIEW_MAX = 20 * 1024  # bytes of a preview image
CHECKPOINT_MAX = 8 * 1024 * 1024  # bytes of shared weights (when the teacher allows them)
MAX_DIGITS_IN_NAME = 4
MAX_MARKS_IN_NAME = 8  # combining marks (accents) in a name: enough for any language, not for a "Zalgo" tower
_WORD = re.compile(r"[a-z][a-z0-9_-]{0,23}")  # kind, data set, task, question and answer keys ("flat-line")
_CLIENT_ID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")  # a UUID


class BoardError(ValueError):
    """A learner-facing reason why the board refused something."""


PAGES = {  # Draft.kind -> the page that shares it, as the board names it
    "train": "Build & Train", "bottleneck": "Bigger bottleneck", "denoising": "Denoising", "anomaly": "Anomaly",
    "pca": "PCA", "split": "Encoder | Decoder", "latent": "Latent space", "signals": "Not only images",
    "kinds": "Kinds side by side",
}
# What a model's train/test errors measure. Every lab measures them the same way (analysis.model_error: mean squared
# error per input value, eval mode, on the lab's training subset and the data set's whole test set); models whose
# errors answer another task are compared only with models of the same task (the board keeps them apart).
RECONSTRUCT = "reconstruct"
TASKS = {  # task key -> what the errors are, in words
    RECONSTRUCT: "clean inputs, all classes",  # the model rebuilds what it is given (Build & Train, most labs)
    "denoise": "noisy inputs against the clean images",  # a denoising AE: noisy input in, clean image out
    "normal_only": "normal data only (trained without the anomalies)",  # anomaly detectors: normal classes/windows
}


@dataclass(frozen=True)
class Point:
    """One trained model's numbers (a lab that trains several shares one Point each)."""

    code_size: int  # bottleneck size
    params: int  # trainable parameters
    train_error: float | None  # mean squared error per pixel on its training images, eval mode
    test_error: float | None  # the same on held-out images
    summary: str = ""  # the model in words and widths, e.g. "VAE 64-32-8-32-64" ("": the run's summary)
    task: str = RECONSTRUCT  # what its errors measure (a key of TASKS)


@dataclass(frozen=True)
class Draft:
    """A finished run as it is shared to the class: numbers and settings, never code."""

    kind: str  # the page that shared it: "train" (Build & Train), "bottleneck", ...
    dataset: str  # data set key, e.g. "digits"
    summary: str  # the architecture as text, e.g. "64-128-64-12-3-12-64-128-64"
    spec: dict  # the ArchSpec's fields (plain JSON)
    settings: dict  # the training settings (plain JSON)
    code_size: int  # bottleneck size of the (main) model
    params: int  # its trainable parameters
    epochs: int  # epochs trained
    train_error: float | None  # mean squared error per pixel on the training images, eval mode
    test_error: float | None  # the same on held-out images
    seconds: float  # training time
    question: str | None = None  # predict-first question id, e.g. "bigger_bottleneck"
    prediction: str | None = None  # the learner's committed answer to it (an option key)
    measured: str | None = None  # the answer this run's own numbers give
    points: tuple[Point, ...] = ()  # further models of the same run (the first is the main one)
    task: str = RECONSTRUCT  # what the main model's errors measure (a key of TASKS)
    preview: bytes | None = field(default=None, repr=False)  # PNG of reconstructions, <= PREVIEW_MAX bytes
    checkpoint: bytes | None = field(default=None, repr=False)  # aelab checkpoint (only if the class allows it)


def _letters_only(text: str, what: str, limit: int) -> str:
    """NFC-normalized, spaces collapsed, every character allowed; BoardError otherwise."""
    if not isinstance(text, str):
        raise BoardError(f"The {what} must be text.")
    text = " ".join(unicodedata.normalize("NFC", text[:4 * limit]).split())
    if len(text) > limit:
        raise BoardError(f"The {what} is {len(text)} characters long; at most {limit}, please.")
    for ch in text:
        cat = unicodedata.category(ch)
        if ch != " " and cat[0] not in "LMNPS":
            shown = unicodedata.name(ch, f"U+{ord(ch):04X}")
            raise BoardError(f"The {what} contains a character that cannot be shown ({shown}).")
    if sum(unicodedata.category(ch)[0] == "M" for ch in text) > MAX_MARKS_IN_NAME:
        raise BoardError(f"The {what} has too many accents stacked on its letters.")
    return text


def clean_name(text: str) -> str:
    """A display name as stored, or BoardError saying what to change."""
    name = _letters_only(text, "name", NAME_MAX)
    if not name:
        raise BoardError("Type a name the class will see: a first name or a nickname.")
    if "@" in name:
        raise BoardError("Please use a first name or a nickname, not an e-mail address.")
    if sum(ch.isdigit() for ch in name) > MAX_DIGITS_IN_NAME:
        raise BoardError(f"At most {MAX_DIGITS_IN_NAME} digits in a name, please: no phone or student numbers.")
    return name


def clean_title(text: str) -> str:
    """A class title as stored ('' is fine), or BoardError."""
    return _letters_only(text or "", "class title", TITLE_MAX)


def clean_client_id(text: str) -> str:
    if not isinstance(text, str) or not _CLIENT_ID.fullmatch(text.lower()):
        raise BoardError("This share has no valid id; press Share again.")
    return text.lower()


def _word(value, what: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not _WORD.fullmatch(value):
        raise BoardError(f"The {what} of this run is not a short key (letters, digits, _).")
    return value


def _int(value, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BoardError(f"The {what} of this run must be a whole number from {low:,} to {high:,}.")
    return int(value)


def _error(value, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None  # a diverged run has no error to compare: shared without one rather than refused
    return float(value)


def _seconds(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1e7:
        raise BoardError("The training time of this run is not a number of seconds.")
    return float(value)


def _plain_json(value, what: str) -> dict:
    """A dict of plain JSON values (str, int, float, bool, None, lists, dicts) of bounded size."""
    if not isinstance(value, dict):
        raise BoardError(f"The {what} of this run must be a set of named values.")
    try:
        text = json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError):
        raise BoardError(f"The {what} of this run hold something that is not a plain number or text.") from None
    if len(text) > JSON_MAX:
        raise BoardError(f"The {what} of this run are too long to share ({len(text):,} characters).")
    return json.loads(text)


def _task(value) -> str:
    if value not in TASKS:
        raise BoardError(f"This run's errors measure an unknown task; one of {', '.join(TASKS)}, please.")
    return value


def _point(p) -> Point:
    if not isinstance(p, Point):
        raise BoardError("A model of this run has no numbers.")
    return Point(_int(p.code_size, "code size", 1, 100_000), _int(p.params, "parameter count", 0, 10**10),
                 _error(p.train_error, "training error"), _error(p.test_error, "test error"),
                 _letters_only(p.summary, "architecture", SUMMARY_MAX), _task(p.task))


def clean_draft(d: Draft) -> Draft:
    """The draft with every field checked against its limit, or BoardError naming the first problem."""
    if not isinstance(d, Draft):
        raise BoardError("Only a finished run can be shared.")
    summary = _letters_only(d.summary, "architecture", SUMMARY_MAX)
    if len(d.points) > POINTS_MAX:
        raise BoardError(f"At most {POINTS_MAX} models per shared run.")
    if d.preview is not None:
        if len(d.preview) > PREVIEW_MAX:
            raise BoardError(f"The preview image is {len(d.preview):,} bytes; at most {PREVIEW_MAX:,}.")
        try:
            png.check(d.preview)
        except ValueError as exc:
            raise BoardError(f"The preview image cannot be used: {exc}.") from None
    if d.checkpoint is not None and len(d.checkpoint) > CHECKPOINT_MAX:
        raise BoardError(f"The weights are {len(d.checkpoint) / 2**20:.1f} MB; at most "
                         f"{CHECKPOINT_MAX / 2**20:.0f} MB can be shared. Share without weights.")
    return replace(
        d, kind=_word(d.kind, "page"), dataset=_word(d.dataset, "data set"), summary=summary,
        spec=_plain_json(d.spec, "architecture"), settings=_plain_json(d.settings, "settings"),
        code_size=_int(d.code_size, "code size", 1, 100_000), params=_int(d.params, "parameter count", 0, 10**10),
        epochs=_int(d.epochs, "epoch count", 0, 1_000_000), train_error=_error(d.train_error, "training error"),
        test_error=_error(d.test_error, "test error"), seconds=_seconds(d.seconds),
        question=_word(d.question, "question", optional=True), prediction=_word(d.prediction, "prediction", True),
        measured=_word(d.measured, "measured answer", True), points=tuple(_point(p) for p in d.points),
        task=_task(d.task))
