"""What a crop ships, decided from the models' needs: the Python modules (core, the importers of
the formats given, the optimiser unless the models are pre-optimised, the Cython kernel modules
their nodes are placed on, and every op module all of those import), the op index restricted to
the shipped op modules, and the C kernel families the shipped kernel modules call."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import kernel_families
from .model_needs import ModelNeeds
from .python_modules import closure, module_files, tomllib

PKG = "gossamer"
OPS = f"{PKG}.refimpl.ops"
KERNELS = f"{PKG}.cython_kernels"
# Never in a crop: not needed to run a model (the CLI says so when a command needs them).
ALWAYS_LEFT_OUT = (
    f"{PKG}.tools",
    f"{PKG}.conformance",
    f"{PKG}.builtin_models",
    f"{PKG}.converter.onnx_export",
    f"{PKG}.converter.tflite_export",
    f"{PKG}.converter.quantization",  # making models, not running them
    f"{PKG}.quantization",
    f"{PKG}.npu_plugin",  # opt-in device backends (default_selected False): not for a CPU crop
    f"{PKG}.opencl_plugin",
)
# features a crop ships only when its models need them
IMPORTERS = {"onnx": f"{PKG}.converter.onnx_import", "tflite": f"{PKG}.converter.tflite"}
OPTIMIZER = f"{PKG}.converter.optimizer"
_EXT_CALL = re.compile(r"\bext\(\)\s*\.\s*(\w+)")


@dataclass
class CropPlan:
    """The contents of one crop."""

    models: list[ModelNeeds]
    formats: list[str]
    optimizer: bool
    modules: set[str] = field(default_factory=set)  # installed module names shipped
    files: dict[str, Path] = field(default_factory=dict)  # module -> its file in the tree
    op_index: dict[tuple[str, str], str] = field(default_factory=dict)  # restricted OP_MODULES
    model_ops: set[tuple[str, str]] = field(default_factory=set)  # the ops the models resolve
    kernel_modules: set[str] = field(default_factory=set)  # CythonBackend mixins kept
    dropped_kernel_modules: set[str] = field(default_factory=set)
    families: set[str] = field(default_factory=set)  # C kernel families (closed under needs)
    forced: dict[str, str] = field(default_factory=dict)  # left-out module -> who needs it

    @property
    def cython(self) -> bool:
        return bool(self.families)


def _under(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def kernel_table_modules(root: Path) -> dict[str, str]:
    """The kernel tables of CythonBackend: module -> class, read from backend.py's TABLES."""
    tree = ast.parse((root / "cython_kernels/backend.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and "TABLES" in assigned_names(node):
            assert node.value is not None
            return {f"{KERNELS}.{m}": cls for m, cls in ast.literal_eval(node.value)}
    return {}


def assigned_names(node: ast.AnnAssign | ast.Assign) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {t.id for t in targets if isinstance(t, ast.Name)}


def entry_points(root: Path) -> set[str]:
    """The modules pyproject.toml's entry points name (e.g. the cython backend's plugin)."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    return {
        value.split(":", 1)[0].strip()
        for group in project.get("entry-points", {}).values()
        for value in group.values()
    }


def plan_crop(root: Path, models: list[ModelNeeds], *, optimizer: bool) -> CropPlan:
    """Everything the models need from the tree at `root`, and nothing else."""
    from ...refimpl.ops._index import OP_MODULES

    formats = sorted({m.format for m in models})
    plan = CropPlan(models, formats, optimizer)
    files = module_files(root)
    tables = kernel_table_modules(root)
    plan.kernel_modules = set().union(*(m.kernel_modules for m in models)) & set(tables)
    plan.dropped_kernel_modules = set(tables) - plan.kernel_modules
    features = [IMPORTERS[f] for f in formats if f in IMPORTERS]
    features += [OPTIMIZER] if optimizer else []
    features += [KERNELS] if plan.kernel_modules else []
    left_out = [p for p in (*IMPORTERS.values(), OPTIMIZER, KERNELS) if p not in features]
    left_out += [*ALWAYS_LEFT_OUT, *plan.dropped_kernel_modules]
    feature_modules = [
        n
        for n in files
        if _under(n, features)
        and not _under(n, [KERNELS, *left_out])
        or n == KERNELS
        or (n in entry_points(root) and _under(n, features))
    ]  # the backend's helpers (_common, ...) only through imports
    feature_modules += sorted(plan.kernel_modules)
    core = [
        n
        for n in files
        if not _under(n, [OPS, "gossamer.converter", *left_out, *features])
        or n in (OPS, f"{PKG}.converter")
    ]
    plan.model_ops = {key for m in models for key in m.ops}
    op_roots = [module for m in models for module in m.ops.values() if module in files]
    roots = core + feature_modules + op_roots
    # staging rewrites backend.py without the dropped kernel tables (staging.py)
    rewritten = {f"{KERNELS}.backend": plan.dropped_kernel_modules}
    plan.modules, plan.forced = closure(roots, files, lambda n: _under(n, left_out), rewritten)
    plan.files = {n: files[n] for n in plan.modules}
    shipped_ops = {n.rpartition(".")[2] for n in plan.modules if n.startswith(OPS + ".op_")}
    plan.op_index = {key: mod for key, mod in OP_MODULES.items() if mod in shipped_ops}
    if plan.kernel_modules:
        plan.families = _families(root, plan)
    return plan


def _families(root: Path, plan: CropPlan) -> set[str]:
    """The C families whose wrappers the shipped kernel modules call (ext().name), closed."""
    names: set[str] = set()
    for module in plan.modules:
        if module.startswith(KERNELS + "."):
            names |= set(_EXT_CALL.findall(plan.files[module].read_text()))
    families = kernel_families.discover(root / "cython_kernels")
    chosen = kernel_families.families_for_python_names(families, names)
    return kernel_families.closure(families, chosen)
