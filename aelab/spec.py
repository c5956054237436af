"""What the learner asks for: the architecture (ArchSpec) and the training settings (TrainConfig).

Both are frozen dataclasses. `check_arch` / `check_train` turn bad choices into plain-language
messages (errors block training, notes only inform), so pages never show a traceback.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from aelab import conv
from aelab import config

MAX_PARAMS = 20_000_000  # above this a model is too big for a teaching laptop / shared CPU server
MAX_WIDTH = 16_384  # widest single layer we accept
MAX_LAYERS = 8  # hidden layers per side
MAX_EPOCHS = 1_000
MAX_BETA = 100.0  # a larger KL weight only makes every code equal to noise
MAX_BATCH = 65_536  # samples per optimizer step
MAX_N_TRAIN = 1_000_000  # training-set size (a data set's own size caps it further)
# Seeds: torch.Generator takes up to 2**64 - 1 and train.fit seeds a second generator with seed + 1; the range
# that also fits a 32-bit int (numpy, other tools) is the one every page, link and checkpoint accepts.
SEED_MIN, SEED_MAX = 0, 2**31 - 1
ACTIVATIONS = {  # key -> label shown to the learner
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "gelu": "GELU",
    "identity": "None (linear)",
}
OUTPUTS = {"sigmoid": "Sigmoid (outputs in [0, 1])", "none": "None (any real value)"}
LOSSES = {"mse": "MSE (mean squared error)", "bce": "BCE (binary cross-entropy)", "l1": "L1 (mean absolute error)"}
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD (momentum 0.9)"}
KINDS = {"ae": "Autoencoder", "vae": "Variational autoencoder (VAE)"}
# -- convolutional and sparse autoencoders (issue 14; shapes in aelab/conv.py) --
LAYOUTS = {"dense": "Dense (every layer nn.Linear)", "conv": "Convolutional (stride-2 convs, then a dense code)"}
MAX_CONV_LAYERS = 4  # stride-2 conv layers per side (an 8x8 image allows 3: 8 -> 4 -> 2 -> 1)
MAX_CHANNELS = 128  # channels of one conv layer
MAX_SPARSITY = 1.0  # weight of the L1 code penalty; above it the penalty swamps the reconstruction


class SpecError(ValueError):
    """A learner-facing message about one input; `field` names the control it belongs to."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ArchSpec:
    input_dim: int  # features per sample: 64 for 8x8 digits, 784 for 28x28 images
    encoder: tuple[int, ...] = (128, 64, 12)  # hidden widths from the input towards the code
    bottleneck: int = 3  # size of the code (the narrowest layer in a classic autoencoder)
    decoder: tuple[int, ...] | None = None  # hidden widths from the code outwards; None mirrors the encoder
    activation: str = "relu"  # nonlinearity after every hidden Linear (a key of ACTIVATIONS)
    output: str = "sigmoid"  # activation on the reconstruction: "sigmoid" or "none"
    kind: str = "ae"  # "ae" (plain autoencoder) or "vae" (encoder outputs mean and log-variance)
    layout: str = "dense"  # "dense", or "conv": stride-2 convs before `encoder` (a key of LAYOUTS)
    channels: tuple[int, ...] = ()  # conv layout: channels of each conv, image side first, e.g. (16, 32)
    code_activation: str = "identity"  # plain AE: activation on the code itself; "relu" lets a sparse code be 0

    def __post_init__(self):
        # a checkpoint stores tuples as lists: keep the spec hashable (it keys caches)
        if isinstance(self.channels, list):
            object.__setattr__(self, "channels", tuple(self.channels))

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

    def describe(self) -> str:
        """The sandglass as text: 784-128-64-12-3-12-64-128-784 (conv layers as c16: 784-c16-c32-3-c32-c16-784)."""
        convs = [f"c{c}" for c in self.channels] if self.is_conv else []
        parts = [self.input_dim, *convs, *self.encoder, self.bottleneck, *self.decoder_widths, *convs[::-1],
                 self.input_dim]
        return "-".join(str(w) for w in parts)


@dataclass(frozen=True)
class TrainConfig:
    loss: str = "mse"  # reconstruction loss: "mse", "bce" or "l1" (a key of LOSSES)
    optimizer: str = "adam"  # "adam" or "sgd"
    lr: float = 1e-3  # learning rate
    batch_size: int = 128  # samples per optimizer step
    epochs: int = 20  # full passes over the training set
    seed: int = 0  # seeds weights and shuffling: same seed + same settings = same curves
    n_train: int | None = None  # training-set size (a fixed random subset); None = all
    beta: float = 1.0  # VAE only: weight of the KL term against the reconstruction term
    sparsity: float = 0.0  # plain AE only: weight of the L1 penalty on the code (mean |code|), 0..MAX_SPARSITY


@dataclass
class Check:
    """Result of validating a spec: errors block training, notes are shown but allow it."""

    errors: list[SpecError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, message: str, field: str = "") -> None:
        self.errors.append(SpecError(message, field))


def parse_int(text, name: str, *, low: int = 1, high: int | None = None, field: str = "") -> int:
    """Parse a positive whole number typed by the learner, or raise SpecError saying what to type."""
    raw = str(text).strip()
    if not raw:
        raise SpecError(f"{name} is empty: type a whole number such as 64.", field)
    try:
        value = float(raw)
    except ValueError:
        raise SpecError(f"{name} must be a whole number, not '{raw[:20]}'.", field) from None
    if not math.isfinite(value) or value != int(value):
        raise SpecError(f"{name} must be a whole number, not '{raw[:20]}'.", field)
    value = int(value)
    if value < low:
        raise SpecError(f"{name} must be at least {low} (got {value}).", field)
    if high is not None and value > high:
        raise SpecError(f"{name} must be at most {high:,} (got {value:,}).", field)
    return value


def parse_float(text, name: str, *, field: str = "") -> float:
    """Parse a real number typed by the learner, or raise SpecError."""
    raw = str(text).strip()
    try:
        value = float(raw)
    except ValueError:
        raise SpecError(f"{name} must be a number such as 0.001, not '{raw[:20]}'.", field) from None
    if not math.isfinite(value):
        raise SpecError(f"{name} must be a finite number.", field)
    return value


def parse_widths(texts, name: str = "Layer width", field: str = "") -> tuple[int, ...]:
    """Parse a list of widths (strings or ints, or one comma-separated string)."""
    if isinstance(texts, str):
        texts = [t for t in texts.replace(";", ",").split(",")] if texts.strip() else []
    if len(texts) > MAX_LAYERS:
        raise SpecError(f"At most {MAX_LAYERS} hidden layers per side (got {len(texts)}).", field)
    return tuple(
        parse_int(t, f"{name} {i + 1}", high=MAX_WIDTH, field=field) for i, t in enumerate(texts)
    )


def parse_fields(parsers: dict) -> tuple[dict, list[SpecError]]:
    """Run every `name -> parse()` and collect all SpecErrors, so the learner sees every problem at once."""
    values, errors = {}, []
    for name, parse in parsers.items():
        try:
            values[name] = parse()
        except SpecError as err:
            errors.append(err)
    return values, errors


def check_arch(spec: ArchSpec) -> Check:
    """Validate an architecture; messages say what to change."""
    check = Check()
    if spec.activation not in ACTIVATIONS:
        check.error(f"Unknown activation '{spec.activation}'.", "activation")
    if spec.output not in OUTPUTS:
        check.error(f"Unknown output activation '{spec.output}'.", "output")
    if spec.kind not in KINDS:
        check.error(f"Unknown model type '{spec.kind}'.", "kind")
    # -- issue 14: the convolutional layout (its geometry and messages are in aelab/conv.py) --
    if not isinstance(spec.layout, str) or spec.layout not in LAYOUTS:
        check.error(f"Unknown layout '{str(spec.layout)[:20]}': choose dense or conv.", "layout")
        return check
    if not isinstance(spec.code_activation, str) or spec.code_activation not in ACTIVATIONS:
        check.error(f"Unknown code activation '{str(spec.code_activation)[:20]}'.", "code_activation")
    elif spec.code_activation != "identity" and spec.kind == "vae":
        check.error("A VAE's encoder outputs a mean and a log-variance, which must stay free: keep its code "
                    "activation at None (linear).", "code_activation")
    if spec.is_conv:
        errors, notes = conv.check(spec.input_dim, spec.channels, MAX_CONV_LAYERS, MAX_CHANNELS)
        for message, name in errors:
            check.error(message, name)
        check.notes += notes
        if errors:
            return check
    widths = [spec.input_dim, *spec.encoder, spec.bottleneck, *spec.decoder_widths]
    if any(w < 1 for w in widths):
        check.error("Every layer needs at least 1 unit.", "widths")
        return check
    if max(widths) > MAX_WIDTH:
        check.error(f"The widest layer may have {MAX_WIDTH:,} units; make it narrower.", "widths")
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


def check_train(cfg: TrainConfig, spec: ArchSpec | None = None, n_available: int | None = None,
                params: int | None = None) -> Check:
    """Validate training settings (optionally against the architecture and the data size).

    With the data size and the model (`spec`, or `params` when a run trains several models) it also checks
    the compute budget (check_compute).
    """
    check = Check()
    if cfg.loss not in LOSSES:
        check.error(f"Unknown loss '{cfg.loss}'.", "loss")
    if cfg.optimizer not in OPTIMIZERS:
        check.error(f"Unknown optimizer '{cfg.optimizer}'.", "optimizer")
    if not math.isfinite(cfg.lr) or cfg.lr <= 0:
        check.error("The learning rate must be above 0: try 0.001 for Adam or 0.1 for SGD.", "lr")
    elif cfg.lr > 1:
        check.error(f"A learning rate of {cfg.lr:g} makes training blow up: use at most 1 (0.001 is typical for Adam).", "lr")
    elif cfg.optimizer == "adam" and cfg.lr > 0.05:
        check.notes.append(f"A learning rate of {cfg.lr:g} is high for Adam; the loss may jump around or diverge.")
    if not 1 <= cfg.batch_size <= MAX_BATCH:
        check.error(f"The batch size must be between 1 and {MAX_BATCH:,}.", "batch_size")
    if not 1 <= cfg.epochs <= MAX_EPOCHS:
        check.error(f"Epochs must be between 1 and {MAX_EPOCHS}.", "epochs")
    if not SEED_MIN <= cfg.seed <= SEED_MAX:
        check.error(f"The seed must be a whole number from {SEED_MIN} to {SEED_MAX:,}.", "seed")
    if cfg.n_train is not None and cfg.n_train < 2:
        check.error("The training set needs at least 2 images.", "n_train")
    elif cfg.n_train is not None and cfg.n_train > MAX_N_TRAIN:
        check.error(f"The training set can have at most {MAX_N_TRAIN:,} samples.", "n_train")
    if n_available is not None and cfg.n_train is not None and cfg.n_train > n_available:
        check.error(f"The data set has only {n_available:,} training samples; pick at most that many.", "n_train")
    if not math.isfinite(cfg.beta) or cfg.beta < 0:
        check.error("Beta (the KL weight) must be 0 or more.", "beta")
    elif cfg.beta > MAX_BETA:
        check.error(f"Beta (the KL weight) must be at most {MAX_BETA:g}: with more, the KL term swamps the "
                    "reconstruction and every code becomes noise. Try 0.1 to 4.", "beta")
    # -- issue 14: the sparse autoencoder's L1 code penalty --
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
