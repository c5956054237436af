"""Link (URL query) messages that used to mislead: list bounds named wrongly, a repeated parameter dropped silently.

Run: python -m pytest tests/test_link_messages.py
"""
from streamlit.testing.v1 import AppTest

from aelab import settings as forms, share
from conftest import ROOT, shown


def test_a_list_value_below_its_bound_names_the_fields_own_minimum():
    """bn_sizes=-5 says the bottleneck sizes must be at least 1 (the field's minimum), not 'at least 0'."""
    settings, notes = share.decode({"bn_sizes": "-5"}, forms.BOTTLENECK)
    assert settings["cfg_bn_sizes"] == forms.BOTTLENECK["cfg_bn_sizes"].default
    assert len(notes) == 1 and "at least 1" in notes[0] and "at least 0" not in notes[0]
    _, notes = share.decode({"bn_sizes": "4,9999"}, forms.BOTTLENECK)
    assert "at most 2,048" in notes[0]


def test_a_repeated_parameter_is_reported_with_the_value_used():
    """A name given twice uses the last value and adds a note saying so (it used to drop one silently)."""
    settings, notes = share.decode({"lr": ["0.01", "0.02"], "epochs": "5"}, forms.BUILD_TRAIN, present_only=True)
    assert settings == {"cfg_lr": 0.02, "cfg_epochs": 5}
    assert notes == ["The link gives the learning rate 2 times; the last one ('0.02') was used."]


def test_a_repeated_parameter_in_the_address_is_reported_on_the_page_and_folded():
    """On Build & Train, ?epochs=5&epochs=7 trains for 7 epochs, the page says a value was given twice, and the
    address keeps one value."""
    at = AppTest.from_file(str(ROOT / "pages" / "build_train.py"), default_timeout=60)
    at.query_params["epochs"] = ["5", "7"]
    at.run()
    assert not at.exception
    assert at.number_input(key="cfg_epochs").value == 7
    notes = " ".join(shown(w.value) for w in at.warning)
    assert "gives the epochs 2 times; the last one ('7') was used" in notes
    assert at.query_params["epochs"] == "7"
