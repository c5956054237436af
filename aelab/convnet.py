"""The convolutional autoencoder's torch modules: stride-2 convs down, a dense code, transposed convs up.

Inputs and outputs stay flat (N, D) like every aelab model: the encoder starts with nn.Unflatten and the
decoder ends with nn.Flatten, so train.fit, analysis, checkpoints and every page work unchanged.
"""
from __future__ import annotations

from torch import nn

from aelab import conv
from aelab.model import ACTIVATION_MODULES, _stack
from aelab.spec import ArchSpec


def build(spec: ArchSpec) -> tuple[nn.Sequential, nn.Sequential]:
    """(encoder, decoder) for a spec with layout="conv": the hidden activation after every hidden layer."""
    shp = conv.shapes(spec.input_dim, spec.channels)  # [(1, 28, 28), (16, 14, 14), (32, 7, 7)]
    code_out = spec.bottleneck * (2 if spec.kind == "vae" else 1)
    flat = conv.flat_size(spec.input_dim, spec.channels)
    act = ACTIVATION_MODULES.get(spec.activation)
    out_act = ACTIVATION_MODULES["sigmoid"] if spec.output == "sigmoid" else None
    enc: list[nn.Module] = [nn.Unflatten(1, shp[0])]  # (N, 784) -> (N, 1, 28, 28)
    for (c_in, _, _), (c_out, _, _) in zip(shp, shp[1:]):
        # (N, c_in, s, s) -> (N, c_out, ceil(s/2), ceil(s/2))
        enc.append(nn.Conv2d(c_in, c_out, conv.KERNEL, stride=conv.STRIDE, padding=conv.PADDING))
        if act is not None:
            enc.append(act())
    enc.append(nn.Flatten())  # (N, C, h, w) -> (N, C*h*w)
    enc += _stack([flat, *spec.encoder, code_out], spec.activation, spec.code_activation)  # -> (N, k); VAE (N, 2k)
    # (N, k) -> (N, C*h*w), with the activation after the last Linear too: convs follow
    dec: list[nn.Module] = _stack([spec.bottleneck, *spec.decoder_widths, flat], spec.activation, spec.activation)
    dec.append(nn.Unflatten(1, shp[-1]))  # (N, C*h*w) -> (N, C, h, w)
    back = shp[::-1]  # [(32, 7, 7), (16, 14, 14), (1, 28, 28)]
    for i, ((c_in, s_in, _), (c_out, s_out, _)) in enumerate(zip(back, back[1:])):
        # (N, c_in, s, s) -> (N, c_out, 2s or 2s - 1): output_padding lands exactly on the encoder's side
        dec.append(nn.ConvTranspose2d(c_in, c_out, conv.KERNEL, stride=conv.STRIDE, padding=conv.PADDING,
                                      output_padding=conv.output_padding(s_in, s_out)))
        make = act if i < len(back) - 2 else out_act
        if make is not None:
            dec.append(make())
    dec.append(nn.Flatten())  # (N, 1, 28, 28) -> (N, 784)
    return nn.Sequential(*enc), nn.Sequential(*dec)


def module_text(layer: nn.Module) -> str | None:
    """The expression that rebuilds one of the conv layout's modules: 'nn.Conv2d(1, 16, 3, stride=2, padding=1)'
    (None for a module this file does not make: Linear layers and activations)."""
    if isinstance(layer, nn.Unflatten):
        return f"nn.Unflatten(1, {tuple(layer.unflattened_size)})"
    if isinstance(layer, nn.Flatten):
        return "nn.Flatten()"
    if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
        extra = f", output_padding={layer.output_padding[0]}" if isinstance(layer, nn.ConvTranspose2d) else ""
        return (f"nn.{type(layer).__name__}({layer.in_channels}, {layer.out_channels}, {layer.kernel_size[0]}, "
                f"stride={layer.stride[0]}, padding={layer.padding[0]}{extra})")
    return None


def layer_code(layer: nn.Module) -> str | None:
    """Source line that rebuilds one of the layers above, with a shape comment on the reshapes (None for a layer
    this module does not make)."""
    text = module_text(layer)
    if isinstance(layer, nn.Unflatten):
        size = tuple(layer.unflattened_size)
        return f"{text},  # (B, {size[0] * size[1] * size[2]}) -> (B, {', '.join(map(str, size))})"
    if isinstance(layer, nn.Flatten):
        return f"{text},  # (B, C, H, W) -> (B, C*H*W)"
    return None if text is None else text + ","
