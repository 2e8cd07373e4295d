"""mww_okay_nabu_int8 (a streaming int8 wake-word model: CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, LOGISTIC, QUANTIZE, and state in resource variables) against LiteRT over
consecutive runs: every tensor bit-exact against the reference kernels, the output within one unit
of the default kernels."""

import numpy as np
import pytest

pytest.importorskip("tflite")

from gossamer.converter.tflite.import_graph import graph_from_tflite  # noqa: E402
from gossamer.refimpl.ir import Value  # noqa: E402

import gossamer  # noqa: E402
from tests.conftest import MODELS_DIR  # noqa: E402

litert = pytest.importorskip("ai_edge_litert.interpreter")
MODEL = MODELS_DIR / "mww_okay_nabu_int8.tflite"
RUNS = 30


@pytest.fixture(scope="module")
def model_path():
    if not MODEL.exists():
        pytest.skip(f"{MODEL} is not cached")
    return str(MODEL)


def _frames(seed: int) -> list[np.ndarray]:
    """Random feature frames, in a band that moves every few frames."""
    rng = np.random.default_rng(seed)
    lows = [int(v) for v in rng.integers(-128, 60, size=RUNS // 3 + 1).repeat(3)]
    return [rng.integers(lo, lo + 60, size=(1, 3, 40)).astype(np.int8) for lo in lows[:RUNS]]


def _interpreter(path: str, kernels: str, preserve: bool = False):
    kind = getattr(litert.OpResolverType, kernels)
    it = litert.Interpreter(
        model_path=path,
        experimental_op_resolver_type=kind,
        experimental_preserve_all_tensors=preserve,
    )
    it.allocate_tensors()
    return it


@pytest.mark.parametrize("optimize", [0, 3])
def test_every_tensor_is_bit_exact_against_the_reference_kernels_over_runs(model_path, optimize):
    it = _interpreter(model_path, "BUILTIN_REF", preserve=True)
    graph = graph_from_tflite(model_path)
    tensors = {d["name"]: d["index"] for d in it.get_tensor_details()}
    produced = {o for n in graph.nodes for o in n.outputs} & set(tensors)
    known = {v.name for v in graph.outputs}
    graph.outputs += [Value(name, None, None) for name in sorted(produced - known)]
    session = gossamer.load(graph, optimize=optimize)
    wanted = [v.name for v in session.get_outputs() if v.name in tensors]
    assert len(wanted) > 40
    x = it.get_input_details()[0]
    logits = {n.outputs[0] for n in graph.nodes if n.op_type == "FullyConnected"}
    seen = set()
    for frame in _frames(0):
        it.set_tensor(x["index"], frame)
        it.invoke()
        ours = dict(zip(wanted, session.run(wanted, {x["name"]: frame})))
        for name, value in ours.items():
            assert np.array_equal(value, it.get_tensor(tensors[name])), name
        seen.update(int(ours[name].ravel()[0]) for name in logits)
    assert len(seen) > 5  # the detector's logit moves: the runs exercise more than one state


def test_output_stays_within_one_unit_of_litert_default_kernels_over_runs(model_path):
    it = _interpreter(model_path, "AUTO")
    x, y = it.get_input_details()[0], it.get_output_details()[0]
    session = gossamer.load(model_path)
    for frame in _frames(1):
        it.set_tensor(x["index"], frame)
        it.invoke()
        (ours,) = session.run(None, {x["name"]: frame})
        theirs = it.get_tensor(y["index"])
        assert ours.dtype == theirs.dtype == np.uint8
        assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
