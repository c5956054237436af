"""Checkpoint import against crafted files: numbers out of range, damaged zip members, huge histories, legacy files.

Each case is a file aelab itself never writes; import must refuse it with a reason (and never load it half-right).
Run: python -m pytest tests/test_checkpoint_hardening.py
"""
import copy
import io
import struct
import zipfile

import pytest
import torch

from aelab import checkpoint, limits
from aelab.checkpoint import CheckpointError
from aelab.spec import SEED_MAX, TrainConfig, check_train
from test_checkpoint import payload, run, save  # noqa: F401 - the same trained run, its dict, torch.save to bytes

# ruff: noqa: F811 - pytest hands the fixtures imported above to the tests by name


@pytest.fixture(scope="module")
def blob(run):
    return checkpoint.to_bytes(run)


def refused(blob: bytes) -> str:
    with pytest.raises(CheckpointError) as info:
        checkpoint.from_bytes(blob)
    return str(info.value)


# -- numbers out of range --------------------------------------------------------------------------------
def _at(payload, path, value):
    bad = copy.deepcopy(payload)
    target = bad
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return bad


OUT_OF_RANGE = [  # (what, path, value, words of the reason)
    ("seed 2**70", ["config", "seed"], 2**70, "seed"),
    ("negative seed", ["config", "seed"], -1, "seed"),
    ("huge batch", ["config", "batch_size"], 10**9, "batch size"),
    ("huge n_train", ["config", "n_train"], 10**12, "training set"),
    ("zero epochs", ["config", "epochs"], 0, "Epochs"),
    ("lr 1e9", ["config", "lr"], 1e9, "learning rate"),
    ("beta 1e9", ["config", "beta"], 1e9, "Beta"),
    ("infinite beta", ["config", "beta"], float("inf"), "Beta"),
    ("layer 2**70 wide", ["spec", "encoder"], [2**70], "encoder layer 1 must be at most"),
    ("long message", ["run", "message"], "m" * (limits.MAX_MESSAGE + 1), "message"),
    ("seconds 1e300", ["run", "seconds"], 1e300, "training time"),
    ("negative seconds", ["run", "seconds"], -5.0, "training time"),
    ("NaN seconds", ["run", "seconds"], float("nan"), "training time"),
    ("step_x 1e300", ["history", "step_x"], None, "outside"),
    ("epoch_x -5", ["history", "epoch_x"], None, "outside"),
    ("epoch 1.5", ["history", "epoch_x"], None, "whole epochs"),
    ("times NaN", ["history", "seconds"], None, "outside"),
    ("unknown loss term", ["history", "terms"], {"<b>x</b>": []}, "recon and kl"),
    ("short loss term", ["history", "terms"], {"kl": [0.1]}, "inconsistent"),
]


def _history_value(payload, path, value, what):
    """Fill in history lists of the right length, with one bad value."""
    if value is not None:
        return value
    good = list(payload[path[0]][path[1]])
    bad = {"step_x 1e300": 1e300, "epoch_x -5": -5, "epoch 1.5": 1.5, "times NaN": float("nan")}[what]
    return [bad] + good[1:]


@pytest.mark.parametrize("what,path,value,needle", OUT_OF_RANGE, ids=[c[0] for c in OUT_OF_RANGE])
def test_numbers_out_of_range_are_refused(payload, what, path, value, needle):
    """Every numeric field is range-checked: a crafted value is refused with a reason naming the field."""
    bad = _at(payload, path, _history_value(payload, path, value, what))
    assert needle.lower() in refused(save(bad)).lower()


def test_seed_range_is_the_one_of_spec_in_check_train():
    """spec.check_train refuses the seeds outside spec's one range (2**70 typed anywhere), and accepts its ends."""
    for seed, ok in ((2**70, False), (-1, False), (SEED_MAX + 1, False), (0, True), (SEED_MAX, True)):
        check = check_train(TrainConfig(seed=seed))
        assert check.ok is ok, seed
        assert ok or check.errors[0].field == "seed"


def test_a_refused_seed_never_reaches_a_generator(payload):
    """The crafted seed 2**70 that used to crash Latent space (torch.Generator overflow) never becomes a Run."""
    with pytest.raises((ValueError, RuntimeError)):
        torch.Generator().manual_seed(2**70)  # the crash the range check prevents
    assert "seed" in refused(save(_at(payload, ["config", "seed"], 2**70))).lower()


# -- damaged zip members ---------------------------------------------------------------------------------
def _member(blob: bytes, suffix: str) -> zipfile.ZipInfo:
    return next(m for m in zipfile.ZipFile(io.BytesIO(blob)).infolist() if m.filename.endswith(suffix))


def _data_start(blob: bytes, m: zipfile.ZipInfo) -> int:
    n_name, n_extra = struct.unpack("<HH", blob[m.header_offset + 26:m.header_offset + 30])
    return m.header_offset + 30 + n_name + n_extra


def test_four_changed_bytes_in_a_weight_are_refused(blob):
    """4 bytes changed inside a weight tensor (torch.load reads them silently) fail the CRC-32 check."""
    m = _member(blob, "data/0")
    start = _data_start(blob, m) + 100
    bad = bytearray(blob)
    bad[start:start + 4] = bytes(b ^ 0xFF for b in bad[start:start + 4])
    assert "CRC-32" in refused(bytes(bad))


@pytest.mark.parametrize("delta", [-4, 4, 64])
def test_shifted_member_data_is_refused(blob, delta):
    """A changed length field in a member's header (torch.load then reads shifted or padding bytes as weights)
    is refused: the bytes read no longer match the CRC-32."""
    m = _member(blob, "data/0")
    bad = bytearray(blob)
    n_extra = struct.unpack("<H", bad[m.header_offset + 28:m.header_offset + 30])[0]
    bad[m.header_offset + 28:m.header_offset + 30] = struct.pack("<H", n_extra + delta)
    assert "damaged" in refused(bytes(bad))


def test_altered_size_fields_are_refused(blob):
    """Size fields that disagree (the data descriptor after a member, which torch.load ignores) are refused."""
    m = _member(blob, "data/1")
    descriptor = _data_start(blob, m) + m.compress_size
    assert blob[descriptor:descriptor + 4] == b"PK\x07\x08"  # torch.save writes descriptors
    bad = bytearray(blob)
    bad[descriptor + 8:descriptor + 16] = struct.pack("<II", 4, 4)
    assert "size fields disagree" in refused(bytes(bad))


def _central(blob: bytearray, suffix: bytes) -> int:
    pos = 0
    while (pos := blob.find(b"PK\x01\x02", pos)) >= 0:
        n_name = struct.unpack("<H", blob[pos + 28:pos + 30])[0]
        if bytes(blob[pos + 46:pos + 46 + n_name]).endswith(suffix):
            return pos
        pos += 4
    raise AssertionError("no such member")


@pytest.mark.parametrize("size", [0, 64, 1 << 20])
def test_altered_central_sizes_are_refused(blob, size):
    """Changed sizes in the central directory are refused before torch.load (never loaded as zeros)."""
    bad = bytearray(blob)
    pos = _central(bad, b"data/0")
    bad[pos + 20:pos + 28] = struct.pack("<II", size, size)
    assert "damaged" in refused(bytes(bad)) or "corrupt" in refused(bytes(bad))


def test_compressed_members_are_refused(blob):
    """The same archive re-zipped with compression (torch.save never compresses) is refused: no zip bombs."""
    src = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for m in src.infolist():
            z.writestr(m.filename, src.read(m.filename))
    assert "compressed" in refused(out.getvalue())


# -- huge histories --------------------------------------------------------------------------------------
def test_a_2m_point_history_is_refused_without_unpickling(payload, monkeypatch):
    """A 2,000,000-point loss history (18+ MB of pickle) is refused from the zip directory alone: torch.load is
    never called, so such a file costs the server no time."""
    n = 2_000_000
    bad = copy.deepcopy(payload)
    bad["history"].update(step_x=[i / n for i in range(n)], train=[0.5] * n)
    blob = save(bad)
    monkeypatch.setattr(checkpoint.torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    reason = refused(blob)
    assert f"{limits.MAX_HISTORY_POINTS:,} points" in reason


def test_a_compact_long_history_is_refused_by_length(payload):
    """A history over the cap that still pickles small (here a list of one repeated float) is refused by its length."""
    bad = copy.deepcopy(payload)
    x = 0.5
    n = limits.MAX_HISTORY_POINTS + 1
    bad["history"].update(step_x=[x] * n, train=[x] * n)
    blob = save(bad)
    meta = _member(blob, "data.pkl")
    assert meta.file_size <= limits.MAX_META_BYTES  # so it is the length check that refuses it
    assert f"{n:,} points" in refused(blob)


def test_history_at_the_cap_is_accepted(run):
    """A history with exactly the cap of training points (a 1,000-epoch run's worst case) still loads."""
    n = limits.MAX_HISTORY_POINTS
    big = copy.copy(run)
    big.history = copy.deepcopy(run.history)
    big.history.step_x = [i / n * 2 for i in range(n)]
    big.history.train = [0.1] * n
    back = checkpoint.from_bytes(checkpoint.to_bytes(big))
    assert len(back.history.train) == n


# -- legacy files ----------------------------------------------------------------------------------------
def test_a_legacy_torch_save_file_is_named_as_such(run):
    """A file saved by torch.save in its legacy format is called that, not 'not saved by aelab or torch.save'."""
    buf = io.BytesIO()
    torch.save(run.model.state_dict(), buf, _use_new_zipfile_serialization=False)
    reason = refused(buf.getvalue())
    assert "legacy format" in reason and "not saved by aelab or torch.save" not in reason


def test_export_stays_inside_the_import_limits(run):
    """A run whose message and time exceed the caps (a long error text, a run paused for months) still exports
    a file the import accepts: export cuts the message and clamps the time."""
    odd = copy.copy(run)
    odd.message = "x" * (limits.MAX_MESSAGE * 3)
    odd.seconds = limits.MAX_SECONDS * 10.0
    back = checkpoint.from_bytes(checkpoint.to_bytes(odd))
    assert len(back.message) == limits.MAX_MESSAGE and back.seconds == limits.MAX_SECONDS
