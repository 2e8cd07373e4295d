"""Runnable repro snippets: a self-contained Python script for one failing example.

Small numpy-native arrays are written as `np.array` literals, larger ones (and ml_dtypes types
such as bfloat16) as base64 raw bytes with dtype and shape. The script builds the one-node graph,
runs it on the reference and on the backend, and prints max abs, max rel, mismatched counts, the
first mismatching positions, and any input the backend wrote into.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from ..refimpl.dtypes import name_of
from ..refimpl.ir import Graph

LITERAL_LIMIT = 64

_HEADER = '''"""Conformance repro: {title}"""
import base64

import numpy as np

import gossamer
from gossamer.refimpl.dtypes import to_numpy
from gossamer.refimpl.ir import Graph, Node, Value

nan, inf = float("nan"), float("inf")


def raw(data, dtype, shape):
    return np.frombuffer(base64.b64decode(data), dtype=to_numpy(dtype)).reshape(shape).copy()

'''

_FOOTER = """
expected = gossamer.load(graph, backends=[]).run(None, dict(feeds))
session = gossamer.load(graph, backends=[{backend!r}])
print("placement:", session.placement.backend_of)
given = {{name: value.copy() for name, value in feeds.items()}}
actual = session.run(None, given)
for name, value in feeds.items():
    if value.tobytes() != given[name].tobytes():
        changed = int((value != given[name]).sum())
        print(f"input {{name}} was modified by the run: {{changed}} element(s) changed (mutated)")
for k, (e, a) in enumerate(zip(expected, actual)):
    if not isinstance(e, np.ndarray) or not isinstance(a, np.ndarray):
        print(f"output {{k}}: expected {{e!r}}")
        print(f"  actual {{a!r}}")
        continue
    print(f"output {{k}}: expected {{e.dtype}}{{list(e.shape)}},",
          f"actual {{a.dtype}}{{list(a.shape)}}")
    if e.shape != a.shape or e.dtype != a.dtype or e.dtype == object:
        continue
    e64, a64 = e.astype(np.float64), a.astype(np.float64)
    ok = (e64 == a64) | (np.isnan(e64) & np.isnan(a64))
    with np.errstate(all="ignore"):
        diff = np.where(ok, 0.0, np.abs(a64 - e64))
        rel = diff / np.maximum(np.abs(e64), np.finfo(np.float64).tiny)
    print(f"  max abs {{np.nanmax(diff, initial=0):.3g}},",
          f"max rel {{np.nanmax(rel, initial=0):.3g}},"
          f" mismatched (not bitwise equal) {{int((~ok).sum())}}/{{e.size}}")
    for flat in np.flatnonzero(~ok)[:5]:  # the first mismatches, by position
        where = tuple(int(i) for i in np.unravel_index(flat, e.shape))
        print(f"  at {{list(where)}}: expected {{e[where]!r}}, actual {{a[where]!r}}")
    print("  expected:", np.array2string(e, threshold=50))
    print("  actual:  ", np.array2string(a, threshold=50))
"""


def array_source(value: np.ndarray) -> str:
    """Python source that recreates `value` exactly."""
    dtype = name_of(value.dtype)
    if value.dtype.kind in "biuf" and value.dtype.name == dtype and value.size <= LITERAL_LIMIT:
        body = repr(value.tolist())
        return f"np.array({body}, dtype=np.{dtype})"
    if value.dtype == object:
        return f"np.array({value.tolist()!r}, dtype=object)"
    data = base64.b64encode(np.ascontiguousarray(value).tobytes()).decode()
    return f"raw({data!r}, {dtype!r}, {tuple(value.shape)!r})"


def value_source(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return array_source(value)
    if isinstance(value, np.generic):
        return array_source(np.asarray(value))
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
        return "[" + ", ".join(value_source(v) for v in value) + "]"
    return repr(value)


def repro_script(
    graph: Graph, feeds: dict[str, np.ndarray], backend: str, title: str, details: str = ""
) -> str:
    """A standalone script reproducing one example of `graph` on `backend`."""
    lines = [_HEADER.format(title=title.replace('"', "'"))]
    if details:
        lines += [f"# {line}" for line in details.splitlines()] + [""]
    lines.append("feeds = {")
    lines += [f"    {name!r}: {array_source(v)}," for name, v in feeds.items()]
    lines.append("}")
    lines.append("initializers = {")
    lines += [f"    {name!r}: {array_source(v)}," for name, v in graph.initializers.items()]
    lines.append("}")
    lines.append("nodes = [")
    for node in graph.nodes:
        attrs = "{" + ", ".join(f"{k!r}: {value_source(v)}" for k, v in node.attrs.items()) + "}"
        lines.append(
            f"    Node({node.op_type!r}, {node.inputs!r}, {node.outputs!r}, {attrs}, "
            f"name={node.name!r}, domain={node.domain!r}),"
        )
    lines.append("]")
    inputs = ", ".join(f"Value({v.name!r}, {v.dtype!r}, {v.shape!r})" for v in graph.inputs)
    outputs = ", ".join(f"Value({v.name!r})" for v in graph.outputs)
    lines.append(
        f"graph = Graph(nodes=nodes, inputs=[{inputs}], outputs=[{outputs}], "
        f"initializers=initializers, name={graph.name!r}, opsets={graph.opsets!r})"
    )
    lines.append(_FOOTER.format(backend=backend))
    return "\n".join(lines)
