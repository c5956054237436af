"""Shareable setups: a page's settings <-> URL query parameters, as pure functions (no Streamlit).

A page declares a schema, {session-state key: Field}. `encode` writes settings as strings for the
URL; `decode` reads them back and never raises: a missing value takes the default, a bad or
tampered one takes the default and adds a note saying what was ignored.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlencode

from aelab import catalog
from aelab.spec import (ACTIVATIONS, KINDS, LOSSES, MAX_BETA, MAX_EPOCHS, MAX_N_TRAIN, MAX_WIDTH, OPTIMIZERS,
                        OUTPUTS, SEED_MAX, SEED_MIN, ArchSpec, SpecError, TrainConfig, parse_float, parse_int, parse_widths)

KINDS_OF_FIELD = ("choice", "int", "float", "bool", "text", "layers", "ints", "choices")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
MAX_RAW = 200  # longest query value looked at; longer ones are refused unread


@dataclass(frozen=True)
class Field:
    param: str  # name of the query parameter in the URL (short, e.g. "lr")
    kind: str  # one of KINDS_OF_FIELD
    default: Any  # value used when the URL has none, or a bad one
    label: str = ""  # how the note names the setting ("learning rate"); defaults to `param`
    choices: tuple = ()  # allowed values of a "choice" field, matched by their text
    low: float | None = None  # smallest allowed number ("int", "float")
    high: float | None = None  # largest allowed number ("int", "float")
    as_text: bool = False  # the widget holds the value as text (st.text_input): state gets str
    max_len: int = 60  # longest accepted value, in characters
    omit_default: bool = False  # leave the parameter out of the URL while the value is the default
    blank: bool = False  # "int": an empty value is allowed and means None (a box where blank = all)
    max_items: int = 8  # "ints": most numbers in the list

    @property
    def name(self) -> str:
        return self.label or self.param


Schema = Mapping[str, Field]  # session-state key -> Field


class _Bad(ValueError):
    """A raw value that does not fit its field (the message says why)."""


def safe_text(raw: Any, limit: int = 24) -> str:
    """A value shortened and stripped to harmless characters, for quoting it in a note (no markdown)."""
    text = "".join(c if c.isascii() and (c.isalnum() or c in ".,-+=:'() ") else "?" for c in str(raw)[:limit])
    return text + ("…" if len(str(raw)) > limit else "")


def _number_range(field: Field, value: float) -> None:
    if field.low is not None and value < field.low:
        raise _Bad(f"it must be at least {field.low:g}")
    if field.high is not None and value > field.high:
        raise _Bad(f"it must be at most {field.high:g}")


def parse(field: Field, raw: Any) -> Any:
    """One raw URL value -> the field's value; raises _Bad with the reason when it does not fit."""
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else ""
    if not isinstance(raw, str):
        raw = str(raw)
    if len(raw) > min(field.max_len, MAX_RAW):
        raise _Bad(f"it is longer than {field.max_len} characters")
    text = raw.strip()
    if field.kind in ("int", "float", "layers", "ints") and not text.isascii():
        raise _Bad("numbers must be written with the digits 0-9")
    if field.kind == "choice":
        for choice in field.choices:
            if str(choice) == text:
                return choice
        raise _Bad("it is not one of " + ", ".join(str(c) for c in field.choices[:8]))
    if field.kind == "choices":  # several of `choices`, comma separated, each at most once
        picked = []
        for item in (t.strip() for t in text.split(",")) if text else ():
            match = [c for c in field.choices if str(c) == item]
            if not match:
                raise _Bad(f"'{item}' is not one of " + ", ".join(str(c) for c in field.choices[:12]))
            if match[0] in picked:
                raise _Bad(f"it names '{item}' twice")
            picked.append(match[0])
        return tuple(picked)
    if field.kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise _Bad("it must be 1 or 0")
    if field.kind == "int":
        if field.blank and not text:
            return None
        try:
            low = int(field.low) if field.low is not None else 0
            high = int(field.high) if field.high is not None else None
            return parse_int(text, field.name, low=low, high=high)
        except SpecError as exc:
            raise _Bad(str(exc)) from None
    if field.kind == "float":
        try:
            value = parse_float(text, field.name)
        except SpecError as exc:
            raise _Bad(str(exc)) from None
        _number_range(field, value)
        return value
    if field.kind == "ints":  # one text box of numbers, separated by commas, semicolons or spaces
        items = [item.strip() for item in text.replace(";", ",").split(",")] if text else []
        if "" in items:
            raise _Bad("it has an empty entry between commas")
        parts = [p for item in items for p in item.split()]  # "2 4 8" as the sweep page allows
        if len(parts) > field.max_items:
            raise _Bad(f"it lists {len(parts)} numbers, at most {field.max_items} are allowed")
        low = int(field.low) if field.low is not None else 0  # the field's own bounds, so a message says "at least 1"
        high = int(field.high) if field.high is not None else None
        try:
            return tuple(parse_int(p, f"{field.name} {i + 1}", low=low, high=high) for i, p in enumerate(parts))
        except SpecError as exc:
            raise _Bad(str(exc)) from None
    if field.kind == "layers":
        try:
            widths = parse_widths(text, f"{field.name} width") if text else ()
        except SpecError as exc:
            raise _Bad(str(exc)) from None
        for w in widths:
            _number_range(field, w)
        return widths
    if field.kind == "text":
        if any(unicodedata.category(c).startswith("C") for c in text):
            raise _Bad("it contains control characters")
        return text
    raise _Bad(f"unknown field kind '{field.kind}'")


def format_value(field: Field, value: Any) -> str:
    """A field's value as URL text (the inverse of `parse`)."""
    if field.kind == "bool":
        return "1" if value else "0"
    if value is None:  # a blank "int"
        return ""
    if field.kind in ("layers", "ints"):
        return ",".join(str(int(w)) for w in value)
    if field.kind == "choices":
        return ",".join(str(c) for c in value)
    if field.kind == "float":
        return repr(float(value))
    return str(value)


def encode(settings: Mapping[str, Any], schema: Schema) -> dict[str, str]:
    """Settings {session key: value} -> query parameters {param: text}; keys outside the schema are skipped."""
    out = {}
    for key, field in schema.items():
        if key not in settings:
            continue
        value = settings[key]
        if field.omit_default and value == field.default:
            continue
        out[field.param] = format_value(field, value)
    return out


def decode(query: Mapping[str, Any], schema: Schema, present_only: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Query parameters -> (settings, notes). Never raises.

    Every setting the URL lacks takes its default (or is left out when `present_only`); every bad
    value takes its default and adds one note naming the setting and the ignored value.
    """
    settings: dict[str, Any] = {}
    notes: list[str] = []
    for key, field in schema.items():
        if field.param not in query:
            if not present_only:
                settings[key] = field.default
            continue
        raw = query[field.param]
        try:
            settings[key] = parse(field, raw)
        except Exception as exc:  # noqa: BLE001 - a tampered URL must never crash a page
            settings[key] = field.default
            reason = str(exc).rstrip(".") if isinstance(exc, _Bad) else "it could not be read"
            shown = raw[-1] if isinstance(raw, (list, tuple)) and raw else raw
            notes.append(f"The link's {field.name} ('{safe_text(shown)}') was ignored: {safe_text(reason, 120)}. "
                         f"Using {format_value(field, field.default) or 'none'} instead.")
            continue
        if isinstance(raw, (list, tuple)) and len(raw) > 1:  # parse used the last one; say so
            notes.append(f"The link gives the {field.name} {len(raw)} times; the last one ('{safe_text(raw[-1])}') "
                         "was used.")
    return settings, notes


def restrict(query: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    """Only the query parameters this schema owns."""
    params = {f.param for f in schema.values()}
    return {k: v for k, v in query.items() if k in params}


# -- widget state <-> settings -------------------------------------------------------------------
def state_updates(schema: Schema, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings -> session-state values as the widgets hold them (text for `as_text` fields).

    A "layers" field under key K is stored the way a page draws one text box per layer:
    K_n (the number of layers) and K_0, K_1, ... (each width as text).
    """
    out: dict[str, Any] = {}
    for key, value in settings.items():
        field = schema.get(key)
        if field is None:
            continue
        if field.kind == "layers":
            out[f"{key}_n"] = len(value)
            out.update({f"{key}_{i}": str(w) for i, w in enumerate(value)})
        elif field.kind == "ints":  # one text box, written the way the pages write lists
            out[key] = ", ".join(str(int(w)) for w in value)
        elif field.kind == "choices":  # a multiselect holds a list
            out[key] = list(value)
        elif field.as_text:
            out[key] = format_value(field, value)
        else:
            out[key] = value
    return out


def read_state(schema: Schema, state: Mapping[str, Any]) -> dict[str, Any]:
    """The current settings from session state; values that are missing or do not parse are left out."""
    settings = {}
    for key, field in schema.items():
        try:
            if field.kind == "layers":
                n = state[f"{key}_n"]
                raw = ",".join(str(state[f"{key}_{i}"]).strip() for i in range(int(n)))
            else:
                raw = state[key]
                if field.kind in ("bool", "float", "choices") and not isinstance(raw, str):
                    raw = format_value(field, raw)  # a toggle, slider or multiselect holds a value, not text
            settings[key] = parse(field, raw)
        except Exception:  # noqa: BLE001 - absent or half-typed values are simply not shared
            continue
    return settings


def link(base_url: str | None, query: Mapping[str, str], page: str = "") -> str:
    """The full shareable URL: the page's address plus the query string.

    `base_url` is the browser's address without the query (st.context.url); without it the
    link is relative to the server, '/<page>?...'.
    """
    base = (base_url or "").split("?", 1)[0].split("#", 1)[0]
    if not base:
        base = f"/{page}" if page else "/"
    qs = urlencode({k: v for k, v in query.items()})
    return f"{base}?{qs}" if qs else base


# -- schemas -----------------------------------------------------------------------------------
N_TRAIN_CHOICES = ("all", 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
APP = {  # app-wide settings, synced by app.py before any page runs
    "cfg_classroom": Field("classroom", "bool", False, "classroom mode", omit_default=True),
}
BUILD_TRAIN = {  # the Build & Train page's widget keys (defaults as in pages/build_train.py)
    "cfg_dataset": Field("data", "choice", catalog.DIGITS, "data set", choices=tuple(catalog.DATASETS)),
    "cfg_kind": Field("model", "choice", "ae", "model type", choices=tuple(KINDS)),
    "cfg_enc": Field("enc", "layers", (128, 64, 12), "encoder", low=1, high=MAX_WIDTH, as_text=True),
    "cfg_bottleneck": Field("code", "int", 3, "bottleneck size", low=1, high=MAX_WIDTH, as_text=True),
    "cfg_asym": Field("asym", "bool", False, "asymmetric decoder"),
    "cfg_dec": Field("dec", "layers", (12, 64, 128), "decoder", low=1, high=MAX_WIDTH, as_text=True),
    "cfg_activation": Field("act", "choice", "relu", "activation", choices=tuple(ACTIVATIONS)),
    "cfg_output": Field("out", "choice", "sigmoid", "output activation", choices=tuple(OUTPUTS)),
    "cfg_loss": Field("loss", "choice", "mse", "loss", choices=tuple(LOSSES)),
    "cfg_optimizer": Field("opt", "choice", "adam", "optimizer", choices=tuple(OPTIMIZERS)),
    "cfg_lr": Field("lr", "float", 0.001, "learning rate", low=1e-7, high=1.0, as_text=True),
    "cfg_batch": Field("batch", "int", 64, "batch size", low=1, high=65536, as_text=True),
    "cfg_epochs": Field("epochs", "int", 30, "epochs", low=1, high=MAX_EPOCHS, as_text=True),
    "cfg_seed": Field("seed", "int", 0, "seed", low=SEED_MIN, high=SEED_MAX, as_text=True),
    "cfg_beta": Field("beta", "float", 0.1, "beta", low=0.0, high=MAX_BETA, as_text=True),
    "cfg_n_train": Field("n", "choice", "all", "training-set size", choices=N_TRAIN_CHOICES),
    "cfg_latent_dims": Field("view", "choice", "2D", "code projection", choices=("2D", "3D")),
}


def build_train_settings(spec: ArchSpec, cfg: TrainConfig, dataset: str) -> dict[str, Any]:
    """Settings for the BUILD_TRAIN schema that reproduce this architecture and training setup.

    Use with `state_updates` (fill the page's widgets) or `encode` (a link that opens the page so).
    """
    n_train = cfg.n_train if cfg.n_train in N_TRAIN_CHOICES else "all"
    dec = spec.decoder_widths
    return {
        "cfg_dataset": dataset, "cfg_kind": spec.kind, "cfg_enc": tuple(spec.encoder),
        "cfg_bottleneck": spec.bottleneck, "cfg_asym": spec.decoder is not None, "cfg_dec": tuple(dec),
        "cfg_activation": spec.activation, "cfg_output": spec.output, "cfg_loss": cfg.loss,
        "cfg_optimizer": cfg.optimizer, "cfg_lr": cfg.lr, "cfg_batch": cfg.batch_size, "cfg_epochs": cfg.epochs,
        "cfg_seed": cfg.seed, "cfg_beta": cfg.beta, "cfg_n_train": n_train,
    }



# -- experiment pages: Bigger bottleneck, Encoder | Decoder, Latent space ---------------------------------
# Defaults as the pages draw them (written out, so this module stays free of torch; tests/test_url_experiments.py
# checks them against the pages). Ranges that depend on the model or the data (a split point, an image index, a
# training-set size) are only bounded loosely here: the page clamps or explains a value its model cannot use.
_SEED_RANGE = dict(low=SEED_MIN, high=SEED_MAX)
BOTTLENECK = {  # pages/bigger_bottleneck.py (its DEFAULTS come from sweep.SweepConfig)
    "cfg_bn_dataset": Field("bn_data", "choice", catalog.DIGITS, "data set", choices=tuple(catalog.DATASETS)),
    "cfg_bn_sizes": Field("bn_sizes", "ints", (2, 4, 8, 16, 32, 64, 128), "bottleneck sizes", low=1,
                          high=2048, as_text=True, max_items=12),  # sweep.MAX_BOTTLENECK, sweep.MAX_RUNS
    "cfg_bn_n_train": Field("bn_n", "int", 500, "training-set size", low=2, high=1_000_000, as_text=True),
    "cfg_bn_hidden": Field("bn_hid", "ints", (256,), "hidden widths", low=1, high=MAX_WIDTH, as_text=True),
    "cfg_bn_epochs": Field("bn_epochs", "int", 150, "epochs", low=1, high=MAX_EPOCHS, as_text=True),
    "cfg_bn_seed": Field("bn_seed", "int", 0, "seed", as_text=True, **_SEED_RANGE),
    "cfg_bn_batch": Field("bn_batch", "int", 64, "batch size", low=1, high=65536, as_text=True),
    "cfg_bn_lr": Field("bn_lr", "float", 0.001, "learning rate", low=1e-7, high=1.0, as_text=True),
}
SPLIT = {  # pages/split.py; defaults of model- or data-dependent boxes are those of its quick model on digits
    "split_at": Field("sp_at", "int", 7, "split point", low=0, high=200),  # 7: the quick model's bottleneck
    "cfg_split_preact": Field("sp_pre", "bool", False, "pre-activation panels"),
    "cfg_split_deep": Field("sp_deep", "ints", (128, 64, 12), "deep side widths", low=1, high=MAX_WIDTH,
                            as_text=True),
    "cfg_split_shallow": Field("sp_shallow", "ints", (32,), "shallow side widths", low=1, high=MAX_WIDTH,
                               as_text=True),
    "cfg_split_code": Field("sp_code", "int", 3, "code size", low=1, high=MAX_WIDTH, as_text=True),
    "cfg_split_epochs": Field("sp_epochs", "int", 30, "epochs", low=1, high=MAX_EPOCHS, as_text=True),
    "cfg_split_n": Field("sp_n", "int", 1438, "training images", low=2, high=1_000_000, as_text=True),
}
LATENT_VIEWS = ("strip (1-number code)", "raw 2D", "raw 3D", "PCA 2D", "PCA 3D", "t-SNE 2D", "t-SNE 3D")
LATENT = {  # pages/latent.py (cfg_ defaults as in its DEFAULTS; the view list depends on the code size)
    "cfg_latent_view": Field("lt_view", "choice", "raw 2D", "code view", choices=LATENT_VIEWS),
    "cfg_latent_tsne_n": Field("lt_tsne", "int", 500, "t-SNE points", low=20, high=100_000, as_text=True),
    "cfg_latent_grid_n": Field("lt_grid", "int", 10, "grid size", low=3, high=20),
    "cfg_latent_span": Field("lt_span", "float", 2.0, "grid reach", low=0.5, high=4.0),
    "latent_from": Field("lt_from", "int", 0, "start image", low=0, high=1_000_000, as_text=True),
    "latent_to": Field("lt_to", "int", 1, "end image", low=0, high=1_000_000, as_text=True),
    "cfg_latent_steps": Field("lt_steps", "int", 8, "interpolation steps", low=3, high=16),
    "cfg_latent_n_samples": Field("lt_samples", "choice", 24, "sample count", choices=(8, 16, 24, 32, 40, 48)),
    "latent_sampler": Field("lt_sampler", "choice", "fitted", "sampler", choices=("fitted", "prior")),
    "latent_seed": Field("lt_seed", "int", 0, "sample seed", low=0, high=1_000_000),
    "latent_cmp_seed": Field("lt_cmp_seed", "int", 0, "comparison seed", low=0, high=1_000_000),
}


# -- experiment pages: Denoising, Anomaly, PCA, Signals --------------------------------------------------
# Defaults as in each page's DEFAULTS (written out here, so this module stays free of torch; tests/test_url_labs.py
# checks them against the pages). The uploaded CSV of the Signals page is not in the URL, only its model settings.
NOISE_KINDS = ("gaussian", "salt_pepper", "mask")  # aelab.noise.KINDS
# MAX_N_TRAIN (spec): a "Training images" box; the page itself caps it at the data set's size
DENOISING = {  # pages/denoising.py
    "cfg_dn_dataset": Field("dn_data", "choice", catalog.DIGITS, "data set", choices=tuple(catalog.DATASETS)),
    "cfg_dn_noise": Field("dn_noise", "choice", "gaussian", "noise", choices=NOISE_KINDS),
    "cfg_dn_level": Field("dn_level", "float", 0.3, "noise level", low=1e-6, high=1.0, as_text=True),
    "cfg_dn_hidden": Field("dn_hid", "ints", (128,), "hidden layer", low=1, high=MAX_WIDTH, as_text=True),
    "cfg_dn_bottleneck": Field("dn_code", "int", 16, "code size", low=1, high=MAX_WIDTH, as_text=True),
    "cfg_dn_epochs": Field("dn_epochs", "int", 40, "epochs", low=1, high=MAX_EPOCHS, as_text=True),
    "cfg_dn_copies": Field("dn_copies", "int", 4, "noisy copies", low=1, high=10, as_text=True),
    "cfg_dn_n_train": Field("dn_n", "int", None, "training images", low=10, high=MAX_N_TRAIN, as_text=True,
                            blank=True),
}
ANOMALY = {  # pages/anomaly.py
    "cfg_an_dataset": Field("an_data", "choice", catalog.DIGITS, "data set", choices=tuple(catalog.DATASETS)),
    "cfg_an_normal": Field("an_normal", "choices", (0, 1, 2, 4, 5, 6, 7, 8, 9), "normal classes",
                           choices=tuple(range(10))),
    "cfg_an_hidden": Field("an_hid", "ints", (128,), "hidden layer", low=1, high=MAX_WIDTH, as_text=True),
    "cfg_an_bottleneck": Field("an_code", "int", 8, "code size", low=1, high=MAX_WIDTH, as_text=True),
    "cfg_an_epochs": Field("an_epochs", "int", 60, "epochs", low=1, high=MAX_EPOCHS, as_text=True),
    "cfg_an_sizes": Field("an_sizes", "ints", (2, 4, 8, 16, 32), "compared code size", low=1, high=MAX_WIDTH,
                          as_text=True),
    "cfg_an_n_train": Field("an_n", "int", None, "training images", low=10, high=MAX_N_TRAIN, as_text=True,
                            blank=True),
}
PCA = {  # pages/pca.py
    "cfg_pca_dataset": Field("pca_data", "choice", catalog.DIGITS, "data set", choices=tuple(catalog.DATASETS)),
    "cfg_pca_k": Field("pca_k", "int", 8, "code size k", low=1, high=64),
    "cfg_pca_n_train": Field("pca_n", "choice", 2000, "training samples",
                             choices=(500, 1000, 2000, 5000, 10000, "all")),
    "cfg_pca_epochs": Field("pca_epochs", "int", 120, "epochs", low=1, high=MAX_EPOCHS, as_text=True),
    "cfg_pca_lr": Field("pca_lr", "float", 0.01, "learning rate", low=1e-7, high=1.0, as_text=True),
    "cfg_pca_decay": Field("pca_decay", "bool", True, "learning-rate steps"),
    "cfg_pca_hidden": Field("pca_hid", "int", 64, "hidden width", low=1, high=4096, as_text=True),
    "cfg_pca_activation": Field("pca_act", "choice", "relu", "activation",
                                choices=tuple(a for a in ACTIVATIONS if a != "identity")),
    "cfg_pca_seed": Field("pca_seed", "int", 0, "seed", low=SEED_MIN, high=SEED_MAX, as_text=True),
}
SIGNALS = {  # pages/signals.py: the generated-signals lab, and the model settings of the CSV tab
    "cfg_sig_channels": Field("sig_ch", "int", 3, "channels", low=1, high=6),
    "cfg_sig_noise": Field("sig_noise", "float", 0.05, "sensor noise", low=0.0, high=0.2),
    "cfg_sig_hidden": Field("sig_hid", "ints", (128, 64), "hidden layer", low=1, high=MAX_WIDTH, as_text=True),
    "cfg_sig_bottleneck": Field("sig_code", "int", 8, "bottleneck", low=1, high=4096, as_text=True),
    "cfg_sig_epochs": Field("sig_epochs", "int", 40, "epochs", low=1, high=MAX_EPOCHS, as_text=True),
    "cfg_sig_lr": Field("sig_lr", "float", 0.003, "learning rate", low=1e-7, high=1.0, as_text=True),
    "cfg_sig_score": Field("sig_score", "choice", "max", "anomaly score", choices=("mean", "max")),
    "cfg_csv_hidden": Field("sig_csv_hid", "ints", (32,), "table hidden layer", low=1, high=MAX_WIDTH,
                            as_text=True),
    "cfg_csv_bottleneck": Field("sig_csv_code", "int", 3, "table bottleneck", low=1, high=4096, as_text=True),
    "cfg_csv_epochs": Field("sig_csv_epochs", "int", 150, "table epochs", low=1, high=MAX_EPOCHS, as_text=True),
    "cfg_csv_lr": Field("sig_csv_lr", "float", 0.003, "table learning rate", low=1e-7, high=1.0, as_text=True),
}
