from typing import Any

import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._post_transform import post_transform as transform_scores
from ._tree_ensemble import member_table, reach_leaves


def _aggregate(
    rows: np.ndarray, targets: np.ndarray, weights: np.ndarray, shape, function: int, n_trees: int
):
    """scores[n, t] = SUM/AVERAGE/MIN/MAX of the leaf weights reaching target t; 0 where none."""
    if function not in (0, 1, 2, 3):
        raise OpArgumentError(
            f"aggregate_function must be 0 AVERAGE, 1 SUM, 2 MIN or 3 MAX, got {function}"
        )
    if function in (0, 1):
        scores = np.zeros(shape)
        np.add.at(scores, (rows, targets), weights)
        return scores / max(n_trees, 1) if function == 0 else scores
    scores = np.full(shape, np.inf if function == 2 else -np.inf)
    (np.minimum if function == 2 else np.maximum).at(scores, (rows, targets), weights)
    reached = np.zeros(shape, dtype=bool)
    reached[rows, targets] = True
    return np.where(reached, scores, 0.0)


@reference_op("TreeEnsemble", since=5, domain="ai.onnx.ml", dtypes=FLOAT)
def tree_ensemble_5(
    x: np.ndarray,
    *,
    leaf_targetids: list[int],
    leaf_weights: np.ndarray,
    nodes_falseleafs: list[int],
    nodes_falsenodeids: list[int],
    nodes_featureids: list[int],
    nodes_modes: np.ndarray,
    nodes_splits: np.ndarray,
    nodes_trueleafs: list[int],
    nodes_truenodeids: list[int],
    tree_roots: list[int],
    aggregate_function: int = 1,
    membership_values: np.ndarray | None = None,
    n_targets: int | None = None,
    nodes_hitrates: np.ndarray | None = None,
    nodes_missing_value_tracks_true: list[int] | None = None,
    post_transform: int = 0,
) -> np.ndarray:
    """y[n, t] = post_transform(aggregate over trees of the weights of leaves x[n] reaches for t)"""
    if x.ndim != 2:
        raise OpArgumentError(f"X must be [N, features], got shape {list(x.shape)}")
    modes = np.asarray(nodes_modes, dtype=np.int64).ravel()
    tracks = nodes_missing_value_tracks_true or [0] * modes.size
    raw: dict[str, Any] = {
        "modes": modes,
        "featureids": nodes_featureids,
        "splits": nodes_splits,
        "truenodeids": nodes_truenodeids,
        "trueleafs": nodes_trueleafs,
        "falsenodeids": nodes_falsenodeids,
        "falseleafs": nodes_falseleafs,
        "tracks_true": tracks,
    }
    nodes = {k: np.asarray(v).ravel() for k, v in raw.items()}
    if any(v.size != modes.size for v in nodes.values()):
        raise OpArgumentError("all nodes_* attributes must have the same length")
    nodes["splits"] = nodes["splits"].astype(np.float64)
    nodes["tracks_true"] = nodes["tracks_true"] != 0
    nodes["members"] = member_table(modes, membership_values)
    weights = np.asarray(leaf_weights, dtype=np.float64).ravel()
    targets = np.asarray(leaf_targetids, dtype=np.int64)
    if weights.size != targets.size:
        raise OpArgumentError("leaf_targetids and leaf_weights must have the same length")
    n_out = int(targets.max(initial=-1)) + 1 if n_targets is None else int(n_targets)
    leaf = reach_leaves(x.astype(np.float64), np.asarray(tree_roots, np.int64), nodes)
    rows = np.repeat(np.arange(x.shape[0]), len(tree_roots))
    shape = (x.shape[0], n_out)
    scores = _aggregate(
        rows,
        targets[leaf].ravel(),
        weights[leaf].ravel(),
        shape,
        aggregate_function,
        len(tree_roots),
    )
    return transform_scores(scores, post_transform).astype(x.dtype)
