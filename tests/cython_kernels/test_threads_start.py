"""Starting the thread pool's workers ahead of the first kernel (src/threads.c) pins nothing."""

from __future__ import annotations

import os

import numpy as np
from gossamer.cython_kernels._native import ext


def test_one_thread_starts_no_worker():
    assert ext().threads_start(1) == 0


def test_starting_workers_keeps_the_callers_affinity_and_the_kernels_correct():
    before = os.sched_getaffinity(0)
    started = ext().threads_start(2)
    assert 0 <= started <= 1
    assert ext().pool_workers() >= 1
    assert ext().threads_start(2) == 0  # started once
    assert os.sched_getaffinity(0) == before
    x = np.linspace(-1, 1, 1 << 16).astype(np.float32)
    y = np.empty_like(x)
    ext().unary(0, x, y, 0.0, 0.0, 2)  # Relu on the started pool
    np.testing.assert_array_equal(y, np.maximum(x, 0))
