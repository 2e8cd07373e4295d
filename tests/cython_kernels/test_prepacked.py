"""Pre-packed weights: the kernels take the forms a .gsm stores when the key matches exactly and
pack again otherwise (another SIMD level, a wrong shape), never giving a wrong result."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pytest
from gossamer.cython_kernels import set_simd_level, simd_level
from gossamer.cython_kernels.prepacked import pack_key
from gossamer.plugins import prepacked
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.model_format.prepacked import attach

from gossamer import load
from gossamer.session import Session


def chain() -> Graph:
    """A direct stem conv, a Winograd conv, a two-group GEMM conv, MatMul and Gemm (transB,
    alpha): every float packing point."""
    rng = np.random.default_rng(0)

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))).astype(np.float32)

    nodes = [
        Node("Conv", ["x", "ws"], ["a"], {"kernel_shape": [3, 3]}, name="stem"),
        Node("Conv", ["a", "ww"], ["b"], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
             name="wino"),
        Node("Conv", ["b", "wg"], ["c"], {"kernel_shape": [3, 3], "strides": [2, 2],
             "group": 2}, name="grouped"),
        Node("Flatten", ["c"], ["f"], name="flat"),
        Node("MatMul", ["f", "wm"], ["m"], name="mm"),
        Node("Gemm", ["m", "wt"], ["y"], {"transB": 1, "alpha": 0.5}, name="gemm"),
    ]  # fmt: skip
    weights = {"ws": w(32, 3, 3, 3), "ww": w(16, 32, 3, 3), "wg": w(16, 8, 3, 3),
               "wm": w(16 * 15 * 15, 24), "wt": w(6, 24)}  # fmt: skip
    return Graph(nodes=nodes, inputs=[Value("x", "float32", (1, 3, 34, 34))],
                 outputs=[Value("y", "float32", (1, 6))], initializers=weights)  # fmt: skip


FEEDS = {"x": np.random.default_rng(1).random((1, 3, 34, 34), dtype=np.float32)}


@pytest.fixture
def native_level() -> Iterator[str]:
    """The best SIMD level here, restored after the test."""
    before = simd_level()
    yield set_simd_level("auto")
    set_simd_level(before)


def packed_file() -> tuple[bytes, int, np.ndarray]:
    """The chain's .gsm with the forms one cython run packed, how many, and that run's output."""
    graph = chain()
    with prepacked.recording() as keys:
        session = Session(graph, backends=["cython"], threads=1)
        (y,) = session.run(None, FEEDS)
    assert set(session.placement.backend_of.values()) == {"cython"}
    return mf.dump_gsm(graph), len(keys), y


def counted_run(source: bytes | Graph, **kwargs: object) -> tuple[np.ndarray, dict[str, int]]:
    before = dict(prepacked.stats)
    session = load(source, backends=["cython"], threads=1, **kwargs)  # type: ignore[arg-type]
    (y,) = session.run(None, FEEDS)
    return y, {k: prepacked.stats[k] - before.get(k, 0) for k in ("reused", "packed")}


def reference() -> np.ndarray:
    return load(chain(), backends=[], optimize=0).run(None, FEEDS)[0]


def test_a_packed_file_is_used_without_packing_and_gives_the_same_result(native_level) -> None:  # noqa: ANN001
    data, count, y_packed_here = packed_file()
    assert count >= 5  # direct or GEMM stem, Winograd, grouped GEMM, MatMul, Gemm
    kinds = {e["key"].split("/")[1] for e in _document(data)["prepacked"]}
    assert {"conv.winograd", "conv.pack_a", "matmul.pack_b", "gemm.pack_b"} <= kinds
    assert all(f"simd={native_level}" in e["key"] for e in _document(data)["prepacked"])
    y, counts = counted_run(data, optimize=0)
    assert counts == {"reused": count, "packed": 0}
    np.testing.assert_array_equal(y, y_packed_here)  # the very same packed data ran
    np.testing.assert_allclose(y, reference(), rtol=1e-4, atol=1e-4)


def test_the_default_load_path_finds_the_forms_after_optimising(tmp_path, native_level) -> None:  # noqa: ANN001
    data, count, _ = packed_file()
    path = tmp_path / "chain.gsm"
    path.write_bytes(data)
    y, counts = counted_run(path)  # -O3: the optimiser keeps the unchanged weight arrays
    assert counts == {"reused": count, "packed": 0}
    np.testing.assert_allclose(y, reference(), rtol=1e-4, atol=1e-4)


def test_another_simd_level_repacks_and_stays_correct(native_level) -> None:  # noqa: ANN001
    if native_level == "generic":
        pytest.skip("this CPU has only the generic kernels")
    data, _, _ = packed_file()
    set_simd_level("generic")
    y, counts = counted_run(data, optimize=0)
    assert counts["reused"] == 0 and counts["packed"] >= 5
    np.testing.assert_allclose(y, reference(), rtol=1e-4, atol=1e-4)


def test_a_form_of_the_wrong_shape_is_packed_again(native_level, caplog) -> None:  # noqa: ANN001
    graph = chain()
    wm = graph.initializers["wm"]
    k, n = wm.shape
    attach(wm, pack_key("matmul.pack_b", {"k": k, "n": n}), np.zeros(7, np.float32))
    loaded = mf.load_gsm(mf.dump_gsm(graph))
    with caplog.at_level(logging.WARNING):
        y, counts = counted_run(loaded, optimize=0)
    assert counts["reused"] == 0 and "packing it again" in caplog.text
    np.testing.assert_allclose(y, reference(), rtol=1e-4, atol=1e-4)


def test_an_exact_key_is_trusted_so_the_stored_form_is_what_runs(native_level) -> None:  # noqa: ANN001
    """The key, not a re-check of the data, decides: a form packed from other weights under the
    right key runs (which is why keys name everything the layout depends on)."""
    graph = chain()
    wt = graph.initializers["wt"]
    with prepacked.recording():
        Session(graph, backends=["cython"], threads=1)  # Gemm packs at load
    key = next(k for k in prepacked.forms(wt) if "/gemm.pack_b/" in k)
    doubled = chain()
    doubled.initializers["wt"] = wt * 2
    with prepacked.recording():
        Session(doubled, backends=["cython"], threads=1)
    attach(wt, key, prepacked.forms(doubled.initializers["wt"])[key])
    (y,) = Session(graph, backends=["cython"], threads=1).run(None, FEEDS)
    np.testing.assert_allclose(y, 2 * reference(), rtol=1e-4, atol=1e-4)


def test_without_recording_nothing_is_attached(native_level) -> None:  # noqa: ANN001
    graph = chain()
    Session(graph, backends=["cython"], threads=1).run(None, FEEDS)
    assert all(prepacked.forms(w) == {} for w in graph.initializers.values())
    assert "prepacked" not in _document(mf.dump_gsm(graph))


def _document(data: bytes) -> dict:
    import json

    header = mf.HEADER.unpack(data[: mf.HEADER.size])
    return json.loads(data[header[4] : header[4] + header[5]])


def _rnn(op: str, gates: int) -> tuple[Graph, dict[str, np.ndarray]]:
    rng = np.random.default_rng(2)
    h, i = 16, 8
    weights = {
        "W": (rng.standard_normal((1, gates * h, i)) / 4).astype(np.float32),
        "R": (rng.standard_normal((1, gates * h, h)) / 4).astype(np.float32),
        "B": (rng.standard_normal((1, 2 * gates * h)) / 4).astype(np.float32),
    }
    node = Node(op, ["X", "W", "R", "B"], ["Y"], {"hidden_size": h}, name="rnn")
    graph = Graph(nodes=[node], inputs=[Value("X", "float32", (5, 1, i))],
                  outputs=[Value("Y", "float32", (5, 1, 1, h))], initializers=weights)  # fmt: skip
    return graph, {"X": rng.standard_normal((5, 1, i)).astype(np.float32)}


def _matmul_integer() -> tuple[Graph, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    weights = {"B": rng.integers(-128, 128, (32, 16)).astype(np.int8),
               "az": np.array(3, np.uint8), "bz": np.array(-2, np.int8)}  # fmt: skip
    node = Node("MatMulInteger", ["A", "B", "az", "bz"], ["Y"], name="mmi")
    graph = Graph(nodes=[node], inputs=[Value("A", "uint8", (4, 32))],
                  outputs=[Value("Y", "int32", (4, 16))], initializers=weights,
                  opsets={"": 17})  # fmt: skip
    return graph, {"A": rng.integers(0, 256, (4, 32)).astype(np.uint8)}


def _conv_integer() -> tuple[Graph, dict[str, np.ndarray]]:
    rng = np.random.default_rng(4)
    weights = {"w": rng.integers(-128, 128, (8, 4, 3, 3)).astype(np.int8),
               "xz": np.array(5, np.uint8), "wz": np.array(1, np.int8)}  # fmt: skip
    node = Node("ConvInteger", ["x", "w", "xz", "wz"], ["Y"], {"group": 2}, name="ci")
    graph = Graph(nodes=[node], inputs=[Value("x", "uint8", (1, 8, 6, 6))],
                  outputs=[Value("Y", "int32", (1, 8, 4, 4))], initializers=weights,
                  opsets={"": 17})  # fmt: skip
    return graph, {"x": rng.integers(0, 256, (1, 8, 6, 6)).astype(np.uint8)}


MODELS = {
    "lstm": lambda: _rnn("LSTM", 4),
    "gru": lambda: _rnn("GRU", 3),
    "matmul_integer": _matmul_integer,
    "conv_integer": _conv_integer,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_rnn_and_int8_forms_round_trip_and_repack_at_another_level(name, native_level) -> None:  # noqa: ANN001
    graph, feeds = MODELS[name]()
    with prepacked.recording() as keys:
        session = Session(graph, backends=["cython"], threads=1)
        (want,) = session.run(None, feeds)
    assert set(session.placement.backend_of.values()) == {"cython"}
    assert keys, "nothing was packed"
    data = mf.dump_gsm(graph)
    before = dict(prepacked.stats)
    (y,) = Session(mf.load_gsm(data), backends=["cython"], threads=1).run(None, feeds)
    assert prepacked.stats["reused"] - before.get("reused", 0) == len(keys)
    assert prepacked.stats["packed"] == before.get("packed", 0)
    np.testing.assert_array_equal(y, want)
    if native_level != "generic":
        set_simd_level("generic")
        (y,) = Session(mf.load_gsm(data), backends=["cython"], threads=1).run(None, feeds)
        assert prepacked.stats["packed"] - before.get("packed", 0) == len(keys)
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_a_weight_packed_from_a_mapped_file_gives_back_its_pages(
    tmp_path, native_level, monkeypatch
) -> None:  # noqa: ANN001
    """Once packed, the kernel reads its packed copy: the mapped original's pages are released
    (refimpl/model_format/mapped_pages.py) and the results are those of the weights in memory."""
    from gossamer.refimpl.model_format import mapped_pages

    path = tmp_path / "chain.gsm"
    mf.save_gsm(chain(), path)
    released: list[int] = []

    def counting(weight: np.ndarray) -> int:
        released.append(mapped_pages.release(weight))
        return released[-1]

    monkeypatch.setattr(prepacked, "release", counting)
    y, counts = counted_run(path, optimize=0)
    assert counts["packed"] >= 5 and len(released) == counts["packed"]
    assert sum(released) >= chain().initializers["wm"].nbytes - 2 * 4096  # MatMul's 345 KB
    np.testing.assert_allclose(y, reference(), rtol=1e-4, atol=1e-4)
    (again,) = load(path, backends=["cython"], threads=1, optimize=0).run(None, FEEDS)
    np.testing.assert_array_equal(again, y)
