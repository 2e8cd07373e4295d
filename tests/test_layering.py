"""The architecture is the import graph: refimpl at the bottom, the CLI at the top.

Every ``.py`` file of every layer folder is parsed with ``ast``; module-level *and* function-level
imports count (a lazy import is still a dependency), relative imports are resolved to the module
they name. Three laws are checked: refimpl's third-party imports, the layer order, and that the
file-level import graph has no cycles beyond the commented allow-list below.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "gossamer"

# Source folder -> installed package (pyproject.toml's package-dir).
FOLDERS = {
    "refimpl": "gossamer.refimpl",
    "plugins": "gossamer.plugins",
    "converter": "gossamer.converter",
    "cython_kernels": "gossamer.cython_kernels",
    "npu_plugin": "gossamer.npu_plugin",
    "opencl_plugin": "gossamer.opencl_plugin",
    "conformance": "gossamer.conformance",
    "tools": "gossamer.tools",
    "gossamer": "gossamer",
}

# Module prefix -> layer; the longest prefix wins. The `gossamer/` folder holds two layers: the
# session (load(), Session, the example models) sits under conformance and tools, which drive
# models through it; the CLI and its commands sit on top of everything.
LAYER_OF_PREFIX = {
    "gossamer.refimpl": "refimpl",
    "gossamer.plugins": "plugins",
    "gossamer.converter": "converter",
    "gossamer.cython_kernels": "cython_kernels",
    "gossamer.npu_plugin": "npu_plugin",
    "gossamer.opencl_plugin": "opencl_plugin",
    "gossamer": "session",  # gossamer/__init__.py, session.py, builtin_models.py
    "gossamer.conformance": "conformance",
    "gossamer.tools": "tools",
    "gossamer.cli": "cli",
    "gossamer.commands": "cli",
}

# The layer table, lowest first: each layer and the layers it may import (besides itself).
ALLOWED_IMPORTS: dict[str, frozenset[str]] = {
    "refimpl": frozenset(),
    "plugins": frozenset({"refimpl"}),
    "converter": frozenset({"refimpl"}),
    # A backend: the host contracts and the reference it overrides, nothing above.
    "cython_kernels": frozenset({"refimpl", "plugins"}),
    # The NPU delegate: also the converter, whose TFLite reader and exporter feed Vela.
    "npu_plugin": frozenset({"refimpl", "plugins", "converter"}),
    # The OpenCL backend: a backend like cython_kernels.
    "opencl_plugin": frozenset({"refimpl", "plugins"}),
    "session": frozenset({"refimpl", "plugins", "converter"}),
    "conformance": frozenset({"refimpl", "plugins", "converter", "session"}),
    "tools": frozenset({"refimpl", "plugins", "converter", "session"}),
    "cli": frozenset({"refimpl", "plugins", "converter", "session", "conformance", "tools"}),
}
# Layers that may use only refimpl's public modules and names (none starting with "_"): a backend
# must keep working when the reference's private helpers move.
PUBLIC_REFIMPL_ONLY = frozenset({"cython_kernels", "npu_plugin", "opencl_plugin"})

# refimpl's third-party imports beyond numpy and ml_dtypes, per file, each with its reason.
REFIMPL_THIRD_PARTY = frozenset({"numpy", "ml_dtypes"})
REFIMPL_OPTIONAL_IMPORTS: dict[str, dict[str, str]] = {
    "gossamer.refimpl.ops.op_image_decoder": {
        "PIL": "ImageDecoder decodes JPEG/PNG bytes; imported lazily, the `image` extra",
    },
}

# File-level import cycles that are tolerated, each as the set of modules in it, with the reason.
# A cycle that disappears must leave this table too (test_every_allowed_cycle_still_exists).
ALLOWED_CYCLES: dict[frozenset[str], str] = {
    frozenset(
        {
            "gossamer.plugins.backend",
            "gossamer.plugins.manager",
            "gossamer.plugins.reference_backend",
        }
    ): (
        "intended: the host (manager) registers the built-in reference backend and checks every "
        "registration against the Backend contract, while a KernelBackend (and the reference "
        "backend's op_count) resolves nodes through the host's registry of reference *plus "
        "plugin* ops, which exists only once plugins are loaded; the call-time import in "
        "backend.py and reference_backend.py is the seam, so defining a backend never loads plugins"
    ),
}


@dataclass(frozen=True)
class Import:
    """One imported module as written in one file: ``target`` is the most specific module named."""

    source: str
    path: str
    line: int
    target: str
    text: str
    type_only: bool = False
    name: str | None = (
        None  # the name a `from ... import name` takes from `target`, if not a module
    )

    def where(self) -> str:
        return f"{self.path}:{self.line}: `{self.text}`"


def module_name(path: Path, folder: str) -> str:
    """The installed dotted name of a file in a layer folder."""
    rel = path.relative_to(REPO / folder).with_suffix("")
    parts = [*FOLDERS[folder].split("."), *rel.parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover() -> dict[str, Path]:
    """Every Python module of every layer folder, by installed name."""
    modules: dict[str, Path] = {}
    for folder in FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            modules[module_name(path, folder)] = path
    return modules


def compiled_modules() -> set[str]:
    """Extension modules built from a .pyx (``from . import _ext`` names one, not its package)."""
    return {
        module_name(path, folder)
        for folder in FOLDERS
        for path in sorted((REPO / folder).rglob("*.pyx"))
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for stmt in node.body:
                for inner in ast.walk(stmt):
                    if hasattr(inner, "lineno"):
                        lines.add(inner.lineno)
    return lines


def imports_of(
    source_text: str, module: str, path: str, *, is_package: bool, known: set[str]
) -> list[Import]:
    """Every import in a source text, resolved: ``from .x import y`` names ``<pkg>.x.y`` when
    that is a module in ``known``, else ``<pkg>.x``."""
    tree = ast.parse(source_text, filename=path)
    type_only = _type_checking_lines(tree)
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                text = f"import {alias.name}"
                found.append(
                    Import(module, path, node.lineno, alias.name, text, node.lineno in type_only)
                )
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = ", ".join(alias.name for alias in node.names)
            text = f"from {'.' * node.level}{node.module or ''} import {names}"
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                is_module = submodule in known
                found.append(
                    Import(
                        module,
                        path,
                        node.lineno,
                        submodule if is_module else target,
                        text,
                        node.lineno in type_only,
                        None if is_module else alias.name,
                    )
                )
    return found


def layer_of(module: str) -> str | None:
    """The layer a module of the namespace belongs to; None outside the namespace."""
    best = None
    for prefix in LAYER_OF_PREFIX:
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best)
        ):
            best = prefix
    return LAYER_OF_PREFIX[best] if best else None


def layer_violations(imports: list[Import]) -> list[str]:
    """Imports of a layer that its row of ALLOWED_IMPORTS does not list."""
    problems = []
    for imp in imports:
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if src is None or dst is None or src == dst:
            continue
        if dst not in ALLOWED_IMPORTS[src]:
            problems.append(f"{imp.where()}: layer {src!r} may not import layer {dst!r}")
    return problems


def private_refimpl_violations(imports: list[Import]) -> list[str]:
    """Imports of a private refimpl module or name by a PUBLIC_REFIMPL_ONLY layer."""
    problems = []
    for imp in imports:
        if layer_of(imp.source) not in PUBLIC_REFIMPL_ONLY or layer_of(imp.target) != "refimpl":
            continue
        parts = [*imp.target.split(".")[2:], *([imp.name] if imp.name else [])]
        if any(part.startswith("_") for part in parts):
            problems.append(f"{imp.where()}: a backend may import only public refimpl names")
    return problems


def private_attribute_violations(source_text: str, path: str) -> list[str]:
    """`module._name` uses in one backend file where `module` was imported from refimpl (the
    import itself is public, the attribute is not)."""
    tree = ast.parse(source_text, filename=path)
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and "refimpl" in (node.module or "").split("."):
            bound.update(alias.asname or alias.name for alias in node.names)
    problems = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            problems.append(
                f"{path}:{node.lineno}: `{node.value.id}.{node.attr}`: a backend may use only "
                "public refimpl names"
            )
    return problems


def refimpl_dependency_violations(imports: list[Import]) -> list[str]:
    """refimpl imports outside the standard library, numpy, ml_dtypes and its allow-list."""
    problems = []
    for imp in imports:
        if layer_of(imp.source) != "refimpl":
            continue
        top = imp.target.partition(".")[0]
        if top == NAMESPACE or top in sys.stdlib_module_names or top in REFIMPL_THIRD_PARTY:
            continue
        if top in REFIMPL_OPTIONAL_IMPORTS.get(imp.source, {}):
            continue
        problems.append(f"{imp.where()}: refimpl may import only numpy, ml_dtypes and the stdlib")
    return problems


def import_cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected components (more than one module) of the runtime import graph."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if not imp.type_only and layer_of(imp.target) is not None and imp.target != imp.source:
            graph.setdefault(imp.source, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    # Tarjan's algorithm, iterative so a deep graph cannot hit the recursion limit.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def cycle_violations(imports: list[Import]) -> list[str]:
    """Cycles not in ALLOWED_CYCLES, each with the imports that close it."""
    problems = []
    for component in import_cycles(imports):
        if frozenset(component) in ALLOWED_CYCLES:
            continue
        members = set(component)
        edges = {
            imp.where()
            for imp in imports
            if imp.source in members and imp.target in members and not imp.type_only
        }
        problems.append(
            f"import cycle among {', '.join(component)}:\n    " + "\n    ".join(sorted(edges))
        )
    return problems


@pytest.fixture(scope="module")
def all_imports() -> list[Import]:
    modules = discover()
    known = set(modules) | compiled_modules()
    found: list[Import] = []
    for module, path in modules.items():
        found.extend(
            imports_of(
                path.read_text(encoding="utf-8"),
                module,
                str(path.relative_to(REPO)),
                is_package=path.name == "__init__.py",
                known=known,
            )
        )
    return found


def test_every_layer_folder_is_scanned(all_imports: list[Import]) -> None:
    scanned_layers = {layer_of(imp.source) for imp in all_imports}
    assert scanned_layers == set(ALLOWED_IMPORTS)


def test_refimpl_imports_only_numpy_ml_dtypes_and_the_standard_library(
    all_imports: list[Import],
) -> None:
    problems = refimpl_dependency_violations(all_imports)
    assert not problems, "\n".join(problems)


def test_no_layer_imports_a_higher_one(all_imports: list[Import]) -> None:
    problems = layer_violations(all_imports)
    assert not problems, "\n".join(problems)


def test_a_backend_imports_only_public_refimpl(all_imports: list[Import]) -> None:
    problems = private_refimpl_violations(all_imports)
    assert not problems, "\n".join(problems)


def test_a_backend_uses_no_private_attribute_of_refimpl() -> None:
    problems = []
    for module, path in discover().items():
        if layer_of(module) in PUBLIC_REFIMPL_ONLY:
            text = path.read_text(encoding="utf-8")
            problems += private_attribute_violations(text, str(path.relative_to(REPO)))
    assert not problems, "\n".join(problems)


def test_the_attribute_checker_reports_a_private_constant_of_a_public_module() -> None:
    source = (
        "from ..refimpl.ops import op_resize\n"
        "from . import local\n"
        "MODES = op_resize._COORDS_11\n"
        "OK = op_resize.resize_11, op_resize.__name__, local._private\n"
    )
    assert [p.split(": `")[0] for p in private_attribute_violations(source, "k.py")] == ["k.py:3"]


def test_the_import_graph_has_no_cycles_beyond_the_allow_list(all_imports: list[Import]) -> None:
    problems = cycle_violations(all_imports)
    assert not problems, "\n".join(problems)


def test_every_allowed_cycle_still_exists(all_imports: list[Import]) -> None:
    present = {frozenset(component) for component in import_cycles(all_imports)}
    stale = [sorted(cycle) for cycle in ALLOWED_CYCLES if cycle not in present]
    assert not stale, f"remove these from ALLOWED_CYCLES, they are gone: {stale}"


def test_the_checker_reports_a_synthetic_violation() -> None:
    known = {"gossamer.refimpl.ir", "gossamer.refimpl.ops", "gossamer.session", "gossamer.cli"}
    source = "import numpy\n\ndef f():\n    import scipy\n    from ...session import Session\n"
    found = imports_of(
        source, "gossamer.refimpl.ops.op_x", "refimpl/ops/op_x.py", is_package=False, known=known
    )
    assert refimpl_dependency_violations(found) == [
        "refimpl/ops/op_x.py:4: `import scipy`: refimpl may import only numpy, ml_dtypes and "
        "the stdlib"
    ]
    assert layer_violations(found) == [
        "refimpl/ops/op_x.py:5: `from ...session import Session`: layer 'refimpl' may not "
        "import layer 'session'"
    ]


def test_the_checker_reports_a_backend_reaching_into_private_refimpl() -> None:
    known = {"gossamer.refimpl.ops._window", "gossamer.refimpl.op_geometry"}
    source = (
        "from ..refimpl.ops._window import window\n"
        "from ..refimpl.op_geometry import Window, _helper\n"
    )
    found = imports_of(
        source, "gossamer.cython_kernels.k", "cython_kernels/k.py", is_package=False, known=known
    )
    assert [p.split(": `")[0] for p in private_refimpl_violations(found)] == [
        "cython_kernels/k.py:1",
        "cython_kernels/k.py:2",
    ]


def test_the_checker_reports_a_cycle_hidden_behind_a_function_level_import() -> None:
    known = {"gossamer.refimpl.a", "gossamer.refimpl.b"}
    a = imports_of("from . import b\n", "gossamer.refimpl.a", "a.py", is_package=False, known=known)
    b = imports_of(
        "def f():\n    from .a import g\n",
        "gossamer.refimpl.b",
        "b.py",
        is_package=False,
        known=known,
    )
    (problem,) = cycle_violations(a + b)
    assert "gossamer.refimpl.a, gossamer.refimpl.b" in problem
    assert "b.py:2: `from .a import g`" in problem
