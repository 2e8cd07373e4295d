"""`gossamer backends` and `gossamer explain`, run in-process with plugins registered in tests."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import numpy as np
import pytest
from gossamer.plugins import Backend, Claim, KernelBackend, kernel
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.model_format import save_gsm
from gossamer.refimpl.ops.op_relu import relu_6
from onnx import helper

from gossamer.cli import main
from tests.conftest import make_model, tensor_info


class FastRelu(KernelBackend):
    name = "fastrelu"
    priority = 5
    relu = kernel(relu_6, dtypes=["float32"])(lambda x: np.maximum(x, np.float32(0)))


class NoDevice(Backend):
    name = "nodevice"

    def is_available(self):
        return "no NPU found"


@pytest.fixture
def model_path(tmp_path):
    model = make_model(
        [
            helper.make_node("Add", ["x", "x"], ["d"], name="double"),
            helper.make_node("Relu", ["d"], ["y"], name="relu"),
        ],
        [tensor_info("x", np.float32, ["N", 4])],
        [tensor_info("y", np.float32, ["N", 4])],
    )
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def backends_lines(capsys) -> dict[str, str]:
    assert main(["backends"]) == 0
    return {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}


def test_backends_lists_reference_by_name_first_on_its_line(capsys):
    lines = backends_lines(capsys)
    assert list(lines) == ["reference"]
    assert "available" in lines["reference"] and "priority" in lines["reference"]


def test_backends_lists_plugin_backend_with_priority_and_op_count(use_backends, capsys):
    use_backends(FastRelu())
    line = backends_lines(capsys)["fastrelu"]
    assert "priority           5" in line
    assert "  available  " in line
    assert "claims 1 op types" in line


def test_backends_shows_unavailable_backend_with_its_reason(use_backends, capsys):
    use_backends(NoDevice())
    line = backends_lines(capsys)["nodevice"]
    assert "unavailable (no NPU found)" in line
    assert "subgraph claims" in line


def test_backends_shows_is_available_raising_as_unavailable(use_backends, capsys):
    class Crashing(Backend):
        name = "crashing"

        def is_available(self):
            raise OSError("driver missing")

    use_backends(Crashing())
    line = backends_lines(capsys)["crashing"]
    assert "unavailable (is_available() raised OSError: driver missing)" in line


def test_backends_shows_plugin_that_failed_to_load(monkeypatch, capsys):
    from gossamer.plugins import manager

    class BrokenEntryPoint:
        name = "vendor"

        def load(self):
            raise ImportError("No module named 'vendor_sdk'")

    monkeypatch.setattr(manager, "entry_points", lambda group: [BrokenEntryPoint()])
    manager.reset_plugins()
    lines = backends_lines(capsys)
    assert "not loaded: failed to import: ImportError" in lines["vendor"]
    assert "reference" in lines


def test_listing_backends_does_not_import_what_only_compile_needs(
    tmp_path, monkeypatch, use_backends, capsys
):
    sdk = "gossamer_test_heavy_sdk"
    (tmp_path / f"{sdk}.py").write_text("IMPORTED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, sdk, raising=False)

    class LazyNpu(Backend):
        name = "lazynpu"

        def is_available(self):  # finds the SDK without importing it
            return None if importlib.util.find_spec(sdk) else f"{sdk} is not installed"

        def get_capability(self, graph):
            return [Claim(("relu",))]

        def compile(self, graph, claim):
            heavy = importlib.import_module(sdk)
            assert heavy.IMPORTED
            return lambda x: np.maximum(x, 0)

    use_backends(LazyNpu())
    assert "  available  " in backends_lines(capsys)["lazynpu"]
    assert sdk not in sys.modules
    graph = Graph(
        [Node("Relu", ["x"], ["y"], name="relu")], [Value("x", "float32", (2,))], [Value("y")]
    )
    save_gsm(graph, tmp_path / "g.gsm")
    assert main(["explain", "--backends", "lazynpu", str(tmp_path / "g.gsm")]) == 0
    assert sdk in sys.modules  # compiling does import it (so the assertion above can fail)


def test_explain_shows_backend_per_node_reasons_and_summary(use_backends, model_path, capsys):
    use_backends(FastRelu())
    assert main(["explain", str(model_path), "--backends", "fastrelu"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert rows["relu"].split()[1:3] == ["Relu", "fastrelu"]
    assert rows["double"].split()[1:3] == ["Add", "reference"]
    assert "fastrelu: no kernel for Add" in rows["double"]
    assert "summary: 2 nodes; fastrelu: 1 node(s) (50 %), reference: 1 node(s) (50 %)" in out


def test_explain_lists_backends_that_took_no_part(use_backends, model_path, capsys):
    use_backends(FastRelu(), NoDevice())
    assert main(["explain", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert "backend nodevice took no part: unavailable: no NPU found" in out


def test_explain_with_unknown_backend_fails_listing_registered(model_path, capsys):
    assert main(["explain", str(model_path), "--backends", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown backend(s) ['nope']" in err and "registered: ['reference']" in err
