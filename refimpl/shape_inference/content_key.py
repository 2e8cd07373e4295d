"""A graph's content as infer_shapes reads it, as one hashable key.

Two graphs (or one graph before and after an edit) with equal keys infer the same shapes: the key
holds every node's op, domain, inputs, outputs and attributes (subgraphs by their own keys), the
graph's inputs, outputs and opsets, and each initializer's name, dtype and shape with its values
where it is small (<= SMALL elements: the shape tensors, axes and indices inference folds) and its
identity where it is large. A large array's values never reach a shape in the ops we infer, and
the optimiser's passes replace an initializer they change rather than write into it; a holder of
keys keeps `arrays` alive so no identity is reused while the key is held.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Graph

SMALL = 64  # initializers up to this many elements are keyed by value, larger ones by identity


def content_key(graph: Graph) -> tuple[Any, ...]:
    """The key of `graph` (see the module docstring)."""
    nodes = tuple(
        (n.op_type, n.domain, tuple(n.inputs), tuple(n.outputs), _attrs_key(n.attrs))
        for n in graph.nodes
    )
    inputs = tuple(
        (v.name, v.dtype, None if v.shape is None else tuple(v.shape), v.kind) for v in graph.inputs
    )
    inits = tuple((name, _array_key(arr)) for name, arr in graph.initializers.items())
    outputs = tuple(v.name for v in graph.outputs)
    return nodes, inputs, inits, outputs, tuple(sorted(graph.opsets.items()))


def arrays(graph: Graph) -> list[Any]:
    """The arrays whose identity `content_key(graph)` may hold (to keep alive with the key):
    its initializers and tensor attributes, and its subgraphs'."""
    held = list(graph.initializers.values())
    for node in graph.nodes:
        for value in node.attrs.values():
            for item in value if isinstance(value, list) else (value,):
                if isinstance(item, np.ndarray):
                    held.append(item)
                elif isinstance(item, Graph):
                    held += arrays(item)
    return held


def _array_key(arr: Any) -> tuple[Any, ...]:
    arr = np.asarray(arr)
    if arr.size <= SMALL:
        return arr.dtype.str, arr.shape, arr.tobytes()
    return arr.dtype.str, arr.shape, id(arr)


def _attrs_key(attrs: dict[str, Any]) -> tuple[Any, ...]:
    if not attrs:
        return ()
    return tuple((name, _value_key(value)) for name, value in attrs.items())


def _value_key(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_value_key(v) for v in value)
    if isinstance(value, np.ndarray):
        return _array_key(value)
    if isinstance(value, Graph):
        return content_key(value)
    return type(value).__name__, repr(value)
