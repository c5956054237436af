"""aelab.stacked: K autoencoders as one network with stacked weights compute, and train, exactly each model.

(That the stacked training matches train.fit run once per size is tested in tests/test_sweep.py.)
Run: python -m pytest -q tests/test_stacked.py
"""
import torch

from aelab import stacked
from aelab.spec import ArchSpec, TrainConfig
from aelab.train import build_seeded, make_optimizer


def test_group_sizes_keeps_order_and_isolates_a_huge_code():
    """Groups cover every size once, in order, and a 784 code is not padded onto a 2-unit model."""
    groups = stacked.group_sizes([2, 4, 8, 16, 32, 64, 128, 784])
    assert [s for g in groups for s in g] == [2, 4, 8, 16, 32, 64, 128, 784]
    assert groups[-1] == [784]
    assert stacked.group_sizes([5], penalty=0) == [[5]]


def test_stacked_network_computes_each_model_exactly():
    """Each slot of the stacked network reproduces its own standalone model, and extract() gives it back."""
    specs = [ArchSpec(20, (12, 6), k) for k in (1, 3, 7)]
    models = [build_seeded(s, i) for i, s in enumerate(specs)]
    net = stacked.SweepNetwork(models, penalty=10**9)  # one padded stack
    x = torch.rand(9, 20)
    out = net.stacks[0](x)  # (K, B, D)
    for k, model in enumerate(models):
        torch.testing.assert_close(out[k], model(x))
        torch.testing.assert_close(net.extract(k, specs[k])(x), model(x))


def test_padded_code_weights_stay_zero_while_training():
    """Weights of a model's unused (padded) code units get no gradient and stay exactly 0 under Adam."""
    specs = [ArchSpec(16, (8,), k) for k in (2, 6)]
    net = stacked.SweepNetwork([build_seeded(s, 0) for s in specs], penalty=10**9)
    opt = make_optimizer(net, TrainConfig(lr=0.01))
    x = torch.rand(32, 16)
    for _ in range(20):
        opt.zero_grad()
        net.losses(x).sum().backward()
        opt.step()
    stack = net.stacks[0]
    code_w, dec_w = stack.weights[stack.code_layer], stack.weights[stack.code_layer + 1]
    assert torch.count_nonzero(code_w[0, :, 2:]) == 0 and torch.count_nonzero(dec_w[0, 2:, :]) == 0
    assert torch.count_nonzero(code_w[0, :, :2]) > 0
