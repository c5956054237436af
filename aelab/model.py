"""ArchSpec -> Autoencoder: an `encoder` and a `decoder` nn.Sequential (plus the VAE variant).

Also: the same network as one nn.Sequential (the encoder/decoder split is a convention), and the
equivalent PyTorch source code a learner can copy.
"""
from __future__ import annotations

import functools
import math

import torch
from torch import nn

from aelab.spec import ArchSpec

# The torch module behind every hidden activation. Their keys and labels are spec.ACTIVATIONS (torch-free, for
# the settings and URLs); this is the only place that says what each one computes (the stacked sweep network
# uses it too). "identity" has no module: that layer is simply left out.
ACTIVATION_MODULES: dict[str, type[nn.Module] | None] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "identity": None,
}


def activation(name: str) -> nn.Module:
    """The activation `name` (a key of spec.ACTIVATIONS) as a module; nn.Identity for 'identity'."""
    module = ACTIVATION_MODULES[name]
    return module() if module is not None else nn.Identity()


def _stack(widths: list[int], hidden: str, last_act: str | None) -> list[nn.Module]:
    """Linear layers between consecutive widths, the hidden activation after all but the last."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        act = hidden if i < len(widths) - 2 else last_act
        if act and ACTIVATION_MODULES.get(act):
            layers.append(activation(act))
    return layers


class Autoencoder(nn.Module):
    """x -> encoder -> code -> decoder -> reconstruction. For kind='vae' the encoder emits (mu, logvar)."""

    def __init__(self, spec: ArchSpec):
        super().__init__()
        self.spec = spec
        if spec.layout == "conv":  # issue 14: convs down, dense code, transposed convs up (aelab/convnet.py)
            from aelab import convnet

            self.encoder, self.decoder = convnet.build(spec)
            return
        code_out = spec.bottleneck * (2 if spec.kind == "vae" else 1)
        out_act = "sigmoid" if spec.output == "sigmoid" else None
        self.encoder = nn.Sequential(*_stack([spec.input_dim, *spec.encoder, code_out], spec.activation,
                                             spec.code_activation))  # "identity" adds nothing
        self.decoder = nn.Sequential(
            *_stack([spec.bottleneck, *spec.decoder_widths, spec.input_dim], spec.activation, out_act)
        )

    @property
    def is_vae(self) -> bool:
        return self.spec.kind == "vae"

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mu, logvar) for a VAE, (code, None) for a plain autoencoder."""
        h = self.encoder(x)  # (B, k) or (B, 2k)
        if not self.is_vae:
            return h, None
        mu, logvar = h.chunk(2, dim=1)  # (B, k), (B, k)
        return mu, logvar.clamp(-20.0, 20.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of x: (B, D) -> (B, k); for a VAE the mean of q(z|x)."""
        return self.encode_stats(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, k) -> (B, D)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction (a VAE decodes its mean code)."""
        return self.decode(self.encode(x))


def build(spec: ArchSpec, seed: int | None = None) -> Autoencoder:
    """Build the model; with a seed, the initial weights are reproducible."""
    if seed is not None:
        torch.manual_seed(seed)
    return Autoencoder(spec)


def as_sequential(model: Autoencoder) -> nn.Sequential:
    """The same network as one nn.Sequential (shares the modules, so it is the same function)."""
    if model.is_vae:
        raise ValueError("A VAE samples between encoder and decoder, so it is not one plain Sequential.")
    return nn.Sequential(*model.encoder, *model.decoder)


def out_shape(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of one sample after `module`, given its shape before (no batch dimension): (784,) -> (128,) for a
    Linear, (1, 28, 28) -> (16, 14, 14) for a stride-2 Conv2d, back up for a ConvTranspose2d, (784,) <-> (1, 28, 28)
    for Unflatten / Flatten; an activation keeps the shape. Computed from the module's settings, runs nothing."""
    if isinstance(module, nn.Linear):
        return (module.out_features,)
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        k, s, p, d = module.kernel_size, module.stride, module.padding, module.dilation
        if isinstance(module, nn.ConvTranspose2d):  # side -> (side - 1) s - 2p + d (k - 1) + output_padding + 1
            op = module.output_padding
            sides = [(n - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1 for i, n in enumerate(shape[1:])]
        else:  # side -> floor((side + 2p - d (k - 1) - 1) / s) + 1
            sides = [(n + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i, n in enumerate(shape[1:])]
        return (module.out_channels, *sides)
    if isinstance(module, nn.Unflatten):  # aelab models unflatten dim 1, the first one after the batch
        return tuple(module.unflattened_size)
    if isinstance(module, nn.Flatten):
        return (math.prod(shape),)
    return shape


def point_shapes(modules, input_dim: int) -> list[tuple[int, ...]]:
    """The shape of one sample before the first module and after each one: [(784,), (1, 28, 28), ...]."""
    shapes = [(input_dim,)]
    for module in modules:
        shapes.append(out_shape(module, shapes[-1]))
    return shapes


def shape_text(shape: tuple[int, ...]) -> str:
    """'12' for a flat layer, '16×14×14' for a feature map (channels × height × width)."""
    return "×".join(map(str, shape))


def layer_table(model: Autoencoder) -> list[dict]:
    """One row per module of the one-Sequential view: index, layer text, output width (C×H×W numbers for a feature
    map), output shape, side."""
    mods = [*model.encoder, *model.decoder]
    shapes = point_shapes(mods, model.spec.input_dim)[1:]
    n_enc = len(model.encoder)
    return [{"index": i, "layer": repr(layer), "width": math.prod(shape), "shape": shape_text(shape),
             "side": "encoder" if i < n_enc else "decoder"} for i, (layer, shape) in enumerate(zip(mods, shapes))]


def _layer_code(layers: list[nn.Module], indent: str) -> str:
    lines = []
    from aelab import convnet

    for layer in layers:
        if convnet.layer_code(layer) is not None:  # issue 14: conv layers and their reshapes
            lines.append(convnet.layer_code(layer))
        elif isinstance(layer, nn.Linear):
            lines.append(f"nn.Linear({layer.in_features}, {layer.out_features}),")
        else:
            lines.append(f"nn.{type(layer).__name__}(),")
    return "\n".join(indent + line for line in lines)


@functools.lru_cache(maxsize=256)
def pytorch_code(spec: ArchSpec) -> str:
    """Runnable PyTorch source that rebuilds this architecture (same module names and order).

    Cached per spec (Build & Train shows it on every run); the model is built on the meta device, which
    allocates and initializes no weights.
    """
    with torch.device("meta"):
        model = Autoencoder(spec)
    enc, dec = _layer_code(list(model.encoder), " " * 12), _layer_code(list(model.decoder), " " * 12)
    head = [
        "import torch",
        "from torch import nn",
        "",
        "",
        "class Autoencoder(nn.Module):",
        f'    """{spec.describe()} ({"VAE" if spec.kind == "vae" else "autoencoder"}, '
        f'{spec.param_count:,} parameters)."""',
        "",
        "    def __init__(self):",
        "        super().__init__()",
        "        self.encoder = nn.Sequential(",
        enc,
        "        )",
        "        self.decoder = nn.Sequential(",
        dec,
        "        )",
        "",
    ]
    if spec.kind == "vae":
        body = [
            "    def forward(self, x):",
            f"        x = x.view(x.size(0), -1)  # (B, ...) -> (B, {spec.input_dim})",
            "        mu, logvar = self.encoder(x).chunk(2, dim=1)  # (B, k), (B, k)",
            "        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # reparameterization",
            "        return self.decoder(z), mu, logvar",
        ]
    else:
        body = [
            "    def forward(self, x):",
            f"        x = x.view(x.size(0), -1)  # (B, ...) -> (B, {spec.input_dim})",
            f"        code = self.encoder(x)  # (B, {spec.bottleneck})",
            f"        return self.decoder(code)  # (B, {spec.input_dim})",
        ]
    if spec.kind == "vae":
        demo = f"recon, mu, logvar = model(torch.rand(2, {spec.input_dim}))"
    else:
        demo = f"print(model(torch.rand(2, {spec.input_dim})).shape)  # torch.Size([2, {spec.input_dim}])"
    tail = ["", "", "model = Autoencoder()", demo]
    return "\n".join(head + body + tail) + "\n"


def pick_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
