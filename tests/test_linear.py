"""PCA is the linear autoencoder: PCA's error identity, the linear AE reaching PCA, staged training, comparisons.

Run: python -m pytest tests/test_linear.py
"""
import numpy as np
import pytest

from aelab import analysis, linear, pca
from aelab.train import evaluate


class _StopAfter:
    """A stand-in for jobs.JobContext that asks to stop after `n` checks and records what was published."""

    def __init__(self, n: int):
        self.n, self.calls, self.extra, self.updates = n, 0, {}, 0

    def should_stop(self) -> bool:
        self.calls += 1
        return self.calls > self.n

    def update(self, progress, history, state) -> None:
        self.updates += 1

    def publish(self, **kw) -> None:
        self.extra.update(kw)

    def report(self, progress) -> None:
        self.lab = progress


@pytest.fixture(scope="module")
def lab(digits):
    """The lab's default settings on the built-in digits (k = 8), trained once for this module."""
    return linear.run_lab(digits, linear.PcaLabConfig(n_train=None))


@pytest.mark.parametrize("k", [1, 8, 20])
def test_pca_train_error_is_sum_of_discarded_eigenvalues_over_d(digits, k):
    """PCA's training MSE per feature equals the discarded eigenvalues of the covariance (numpy eigvalsh) / D."""
    x = digits.x_train.double().numpy()
    ev = np.linalg.eigvalsh(np.cov(x, rowvar=False, bias=True))  # ascending
    expected = ev[:-k].sum() / x.shape[1]
    p = pca.fit(digits.x_train.numpy(), k)
    measured = analysis.mean_error(digits.x_train, linear.pca_reconstruct(p, digits.x_train))
    assert measured == pytest.approx(expected, rel=1e-4)
    assert linear.discarded_variance(p) == pytest.approx(expected, rel=1e-9)


def test_pca_components_are_orthonormal_and_sorted(digits):
    """The kept directions are orthonormal and the eigenvalues come largest first."""
    p = pca.fit(digits.x_train.numpy(), 10)
    assert np.allclose(p.components @ p.components.T, np.eye(10), atol=1e-8)
    assert np.all(np.diff(p.eigenvalues) <= 1e-12)


def test_linear_ae_reaches_pca_error(lab):
    """Reference test: gradient descent on a linear AE lands within 3% of PCA's error (train and held out)."""
    assert lab.status == "done"
    assert abs(lab.linear.test_loss / lab.pca_test - 1) < 0.03
    assert abs(lab.linear_train / lab.pca_train - 1) < 0.03


def test_linear_ae_never_beats_pca_on_training_data(lab):
    """Eckart-Young: no linear encoder/decoder pair with k code numbers has lower training MSE than PCA."""
    assert lab.linear_train >= lab.pca_train * (1 - 1e-4)


def test_nonlinear_ae_beats_pca_on_digits(lab):
    """With the same k = 8, the default nonlinear AE's held-out error is well below PCA's on digits."""
    assert lab.nonlinear.test_loss < 0.8 * lab.pca_test


def test_linear_ae_decoder_spans_pca_subspace(lab):
    """The trained decoder's column span is close to PCA's top-k subspace (mean principal angle < 5 degrees)."""
    c = linear.compare(lab)
    assert c.mean_angle < 5.0
    assert c.max_angle < 45.0


def test_explanation_quotes_the_measured_gap(lab):
    """The explanation is built from the numbers: it states the measured gap and the epochs."""
    c = linear.compare(lab)
    text = " ".join(linear.explain(lab, c))
    assert f"{abs(c.gap):.1%}" in text
    assert f"After {lab.cfg.epochs} epochs" in text
    assert "within 5%" in text


def test_lr_stages_split_epochs_and_divide_lr():
    """Step decay: epochs add up, each stage's learning rate is a third of the one before; off = one stage."""
    cfg = linear.train_config(linear.PcaLabConfig(epochs=10, lr=0.09))
    stages = linear.lr_stages(cfg, decay=True)
    assert [s.epochs for s in stages] == [4, 3, 3]
    assert [round(s.lr, 6) for s in stages] == [0.09, 0.03, 0.01]
    assert linear.lr_stages(cfg, decay=False) == [cfg]
    assert [s.epochs for s in linear.lr_stages(linear.train_config(linear.PcaLabConfig(epochs=2)), True)] == [1, 1]


def test_staged_history_is_one_continuous_run(digits):
    """Stages join into one history: epochs 0..E once each, train points in increasing epoch order."""
    cfg = linear.PcaLabConfig(k=4, epochs=7, n_train=300)
    data = digits.subset(cfg.n_train)
    run = linear.train_one(data, linear.linear_spec(64, 4), cfg)
    assert run.history.epoch_x == list(range(8))
    assert len(run.history.test) == 8
    assert np.all(np.diff(run.history.step_x) > 0)
    assert run.history.step_x[-1] == pytest.approx(7.0)
    model_loss = evaluate(run.model, data.x_test, data.x_test, run.cfg)["loss"]
    assert run.test_loss == pytest.approx(model_loss, rel=1e-5)


def test_stop_keeps_partial_result_and_publishes(digits):
    """Stop during the linear AE: status 'stopped', the linear AE is kept, the nonlinear one never starts."""
    ctx = _StopAfter(5)
    res = linear.run_lab(digits, linear.PcaLabConfig(epochs=30, n_train=None), ctx)
    assert res.status == "stopped"
    assert res.linear is not None and res.nonlinear is None
    assert "pca_test" in ctx.extra and (ctx.lab.phase_index, ctx.lab.phase_total) == (1, 2)
    assert list(ctx.lab.histories) == [linear.LINEAR] and ctx.lab.label == f"Model 1 of 2: the {linear.LINEAR}"
    assert ctx.updates > 0


def test_subspace_angles_ignore_mixing_and_see_orthogonality():
    """Angles are 0 between a basis and any invertible mix of it, and 90 degrees between orthogonal planes."""
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((10, 3)))[0]  # (10, 3) orthonormal
    mixed = basis @ rng.standard_normal((3, 3))
    assert linear.subspace_angles(mixed, basis).max() < 1e-5
    e = np.eye(4)
    assert linear.subspace_angles(e[:, :2], e[:, 2:]) == pytest.approx([90.0, 90.0])
    assert linear.max_column_cosine(basis) < 1e-9
    assert linear.max_column_cosine(mixed) > 0.0


def test_curves_figure_draws_pca_as_a_flat_line(digits):
    """The curve figure has one trace per model plus PCA's horizontal line at its error, on a log y axis."""
    cfg = linear.PcaLabConfig(k=3, epochs=2, n_train=200)
    run = linear.train_one(digits.subset(200), linear.linear_spec(64, 3), cfg)
    fig = linear.curves_figure(0.05, {linear.LINEAR: run.history, linear.NONLINEAR: None}, 2)
    assert len(fig.data) == 2
    pca_line = fig.data[-1]
    assert list(pca_line.y) == [0.05, 0.05] and list(pca_line.x) == [0, 2]
    assert fig.layout.yaxis.type == "log"


def test_reconstruction_rows_and_spectrum(lab, digits):
    """Reconstruction rows: original, PCA, linear AE, nonlinear AE with the input's shape; spectrum splits at k."""
    x = digits.x_test[:5]
    rows, labels = linear.reconstruction_rows(lab, x)
    assert labels[0] == "original" and len(rows) == 4 and all(r.shape == (5, 64) for r in rows)
    assert np.array_equal(rows[0], x.numpy())
    fig = linear.spectrum_figure(lab.pca.eigenvalues, 8)
    assert len(fig.data[0].y) == 8 and len(fig.data[1].y) == 56


def test_linear_spec_has_no_activation():
    """The linear AE is exactly two Linear layers (D -> k -> D) and nothing else."""
    from aelab.model import Autoencoder

    model = Autoencoder(linear.linear_spec(64, 5))
    layers = [*model.encoder, *model.decoder]
    assert [type(m).__name__ for m in layers] == ["Linear", "Linear"]
    assert linear.decoder_matrix(model).shape == (64, 5)
