import numpy as np

from ..ops.op_pad import pad_2, pad_19
from ._index_trace import positions, scatter_add
from .contract import gradient_op, like, work


@gradient_op("Pad", since=11, takes=("dy", "x0", "x1", "x2", "x3"), wrt=(0, 2))
def pad_grad_11(
    dy: np.ndarray,
    data: np.ndarray,
    pads: np.ndarray,
    constant_value: np.ndarray | None = None,
    axes: np.ndarray | None = None,
    *,
    mode: str = "constant",
) -> tuple[np.ndarray, None, np.ndarray | None]:
    """ddata[p] = Σ dy over the outputs copied from p (reflect/edge copy some twice);
    dconstant_value = Σ dy over the padding"""
    source = pad_19(positions(data.shape), pads, np.array(-1, np.int64), axes, mode=mode)
    ddata = like(scatter_add(dy, source, data.shape), data)
    if constant_value is None:
        return ddata, None, None
    dvalue = np.sum(work(dy), where=source < 0).reshape(constant_value.shape)
    return ddata, None, like(dvalue, constant_value)


@gradient_op("Pad", since=2, takes=("dy", "x0"), wrt=(0,))
def pad_grad_2(
    dy: np.ndarray, data: np.ndarray, *, pads: list[int], mode: str = "constant", value: float = 0.0
) -> tuple[np.ndarray]:
    """ddata[p] = Σ dy over the outputs copied from p (the pad value is an attribute: no
    cotangent)"""
    source = pad_2(positions(data.shape), pads=pads, mode=mode, value=-1.0)
    return (like(scatter_add(dy, source.astype(np.int64), data.shape), data),)
