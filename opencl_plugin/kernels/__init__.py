"""Kernel families: each module has the `.cl` source of its kernels, `SUPPORT` (op type ->
predicate: None to claim, else the reason it declines) and `LOWER` (op type -> the function that
turns a node into launches through a `Builder`). Element-wise ops are not lowered one by one:
`fusion` groups them into generated kernels."""

from __future__ import annotations

from importlib import resources

FAMILIES = ("common", "gemm", "conv", "pool", "reduce", "layout")


def library_source() -> str:
    """The kernel families' source, one program (common helpers first)."""
    root = resources.files(__package__)
    return "\n".join(root.joinpath(f"{name}.cl").read_text() for name in FAMILIES)


def common_source() -> str:
    return resources.files(__package__).joinpath("common.cl").read_text()
