"""Checkpoint export and safe import: round trips, every refusal, and the malicious-pickle test.

Run: python -m pytest tests/test_checkpoint.py
"""
import builtins
import copy
import csv
import io
import os
import pickle
import zipfile

import pytest
import torch

from aelab import checkpoint, runs
from aelab.checkpoint import CheckpointError
from aelab.data import DataBundle
from aelab.spec import ArchSpec, TrainConfig


@pytest.fixture(scope="module")
def run(digits):
    return runs.train_run(digits, ArchSpec(64, (16,), 3), TrainConfig(epochs=2, batch_size=128, seed=3))


@pytest.fixture(scope="module")
def vae_run(digits):
    return runs.train_run(digits, ArchSpec(64, (16,), 2, decoder=(8, 24), kind="vae"),
                          TrainConfig(epochs=1, batch_size=256, beta=0.5))


@pytest.fixture(scope="module")
def payload(run):
    return checkpoint.to_dict(run)


def save(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_round_trip_gives_identical_outputs(run, digits):
    """Export -> import restores the spec, settings, history and weights: outputs on random inputs are identical."""
    back = checkpoint.from_bytes(checkpoint.to_bytes(run), expected=digits)
    x = torch.rand(32, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(back.model(x), run.model(x))
    assert (back.spec, back.cfg, back.dataset, back.status) == (run.spec, run.cfg, run.dataset, run.status)
    assert back.history.as_dict() == run.history.as_dict()
    assert not back.model.training


def test_vae_round_trip_keeps_means_and_variances(vae_run):
    """A VAE with an asymmetric decoder comes back with identical means, log-variances and decodings."""
    back = checkpoint.from_bytes(checkpoint.to_bytes(vae_run))
    x = torch.rand(8, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for a, b in zip(back.model.encode_stats(x), vae_run.model.encode_stats(x)):
            assert torch.equal(a, b)
    assert back.spec == vae_run.spec and back.cfg.beta == 0.5


def test_file_holds_only_plain_types(run):
    """The saved dict contains only tensors, dicts, lists, str, int, float, bool and None (no tuples, no objects)."""
    loaded = torch.load(io.BytesIO(checkpoint.to_bytes(run)), weights_only=True)

    def walk(obj):
        if isinstance(obj, dict):
            assert type(obj) is dict
            for k, v in obj.items():
                assert isinstance(k, str)
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)
        else:
            assert obj is None or type(obj) in (str, int, float, bool, torch.Tensor), type(obj)

    walk(loaded)
    assert loaded["format"] == "aelab-checkpoint" and loaded["version"] == 1
    assert loaded["spec"]["encoder"] == [16] and loaded["dataset"] == {"name": "digits", "input_dim": 64}


def test_runnable_code_rebuilds_and_loads_the_model(run, tmp_path, monkeypatch):
    """The exported PyTorch code, run next to the checkpoint file, rebuilds a model with identical outputs."""
    name = f"{checkpoint.file_stem(run)}.pt"
    (tmp_path / name).write_bytes(checkpoint.to_bytes(run))
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(checkpoint.runnable_code(run), "exported.py", "exec"), scope)  # noqa: S102 - our own export
    x = torch.rand(5, 64)
    with torch.no_grad():
        assert torch.equal(scope["model"](x), run.model(x))


def test_history_csv_has_one_row_per_point(run):
    """The CSV holds a header, every train point and every test point, with the loss values as recorded."""
    rows = list(csv.reader(io.StringIO(checkpoint.history_csv(run.history))))
    assert rows[0][:3] == ["split", "epoch", "loss"]
    train = [r for r in rows[1:] if r[0] == "train"]
    test = [r for r in rows[1:] if r[0] == "test"]
    assert len(train) == len(run.history.train) and len(test) == len(run.history.test)
    assert float(test[-1][2]) == pytest.approx(run.history.test[-1])


def _set(path, value):
    def mutate(d):
        target = d
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
    return mutate


def _delete(path):
    def mutate(d):
        del d[path[0]][path[1]]
    return mutate


BAD = [
    ("format", _set(["format"], "other-tool"), "not an aelab checkpoint"),
    ("newer version", _set(["version"], 2), "version 2"),
    ("version text", _set(["version"], "1"), "version is missing"),
    ("zero bottleneck", _set(["spec", "bottleneck"], 0), "architecture is not valid"),
    ("unknown activation", _set(["spec", "activation"], "swish"), "Unknown activation 'swish'"),
    ("text width", _set(["spec", "input_dim"], "64"), "whole-number input_dim"),
    ("bool width", _set(["spec", "bottleneck"], True), "whole-number bottleneck"),
    ("too many layers", _set(["spec", "encoder"], [4] * 9), "at most 8"),
    ("huge network", _set(["spec", "encoder"], [16384, 16384]), "parameters"),
    ("unknown spec field", _set(["spec", "conv"], True), "unknown fields"),
    ("negative lr", _set(["config", "lr"], -1.0), "training settings are not valid"),
    ("lr as text", _set(["config", "lr"], "fast"), "wrong type"),
    ("other data set", _set(["dataset", "name"], "cifar10"), "cannot load"),
    ("dims disagree", _set(["dataset", "input_dim"], 784), "inconsistent"),
    ("wrong shape", _set(["state_dict", "encoder.0.weight"], torch.zeros(16, 63)), "has shape (16, 63)"),
    ("missing tensor", _delete(["state_dict", "decoder.0.bias"]), "missing decoder.0.bias"),
    ("extra tensor", _set(["state_dict", "encoder.9.weight"], torch.zeros(2)), "unexpected encoder.9.weight"),
    ("nan weight", _set(["state_dict", "decoder.0.bias"], torch.full((16,), float("nan"))), "NaN"),
    ("integer tensor", _set(["state_dict", "decoder.0.bias"], torch.zeros(16, dtype=torch.int64)), "floating-point"),
    ("not a tensor", _set(["state_dict", "decoder.0.bias"], [0.0] * 16), "floating-point"),
    ("no weights", _set(["state_dict"], {}), "no weights"),
    ("bad history", _set(["history", "train"], ["x"]), "list of numbers"),
    ("uneven history", _set(["history", "test"], [1.0]), "inconsistent"),
]


@pytest.mark.parametrize("name,mutate,needle", BAD, ids=[b[0] for b in BAD])
def test_bad_checkpoints_are_refused_with_the_reason(payload, name, mutate, needle):
    """Each kind of damaged or foreign content raises CheckpointError naming what is wrong."""
    bad = copy.deepcopy(payload)
    mutate(bad)
    with pytest.raises(CheckpointError, match=None) as info:
        checkpoint.from_bytes(save(bad))
    assert needle in str(info.value), str(info.value)


@pytest.mark.parametrize("obj,needle", [
    ({"weights": torch.zeros(3)}, "not an aelab checkpoint"),
    (torch.zeros(3), "holds a Tensor"),
    ([1, 2, 3], "holds a list"),
])
def test_other_torch_files_are_refused(obj, needle):
    """Files saved with torch.save that are not aelab checkpoints are refused, not half-loaded."""
    with pytest.raises(CheckpointError) as info:
        checkpoint.from_bytes(save(obj))
    assert needle in str(info.value)


def test_a_checkpoint_for_another_data_set_is_refused_when_one_is_expected(run, digits):
    """When the caller expects a data set, a model trained on a different one is refused with both names."""
    other = DataBundle("mnist", digits.x_train, digits.y_train, digits.x_test, digits.y_test, (8, 8),
                       digits.class_names)
    with pytest.raises(CheckpointError, match="trained on Digits.*not on MNIST"):
        checkpoint.from_bytes(checkpoint.to_bytes(run), expected=other)


def test_known_data_set_with_the_wrong_input_size_is_refused(payload):
    """A checkpoint claiming MNIST but with a 64-input network is refused (MNIST has 784 features)."""
    bad = copy.deepcopy(payload)
    bad["dataset"]["name"] = "mnist"
    with pytest.raises(CheckpointError, match="784 features"):
        checkpoint.from_bytes(save(bad))


@pytest.mark.parametrize("cut", ["half", "last byte", "first 100"])
def test_truncated_files_are_refused(run, cut):
    """A checkpoint cut short anywhere is refused as corrupt or truncated."""
    blob = checkpoint.to_bytes(run)
    part = {"half": blob[: len(blob) // 2], "last byte": blob[:-1], "first 100": blob[:100]}[cut]
    with pytest.raises(CheckpointError, match="truncated|corrupt"):
        checkpoint.from_bytes(part)


def test_garbage_and_foreign_zips_are_refused():
    """Random bytes and a zip archive without a torch pickle are refused as unreadable."""
    with pytest.raises(CheckpointError, match="not a zip archive"):
        checkpoint.from_bytes(os.urandom(4096))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        checkpoint.from_bytes(buf.getvalue())


def test_size_limit_is_checked_before_reading(monkeypatch):
    """Empty files and files over the limit are refused without torch.load ever being called."""
    monkeypatch.setattr(checkpoint.torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    with pytest.raises(CheckpointError, match="empty"):
        checkpoint.from_bytes(b"")
    with pytest.raises(CheckpointError, match=f"at most {checkpoint.MAX_BYTES:,} bytes"):
        checkpoint.from_bytes(b"\0" * (checkpoint.MAX_BYTES + 1))


def test_archive_that_unpacks_too_large_is_refused(run, monkeypatch):
    """The unpacked-size guard (against zip bombs) refuses archives over the bound before unpickling."""
    monkeypatch.setattr(checkpoint, "MAX_UNPACKED", 1000)
    with pytest.raises(CheckpointError, match="unpacks to far more"):
        checkpoint.from_bytes(checkpoint.to_bytes(run))


def test_loading_uses_weights_only_on_the_cpu(run, monkeypatch):
    """Every load goes through torch.load(weights_only=True, map_location='cpu')."""
    calls = []
    real = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpoint.torch, "load", spy)
    checkpoint.from_bytes(checkpoint.to_bytes(run))
    assert calls == [{"weights_only": True, "map_location": "cpu"}]


# -- the malicious-pickle test -------------------------------------------------------------------
class SystemCall:
    """Unpickling this runs a shell command (os.system) that creates a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


class ExecCall:
    """Unpickling this runs Python source (builtins.exec) that writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.exec, (f"open({self.marker!r}, 'w').write('pwned')",)


def test_the_malicious_payloads_are_real(tmp_path):
    """Sanity check of the test itself: unpickling the payloads the unsafe way does create the marker files."""
    for cls in (SystemCall, ExecCall):
        marker = tmp_path / f"{cls.__name__}.proof"
        pickle.loads(pickle.dumps(cls(marker)))  # noqa: S301 - deliberately unsafe, on our own payload
        assert marker.exists()


@pytest.mark.parametrize("cls", [SystemCall, ExecCall])
@pytest.mark.parametrize("how", ["torch.save inside a checkpoint", "torch.save alone", "plain pickle"])
def test_malicious_pickle_is_refused_and_runs_nothing(payload, tmp_path, cls, how):
    """A file whose unpickling would run code is refused with CheckpointError and the code never runs."""
    marker = tmp_path / "marker"
    evil = cls(marker)
    if how == "torch.save inside a checkpoint":
        bad = copy.deepcopy(payload)
        bad["history"]["note"] = evil
        blob = save(bad)
    elif how == "torch.save alone":
        blob = save(evil)
    else:
        blob = pickle.dumps(evil)
    with pytest.raises(CheckpointError) as info:
        checkpoint.from_bytes(blob)
    assert not marker.exists()
    if how != "plain pickle":  # a bare pickle is already refused as 'not a zip archive'
        assert "code" in str(info.value)
