"""How one setting is declared (Field), parsed from text and checked, with learner-facing messages (SpecError).

`parse` and `check` are the one validation path of every value: a page's widgets (ui.field), a link (share) and
the labs' own checks (Form.check) all call them. The declarations themselves are in aelab/settings.py.
"""
from __future__ import annotations

import dataclasses
import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from aelab.limits import MAX_LAYERS, MAX_WIDTH

MAX_RAW = 200  # longest raw value looked at (URL or text box); longer ones are refused unread


# -- learner-facing messages ---------------------------------------------------------------------------------
class SpecError(ValueError):
    """A learner-facing message about one input; `field` names the control it belongs to."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@dataclass
class Check:
    """Result of validating settings: errors block the action, notes are shown but allow it."""

    errors: list[SpecError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, message: str, field: str = "") -> None:
        self.errors.append(SpecError(message, field))

    def add(self, other: Check) -> Check:
        """Take over another check's errors and (new) notes; returns self."""
        self.errors += other.errors
        self.notes += [n for n in other.notes if n not in self.notes]
        return self


def _whole(text, name: str, field: str = "") -> int:
    """Text -> a whole number, or SpecError saying what to type."""
    raw = str(text).strip()
    if not raw:
        raise SpecError(f"{name} is empty: type a whole number such as 64.", field)
    try:
        value = float(raw)
    except ValueError:
        raise SpecError(f"{name} must be a whole number, not '{raw[:20]}'.", field) from None
    if not math.isfinite(value) or value != int(value):
        raise SpecError(f"{name} must be a whole number, not '{raw[:20]}'.", field)
    return int(value)


def _num(x: float) -> str:
    """1438 -> '1,438', 2**31 - 1 -> '2,147,483,647', 0.5 -> '0.5'."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,g}"


def _at_least(value: int, low: float, name: str, field: str = "") -> None:
    if value < low:
        raise SpecError(f"{name} must be at least {_num(low)} (got {_num(value)}).", field)


def _at_most(value: int, high: float, name: str, field: str = "", why: str = "") -> None:
    if value > high:
        raise SpecError(f"{name} must be at most {_num(high)}{', ' + why if why else ''} (got {_num(value)}).", field)


def parse_int(text, name: str, *, low: int = 1, high: int | None = None, field: str = "") -> int:
    """Parse a whole number typed by the learner (at least `low`, at most `high`), or raise SpecError."""
    value = _whole(text, name, field)
    _at_least(value, low, name, field)
    if high is not None:
        _at_most(value, high, name, field)
    return value


def parse_float(text, name: str, *, field: str = "") -> float:
    """Parse a real number typed by the learner, or raise SpecError."""
    raw = str(text).strip()
    try:
        value = float(raw)
    except ValueError:
        raise SpecError(f"{name} must be a number such as 0.001, not '{raw[:20]}'.", field) from None
    if not math.isfinite(value):
        raise SpecError(f"{name} must be a finite number.", field)
    return value


def parse_widths(texts, name: str = "Layer width", field: str = "") -> tuple[int, ...]:
    """Parse a list of widths (strings or ints, or one comma-separated string)."""
    if isinstance(texts, str):
        texts = [t for t in texts.replace(";", ",").split(",")] if texts.strip() else []
    if len(texts) > MAX_LAYERS:
        raise SpecError(f"At most {MAX_LAYERS} hidden layers per side (got {len(texts)}).", field)
    return tuple(parse_int(t, f"{name} {i + 1}", high=MAX_WIDTH, field=field) for i, t in enumerate(texts))


def parse_fields(parsers: dict) -> tuple[dict, list[SpecError]]:
    """Run every `name -> parse()` and collect all SpecErrors, so the learner sees every problem at once."""
    values, errors = {}, []
    for name, parse_one in parsers.items():
        try:
            values[name] = parse_one()
        except SpecError as err:
            errors.append(err)
    return values, errors


# -- one setting -------------------------------------------------------------------------------------------
VALUE_KINDS = ("int", "float", "choice", "choices", "bool", "ints", "text")  # fix the URL format and the parsing
WIDGETS = {  # widget kind -> what ui.field draws; switching a field's widget never changes its URL format
    "text": "a text box (the state holds text; any kind)",
    "number": "st.number_input (int, float)",
    "slider": "st.slider (int, float: low..high by step)",
    "log_slider": "a slider over log-spaced values (float: a learning rate)",
    "select": "st.selectbox (choice)",
    "radio": "st.radio, horizontal (choice)",
    "select_slider": "st.select_slider (choice)",
    "toggle": "st.toggle (bool)",
    "multiselect": "st.multiselect (choices)",
    "layers": "one text box per layer with + and - buttons (ints: layer widths)",
}
DEFAULT_WIDGET = {"int": "number", "float": "number", "choice": "select", "choices": "multiselect", "bool": "toggle",
                  "ints": "text", "text": "text"}
CONTEXT = {  # what a data-dependent bound is, for messages ("... at most 1,438, the training images ...")
    "n_available": "the number of training images in this data set",
    "input_dim": "the number of values in one input",
    "n_test": "the last held-out image",
}


@dataclass(frozen=True)
class Field:
    """One setting: everything else (widget, URL parameter, parsing, default, dataclass argument) derives from it."""

    param: str  # URL query parameter ("lr"): never rename one, links made before would lose it; "" = not in the URL
    kind: str  # value kind (VALUE_KINDS): fixes the URL format and how text is parsed
    default: Any  # what a fresh page shows, as a value (not text); per data set see `by_dataset`
    name: str = ""  # how messages and link notes name it ("learning rate"); default: the label in lower case
    choices: tuple = ()  # allowed values of a "choice" / "choices" field
    low: float | None = None  # smallest allowed number ("int", "float", each of "ints")
    high: float | None = None  # largest allowed number (tightened by `high_from` when the data is known)
    max_len: int = 0  # longest accepted raw value, in characters; 0 = 60, or room for max_items numbers
    omit_default: bool = False  # leave the parameter out of the URL while the value is the default
    blank: bool = False  # "int": an empty value is allowed and means None (a box where blank = all)
    max_items: int = MAX_LAYERS  # "ints": most numbers in the list
    # -- how the page draws it
    widget: str = ""  # a key of WIDGETS; "" = DEFAULT_WIDGET of the kind
    label: str = ""  # the widget's label ("Learning rate"); default: the name with a capital letter
    help: str = ""  # the widget's tooltip: what the setting does, in the learner's words
    step: float | None = None  # sliders' step; "int": values move from `low` in steps of this
    labels: Mapping | None = field(default=None, compare=False)  # choice -> text shown for it
    # -- how its values are checked
    above: bool = False  # "float": strictly above `low` (a learning rate of 0 learns nothing)
    high_from: str = ""  # a CONTEXT key whose value tightens `high` when the data set is known
    hint: str = ""  # appended to a range message: what to try
    min_items: int = 0  # "ints": fewest numbers
    unique: bool = False  # "ints": each number at most once
    item: str = ""  # "ints": how one number is named in messages ("hidden width"); default: the name
    items: str = ""  # "ints": how the list is counted when it is too long ("hidden layers per side")
    # -- the settings dataclass it fills
    arg: str = ""  # the dataclass argument ("batch_size"); "" = only the page uses it
    none_as: Any = None  # the value that stands for None in the dataclass ("all" = the whole training set)
    sort: bool = False  # "ints" / "choices": the dataclass gets them sorted, each once
    by_dataset: Mapping = field(default_factory=dict, compare=False)  # data set key -> default there

    def __post_init__(self):
        if self.kind not in VALUE_KINDS:
            raise ValueError(f"unknown value kind '{self.kind}'")
        widget = self.widget or DEFAULT_WIDGET[self.kind]
        if widget not in WIDGETS:
            raise ValueError(f"unknown widget '{widget}'")
        object.__setattr__(self, "widget", widget)
        name = self.name or self.label.lower() or self.param
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "label", self.label or name[:1].upper() + name[1:])
        if not self.max_len:
            digits = len(str(int(self.high))) if self.high is not None else 6
            object.__setattr__(self, "max_len", self.max_items * (digits + 2) + 10 if self.kind == "ints" else 60)

    @property
    def as_text(self) -> bool:
        """The widget holds the value as text (a text box): session state gets str."""
        return self.widget == "text"

    @property
    def title(self) -> str:
        """The name at the start of a sentence."""
        return self.name[:1].upper() + self.name[1:]

    def default_for(self, dataset: str | None = None) -> Any:
        """The default on this data set (a per-data-set default, else the plain one)."""
        return self.by_dataset.get(dataset, self.default)

    def show(self, value) -> str:
        """A choice as the learner reads it."""
        return str(self.labels.get(value, value)) if self.labels else str(value)


def check(f: Field, value: Any, context: Mapping | None = None, high: float | None = None) -> None:
    """Raise SpecError unless `value` is allowed: the one check behind the page, the URL and the labs.

    `context` holds what the data set fixes (CONTEXT keys: "n_available", "input_dim"); `high` overrides the
    declared upper bound for this call (a page that knows its model's range)."""
    where = f.arg or f.param
    if value is None:
        if f.blank:
            return
        raise SpecError(f"{f.title} is missing.", where)
    why = ""
    if high is None:
        high = f.high
        if f.high_from and context and context.get(f.high_from) is not None:
            bound = context[f.high_from]
            if high is None or bound < high:
                high, why = bound, CONTEXT[f.high_from]
    if f.kind == "choice":
        if value not in f.choices:
            raise SpecError(f"Unknown {f.name} '{str(value)[:24]}': choose one of "
                            + ", ".join(str(c) for c in f.choices[:12]) + ".", where)
    elif f.kind == "choices":
        bad = [v for v in value if v not in f.choices]
        if bad:
            raise SpecError(f"'{str(bad[0])[:24]}' is not one of the {f.name}: " + ", ".join(map(str, f.choices[:12]))
                            + ".", where)
        if len(set(value)) != len(value):
            raise SpecError(f"The {f.name} name one value twice.", where)
    elif f.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{f.title} must be a whole number.", where)
        _int_range(f, value, f.title, high, why)
    elif f.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(f"{f.title} must be a number.", where)
        low_ok = f.low is None or (value > f.low if f.above else value >= f.low)
        if not math.isfinite(value) or not low_ok or (high is not None and value > high):
            low_text = "" if f.low is None else (f"above {f.low:g}" if f.above else f"{f.low:g} or more")
            parts = [p for p in (low_text, "" if high is None else f"at most {high:g}") if p]
            raise SpecError(f"{f.title} must be {' and '.join(parts)} (got {value:g})" +
                            (f": {f.hint}" if f.hint else "."), where)
    elif f.kind == "ints":
        values = tuple(value)
        if len(values) > f.max_items:
            _too_many(f, len(values))
        if len(values) < f.min_items:
            example = ", ".join(map(str, f.default or (2, 4, 8)))
            raise SpecError(f"The list of {f.name} is empty: type numbers such as {example}.", where)
        dupes = sorted({v for v in values if values.count(v) > 1})
        if f.unique and dupes:
            raise SpecError(f"Each {f.item or f.name} may appear once; {', '.join(map(str, dupes))} appears more "
                            "than once.", where)
        item = (f.item or f.name)
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, int):
                raise SpecError(f"{item[:1].upper() + item[1:]} {i + 1} must be a whole number.", where)
            _int_range(f, v, f"{item[:1].upper() + item[1:]} {i + 1}", high, why)


def _too_many(f: Field, n: int) -> None:
    raise SpecError(f"At most {f.max_items} {f.items or f.name} (you typed {n})" + (f": {f.hint}" if f.hint else "."),
                    f.arg or f.param)


def _int_range(f: Field, value: int, name: str, high: float | None, why: str) -> None:
    where = f.arg or f.param
    if f.low is not None:
        _at_least(value, f.low, name, where)
    if high is not None:
        _at_most(value, high, name, where, why)
    if f.step and f.low is not None and (value - f.low) % f.step:
        raise SpecError(f"{name} moves in steps of {f.step:g} from {f.low:g} (got {value:,}).", where)


def parse(f: Field, raw: Any, context: Mapping | None = None, high: float | None = None) -> Any:
    """Raw text (a URL value, a text box) -> the field's value, checked; SpecError says what to change."""
    if isinstance(raw, (list, tuple)):  # a repeated URL parameter: the last one counts
        raw = raw[-1] if raw else ""
    if not isinstance(raw, str):
        raw = str(raw)
    where = f.arg or f.param
    if f.kind == "ints" and len(raw) <= MAX_RAW and len(raw.replace(";", ",").replace(",", " ").split()) > f.max_items:
        _too_many(f, len(raw.replace(";", ",").replace(",", " ").split()))  # say "too many", not "too long"
    if len(raw) > min(f.max_len, MAX_RAW):
        raise SpecError(f"{f.title} is longer than {f.max_len} characters.", where)
    text = raw.strip()
    if f.kind in ("int", "float", "ints") and not text.isascii():
        what = "a number such as 0.001" if f.kind == "float" else "a whole number"
        raise SpecError(f"{f.title} must be {what} written with the digits 0-9.", where)
    if f.kind == "choice":
        value = next((c for c in f.choices if str(c) == text), text)
    elif f.kind == "choices":  # several of `choices`, comma separated
        items = [t.strip() for t in text.split(",")] if text else []
        value = tuple(next((c for c in f.choices if str(c) == item), item) for item in items)
        if len(value) > len(f.choices):
            raise SpecError(f"The {f.name} list more values than there are.", where)
    elif f.kind == "bool":
        if text.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise SpecError(f"{f.title} must be 1 (on) or 0 (off).", where)
        value = text.lower() in ("1", "true", "yes", "on")
    elif f.kind == "int":
        value = None if f.blank and not text else _whole(text, f.title, where)
    elif f.kind == "float":
        value = parse_float(text, f.title, field=where)
    elif f.kind == "ints":  # one box of numbers, separated by commas, semicolons or spaces
        items = [item.strip() for item in text.replace(";", ",").split(",")] if text else []
        if "" in items:
            raise SpecError(f"{f.title} has an empty entry between two commas: remove the extra comma.", where)
        parts = [p for item in items for p in item.split()]
        if len(parts) > f.max_items:  # before reading them: a long list gets one message, not one per number
            _too_many(f, len(parts))
        item = f.item or f.name
        value = tuple(_whole(p, f"{item[:1].upper() + item[1:]} {i + 1}", where) for i, p in enumerate(parts))
    else:  # "text"
        if any(unicodedata.category(c).startswith("C") for c in text):
            raise SpecError(f"{f.title} contains control characters.", where)
        value = text
    check(f, value, context, high)
    return value


def parse_items(f: Field, texts: list[str], context: Mapping | None = None) -> tuple[int, ...]:
    """One text per number (a box per layer) -> the "ints" field's value, checked; the message names the box."""
    if len(texts) > f.max_items:
        _too_many(f, len(texts))
    item = f.item or f.name
    value = tuple(_whole(t, f"{item[:1].upper() + item[1:]} {i + 1}", f.arg or f.param) for i, t in enumerate(texts))
    check(f, value, context)
    return value


def parse_values(form: Mapping[str, Field], raws: Mapping[str, Any],
                 context: Mapping | None = None) -> tuple[dict[str, Any], list[SpecError]]:
    """Raw texts (key -> what the learner typed) -> (key -> value, every problem), so all messages show at once."""
    values, errors = {}, []
    for key, raw in raws.items():
        try:
            values[key] = parse(form[key], raw, context)
        except SpecError as err:
            errors.append(err)
    return values, errors


def build(form: Mapping[str, Field], make, values: Mapping[str, Any], errors: list | None, check_made,
          skip: tuple[str, ...] = ("dataset",)):
    """Page values -> the settings object `make(**kwargs)` checked by `check_made(obj) -> Check`: (the object, or None
    when a value did not parse or the check failed; the messages). `skip`: arguments the object does not take."""
    if errors:
        return None, Check(errors=list(errors))
    obj = make(**{k: v for k, v in form.kwargs(values).items() if k not in skip})
    more = check_made(obj)
    return (obj if more.ok else None), more


def format_value(f: Field, value: Any) -> str:
    """A value as URL text (the inverse of `parse`)."""
    if f.kind == "bool":
        return "1" if value else "0"
    if value is None:  # a blank "int"
        return ""
    if f.kind == "ints":
        return ",".join(str(int(w)) for w in value)
    if f.kind == "choices":
        return ",".join(str(c) for c in value)
    if f.kind == "float":
        return repr(float(value))
    return str(value)


def box_text(f: Field, value: Any) -> str:
    """A value as a text box shows it ("64, 32" for a list)."""
    return ", ".join(str(int(w)) for w in value) if f.kind == "ints" else format_value(f, value)


# -- a page's settings ----------------------------------------------------------------------------------
class Form(dict):
    """A page's settings: session-state key -> Field, in the order the page draws them."""

    def field(self, arg: str) -> Field:
        """The field that fills the dataclass argument `arg`."""
        for f in self.values():
            if f.arg == arg:
                return f
        raise KeyError(f"no field fills '{arg}'")

    def default(self, arg: str) -> Any:
        """The default of the dataclass argument `arg`, as the dataclass holds it (none_as -> None)."""
        f = self.field(arg)
        return _to_arg(f, f.default)

    def dataclass_default(self, arg: str):
        """A dataclass field whose default is read from this form when an object is made (one definition)."""
        return dataclasses.field(default_factory=lambda: self.default(arg))

    def defaults(self, dataset: str | None = None) -> dict[str, Any]:
        """key -> default value on this data set."""
        return {k: f.default_for(dataset) for k, f in self.items()}

    @property
    def schema(self) -> dict[str, Field]:
        """The fields that travel in the URL (those with a parameter name)."""
        return {k: f for k, f in self.items() if f.param}

    def kwargs(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Page values (key -> value) -> keyword arguments of the settings dataclass."""
        return {self[k].arg: _to_arg(self[k], v) for k, v in values.items() if k in self and self[k].arg}

    def check(self, obj: Any, context: Mapping | None = None, args: Iterable[str] | None = None) -> list[SpecError]:
        """Every field with an argument that `obj` has (or only `args`), checked by `check`: the labs' own check
        and the page's parsing are the same function."""
        errors = []
        wanted = set(args) if args is not None else None
        for f in self.values():
            if not f.arg or not hasattr(obj, f.arg) or (wanted is not None and f.arg not in wanted):
                continue
            value = getattr(obj, f.arg)
            if value is None:
                if f.none_as is None:
                    continue  # None is the dataclass's own "not set" (a mirrored decoder, all images)
                value = f.none_as
            try:
                check(f, value, context)
            except SpecError as err:
                errors.append(err)
        return errors


def _to_arg(f: Field, value: Any) -> Any:
    if f.none_as is not None and value == f.none_as:
        return None
    if f.sort and value is not None:
        return tuple(sorted(set(value)))
    return value
