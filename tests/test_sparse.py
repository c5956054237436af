"""Tests for the sparse autoencoder: the L1 term's value and gradient by hand, its bounds, and the measurements
(active units, pass-through) against references. Run: python -m pytest -q tests/test_sparse.py
"""
import numpy as np
import pytest
import torch

from aelab import sparse
from aelab.model import Autoencoder
from aelab.spec import MAX_SPARSITY, ArchSpec, TrainConfig, check_train
from aelab.train import evaluate, fit, l1_activity, loss_terms, recon_loss


def test_l1_term_value_and_gradient_by_hand():
    """loss = MSE + w * mean|z|: value and d loss / d code match a hand computation (d mean|z| / dz = sign(z) / (B k))."""
    spec = ArchSpec(4, (), 3)
    model = Autoencoder(spec)
    x = torch.tensor([[0.1, 0.9, 0.3, 0.0], [0.5, 0.2, 0.8, 1.0]])
    cfg = TrainConfig(sparsity=0.25)
    code = model.encode(x).detach().requires_grad_(True)  # (2, 3)
    total, terms = loss_terms(model, x, x, cfg)
    by_hand = code.detach().abs().sum() / 6  # mean over 2 inputs x 3 units
    assert torch.allclose(terms["l1"], by_hand)
    assert torch.allclose(total, terms["recon"] + 0.25 * by_hand)
    assert torch.allclose(terms["recon"], recon_loss(model(x), x, "mse"))
    # the gradient of the penalty with respect to the code
    l1_activity(code).backward()
    assert torch.allclose(code.grad, torch.sign(code.detach()) / 6)


def test_no_penalty_means_no_term():
    """With sparsity 0 the loss is the plain reconstruction loss and no 'l1' term is logged."""
    model = Autoencoder(ArchSpec(4, (), 3))
    x = torch.rand(5, 4)
    total, terms = loss_terms(model, x, x, TrainConfig())
    assert terms == {} and torch.equal(total, recon_loss(model(x), x, "mse"))


def test_penalty_is_logged_for_train_and_test_like_the_vae_terms():
    """A sparse run logs 'recon' and 'l1' per train point and per test point."""
    torch.manual_seed(0)
    x = torch.rand(64, 8)
    res = fit(Autoencoder(ArchSpec(8, (), 16)), x, x[:16], TrainConfig(epochs=2, batch_size=16, sparsity=0.1))
    h = res.history
    assert set(h.terms) == {"recon", "l1"} and len(h.terms["l1"]) == len(h.train)
    assert set(h.test_terms) == {"recon", "l1"} and len(h.test_terms["l1"]) == len(h.test)
    assert evaluate(Autoencoder(ArchSpec(8, (), 16)), x, x, TrainConfig(sparsity=0.1)).keys() == {"loss", "recon", "l1"}


@pytest.mark.parametrize("value,needle", [(MAX_SPARSITY * 10, "too large"), (-1.0, "0 or more"),
                                          (float("nan"), "0 or more"), ("x", "0 or more")])
def test_bad_sparsity_weights_get_a_message(value, needle):
    """A huge, negative, NaN or non-numeric sparsity weight is an error on the 'sparsity' control."""
    errors = check_train(TrainConfig(sparsity=value)).errors
    assert errors and errors[0].field == "sparsity" and needle in str(errors[0])


def test_sparsity_is_refused_for_a_vae_and_notes_a_wide_code():
    """A VAE with sparsity is an error; a plain AE with a code wider than the input gets a note, not an error."""
    assert check_train(TrainConfig(sparsity=0.1), ArchSpec(8, (), 4, kind="vae")).errors
    check = check_train(TrainConfig(sparsity=0.1), ArchSpec(8, (), 32))
    assert check.ok and any("sparsity penalty" in n for n in check.notes)


def test_active_fraction_by_hand():
    """Units at least 10% of the input's largest |z| count as active: [5, 0.4, 0.6, 0] -> 2 of 4."""
    codes = np.array([[5.0, 0.4, 0.6, 0.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    assert np.allclose(sparse.active_fraction(codes), [0.5, 1.0, 0.0])


class _Linear(torch.nn.Module):
    """A stand-in 'autoencoder' whose forward is a fixed linear map (to check pass_through against theory)."""

    def __init__(self, matrix: torch.Tensor):
        super().__init__()
        self.m = torch.nn.Parameter(matrix)

    def forward(self, x):
        return x @ self.m.T


def test_pass_through_is_one_for_a_copy_and_m_over_d_for_a_projection():
    """The identity passes all of a perturbation (1.0); a projection onto 10 of 100 directions passes about 0.1."""
    x = torch.rand(400, 100)
    assert sparse.pass_through(_Linear(torch.eye(100)), x) == pytest.approx(1.0, abs=1e-5)
    q, _ = torch.linalg.qr(torch.randn(100, 10))
    assert sparse.pass_through(_Linear(q @ q.T), x) == pytest.approx(0.1, abs=0.02)


def _measure(**kw) -> sparse.CodeMeasure:
    base = dict(test_mse=0.01, active=0.7, pass_through=0.4, probe=0.95, code_size=256, zeros=True)
    return sparse.CodeMeasure(**{**base, **kw})


def test_verdict_has_a_branch_for_each_outcome():
    """The verdict says 'sparse' / 'too weak' / 'shrank all units', 'copying' / 'about the same' / 'copies more'
    from the numbers it is given."""
    plain = _measure()
    text = " ".join(sparse.verdict(_measure(active=0.1, pass_through=0.2, test_mse=0.02), plain, 64))
    assert "made the code sparse" in text and "drifts towards copying" in text and "The price" in text
    text = " ".join(sparse.verdict(_measure(active=0.68, pass_through=0.41), plain, 64))
    assert "too weak" in text and "about the same" in text
    text = " ".join(sparse.verdict(_measure(active=0.95, pass_through=0.6, zeros=False), plain, 64))
    assert "shrank all units" in text and "copies more" in text
    text = " ".join(sparse.verdict(_measure(pass_through=0.42, zeros=False), plain, 64))
    assert "ReLU code activation" in text
