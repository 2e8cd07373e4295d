"""Bit-packed integer codes: N-bit codes (1 <= N <= 16) in an integer container, N bits each.

The packed stream is little-endian at the bit level: code i occupies bits [i*N, i*N + N) of the
stream, bit k of byte j being stream bit 8*j + k; the last byte's unused high bits are zero.
An unsigned code is stored as itself; a signed code (N >= 2) as its N-bit two's complement. A
signed 1-bit code is a sign: bit 1 is +1 and bit 0 is -1 (binary weights, sign * scale), so a
signed container with bits=1 holds only -1 and +1.
"""

from __future__ import annotations

import numpy as np

MAX_BITS = 16
_CHUNK = 1 << 20  # codes per step: bounds the temporaries of packing (N bytes per code)


def storage_bits(dtype: np.dtype) -> int | None:
    """The width in bits of an integer container (int4: 4, int8: 8, ...); None if not integer."""
    if dtype.kind in "iu":
        return dtype.itemsize * 8
    names = {"int4": 4, "uint4": 4, "int2": 2, "uint2": 2}
    return names.get(dtype.name)


def is_signed(dtype: np.dtype) -> bool:
    return dtype.kind == "i" or dtype.name in ("int4", "int2")


def code_range(bits: int, signed: bool) -> tuple[int, int]:
    """The smallest and largest N-bit code (signed 1-bit: -1 and +1, without 0)."""
    if not signed:
        return 0, (1 << bits) - 1
    if bits == 1:
        return -1, 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def packed_nbytes(count: int, bits: int) -> int:
    return -(-count * bits // 8)


def codes_problem(codes: np.ndarray, bits: int) -> str | None:
    """Why `codes` (an integer container) cannot hold N-bit codes, or None when every code fits."""
    width = storage_bits(codes.dtype)
    if width is None:
        return f"is {codes.dtype}, not an integer container for {bits}-bit codes"
    if bits > width:
        return f"is {codes.dtype} ({width} bits), too narrow for {bits}-bit codes"
    if codes.size == 0:
        return None
    low, high = code_range(bits, is_signed(codes.dtype))
    values = codes if codes.dtype.kind in "iu" else codes.astype(np.int32)
    lo, hi = int(values.min()), int(values.max())
    if lo < low or hi > high:
        return f"holds codes in [{lo}, {hi}], outside the {bits}-bit range [{low}, {high}]"
    if bits == 1 and low == -1 and bool((values == 0).any()):
        return "holds the code 0, but signed 1-bit codes are -1 and +1 only"
    return None


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """The packed bytes (uint8) of in-range codes (see codes_problem), C order."""
    flat = codes.reshape(-1)
    if flat.dtype.kind not in "iu":  # int4/int2 containers
        flat = flat.astype(np.int8 if is_signed(flat.dtype) else np.uint8)
    out = np.zeros(packed_nbytes(flat.size, bits), dtype=np.uint8)
    shifts = np.arange(bits, dtype=np.uint32)
    for start in range(0, flat.size, _CHUNK):  # _CHUNK codes fill whole bytes for every N
        part = flat[start : start + _CHUNK].astype(np.int64)
        if bits == 1 and is_signed(codes.dtype):
            unsigned = (part > 0).astype(np.uint32)
        else:
            unsigned = (part & ((1 << bits) - 1)).astype(np.uint32)
        stream = ((unsigned[:, None] >> shifts) & 1).astype(np.uint8).reshape(-1)
        packed = np.packbits(stream, bitorder="little")
        offset = start * bits // 8
        out[offset : offset + packed.size] = packed
    return out


def unpack_codes(raw: np.ndarray, shape: tuple[int, ...], dtype: np.dtype, bits: int) -> np.ndarray:
    """The codes (in `dtype`, C order, `shape`) of packed bytes; `raw` holds exactly
    packed_nbytes(count, bits) bytes. Every bit pattern is a valid code."""
    count = int(np.prod(shape, dtype=np.int64))
    padded = np.zeros(raw.size + 3, dtype=np.uint32)
    padded[: raw.size] = raw
    out = np.empty(count, dtype=dtype)
    mask, signed = (1 << bits) - 1, is_signed(dtype)
    for start in range(0, count, _CHUNK):
        bit = np.arange(start, min(start + _CHUNK, count), dtype=np.int64) * bits
        byte, shift = bit >> 3, (bit & 7).astype(np.uint32)
        word = padded[byte] | (padded[byte + 1] << 8) | (padded[byte + 2] << 16)
        codes = ((word >> shift) & mask).astype(np.int32)
        if signed and bits == 1:
            codes = codes * 2 - 1
        elif signed:
            codes = np.where(codes >= 1 << (bits - 1), codes - (1 << bits), codes)
        out[start : start + bit.size] = codes.astype(dtype)
    return out.reshape(shape)


def padding_is_zero(raw: np.ndarray, count: int, bits: int) -> bool:
    """Whether the unused high bits of the last packed byte are zero (the canonical form)."""
    used = count * bits % 8
    return used == 0 or raw.size == 0 or int(raw[-1]) >> used == 0
