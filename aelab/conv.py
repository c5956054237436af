"""The convolutional layout's geometry in plain Python (no torch): image side, feature-map shapes, parameters.

spec.ArchSpec with layout="conv" reads its shapes here, so the parameter count, the checks and the sandglass
need no model; aelab.convnet builds the torch modules from the same numbers.
"""
from __future__ import annotations

KERNEL = 3  # every conv is 3x3 ...
STRIDE = 2  # ... with stride 2 (each layer halves the side, rounding up) ...
PADDING = 1  # ... and padding 1: side -> (side + 2*1 - 3) // 2 + 1 = ceil(side / 2)
IMAGE_SIDES = {64: 8, 784: 28}  # input_dim -> side of the square grayscale image (Digits; MNIST / Fashion-MNIST)
SLOW_MACS = 5_000_000  # multiply-adds per image above which a note says training will be slow on a CPU


def image_side(input_dim: int) -> int | None:
    """The image's side for the data sets this lab draws as images (64 -> 8, 784 -> 28), else None."""
    return IMAGE_SIDES.get(input_dim)


def halve(side: int) -> int:
    """A stride-2 conv's output side: ceil(side / 2) for kernel 3, padding 1."""
    return (side + 2 * PADDING - KERNEL) // STRIDE + 1


def max_depth(side: int) -> int:
    """How many stride-2 convs an image of this side allows: each needs an input at least 2 pixels wide."""
    depth = 0
    while side >= 2:
        side, depth = halve(side), depth + 1
    return depth


def sides(input_dim: int, n_layers: int) -> list[int]:
    """Feature-map sides from the image to the last conv, e.g. 784 with 2 layers -> [28, 14, 7]."""
    out = [image_side(input_dim) or 1]
    for _ in range(n_layers):
        out.append(halve(out[-1]))
    return out


def output_padding(small: int, big: int) -> int:
    """ConvTranspose2d's output_padding that brings `small` back to exactly `big` (0 or 1).

    A transposed conv (kernel 3, stride 2, padding 1) maps side s to 2s - 1 + output_padding, so 7 -> 14
    needs 1 and 4 -> 7 needs 0.
    """
    return big - (STRIDE * (small - 1) - 2 * PADDING + KERNEL)


def shapes(input_dim: int, channels: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """(channels, height, width) of the image and of every conv's output: [(1, 28, 28), (16, 14, 14), ...]."""
    return [(c, s, s) for c, s in zip((1, *channels), sides(input_dim, len(channels)))]


def flat_size(input_dim: int, channels: tuple[int, ...]) -> int:
    """Numbers in the last feature map, which the dense part of the network reads: C * h * w."""
    c, h, w = shapes(input_dim, channels)[-1]
    return c * h * w


def conv_params(channels: tuple[int, ...]) -> int:
    """Weights and biases of the encoder's convs plus the decoder's transposed convs (mirror images).

    Conv2d(a, b, 3) has a*b*9 weights and b biases; ConvTranspose2d(b, a, 3) has b*a*9 weights and a biases.
    """
    chans = (1, *channels)
    k2 = KERNEL * KERNEL
    return sum(2 * a * b * k2 + a + b for a, b in zip(chans, chans[1:]))


def macs(input_dim: int, channels: tuple[int, ...]) -> int:
    """Multiply-adds of the convs and transposed convs for one image (a measure of training time per image)."""
    shp = shapes(input_dim, channels)
    k2 = KERNEL * KERNEL
    # a conv's output pixel costs c_in * 9 multiply-adds per output channel; the transposed conv mirrors it
    return sum(2 * a * b * k2 * h * w for (a, _, _), (b, h, w) in zip(shp, shp[1:]))


def check(input_dim: int, channels, max_layers: int, max_channels: int) -> tuple[list[tuple[str, str]], list[str]]:
    """Messages for a conv layout: ([(error, field)], [note]). Errors say what to change."""
    errors: list[tuple[str, str]] = []
    notes: list[str] = []
    side = image_side(input_dim)
    if side is None:
        sizes = ", ".join(f"{s}x{s} ({d} inputs)" for d, s in IMAGE_SIDES.items())
        errors.append((f"The convolutional layout slides filters over an image, but these samples are "
                       f"{input_dim} numbers that are not one of the images it knows ({sizes}). Choose the "
                       "dense layout for this data.", "layout"))
        return errors, notes
    if not isinstance(channels, tuple) or not all(isinstance(c, int) and not isinstance(c, bool) for c in channels):
        errors.append(("The channel counts must be whole numbers, e.g. 16, 32.", "channels"))
        return errors, notes
    if not channels:
        errors.append(("Give at least one convolutional layer: its channel count, e.g. 16 (or 16, 32 for two).",
                       "channels"))
        return errors, notes
    deepest = min(max_depth(side), max_layers)
    if len(channels) > deepest:
        steps = " → ".join(map(str, sides(input_dim, max_depth(side))))
        why = (f"an image {side} pixels wide can be halved {max_depth(side)} times ({steps})"
               if deepest == max_depth(side) else f"this lab allows {max_layers} convolutional layers")
        errors.append((f"{len(channels)} convolutional layers are too many: {why}. Use at most {deepest}.",
                       "channels"))
    if any(c < 1 for c in channels):
        errors.append(("Every convolutional layer needs at least 1 channel.", "channels"))
    elif max(channels) > max_channels:
        errors.append((f"A convolutional layer may have at most {max_channels} channels (got {max(channels)}); "
                       "more makes training crawl on a CPU.", "channels"))
    if not errors and macs(input_dim, channels) > SLOW_MACS:
        notes.append(f"These convolutions cost {macs(input_dim, channels) / 1e6:.0f} million multiply-adds per "
                     "image (one forward pass): on a CPU an epoch over many images takes a while. Fewer channels "
                     "train faster.")
    return errors, notes
