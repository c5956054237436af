"""aelab.store (each browser's latest model on disk) and runs.settle (when a finished run becomes the session model).

Run: python -m pytest tests/test_store.py
"""
import dataclasses
import io
import math
import os
import time

import pytest
import torch

from aelab import checkpoint, runs, store
from aelab.spec import ArchSpec, TrainConfig


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    """An empty state folder for this test, with saving on."""
    monkeypatch.setenv("AELAB_STATE_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("AELAB_STATE_DAYS", "30")
    return tmp_path / "sessions"


@pytest.fixture(scope="module")
def run(digits):
    return runs.train_run(digits, ArchSpec(64, (16,), 3), TrainConfig(epochs=2, batch_size=128, seed=3))


def age(path, days: float) -> None:
    """Set every file under `path` to `days` days old."""
    t = time.time() - days * store.DAY_S
    for f in [path, *path.rglob("*")]:
        os.utime(f, (t, t))


# -- tokens ------------------------------------------------------------------------------------
def test_tokens_are_unguessable_and_strictly_validated():
    """new_token gives >= 128 random bits in a fixed form; any other text (tampered cookies) is not a token."""
    tokens = {store.new_token() for _ in range(200)}
    assert len(tokens) == 200 and all(store.valid_token(t) for t in tokens)
    assert store.TOKEN_BYTES * 8 >= 128
    t = next(iter(tokens))
    for bad in ["", t[:-1], t + "a", t[:-1] + "=", t[:-1] + "/", "../" + t[3:], t[:-1] + "\n", None, 42, b"x" * 43,
                t.replace(t[0], "é", 1)]:
        assert not store.valid_token(bad), bad
    with pytest.raises(ValueError):
        store.model_path("../../etc")


def test_file_name_holds_the_tokens_hash_not_the_token(state_dir, run):
    """The saved file lives under the token's sha256; the token appears in no path under the state folder."""
    token = store.new_token()
    path = store.save(token, run)
    assert path is not None and path.exists()
    assert path.parent.name == __import__("hashlib").sha256(token.encode()).hexdigest()
    assert all(token not in str(p) for p in state_dir.rglob("*"))


# -- save and restore --------------------------------------------------------------------------
def test_round_trip_gives_identical_outputs(state_dir, run, digits):
    """A saved and restored model reconstructs every held-out image exactly as the original; spec, settings,
    history and status come back too."""
    token = store.new_token()
    store.save(token, run)
    saved = store.load(token)
    assert saved is not None and abs(saved.saved_at - time.time()) < 60
    back = saved.run
    assert (back.spec, back.cfg, back.dataset, back.status) == (run.spec, run.cfg, run.dataset, run.status)
    assert dataclasses.asdict(back.history) == dataclasses.asdict(run.history)
    with torch.no_grad():
        assert torch.equal(back.model(digits.x_test), run.model(digits.x_test))


def test_no_file_and_other_browsers_get_nothing(state_dir, run):
    """A browser without a saved model gets None; one browser never gets another's model."""
    a, b = store.new_token(), store.new_token()
    assert store.load(a) is None
    store.save(a, run)
    assert store.load(b) is None and store.load(a) is not None


def test_saving_again_replaces_atomically_and_leaves_no_temp_files(state_dir, run, digits):
    """The second save replaces the first; no temp file is left beside it."""
    token = store.new_token()
    store.save(token, run)
    other = runs.train_run(digits, ArchSpec(64, (8,), 2), TrainConfig(epochs=1, batch_size=256))
    path = store.save(token, other)
    assert sorted(p.name for p in path.parent.iterdir()) == [store.MODEL_FILE]
    assert store.load(token).run.spec == other.spec


def test_state_days_zero_saves_and_restores_nothing(state_dir, run, monkeypatch):
    """AELAB_STATE_DAYS=0 turns saving off: nothing is written and nothing is restored."""
    token = store.new_token()
    store.save(token, run)
    monkeypatch.setenv("AELAB_STATE_DAYS", "0")
    assert store.save(store.new_token(), run) is None and store.load(token) is None
    assert len(list(state_dir.iterdir())) == 1


def test_too_large_a_model_is_not_saved_and_says_why(state_dir, run, monkeypatch):
    """A checkpoint larger than the import limit is not written (it could not be restored); the message says so."""
    monkeypatch.setattr(checkpoint, "MAX_BYTES", 1000)
    with pytest.raises(store.SaveSkipped, match="MB"):
        store.save(store.new_token(), run)
    assert not state_dir.exists() or not any(state_dir.rglob("*.pt"))


def test_unwritable_folder_is_reported_not_raised_as_oserror(tmp_path, monkeypatch, run):
    """When the state folder cannot be created the learner gets a sentence (SaveSkipped), not a traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("AELAB_STATE_DIR", str(blocker / "sessions"))
    with pytest.raises(store.SaveSkipped, match="could not be saved"):
        store.save(store.new_token(), run)


# -- refused files -----------------------------------------------------------------------------
def torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


class Evil:
    """Unpickling this would run a shell command (it must never be unpickled)."""

    def __reduce__(self):
        return (os.system, ("echo owned",))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "format", "pickle", "weights"])
def test_a_damaged_file_is_refused_with_a_message_and_moved_aside(state_dir, run, damage):
    """Corrupt, tampered or hostile files are not restored: RestoreFailed explains it in words, the file becomes
    model.pt.bad, and the next visit starts clean."""
    token = store.new_token()
    path = store.save(token, run)
    blob = path.read_bytes()
    payload = checkpoint.to_dict(run)
    if damage == "truncate":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif damage == "format":  # still a valid archive, no longer an aelab checkpoint
        path.write_bytes(torch_bytes({**payload, "format": "something-else"}))
    elif damage == "pickle":  # a pickle that would run code if it were loaded without weights_only
        path.write_bytes(torch_bytes({**payload, "spec": Evil()}))
    else:  # weights of the wrong shape
        key = next(iter(payload["state_dict"]))
        path.write_bytes(torch_bytes({**payload, "state_dict": {**payload["state_dict"], key: torch.zeros(2, 2)}}))
    with pytest.raises(store.RestoreFailed) as err:
        store.load(token)
    msg = str(err.value)
    assert msg.startswith("Your saved model could not be restored.") and "set aside" in msg
    assert "Traceback" not in msg and str(state_dir) not in msg and token not in msg
    assert not path.exists() and path.with_name("model.pt.bad").exists()
    assert store.load(token) is None  # the next visit is not told again


def test_a_model_of_a_missing_data_set_is_refused_in_plain_words(state_dir, run, monkeypatch):
    """A saved model whose data set is gone from the server is not restored; the message names the data set."""
    from aelab import data

    token = store.new_token()
    store.save(token, run)
    monkeypatch.setattr(data, "is_available", lambda name: False)
    with pytest.raises(store.RestoreFailed, match="Digits.*does not have now"):
        store.load(token)


# -- limits ------------------------------------------------------------------------------------
def test_expired_models_are_not_restored_and_are_deleted(state_dir, run):
    """A model older than AELAB_STATE_DAYS is gone: load gives None and the folder is removed."""
    token = store.new_token()
    path = store.save(token, run)
    age(path.parent, 31)
    assert store.load(token) is None and not path.parent.exists()


def test_restoring_renews_the_expiry(state_dir, run):
    """A visit (restore) resets the file's age, so expiry counts from the last visit."""
    token = store.new_token()
    path = store.save(token, run)
    age(path.parent, 29)
    assert store.load(token) is not None
    assert time.time() - path.stat().st_mtime < 60


def test_cleanup_deletes_expired_then_oldest_over_the_count_cap(state_dir, run, monkeypatch):
    """Saving applies the limits: expired sessions go, then the oldest while over AELAB_STATE_MAX_SESSIONS; the
    model just saved always stays."""
    tokens = [store.new_token() for _ in range(5)]
    for i, t in enumerate(tokens):
        age(store.save(t, run).parent, [40, 5, 4, 3, 2][i])  # tokens[0] expired, the others 5..2 days old
    monkeypatch.setenv("AELAB_STATE_MAX_SESSIONS", "3")
    newest = store.new_token()
    store.save(newest, run)
    left = {p.name for p in state_dir.iterdir()}
    assert left == {store.model_path(t).parent.name for t in (tokens[3], tokens[4], newest)}


def test_cleanup_keeps_the_total_size_under_the_byte_cap(state_dir, monkeypatch):
    """With AELAB_STATE_MAX_MB=1 and models of about 0.4 MB, the oldest go until the rest fit in 1 MB."""
    from aelab.train import History, build_seeded

    spec = ArchSpec(64, (256, 128), 3)  # about 100k parameters: a 0.4 MB checkpoint
    big = runs.Run(spec, TrainConfig(), "digits", build_seeded(spec, 0), History(), "done", "", 0.0)
    monkeypatch.setenv("AELAB_STATE_MAX_MB", "1")
    tokens = [store.new_token() for _ in range(4)]
    for i, t in enumerate(tokens):
        age(store.save(t, big).parent, 4 - i)  # tokens[0] is the oldest
    size = store.model_path(tokens[-1]).stat().st_size
    assert 2**20 // 4 < size < 2**20 // 2  # the premise: two fit, three do not
    total = sum(f.stat().st_size for f in state_dir.rglob("*") if f.is_file())
    assert total <= 2**20
    assert [store.model_path(t).exists() for t in tokens] == [False, False, True, True]


def test_cleanup_touches_only_session_folders(state_dir, run):
    """Files and folders in the state folder that are not token hashes are never deleted."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "README.txt").write_text("mine")
    (state_dir / "notes").mkdir()
    age(state_dir / "notes", 400)
    store.save(store.new_token(), run)
    assert (state_dir / "README.txt").exists() and (state_dir / "notes").exists()


def test_forget_deletes_a_browsers_model(state_dir, run):
    """forget removes what was saved for that browser only."""
    a, b = store.new_token(), store.new_token()
    store.save(a, run)
    store.save(b, run)
    store.forget(a)
    assert store.load(a) is None and store.load(b) is not None


# -- runs.settle -------------------------------------------------------------------------------
def with_status(run, status: str, test_loss: float | None = None, **cfg):
    """Another run like `run` (its own lineage: not a continuation of it) that ended with `status`."""
    hist = dataclasses.replace(run.history, test=list(run.history.test))
    if test_loss is not None:
        hist.test[-1] = test_loss
    return dataclasses.replace(run, status=status, history=hist, lineage=-run.lineage,
                               cfg=dataclasses.replace(run.cfg, **cfg) if cfg else run.cfg)


@pytest.mark.parametrize("status,previous,use", [
    ("done", False, True), ("done", True, True),
    ("stopped", False, True), ("stopped", True, False),
    ("diverged", False, True), ("diverged", True, False),
])
def test_settle_replaces_the_model_only_with_a_finished_run_or_when_there_is_none(run, status, previous, use):
    """A finished run replaces the model; a stopped or diverged one replaces only nothing, else it is offered."""
    new = with_status(run, status)
    s = runs.settle(new, run if previous else None)
    assert s.use is use
    if status == "done":
        assert s.note == ""
    elif not previous:
        assert "no model yet" in s.note and (status != "diverged" or "train again" in s.note)
    else:
        assert s.note == runs.offer_text(run, new)


@pytest.mark.parametrize("prev_loss,new_loss,needle", [
    (0.039, 0.2513, "Your previous model reconstructs held-out data better (0.0390 < 0.2513)"),
    (0.05, 0.03, "This run reconstructs held-out data better (0.0300 < 0.0500)"),
    (0.04, 0.04, "Both have the same test loss (0.0400)"),
    (0.04, math.nan, "no finite test loss"),
    (math.inf, 0.04, "Your previous model has no finite test loss; this run's is 0.0400"),
])
def test_offer_text_states_what_the_two_test_losses_show(run, prev_loss, new_loss, needle):
    """The offer compares the held-out losses and names the better one, with a branch for each outcome."""
    text = runs.offer_text(with_status(run, "done", prev_loss), with_status(run, "diverged", new_loss))
    assert needle in text and text.startswith("This run diverged after")


def test_offer_text_does_not_compare_different_losses(run):
    """Losses of different kinds (MSE vs BCE) are not compared: the text says why."""
    text = runs.offer_text(run, with_status(run, "stopped", loss="bce"))
    assert "cannot be compared" in text and "was stopped after" in text
