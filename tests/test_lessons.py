"""The lessons' content (aelab/lessons.py + lessons.toml) and their live measurements (aelab/lesson_demos.py):
the content is well formed, the pitfalls fail for real, every demo measures its claim.

Run: python -m pytest tests/test_lessons.py
"""
import pytest
import torch

from aelab import analysis, lesson_demos, lessons
from aelab.lessons import STEPS
from aelab.model import Autoencoder
from aelab.spec import ArchSpec, TrainConfig
from conftest import ROOT

ORDER = ["what", "parts", "loss", "bottleneck", "memorize", "classifier", "labels", "signals", "too_wide", "code_loss",
         "flatten", "pca", "denoise", "anomaly", "generate", "vae"]


def test_steps_follow_the_seed_documents_in_order():
    """Sixteen steps in the agreed order: basics, four myths, three pitfalls, then PCA to VAE."""
    assert [s.key for s in STEPS] == ORDER
    assert [s.section for s in STEPS] == ["Basics"] * 4 + ["Myths"] * 4 + ["Pitfalls"] * 3 + ["Uses"] * 5


@pytest.mark.parametrize("step", STEPS, ids=[s.key for s in STEPS])
def test_each_step_is_well_formed(step):
    """Every step has a question with 3 choices, a valid answer, an explanation, an experiment and a page link."""
    assert len(step.choices) == 3 and len(set(step.choices)) == 3 and step.answer in step.options
    assert step.question.strip() and step.intro.strip() and len(step.reveal) > 80
    assert callable(step.experiment) and (ROOT / step.page).is_file(), step.page
    i = step.answer_index
    assert step.choices[i] == step.options[step.answer]
    assert lessons.is_right(step, i) and not lessons.is_right(step, (i + 1) % 3)
    assert step.options[step.answer] not in step.intro  # the intro does not give the answer away


def test_right_answers_are_not_always_in_the_same_place():
    """The right choice moves around, so position gives nothing away."""
    assert len({s.answer_index for s in STEPS}) == 3


def test_unflattened_batch_raises_the_real_shape_error():
    """A (B, 1, 8, 8) batch into Linear(64, ...) fails with PyTorch's matmul error; flattening fixes it."""
    model = Autoencoder(ArchSpec(64, (32,), 4))
    error, fixed = lesson_demos.unflattened_error(model, torch.rand(4, 1, 8, 8))
    assert "mat1 and mat2 shapes cannot be multiplied (32x8 and 64x32)" in error
    assert fixed == (4, 64)


def test_flatten_demo_reports_the_measured_shapes(digits):
    """The flatten demo shows the actual error text and explains it with the shapes it measured."""
    out = lesson_demos.demo_flatten(digits)
    assert out.values == {"failed": 1.0, "rows": 32.0, "fixed_dim": 64.0}
    assert out.code.startswith("RuntimeError: mat1 and mat2") and "32 rows of 8 numbers" in out.summary


def test_loss_on_the_code_fails_to_train_the_reconstruction(digits):
    """With the loss on the code: the literal version errors, the decoder never moves, and the
    reconstruction error stays near its untrained level while the right loss cuts it several-fold."""
    out = lesson_demos.demo_loss_on_code(digits)
    v = out.values
    assert "must match the size" in out.code
    assert v["decoder_change"] == 0.0
    assert v["code_loss_after"] < 0.1 * v["code_loss_before"]  # it did optimize something: the code
    assert abs(v["wrong"] - v["untrained"]) < 0.1 * v["untrained"]
    assert v["right"] < v["wrong"] / 3
    assert f"{v['wrong']:.4f}" in out.summary and f"{v['right']:.4f}" in out.summary


def test_too_wide_code_copies_noise(digits):
    """Trained on clean digits, an input-wide code passes on more of the input noise than a 4-number code."""
    out = lesson_demos.demo_wide_copies_noise(digits)
    v = out.values
    assert v["wide_pass"] > 1.5 * v["narrow_pass"]
    assert v["wide_clean"] < v["narrow_clean"]  # while being the better copier of clean digits
    assert f"{v['wide_pass']:.0%}" in out.summary and "noise included" in out.summary


def _checks(v: dict) -> dict:
    """Per step: the measured effect its text states."""
    return {
        "what": lambda: v["after"] < v["before"] / 3,
        "parts": lambda: v == {"max_difference": 0.0, "narrowest": 3.0, "code_dim": 3},
        "loss": lambda: all(v[k] < v["untrained"] / 2 for k in ("mse", "bce", "l1")),
        "bottleneck": lambda: v["code2"] > v["code16"],
        "memorize": lambda: v["gap32"] > v["gap2"] and v["train32"] < v["train2"],
        "classifier": lambda: v["outputs"] == 64 and v["classes"] == 10,
        "labels": lambda: v["knn_code"] > 3 * v["chance"],
        "signals": lambda: v["kept"] > 0.5,
        "pca": lambda: abs(v["linear"] / v["pca"] - 1) < 0.1 and v["nonlinear"] < v["pca"],
        "denoise": lambda: v["denoising"] < v["plain"] < v["input"],
        "anomaly": lambda: v["unseen"] > v["seen"] and v["auc"] > 0.7,
        "generate": lambda: v["generated"] < (v["real"] + v["noise"]) / 2,
        "vae": lambda: abs(v["vae_rms"] - 1) < 0.2 and v["vae_center"] < 0.3 and v["vae_inside"] > v["ae_inside"],
    }


OTHERS = [s for s in STEPS if s.key not in ("flatten", "code_loss", "too_wide")]


@pytest.mark.slow
@pytest.mark.parametrize("step", OTHERS, ids=[s.key for s in OTHERS])
def test_every_demo_measures_its_claim(digits, step):
    """Each remaining lesson's experiment runs in seconds and measures the effect its text states."""
    out = step.experiment(digits)
    assert _checks(out.values)[step.key](), out.values
    assert out.seconds < 30 and out.summary and out.metrics
    assert any(ch.isdigit() for _, value in out.metrics for ch in value)


def test_demo_texts_follow_the_numbers(digits, monkeypatch):
    """The summary is written from the measurement: a different result yields a different sentence."""
    real = analysis.model_error
    monkeypatch.setattr(analysis, "model_error", lambda model, x, target=None: 0.05)  # every model equally good
    out = lesson_demos.demo_bottleneck(digits)
    assert "about equally good" in out.summary and "0.0500" in out.summary
    monkeypatch.setattr(analysis, "model_error", real)
    assert "times the error" in lesson_demos.demo_bottleneck(digits).summary


def test_training_cache_reuses_models(digits):
    """The same (data, spec, config) trains once; the cached model is returned the second time."""
    spec, cfg = ArchSpec(64, (8,), 2), TrainConfig(epochs=1, batch_size=256)
    a = lesson_demos.train_small("digits:test-cache", digits.x_train, digits.x_test, spec, cfg)
    b = lesson_demos.train_small("digits:test-cache", digits.x_train, digits.x_test, spec, cfg)
    assert a[0] is b[0]


def test_a_record_whose_answer_is_not_an_option_is_refused(tmp_path):
    """The content file names the right option; a name that is not among the options stops loading, with the step."""
    text = lessons.CONTENT.read_text(encoding="utf-8").replace('answer = "copy"', 'answer = "cpy"', 1)
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="'what': the answer 'cpy' is not one of its options"):
        lessons.read_steps(tmp_path / "bad.toml")


def test_a_record_naming_a_missing_demo_is_refused(tmp_path):
    """Each record's experiment must be a demo function of aelab.lesson_demos."""
    text = lessons.CONTENT.read_text(encoding="utf-8").replace('experiment = "demo_copy"', 'experiment = "print"', 1)
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="no demo function 'print'"):
        lessons.read_steps(tmp_path / "bad.toml")
