import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._lookup import lookup

_BUILTIN_DEFAULTS = {"O": "_Unused", "i": -1, "u": -1, "f": -0.0}
_V4_TYPES = {"float32", "float64", "int16", "int32", "int64", "string"}


def _one_of(kind: str, floats, int64s, strings, tensor: np.ndarray | None = None) -> np.ndarray:
    """The one set keys_*/values_* attribute as a 1-D array of its type."""
    given = {
        "floats": None if floats is None else np.array(floats, dtype=np.float32),
        "int64s": None if int64s is None else np.array(int64s, dtype=np.int64),
        "strings": None if strings is None else np.array(strings, dtype=object),
        "tensor": tensor,
    }
    present = {name: v for name, v in given.items() if v is not None}
    if len(present) != 1:
        names = sorted(f"{kind}_{n}" for n in present) or "none"
        raise OpArgumentError(f"set exactly one {kind}_* attribute, got {names}")
    return next(iter(present.values())).reshape(-1)


def _encode(x: np.ndarray, keys: np.ndarray, values: np.ndarray, default) -> np.ndarray:
    if keys.size != values.size:
        raise OpArgumentError(f"keys ({keys.size}) and values ({values.size}) differ in length")
    if (keys.dtype == object) != (x.dtype == object):
        raise OpArgumentError(f"input of dtype {x.dtype} cannot match keys of dtype {keys.dtype}")
    return lookup(x, keys if keys.dtype == object else keys.astype(x.dtype), values, default)


@reference_op("LabelEncoder", since=1, domain="ai.onnx.ml", dtypes={"int64", "string"})
def label_encoder_1(
    x: np.ndarray,
    *,
    classes_strings: list[str] | None = None,
    default_int64: int = -1,
    default_string: str = "_Unused",
) -> np.ndarray:
    """y = classes_strings[x] (int64 input) or the index of x in classes_strings (string input)"""
    classes = np.array(classes_strings or [], dtype=object)
    if x.dtype == object:  # the first of repeated classes is the class's index
        return lookup(x, classes[::-1], np.arange(classes.size)[::-1], default_int64)
    return lookup(x, np.arange(classes.size), classes, default_string)


@reference_op("LabelEncoder", since=2, domain="ai.onnx.ml", dtypes={"float32", "int64", "string"})
def label_encoder_2(
    x: np.ndarray,
    *,
    default_float: float = -0.0,
    default_int64: int = -1,
    default_string: str = "_Unused",
    keys_floats: list[float] | None = None,
    keys_int64s: list[int] | None = None,
    keys_strings: list[str] | None = None,
    values_floats: list[float] | None = None,
    values_int64s: list[int] | None = None,
    values_strings: list[str] | None = None,
) -> np.ndarray:
    """y = values[i] where keys[i] == x, else the default_* of the values' type"""
    keys = _one_of("keys", keys_floats, keys_int64s, keys_strings)
    values = _one_of("values", values_floats, values_int64s, values_strings)
    default = {"f": default_float, "i": default_int64, "O": default_string}[values.dtype.kind]
    return _encode(x, keys, values, default)


@reference_op("LabelEncoder", since=4, domain="ai.onnx.ml", dtypes=_V4_TYPES)
def label_encoder_4(
    x: np.ndarray,
    *,
    default_float: float = -0.0,
    default_int64: int = -1,
    default_string: str = "_Unused",
    default_tensor: np.ndarray | None = None,
    keys_floats: list[float] | None = None,
    keys_int64s: list[int] | None = None,
    keys_strings: list[str] | None = None,
    keys_tensor: np.ndarray | None = None,
    values_floats: list[float] | None = None,
    values_int64s: list[int] | None = None,
    values_strings: list[str] | None = None,
    values_tensor: np.ndarray | None = None,
) -> np.ndarray:
    """y = values[i] where keys[i] == x, else default_tensor[0] (or the values type's default)"""
    keys = _one_of("keys", keys_floats, keys_int64s, keys_strings, keys_tensor)
    values = _one_of("values", values_floats, values_int64s, values_strings, values_tensor)
    if default_tensor is not None:
        if default_tensor.size != 1:
            raise OpArgumentError(f"default_tensor must hold one value, got {default_tensor.size}")
        default = default_tensor.reshape(-1)[0]
    elif values_tensor is not None:  # onnxruntime too ignores default_int64 etc. here
        default = _BUILTIN_DEFAULTS[values.dtype.kind]
    else:
        default = {"f": default_float, "i": default_int64, "O": default_string}[values.dtype.kind]
    return _encode(x, keys, values, default)
