"""Gossamer: an ultra-light neural-network inference engine.

import gossamer
sess = gossamer.load("model.onnx")          # or a .gsm file, or bytes
outputs = sess.run(None, {"input": x})       # the call shape of onnxruntime

sess = gossamer.InferenceSession("model.onnx")   # onnxruntime's API: `import gossamer as ort`
"""

from __future__ import annotations

from .inference_session import InferenceSession, ModelMetadata
from .model_signature import NodeArg
from .providers import get_available_providers, get_device
from .refimpl.errors import (
    CalibrationDataError,
    CroppedBuildError,
    GossamerError,
    GraphValidationError,
    InputError,
    MemoryBudgetError,
    ModelFormatError,
    NodeExecutionError,
    OpArgumentError,
    PerformanceWarning,
    RunTimeoutError,
    UnsupportedModelError,
)
from .session import Session, load
from .session_options import (
    ExecutionMode,
    GraphOptimizationLevel,
    RunOptions,
    SessionConfigError,
    SessionOptions,
)

__all__ = [
    "CalibrationDataError",
    "CroppedBuildError",
    "ExecutionMode",
    "GossamerError",
    "GradientNotDefinedError",
    "GraphOptimizationLevel",
    "GraphValidationError",
    "InferenceSession",
    "InputError",
    "MemoryBudgetError",
    "ModelFormatError",
    "ModelMetadata",
    "NodeArg",
    "NodeExecutionError",
    "OpArgumentError",
    "PerformanceWarning",
    "QuantizeResult",
    "RunOptions",
    "RunTimeoutError",
    "Session",
    "SessionConfigError",
    "SessionOptions",
    "UnsupportedModelError",
    "get_available_providers",
    "get_device",
    "load",
    "quantize",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """`quantize` and `QuantizeResult` load on first use: a cropped build ships no quantiser;
    `GradientNotDefinedError` (training) too: running a model never needs the autodiff."""
    if name in ("quantize", "QuantizeResult"):
        from . import quantization

        return getattr(quantization, name)
    if name == "GradientNotDefinedError":
        from .refimpl.grad.backward_graph import GradientNotDefinedError

        return GradientNotDefinedError
    raise AttributeError(f"module 'gossamer' has no attribute {name!r}")
