"""Element types by name, and their numpy dtypes.

The IR names dtypes with plain strings ("float32", "bfloat16", "string"); this module is the one
place that turns a name into a numpy dtype, using ml_dtypes for the types numpy lacks.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from types import ModuleType

import numpy as np

from .errors import GraphValidationError

_NUMPY_NAMES = (
    "float32 float64 float16 int8 int16 int32 int64 uint8 uint16 uint32 uint64 bool "
    "complex64 complex128"
).split()
_ML_DTYPES_NAMES = (
    "bfloat16 float8_e4m3fn float8_e4m3fnuz float8_e5m2 float8_e5m2fnuz float8_e8m0fnu "
    "float4_e2m1fn float6_e2m3fn float6_e3m2fn int4 uint4 int2 uint2"
).split()


class _DtypeTable(Mapping[str, np.dtype]):
    """name -> numpy dtype. ml_dtypes (about 1 s to import with numpy 2.4: it registers thousands
    of ufunc loops) is imported on the first lookup of one of its types, so a float32 model never
    pays for it; names, order and membership are known without it."""

    def __init__(self) -> None:
        self._names = (*_NUMPY_NAMES, *_ML_DTYPES_NAMES, "string")
        self._known: dict[str, np.dtype] = {n: np.dtype(n) for n in _NUMPY_NAMES}
        self._known["string"] = np.dtype(object)
        self._name_set = frozenset(self._names)

    def __getitem__(self, name: str) -> np.dtype:
        found = self._known.get(name)
        if found is None:
            if name not in _ML_DTYPES_NAMES:
                raise KeyError(name)
            found = self._known[name] = np.dtype(getattr(_ml_dtypes(), name))
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._name_set

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _ml_dtypes() -> ModuleType:
    import ml_dtypes

    return ml_dtypes


def ml_dtypes_loaded() -> bool:
    """Whether ml_dtypes is imported (then its dtypes can already be in use)."""
    return "ml_dtypes" in sys.modules


# requires ml_dtypes >= 0.5 (pyproject.toml), the first with every type named here
NUMPY_DTYPES: Mapping[str, np.dtype] = _DtypeTable()

DTYPE_NAMES: frozenset[str] = frozenset(NUMPY_DTYPES)
_BY_NUMPY_DTYPE = {np.dtype(n): n for n in _NUMPY_NAMES}

FLOAT = frozenset({"float16", "float32", "float64", "bfloat16"})
SIGNED_INT = frozenset({"int8", "int16", "int32", "int64"})
UNSIGNED_INT = frozenset({"uint8", "uint16", "uint32", "uint64"})
INT = SIGNED_INT | UNSIGNED_INT
NUMERIC = FLOAT | INT
ALL = DTYPE_NAMES


def to_numpy(name: str) -> np.dtype:
    """The numpy dtype for an IR dtype name."""
    try:
        return NUMPY_DTYPES[name]
    except KeyError:
        raise GraphValidationError(
            f"unknown dtype {name!r}; known: {', '.join(sorted(DTYPE_NAMES))}"
        ) from None


def name_of(dtype: np.dtype | type) -> str:
    """The IR dtype name of a numpy dtype (object arrays are strings)."""
    dt = np.dtype(dtype)
    found = _BY_NUMPY_DTYPE.get(dt)  # (numeric dtypes only: never object, str or bytes)
    if found is not None:
        return found
    if dt == np.dtype(object) or dt.kind in "US":
        return "string"
    if not ml_dtypes_loaded():  # an ml_dtypes dtype exists only once ml_dtypes is imported
        raise GraphValidationError(f"numpy dtype {dt} has no Gossamer equivalent")
    for name, candidate in NUMPY_DTYPES.items():
        if candidate == dt and name != "string":
            return name
    raise GraphValidationError(f"numpy dtype {dt} has no Gossamer equivalent")


# ONNX TensorProto.DataType codes -> IR dtype names (the one copy of this table).
ONNX_TYPE_CODES: dict[int, str] = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
    14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8_e4m3fn", 18: "float8_e4m3fnuz",
    19: "float8_e5m2", 20: "float8_e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4_e2m1fn",
    24: "float8_e8m0fnu", 25: "uint2", 26: "int2", 27: "float6_e2m3fn", 28: "float6_e3m2fn",
}  # fmt: skip


def from_onnx_code(code: int) -> np.dtype:
    """The numpy dtype of an ONNX TensorProto data-type code (e.g. Cast's `to`)."""
    from .errors import OpArgumentError

    name = ONNX_TYPE_CODES.get(code)
    if name is None or name not in NUMPY_DTYPES:
        raise OpArgumentError(f"data type code {code} is not a type Gossamer can represent")
    return NUMPY_DTYPES[name]


class DtypeSet:
    """A set of dtypes given by IR name. Membership never imports ml_dtypes: a dtype of one of its
    types can exist only once ml_dtypes is imported."""

    def __init__(self, names: frozenset[str] | set[str] | tuple[str, ...]) -> None:
        self.names = frozenset(names)
        self._numpy = frozenset(NUMPY_DTYPES[n] for n in self.names if n not in _ML_DTYPES_NAMES)
        self._ml = tuple(n for n in _ML_DTYPES_NAMES if n in self.names)

    def __contains__(self, dtype: object) -> bool:
        if dtype in self._numpy:
            return True
        if not self._ml or not ml_dtypes_loaded():
            return False
        return any(dtype == NUMPY_DTYPES[n] for n in self._ml)

    def __or__(self, other: DtypeSet) -> DtypeSet:
        return DtypeSet(self.names | other.names)

    def __iter__(self) -> Iterator[np.dtype]:
        return (NUMPY_DTYPES[n] for n in self.names)

    def __len__(self) -> int:
        return len(self.names)
