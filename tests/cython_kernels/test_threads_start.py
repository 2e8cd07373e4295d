"""Starting the OpenMP team off the caller's core (src/threads.c) leaves no thread pinned."""

from __future__ import annotations

import os

import numpy as np
from gossamer.cython_kernels._native import ext


def test_a_team_of_one_starts_nothing():
    assert ext().threads_start(1) == 0


def test_starting_a_team_keeps_the_callers_affinity_and_the_kernels_correct():
    before = os.sched_getaffinity(0)
    moved = ext().threads_start(2)
    assert 0 <= moved <= 1
    assert os.sched_getaffinity(0) == before
    x = np.linspace(-1, 1, 1 << 16).astype(np.float32)
    y = np.empty_like(x)
    ext().unary(0, x, y, 0.0, 0.0, 2)  # Relu on the started team
    np.testing.assert_array_equal(y, np.maximum(x, 0))
