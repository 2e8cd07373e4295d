from typing import Any

import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op("Constant", since=1)
def constant_1(
    *,
    value: np.ndarray | None = None,
    sparse_value: np.ndarray | None = None,
    value_float: float | None = None,
    value_floats: list[float] | None = None,
    value_int: int | None = None,
    value_ints: list[int] | None = None,
    value_string: str | None = None,
    value_strings: list[str] | None = None,
) -> Any:
    """y = the one attribute that is set, as a tensor"""
    given = {
        "value": value,
        "sparse_value": sparse_value,
        "value_float": value_float,
        "value_floats": value_floats,
        "value_int": value_int,
        "value_ints": value_ints,
        "value_string": value_string,
        "value_strings": value_strings,
    }
    set_ = [k for k, v in given.items() if v is not None]
    if len(set_) != 1:
        raise OpArgumentError(f"Constant needs exactly one value attribute, got {set_ or 'none'}")
    if value is not None:
        return value
    if sparse_value is not None:
        return sparse_value
    if value_float is not None:
        return np.array(value_float, dtype=np.float32)
    if value_floats is not None:
        return np.array(value_floats, dtype=np.float32)
    if value_int is not None:
        return np.array(value_int, dtype=np.int64)
    if value_ints is not None:
        return np.array(value_ints, dtype=np.int64)
    if value_string is not None:
        return np.array(value_string, dtype=object)
    return np.array(value_strings, dtype=object)
