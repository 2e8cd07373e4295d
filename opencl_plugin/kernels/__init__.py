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
    "gemm_tile",
    "gemm",
    "depthwise_tile",
    "conv",
    "conv_direct",
    "winograd",
    "pool",
    "reduce",
    "layout",
    "resize",
    "recurrent",
)


# families compiled more than once, each copy under its own macros: the GEMM tile over the
# storage type (half under fp16 storage) and over float (Winograd's transformed tiles), each
# also with float16 accumulators (GEMM_WIDE) for devices with 512-bit vectors
_ACCESS = ("G_T", "G_LD", "G_LD8", "G_ST", "G_ST8")
VARIANTS = {
    "gemm_tile": (
        ("gemm_f32", ("data_t", "LD", "LD8", "ST", "ST8")),
        ("gemm_float_f32", ("float", "FLD", "FLD8", "FST", "FST8")),
        ("gemm_wide_f32", ("data_t", "LD", "LD8", "ST", "ST8")),
        ("gemm_float_wide_f32", ("float", "FLD", "FLD8", "FST", "FST8")),
    ),
}
_FLOAT_ACCESS = """#define FLD(p, i) ((p)[i])
#define FLD8(p, i) vload8((i), (p))
#define FST(v, p, i) ((p)[i] = (v))
#define FST8(v, p, i) vstore8((v), (i), (p))
"""


def _variant(text: str, name: str, access: tuple[str, ...]) -> str:
    defines = [f"#define GEMM_NAME {name}"] + (
        ["#define GEMM_WIDE", "#define GEMM_ROWS 8"] if "_wide" in name else ["#define GEMM_ROWS 6"]
    )
    defines += [f"#define {m} {v}" for m, v in zip(_ACCESS, access)]
    undefs = [f"#undef {m}" for m in ("GEMM_NAME", "GEMM_WIDE", "GEMM_ROWS", *_ACCESS)]
    return "\n".join(defines) + "\n" + text + "\n" + "\n".join(undefs)


@functools.cache
def library_source() -> str:
    """The kernel families' source, one program (common helpers first)."""
    root = resources.files(__package__)
    parts = []
    for family in FAMILIES:
        text = root.joinpath(f"{family}.cl").read_text()
        if family in VARIANTS:
            parts.append(_FLOAT_ACCESS)
            parts += [_variant(text, name, access) for name, access in VARIANTS[family]]
        else:
            parts.append(text)
    return "\n".join(parts)


@functools.cache
def common_source() -> str:
    return resources.files(__package__).joinpath("common.cl").read_text()


@functools.cache
def family_source(family: str) -> str:
    """One family's source (helpers a generated kernel calls)."""
    return resources.files(__package__).joinpath(f"{family}.cl").read_text()
