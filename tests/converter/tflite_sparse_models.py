"""Sparse constants for tests: a dense array encoded in TFLite's SparsityParameters format
(traversal order, block map, DENSE / SPARSE_CSR levels) and written by tflite_models' builder."""

from __future__ import annotations

import importlib

import flatbuffers
import numpy as np

DENSE, CSR = 0, 1


def _module(name: str):
    return importlib.import_module(f"tflite.{name}")


def encode(dense: np.ndarray, order: list[int], block_map: list[int], blocks: list[int],
           formats: list[int]) -> tuple[np.ndarray, list[dict]]:  # fmt: skip
    """(stored values, per-level metadata) of `dense`: blocked, laid out in traversal order, each
    CSR level keeping only the indices whose sub-block has a nonzero."""
    n = dense.ndim
    split, block_axes, kept = [], [], []
    for d in range(n):
        if d in block_map:
            b = blocks[block_map.index(d)]
            split += [dense.shape[d] // b, b]
            kept.append(len(split) - 2)
            block_axes.append(len(split) - 1)
        else:
            split.append(dense.shape[d])
            kept.append(len(split) - 1)
    blocked = dense.reshape(split).transpose(kept + block_axes)  # n dims, then k block dims
    t = blocked.transpose(order)
    meta = [{"format": f, "dense_size": t.shape[i], "segments": [0], "indices": []}
            for i, f in enumerate(formats)]  # fmt: skip
    values: list = []

    def walk(sub: np.ndarray, level: int) -> None:
        if level == len(formats):
            values.append(sub)
            return
        m = meta[level]
        if m["format"] == DENSE:
            for i in range(sub.shape[0]):
                walk(sub[i], level + 1)
            return
        for i in range(sub.shape[0]):
            if np.any(sub[i] != 0):
                m["indices"].append(i)
                walk(sub[i], level + 1)
        m["segments"].append(len(m["indices"]))

    walk(t, 0)
    return np.array(values, dense.dtype), meta


def writer(order: list[int], block_map: list[int], meta: list[dict]):
    """A T.sparsity callback writing these SparsityParameters (int32 index vectors)."""
    sp, dm, i32 = (
        _module("SparsityParameters"),
        _module("DimensionMetadata"),
        _module("Int32Vector"),
    )

    def vec(b: flatbuffers.Builder, start, items, prepend) -> int:
        start(b, len(items))
        for x in reversed(items):
            prepend(x)
        return b.EndVector()

    def int32_vector(b: flatbuffers.Builder, items: list[int]) -> int:
        values = vec(b, i32.StartValuesVector, items, b.PrependInt32)
        i32.Start(b)
        i32.AddValues(b, values)
        return i32.End(b)

    def write(b: flatbuffers.Builder) -> int:
        levels = []
        for m in meta:
            seg = idx = None
            if m["format"] == CSR:
                seg, idx = int32_vector(b, m["segments"]), int32_vector(b, m["indices"])
            dm.Start(b)
            dm.AddFormat(b, m["format"])
            dm.AddDenseSize(b, m["dense_size"])
            if seg is not None:
                dm.AddArraySegmentsType(b, 1)
                dm.AddArraySegments(b, seg)
                dm.AddArrayIndicesType(b, 1)
                dm.AddArrayIndices(b, idx)
            levels.append(dm.End(b))
        order_v = vec(b, sp.StartTraversalOrderVector, order, b.PrependInt32)
        block_v = vec(b, sp.StartBlockMapVector, block_map, b.PrependInt32)
        meta_v = vec(b, sp.StartDimMetadataVector, levels, b.PrependUOffsetTRelative)
        sp.Start(b)
        sp.AddTraversalOrder(b, order_v)
        sp.AddBlockMap(b, block_v)
        sp.AddDimMetadata(b, meta_v)
        return sp.End(b)

    return write
