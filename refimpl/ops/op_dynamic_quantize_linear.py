import numpy as np

from ..registry import reference_op
from ._quant import saturate_to


@reference_op("DynamicQuantizeLinear", since=11, dtypes={"float32"})
def dynamic_quantize_linear_11(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scale = (max(x, 0) - min(x, 0)) / 255; zp = saturate(rint(-min(x, 0) / scale));
    y = saturate(rint(x / scale) + zp), all uint8"""
    high = np.float32(max(0.0, float(x.max()))) if x.size else np.float32(0)
    low = np.float32(min(0.0, float(x.min()))) if x.size else np.float32(0)
    scale = np.float32(1.0 if high == low else high - low) / np.float32(255)
    zero_point = saturate_to(np.asarray(-low / scale), np.dtype(np.uint8))
    y = saturate_to(np.rint(x / scale).astype(np.float64) + float(zero_point), np.dtype(np.uint8))
    return y, np.asarray(scale, dtype=np.float32), np.asarray(zero_point, dtype=np.uint8)
