"""The lowering context: what a kernel family uses to turn one node into device launches.

Tensors are named symbolically (`Ref`) while lowering; the partition runtime resolves them to
buffers once the memory plan is known. A view (Reshape, Squeeze, ...) is an alias: it names the
same storage as its source. Weights are uploaded once per partition (`weight`).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..refimpl.ir import Node


@dataclass(frozen=True)
class Ref:
    """A device tensor by storage name, resolved to a buffer after memory planning."""

    storage: str


@dataclass
class Launch:
    program: str  # "lib" (the kernel families) or "gen" (this partition's generated kernels)
    kernel: str
    gsize: tuple[int, ...]
    args: list[Any]
    tune_key: str = ""
    node: str = ""
    local: tuple[int, ...] | None = None  # a local size the kernel requires (never tuned)
    family: str = ""  # a generated kernel's family, for the plan's kernel counts


@dataclass
class Builder:
    shapes: dict[str, tuple[int, ...]]  # every value of the partition, concrete
    constants: dict[str, np.ndarray]  # the partition's initializers
    upload: Any  # (key, array, keep_float=False) -> device buffer, once per key
    launches: list[Launch] = field(default_factory=list)
    alias: dict[str, str] = field(default_factory=dict)  # value -> storage it is a view of
    sizes: dict[str, int] = field(default_factory=dict)  # produced storage -> float count
    sources: list[str] = field(default_factory=list)  # generated kernel sources
    mapped: dict[str, Any] = field(default_factory=dict)  # index maps built in this plan
    node: str = ""
    half: bool = False  # fp16 storage: tensors and weights are half unless asked for as float
    half_arith: bool = False  # with `half`: generated element-wise kernels compute in half
    choices: dict[str, str] = field(default_factory=dict)  # tuned variant per site key
    vector_width: int = 8  # the device's native float vector width (16 on AVX-512)
    # sites with several variants: site -> (node, options, the one chosen)
    variants: dict[str, tuple[str, tuple[str, ...], str]] = field(default_factory=dict)

    def shape(self, name: str) -> tuple[int, ...]:
        return self.shapes[name]

    def const(self, name: str) -> Any:  # an ndarray, or None when not a constant
        return self.constants.get(name) if name else None

    def storage(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def ref(self, name: str) -> Any:
        """The device tensor `name` (a weight buffer when it is a constant)."""
        base = self.storage(name)
        if base in self.constants:
            return self.weight(base, self.constants[base])
        return Ref(base)

    def out(self, name: str) -> Ref:
        """Declares `name` as produced here (sized from its shape) and returns it."""
        self.sizes[name] = max(1, math.prod(self.shapes[name]))
        return Ref(name)

    def view(self, out: str, src: str) -> None:
        self.alias[out] = self.storage(src)

    def scratch(self, tag: str, count: int) -> Ref:
        name = f"{self.node}::{tag}"
        self.sizes[name] = max(1, count)
        return Ref(name)

    def scratch_float(self, tag: str, count: int) -> Ref:
        """A scratch buffer of `count` floats whatever the storage type (2 halves a float)."""
        return self.scratch(tag, count * 2 if self.half else count)

    def weight(self, key: str, array: np.ndarray, dtype: Any = np.float32) -> Any:
        return self.upload(key, np.ascontiguousarray(array, dtype=dtype))

    def weight_float(self, key: str, array: np.ndarray) -> Any:
        """A float32 weight that stays float32 under fp16 storage."""
        return self.upload(key, np.ascontiguousarray(array, dtype=np.float32), keep_float=True)

    def launch(
        self,
        kernel: str,
        gsize: tuple[int, ...],
        args: list[Any],
        *,
        program: str = "lib",
        local: tuple[int, ...] | None = None,
        family: str = "",
    ) -> None:
        sizes = "x".join(str(g) for g in gsize)
        scalars = ",".join(str(int(a)) for a in args if isinstance(a, np.int32))
        key = "" if local else f"{kernel}[{sizes}]({scalars})"  # "": not tunable
        self.launches.append(Launch(program, kernel, gsize, args, key, self.node, local, family))

    def generate(self, kind: str, text: str, helpers: str = "") -> str:
        """Adds the generated kernel `__kernel void <name><text>` (after `helpers`, once) to this
        plan's program; returns its name, `<kind>_<hash of the text>`."""
        name = f"{kind}_" + hashlib.sha1(text.encode()).hexdigest()[:16]
        for source in (helpers, f"__kernel void {name}{text}"):
            if source and source not in self.sources:
                self.sources.append(source)
        return name

    def choose(self, site: str, default: str, options: tuple[str, ...]) -> str:
        """The variant to lower `site` with: the tuned choice where there is one among `options`,
        else `default`; a site with several options is recorded for the tuner."""
        found = self.choices.get(site)
        chosen = found if found in options else default
        if len(options) > 1:
            self.variants[site] = (self.node, options, chosen)
        return chosen

    def attr(self, node: Node, name: str, default: Any) -> Any:
        return node.attrs.get(name, default)


def row_major_strides(shape: tuple[int, ...]) -> list[int]:
    """Element strides of a contiguous (C-order) tensor of `shape`."""
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return out[::-1]


def i32(v: int) -> np.int32:
    return np.int32(v)


def f32(v: float) -> np.float32:
    return np.float32(v)
