"""AppTest: nothing lost. A stopped or diverged run is offered, not forced; the session model is saved for the
browser and restored after a reload or server restart (or the learner is told why not); the browser token.

Run: python -m pytest tests/test_app_persist.py
"""
import pytest
from streamlit.testing.v1 import AppTest

from aelab import store, ui
from conftest import ROOT, wait_for_jobs, set_field


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def app(token: str | None = None) -> AppTest:
    """app.py on Build & Train; with `token`, the session belongs to that browser (AppTest has no cookies)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if token is not None:
        at.session_state[ui.TOKEN_KEY] = token
    at.run()
    assert not at.exception
    return at


def train(at: AppTest, **settings) -> None:
    for key, value in settings.items():
        set_field(at, key, value)
    at.button(key="train_btn").click().run()
    wait_for_jobs()
    at.run()
    assert not at.exception


DIVERGE = dict(cfg_activation="identity", cfg_output="none", cfg_optimizer="sgd", cfg_lr="1", cfg_batch="1")


@pytest.fixture
def trained():
    """A session with a model trained with the default network for 30 epochs (finished: it is the session model)."""
    at = app()
    at.switch_page("pages/build_train.py").run()
    train(at, cfg_epochs="30")
    run = at.session_state["aelab_run"]
    assert run.status == "done" and run.epochs_done == 30
    return at, run


def test_a_diverged_run_keeps_the_previous_model_until_the_learner_chooses(trained):
    """Defaults, then SGD with lr 1, batch 1 and linear activations: the run diverges, the previous model stays the
    session model (here and on other pages) and the page offers both with their test losses."""
    at, good = trained
    train(at, **DIVERGE)
    offer = at.session_state[ui.OFFER_KEY]
    assert offer.status == "diverged" and at.session_state["aelab_run"] is good
    shown = texts(at.warning)
    assert "This run diverged after 0 of 30 epochs" in shown and "previous model reconstructs held-out data better" \
        in shown and f"{good.test_loss:.4f}" in shown
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Your previous model: test loss"] == f"{good.test_loss:.4f}"
    assert metrics["This run: test loss"] == f"{offer.test_loss:.4f}"
    at.switch_page("pages/home.py").run()  # another page: still the previous model; the sidebar points back
    assert not at.exception and at.session_state["aelab_run"] is good
    assert f"test loss {good.test_loss:.4f}" in texts(at.sidebar.caption) and "waiting" in texts(at.sidebar.caption)
    at.switch_page("pages/build_train.py").run()
    at.button(key="offer_keep").click().run()
    assert not at.exception and at.session_state["aelab_run"] is good
    assert ui.OFFER_KEY not in at.session_state
    assert "offer_keep" not in [b.key for b in at.button]


def test_use_this_one_switches_to_the_offered_run_and_saves_it(trained):
    """"Use this one" makes the offered run the session model (and the browser's saved model)."""
    at, good = trained
    train(at, **DIVERGE)
    offer = at.session_state[ui.OFFER_KEY]
    at.button(key="offer_use").click().run()
    assert not at.exception
    assert at.session_state["aelab_run"] is offer and ui.OFFER_KEY not in at.session_state
    assert "offer_use" not in [b.key for b in at.button]
    assert f"test loss {offer.test_loss:.4f}" in texts(at.sidebar.caption)
    saved = store.load(at.session_state[ui.TOKEN_KEY])
    assert saved.run.status == "diverged" and saved.run.spec.activation == "identity"


def test_a_first_stopped_run_becomes_the_model_and_the_page_says_so():
    """Without a previous model a stopped run (it learned something) is the session model, with a sentence saying
    why."""
    at = app()
    at.switch_page("pages/build_train.py").run()
    set_field(at, "cfg_epochs", "1000")
    set_field(at, "cfg_batch", "8")
    at.button(key="train_btn").click().run()
    at.button(key="train_stop").click().run()
    wait_for_jobs()
    at.run()
    run = at.session_state["aelab_run"]
    assert run.status == "stopped" and ui.OFFER_KEY not in at.session_state
    assert f"You had no model yet, so this run, stopped after {run.epochs_done} of 1000 epochs" in texts(at.info)


def test_trained_model_is_saved_under_the_browser_token_and_restored_in_a_new_session(trained):
    """The trained model is saved for this browser; a new session of the same browser (a reload, or after a server
    restart) starts with it and the sidebar says it was restored."""
    at, good = trained
    token = at.session_state[ui.TOKEN_KEY]
    assert store.valid_token(token) and store.model_path(token).exists()
    again = app(token)
    back = again.session_state["aelab_run"]
    assert back is not good and (back.spec, back.cfg, back.history.test) == (good.spec, good.cfg, good.history.test)
    captions = texts(again.sidebar.caption)
    assert "Restored your model from" in captions and f"test loss {good.test_loss:.4f}" in captions
    again.switch_page("pages/build_train.py").run()
    assert not again.exception and "Showing the session model" in texts(again.caption)
    other = app(store.new_token())  # another browser gets nothing
    assert "aelab_run" not in other.session_state and "No model trained yet" in texts(other.sidebar.caption)


def test_a_saved_model_that_cannot_be_restored_is_explained_and_set_aside(trained):
    """A corrupt saved file: the new session has no model, the sidebar says in words why, no exception, and the file
    is renamed to .bad."""
    at, _ = trained
    token = at.session_state[ui.TOKEN_KEY]
    path = store.model_path(token)
    path.write_bytes(path.read_bytes()[:100])
    again = app(token)
    assert "aelab_run" not in again.session_state
    assert "Your saved model could not be restored" in texts(again.sidebar.warning)
    assert path.with_name("model.pt.bad").exists() and not path.exists()
    again.switch_page("pages/build_train.py").run()  # the page works and the note stays until a model exists
    assert not again.exception and "could not be restored" in texts(again.sidebar.warning)


def test_browser_token_comes_from_a_well_formed_cookie_only(monkeypatch):
    """A well-formed token cookie is this browser's token; a malformed one is ignored and replaced by a new one."""
    good = store.new_token()
    monkeypatch.setattr(ui, "_cookie", lambda name: good)
    assert app().session_state[ui.TOKEN_KEY] == good
    for bad in [good[:-1], good + "x", "../" + good[3:], "' OR 1=1 --" + good[11:]]:
        monkeypatch.setattr(ui, "_cookie", lambda name, bad=bad: bad)
        token = app().session_state[ui.TOKEN_KEY]
        assert token != bad and store.valid_token(token)


def test_state_days_zero_turns_saving_off(monkeypatch):
    """With AELAB_STATE_DAYS=0 a trained model is not written to disk."""
    monkeypatch.setenv("AELAB_STATE_DAYS", "0")
    at = app()
    at.switch_page("pages/build_train.py").run()
    train(at, cfg_epochs="2")
    assert at.session_state["aelab_run"].epochs_done == 2
    assert not store.model_path(at.session_state[ui.TOKEN_KEY]).exists()
