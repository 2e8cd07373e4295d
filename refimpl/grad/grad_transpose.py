import numpy as np

from .contract import gradient_op


@gradient_op("Transpose", since=1, takes=("dy",), wrt=(0,))
def transpose_grad_1(dy: np.ndarray, *, perm: list[int] | None = None) -> tuple[np.ndarray]:
    """ddata = dy transposed by the inverse permutation (default perm reverses the axes)"""
    order = list(perm) if perm is not None and len(perm) else list(range(dy.ndim))[::-1]
    return (np.transpose(dy, np.argsort(order)),)
