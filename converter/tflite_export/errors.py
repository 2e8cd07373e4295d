"""The error TFLite export raises."""

from __future__ import annotations

from ...refimpl.errors import UnsupportedModelError


class TFLiteExportError(UnsupportedModelError):
    """A graph (or part of it) cannot be written as TFLite: `unsupported` lists, per node, the
    node, its op and why (`{"node", "op_type", "domain", "reason"}`)."""
