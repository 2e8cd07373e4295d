"""(domain, op_type) -> the function that writes a node as TFLite operators."""

from __future__ import annotations

from collections.abc import Callable

from ...refimpl.ir import Node
from . import ops_elementwise, ops_float, ops_moving, ops_qlinear, ops_resize, ops_tflite
from .context import ExportContext

Lowering = Callable[[ExportContext, Node], None]

LOWERINGS: dict[tuple[str, str], Lowering] = {
    **ops_tflite.LOWERINGS,
    **ops_moving.LOWERINGS,
    **ops_elementwise.LOWERINGS,
    **ops_float.LOWERINGS,
    **ops_resize.LOWERINGS,
    **ops_qlinear.LOWERINGS,
}
