"""AppTest of the 'Not only images' page: signals lab and the CSV path (via the built-in sample table).

Uploads themselves are covered by the pure validator tests in test_signals.py.
Run: python -m pytest tests/test_page_signals.py
"""
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, shown, wait_for_jobs


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "signals.py"), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def texts(elements) -> str:
    return " ".join(shown(str(e.value)) for e in elements)


def test_page_shows_the_data_before_training():
    """Before training: the data description, a hint to train, and the Train button enabled."""
    at = page()
    assert "3,000 normal training windows" in texts(at.caption)
    assert "Train on signals" in texts(at.info)
    assert not at.button(key="sig_train_btn").disabled


def test_signals_training_shows_detection_results():
    """A short run trains in the background; its results wait for a prediction; then the prediction against the
    hardest glitch kind measured, AUC, counts and the measured explanation render."""
    at = page()
    at.text_input(key="cfg_sig_epochs").set_value("3")
    at.button(key="sig_train_btn").click().run()
    wait_for_jobs()
    at.run()
    at.run()
    assert not at.exception
    assert "Commit your prediction" in texts(at.info) and not at.metric
    at.radio(key="predict_signals").set_value("drift").run()
    at.button(key="predict_signals_commit").click().run()
    assert "You predicted **A drift (a slow slope)**" in texts(at.success) + texts(at.info)
    labels = [m.label for m in at.metric]
    assert labels == ["ROC AUC", "Glitches caught", "False alarms"]
    auc = float(at.metric[0].value)
    assert 0.0 <= auc <= 1.0
    assert f"ROC AUC {auc:.3f}" in texts(at.markdown)
    at.radio(key="cfg_sig_score").set_value("mean").run()
    assert not at.exception
    assert "mean squared error over the window" in texts(at.markdown)
    assert at.session_state["signals_result"].run.epochs_done == 3


def test_csv_sample_trains_and_shows_per_column_errors():
    """The sample table passes validation, trains, and shows per-column errors and the worst rows."""
    at = page()
    at.button(key="csv_sample_btn").click().run()
    assert "wine.csv: 178 rows × 13 numeric columns" in texts(at.success)
    at.text_input(key="cfg_csv_epochs").set_value("5")
    at.button(key="csv_train_btn").click().run()
    wait_for_jobs()
    at.run()
    at.run()
    assert not at.exception
    assert "Hardest to rebuild" in texts(at.markdown)
    assert len(at.dataframe) == 2  # the scaled preview and the worst rows


@pytest.mark.parametrize("key,value,needle", [
    ("cfg_sig_bottleneck", "x", "whole number"),
    ("cfg_sig_hidden", "64, abc", "whole number"),
    ("cfg_sig_epochs", "0", "at least 1"),
    ("cfg_sig_lr", "2", "blow up"),
])
def test_bad_signal_settings_disable_train(key, value, needle):
    """Bad values get a clear message and Train is disabled, without an exception."""
    at = page()
    at.text_input(key=key).set_value(value).run()
    assert not at.exception
    assert needle in texts(at.error)
    assert at.button(key="sig_train_btn").disabled


def test_a_new_upload_replaces_the_old_refusal_even_with_the_same_name_and_size():
    """A corrected file of the same name and byte size is read again: the old refusal does not stay."""
    good = ("a,b,c\n" + "".join(f"{i},{i * i % 17},{i % 5}\n" for i in range(40))).encode()
    bad = good[:10] + b"\x00" + good[11:]  # one byte changed: refused as a binary file
    at = page()
    at.file_uploader(key="csv_upload").set_value(("table.csv", bad, "text/csv")).run()
    assert "binary file" in texts(at.error)
    at.file_uploader(key="csv_upload").set_value(("table.csv", good, "text/csv")).run()
    assert not at.exception and not at.error
    assert "table.csv: 40 rows × 3 numeric columns" in texts(at.success)
