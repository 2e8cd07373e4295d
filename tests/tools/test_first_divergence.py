"""`gossamer compare`: the first divergent node, the worst-nodes table, the repro, exit codes."""

from __future__ import annotations

import json
import runpy

import numpy as np
import pytest
from gossamer.plugins import Backend, Claim, Decline, KernelBackend, hookimpl, kernel
from gossamer.plugins import manager as plugin_manager
from gossamer.refimpl.ops.op_add import add_7
from gossamer.refimpl.ops.op_conv import conv_1
from gossamer.refimpl.ops.op_mul import mul_7
from gossamer.refimpl.ops.op_relu import relu_6
from gossamer.tools.first_divergence import compare_model
from gossamer.tools.tensor_diff import diff_values
from onnx import helper, numpy_helper

from gossamer.cli import main
from tests.conftest import make_model, tensor_info


class LeakyRelu(KernelBackend):
    """Planted bug: every Relu output is 1e-2 too high."""

    name = "leaky_relu"
    priority = 10

    @kernel(relu_6)
    def relu(x: np.ndarray) -> np.ndarray:
        return relu_6(x) + np.asarray(1e-2, x.dtype)


class ExactRelu(KernelBackend):
    name = "exact_relu"
    priority = 10

    @kernel(relu_6)
    def relu(x: np.ndarray) -> np.ndarray:
        return np.maximum(x, np.zeros((), x.dtype))


class BiasedConv(KernelBackend):
    """Planted bug: the Conv bias is off by 0.05."""

    name = "biased_conv"
    priority = 10

    @kernel(conv_1)
    def conv(x, w, b=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
             pads=None, strides=None):  # fmt: skip
        b = np.full(w.shape[0], 0.05, x.dtype) if b is None else b + np.asarray(0.05, b.dtype)
        return conv_1(x, w, b, auto_pad=auto_pad, dilations=dilations, group=group,
                      kernel_shape=kernel_shape, pads=pads, strides=strides)  # fmt: skip


class BuggyFuser(Backend):
    """A subgraph backend fusing relu + scale into one partition, with a +0.5 bug."""

    name = "buggy_fuser"
    priority = 20

    def get_capability(self, graph):
        names = [n.name for n in graph.nodes]
        if {"relu", "scale"} <= set(names):
            return [Claim(("relu", "scale"))]
        return [Decline(n, "not fusable") for n in names]

    def compile(self, graph, claim):
        (scale,) = graph.initializers.values()
        return lambda c: np.maximum(c, 0) * scale + np.float32(0.5)


class UlpNoiseMul(KernelBackend):
    """Not a bug: Mul's element 0 (near zero) is off by 4 float32 ulps of the tensor's largest
    value, as a different accumulation order upstream leaves it."""

    name = "ulp_noise_mul"
    priority = 10

    @kernel(mul_7)
    def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        y = mul_7(a, b)
        y.flat[0] += 4 * np.finfo(np.float32).eps * np.abs(y).max()
        return y


class WrongMul(KernelBackend):
    """Planted bug: Mul's element 0 is off by 5 % of the tensor's largest value."""

    name = "wrong_mul"
    priority = 10

    @kernel(mul_7)
    def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        y = mul_7(a, b)
        y.flat[0] += np.float32(0.05) * np.abs(y).max()
        return y


class NudgedAdd(KernelBackend):
    """Add's element 0 is 2e-4 off: within compare's default tolerance for unit-sized values."""

    name = "nudged_add"
    priority = 10

    @kernel(add_7)
    def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        y = add_7(a, b)
        y.flat[0] += np.float32(2e-4)
        return y


class _Registers:
    def __init__(self, backend):
        self.backend = backend

    @hookimpl
    def gossamer_register_backends(self, register):
        register(self.backend)


@pytest.fixture(autouse=True)
def test_backends():
    names = []
    for backend in (LeakyRelu(), ExactRelu(), BiasedConv(), BuggyFuser(), UlpNoiseMul(),
                    WrongMul(), NudgedAdd()):  # fmt: skip
        plugin_manager.register_plugin(_Registers(backend), f"test_compare_{backend.name}")
        names.append(f"test_compare_{backend.name}")
    yield
    for name in names:
        plugin_manager.unregister_plugin(name)


def small_model():
    """x -> conv -> relu -> scale (Mul) -> pool (ReduceMean) -> y."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "B"),
        numpy_helper.from_array(np.array([1.5], np.float32), "s"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Mul", ["r", "s"], ["m"], name="scale"),
        helper.make_node("ReduceMean", ["m"], ["y"], name="pool", axes=[2, 3], keepdims=0),
    ]
    return make_model(
        nodes, [tensor_info("x", np.float32, [1, 3, 6, 6])], [tensor_info("y")], inits, opset=17
    )


@pytest.fixture
def model_path(tmp_path):
    path = tmp_path / "small.onnx"
    path.write_bytes(small_model().SerializeToString())
    return path


def feeds():
    return {"x": np.random.default_rng(1).standard_normal((1, 3, 6, 6)).astype(np.float32)}


def test_perturbed_relu_is_the_first_divergence(model_path, tmp_path):
    result = compare_model(
        model_path, feeds(), optimize=0, backends=["leaky_relu"], repro_dir=tmp_path / "r"
    )
    assert result.first is not None
    assert (result.first.node, result.first.op_type, result.first.ran_on) == (
        "relu",
        "Relu",
        "leaky_relu",
    )
    assert result.first.diff.max_abs == pytest.approx(1e-2, rel=1e-3)


def test_downstream_nodes_appear_in_the_worst_table(model_path):
    result = compare_model(model_path, feeds(), optimize=0, backends=["leaky_relu"])
    worst = {v.node: v.diff.diverges for v in result.worst(3)}
    assert worst == {"relu": True, "scale": True, "pool": True}
    assert not next(v for v in result.values if v.node == "conv").diff.diverges


def test_divergent_node_inputs_are_reported_identical(model_path):
    result = compare_model(model_path, feeds(), optimize=0, backends=["leaky_relu"])
    assert result.input_notes == ["c: float32[1, 4, 6, 6] identical on both sides"]


def test_identical_backend_agrees(model_path):
    result = compare_model(model_path, feeds(), optimize=0, backends=["exact_relu"])
    assert result.agrees and len(result.values) == 4


def test_fused_partition_is_compared_at_its_boundary(model_path, tmp_path):
    result = compare_model(
        model_path, feeds(), optimize=0, backends=["buggy_fuser"], repro_dir=tmp_path / "r"
    )
    assert "r" in result.skipped  # inside the partition: side A never exposes it
    assert result.first.node == "scale"
    assert result.first.ran_on == "buggy_fuser (buggy_fuser_partition_0)"


def test_partition_inputs_are_described_at_the_partition_boundary(model_path):
    result = compare_model(model_path, feeds(), optimize=0, backends=["buggy_fuser"])
    assert result.input_notes == ["c: float32[1, 4, 6, 6] identical on both sides"]


def test_repro_against_onnxruntime_includes_the_single_onnx_node(model_path, tmp_path, capsys):
    out = tmp_path / "repro"
    compare_model(model_path, feeds(), optimize=0, backends=["leaky_relu"], against="onnxruntime",
                  repro_dir=out)  # fmt: skip
    assert (out / "node.onnx").exists() and (out / "inputs_onnxruntime").is_dir()
    runpy.run_path(str(out / "repro.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "onnxruntime vs reference: r: agrees" in printed
    assert "leaky_relu vs reference: r: DIVERGES" in printed


def test_repro_replays_the_divergent_node(model_path, tmp_path, capsys):
    out = tmp_path / "repro"
    result = compare_model(model_path, feeds(), optimize=0, backends=["leaky_relu"], repro_dir=out)
    assert result.repro_dir == str(out)
    saved = np.load(out / "inputs_reference" / "00_c.npy")
    assert saved.shape == (1, 4, 6, 6)
    runpy.run_path(str(out / "repro.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "leaky_relu vs reference: r: DIVERGES" in printed
    assert "reference vs reference: r: agrees" in printed


def test_repro_script_escapes_hostile_names_and_paths(tmp_path, capsys):
    """A model path and node name that try to close the docstring and run code stay text."""
    hostile = 'x"""\nimport os; os.environ["PWNED"] = "1"\n"""'
    model = small_model()
    for node in model.graph.node:
        if node.name == "relu":
            node.name = "relu" + hostile
    folder = tmp_path / ("dir" + hostile.replace("/", "_"))
    folder.mkdir()
    path = folder / "m.onnx"
    path.write_bytes(model.SerializeToString())
    out = tmp_path / "repro"
    result = compare_model(path, feeds(), optimize=0, backends=["leaky_relu"], repro_dir=out)
    assert result.first is not None and result.first.node == "relu" + hostile
    script = (out / "repro.py").read_text()
    tree = compile(script, "repro.py", "exec", flags=0x400, dont_inherit=True)  # ast only
    assert isinstance(tree.body[0].value.value, str)  # the docstring is still one string
    assert [type(stmt).__name__ for stmt in tree.body[1:4]] == ["ImportFrom", "Import", "Import"]
    runpy.run_path(str(out / "repro.py"), run_name="__main__")
    assert "PWNED" not in __import__("os").environ
    assert "DIVERGES" in capsys.readouterr().out


def test_against_onnxruntime_agrees_on_small_model(model_path):
    result = compare_model(model_path, feeds(), optimize=0, backends=[], against="onnxruntime")
    assert result.agrees
    assert [v.node for v in result.values] == ["conv", "relu", "scale", "pool"]


def if_model():
    """cond ? relu(x) : neg(x), then a top-level Relu; branch bodies hold their own nodes."""
    then = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["t"], name="inner_relu")], "then", [], [tensor_info("t")]
    )
    other = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e"], name="inner_neg")], "else", [], [tensor_info("e")]
    )
    nodes = [
        helper.make_node("If", ["cond"], ["b"], name="branch", then_branch=then, else_branch=other),
        helper.make_node("Relu", ["b"], ["y"], name="relu"),
    ]
    inputs = [tensor_info("cond", np.bool_, []), tensor_info("x", np.float32, [2, 3])]
    return make_model(nodes, inputs, [tensor_info("y", np.float32, [2, 3])]).SerializeToString()


@pytest.mark.parametrize("against", ["reference", "onnxruntime"])
def test_subgraph_nodes_are_not_compared_as_top_level_nodes(against):
    x = np.random.default_rng(2).standard_normal((2, 3)).astype(np.float32)
    feeds_ = {"cond": np.array(True), "x": x}
    result = compare_model(if_model(), feeds_, optimize=0, backends=["exact_relu"], against=against)
    assert [v.node for v in result.values] == ["branch", "relu"]
    assert result.agrees


def test_perturbed_kernel_after_a_subgraph_is_found():
    x = np.random.default_rng(2).standard_normal((2, 3)).astype(np.float32)
    result = compare_model(
        if_model(), {"cond": np.array(False), "x": x}, optimize=0, backends=["leaky_relu"]
    )
    assert result.first.node == "relu"


def test_cli_exit_1_and_names_the_node(model_path, tmp_path, capsys):
    code = main(
        [
            "compare",
            str(model_path),
            "-O",
            "0",
            "--backend",
            "leaky_relu",
            "-o",
            str(tmp_path / "o"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "FIRST DIVERGENCE: node 'relu' (Relu)" in out
    assert (tmp_path / "o" / "repro.py").exists()


def test_cli_exit_0_when_everything_agrees(model_path, tmp_path, capsys):
    code = main(
        [
            "compare",
            str(model_path),
            "-O",
            "0",
            "--backends",
            "exact_relu",
            "-o",
            str(tmp_path / "o"),
        ]
    )
    assert code == 0
    assert "all values agree within tolerance" in capsys.readouterr().out
    assert not (tmp_path / "o").exists()


def test_cli_json_report(model_path, tmp_path, capsys):
    args = [
        "compare",
        str(model_path),
        "-O",
        "0",
        "--backend",
        "leaky_relu",
        "--json",
        "--top",
        "2",
    ]
    assert main(args + ["-o", str(tmp_path / "o")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["first_divergence"]["node"] == "relu"
    assert len(report["worst"]) == 2 and report["compared"] == 4


def test_cli_uses_given_input_file(model_path, tmp_path, capsys):
    np.save(tmp_path / "x.npy", -np.ones((1, 3, 6, 6), np.float32))
    args = [
        "compare",
        str(model_path),
        "-O",
        "0",
        "--backend",
        "exact_relu",
        "-i",
        f"x={tmp_path / 'x.npy'}",
    ]
    assert main(args) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--backend", "no_such_backend"], "unknown backend(s) ['no_such_backend']"),
        (["-i", "nope=x.npy"], "--input 'nope': the model has no such input"),
        (["--against", "onnxruntime", "--rtol", "-1"], "tolerances must be >= 0"),
    ],
)
def test_cli_bad_input_is_a_one_line_error_with_exit_2(model_path, capsys, extra, message):
    assert main(["compare", str(model_path), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gossamer compare: error: ") and message in err
    assert len(err.splitlines()) == 1


def test_gsm_model_is_exported_for_onnxruntime(model_path, tmp_path, capsys):
    gsm = tmp_path / "m.gsm"
    assert main(["convert", str(model_path), "-O", "0", "-o", str(gsm)]) == 0
    assert (
        main(
            ["compare", str(gsm), "-O", "0", "--against", "onnxruntime", "--backends", "exact_relu"]
        )
        == 0
    )
    assert "compared 4 values" in capsys.readouterr().out


def scaled_model():
    """x -> Mul by 1e4 -> Relu: a large-magnitude tensor whose element 0 is near zero."""
    nodes = [
        helper.make_node("Mul", ["x", "k"], ["m"], name="scale"),
        helper.make_node("Relu", ["m"], ["y"], name="relu"),
    ]
    k = numpy_helper.from_array(np.array([1e4], np.float32), "k")
    return make_model(nodes, [tensor_info("x", np.float32, [1, 256])], [tensor_info("y")], [k])


def scaled_feeds():
    x = np.random.default_rng(3).standard_normal((1, 256)).astype(np.float32)
    x[0, 0] = 1e-7
    return {"x": x}


def test_ulp_level_noise_near_zero_in_a_large_tensor_is_not_a_divergence():
    model = scaled_model().SerializeToString()
    result = compare_model(model, scaled_feeds(), optimize=0, backends=["ulp_noise_mul"])
    scale = next(v for v in result.values if v.node == "scale")
    assert scale.ran_on == "ulp_noise_mul" and scale.diff.max_abs > 1e-4  # above the plain atol
    assert result.agrees and scale.diff.tol_ratio < 0.01


def test_a_real_error_near_zero_in_a_large_tensor_is_a_divergence():
    model = scaled_model().SerializeToString()
    result = compare_model(model, scaled_feeds(), optimize=0, backends=["wrong_mul"])
    assert result.first is not None and result.first.node == "scale"
    assert result.first.diff.mismatches == 1 and result.first.diff.tol_ratio > 10
    assert result.local is not None and result.local.diverges  # wrong on its own inputs too
    assert "the node itself computes differently" in result.format()


def cancelling_model():
    """a = x + 0 (on the backend under test), d = a - x (on the reference): d is exactly zero,
    so any difference a carries in stands alone in d."""
    nodes = [
        helper.make_node("Add", ["x", "zero"], ["a"], name="shift"),
        helper.make_node("Sub", ["a", "x"], ["d"], name="cancel"),
    ]
    zero = numpy_helper.from_array(np.zeros(1, np.float32), "zero")
    return make_model(nodes, [tensor_info("x", np.float32, [1, 64])], [tensor_info("d")], [zero])


def test_a_divergence_carried_in_by_the_inputs_is_explained_by_the_replay():
    x = np.random.default_rng(4).standard_normal((1, 64)).astype(np.float32)
    result = compare_model(cancelling_model().SerializeToString(), {"x": x},
                           optimize=0, backends=["nudged_add"])  # fmt: skip
    shift = next(v for v in result.values if v.node == "shift")
    assert shift.diff.max_abs > 0 and not shift.diff.diverges  # within tolerance there
    assert result.first.node == "cancel" and result.first.ran_on == "reference"
    assert result.local is not None and not result.local.diverges and result.local.max_abs == 0
    text = result.format()
    assert "it agrees (bit-exact): the difference was carried in by its inputs" in text
    assert "input a: float32[1, 64] differs within tolerance" in text


def test_cli_json_reports_the_replay(model_path, tmp_path, capsys):
    args = ["compare", str(model_path), "-O", "0", "--backend", "leaky_relu", "--json"]
    assert main(args + ["-o", str(tmp_path / "o")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["replayed_on_side_b_inputs"]["diverges"] is True
    assert report["first_divergence"]["tol_ratio"] > 1 and report["first_divergence"]["atol_eff"]


def test_optimised_side_a_is_compared_with_the_graph_as_written(model_path, capsys):
    assert main(["compare", str(model_path), "-O", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "c" in report["skipped"]  # Conv + Relu fused on side A: only side B has `c`
    assert [v["node"] for v in report["values"]] == ["relu", "scale", "pool"]


def test_cli_plot_writes_a_chart_with_the_first_divergence(model_path, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "errors.png"
    args = ["compare", str(model_path), "-O", "0", "--backend", "leaky_relu", "--plot", str(png)]
    assert main(args + ["-o", str(tmp_path / "o")]) == 1
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert f"plot: error per node written to {png}" in capsys.readouterr().out


def test_plot_series_follow_the_execution_order_and_skip_exact_values(model_path):
    from gossamer.tools.compare_plot import divergence_series

    result = compare_model(model_path, feeds(), optimize=0, backends=["leaky_relu"])
    xs, series = divergence_series(result)
    assert xs == [0, 1, 2, 3]
    assert series["max-rel"][0] is None and series["1 - cosine"][0] is None  # conv: bit-exact
    assert series["error / tolerance"][1] > 1  # relu: the first divergence


def test_cli_plot_without_matplotlib_is_one_line_naming_the_extra(model_path, tmp_path, capsys,
                                                                   monkeypatch):  # fmt: skip
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    args = ["compare", str(model_path), "-O", "0", "--plot", str(tmp_path / "e.png")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "matplotlib" in err and "gossamer[plot]" in err
    assert not (tmp_path / "e.png").exists()


def test_diff_counts_nan_disagreement_as_mismatch():
    d = diff_values(np.array([1.0, np.nan], np.float32), np.array([1.0, 2.0], np.float32),
                    rtol=1e-3, atol=1e-4)  # fmt: skip
    assert (d.nonfinite, d.mismatches, d.diverges) == (1, 1, True)


def test_diff_agrees_on_nan_and_inf_in_the_same_places():
    a = np.array([np.nan, np.inf, 1.0], np.float32)
    assert not diff_values(a, a.copy(), rtol=0, atol=0).diverges


def test_diff_is_exact_for_integers():
    d = diff_values(np.array([1, 5], np.int64), np.array([1, 6], np.int64), rtol=1, atol=1)
    assert d.mismatches == 1 and d.max_abs == 1


def test_diff_reports_shape_mismatch():
    d = diff_values(np.zeros((2, 3)), np.zeros((3, 2)), rtol=1e-3, atol=1e-4)
    assert d.diverges and d.problem == "shape [2, 3] vs [3, 2]"


def test_diff_cosine_of_scaled_tensor_is_one():
    b = np.arange(1, 7, dtype=np.float32)
    assert diff_values(2 * b, b, rtol=1e-3, atol=1e-4).cosine == pytest.approx(1.0)


@pytest.mark.models
def test_perturbed_conv_on_real_model_is_found_at_first_conv(models_dir, tmp_path):
    path = models_dir / "mtcnn_onet.onnx"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    x = np.random.default_rng(0).random((1, 48, 48, 3), dtype=np.float32)
    result = compare_model(
        path, {"input_3": x}, optimize=0, backends=["biased_conv"], repro_dir=tmp_path
    )
    first_conv = next(v.node for v in result.values if v.op_type == "Conv")
    assert result.first.node == first_conv == "conv2d_8"
    assert result.first.ran_on == "biased_conv"
    assert (tmp_path / "node.gsm").exists()
