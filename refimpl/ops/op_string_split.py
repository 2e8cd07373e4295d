import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op("StringSplit", since=20, dtypes={"string"})
def string_split_20(
    x: np.ndarray, *, delimiter: str | None = None, maxsplit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """y[..., :] = x.split(delimiter, maxsplit) padded with "", z = number of parts

    An unset or empty delimiter splits on runs of whitespace and drops leading/trailing whitespace
    (also after the last split); an empty string has no substrings (as in onnxruntime).
    """
    if maxsplit is not None and maxsplit < 0:
        raise OpArgumentError(f"maxsplit must be >= 0 when set, got {maxsplit}")
    sep = delimiter or None
    limit = -1 if maxsplit is None else maxsplit
    parts = [(s.strip() if sep is None else s).split(sep, limit) if s else [] for s in x.ravel()]
    counts = np.array([len(p) for p in parts], dtype=np.int64).reshape(x.shape)
    width = int(counts.max()) if counts.size else 0
    substrings = np.full((len(parts), width), "", dtype=object)
    for row, pieces in enumerate(parts):  # one row per input string: strings have no vector split
        substrings[row, : len(pieces)] = pieces
    return substrings.reshape(x.shape + (width,)), counts
