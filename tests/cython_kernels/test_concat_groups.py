"""Concat groups on the cython backend (refimpl/memory_plan.py): YOLOv8n's C2f writes cv1's output
(whose Split halves are views) and the bottleneck convs straight into the Concat's output; the
Concat kernel copies nothing, segments replay it as nothing, and the results are the
reference's, node by node and in one segment."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels import copy_kernels, segments

import gossamer
from tests.conftest import MODELS_DIR
from tests.refimpl.test_memory_plan_concat_groups import c2f


def _count_assembled(monkeypatch) -> list[tuple[int, bool]]:
    """(output rank, copied nothing) per Concat kernel call."""
    seen: list[tuple[int, bool]] = []
    real = copy_kernels._assembled

    def spy(inputs, axis, y):
        seen.append((y.ndim, real(inputs, axis, y)))
        return seen[-1][1]

    monkeypatch.setattr(copy_kernels, "_assembled", spy)
    return seen


def _close(got: np.ndarray, ref: np.ndarray) -> None:
    """Equal to float rounding (random weights: outputs in the thousands)."""
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6 * float(np.abs(ref).max()))


@pytest.mark.parametrize("kwargs", [{}, {"shortcut": False}, {"slices": True}, {"order": "rab"}])
def test_c2f_concat_copies_nothing_and_matches_the_reference(monkeypatch, threads, kwargs):
    seen = _count_assembled(monkeypatch)
    x = np.random.default_rng(1).standard_normal((1, 8, 6, 6)).astype(np.float32)
    g = c2f(**kwargs)
    ref = gossamer.load(g, backends=[], optimize=0).run(None, {"x": x})[0]
    sess = gossamer.load(g, backends=["cython"], optimize=0, threads=threads)
    for _ in range(4):  # node by node, recorded, then one segment
        _close(sess.run(None, {"x": x})[0], ref)
    assert seen and all(done for _, done in seen)
    program = sess._program
    assert segments.split_reasons(program) == {}
    assert [s is not None for _, _, s, _ in program.schedule] == [True]


def test_the_switch_copies_again(monkeypatch, threads):
    monkeypatch.setenv("GOSSAMER_CONCAT_GROUPS", "0")
    seen = _count_assembled(monkeypatch)
    x = np.random.default_rng(1).standard_normal((1, 8, 6, 6)).astype(np.float32)
    g = c2f()
    ref = gossamer.load(g, backends=[], optimize=0).run(None, {"x": x})[0]
    sess = gossamer.load(g, backends=["cython"], optimize=0, threads=threads)
    for _ in range(2):
        _close(sess.run(None, {"x": x})[0], ref)
    assert seen and not any(done for _, done in seen)


@pytest.mark.models
def test_nudenet_assembles_every_image_concat(monkeypatch):
    path = MODELS_DIR / "nudenet_320n_yolov8n.onnx"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    seen = _count_assembled(monkeypatch)
    x = np.random.default_rng(0).random((1, 3, 320, 320), np.float32)
    observed = gossamer.load(str(path), backends=["cython"], threads=1)
    sess = gossamer.load(str(path), backends=["cython"], threads=1)
    # the first run at a new input shape (the dims are symbolic) runs node by node without an
    # arena, so its Concats copy; the second plans the arena and assembles every image Concat
    first = sess.run(None, {"images": x})[0]
    assert seen and not any(done for _, done in seen)
    seen.clear()
    np.testing.assert_array_equal(sess.run(None, {"images": x})[0], first)  # in the arena
    assert all(done for rank, done in seen if rank == 4) and len(seen) >= 16
    for _ in range(3):  # recorded, then segments
        np.testing.assert_array_equal(sess.run(None, {"images": x})[0], first)

    class Count:
        nodes = 0

        def before_node(self, node, inputs):
            pass

        def after_node(self, node, inputs, outputs):
            Count.nodes += 1

    # observers run node by node without the arena: the same bits
    got = observed.run(None, {"images": x}, observers=[Count()])[0]
    np.testing.assert_array_equal(got, first)
    assert Count.nodes > 100
