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
