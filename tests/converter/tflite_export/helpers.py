"""Shared runners for the TFLite export tests: LiteRT on an exported flatbuffer (its reference
kernels: the bit-exact oracle of TFLite's integer semantics) and Gossamer on a Graph."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph

from gossamer.session import Session

litert = pytest.importorskip("ai_edge_litert.interpreter")


def run_litert(model: bytes, feeds: dict[str, np.ndarray], reference: bool = True) -> dict:
    """LiteRT's outputs by tensor name, fed by tensor name."""
    kind = litert.OpResolverType.BUILTIN_REF if reference else litert.OpResolverType.AUTO
    it = litert.Interpreter(model_content=model, experimental_op_resolver_type=kind)
    it.allocate_tensors()
    details = {d["name"]: d for d in it.get_input_details()}
    assert set(details) == set(feeds), (sorted(details), sorted(feeds))
    for name, value in feeds.items():
        it.set_tensor(details[name]["index"], value)
    it.invoke()
    return {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}


def run_gossamer(graph: Graph, feeds: dict[str, np.ndarray]) -> dict:
    """Every graph output by name, on the reference backend; kept state as plain inputs and
    outputs (as export_tflite writes it)."""
    session = Session(replace(graph, state=[]), backends=["reference"])
    names = [v.name for v in graph.outputs]
    return dict(zip(names, session.run(names, feeds)))


def random_feeds(graph: Graph, rng: np.random.Generator, low: float = -1.0,
                 high: float = 1.0) -> dict[str, np.ndarray]:  # fmt: skip
    feeds = {}
    for v in graph.inputs:
        if v.name in graph.initializers:
            continue
        shape = [d if isinstance(d, int) else 1 for d in v.shape]
        if v.dtype in ("int8", "uint8", "int16"):
            info = np.iinfo(v.dtype)
            feeds[v.name] = rng.integers(info.min, info.max + 1, size=shape).astype(v.dtype)
        else:
            feeds[v.name] = rng.uniform(low, high, size=shape).astype(v.dtype or "float32")
    return feeds
