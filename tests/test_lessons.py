"""The lessons' content (aelab/lessons.py + lessons.toml) and their live measurements (aelab/lesson_demos.py):
the content is well formed and read lazily, the pitfalls fail for real (tests/test_claims.py checks every verdict).

Run: python -m pytest tests/test_lessons.py
"""
import pytest
import torch

from aelab import lesson_demos, lessons
from aelab.lessons import STEPS
from aelab.model import Autoencoder
from aelab.spec import ArchSpec, TrainConfig
from conftest import ROOT

ORDER = ["what", "parts", "flatten", "loss", "code_loss", "hyperparameters", "bottleneck", "memorize", "too_wide",
         "classifier", "labels", "signals", "pca", "denoise", "anomaly", "generate", "vae"]


def test_steps_follow_the_beginners_order():
    """Seventeen steps: the flatten pitfall beside the first 784 inputs, the loss pitfall beside the loss, the training
    settings before the code size, then myths and uses."""
    assert [s.key for s in STEPS] == ORDER
    assert sorted(s.link for s in STEPS) == list(range(1, 18))
    assert lessons.by_key("hyperparameters").link == 17  # the new step takes a new number; old links keep theirs


@pytest.mark.parametrize("step", STEPS, ids=[s.key for s in STEPS])
def test_each_step_is_well_formed(step):
    """Every step has a question with 3 choices, an expected option explained by its 'why', an experiment and a page."""
    assert len(step.choices) == 3 and len(set(step.choices)) == 3 and step.expected in step.options
    assert step.question.strip() and step.intro.strip() and step.why[step.expected].strip()
    assert set(step.why) <= set(step.options)
    assert callable(step.experiment) and (ROOT / step.page).is_file(), step.page
    assert step.options[step.expected] not in step.intro  # the intro does not give the answer away
    assert all(why not in step.intro for why in step.why.values())


def test_expected_options_are_not_always_in_the_same_place():
    """The expected choice moves around, so position gives nothing away."""
    assert len({list(s.options).index(s.expected) for s in STEPS}) == 3


def test_loading_is_lazy():
    """Importing aelab.lessons reads nothing: the file is read on first use and kept."""
    import subprocess
    import sys

    code = ("import aelab.lessons as l, sys; assert l.steps.cache_info().currsize == 0; "
            "assert 'aelab.lesson_demos' not in sys.modules; l.steps(); assert l.steps.cache_info().currsize == 1")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_unflattened_batch_raises_the_real_shape_error():
    """A (B, 1, 8, 8) batch into Linear(64, ...) fails with PyTorch's matmul error; flattening fixes it."""
    model = Autoencoder(ArchSpec(64, (32,), 4))
    error, fixed = lesson_demos.unflattened_error(model, torch.rand(4, 1, 8, 8))
    assert "mat1 and mat2 shapes cannot be multiplied (32x8 and 64x32)" in error
    assert fixed == (4, 64)


def test_flatten_demo_reports_the_measured_shapes(digits):
    """The flatten demo shows the actual error text and explains it with the shapes it measured."""
    out = lesson_demos.demo_flatten(digits)
    assert {k: out.values[k] for k in ("failed", "rows", "fixed_dim")} == {"failed": 1.0, "rows": 32.0, "fixed_dim": 64.0}
    assert out.shows == "shape_error"
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


def test_too_wide_code_copies_noise_yet_ends_closer(digits):
    """Trained on clean digits, an input-wide code passes on more of the input noise than a 4-number code, and the
    verdict weighs that against its output's distance from the clean digit (finding 2 of issue 12)."""
    out = lesson_demos.demo_wide_copies_noise(digits)
    v = out.values
    assert v["wide_pass"] > 1.5 * v["narrow_pass"]
    assert v["wide_error"] < v["narrow_error"]  # yet closer to the clean digit
    assert out.shows == "more_noise_better"
    assert f"{v['wide_pass']:.0%}" in out.summary and f"{v['wide_error']:.4f}" in out.summary


def test_training_cache_reuses_models(digits):
    """The same (data, spec, config) trains once; the cached model is returned the second time."""
    spec, cfg = ArchSpec(64, (8,), 2), TrainConfig(epochs=1, batch_size=256)
    a = lesson_demos.train_small("digits:test-cache", digits.x_train, digits.x_test, spec, cfg)
    b = lesson_demos.train_small("digits:test-cache", digits.x_train, digits.x_test, spec, cfg)
    assert a.model is b.model


def test_a_record_whose_expected_option_is_not_an_option_is_refused(tmp_path):
    """The content file names the expected option; a name that is not among the options stops loading, with the step."""
    text = lessons.CONTENT.read_text(encoding="utf-8").replace('expected = "copy"', 'expected = "cpy"', 1)
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="'what': the expected option 'cpy' is not one of its options"):
        lessons.read_steps(tmp_path / "bad.toml")


def test_a_record_naming_a_missing_demo_is_refused(tmp_path):
    """Each record's experiment must be a demo function of aelab.lesson_demos."""
    text = lessons.CONTENT.read_text(encoding="utf-8").replace('experiment = "demo_copy"', 'experiment = "print"', 1)
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="no demo function 'print'"):
        lessons.read_steps(tmp_path / "bad.toml")
