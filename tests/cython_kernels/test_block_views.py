"""A channel Split (or a Slice) whose outputs the memory plan made views of its input
(refimpl/memory_plan.py): the kernel copies nothing, segments replay it as nothing, and the
results are the reference's."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels import segments

import gossamer
from tests.refimpl.test_memory_plan_blocks import c2f, qkv


@pytest.mark.parametrize("build, steps", [(c2f, 4), (qkv, 6)])
def test_blocks_are_views_and_results_match_the_reference(monkeypatch, threads, build, steps):
    x = np.random.default_rng(1).standard_normal((1, 8, 6, 6)).astype(np.float32)
    g = build()
    ref = gossamer.load(g, backends=[], optimize=0).run(None, {"x": x})[0]
    sess = gossamer.load(g, backends=["cython"], optimize=0, threads=threads)
    from gossamer.cython_kernels import copy_kernels

    copies: list[int] = []  # the Split kernel's copy calls (the extension's copy_into)
    ext = copy_kernels.ext()
    counting = type("Counting", (), {"__getattr__": lambda self, n: getattr(ext, n),
                                     "copy_into": lambda self, *a: copies.append(1)
                                     or ext.copy_into(*a)})()  # fmt: skip
    monkeypatch.setattr(copy_kernels, "ext", lambda: counting)
    for _ in range(4):  # node by node, recorded, then one segment
        np.testing.assert_allclose(sess.run(None, {"x": x})[0], ref, rtol=1e-5, atol=1e-5)
    assert copies == []  # the Split / Slices never copied
    program = sess._program
    assert segments.split_reasons(program) == {}
    assert [(a, b, s is not None) for a, b, s, _ in program.schedule] == [(0, steps, True)]


def test_a_batch_split_still_copies_and_matches(threads):
    x = np.random.default_rng(2).standard_normal((2, 8, 6, 6)).astype(np.float32)
    g = c2f(batch=2)
    ref = gossamer.load(g, backends=[], optimize=0).run(None, {"x": x})[0]
    sess = gossamer.load(g, backends=["cython"], optimize=0, threads=threads)
    for _ in range(3):
        np.testing.assert_allclose(sess.run(None, {"x": x})[0], ref, rtol=1e-5, atol=1e-5)


def test_a_split_of_a_graph_input_hands_back_copies():
    """Without an arena plan for them (outputs of the graph), the pieces are not views of the
    caller's array."""
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("Split", ["x"], ["a", "b"], axis=1, num_outputs=2)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 2])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2, 2]) for n in "ab"],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    x = np.arange(8, dtype=np.float32).reshape(1, 4, 2)
    a, b = gossamer.load(model, backends=["cython"], optimize=0).run(None, {"x": x})
    assert not np.shares_memory(a, x) and not np.shares_memory(b, x)
    np.testing.assert_array_equal(np.concatenate([a, b], axis=1), x)
