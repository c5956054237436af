"""Named presets for the demos teachers run: an architecture plus training settings, as plain data.

Hidden widths do not depend on the data set: on 8x8 digits (64 inputs) the seed's 784-128-64-12-3
network becomes 64-128-64-12-3, so the same code size can be compared across data sets. Each preset names its
epochs and batch size (a preset's run should take about as long on the data set it suggests as the defaults do).
"""
from __future__ import annotations

from dataclasses import dataclass

from aelab import catalog  # the data set keys, torch-free (Build & Train draws its settings before loading data)
from aelab.settings import BUILD_TRAIN
from aelab.spec import ArchSpec, TrainConfig

_D = BUILD_TRAIN.dataclass_default  # what a preset leaves out is the Build & Train page's default


@dataclass(frozen=True)
class Preset:
    name: str  # shown in the preset picker
    description: str  # one sentence: what the preset is for
    dataset: str  # suggested data set key (catalog.DATASETS); digits always works offline
    encoder: tuple[int, ...]  # hidden widths from the input towards the code
    bottleneck: int  # code size
    decoder: tuple[int, ...] | None = None  # None mirrors the encoder
    activation: str = _D("activation")  # hidden activation (a key of spec.ACTIVATIONS)
    output: str = _D("output")  # output activation: "sigmoid" or "none"
    kind: str = _D("kind")  # "ae" or "vae"
    loss: str = _D("loss")  # reconstruction loss
    optimizer: str = _D("optimizer")
    lr: float = _D("lr")  # learning rate
    batch_size: int = _D("batch_size")  # samples per step
    epochs: int = _D("epochs")  # passes over the training set
    seed: int = _D("seed")  # same seed, same curves
    n_train: int | None = _D("n_train")  # training-set size; None = all
    beta: float = _D("beta")  # VAE only: weight of the KL term
    noise: float = 0.0  # denoising demos: std of the Gaussian noise added to inputs (0 = none)
    layout: str = _D("layout")  # "dense" or "conv"
    channels: tuple[int, ...] = ()  # conv layout: channels per conv layer
    code_activation: str = _D("code_activation")  # "relu" lets a sparse code be exactly 0
    sparsity: float = _D("sparsity")  # weight of the L1 penalty on the code


PRESETS: tuple[Preset, ...] = (
    Preset("Seed deep dive", "The seed document's network: 128-64-12 hidden units down to a 3-number code, "
           "ReLU inside and a Sigmoid on the output.", catalog.MNIST, (128, 64, 12), 3, epochs=5, batch_size=64),
    Preset("Tiny 2D", "A 2-number code you can plot directly: every image becomes one point in a plane.",
           catalog.DIGITS, (32,), 2, epochs=150, batch_size=32),
    Preset("Wide 32", "A roomy 32-number code: sharp reconstructions, little compression.",
           catalog.DIGITS, (48,), 32, epochs=150, batch_size=32),
    Preset("Convolutional", "3x3 filters slide over the image (16, then 32 channels, each layer halving its side) "
           "before a dense 8-number code; compare its parameters and test loss with the dense default.",
           catalog.DIGITS, (), 8, epochs=150, batch_size=32, layout="conv", channels=(16, 32)),
    Preset("Sparse wide code", "A 256-number code, four times wider than a Digits image, with an L1 penalty on "
           "its activity: watch the weights as images to see whether it learns strokes or copies pixels.",
           catalog.DIGITS, (), 256, epochs=150, batch_size=32, code_activation="relu", sparsity=0.01),
    Preset("Memorization setup", "Only 100 training images, a wide 32-number code and many epochs: the "
           "training error keeps falling while the held-out error stalls.",
           catalog.DIGITS, (256,), 32, batch_size=32, epochs=300, n_train=100),
    Preset("Denoising setup", "Noisy images in, clean images as the target: the network learns to remove noise "
           "it has never seen on the held-out set.", catalog.DIGITS, (128,), 16, epochs=40, noise=0.3),
)


def names() -> list[str]:
    return [p.name for p in PRESETS]


def get(name: str) -> Preset:
    """The preset called `name`; KeyError names the choices."""
    for p in PRESETS:
        if p.name == name:
            return p
    raise KeyError(f"No preset '{name}'. Choose one of: {', '.join(names())}.")


def apply(preset: Preset, input_dim: int) -> tuple[ArchSpec, TrainConfig]:
    """The preset's (ArchSpec, TrainConfig) for data with `input_dim` features per sample."""
    spec = ArchSpec(input_dim, preset.encoder, preset.bottleneck, preset.decoder, activation=preset.activation,
                    output=preset.output, kind=preset.kind, layout=preset.layout, channels=preset.channels,
                    code_activation=preset.code_activation)
    cfg = TrainConfig(loss=preset.loss, optimizer=preset.optimizer, lr=preset.lr, batch_size=preset.batch_size,
                      epochs=preset.epochs, seed=preset.seed, n_train=preset.n_train, beta=preset.beta,
                      sparsity=preset.sparsity)
    return spec, cfg
