"""Tests for aelab.spec: parsing learner input and validating architectures/settings with clear messages."""
import pytest

from aelab.spec import (MAX_PARAMS, ArchSpec, SpecError, TrainConfig, check_arch, check_train, parse_float,
                        parse_int, parse_widths)


@pytest.mark.parametrize("text,needle", [("", "empty"), ("  ", "empty"), ("abc", "whole number"),
                                         ("1.5", "whole number"), ("0", "at least 1"), ("-3", "at least 1"),
                                         ("nan", "whole number"), ("inf", "whole number"), ("١٢", None),
                                         ("12a", "whole number"), ("99999999", "at most")])
def test_parse_int_rejects_bad_text_with_a_message(text, needle):
    """Bad widths raise SpecError whose message says what to type (never a bare ValueError)."""
    try:
        value = parse_int(text, "Width", high=16384)
    except SpecError as exc:
        assert needle is None or needle in str(exc)
        assert "Width" in str(exc)
    else:  # unicode digits are valid numbers to Python; then the value must be the number they spell
        assert needle is None and value == 12


def test_parse_widths_accepts_lists_and_comma_text():
    """Widths parse from a list of strings or one comma-separated string."""
    assert parse_widths(["128", " 64 ", "12"]) == (128, 64, 12)
    assert parse_widths("128, 64;12") == (128, 64, 12)
    assert parse_widths("") == ()
    with pytest.raises(SpecError, match="layer 2"):
        parse_widths(["8", "x"], "layer")


def test_parse_float_rejects_non_numbers():
    """Learning rates must be finite numbers."""
    assert parse_float("1e-3", "lr") == 0.001
    for bad in ("", "fast", "nan", "inf"):
        with pytest.raises(SpecError):
            parse_float(bad, "lr")


def test_param_count_matches_a_by_hand_count():
    """784-128-64-12-3 mirrored has the parameter count computed by hand."""
    spec = ArchSpec(784, (128, 64, 12), 3)
    by_hand = (784 * 128 + 128 + 128 * 64 + 64 + 64 * 12 + 12 + 12 * 3 + 3) + \
              (3 * 12 + 12 + 12 * 64 + 64 + 64 * 128 + 128 + 128 * 784 + 784)
    assert spec.param_count == by_hand
    assert spec.describe() == "784-128-64-12-3-12-64-128-784"
    assert spec.compression == pytest.approx(784 / 3)


def test_check_arch_caps_parameters_and_notes_wide_codes():
    """Too many parameters is an error; a code as wide as the input is allowed with a note."""
    huge = check_arch(ArchSpec(784, (8192, 8192), 3))
    assert not huge.ok and f"{MAX_PARAMS:,}" in str(huge.errors[0])
    wide = check_arch(ArchSpec(64, (128,), 100))
    assert wide.ok and any("copy" in n for n in wide.notes)
    narrow_hidden = check_arch(ArchSpec(64, (2,), 8))
    assert narrow_hidden.ok and any("narrower than the bottleneck" in n for n in narrow_hidden.notes)


def test_check_train_messages():
    """Learning rate 0 or huge, BCE without Sigmoid and a too-large training set are refused with reasons."""
    spec = ArchSpec(64, (32,), 2, output="none")
    assert "above 0" in str(check_train(TrainConfig(lr=0.0)).errors[0])
    assert "blow up" in str(check_train(TrainConfig(lr=50.0)).errors[0])
    assert any("Sigmoid" in str(e) for e in check_train(TrainConfig(loss="bce"), spec).errors)
    assert check_train(TrainConfig(loss="bce"), ArchSpec(64, (32,), 2)).ok
    assert "only 1,000" in str(check_train(TrainConfig(n_train=5000), n_available=1000).errors[0])
    assert check_train(TrainConfig(lr=0.2)).notes  # high for Adam: allowed, with a warning


def test_parse_fields_collects_every_error():
    """parse_fields runs every parser and returns all messages at once, plus the values that parsed."""
    from aelab.spec import parse_fields

    values, errors = parse_fields({"a": lambda: parse_int("4", "A"), "b": lambda: parse_int("x", "B"),
                                   "c": lambda: parse_float("", "C")})
    assert values == {"a": 4}
    assert [e.args[0].split(" ")[0] for e in errors] == ["B", "C"]


def test_beta_is_bounded():
    """A KL weight above MAX_BETA is refused with a reason (it would turn every code into noise)."""
    from aelab.spec import MAX_BETA

    assert check_train(TrainConfig(beta=MAX_BETA)).ok
    assert "swamps" in str(check_train(TrainConfig(beta=MAX_BETA * 10)).errors[0])
