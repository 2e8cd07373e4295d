"""Kernel families: each module has the `.cl` source of its kernels, `SUPPORT` (op type ->
predicate: None to claim, else the reason it declines) and `LOWER` (op type -> the function that
turns a node into launches through a `Builder`). Element-wise ops are not lowered one by one:
`fusion` groups them into generated kernels.

All families build as one program: PoCL pays ~0.55 s per program besides the source (measured
with an empty PoCL cache: the whole library 1.2 s, each family alone 0.6-0.7 s), so a program
per family would cost more on every model, which uses several families."""

from __future__ import annotations

import functools
from importlib import resources

FAMILIES = (
    "common",
    "gemm",
    "conv",
    "conv_direct",
    "pool",
    "reduce",
    "layout",
    "resize",
    "recurrent",
)


@functools.cache
def library_source() -> str:
    """The kernel families' source, one program (common helpers first)."""
    root = resources.files(__package__)
    return "\n".join(root.joinpath(f"{name}.cl").read_text() for name in FAMILIES)


@functools.cache
def common_source() -> str:
    return resources.files(__package__).joinpath("common.cl").read_text()
