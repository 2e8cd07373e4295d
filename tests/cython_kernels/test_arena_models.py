"""Arena execution on the cython backend: a benchmark model allocates nothing per run but its
outputs, and stays correct run after run."""

from __future__ import annotations

import tracemalloc

import numpy as np

import gossamer
from gossamer.builtin_models import mobilenet_v2


def test_mobilenet_v2_allocates_only_its_output_after_the_first_run():
    model = mobilenet_v2().SerializeToString()
    session = gossamer.load(model, backends=["cython"], threads=2, optimize=3)
    arena = session._program.arena
    assert arena is not None and arena.nbytes > 4 << 20  # MiB of planned intermediates
    name = session.get_inputs()[0].name
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((1, 3, 224, 224)).astype(np.float32) for _ in range(2)]
    first = [session.run(None, {name: x})[0] for x in xs]
    tracemalloc.start()
    try:
        again = session.run(None, {name: xs[0]})[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 << 10, f"{peak} bytes allocated during a run"  # the output is 4 KB
    np.testing.assert_array_equal(again, first[0])
    reference = gossamer.load(model, backends=["reference"], optimize=3)
    for x, got in zip(xs, first):
        want = reference.run(None, {name: x})[0]
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
