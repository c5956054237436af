"""The size limits agree: the largest model the lab trains exports to a file that the upload widget, the server and
the import all accept; the server's upload setting and every uploader come from aelab/limits.py.

Run: python -m pytest tests/test_limits.py
"""
import copy
import io
import tomllib
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from aelab import checkpoint, config, limits, runs, signals
from aelab.model import Autoencoder
from aelab.runs import Run
from aelab.spec import MAX_LAYERS, MAX_PARAMS, ArchSpec, TrainConfig, check_arch
from aelab.train import History
from conftest import ROOT


def largest_spec() -> ArchSpec:
    """The allowed architecture with the most weights and the most tensors: a VAE on 784 inputs with MAX_LAYERS
    hidden layers per side, as wide as MAX_PARAMS permits (the file's size grows with both)."""
    def spec(w: int) -> ArchSpec:
        return ArchSpec(784, (w,) * MAX_LAYERS, 64, decoder=(w,) * MAX_LAYERS, kind="vae")

    w = 1
    while spec(w + 1).param_count <= MAX_PARAMS:
        w += 1
    return spec(w)


def full_history(n_train: int = limits.MAX_HISTORY_POINTS, n_test: int = limits.MAX_TEST_POINTS) -> History:
    """A history as long as any run can log, with both VAE terms, values of full float precision."""
    xs = [i / n_train * 1000 + 1e-9 for i in range(n_train)]
    ys = [0.1 + i * 1.2345678e-7 for i in range(n_train)]
    es = list(range(n_test))
    ts = [0.05 + i * 1.2345678e-5 for i in range(n_test)]
    return History(xs, ys, es, ts, {"recon": list(ys), "kl": list(ys)}, {"recon": list(ts), "kl": list(ts)},
                   [i * 1.5 for i in range(n_test)])


@pytest.mark.slow
def test_the_largest_allowed_model_exports_a_file_the_import_accepts():
    """The largest model spec.check_arch allows, with a full history and the longest message, exports to at most
    checkpoint.MAX_BYTES, and the import reads it back."""
    spec = largest_spec()
    assert check_arch(spec).ok and spec.param_count > 0.99 * MAX_PARAMS
    model = Autoencoder(spec)
    run = Run(spec, TrainConfig(epochs=1000, batch_size=1), "mnist", model, full_history(), "done",
              "m" * limits.MAX_MESSAGE, float(limits.MAX_SECONDS))
    blob = checkpoint.to_bytes(run)
    assert len(blob) <= checkpoint.MAX_BYTES, (len(blob), checkpoint.MAX_BYTES)
    assert len(blob) > limits.BYTES_PER_PARAM * spec.param_count  # the bound is close, not vacuous
    back = checkpoint.from_bytes(blob)
    assert back.spec == spec and len(back.history.train) == limits.MAX_HISTORY_POINTS


def test_the_pickled_part_of_a_full_checkpoint_fits_its_bound(digits):
    """The measured size of data.pkl (settings, full VAE history, longest message) is under MAX_META_BYTES, the
    bound the import applies before unpickling and that CHECKPOINT_MB is computed from."""
    small = runs.train_run(digits, ArchSpec(64, (16,), 3, kind="vae"), TrainConfig(epochs=1, batch_size=256))
    big = copy.copy(small)
    big.history, big.message = full_history(), "m" * limits.MAX_MESSAGE
    archive = zipfile.ZipFile(io.BytesIO(checkpoint.to_bytes(big)))
    meta = next(m for m in archive.infolist() if m.filename.endswith("data.pkl"))
    assert 0.5 * limits.MAX_META_BYTES < meta.file_size <= limits.MAX_META_BYTES
    overhead = sum(m.file_size for m in archive.infolist()) - meta.file_size
    assert overhead < limits.ARCHIVE_OVERHEAD + 4 * small.spec.param_count


def test_limits_derive_from_one_another():
    """The import limit is the checkpoint uploader's limit; the CSV reader's is the CSV uploader's; the server's
    per-file limit is the largest uploader's; one session may hold a file in every uploader."""
    assert checkpoint.MAX_BYTES == limits.UPLOAD_MB["checkpoint"] * limits.MB
    assert signals.MAX_BYTES == limits.UPLOAD_MB["csv"] * limits.MB
    assert limits.MAX_FILE_BYTES == max(limits.UPLOAD_MB.values()) * limits.MB
    assert limits.SESSION_UPLOAD_BYTES >= sum(limits.UPLOAD_MB.values()) * limits.MB
    assert config.get("upload_total_mb") * limits.MB >= limits.SESSION_UPLOAD_BYTES


def test_streamlit_config_sets_the_server_upload_limit():
    """.streamlit/config.toml's server.maxUploadSize is limits.SERVER_MAX_UPLOAD_MB (Streamlit's default is 200)."""
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["maxUploadSize"] == limits.SERVER_MAX_UPLOAD_MB


@pytest.mark.parametrize("page,key,kind", [
    ("model_io.py", "model_io_upload", "checkpoint"),
    ("signals.py", "csv_upload", "csv"),
])
def test_every_uploader_has_the_limit_of_its_kind(page, key, kind):
    """The page's st.file_uploader tells the browser limits.UPLOAD_MB[kind] (before: 50 MB for 50 MiB checks)."""
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60).run()
    assert not at.exception
    assert at.file_uploader(key=key).proto.max_upload_size_mb == limits.UPLOAD_MB[kind]


def test_every_file_uploader_in_the_app_goes_through_ui():
    """No page calls st.file_uploader directly: each goes through ui.file_uploader, which sets the limit."""
    for path in (ROOT / "pages").glob("*.py"):
        assert "st.file_uploader(" not in path.read_text(), path.name


@pytest.mark.parametrize("size,session,total,needle", [
    (limits.MAX_FILE_BYTES + 1, 0, 0, "at most"),
    (limits.MB, limits.SESSION_UPLOAD_BYTES - limits.MB + 1, 0, "session already holds"),
    (limits.MB, 0, 1000 * limits.MB, "from all users"),
    (limits.MAX_FILE_BYTES, limits.SESSION_UPLOAD_BYTES - limits.MAX_FILE_BYTES, 0, None),
])
def test_upload_refusal_names_the_limit_that_was_hit(size, session, total, needle):
    """Each of the three server-side limits refuses with its own reason; a file that fits all three is kept."""
    reason = limits.upload_refusal(size, session, total, 1000 * limits.MB)
    assert (reason is None) if needle is None else (needle in reason)


def test_a_run_logs_fewer_training_points_than_the_history_cap_allows(digits):
    """The worst case of train.fit's logging (39 steps per epoch: one point per step) stays under
    2 x POINTS_PER_EPOCH per epoch, the rate MAX_HISTORY_POINTS is computed from."""
    epochs = 3
    run = runs.train_run(digits, ArchSpec(64, (8,), 2), TrainConfig(epochs=epochs, batch_size=1, n_train=39))
    assert len(run.history.train) == 39 * epochs < 2 * limits.POINTS_PER_EPOCH * epochs


def test_the_readme_lists_the_limits_as_defined():
    """README.md's limits table is limits.table(), so the documented values are the enforced ones."""
    assert limits.table() in (ROOT / "README.md").read_text()
