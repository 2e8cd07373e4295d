"""Dump mode: an observer that writes every tensor a run produces to a folder, for debugging.

Each tensor becomes `<index>_<safe name>.npy` (written with allow_pickle=False; strings are stored
as unicode arrays, ml_dtypes types such as bfloat16 as float32); `index.json` is a JSON list, in
execution order, of one entry per node (the feeds first, as op "<input>"):

    {"node": "conv1", "op_type": "Conv", "backend": "cython",
     "outputs": [{"name": "x1", "type": "float32[1,8,32,32]", "file": "00002_x1.npy",
                  "dtype": "float32", "shape": [1, 8, 32, 32],
                  "stats": {"min": ..., "max": ..., "mean": ..., "std": ..., "nan": 0, "inf": 0}}]}

`backend` is who computed the node (with `runtime_fallback`, the reason, where the placed
backend declined the call at run time and the reference ran it); a feed may carry `source`.
Statistics (see `tensor_stats`) are over the finite values, in float64; NaN and ±inf are
counted apart. Integer and bool tensors also get `distinct` (capped at DISTINCT_CAP). A value
with nothing to summarise has null statistics. Sequences write one file per element and list
them in `files`, with each element's dtype, shape and stats in `elements`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .dtypes import name_of
from .errors import GraphValidationError
from .interpreter import describe_value
from .ir import Node

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
DISTINCT_CAP = 1000  # distinct values counted in an integer tensor before "1000 or more"

# node -> (backend that computed this call, reason if it was a run-time fallback to the reference)
BackendOf = Callable[[Node], tuple[str, str | None]]


class TensorDumper:
    """Writes inputs and every node output of a run into `folder`, with per-tensor statistics."""

    def __init__(self, folder: str | Path, *, backend_of: BackendOf | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.entries: list[dict[str, Any]] = []
        self._backend_of = backend_of
        self._count = 0

    def dump_feeds(self, feeds: dict[str, Any], sources: dict[str, Any] | None = None) -> None:
        """Writes the feeds as the first entry; `sources` says where each came from."""
        files = [self._write(name, value) for name, value in feeds.items()]
        for entry in files:
            if sources and entry["name"] in sources:
                entry["source"] = sources[entry["name"]]
        self.entries.append({"node": None, "op_type": "<input>", "backend": None, "outputs": files})
        self._flush()

    def before_node(self, node: Node, inputs: Sequence[Any]) -> None:
        pass

    def after_node(self, node: Node, inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
        files = [self._write(name, value) for name, value in zip(node.outputs, outputs) if name]
        entry: dict[str, Any] = {"node": node.name, "op_type": node.op_type}
        if self._backend_of is not None:
            backend, fallback = self._backend_of(node)
            entry["backend"] = backend
            if fallback:
                entry["runtime_fallback"] = fallback
        entry["outputs"] = files
        self.entries.append(entry)
        self._flush()

    def _write(self, name: str, value: Any) -> dict[str, Any]:
        self._count += 1
        stem = f"{self._count:05d}_{_UNSAFE.sub('_', name)[:80]}"
        entry: dict[str, Any] = {"name": name, "type": describe_value(value)}
        if isinstance(value, np.ndarray):
            entry["file"] = self._save(stem, value)
            entry.update(_described(value))
        elif isinstance(value, list):
            entry["files"] = [self._save(f"{stem}.{i}", v) for i, v in enumerate(value)]
            entry["elements"] = [_described(v) for v in value]
        return entry

    def _save(self, stem: str, array: np.ndarray) -> str:
        if array.dtype == object:
            array = array.astype(str)
        elif array.dtype.kind == "V":  # ml_dtypes (bfloat16, float8, int4): .npy cannot name them
            array = array.astype(np.float32)
        np.save(self.folder / f"{stem}.npy", array, allow_pickle=False)
        return f"{stem}.npy"

    def _flush(self) -> None:
        (self.folder / "index.json").write_text(json.dumps(self.entries, indent=1))


def _described(array: np.ndarray) -> dict[str, Any]:
    return {"dtype": _dtype(array), "shape": list(array.shape), "stats": tensor_stats(array)}


def _dtype(array: np.ndarray) -> str:
    try:
        return name_of(array.dtype)
    except GraphValidationError:
        return str(array.dtype)


def tensor_stats(array: np.ndarray) -> dict[str, Any]:
    """min, max, mean, std of the finite values (float64; null when there are none), the counts
    of NaN and ±inf for floating types, and `distinct` (with `distinct_capped` when there are
    more than DISTINCT_CAP) for integer, bool and string tensors. Every number is JSON-finite."""
    dtype = _dtype(array)
    stats: dict[str, Any] = {}
    if dtype == "string" or array.dtype.kind == "c":
        if dtype == "string":
            stats.update(_distinct(array.astype(str)))
        return stats
    is_int = dtype == "bool" or "int" in dtype  # int4/uint4/int2 are ml_dtypes, kind "V"
    values = array.astype(np.float64, copy=False).ravel()
    if not is_int:
        nan = np.isnan(values)
        inf = np.isinf(values)
        stats["nan"] = int(nan.sum())
        stats["inf"] = int(inf.sum())
        if stats["nan"] or stats["inf"]:
            values = values[~(nan | inf)]
    ints = array
    if is_int and array.dtype.kind not in "biu":  # int4, uint4, int2: ml_dtypes, kind "V"
        ints = array.astype(np.int64)
    if not values.size:
        stats.update(min=None, max=None, mean=None, std=None)
    else:  # integer extremes exactly: an int64 above 2**53 is not a float64
        low, high = (int(ints.min()), int(ints.max())) if is_int else (values.min(), values.max())
        stats.update(min=_finite(low), max=_finite(high), mean=_finite(values.mean()),
                     std=_finite(values.std()))  # fmt: skip
    if is_int:
        stats.update(_distinct(ints))
    return stats


def _distinct(array: np.ndarray) -> dict[str, Any]:
    count = int(np.unique(array).size)
    out: dict[str, Any] = {"distinct": min(count, DISTINCT_CAP)}
    if count > DISTINCT_CAP:
        out["distinct_capped"] = True
    return out


def _finite(x: Any) -> int | float | None:
    if isinstance(x, int):
        return x
    value = float(x)
    return value if math.isfinite(value) else None


# ---- the text summary --------------------------------------------------------------------------
def format_index(entries: list[dict[str, Any]]) -> str:
    """One line per dumped tensor: node, op, backend, dtype[shape], statistics; then where the
    first NaN or inf appeared (what a user looks for first)."""
    rows = []
    first_bad = None
    for entry in entries:
        node = entry["node"] if entry["node"] is not None else "(input)"
        backend = entry.get("backend") or "-"
        if entry.get("runtime_fallback"):
            backend += "*"
        for out in entry["outputs"]:
            parts = [out] if "stats" in out else list(out.get("elements", []))
            for part in parts:
                stats = part.get("stats") or {}
                rows.append([node, entry["op_type"], backend, out["name"],
                             _type_text(part), *_stats_text(stats)])  # fmt: skip
                if first_bad is None and (stats.get("nan") or stats.get("inf")):
                    first_bad = (node, out["name"], stats)
            if not parts:
                rows.append([node, entry["op_type"], backend, out["name"], out["type"]] + [""] * 6)
    head = ["node", "op", "backend", "tensor", "type", "min", "max", "mean", "std", "nan/inf",
            "distinct"]  # fmt: skip
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
             for row in [head, *rows]]  # fmt: skip
    if any(e.get("runtime_fallback") for e in entries):
        lines.append("* declined at run time by the placed backend; the reference ran it")
    if first_bad is not None:
        node, name, stats = first_bad
        lines.append(
            f"first non-finite value: {name!r} of node {node!r} "
            f"({stats.get('nan', 0)} NaN, {stats.get('inf', 0)} inf)"
        )
    return "\n".join(lines)


def _type_text(part: dict[str, Any]) -> str:
    return f"{part['dtype']}[{','.join(str(d) for d in part['shape'])}]"


def _stats_text(stats: dict[str, Any]) -> list[str]:
    def num(key: str) -> str:
        value = stats.get(key)
        return "-" if value is None else f"{value:.4g}"

    bad = f"{stats['nan']}/{stats['inf']}" if "nan" in stats else "-"
    distinct = "-"
    if "distinct" in stats:
        distinct = f"{stats['distinct']}{'+' if stats.get('distinct_capped') else ''}"
    return [num("min"), num("max"), num("mean"), num("std"), bad, distinct]
