import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._strings import as_objects, as_strings


@reference_op("StringNormalizer", since=10, dtypes={"string"})
def string_normalizer_10(
    x: np.ndarray,
    *,
    case_change_action: str = "NONE",
    is_case_sensitive: int = 0,
    locale: str | None = None,
    stopwords: list[str] | None = None,
) -> np.ndarray:
    """y = [case_change(s) for s in x if s not in stopwords], for x of shape [C] or [1, C]

    Case changes follow Python's Unicode rules whatever `locale` says; stop words compare
    case-insensitively through str.lower() unless is_case_sensitive. If every string is dropped,
    y is [""] of shape [1] (or [1, 1]).
    """
    if x.ndim not in (1, 2) or (x.ndim == 2 and x.shape[0] != 1):
        raise OpArgumentError(f"StringNormalizer accepts [C] or [1, C] inputs, got {list(x.shape)}")
    if case_change_action not in ("NONE", "LOWER", "UPPER"):
        raise OpArgumentError(
            f"case_change_action must be NONE, LOWER or UPPER, got {case_change_action!r}"
        )
    words = as_strings(x.reshape(-1))
    if stopwords:
        stops = as_strings(np.array(stopwords, dtype=object))
        if not is_case_sensitive:
            words_key, stops = np.strings.lower(words), np.strings.lower(stops)
        else:
            words_key = words
        words = words[~np.isin(words_key, stops)]
    if case_change_action == "LOWER":
        words = np.strings.lower(words)
    elif case_change_action == "UPPER":
        words = np.strings.upper(words)
    out = as_objects(words) if words.size else np.array([""], dtype=object)
    return out.reshape(-1) if x.ndim == 1 else out.reshape(1, -1)
