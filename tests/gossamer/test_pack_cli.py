"""`gossamer convert/optimize --pack cython`: packed weights stored in the .gsm and used at load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gossamer.plugins import prepacked
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.ir import Graph, Node, Value

from gossamer import load
from gossamer.cli import main

native = pytest.importorskip("gossamer.cython_kernels._native")
if native.IMPORT_ERROR:  # pragma: no cover - only where the extension could not be built
    pytest.skip(native.IMPORT_ERROR, allow_module_level=True)


def conv_matmul(batch: int | str = 1) -> Graph:
    """A Winograd-sized 3x3 conv, then a MatMul: forms packed at first run and at load."""
    rng = np.random.default_rng(0)
    return Graph(
        nodes=[
            Node("Conv", ["x", "w"], ["c"], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
                 name="conv"),
            Node("Flatten", ["c"], ["f"], name="flat"),
            Node("MatMul", ["f", "m"], ["y"], name="mm"),
        ],
        inputs=[Value("x", "float32", (batch, 32, 16, 16))],
        outputs=[Value("y", "float32", (batch, 4))],
        initializers={"w": rng.standard_normal((16, 32, 3, 3)).astype(np.float32) / 17,
                      "m": rng.standard_normal((16 * 16 * 16, 4)).astype(np.float32) / 64},
    )  # fmt: skip


@pytest.fixture
def model(tmp_path):  # noqa: ANN001, ANN201
    path = tmp_path / "in.gsm"
    mf.save_gsm(conv_matmul(), path)
    return path


def keys_of(path) -> list[str]:  # noqa: ANN001
    data = path.read_bytes()
    header = mf.HEADER.unpack(data[: mf.HEADER.size])
    document = json.loads(data[header[4] : header[4] + header[5]])
    return [e["key"] for e in document.get("prepacked", [])]


FEEDS = {"x": np.random.default_rng(1).random((1, 32, 16, 16), dtype=np.float32)}


def test_convert_pack_stores_forms_that_load_uses(model, tmp_path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "packed.gsm"
    assert main(["convert", str(model), "-o", str(out), "--pack", "cython"]) == 0
    level = native.simd_level()
    assert (
        f"pre-packed 2 weight form(s) for cython at SIMD level {level}" in capsys.readouterr().out
    )
    kinds = sorted(key.split("/")[1] for key in keys_of(out))
    assert kinds == ["conv.winograd", "matmul.pack_b"]
    before = dict(prepacked.stats)
    (y,) = load(out, backends=["cython"], threads=1).run(None, FEEDS)
    assert prepacked.stats["reused"] - before.get("reused", 0) == 2
    assert prepacked.stats["packed"] == before.get("packed", 0)
    (want,) = load(model, backends=[], optimize=0).run(None, FEEDS)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


def test_optimize_pack_and_a_plain_convert_without_forms(model, tmp_path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "opt.gsm"
    assert main(["optimize", str(model), "-o", str(out), "--pack", "cython"]) == 0
    assert len(keys_of(out)) == 2
    plain = tmp_path / "plain.gsm"
    assert main(["convert", str(model), "-o", str(plain)]) == 0
    assert keys_of(plain) == []


def test_symbolic_dims_pack_at_load_only_unless_given_a_shape(tmp_path, capsys) -> None:  # noqa: ANN001
    model = tmp_path / "dyn.gsm"
    mf.save_gsm(conv_matmul("N"), model)
    out = tmp_path / "dyn_packed.gsm"
    assert main(["convert", str(model), "-o", str(out), "--pack", "cython"]) == 0
    assert "symbolic input dims" in capsys.readouterr().out
    assert [k.split("/")[1] for k in keys_of(out)] == ["matmul.pack_b"]  # packed at load
    args = ["convert", str(model), "-o", str(out), "--pack", "cython", "--shape", "x=1,32,16,16"]
    assert main(args) == 0
    assert len(keys_of(out)) == 2


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-o", "{tmp}/out.onnx", "--pack", "cython"], "--pack stores packed weights in a .gsm"),
        (["-o", "{tmp}/o.gsm", "--pack", "cython", "--shape", "z=1"], "--shape names no input"),
    ],
)
def test_pack_errors_are_one_line(model, tmp_path, capsys, extra, message) -> None:  # noqa: ANN001
    argv = ["convert", str(model), *[a.format(tmp=tmp_path) for a in extra]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_an_unknown_pack_backend_is_a_usage_error(model, tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as info:
        main(["convert", str(model), "-o", str(tmp_path / "o.gsm"), "--pack", "npu"])
    assert info.value.code == 2
