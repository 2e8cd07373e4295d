import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import norm_axis


@reference_op("ReverseSequence", since=10, dtypes=ALL)
def reverse_sequence_10(
    input: np.ndarray, sequence_lens: np.ndarray, *, batch_axis: int = 1, time_axis: int = 0
) -> np.ndarray:
    """y[b, t] = input[b, lens[b] - 1 - t] for t < lens[b], else input[b, t]"""
    b_ax, t_ax = norm_axis(batch_axis, input.ndim), norm_axis(time_axis, input.ndim)
    if b_ax == t_ax:
        raise OpArgumentError("ReverseSequence batch_axis and time_axis must differ")
    lens = np.asarray(sequence_lens).astype(np.int64).reshape(-1)
    steps = input.shape[t_ax]
    if lens.size != input.shape[b_ax] or np.any(lens < 0) or np.any(lens > steps):
        raise OpArgumentError(f"sequence_lens {lens.tolist()} do not fit input {list(input.shape)}")
    shape = [1] * input.ndim
    shape[b_ax], shape[t_ax] = lens.size, steps
    t = np.arange(steps).reshape([steps if i == t_ax else 1 for i in range(input.ndim)])
    n = lens.reshape([lens.size if i == b_ax else 1 for i in range(input.ndim)])
    source = np.broadcast_to(np.where(t < n, n - 1 - t, t), shape)
    return np.take_along_axis(input, source, axis=t_ax)
