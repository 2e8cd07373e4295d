"""Releasing a mapped .gsm weight's pages (refimpl/model_format/mapped_pages.py): its whole pages
leave the process's resident set, the values read the same afterwards, a range is released once,
and arrays that are not views of a mapping are left alone."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.model_format.mapped_pages import release

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/smaps")
PAGE = 4096


def resident_kib(array: np.ndarray) -> int:
    """Rss of the mapping that holds `array`'s first byte (/proc/self/smaps), in KiB."""
    address = array.ctypes.data
    rss = None
    inside = False
    for line in open("/proc/self/smaps"):
        head = line.split()[0]
        if "-" in head and not head.endswith(":"):
            lo, hi = (int(p, 16) for p in head.split("-"))
            inside = lo <= address < hi
        elif inside and head == "Rss:":
            rss = int(line.split()[1])
    assert rss is not None
    return rss


def mapped_weights(tmp_path) -> tuple[Graph, np.ndarray]:  # noqa: ANN001
    """A .gsm with a 1 MB weight (and a small one), loaded from its path: mapped."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((256, 1024)).astype(np.float32)
    graph = Graph(
        nodes=[
            Node("MatMul", ["x", "w"], ["m"], name="mm"),
            Node("Add", ["m", "b"], ["y"], name="add"),
        ],
        inputs=[Value("x", "float32", (1, 256))],
        outputs=[Value("y", "float32", (1, 1024))],
        initializers={"w": w, "b": rng.standard_normal(1024).astype(np.float32)},
    )
    path = tmp_path / "m.gsm"
    mf.save_gsm(graph, path)
    return mf.load_gsm(path), w


def test_a_read_weight_leaves_the_resident_set_and_reads_the_same(tmp_path) -> None:  # noqa: ANN001
    loaded, w = mapped_weights(tmp_path)
    weight = loaded.initializers["w"]
    assert float(weight.sum()) == pytest.approx(float(w.sum()), rel=1e-6)  # all pages read
    before = resident_kib(weight)
    assert before >= weight.nbytes // 1024
    freed = release(weight)
    assert weight.nbytes - 2 * PAGE <= freed <= weight.nbytes and freed % PAGE == 0
    assert resident_kib(weight) <= before - freed // 1024
    np.testing.assert_array_equal(weight, w)  # read again from the file
    assert release(weight) == 0  # once per range: a weight read every run is not dropped again


def test_arrays_that_are_not_mapped_are_left_alone(tmp_path) -> None:  # noqa: ANN001
    loaded, w = mapped_weights(tmp_path)
    assert release(w) == 0  # the array in memory
    assert release(loaded.initializers["b"][::2]) == 0  # not contiguous
    assert release(loaded.initializers["b"][:10]) == 0  # no whole page inside
    in_memory = mf.load_gsm(mf.dump_gsm(loaded))  # a buffer, not a mapping
    assert release(in_memory.initializers["w"]) == 0


def test_without_madvise_nothing_is_released(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from gossamer.refimpl.model_format import mapped_pages

    loaded, w = mapped_weights(tmp_path)
    monkeypatch.setattr(mapped_pages, "_ADVICE", None)
    assert release(loaded.initializers["w"]) == 0
    np.testing.assert_array_equal(loaded.initializers["w"], w)
