"""Backends that store float tensors in a narrower type than they compute in.

A backend may declare `storage_dtype = "float16"` (a class attribute; absent or None: tensors are
stored at their own dtype). Such a backend rounds every float input to the storage type when it
takes it in (feeds, constant inputs) and every output when it stores it, and computes in between
at the model's precision: opencl-fp16 keeps float32 tensors as half. What it computes for a
one-node graph is then round(f(round(x))), and the suite checks exactly that:

- each float input wider than the storage type is drawn in the storage type's value range: its
  special values are the storage type's (65504, half's subnormals and smallest normal, the values
  where exp overflows in half...) instead of float32's 3.4e38 and 1.4e-45, and every element is
  then rounded to the storage type, so the reference sees the values the backend sees;
- the reference's float outputs wider than the storage type are rounded to it as the backend's
  stores are (an output beyond 65504 is inf on both sides, one below half's subnormals is 0).

What is left between the two is the backend's own arithmetic on rounded values (a fused kernel's
intermediates, an accumulation of rounded operands) and one rounding step of the output that a
last-bit difference of the float32 result can flip: the backend's tolerance file covers that.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..plugins.manager import all_backends
from ..refimpl.dtypes import FLOAT, name_of, to_numpy


def storage_dtype(backend: str) -> str | None:
    """The float type `backend` stores float tensors in, if narrower than theirs (else None)."""
    obj = all_backends().get(backend)
    found = getattr(obj, "storage_dtype", None)
    if found is None:
        return None
    if found not in FLOAT:
        raise ValueError(f"backend {backend!r}: storage_dtype {found!r} is not a float type")
    return str(found)


def narrowed(dtype: np.dtype, storage: str | None) -> bool:
    """True if values of `dtype` are stored as `storage` (a float wider than it)."""
    if storage is None or name_of(dtype) not in FLOAT:
        return False
    return np.dtype(dtype).itemsize > to_numpy(storage).itemsize


def specials_dtype(dtype: np.dtype, storage: str | None) -> np.dtype:
    """The dtype whose special values an input of `dtype` takes."""
    return to_numpy(storage) if storage and narrowed(dtype, storage) else np.dtype(dtype)


def round_to(value: Any, storage: str | None) -> Any:
    """`value` rounded through the storage type (unchanged if not a float array it narrows)."""
    if not isinstance(value, np.ndarray) or not narrowed(value.dtype, storage):
        return value
    assert storage is not None
    with np.errstate(over="ignore"):
        return value.astype(to_numpy(storage)).astype(value.dtype)
