"""What the learner asks for: the architecture (ArchSpec) and the training settings (TrainConfig).

Both are frozen dataclasses. `check_arch` / `check_train` turn bad choices into plain-language
messages (errors block training, notes only inform), so pages never show a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass

from aelab.fields import Check, SpecError, parse_fields, parse_float, parse_int, parse_widths  # noqa: F401 - re-exported
from aelab.limits import (ACTIVATIONS, KINDS, LOSSES, MAX_BETA, MAX_EPOCHS, MAX_LAYERS, MAX_PARAMS,  # noqa: F401
                          MAX_WIDTH, MIN_TRAIN, OPTIMIZERS, OUTPUTS)
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

    @property
    def decoder_widths(self) -> tuple[int, ...]:
        """Hidden widths of the decoder, code side first."""
        return tuple(reversed(self.encoder)) if self.decoder is None else tuple(self.decoder)

    @property
    def widths(self) -> list[int]:
        """Every layer width from input to output, e.g. [784, 128, 64, 12, 3, 12, 64, 128, 784]."""
        return [self.input_dim, *self.encoder, self.bottleneck, *self.decoder_widths, self.input_dim]

    @property
    def param_count(self) -> int:
        """Number of trainable parameters, computed without building the model."""
        enc = [self.input_dim, *self.encoder, self.bottleneck * (2 if self.kind == "vae" else 1)]
        dec = [self.bottleneck, *self.decoder_widths, self.input_dim]
        return sum(a * b + b for widths in (enc, dec) for a, b in zip(widths, widths[1:]))

    @property
    def compression(self) -> float:
        """How many input numbers each code number stands for."""
        return self.input_dim / self.bottleneck

    def describe(self) -> str:
        """The sandglass as text: 784-128-64-12-3-12-64-128-784."""
        return "-".join(str(w) for w in self.widths)


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


def from_settings(values: dict, input_dim: int) -> tuple[ArchSpec, TrainConfig]:
    """Build & Train's values (session key -> value, as settings.BUILD_TRAIN parses them) -> (ArchSpec, TrainConfig).

    The decoder keeps its own widths only while "asymmetric decoder" is on; otherwise it mirrors the encoder."""
    kw = BUILD_TRAIN.kwargs(values)
    kw.pop("dataset", None)
    if not values.get("cfg_asym", BUILD_TRAIN["cfg_asym"].default):
        kw["decoder"] = None
    arch = {k: kw.pop(k) for k in ("encoder", "bottleneck", "decoder", "activation", "output", "kind") if k in kw}
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
            elif value is None and f.none_as is not None:
                value = f.none_as
            elif f.kind == "choice" and value not in f.choices:  # e.g. a training-set size the slider lacks
                value = f.default
            values[key] = tuple(value) if f.kind == "ints" else value
    return values


def check_arch(spec: ArchSpec) -> Check:
    """Validate an architecture; messages say what to change."""
    check = Check()
    check.errors += BUILD_TRAIN.check(spec)  # choices, layer counts, every width and the code size in range
    if not 1 <= spec.input_dim <= MAX_WIDTH:
        check.error(f"The input must have between 1 and {MAX_WIDTH:,} values (got {spec.input_dim:,}).", "widths")
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


TRAIN_ARGS = ("loss", "optimizer", "lr", "batch_size", "epochs", "seed", "beta")  # checked by their Build & Train field


def check_train(cfg: TrainConfig, spec: ArchSpec | None = None, n_available: int | None = None) -> Check:
    """Validate training settings (optionally against the architecture and the data size)."""
    check = Check()
    check.errors += BUILD_TRAIN.check(cfg, args=TRAIN_ARGS)  # the same check as the page's and the URL's
    if cfg.optimizer == "adam" and cfg.lr > 0.05 and not check.errors:
        check.notes.append(f"A learning rate of {cfg.lr:g} is high for Adam; the loss may jump around or diverge.")
    if cfg.n_train is not None and cfg.n_train < MIN_TRAIN:
        check.error(f"The training set needs at least {MIN_TRAIN} images.", "n_train")
    if n_available is not None and cfg.n_train is not None and cfg.n_train > n_available:
        check.error(f"The data set has only {n_available:,} training samples; pick at most that many.", "n_train")
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
