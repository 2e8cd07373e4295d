"""Shared pieces of the control-flow ops (If, Loop, Scan, SequenceMap).

A body arrives as a callable, body(*inputs) -> list of outputs (refimpl.interpreter.Body).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import to_numpy
from ..errors import OpArgumentError


def truth(cond: Any, what: str) -> bool:
    """The value of a one-element boolean tensor."""
    arr = np.asarray(cond)
    if arr.size != 1:
        raise OpArgumentError(f"{what} must hold exactly one element, got shape {list(arr.shape)}")
    return bool(arr.reshape(-1)[0])


def stack_scan_output(body: Any, index: int, items: list[np.ndarray]) -> np.ndarray:
    """items stacked on a new axis 0; with no items, an empty tensor shaped by the declaration."""
    if items:
        return np.stack(items)
    declared = _declared_outputs(body)
    value = declared[index] if index < len(declared) else None
    dtype = to_numpy(value.dtype) if value is not None and value.dtype else np.dtype(np.float32)
    shape = value.shape if value is not None and value.shape is not None else ()
    if not all(isinstance(d, int) for d in shape):
        shape = tuple(d if isinstance(d, int) else 0 for d in shape)
    return np.zeros((0, *shape), dtype=dtype)


def _declared_outputs(body: Any) -> list[Any]:
    """The body's declared output Values (dtype, shape), where the body exposes its graph."""
    return list(getattr(body, "output_values", []))


def check_count(outputs: list[Any], expected: int, what: str) -> None:
    if len(outputs) != expected:
        raise OpArgumentError(f"{what} returned {len(outputs)} outputs, expected {expected}")


def pad_stack_batches(
    body: Any, index: int, per_batch: list[list[np.ndarray]], steps: int
) -> np.ndarray:
    """[batch, steps, ...]: each batch item's outputs, zero-padded past its sequence length."""
    template = next((items[0] for items in per_batch if items), None)
    if template is None:
        empty = stack_scan_output(body, index, [])
        return np.zeros((len(per_batch), steps, *empty.shape[1:]), dtype=empty.dtype)
    out = np.zeros((len(per_batch), steps, *np.shape(template)), dtype=np.asarray(template).dtype)
    for b, items in enumerate(per_batch):
        if items:
            out[b, : len(items)] = np.stack(items)
    return out
