"""A channel Concat whose inputs the memory plan put inside its output (Concat parts,
refimpl/memory_plan.py): the convs write the concatenated output, the Concat kernel copies
nothing, segments replay it as nothing, and the results are the reference's."""

from __future__ import annotations

import numpy as np
from gossamer.cython_kernels import copy_kernels, segments

import gossamer
from tests.refimpl.test_memory_plan_concat import fire


def test_convs_write_the_concat_output_and_results_match_the_reference(monkeypatch, threads):
    assembled: list[bool] = []
    real = copy_kernels._assembled
    monkeypatch.setattr(copy_kernels, "_assembled", lambda *a: assembled.append(real(*a)) or
                        assembled[-1])  # fmt: skip
    x = np.random.default_rng(1).standard_normal((1, 8, 6, 6)).astype(np.float32)
    g = fire()
    ref = gossamer.load(g, backends=[], optimize=0).run(None, {"x": x})[0]
    sess = gossamer.load(g, backends=["cython"], optimize=0, threads=threads)
    for _ in range(4):  # node by node, recorded, then one segment
        np.testing.assert_allclose(sess.run(None, {"x": x})[0], ref, rtol=1e-5, atol=1e-5)
    assert assembled and all(assembled)
    program = sess._program
    assert segments.split_reasons(program) == {}
    assert [(a, b, s is not None) for a, b, s, _ in program.schedule] == [(0, 4, True)]


def test_a_batch_concat_still_copies(threads):
    x = np.random.default_rng(2).standard_normal((2, 8, 6, 6)).astype(np.float32)
    g = fire(batch=2)
    ref = gossamer.load(g, backends=[], optimize=0).run(None, {"x": x})[0]
    sess = gossamer.load(g, backends=["cython"], optimize=0, threads=threads)
    for _ in range(3):
        np.testing.assert_allclose(sess.run(None, {"x": x})[0], ref, rtol=1e-5, atol=1e-5)
