"""mww_okay_nabu_int8 (streaming int8 wake word: tflite::Conv2D, DepthwiseConv2D, FullyConnected)
on cython: its convolutions and fully-connected layers run there, and every run of a stream equals
the reference's bit for bit (state carried between runs)."""

from __future__ import annotations

import numpy as np
import pytest

import gossamer
from tests.conftest import MODELS_DIR

pytest.importorskip("tflite")
from gossamer.converter.tflite.import_graph import graph_from_tflite  # noqa: E402
from gossamer.refimpl.ir import Value  # noqa: E402

MODEL = MODELS_DIR / "mww_okay_nabu_int8.tflite"
HOT = {"Conv2D", "DepthwiseConv2D", "FullyConnected"}


@pytest.fixture(scope="module")
def model_path() -> str:
    if not MODEL.exists():
        pytest.skip(f"{MODEL} is not cached")
    return str(MODEL)


def _every_tensor(path: str):  # noqa: ANN202
    """The model with every node output made a graph output (all compared, logits included)."""
    graph = graph_from_tflite(path)
    known = {v.name for v in graph.outputs}
    produced = sorted({o for n in graph.nodes for o in n.outputs if o} - known)
    graph.outputs += [Value(name, None, None) for name in produced]
    return graph


@pytest.mark.parametrize("optimize", [0, 3])
def test_mww_streams_equal_the_reference_on_cython(level, model_path, optimize):
    ours = gossamer.load(_every_tensor(model_path), backends=["cython"], threads=1,
                         optimize=optimize)  # fmt: skip
    ref = gossamer.load(_every_tensor(model_path), backends=[], optimize=optimize)
    on_cython = {n.op_type for n in ours.graph.nodes
                 if ours.placement.backend_of.get(n.name) == "cython"}  # fmt: skip
    assert on_cython >= HOT, ours.placement.declined
    names = [v.name for v in ours.get_outputs()]
    assert len(names) > 40 and names == [v.name for v in ref.get_outputs()]
    logits = [n.outputs[0] for n in ours.graph.nodes if n.op_type == "FullyConnected"]
    x = ours.get_inputs()[0]
    rng = np.random.default_rng(7)
    seen = set()
    for run in range(24):
        low = int(rng.integers(-128, 60))
        frame = rng.integers(low, low + 60, size=(1, 3, 40)).astype(np.int8)
        got = dict(zip(names, ours.run(names, {x.name: frame})))
        want = dict(zip(names, ref.run(names, {x.name: frame})))
        for name in names:
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{name}, run {run}")
        seen.update(int(got[name].ravel()[0]) for name in logits if name in got)
    assert not ours.runtime_fallbacks, ours.runtime_fallbacks
    assert len(seen) > 3  # the stream moves the detector's logit
