"""Gossamer: an ultra-light neural-network inference engine.

import gossamer
sess = gossamer.load("model.onnx")          # or a .gsm file, or bytes
outputs = sess.run(None, {"input": x})       # the call shape of onnxruntime
"""

from __future__ import annotations

from .refimpl.errors import (
    GossamerError,
    GraphValidationError,
    InputError,
    MemoryBudgetError,
    ModelFormatError,
    NodeExecutionError,
    OpArgumentError,
    RunTimeoutError,
    UnsupportedModelError,
)
from .session import Session, load

__all__ = [
    "GossamerError",
    "GraphValidationError",
    "InputError",
    "MemoryBudgetError",
    "ModelFormatError",
    "NodeExecutionError",
    "OpArgumentError",
    "RunTimeoutError",
    "Session",
    "UnsupportedModelError",
    "load",
]
__version__ = "0.1.0"
