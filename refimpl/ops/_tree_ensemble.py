"""Vectorised traversal of ai.onnx.ml TreeEnsemble trees: every (row, tree) pair walks at once."""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError

BRANCH_MEMBER = 6  # BRANCH_LEQ, LT, GTE, GT, EQ, NEQ are 0..5


def member_table(modes: np.ndarray, membership_values: np.ndarray | None) -> np.ndarray:
    """[nodes, max set size]: the set of each BRANCH_MEMBER node, NaN-padded (NaN rows elsewhere).

    membership_values lists the sets in the order of the member nodes, delimited by NaN.
    """
    values = np.array([] if membership_values is None else membership_values, np.float64).ravel()
    cuts = np.flatnonzero(np.isnan(values))
    sets = [s[s == s] for s in np.split(values, cuts)]  # s == s drops the NaN delimiter
    if sets and sets[-1].size == 0 and len(cuts):  # a trailing delimiter closes the last set
        sets.pop()
    members = np.flatnonzero(modes == BRANCH_MEMBER)
    if len(members) != len(sets) and members.size:
        raise OpArgumentError(f"{len(members)} BRANCH_MEMBER nodes but {len(sets)} membership sets")
    table = np.full((len(modes), max((s.size for s in sets), default=0)), np.nan)
    for node, values_of_node in zip(members, sets):
        table[node, : values_of_node.size] = values_of_node
    return table


def _goes_true(modes, value, split, members, tracks_true) -> np.ndarray:
    conditions = [
        value <= split,
        value < split,
        value >= split,
        value > split,
        value == split,
        value != split,
        (value[:, None] == members).any(axis=1),
    ]
    return np.select([modes == m for m in range(7)], conditions) | (np.isnan(value) & tracks_true)


def reach_leaves(data: np.ndarray, roots: np.ndarray, nodes: dict[str, np.ndarray]) -> np.ndarray:
    """leaf[n, t] = index of the leaf that row n of data reaches in the tree rooted at roots[t]."""
    node = np.tile(roots, (data.shape[0], 1))
    leaf = np.full(node.shape, -1, dtype=np.int64)
    for _ in range(len(nodes["modes"]) + 1):  # each step goes one level down; more means a cycle
        rows, trees = np.nonzero(leaf < 0)
        if rows.size == 0:
            return leaf
        nd = node[rows, trees]
        value = data[rows, nodes["featureids"][nd]]
        true = _goes_true(
            nodes["modes"][nd],
            value,
            nodes["splits"][nd],
            nodes["members"][nd],
            nodes["tracks_true"][nd],
        )
        nxt = np.where(true, nodes["truenodeids"][nd], nodes["falsenodeids"][nd])
        done = np.where(true, nodes["trueleafs"][nd], nodes["falseleafs"][nd]).astype(bool)
        node[rows, trees] = nxt
        leaf[rows[done], trees[done]] = nxt[done]
    raise OpArgumentError("the trees contain a cycle: a path never reaches a leaf")
