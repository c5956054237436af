"""What the learner asks for: the architecture (ArchSpec) and the training settings (TrainConfig).

Both are frozen dataclasses. `check_arch` / `check_train` turn bad choices into plain-language
messages (errors block training, notes only inform), so pages never show a traceback.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from aelab import config, conv
from aelab.fields import Check, SpecError, parse_fields, parse_float, parse_int, parse_widths  # noqa: F401 - re-exported
from aelab.limits import (ACTIVATIONS, KINDS, LAYOUTS, LOSSES, MAX_BATCH, MAX_BETA, MAX_CHANNELS,  # noqa: F401
                          MAX_CONV_LAYERS, MAX_EPOCHS, MAX_LAYERS, MAX_N_TRAIN, MAX_PARAMS, MAX_SPARSITY, MAX_WIDTH,
                          MIN_TRAIN, OPTIMIZERS, OUTPUTS, SEED_MAX, SEED_MIN)
from aelab.settings import BUILD_TRAIN

_D = BUILD_TRAIN.dataclass_default  # the Build & Train page's defaults are the dataclasses' defaults


@dataclass(frozen=True)
class ArchSpec:
    input_dim: int  # features per sample: 64 for 8x8 digits, 784 for 28x28 images
    encoder: tuple[int, ...] = _D("encoder")  # hidden widths from the input towards the code, e.g. (128, 64, 12)
    bottleneck: int = _D("bottleneck")  # size of the code (the narrowest layer in a classic autoencoder), e.g. 3
    decoder: tuple[int, ...] | None = None  # hidden widths from the code outwards; None mirrors the encoder
    activation: str = _D("activation")  # nonlinearity after every hidden Linear (a key of ACTIVATIONS), e.g. "relu"
    output: str = _D("output")  # activation on the reconstruction: "sigmoid" or "none"
    kind: str = _D("kind")  # "ae" (plain autoencoder) or "vae" (encoder outputs mean and log-variance)
    layout: str = _D("layout")  # "dense", or "conv": stride-2 convs before `encoder` (a key of LAYOUTS)
    channels: tuple[int, ...] = ()  # conv layout: channels of each conv, image side first, e.g. (16, 32); dense: ()
    code_activation: str = _D("code_activation")  # plain AE: activation on the code; "relu" lets a sparse code be 0

    def __post_init__(self):
        # a checkpoint stores tuples as lists: keep the spec hashable (it keys caches)
        if isinstance(self.channels, list):
            object.__setattr__(self, "channels", tuple(self.channels))
        if self.layout == "dense" and self.channels:  # a lab's channel field counts only in the conv layout
            object.__setattr__(self, "channels", ())

    @property
    def is_conv(self) -> bool:
        return self.layout == "conv"

    @property
    def conv_widths(self) -> list[int]:
        """Conv layout: numbers in each conv's output, image side first (16x14x14 -> 3136); dense: []."""
        return [c * h * w for c, h, w in conv.shapes(self.input_dim, self.channels)[1:]] if self.is_conv else []

    @property
    def decoder_widths(self) -> tuple[int, ...]:
        """Hidden widths of the decoder, code side first."""
        return tuple(reversed(self.encoder)) if self.decoder is None else tuple(self.decoder)

    @property
    def widths(self) -> list[int]:
        """Every layer width from input to output, e.g. [784, 128, 64, 12, 3, 12, 64, 128, 784].

        A conv layer's width is the number of values in its feature map (channels x height x width)."""
        convs = self.conv_widths
        return [self.input_dim, *convs, *self.encoder, self.bottleneck, *self.decoder_widths, *convs[::-1],
                self.input_dim]

    @property
    def param_count(self) -> int:
        """Number of trainable parameters, computed without building the model."""
        flat = conv.flat_size(self.input_dim, self.channels) if self.is_conv else self.input_dim
        enc = [flat, *self.encoder, self.bottleneck * (2 if self.kind == "vae" else 1)]
        dec = [self.bottleneck, *self.decoder_widths, flat]
        dense = sum(a * b + b for widths in (enc, dec) for a, b in zip(widths, widths[1:]))
        return dense + (conv.conv_params(self.channels) if self.is_conv else 0)

    @property
    def compression(self) -> float:
        """How many input numbers each code number stands for."""
        return self.input_dim / self.bottleneck

    @property
    def layer_text(self) -> str:
        """The layers with weights, both sides: '6 Linear', or '4 conv + 4 Linear' (a conv and its transposed twin)."""
        dense = len(self.encoder) + len(self.decoder_widths) + 2
        return f"{2 * len(self.channels)} conv + {dense} Linear" if self.is_conv else f"{dense} Linear"

    def describe(self) -> str:
        """The sandglass as text: 784-128-64-12-3-12-64-128-784 (conv layers as c16: 784-c16-c32-3-c32-c16-784)."""
        convs = [f"c{c}" for c in self.channels] if self.is_conv else []
        parts = [self.input_dim, *convs, *self.encoder, self.bottleneck, *self.decoder_widths, *convs[::-1],
                 self.input_dim]
        return "-".join(str(w) for w in parts)


@dataclass(frozen=True)
class TrainConfig:
    loss: str = _D("loss")  # reconstruction loss: "mse", "bce" or "l1" (a key of LOSSES)
    optimizer: str = _D("optimizer")  # "adam" or "sgd"
    lr: float = _D("lr")  # learning rate, e.g. 0.001
    batch_size: int = _D("batch_size")  # samples per optimizer step, e.g. 64
    epochs: int = _D("epochs")  # full passes over the training set, e.g. 30
    seed: int = _D("seed")  # seeds weights and shuffling: same seed + same settings = same curves
    n_train: int | None = _D("n_train")  # training-set size (a fixed random subset); None = all
    beta: float = _D("beta")  # VAE only: weight of the KL term against the reconstruction term, e.g. 0.1
    sparsity: float = _D("sparsity")  # plain AE only: weight of the L1 penalty on the code (mean |code|), e.g. 0.01


def from_settings(values: dict, input_dim: int) -> tuple[ArchSpec, TrainConfig]:
    """Build & Train's values (session key -> value, as settings.BUILD_TRAIN parses them) -> (ArchSpec, TrainConfig).

    The decoder keeps its own widths only while "asymmetric decoder" is on; otherwise it mirrors the encoder. The
    channels count only in the conv layout; a VAE takes no code activation and no sparsity (its KL term already
    pulls the code towards 0), so a value left from a plain autoencoder does not apply to it."""
    kw = BUILD_TRAIN.kwargs(values)
    kw.pop("dataset", None)
    if not values.get("cfg_asym", BUILD_TRAIN["cfg_asym"].default):
        kw["decoder"] = None
    if kw.get("layout", BUILD_TRAIN.default("layout")) != "conv":
        kw.pop("channels", None)
    if kw.get("kind") == "vae":
        kw.pop("code_activation", None)
        kw.pop("sparsity", None)
    arch = {k: kw.pop(k) for k in ARCH_ARGS if k in kw}
    return ArchSpec(input_dim, **arch), TrainConfig(**kw)


def to_settings(spec: ArchSpec, cfg: TrainConfig, dataset: str) -> dict:
    """The Build & Train values that reproduce this architecture and training setup (the inverse of from_settings).

    Use with share.state_updates (fill the page's widgets) or share.encode (a link that opens the page so)."""
    values = {"cfg_dataset": dataset, "cfg_asym": spec.decoder is not None}
    for key, f in BUILD_TRAIN.items():
        source = spec if hasattr(spec, f.arg) else cfg
        if f.arg and hasattr(source, f.arg):
            value = getattr(source, f.arg)
            if f.arg == "decoder":
                value = spec.decoder_widths
            elif f.kind == "ints" and not value and f.min_items:  # a dense spec's () channels: keep the default
                value = f.default
            elif value is None and f.none_as is not None:
                value = f.none_as
            elif f.kind == "choice" and value not in f.choices:  # e.g. a training-set size the slider lacks
                value = f.default
            values[key] = tuple(value) if f.kind == "ints" else value
    return values


ARCH_ARGS = ("encoder", "bottleneck", "decoder", "activation", "output", "kind", "layout", "channels",
             "code_activation")  # the Build & Train arguments that ArchSpec takes (the rest are TrainConfig's)


def check_arch(spec: ArchSpec) -> Check:
    """Validate an architecture; messages say what to change."""
    check = Check()
    # choices, layer counts, every width and the code size in range; the layout, the channels and the code
    # activation have their own messages below (aelab/conv.py knows what an image of this size allows)
    own = {"layout", "channels", "code_activation"}
    check.errors += BUILD_TRAIN.check(spec, args=[a for a in ARCH_ARGS if a not in own])
    if not 1 <= spec.input_dim <= MAX_WIDTH:
        check.error(f"The input must have between 1 and {MAX_WIDTH:,} values (got {spec.input_dim:,}).", "widths")
    # -- the convolutional layout (its geometry and messages are in aelab/conv.py) and the code's activation --
    if not isinstance(spec.layout, str) or spec.layout not in LAYOUTS:
        check.error(f"Unknown layout '{str(spec.layout)[:20]}': choose dense or conv.", "layout")
        return check
    if not isinstance(spec.code_activation, str) or spec.code_activation not in ACTIVATIONS:
        check.error(f"Unknown code activation '{str(spec.code_activation)[:20]}'.", "code_activation")
    elif spec.code_activation != "identity" and spec.kind == "vae":
        check.error("A VAE's encoder outputs a mean and a log-variance, which must stay free: keep its code "
                    "activation at None (linear).", "code_activation")
    if spec.is_conv and not check.errors:
        errors, notes = conv.check(spec.input_dim, spec.channels, MAX_CONV_LAYERS, MAX_CHANNELS)
        for message, name in errors:
            check.error(message, name)
        check.notes += notes
    if check.errors:
        return check
    n = spec.param_count
    if n > MAX_PARAMS:
        check.error(
            f"This network has {n:,} parameters, over the {MAX_PARAMS:,} this lab allows; "
            "use narrower or fewer hidden layers.",
            "widths",
        )
    if spec.bottleneck >= spec.input_dim:
        check.notes.append(
            f"The bottleneck ({spec.bottleneck}) is at least as wide as the input ({spec.input_dim}): "
            "nothing forces compression, so the network can learn to copy its input."
        )
    narrowest = min([*spec.encoder, *spec.decoder_widths], default=spec.bottleneck + 1)
    if narrowest < spec.bottleneck:
        check.notes.append(
            f"A hidden layer ({narrowest}) is narrower than the bottleneck ({spec.bottleneck}); "
            "that layer, not the code, is where the information is squeezed most."
        )
    return check


def compute_units(params: int, samples: int, epochs: int) -> int:
    """The compute a run needs, in the unit of AELAB_MAX_COMPUTE: parameters x training samples per epoch x epochs.

    One parameter meeting one sample is about 6 floating-point operations (a multiply-add forward, two
    backward); how many of them a second the CPU does depends on the batch size, so this counts work, not time.
    """
    return int(params) * int(samples) * int(epochs)


def compute_text(units: float) -> str:
    """A compute amount in words a learner can compare: '1.0e13'."""
    return f"{units:.1e}".replace("e+", "e")


def check_compute(params: int, samples: int, epochs: int, what: str = "training samples") -> list[SpecError]:
    """An error when the run needs more compute than this server allows one run (AELAB_MAX_COMPUTE).

    `params` counts every model the run trains (e.g. both models of a comparison), `samples` what one epoch
    trains on (`what` names them: "training images", "noisy copies", ...). The message says how many epochs
    would fit, so the learner knows what to change.
    """
    limit = config.get("max_compute")
    need = compute_units(params, samples, epochs)
    if need <= limit:
        return []
    fit = int(limit // max(1, params * samples))
    change = (f"use at most {fit:,} epochs, a smaller model or fewer {what}" if fit >= 1 else
              f"even 1 epoch is too much: use a smaller model or fewer {what}")
    return [SpecError(f"This run needs {compute_text(need)} units of compute ({params:,} parameters × {samples:,} "
                      f"{what} × {epochs:,} epochs), over the {compute_text(limit)} one run may use on this "
                      f"server (AELAB_MAX_COMPUTE): {change}.", "epochs")]


TRAIN_ARGS = ("loss", "optimizer", "lr", "batch_size", "epochs", "seed", "beta")  # checked by their Build & Train field


def check_train(cfg: TrainConfig, spec: ArchSpec | None = None, n_available: int | None = None,
                params: int | None = None) -> Check:
    """Validate training settings (optionally against the architecture and the data size).

    The settings Build & Train offers are checked by their fields (the same check as the page's and the URL's).
    With the data size and the model (`spec`, or `params` when a run trains several models) it also checks
    the compute budget (check_compute).
    """
    check = Check()
    check.errors += BUILD_TRAIN.check(cfg, args=TRAIN_ARGS)  # the same check as the page's and the URL's
    if cfg.optimizer == "adam" and cfg.lr > 0.05 and not check.errors:
        check.notes.append(f"A learning rate of {cfg.lr:g} is high for Adam; the loss may jump around or diverge.")
    if cfg.n_train is not None and cfg.n_train < MIN_TRAIN:
        check.error(f"The training set needs at least {MIN_TRAIN} images.", "n_train")
    elif cfg.n_train is not None and cfg.n_train > MAX_N_TRAIN:
        check.error(f"The training set can have at most {MAX_N_TRAIN:,} samples.", "n_train")
    if n_available is not None and cfg.n_train is not None and cfg.n_train > n_available:
        check.error(f"The data set has only {n_available:,} training samples; pick at most that many.", "n_train")
    # -- the sparse autoencoder's L1 code penalty --
    if not isinstance(cfg.sparsity, (int, float)) or isinstance(cfg.sparsity, bool) or not math.isfinite(cfg.sparsity) \
            or cfg.sparsity < 0:
        check.error("The sparsity weight must be a number, 0 or more (0 switches the penalty off).", "sparsity")
    elif cfg.sparsity > MAX_SPARSITY:
        check.error(f"A sparsity weight of {cfg.sparsity:g} is too large (at most {MAX_SPARSITY:g}): the penalty "
                    "then outweighs the reconstruction, every code number is pushed to 0 and every reconstruction "
                    "becomes the same average image. Try 0.001 to 0.1.", "sparsity")
    elif cfg.sparsity > 0 and spec is not None and spec.kind == "vae":
        check.error("The sparsity penalty is for the plain autoencoder: a VAE already pulls its code towards 0 "
                    "with its KL term. Set sparsity to 0, or choose the plain autoencoder.", "sparsity")
    elif cfg.sparsity > 0 and spec is not None and spec.bottleneck >= spec.input_dim:
        check.notes.append(f"The code ({spec.bottleneck}) is at least as wide as the input ({spec.input_dim}), "
                           "but the sparsity penalty charges for every active code number, so copying the input "
                           "is no longer free: the code can still learn features.")
    params = params if params is not None else (spec.param_count if spec is not None else None)
    n = cfg.n_train if cfg.n_train is not None else n_available
    if n_available is not None and n is not None:
        n = min(n, n_available)
    if params is not None and n is not None and not check.errors:
        check.errors += check_compute(params, n, cfg.epochs)
    if spec is not None and cfg.loss == "bce" and spec.output != "sigmoid":
        check.error(
            "BCE compares probabilities, so the reconstruction must lie in [0, 1]: "
            "choose the Sigmoid output activation, or use MSE or L1.",
            "loss",
        )
    return check


def check_model(spec: ArchSpec, cfg: TrainConfig, n_available: int | None = None) -> Check:
    """check_arch and check_train together: every message about one network and its training settings."""
    return check_arch(spec).add(check_train(cfg, spec, n_available))
