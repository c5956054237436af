"""Tests for the convolutional autoencoder: shapes at every allowed depth, parameter count, checks, code export,
the sandglass labels and the checkpoint round trip. Run: python -m pytest -q tests/test_conv.py
"""
import dataclasses

import pytest
import torch

from aelab import checkpoint, conv, diagram
from aelab.model import Autoencoder, as_sequential, pytorch_code
from aelab.runs import Run
from aelab.spec import MAX_CHANNELS, MAX_CONV_LAYERS, ArchSpec, TrainConfig, check_arch
from aelab.train import History

DEPTHS = [(64, d) for d in range(1, 4)] + [(784, d) for d in range(1, MAX_CONV_LAYERS + 1)]


@pytest.mark.parametrize("input_dim,depth", DEPTHS)
@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_shapes_at_every_allowed_depth(input_dim, depth, kind):
    """8x8 (1-3 convs) and 28x28 (1-4 convs): flat (N, D) in and out, (N, k) codes, feature maps as planned,
    and spec.param_count equals the built model's count."""
    channels = tuple(4 * (i + 1) for i in range(depth))
    spec = ArchSpec(input_dim, (16,), 3, layout="conv", channels=channels, kind=kind)
    assert check_arch(spec).ok, check_arch(spec).errors
    model = Autoencoder(spec)
    x = torch.rand(5, input_dim)
    assert model.encode(x).shape == (5, 3)
    assert model(x).shape == (5, input_dim)
    h = x
    maps = []
    for layer in model.encoder:
        h = layer(h)
        if isinstance(layer, torch.nn.Conv2d):
            maps.append(tuple(h.shape[1:]))
    assert maps == conv.shapes(input_dim, channels)[1:]
    assert spec.param_count == sum(p.numel() for p in model.parameters())


def test_geometry_by_hand():
    """28 -> 14 -> 7 -> 4 -> 2 -> 1 and 8 -> 4 -> 2 -> 1; the transposed convs land back on the same sides."""
    assert conv.sides(784, 5) == [28, 14, 7, 4, 2, 1]
    assert conv.max_depth(28) == 5 and conv.max_depth(8) == 3
    assert [conv.output_padding(s, b) for s, b in ((14, 28), (7, 14), (4, 7), (2, 4), (1, 2))] == [1, 1, 0, 1, 1]
    # Conv2d(1, 16, 3): 144 + 16; ConvTranspose2d(16, 1, 3): 144 + 1
    assert conv.conv_params((16,)) == 144 + 16 + 144 + 1


@pytest.mark.parametrize("spec,field,needle", [
    (ArchSpec(100, (), 3, layout="conv", channels=(8,)), "layout", "Choose the dense layout"),
    (ArchSpec(64, (), 3, layout="conv", channels=(8, 8, 8, 8)), "channels", "halved 3 times"),
    (ArchSpec(784, (), 3, layout="conv", channels=(4,) * (MAX_CONV_LAYERS + 1)), "channels", "at most 4"),
    (ArchSpec(784, (), 3, layout="conv", channels=(MAX_CHANNELS + 1,)), "channels", f"at most {MAX_CHANNELS}"),
    (ArchSpec(784, (), 3, layout="conv", channels=()), "channels", "at least one"),
    (ArchSpec(784, (), 3, layout="conv", channels=(0,)), "channels", "at least 1 channel"),
    (ArchSpec(784, (), 3, layout="conv", channels=("a",)), "channels", "whole numbers"),
    (ArchSpec(784, (), 3, layout="round"), "layout", "Unknown layout"),
    (ArchSpec(784, (), 3, kind="vae", code_activation="relu"), "code_activation", "VAE"),
])
def test_bad_conv_specs_get_a_message(spec, field, needle):
    """Non-image data, too many stride-2 steps, too many channels and malformed values: an error naming the control."""
    errors = check_arch(spec).errors
    assert errors and errors[0].field == field and needle in str(errors[0]), errors


def test_exported_code_rebuilds_the_same_conv_network():
    """pytorch_code for a conv spec runs, has the same module names, loads our weights and gives identical outputs."""
    spec = ArchSpec(784, (32,), 4, layout="conv", channels=(8, 16), activation="gelu")
    ours = Autoencoder(spec)
    ns: dict = {}
    exec(pytorch_code(spec), ns)  # noqa: S102 - our own generated code
    theirs = ns["Autoencoder"]()
    assert list(theirs.state_dict()) == list(ours.state_dict())
    theirs.load_state_dict(ours.state_dict())
    x = torch.rand(3, 784)
    assert torch.equal(theirs(x), ours(x))
    assert torch.equal(as_sequential(ours)(x), ours(x))


def test_checkpoint_round_trip_gives_identical_outputs():
    """A conv model saved and loaded through aelab.checkpoint computes exactly the same reconstructions."""
    spec = ArchSpec(64, (16,), 2, layout="conv", channels=(8, 16))
    model = Autoencoder(spec).eval()
    run = Run(spec, TrainConfig(epochs=1, sparsity=0.01), "digits", model, History(), "done", "ok", 1.0)
    loaded = checkpoint.from_bytes(checkpoint.to_bytes(run))
    assert loaded.spec == spec and loaded.cfg.sparsity == 0.01
    x = torch.rand(7, 64)
    assert torch.equal(loaded.model(x), model(x))


def test_checkpoint_with_tampered_channels_is_refused():
    """A checkpoint whose conv channels are not whole numbers is refused with a CheckpointError, not a crash."""
    spec = ArchSpec(64, (), 2, layout="conv", channels=(8,))
    run = Run(spec, TrainConfig(epochs=1), "digits", Autoencoder(spec), History(), "done", "ok", 1.0)
    payload = checkpoint.to_dict(run)
    payload["spec"]["channels"] = ["x"]
    with pytest.raises(checkpoint.CheckpointError, match="whole numbers"):
        checkpoint.from_dict(payload)


def test_spec_from_a_checkpoint_list_is_hashable():
    """Channels given as a list (as a checkpoint stores them) become a tuple, so the spec can key caches."""
    spec = ArchSpec(784, (), 3, layout="conv", channels=[16, 32])
    assert spec.channels == (16, 32) and hash(spec) == hash(dataclasses.replace(spec, channels=(16, 32)))


def test_sandglass_labels_feature_maps():
    """The conv sandglass names every feature map as channels×height×width and marks conv and transposed-conv bars."""
    spec = ArchSpec(784, (64,), 3, layout="conv", channels=(16, 32))
    texts = [a.text for a in diagram.sandglass(spec).layout.annotations]
    assert texts[:6] == ["1×28×28", "input", "16×14×14", "conv", "32×7×7", "conv"]
    assert "conv⁻¹" in texts and texts.count("32×7×7") == 2
    assert spec.describe() == "784-c16-c32-64-3-64-c32-c16-784"
    assert spec.widths == [784, 3136, 1568, 64, 3, 64, 1568, 3136, 784]
