"""Writes single-op .tflite models for tests/converter/test_tflite_more_ops.py (the less common
builtins): graph inputs given as (TensorType, shape), constants as numpy arrays; built with
tflite_models' writer."""

from __future__ import annotations

import numpy as np
import tflite

from .tflite_models import Op, Spec, T, build_model

F32, I32, I64, BOOL = 0, 2, 4, 6
NUMPY = {F32: np.float32, I32: np.int32, I64: np.int64, BOOL: np.bool_}


def single_op(code: str, inputs: list, outputs: list, options=None, version: int = 1) -> bytes:
    """One `code` operator: inputs are (type, shape) graph inputs or constant arrays, outputs
    (type, shape); options ("XOptions", {field: value})."""
    tensors, graph_inputs = [], []
    for k, item in enumerate(inputs):
        if isinstance(item, np.ndarray):
            kind = {np.dtype(v): c for c, v in NUMPY.items()}[item.dtype]
            tensors.append(T(f"const_{k}", kind, item.shape, item))
        else:
            graph_inputs.append(len(tensors))
            tensors.append(T(f"serving_default_in{k}:0", item[0], item[1]))
    outs = []
    for k, (kind, shape) in enumerate(outputs):
        outs.append(len(tensors))
        tensors.append(T(f"out{k}", kind, shape))
    number = getattr(tflite.BuiltinOperator, code)
    op = Op(number, list(range(len(inputs))), outs, options, version)
    return build_model(Spec(tensors, [op], graph_inputs, outs))
