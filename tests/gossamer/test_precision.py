"""The `precision` session option: bf16 puts cython-bf16 in front of the float32 kernels where it
can run (here: only with GOSSAMER_BF16=emulate), else the session runs fp32 and says why."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gossamer.conformance.bf16_reference import bf16_matmul
from gossamer.refimpl.errors import InputError
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer
from gossamer.cli import main

native = pytest.importorskip("gossamer.cython_kernels._native")
if native.IMPORT_ERROR:  # pragma: no cover - only where the extension could not be built
    pytest.skip(native.IMPORT_ERROR, allow_module_level=True)

F32 = np.float32
CPU = ["cython"]  # the tests' default backend is the reference (tests/conftest.py)


def conv_relu_gemm() -> Graph:
    """Conv (3x3, pad 1) -> Relu -> Flatten -> Gemm, constant weights."""
    rng = np.random.default_rng(0)
    inits = {
        "w": rng.standard_normal((8, 3, 3, 3)).astype(F32),
        "b": rng.standard_normal(8).astype(F32),
        "g": rng.standard_normal((8 * 6 * 6, 5)).astype(F32),
    }
    nodes = [
        Node("Conv", ["x", "w", "b"], ["c"], {"pads": [1, 1, 1, 1]}, name="conv"),
        Node("Relu", ["c"], ["r"], name="relu"),
        Node("Flatten", ["r"], ["f"], name="flatten"),
        Node("Gemm", ["f", "g"], ["y"], name="gemm"),
    ]
    return Graph(
        nodes=nodes, inputs=[Value("x", "float32", (1, 3, 6, 6))], outputs=[Value("y")],
        initializers=inits, name="conv_relu_gemm", opsets={"": 17},
    )  # fmt: skip


def feed() -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(1).standard_normal((1, 3, 6, 6)).astype(F32)}


@pytest.fixture
def emulate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOSSAMER_BF16", "emulate")


@pytest.fixture
def no_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    if native.ext().bf16_cpu_native():
        pytest.skip("this CPU has AVX512_BF16: bf16 is available")
    monkeypatch.setenv("GOSSAMER_BF16", "auto")


def test_fp32_is_the_default() -> None:
    sess = gossamer.load(conv_relu_gemm())
    assert sess.precision == "fp32" and sess.precision_note is None
    assert "cython-bf16" not in sess.placement.backend_of.values()


def test_bf16_runs_the_products_on_cython_bf16(emulate: None) -> None:
    sess = gossamer.load(conv_relu_gemm(), precision="bf16", optimize=0)
    assert sess.precision == "bf16"
    placed = sess.placement.backend_of
    assert placed["conv"] == "cython-bf16" and placed["gemm"] == "cython-bf16"
    assert placed["relu"] != "cython-bf16"  # no kernel there: the float32 side runs it


def test_bf16_conv_is_the_bf16_product_of_its_im2col(emulate: None) -> None:
    graph = conv_relu_gemm()
    graph = Graph(
        nodes=graph.nodes[:1], inputs=graph.inputs, outputs=[Value("c")],
        initializers={k: graph.initializers[k] for k in ("w", "b")}, name="conv", opsets={"": 17},
    )  # fmt: skip
    x = feed()["x"]
    (got,) = gossamer.load(graph, precision="bf16", optimize=0).run(None, {"x": x})
    pad = np.pad(x[0], ((0, 0), (1, 1), (1, 1)))
    cols = np.stack([pad[:, i : i + 6, j : j + 6] for i in range(3) for j in range(3)], axis=1)
    w = graph.initializers["w"].reshape(8, -1)
    want = bf16_matmul(w, cols.reshape(27, 36)) + graph.initializers["b"][:, None]
    np.testing.assert_array_equal(got.reshape(8, 36), want)


def test_bf16_is_close_to_fp32(emulate: None) -> None:
    (fp32,) = gossamer.load(conv_relu_gemm()).run(None, feed())
    (bf16,) = gossamer.load(conv_relu_gemm(), precision="bf16").run(None, feed())
    assert not np.array_equal(fp32, bf16)  # really computed otherwise
    np.testing.assert_allclose(bf16, fp32, rtol=0.05, atol=0.05 * np.abs(fp32).max())


def test_bf16_leaves_convs_out_of_the_blocked_layout(emulate: None) -> None:
    sess = gossamer.load(conv_relu_gemm(), precision="bf16", optimize=3)
    assert "cython-bf16" in {sess.placement.backend_of[n.name] for n in sess.graph.nodes}
    assert "gossamer.layout" not in sess.graph.metadata


def test_without_avx512_bf16_it_runs_fp32_and_says_why(no_bf16: None) -> None:
    with pytest.warns(UserWarning, match="AVX512_BF16") as record:
        sess = gossamer.load(conv_relu_gemm(), precision="bf16")
    assert len([w for w in record if "precision='bf16'" in str(w.message)]) == 1
    assert sess.precision == "fp32"
    assert "no AVX512_BF16" in (sess.precision_note or "")
    assert "runs in fp32" in sess.placement.excluded["cython-bf16"]
    (y,) = sess.run(None, feed())
    (want,) = gossamer.load(conv_relu_gemm()).run(None, feed())
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("bad", ["fp16", "BF16", "", None, 16])
def test_unknown_precisions_are_refused(bad: object) -> None:
    with pytest.raises(InputError, match="precision must be one of 'fp32', 'bf16'"):
        gossamer.load(conv_relu_gemm(), precision=bad)  # type: ignore[arg-type]


def test_cli_explain_says_bf16_took_no_part(
    no_bf16: None, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gossamer.refimpl.model_format import save_gsm

    path = tmp_path / "m.gsm"
    save_gsm(conv_relu_gemm(), path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert main(["explain", str(path), "--precision", "bf16"]) == 0
    assert "backend cython-bf16 took no part: precision='bf16' asked for" in capsys.readouterr().out


def test_cli_refuses_an_unknown_precision(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["explain", "m.onnx", "--precision", "fp16"])
    assert exit_.value.code == 2
    assert "--precision" in capsys.readouterr().err


def depthwise_chain(tail_channels: int = 16) -> Graph:
    """1x1 16->32, Relu, depthwise 3x3, 1x1 32->32, depthwise 3x3, 1x1 32->16 (value "p", an
    output), then a 3x3 conv 16->tail_channels (no stem: 16 input channels; "y")."""
    rng = np.random.default_rng(3)

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(F32)

    dw = {"group": 32, "kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    nodes = [
        Node("Conv", ["x", "w0"], ["a"], {"kernel_shape": [1, 1]}, name="expand"),
        Node("Relu", ["a"], ["a1"], name="relu0"),
        Node("Conv", ["a1", "w1"], ["d"], dict(dw), name="dw1"),
        Node("Conv", ["d", "w2"], ["e"], {"kernel_shape": [1, 1]}, name="mix"),
        Node("Conv", ["e", "w3"], ["f"], dict(dw), name="dw2"),
        Node("Conv", ["f", "w4"], ["p"], {"kernel_shape": [1, 1]}, name="project"),
        Node("Conv", ["p", "w5"], ["y"], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
             name="wide"),
    ]  # fmt: skip
    inits = {"w0": w(32, 16, 1, 1), "w1": w(32, 1, 3, 3), "w2": w(32, 32, 1, 1),
             "w3": w(32, 1, 3, 3), "w4": w(16, 32, 1, 1),
             "w5": w(tail_channels, 16, 3, 3)}  # fmt: skip
    return Graph(
        nodes=nodes, inputs=[Value("x", "float32", (1, 16, 10, 10))],
        outputs=[Value("p"), Value("y")], initializers=inits, name="depthwise_chain",
        opsets={"": 17},
    )  # fmt: skip


def chain_feed() -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(4).standard_normal((1, 16, 10, 10)).astype(F32)}


def test_bf16_plans_the_blocked_layout_around_its_convs(emulate: None) -> None:
    from gossamer.layout_planning import describe_layout

    sess = gossamer.load(depthwise_chain(), precision="bf16", optimize=3, backends=CPU)
    assert describe_layout(sess.graph) == (
        "NCHW8c (cython): 5 convs in 1 blocked chain(s), 1 reorder(s) at their ends"
    )
    placed = sess.placement.backend_of
    ops = {n.name: n.op_type for n in sess.graph.nodes}
    for name in ("expand", "dw1", "mix", "dw2", "project"):  # 1x1s of <= 64 channels join
        assert ops[name] == "NchwcConv" and placed[name] == "cython", name
    assert ops["wide"] == "Conv" and placed["wide"] == "cython-bf16"  # the 3x3 stays bf16, NCHW


def test_the_float32_nodes_of_a_bf16_session_give_the_fp32_sessions_bits(emulate: None) -> None:
    fp32 = gossamer.load(depthwise_chain(), optimize=3, backends=CPU)
    bf16 = gossamer.load(depthwise_chain(), precision="bf16", optimize=3, backends=CPU)
    p32, y32 = fp32.run(None, chain_feed())
    p16, y16 = bf16.run(None, chain_feed())
    np.testing.assert_array_equal(p16, p32)  # the blocked float32 chain, as in an fp32 session
    assert not np.array_equal(y16, y32)  # the 3x3 conv in bf16
    np.testing.assert_allclose(y16, y32, rtol=0.05, atol=0.05 * np.abs(y32).max())


def test_wide_1x1_convs_stay_bf16_and_nchw(emulate: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from gossamer.cython_kernels import bf16_conv

    monkeypatch.setattr(bf16_conv, "BLOCKED_1X1_CHANNELS", 8)  # every 1x1 here has > 8 channels
    sess = gossamer.load(depthwise_chain(), precision="bf16", optimize=3, backends=CPU)
    assert "gossamer.layout" not in sess.graph.metadata  # a depthwise conv alone is no chain
    placed = sess.placement.backend_of
    assert {placed[n] for n in ("expand", "mix", "project", "wide")} == {"cython-bf16"}
    assert placed["dw1"] == "cython"


def test_keep_nchw_leaves_the_convs_it_names_to_another_backend() -> None:
    from gossamer.converter.optimizer import channel_blocking
    from gossamer.converter.optimizer.rewrite import copy_graph

    everything = copy_graph(depthwise_chain())
    assert channel_blocking.run(everything)  # all five convs: one chain
    graph = copy_graph(depthwise_chain())
    changes = channel_blocking.run(graph, lambda node, values: node.name == "mix")
    assert changes == []  # dw2 would read an NCHW value; expand + dw1 need two reorders
    graph = copy_graph(depthwise_chain())
    assert channel_blocking.run(graph, lambda node, values: node.name == "project")
    assert {n.name: n.op_type for n in graph.nodes}["project"] == "Conv"


def test_cli_explain_shows_the_blocked_float32_nodes_of_a_bf16_session(
    emulate: None, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gossamer.refimpl.model_format import save_gsm

    path = tmp_path / "m.gsm"
    save_gsm(depthwise_chain(), path)
    assert main(["explain", str(path), "--precision", "bf16", "--backends", "cython"]) == 0
    out = capsys.readouterr().out
    assert "NchwcConv" in out and "cython-bf16" in out
