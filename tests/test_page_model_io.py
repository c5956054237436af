"""AppTest of the Save & load page: downloads, a valid upload, and refused uploads that leave the model alone.

Run: python -m pytest tests/test_page_model_io.py
"""
import copy
import io
import os

import pytest
import torch
from streamlit.testing.v1 import AppTest

from aelab import checkpoint, runs
from aelab.spec import ArchSpec, TrainConfig
from conftest import ROOT, shown


@pytest.fixture(scope="module")
def session_run(digits):
    return runs.train_run(digits, ArchSpec(64, (16,), 2), TrainConfig(epochs=1, batch_size=256))


@pytest.fixture(scope="module")
def other_run(digits):
    return runs.train_run(digits, ArchSpec(64, (24, 12), 5), TrainConfig(epochs=1, batch_size=256, seed=4))


def page(run=None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "model_io.py"), default_timeout=60)
    if run is not None:
        at.session_state["aelab_run"] = run
    at.run()
    assert not at.exception
    return at


def texts(elements) -> str:
    return " ".join(shown(str(e.value)) for e in elements)


def upload(at: AppTest, blob: bytes, name: str = "model.pt") -> AppTest:
    at.file_uploader(key="model_io_upload").set_value((name, blob, "application/octet-stream")).run()
    assert not at.exception
    return at


def test_without_a_model_shows_a_notice_and_no_downloads():
    """With no session model the page says so, links to Build & Train, and still offers the upload."""
    at = page()
    assert "No model in this session yet" in texts(at.info)
    assert "Build & Train" in texts(at.caption) + " ".join(str(p.proto.label) for p in at.get("page_link"))
    assert len(at.download_button) == 0 and len(at.file_uploader) == 1


def test_downloads_for_the_session_model(session_run):
    """With a model: checkpoint, PyTorch code and history CSV downloads, and the code that loads the weights."""
    at = page(session_run)
    assert [b.label for b in at.download_button] == ["💾 Checkpoint (.pt)", "🐍 PyTorch code (.py)",
                                                      "📈 Loss history (.csv)"]
    assert "64-16-2-16-64" in texts(at.markdown)
    assert "load_state_dict" in texts(at.code) and "weights_only=True" in texts(at.code)


def test_upload_replaces_the_session_model_after_confirmation(session_run, other_run):
    """A valid checkpoint is described first and becomes the session model only after 'Use this model'."""
    at = page(session_run)
    upload(at, checkpoint.to_bytes(other_run))
    assert "64-24-12-5-12-24-64" in texts(at.markdown)
    assert at.session_state["aelab_run"] is session_run  # not yet
    at.button(key="model_io_use").click().run()
    assert not at.exception
    new = at.session_state["aelab_run"]
    assert new.spec == other_run.spec and "session model on every page" in texts(at.success)
    x = torch.rand(4, 64)
    with torch.no_grad():
        assert torch.equal(new.model(x), other_run.model(x))


class Marker:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.system, (f"touch '{self.path}'",)


def _saved(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_refused_uploads_leave_the_model_untouched(session_run, tmp_path):
    """A malicious pickle, a wrong-shape checkpoint and garbage are each refused; the session model stays."""
    payload = checkpoint.to_dict(session_run)
    evil = copy.deepcopy(payload)
    evil["run"]["message"] = Marker(tmp_path / "marker")
    wrong = copy.deepcopy(payload)
    wrong["state_dict"]["encoder.0.weight"] = torch.zeros(16, 60)
    cases = [(_saved(evil), "code"), (_saved(wrong), "has shape (16, 60)"), (b"\x89PNG" + os.urandom(500), "zip")]
    for blob, needle in cases:
        at = page(session_run)
        upload(at, blob)
        assert needle in texts(at.error) and "Your session model is unchanged" in texts(at.caption)
        assert "model_io_use" not in [b.key for b in at.button]
        assert at.session_state["aelab_run"] is session_run
    assert not (tmp_path / "marker").exists()


def test_checkpoint_for_a_data_set_missing_here_is_refused(tmp_path, monkeypatch):
    """A model trained on MNIST is refused with a clear note when MNIST is not on this machine."""
    monkeypatch.setenv("AELAB_DATA_DIR", str(tmp_path))  # an empty data folder
    spec = ArchSpec(784, (8,), 2)
    from aelab.model import Autoencoder
    from aelab.train import History

    run = runs.Run(spec, TrainConfig(), "mnist", Autoencoder(spec).eval(), History(), "done", "", 0.0)
    at = page()
    upload(at, checkpoint.to_bytes(run))
    assert "not on this machine" in texts(at.error)
    assert "aelab_run" not in at.session_state
