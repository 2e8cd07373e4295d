"""DENSIFY: a sparse constant (densified by the reader, sparsity.py) becomes a dense constant at
import, as LiteRT's densify kernel does once at prepare time."""

from __future__ import annotations

from .context import Context, Converter, Unsupported
from .reader import Operator


def densify(ctx: Context, op: Operator) -> None:
    t = ctx.tensor(op.inputs[0])
    if op.inputs[0] not in ctx.constants:
        raise Unsupported(f"its input {t.name!r} is not a constant (LiteRT requires one)")
    ctx.constants[op.outputs[0]] = ctx.constants[op.inputs[0]]


CONVERTERS: dict[str, Converter] = {"DENSIFY": densify}
