"""Shareable setups: a page's settings <-> URL query parameters and widget state, as pure functions (no Streamlit).

A schema is a settings.Form (session key -> fields.Field; fields without a URL name are skipped). `encode` writes
settings as strings for the URL; `decode` reads them back with the same parser the page uses (fields.parse) and
never raises: a missing value takes the default, a bad or tampered one takes the default and adds a note saying what
was ignored. The schemas themselves are declared once, in aelab/settings.py.
"""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlencode

from aelab.fields import Field, box_text, format_value, parse  # noqa: F401 - Field, parse: the URL's field and parser

Schema = Mapping[str, Field]  # session-state key -> Field


def safe_text(raw: Any, limit: int = 24) -> str:
    """A value shortened and stripped to harmless characters, for quoting it in a note (no markdown)."""
    text = "".join(c if c.isascii() and (c.isalnum() or c in ".,-+=:'() ") else "?" for c in str(raw)[:limit])
    return text + ("…" if len(str(raw)) > limit else "")


def _linked(schema: Schema):
    """The schema's fields that travel in the URL."""
    return ((k, f) for k, f in schema.items() if f.param)


def encode(settings: Mapping[str, Any], schema: Schema) -> dict[str, str]:
    """Settings {session key: value} -> query parameters {param: text}; keys outside the schema are skipped."""
    out = {}
    for key, field in _linked(schema):
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
    for key, field in _linked(schema):
        if field.param not in query:
            if not present_only:
                settings[key] = field.default
            continue
        raw = query[field.param]
        try:
            settings[key] = parse(field, raw)
        except Exception as exc:  # noqa: BLE001 - a tampered URL must never crash a page
            settings[key] = field.default
            reason = str(exc).rstrip(".") if isinstance(exc, ValueError) else "it could not be read"
            reason = reason[:1].lower() + reason[1:]
            shown = raw[-1] if isinstance(raw, (list, tuple)) and raw else raw
            notes.append(f"The link's {field.name} ('{safe_text(shown)}') was ignored: {safe_text(reason, 120)}. "
                         f"Using {format_value(field, field.default) or 'none'} instead.")
            continue
        if isinstance(raw, (list, tuple)) and len(raw) > 1:  # parse used the last one; say so
            notes.append(f"The link gives the {field.name} {len(raw)} times; the last one ('{safe_text(raw[-1])}') "
                         "was used.")
            continue
        if isinstance(raw, (list, tuple)) and len(raw) > 1:  # parse used the last one; say so
            notes.append(f"The link gives the {field.name} {len(raw)} times; the last one ('{safe_text(raw[-1])}') "
                         "was used.")
    return settings, notes


def restrict(query: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    """Only the query parameters this schema owns."""
    params = {f.param for _, f in _linked(schema)}
    return {k: v for k, v in query.items() if k in params}


# -- widget state <-> settings -------------------------------------------------------------------
def state_updates(schema: Schema, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings -> session-state values as the widgets hold them: text for a text box ("64, 32" for a list), a
    list for a multiselect, the value itself for the other widgets.

    A "layers" widget under key K is stored the way it draws one text box per layer: K_n (the number of layers)
    and K_0, K_1, ... (each width as text).
    """
    out: dict[str, Any] = {}
    for key, value in settings.items():
        field = schema.get(key)
        if field is None:
            continue
        if field.widget == "layers":
            out[f"{key}_n"] = len(value)
            out.update({f"{key}_{i}": str(w) for i, w in enumerate(value)})
        elif field.widget == "text":
            out[key] = box_text(field, value)
        elif field.kind == "choices":  # a multiselect holds a list
            out[key] = list(value)
        else:
            out[key] = value
    return out


def read_state(schema: Schema, state: Mapping[str, Any]) -> dict[str, Any]:
    """The current settings from session state; values that are missing or do not parse are left out."""
    settings = {}
    for key, field in _linked(schema):
        try:
            if field.widget == "layers":
                n = state[f"{key}_n"]
                raw = ",".join(str(state[f"{key}_{i}"]).strip() for i in range(int(n)))
            else:
                raw = state[key]
                if not isinstance(raw, str):
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

