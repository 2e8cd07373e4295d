"""The cropper's parts, without building anything: what a model needs, what a crop ships, the
staged tree, the C family subset, the cropped build's errors (with a stand-in crop manifest)."""

import functools
import hashlib
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import tomllib
from gossamer.converter.optimizer import optimize
from gossamer.cython_kernels._native import IMPORT_ERROR
from gossamer.refimpl import cropped_build
from gossamer.refimpl.errors import CroppedBuildError, UnsupportedModelError
from gossamer.refimpl.model_format import save_gsm
from gossamer.tools.cropper import kernel_families
from gossamer.tools.cropper.model_needs import model_needs
from gossamer.tools.cropper.pyproject_writer import dumps
from gossamer.tools.cropper.python_modules import closure, imports_of, module_files
from gossamer.tools.cropper.selection import OPTIMIZER, plan_crop
from gossamer.tools.cropper.staging import stage
from onnx import helper

import gossamer
from tests.conftest import make_model, tensor_info
from tests.tools._crop_models import add_relu, conv_relu, matmul, save

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "cython_kernels"
HAS_CYTHON_BACKEND = IMPORT_ERROR is None


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crop_models")
    return {
        "add_relu": add_relu(folder / "add_relu.onnx"),
        "matmul": matmul(folder / "matmul.onnx"),
        "conv_relu": conv_relu(folder / "conv_relu.onnx"),
    }


@functools.cache
def _plan(path, optimizer=True):
    """The crop plan for one model at -O3 (computed once: it reads the whole tree)."""
    return plan_crop(ROOT, [model_needs(path, 3)], optimizer=optimizer)


# ---- what a model needs ----------------------------------------------------------------------
def test_model_needs_lists_the_ops_the_model_resolves(models):
    needs = model_needs(models["add_relu"], 3)
    assert needs.format == "onnx"
    assert needs.ops == {
        ("", "Add"): "gossamer.refimpl.ops.op_add",
        ("", "Relu"): "gossamer.refimpl.ops.op_relu",
    }


def test_model_needs_has_the_fused_op_the_optimiser_introduces_and_the_imported_ops(models):
    needs = model_needs(models["conv_relu"], 3)
    assert ("gossamer", "FusedConv") in needs.ops
    assert {("", "Conv"), ("", "Relu")} <= set(needs.ops)  # so the crop also loads it at -O0


def test_model_needs_at_level_0_has_no_fused_op(models):
    assert ("gossamer", "FusedConv") not in model_needs(models["conv_relu"], 0).ops


@pytest.mark.skipif(not HAS_CYTHON_BACKEND, reason="the cython backend is not built here")
def test_model_needs_names_the_kernel_tables_its_nodes_are_placed_on(models):
    assert model_needs(models["add_relu"], 3).kernel_modules == {
        "gossamer.cython_kernels.elementwise_kernels"
    }
    assert "gossamer.cython_kernels.gemm_kernels" in model_needs(models["matmul"], 3).kernel_modules


# ---- static imports --------------------------------------------------------------------------
def test_imports_tell_top_level_from_lazy_and_skip_type_checking(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from .a import x\n"
        "if TYPE_CHECKING:\n    from .b import y\n"
        "try:\n    from .c import z\nexcept ImportError:\n    z = None\n"
        "def f():\n    from .d import w\n"
    )
    found = {i.module: i.top_level for i in imports_of("pkg.m", source, False)}
    assert found["pkg.a"] is True
    assert "pkg.b" not in found and "pkg.b.y" not in found
    assert found["pkg.c"] is False and found["pkg.d"] is False


def test_closure_ships_top_level_imports_of_left_out_modules_and_skips_lazy_ones(tmp_path):
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("from . import b\ndef f():\n    from . import c\n")
    (tmp_path / "b.py").write_text("")
    (tmp_path / "c.py").write_text("")
    files = {"pkg": tmp_path / "__init__.py"} | {f"pkg.{m}": tmp_path / f"{m}.py" for m in "abc"}
    shipped, forced = closure(["pkg.a"], files, lambda m: m in ("pkg.b", "pkg.c"))
    assert shipped == {"pkg", "pkg.a", "pkg.b"}
    assert forced == {"pkg.b": "pkg.a"}


def test_closure_follows_rewritten_imports_no_more(tmp_path):
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("")
    files = {
        "pkg": tmp_path / "__init__.py",
        "pkg.a": tmp_path / "a.py",
        "pkg.b": tmp_path / "b.py",
    }
    shipped, _ = closure(["pkg.a"], files, lambda m: False, {"pkg.a": {"pkg.b"}})
    assert shipped == {"pkg", "pkg.a"}


def test_module_files_map_installed_names_to_the_tree():
    files = module_files(ROOT)
    assert files["gossamer.refimpl.ops.op_add"] == ROOT / "refimpl/ops/op_add.py"
    assert files["gossamer.cython_kernels"] == ROOT / "cython_kernels/__init__.py"


# ---- what a crop ships -----------------------------------------------------------------------
def test_plan_for_an_onnx_model_ships_its_ops_the_onnx_importer_and_no_tools(models):
    plan = _plan(models["add_relu"])
    assert {"gossamer.refimpl.ops.op_add", "gossamer.refimpl.ops.op_relu"} <= plan.modules
    assert "gossamer.converter.onnx_import" in plan.modules
    assert not any(m.startswith("gossamer.converter.tflite") for m in plan.modules)
    assert not any(m.startswith(("gossamer.tools", "gossamer.conformance")) for m in plan.modules)
    assert "gossamer.refimpl.ops.op_mat_mul" not in plan.modules
    assert ("", "MatMul") not in plan.op_index
    ops = {m.rpartition(".")[2] for m in plan.modules if m.startswith("gossamer.refimpl.ops.op_")}
    assert set(plan.op_index.values()) == ops


@pytest.mark.skipif(not HAS_CYTHON_BACKEND, reason="the cython backend is not built here")
def test_plan_keeps_only_the_kernel_tables_and_families_the_model_uses(models):
    plan = _plan(models["add_relu"])
    assert plan.kernel_modules == {"gossamer.cython_kernels.elementwise_kernels"}
    assert "gossamer.cython_kernels.gemm_kernels" in plan.dropped_kernel_modules
    assert "gossamer.cython_kernels.gemm_kernels" not in plan.modules
    assert "elementwise" in plan.families and "gemm" not in plan.families


@pytest.mark.skipif(not HAS_CYTHON_BACKEND, reason="the cython backend is not built here")
def test_plan_for_a_conv_has_the_conv_family_and_what_it_needs(models):
    plan = _plan(models["conv_relu"])
    families = kernel_families.discover(KERNELS)
    assert "conv" in plan.families
    assert families["conv"].needs <= plan.families


def test_plan_for_preoptimised_gsm_has_no_optimiser_and_no_importer(models, tmp_path):
    gsm = tmp_path / "m.gsm"
    graph, _ = optimize(gossamer.session.read_model(models["conv_relu"]), 3)
    save_gsm(graph, gsm)
    needs = model_needs(gsm, 0)
    assert needs.format == "gsm"
    plan = plan_crop(ROOT, [needs], optimizer=False)
    # only a module something else imports at its top (plan.forced) may bring the optimiser in
    optimizer = {m for m in plan.modules if m.startswith(OPTIMIZER + ".")}
    assert optimizer <= set(plan.forced)
    assert "gossamer.converter.onnx_import" not in plan.modules
    assert ("gossamer", "FusedConv") in plan.op_index


# ---- the staged tree -------------------------------------------------------------------------
def _tree_digest():
    digest = hashlib.sha256()
    for folder in ("refimpl", "cython_kernels"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_staged_tree_holds_exactly_the_plan_and_leaves_the_tree_alone(models, tmp_path):
    before = _tree_digest()
    plan = _plan(models["add_relu"])
    argv = ["gossamer", "crop", "add_relu.onnx", "MODEL", "-o", str(tmp_path)]
    stage(ROOT, plan, tmp_path / "source", argv)
    staged = tmp_path / "source"
    shipped_py = {p.relative_to(staged) for p in staged.rglob("*.py")} - {
        Path("setup.py"),
        Path("refimpl/_crop_manifest.py"),
        Path("tools/cropper/kernel_families.py"),
    }
    assert shipped_py == {p.relative_to(ROOT) for p in plan.files.values()}
    assert not (staged / "refimpl/ops/op_mat_mul.py").exists()
    index = (staged / "refimpl/ops/_index.py").read_text()
    assert "'op_add'" in index and "'op_mat_mul'" not in index
    manifest = (staged / "refimpl/_crop_manifest.py").read_text()
    assert "('', 'MatMul')" in manifest and "MODEL" in manifest
    project = tomllib.loads((staged / "pyproject.toml").read_text())
    assert "+crop." in project["project"]["version"]
    assert "gossamer.conformance" not in project["tool"]["setuptools"]["packages"]
    assert "pytest11" not in project["project"].get("entry-points", {})
    if plan.families:
        backend = (staged / "cython_kernels/backend.py").read_text()
        assert "ElementwiseKernels" in backend and "GemmKernels" not in backend
    assert _tree_digest() == before


def test_pyproject_writer_round_trips_through_tomllib():
    data = {
        "project": {"name": "g", "version": "1+crop.ab", "dependencies": ["numpy>=1"]},
        "tool": {"setuptools": {"package-dir": {"gossamer.refimpl": "refimpl"}, "zip": False}},
    }
    assert tomllib.loads(dumps(data)) == data


# ---- the C kernel families -------------------------------------------------------------------
def test_families_are_discovered_with_their_dependencies():
    families = kernel_families.discover(KERNELS)
    assert {"conv", "gemm", "elementwise"} <= set(families)
    assert "gemm" in families["conv"].needs  # conv.c includes gemm.h
    assert "binary" in families["elementwise"].python_names
    for fam in families.values():
        assert kernel_families.closure(families, {fam.name}) >= {fam.name} | fam.needs


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown kernel family"):
        kernel_families.closure(kernel_families.discover(KERNELS), {"nope"})


def test_family_subset_generates_sources_without_the_other_families(tmp_path):
    before = (KERNELS / "src/dispatch.c").read_text()
    sources = kernel_families.write_subset(KERNELS, {"elementwise"}, tmp_path / "k")
    out = tmp_path / "k"
    assert not (out / "src/conv.c").exists() and (out / "src/elementwise.c").exists()
    assert str(out / "src/elementwise.c") in sources and str(out / "_ext.pyx") in sources
    assert "conv_kernels.inc" not in (out / "src/levels/all_kernels.inc").read_text()
    assert "wrappers/conv.pxi" not in (out / "_ext.pyx").read_text()
    dispatch = (out / "src/dispatch.c").read_text()
    assert "#define GK_LEVEL_TABLE(SFX) {&gk_elementwise_kernels_##SFX}" in dispatch
    assert "gk_conv_kernels" not in dispatch + (out / "src/dispatch.h").read_text()
    assert (KERNELS / "src/dispatch.c").read_text() == before


# ---- the cropped build's errors (a stand-in manifest) -----------------------------------------
@pytest.fixture
def cropped(monkeypatch):
    manifest = types.ModuleType("gossamer.refimpl._crop_manifest")
    manifest.MODELS = ["a.onnx"]
    manifest.COMMAND = ["gossamer", "crop", "/m/a.onnx", "MODEL", "-o", "out", "--wheel"]
    manifest.OMITTED_OPS = [("", "Frobnicate")]
    manifest.OPTIMIZER = True
    monkeypatch.setitem(sys.modules, "gossamer.refimpl._crop_manifest", manifest)
    cropped_build.manifest.cache_clear()
    yield manifest
    cropped_build.manifest.cache_clear()


def _frobnicate(path, op="Frobnicate"):
    nodes = [helper.make_node(op, ["x"], ["y"], name="f1")]
    io = ([tensor_info("x", np.float32, [2])], [tensor_info("y", np.float32, [2])])
    return save(make_model(nodes, *io), path)


def test_full_build_is_not_cropped():
    assert cropped_build.manifest() is None
    assert cropped_build.has_optimizer()


def test_cropped_build_names_each_left_out_op_and_the_recrop_command(cropped, tmp_path):
    path = _frobnicate(tmp_path / "f.onnx")
    with pytest.raises(CroppedBuildError) as err:
        gossamer.load(path)
    assert err.value.missing == ["ai.onnx::Frobnicate"]
    command = f"gossamer crop /m/a.onnx {path} -o out --wheel"
    assert err.value.command == command
    assert "left out" in str(err.value) and command in str(err.value)
    assert isinstance(err.value, UnsupportedModelError)


def test_cropped_build_says_plainly_when_gossamer_has_no_such_op(cropped, tmp_path):
    with pytest.raises(UnsupportedModelError) as err:
        gossamer.load(_frobnicate(tmp_path / "f.onnx", op="NoSuchOp"))
    assert not isinstance(err.value, CroppedBuildError)


def test_cropped_build_without_an_importer_says_which_and_how_to_recrop(cropped):
    with pytest.raises(CroppedBuildError, match="the XYZ importer is not part") as err:
        gossamer.session._feature("converter.no_such_importer", "load", "the XYZ importer", "m.x")
    assert err.value.command == "gossamer crop /m/a.onnx m.x -o out --wheel"


def test_cropped_build_without_optimiser_runs_the_graph_as_saved(cropped, models):
    cropped.OPTIMIZER = False
    session = gossamer.load(models["conv_relu"])
    assert [n.op_type for n in session.graph.nodes] == ["Conv", "Relu"]
