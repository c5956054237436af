"""A small grayscale PNG writer (numpy + zlib) and a structural check of PNG bytes, for the board's previews.

Format: PNG specification (ISO/IEC 15948), sections 5 (chunks, CRC-32) and 11.2.2 (IHDR); filter type 0 per row.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def gray(image: np.ndarray) -> bytes:
    """An (H, W) array of values in [0, 1] (NaN = white gap) as an 8-bit grayscale PNG."""
    img = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=1.0)
    pixels = np.round(np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)  # (H, W)
    h, w = pixels.shape
    raw = np.hstack([np.zeros((h, 1), np.uint8), pixels]).tobytes()  # (H, 1 + W): filter byte 0 before each row
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # bit depth 8, color type 0 (gray), no interlace
    return SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def check(blob: bytes, max_side: int = 2000) -> tuple[int, int]:
    """(width, height) of a well-formed PNG; ValueError when the bytes are not one (signature, chunk lengths and
    CRCs, an IHDR first, an IEND last, sides at most `max_side`). Pixels are not decoded."""
    if not isinstance(blob, (bytes, bytearray)) or not blob.startswith(SIGNATURE):
        raise ValueError("not a PNG image")
    pos, size, kinds = len(SIGNATURE), None, []
    while pos < len(blob):
        if pos + 12 > len(blob):
            raise ValueError("a PNG chunk is cut off")
        (length,) = struct.unpack(">I", blob[pos:pos + 4])
        kind, body = blob[pos + 4:pos + 8], blob[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(blob):
            raise ValueError("a PNG chunk is cut off")
        (crc,) = struct.unpack(">I", blob[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError("a PNG chunk is damaged (CRC)")
        if not kinds:
            if kind != b"IHDR" or length != 13:
                raise ValueError("a PNG must start with its header")
            size = struct.unpack(">II", body[:8])
        kinds.append(kind)
        pos += 12 + length
        if kind == b"IEND":
            break
    if not kinds or kinds[-1] != b"IEND" or pos != len(blob):
        raise ValueError("a PNG must end with IEND and nothing after it")
    w, h = size
    if not (0 < w <= max_side and 0 < h <= max_side):
        raise ValueError(f"the image is {w}x{h} pixels; at most {max_side} on a side")
    return w, h
