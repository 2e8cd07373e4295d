import re

import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op("RegexFullMatch", since=20, dtypes={"string"})
def regex_full_match_20(x: np.ndarray, *, pattern: str | None = None) -> np.ndarray:
    """y = (x matches pattern entirely), per element

    ONNX specifies RE2 syntax; Python's `re` agrees on the common subset. re.ASCII makes \\w, \\d,
    \\s and \\b ASCII-only as in RE2; RE2-only syntax (e.g. \\z, \\C, \\pN) is not supported.
    """
    if pattern is None:
        raise OpArgumentError("RegexFullMatch needs the 'pattern' attribute")
    try:
        regex = re.compile(pattern, re.ASCII)
    except re.error as err:
        raise OpArgumentError(
            f"pattern {pattern!r} is not a valid regular expression: {err}"
        ) from err
    matches = [regex.fullmatch(s) is not None for s in x.reshape(-1)]
    return np.array(matches, dtype=bool).reshape(x.shape)
