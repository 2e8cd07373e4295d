import numpy as np

from ..dtypes import NUMERIC
from ..errors import OpArgumentError
from ..registry import reference_op
from ._precision import widen


@reference_op("Einsum", since=12, dtypes=NUMERIC)
def einsum_12(*inputs: np.ndarray, equation: str) -> np.ndarray:
    """y = the Einstein sum `equation` over the inputs (implicit output: sorted free indices)"""
    eq = equation.replace(" ", "")
    n_terms = len(eq.split("->")[0].split(","))
    if n_terms != len(inputs):
        raise OpArgumentError(
            f"Einsum equation {equation!r} names {n_terms} operand(s), got {len(inputs)} input(s)"
        )
    try:
        y = np.einsum(eq, *(widen(x) for x in inputs), optimize=len(inputs) > 2)
    except ValueError as err:
        raise OpArgumentError(
            f"Einsum equation {equation!r} does not fit the inputs: {err}"
        ) from err
    return np.asarray(y).astype(inputs[0].dtype, copy=False)
