import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op


def _encode(tokens: np.ndarray, vocab: np.ndarray) -> np.ndarray:
    """Position of each token in the sorted vocabulary, or -1 if it is not there."""
    if vocab.size == 0:
        return np.full(tokens.shape, -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(vocab, tokens), vocab.size - 1)
    return np.where(vocab[pos] == tokens, pos, -1)


def _ngram_counts(ids: np.ndarray, grams: np.ndarray, max_skip: int) -> np.ndarray:
    """counts[b, g] = occurrences of n-gram grams[g] in row b, over all skips 0..max_skip."""
    n = grams.shape[1]
    counts = np.zeros((ids.shape[0], grams.shape[0]), dtype=np.int64)
    for skip in range(max_skip + 1 if n > 1 else 1):  # a 1-gram is the same for every skip
        span = (n - 1) * (skip + 1)
        if span >= ids.shape[1]:
            break
        taps = np.arange(ids.shape[1] - span)[:, None] + np.arange(n) * (skip + 1)
        windows = ids[:, taps]  # [rows, windows, n]
        counts += (windows[:, :, None, :] == grams[None, None]).all(-1).sum(1)
    return counts


@reference_op("TfIdfVectorizer", since=9, dtypes={"int32", "int64", "string"})
def tf_idf_vectorizer_9(
    x: np.ndarray,
    *,
    max_gram_length: int,
    max_skip_count: int,
    min_gram_length: int,
    mode: str,
    ngram_counts: list[int],
    ngram_indexes: list[int],
    pool_int64s: list[int] | None = None,
    pool_strings: list[str] | None = None,
    weights: list[float] | None = None,
) -> np.ndarray:
    """y[ngram_indexes[g]] = f(count of pool n-gram g in x, skipping up to max_skip_count items)

    f is the count (TF), weights[g]·min(count, 1) (IDF) or weights[g]·count (TFIDF).
    """
    if (pool_int64s is None) == (pool_strings is None):
        raise OpArgumentError("set exactly one of pool_int64s and pool_strings")
    if mode not in ("TF", "IDF", "TFIDF"):
        raise OpArgumentError(f"mode must be TF, IDF or TFIDF, got {mode!r}")
    if x.ndim not in (1, 2):
        raise OpArgumentError(f"X must be [C] or [N, C], got shape {list(x.shape)}")
    if (pool_strings is not None) != (x.dtype == object):
        raise OpArgumentError("string input needs pool_strings; integer input needs pool_int64s")
    pool = (
        np.array(pool_int64s, dtype=np.int64)
        if pool_strings is None
        else np.array(pool_strings, dtype=object)
    )
    indexes = np.asarray(ngram_indexes, dtype=np.int64)
    gram_weights = np.ones(len(indexes)) if weights is None else np.asarray(weights, np.float64)
    if len(gram_weights) != len(indexes) or (indexes.size and indexes.min() < 0):
        raise OpArgumentError("weights and ngram_indexes must be parallel, with indexes >= 0")
    vocab = np.unique(pool)
    ids = _encode(x.reshape(1, -1) if x.ndim == 1 else x, vocab)
    starts = list(ngram_counts) + [len(pool)]
    levels = [pool[starts[n - 1] : starts[n]] for n in range(1, len(starts))]  # n-grams, n = 1..
    whole = all(level.size % n == 0 for n, level in enumerate(levels, 1))
    if not whole or sum(level.size // n for n, level in enumerate(levels, 1)) != len(indexes):
        raise OpArgumentError(
            "ngram_counts must cut the pool into whole 1-grams, 2-grams, ... with one "
            f"ngram_indexes entry each ({len(indexes)} given)"
        )
    counts = np.zeros((ids.shape[0], len(indexes)), dtype=np.int64)
    first_gram = 0  # index of the level's first n-gram among all pool n-grams
    for n, level in enumerate(levels, 1):
        grams = _encode(level, vocab).reshape(-1, n)
        if min_gram_length <= n <= max_gram_length:
            chosen = slice(first_gram, first_gram + len(grams))
            counts[:, chosen] = _ngram_counts(ids, grams, max_skip_count)
        first_gram += len(grams)
    if mode == "TF":
        values = counts.astype(np.float64)
    else:
        values = (np.minimum(counts, 1) if mode == "IDF" else counts) * gram_weights
    y = np.zeros((ids.shape[0], int(indexes.max(initial=-1)) + 1), dtype=np.float32)
    y[:, indexes] = values
    return y.reshape(-1) if x.ndim == 1 else y
