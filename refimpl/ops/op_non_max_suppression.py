import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op


def _corners(boxes: np.ndarray, center_point_box: int) -> np.ndarray:
    """(y1, x1, y2, x2) with y1 <= y2, x1 <= x2."""
    if center_point_box:
        xc, yc, w, h = np.moveaxis(boxes, -1, 0)
        return np.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], axis=-1)
    y1, x1, y2, x2 = np.moveaxis(boxes, -1, 0)
    return np.stack(
        [np.minimum(y1, y2), np.minimum(x1, x2), np.maximum(y1, y2), np.maximum(x1, x2)], axis=-1
    )


def _iou_with(b: np.ndarray, i: int) -> np.ndarray:
    """Intersection-over-union of corner box i with every box; 0 where an area is empty."""
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lo = np.maximum(b[i, :2], b[:, :2])
    hi = np.minimum(b[i, 2:], b[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    union = area[i] + area - inter
    ok = (area[i] > 0) & (area > 0) & (inter > 0)
    return np.where(ok, inter / np.where(ok, union, 1.0), 0.0)


def _select(scores: np.ndarray, corners: np.ndarray, limit: int, iou_thr: float, score_thr):
    keep = np.ones(scores.shape, bool) if score_thr is None else scores > score_thr
    order = np.argsort(-scores, kind="stable")
    chosen: list[int] = []
    alive = keep.copy()
    for i in order[keep[order]]:  # greedy: the best remaining box suppresses its overlaps
        if len(chosen) >= limit:
            break
        if alive[i]:
            chosen.append(int(i))
            alive &= ~(_iou_with(corners, int(i)) > iou_thr)
    return chosen


@reference_op("NonMaxSuppression", since=10, dtypes=FLOAT)
def non_max_suppression_10(
    boxes: np.ndarray,
    scores: np.ndarray,
    max_output_boxes_per_class: np.ndarray | None = None,
    iou_threshold: np.ndarray | None = None,
    score_threshold: np.ndarray | None = None,
    *,
    center_point_box: int = 0,
) -> np.ndarray:
    """[batch, class, box] rows chosen greedily per class by score, dropping IoU > threshold"""
    if boxes.ndim != 3 or boxes.shape[2] != 4 or scores.ndim != 3:
        raise OpArgumentError("NonMaxSuppression needs boxes (B, N, 4) and scores (B, C, N)")
    if scores.shape[0] != boxes.shape[0] or scores.shape[2] != boxes.shape[1]:
        raise OpArgumentError(f"scores {list(scores.shape)} do not fit boxes {list(boxes.shape)}")
    limit = (
        0 if max_output_boxes_per_class is None else int(np.ravel(max_output_boxes_per_class)[0])
    )
    iou_thr = 0.0 if iou_threshold is None else float(np.ravel(iou_threshold)[0])
    score_thr = None if score_threshold is None else float(np.ravel(score_threshold)[0])
    corners = _corners(boxes.astype(np.float64), center_point_box)
    rows = []
    for b in range(boxes.shape[0]):
        for c in range(scores.shape[1]):
            for i in _select(
                scores[b, c].astype(np.float64), corners[b], limit, iou_thr, score_thr
            ):
                rows.append((b, c, i))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)
