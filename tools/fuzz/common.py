"""What the ONNX and .gsm mutators share: the per-case context, hostile values, byte mutations."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

INT_EXTREMES = [
    0,
    -1,
    1,
    2,
    3,
    2**31 - 1,
    2**31,
    2**32,
    2**40,
    2**63 - 1,
    -(2**63),
    -(2**31),
    10**6,
]
FLOAT_EXTREMES = [0.0, -0.0, -1.0, 1e-45, 1e30, 3.4e38, -3.4e38, math.inf, -math.inf, math.nan]
STRING_VALUES = [
    "SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET", "", "bogus", "reverse", "bidirectional",
    "forward", "linear", "nearest", "cubic", "reflect", "edge", "wrap", "constant", "half_pixel",
    "asymmetric", "align_corners", "tf_crop_and_resize", "round_prefer_ceil", "Relu", "Tanh",
    "\x00", "\udcff", "é" * 300,
]  # fmt: skip


@dataclass
class Ctx:
    """One case's random source and the side files (external data) its model needs next to it."""

    rng: random.Random
    files: dict[str, bytes] = field(default_factory=dict)

    def pick(self, items: Sequence[T]) -> T:
        return self.rng.choice(items)

    def int_value(self) -> int:
        return self.rng.choice(INT_EXTREMES)

    def ints_value(self, current: list[int]) -> list[int]:
        """A hostile list of ints: all or one element extreme, emptied, grown or shrunk."""
        mode = self.rng.choice(["all", "one", "empty", "longer", "shorter", "random"])
        values = list(current) or [1, 1]
        if mode == "all":
            v = self.int_value()
            return [v] * len(values)
        if mode == "one":
            values[self.rng.randrange(len(values))] = self.int_value()
            return values
        if mode == "empty":
            return []
        if mode == "longer":
            return values + [self.rng.choice([1, 2, self.int_value()])] * self.rng.randint(1, 8)
        if mode == "shorter":
            return values[: self.rng.randrange(len(values))]
        return [self.int_value() for _ in range(self.rng.randint(1, 6))]

    def float_value(self) -> float:
        return self.rng.choice(FLOAT_EXTREMES)


def flip_bytes(blob: bytes, rng: random.Random) -> tuple[bytes, str]:
    """XORs 1..8 random bytes."""
    out = bytearray(blob)
    spots = [rng.randrange(len(out)) for _ in range(rng.randint(1, 8))] if out else []
    for pos in spots:
        out[pos] ^= rng.randint(1, 255)
    return bytes(out), f"flipped bytes at {sorted(spots)}"


def truncate_bytes(blob: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Cuts the file short, or overwrites, duplicates or appends a range of bytes."""
    n = len(blob)
    cut = rng.randrange(n + 1)
    mode = rng.choice(["truncate", "overwrite", "duplicate", "append"])
    if mode == "truncate":
        return blob[:cut], f"truncated to {cut} of {n} bytes"
    if mode == "overwrite":
        chunk = rng.randbytes(rng.randint(1, 32))
        return blob[:cut] + chunk + blob[
            cut + len(chunk) :
        ], f"overwrote {len(chunk)} bytes at {cut}"
    if mode == "duplicate":
        length = rng.randint(1, 256)
        return blob[:cut] + blob[cut : cut + length] * 2 + blob[cut + length :], (
            f"duplicated {length} bytes at {cut}"
        )
    tail = rng.randbytes(rng.randint(1, 64))
    return blob + tail, f"appended {len(tail)} random bytes"


BYTE_MUTATORS = {"flip_bytes": flip_bytes, "truncate_bytes": truncate_bytes}
