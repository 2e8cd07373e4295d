import numpy as np

from ..registry import reference_op
from ._strings import as_objects, as_strings


@reference_op("StringConcat", since=20, dtypes={"string"})
def string_concat_20(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z = x + y per element (string concatenation, numpy broadcasting)"""
    return as_objects(np.strings.add(as_strings(x), as_strings(y)))
