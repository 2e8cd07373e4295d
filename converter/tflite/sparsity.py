"""Sparse TFLite constants (a tensor's SparsityParameters): validated and densified at import.

The format (schema.fbs SparsityParameters; LiteRT's FormatConverter in
kernels/internal/utils/sparsity_format_converter.cc): a rank-n tensor is first blocked — each
dim listed in `block_map` (ascending) is split into (dim / block, block) — giving n + k dims,
stored in `traversal_order` (the n original dims first, then the k block dims). One
DimensionMetadata per traversal level: DENSE (every index 0..dense_size-1) or SPARSE_CSR (for
each position of the level above, the indices `array_indices[array_segments[p] :
array_segments[p + 1]]`). The buffer holds the stored values in that order. A block level's
dense_size is the block size (read, as LiteRT does, from the metadata of level
`traversal_order[n + j]`).

Every count, offset and index is checked before it is used (ModelFormatError naming the
tensor); the dense result is charged to the memory budget before it is allocated.
"""

from __future__ import annotations

import functools
import importlib
import math
from typing import Any

import numpy as np

from ...refimpl.memory_budget import over_budget

DENSE, SPARSE_CSR = 0, 1
_INDEX_VECTORS = {1: "Int32Vector", 2: "Uint16Vector", 3: "Uint8Vector"}  # SparseIndexVector


def densify(reader: Any, x: Any, where: str, dtype: str, shape: tuple, raw: memoryview | None,
            np_dtype: np.dtype, guard: Any, fail: Any) -> np.ndarray | None:  # fmt: skip
    """The dense value of a sparse constant (None for a sparse tensor without data, which
    DENSIFY's converter refuses); `reader` is reader._Reader (its length checks, budget and
    source), `guard` / `fail` reader's accessor guard and ModelFormatError maker."""
    _guard, _fail = guard, fail
    sp = _guard(f"{where}'s sparsity", x.Sparsity)
    n = len(shape)
    order = reader.ints(f"{where}'s traversal order", sp.TraversalOrderLength, sp.TraversalOrder)
    block_map = reader.ints(f"{where}'s block map", sp.BlockMapLength, sp.BlockMap)
    k = len(block_map)
    if sorted(order[:n]) != list(range(n)) or sorted(order[n:]) != list(range(n, n + k)):
        raise _fail(f"{where} has traversal order {order[:40]} for {n} dims and {k} blocks")
    if sorted(set(block_map)) != block_map or any(not 0 <= b < n for b in block_map):
        raise _fail(f"{where} has block map {block_map} for a rank-{n} tensor")
    n_meta = reader.length(f"{where}'s dim metadata", sp.DimMetadataLength, 4)
    if n_meta != n + k:
        raise _fail(f"{where} has {n_meta} dim metadata for {n + k} traversal levels")
    levels = [_level(reader, sp, i, where, guard, fail) for i in range(n_meta)]
    blocks = []
    sizes = list(shape)  # the blocked shape (n dims), then the block sizes
    for j, dim in enumerate(block_map):
        kind, block, _, _ = levels[order[n + j]]
        if kind != DENSE or block < 1 or shape[dim] % block:
            raise _fail(f"{where} has a block of {block} for dim {dim} of size {shape[dim]}")
        blocks.append(block)
        sizes[dim] //= block
    sizes += blocks
    if raw is None:
        return None
    itemsize = np_dtype.itemsize
    if len(raw) % itemsize:
        raise _fail(f"{where}'s sparse values take {len(raw)} bytes, not whole {dtype} values")
    values = np.frombuffer(raw, np_dtype)
    nbytes = math.prod(shape) * itemsize
    if nbytes > reader.budget:
        raise over_budget(f"TFLite flatbuffer {reader.source}", reader.budget, where, nbytes)
    # walk the levels: `pos` is each stored prefix's position, `coords[l]` its index at level l
    pos = np.zeros(1, np.int64)
    coords: list[np.ndarray] = []
    for level, (kind, dense, segments, indices) in enumerate(levels):
        size = sizes[order[level]]
        if kind == DENSE:
            if dense != size:
                raise _fail(f"{where}'s level {level} is dense of {dense}, its dim has {size}")
            # in a valid file every level's count is bounded by a vector or the values it holds
            if len(pos) * size > reader.size:
                raise _fail(f"{where}'s levels describe more values than the file holds")
            coords = [np.repeat(c, size) for c in coords] + [np.tile(np.arange(size), len(pos))]
            pos = (pos[:, None] * size + np.arange(size)).reshape(-1)
        else:
            if len(segments) != len(pos) + 1 or segments[0] != 0:
                raise _fail(f"{where}'s level {level} has {len(segments)} segment offsets "
                            f"for {len(pos)} positions")  # fmt: skip
            if np.any(np.diff(segments) < 0) or segments[-1] > len(indices):
                raise _fail(f"{where}'s level {level} has segments outside its indices")
            counts = np.diff(segments)
            pos = np.arange(int(segments[-1]), dtype=np.int64)
            here = indices[: len(pos)]
            if len(here) and (here.min() < 0 or here.max() >= size):
                raise _fail(f"{where}'s level {level} has an index outside 0..{size - 1}")
            coords = [np.repeat(c, counts) for c in coords] + [here]
    if len(pos) != values.size:
        raise _fail(f"{where}'s sparsity describes {len(pos)} values, its buffer {values.size}")
    index = [np.zeros(len(pos), np.int64) for _ in range(n)]
    for level in range(n):
        index[order[level]] = coords[level]
    for j in range(k):
        dim = block_map[j]
        index[dim] = index[dim] * blocks[j] + coords[order.index(n + j)]
    dense_value = np.zeros(shape, np_dtype)
    if n:
        dense_value[tuple(index)] = values
    else:
        dense_value[()] = values[0]
    dense_value.flags.writeable = False
    return dense_value


def _level(
    reader: Any, sp: Any, i: int, where: str, _guard: Any, _fail: Any
) -> tuple[int, int, Any, Any]:
    what = f"{where}'s dim metadata {i}"
    dm = _guard(what, functools.partial(sp.DimMetadata, i))
    if dm is None:
        raise _fail(f"{what} is missing")
    kind = int(_guard(what, dm.Format))
    dense = int(_guard(what, dm.DenseSize))
    if kind == DENSE:
        if dense < 0:
            raise _fail(f"{what} has dense size {dense}")
        return kind, dense, None, None
    if kind != SPARSE_CSR:
        raise _fail(f"{what} has unknown format {kind}")
    checks = (_guard, _fail)
    segments = _index_vector(reader, dm.ArraySegmentsType, dm.ArraySegments,
                             f"{what}'s segments", *checks)  # fmt: skip
    indices = _index_vector(reader, dm.ArrayIndicesType, dm.ArrayIndices,
                            f"{what}'s indices", *checks)  # fmt: skip
    return kind, dense, segments, indices


def _index_vector(
    reader: Any, kind_fn: Any, table_fn: Any, what: str, _guard: Any, _fail: Any
) -> np.ndarray:
    kind = int(_guard(what, kind_fn))
    if kind not in _INDEX_VECTORS:
        raise _fail(f"{what} have index vector type {kind}")
    table = _guard(what, table_fn)
    if table is None:
        raise _fail(f"{what} are missing")
    cls = getattr(importlib.import_module(f"tflite.{_INDEX_VECTORS[kind]}"), _INDEX_VECTORS[kind])
    vec = cls()
    vec.Init(table.Bytes, table.Pos)
    reader.length(what, vec.ValuesLength, 1)
    values = _guard(what, vec.ValuesAsNumpy)
    if isinstance(values, int):  # an empty vector
        return np.zeros(0, np.int64)
    if not isinstance(values, np.ndarray):
        raise _fail(f"{what} run past the end of the file")
    return values.astype(np.int64)
