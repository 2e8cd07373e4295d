"""Execution: every compiled partition is bit-exact with LiteRT's reference kernels and with
TFLite Micro (the runtime beside an Ethos-U) running the same exported partition file."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.converter.tflite.import_graph import graph_from_tflite

import gossamer

from .models import split_cnn
from .partitions import compiled_partitions, state_feeds

litert = pytest.importorskip("ai_edge_litert.interpreter")

ACCELERATORS = ["ethos-u55-128", "ethos-u65-256", "ethos-u85-256"]


def run_litert(model: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    it = litert.Interpreter(
        model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
    )
    it.allocate_tensors()
    for detail, value in zip(it.get_input_details(), feeds):
        it.set_tensor(detail["index"], value)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def run_tflm(model: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")
    it = runtime.Interpreter.from_bytes(model)
    for i, value in enumerate(feeds):
        it.set_input(value, i)
    it.invoke()
    return [it.get_output(i) for i in range(_output_count(it))]


def _output_count(it) -> int:
    n = 0
    while True:
        try:
            it.get_output_details(n)
        except IndexError:  # TFLM's binding has no output count: probe until it fails
            return n
        n += 1


def check_partitions(graph, feeds, tflite_graph: bool = True) -> int:
    """Checks every partition against LiteRT and TFLite Micro on its exported file; for a graph
    imported from TFLite, against the reference run of the whole graph too."""
    count = 0
    for part in compiled_partitions(graph, feeds):
        ours = part.compiled(*part.inputs)
        if tflite_graph:  # the graph's own semantics are TFLite's: the reference agrees
            for got, want in zip(ours, part.expected):
                np.testing.assert_array_equal(got, want)
        for runner in (run_litert, run_tflm):
            theirs = runner(part.tflite, part.inputs)
            assert len(theirs) == len(ours), runner.__name__
            for got, want in zip(ours, theirs):
                assert got.dtype == want.dtype and got.shape == want.shape, runner.__name__
                np.testing.assert_array_equal(got, want, err_msg=f"{runner.__name__}")
        count += 1
    return count


@pytest.mark.parametrize("accelerator", ACCELERATORS)
def test_every_partition_of_the_split_cnn_is_bit_exact_with_litert_and_tflm(
    monkeypatch, accelerator
):
    monkeypatch.setenv("GOSSAMER_ETHOSU_ACCELERATOR", accelerator)
    graph = graph_from_tflite(split_cnn())
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.uniform(-1.5, 1.5, (1, 16, 16, 3)).astype(np.float32)
        assert check_partitions(graph, {graph.inputs[0].name: x}) == 2


@pytest.mark.parametrize("accelerator", ACCELERATORS)
def test_every_partition_of_the_shared_model_is_bit_exact(mww, monkeypatch, accelerator):
    monkeypatch.setenv("GOSSAMER_ETHOSU_ACCELERATOR", accelerator)
    graph = graph_from_tflite(mww)
    rng = np.random.default_rng(2)
    feeds = state_feeds(graph)
    for _ in range(3):
        feeds[graph.inputs[0].name] = rng.integers(-128, 128, (1, 3, 40)).astype(np.int8)
        assert check_partitions(graph, feeds) >= 1


@pytest.mark.usefixtures("ethos_u")
def test_whole_model_on_ethos_u_equals_litert_on_the_original_file():
    model = split_cnn()
    sess = gossamer.load(model, backends=["ethos-u"])
    assert sess.placement.summary()["ethos-u"] >= 6
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = rng.uniform(-1.5, 1.5, (1, 16, 16, 3)).astype(np.float32)
        (ours,) = sess.run(None, {sess.inputs[0].name: x})
        (theirs,) = run_litert(model, [x])
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.usefixtures("ethos_u")
def test_streaming_model_on_ethos_u_keeps_its_state_bit_exact(mww):
    npu = gossamer.load(mww, backends=["ethos-u"])
    ref = gossamer.load(mww, backends=[])
    assert npu.placement.summary() == {"ethos-u": len(npu.graph.nodes)}
    rng = np.random.default_rng(4)
    for _ in range(8):
        x = rng.integers(-128, 128, (1, 3, 40)).astype(np.int8)
        got, want = (
            npu.run(None, {"serving_default_input_audio:0": x}),
            ref.run(None, {"serving_default_input_audio:0": x}),
        )
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
