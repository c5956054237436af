"""Tests for aelab.model: shapes, the one-Sequential view, and that exported PyTorch code is the same network."""
import random

import pytest
import torch
import torch.nn.functional as F

from aelab.model import ACTIVATION_MODULES, Autoencoder, activation, as_sequential, layer_table, pytorch_code
from aelab.spec import ACTIVATIONS, ArchSpec


def random_spec(rng: random.Random, kind: str = "ae") -> ArchSpec:
    enc = tuple(rng.randint(2, 40) for _ in range(rng.randint(0, 3)))
    dec = tuple(rng.randint(2, 40) for _ in range(rng.randint(0, 3))) if rng.random() < 0.5 else None
    return ArchSpec(rng.randint(4, 50), enc, rng.randint(1, 10), dec, rng.choice(list(ACTIVATIONS)),
                    rng.choice(["sigmoid", "none"]), kind)


@pytest.mark.parametrize("seed", range(6))
def test_shapes_and_param_count(seed):
    """encode: (B, D) -> (B, k); forward: (B, D) -> (B, D); spec.param_count equals the real count."""
    rng = random.Random(seed)
    for kind in ("ae", "vae"):
        spec = random_spec(rng, kind)
        model = Autoencoder(spec)
        x = torch.rand(5, spec.input_dim)
        assert model.encode(x).shape == (5, spec.bottleneck)
        assert model(x).shape == (5, spec.input_dim)
        assert spec.param_count == sum(p.numel() for p in model.parameters())


def test_sigmoid_output_stays_in_unit_interval():
    """With the Sigmoid output every reconstruction value lies in [0, 1]."""
    model = Autoencoder(ArchSpec(20, (8,), 2, output="sigmoid"))
    out = model(torch.randn(50, 20) * 10)
    assert out.min() >= 0 and out.max() <= 1


def test_one_sequential_is_the_same_function():
    """The encoder/decoder split is a convention: one nn.Sequential gives identical outputs."""
    model = Autoencoder(ArchSpec(30, (16, 8), 3))
    x = torch.rand(7, 30)
    assert torch.equal(as_sequential(model)(x), model(x))
    rows = layer_table(model)
    assert rows[-1]["width"] == 30 and {r["side"] for r in rows} == {"encoder", "decoder"}


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_exported_code_rebuilds_the_same_network(kind):
    """The generated PyTorch source defines a module that loads our weights and computes the same output."""
    spec = ArchSpec(40, (24, 12), 4, (10,), "gelu", "sigmoid", kind)
    ours = Autoencoder(spec)
    ns: dict = {}
    exec(pytorch_code(spec), ns)  # noqa: S102 - our own generated code
    theirs = ns["Autoencoder"]()
    theirs.load_state_dict(ours.state_dict())
    x = torch.rand(3, 40)
    if kind == "ae":
        assert torch.allclose(theirs(x), ours(x))
    else:
        mu, _ = ours.encode_stats(x)
        _, mu2, _ = theirs(x)
        assert torch.allclose(mu, mu2)


REFERENCE = {"relu": F.relu, "leaky_relu": F.leaky_relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
             "gelu": F.gelu, "identity": lambda h: h}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_offered_activation_has_one_module_computing_it(name):
    """The module table covers exactly spec.ACTIVATIONS, and each module equals torch's functional form."""
    assert set(ACTIVATION_MODULES) == set(ACTIVATIONS)
    h = torch.linspace(-4, 4, 101)
    assert torch.equal(activation(name)(h), REFERENCE[name](h))
    has_module = any(type(m) is ACTIVATION_MODULES[name] for m in Autoencoder(ArchSpec(8, (6,), 2, activation=name,
                                                                                      output="none")).modules())
    assert has_module == (name != "identity")  # a linear ('identity') layer has no activation module at all
