"""Library kernels specialised per layer: the kernel's code, generated with every integer
argument of this launch as a literal (a `__kernel` that calls the library kernel's body as an
inline function). The compiler then unrolls the tap loops and folds the index arithmetic, which
PoCL's CPU device needs on small layers: measured 2.3-2.6x on depthwise 3x3 / 5x5 layers and
1.4-2x on mtcnn's small direct convolutions and max-pools. The generated source goes into the
plan's program (one build per partition, kept in the program-binary cache like the fused
element-wise kernels).
"""

from __future__ import annotations

import functools
import re

import numpy as np

from ..builder import Builder
from . import family_source


@functools.cache
def _inlined(family: str, kernel: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The family's source with every kernel turned into `inline void <kernel>_body(...)` (the
    same text for every kernel of the family, so a program that specialises two of them, such as
    maxpool8_f32 and maxpool16_f32, holds it once), and `kernel`'s parameters as (declaration,
    name)."""
    src = family_source(family)
    head = f"__kernel void {kernel}("
    start = src.index(head) + len(head)
    text = src[start : src.index(")", start)]
    if text.strip().isidentifier():  # a parameter list several kernels share, as a macro
        text = _macro(src, text.strip())
    parsed = tuple((" ".join(p.split()), p.split()[-1]) for p in text.split(","))
    return re.sub(r"__kernel void (\w+)\(", r"inline void \1_body(", src), parsed


def _macro(src: str, name: str) -> str:
    """The body of the object-like macro `name` defined in `src` (continued lines joined)."""
    found = re.search(rf"^#define {name}[ \t]*((?:.*\\\n)*.*)$", src, re.M)
    if found is None:
        raise ValueError(f"no #define {name} in the kernel source")
    return found.group(1).replace("\\\n", " ")


def launch_specialised(
    bld: Builder, family: str, kernel: str, gsize: tuple[int, ...], args: list
) -> None:
    """Launches `kernel` of `family` (a .cl file) with these arguments, generated with its int
    arguments as literals; the buffers and floats stay kernel arguments."""
    helpers, params = _inlined(family, kernel)
    if len(params) != len(args):
        raise ValueError(f"{kernel}: {len(args)} arguments for {len(params)} parameters")
    kept, passed, call = [], [], []
    for (decl, name), arg in zip(params, args):
        if isinstance(arg, np.int32) and decl.startswith("const int "):
            call.append(str(int(arg)))
        else:
            kept.append(decl)
            passed.append(arg)
            call.append(name)
    text = f"({', '.join(kept)}) {{\n  {kernel}_body({', '.join(call)});\n}}\n"
    name = bld.generate(kernel.removesuffix("_f32"), text, helpers)
    bld.launch(name, gsize, passed, program="gen", family=f"{kernel} (generated)")
