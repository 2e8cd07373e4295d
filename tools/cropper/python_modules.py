"""The tree's Python modules under their installed names, and the closure of what a set of them
imports, read statically (ast), never by importing them.

A module imported at the top of a shipped module is always shipped (else the crop would not even
import). An import inside a function is followed too, unless it leads into a left-out feature
(another format's importer, the optimiser of a pre-optimised crop, tools, conformance): those
lazy imports are exactly how the full build keeps features optional, and in a crop they raise
the cropped build's error instead.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class Import:
    module: str  # absolute, e.g. gossamer.refimpl.ops.op_relu
    top_level: bool  # at module level (not inside a function)


def package_dirs(root: Path) -> dict[str, Path]:
    """Installed package name -> its folder in the tree, from pyproject.toml's package-dir."""
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = config.get("package-dir", {})
    packages = config["packages"]
    dirs: dict[str, Path] = {}
    for package in packages:
        parts = package.split(".")
        for i in range(len(parts), 0, -1):  # the longest mapped prefix names the folder
            prefix = ".".join(parts[:i])
            if prefix in mapping:
                dirs[package] = root / mapping[prefix] / Path(*parts[i:])
                break
        else:
            dirs[package] = root / Path(*parts)
    for package, folder in list(dirs.items()):  # a subpackage pyproject does not list yet
        for init in folder.glob("*/__init__.py"):
            dirs.setdefault(f"{package}.{init.parent.name}", init.parent)
    return dirs


def package_data(root: Path) -> dict[str, list[str]]:
    """Installed package name -> its package-data glob patterns, from pyproject.toml."""
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    return dict(config.get("package-data", {}))


def module_files(root: Path) -> dict[str, Path]:
    """Every installed module name (packages as their __init__) -> its file in the tree."""
    files: dict[str, Path] = {}
    for package, folder in package_dirs(root).items():
        for path in sorted(folder.glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            files[name] = path
    return files


def imports_of(name: str, path: Path, is_package: bool) -> list[Import]:
    """The modules `path` (module `name`) imports, absolute; `from P import x` counts both P and
    P.x (x may be a submodule)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if is_package else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:  # annotations only: never imported at run time
                    visit(stmt, top)
                continue
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Try) and _catches_import_error(child):
                inner = False  # an optional import: the module copes without it
            if isinstance(child, ast.Import):
                found.extend(Import(a.name, top) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _absolute(package, child.module, child.level)
                found.append(Import(base, top))
                found.extend(Import(f"{base}.{a.name}", top) for a in child.names)
            visit(child, inner)

    visit(tree, True)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _catches_import_error(node: ast.Try) -> bool:
    names = set()
    for handler in node.handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        names |= {k.id for k in kinds if isinstance(k, ast.Name)}
    return bool(names & {"ImportError", "ModuleNotFoundError"})


def _absolute(package: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - level + 1])
    return f"{base}.{module}" if module else base


def closure(
    roots: Iterable[str],
    files: dict[str, Path],
    left_out: Callable[[str], bool],
    rewritten: dict[str, set[str]] | None = None,
) -> tuple[set[str], dict[str, str]]:
    """The modules `roots` need: (shipped, forced) where `forced` maps each left-out module that
    a shipped module imports at its top (so it ships anyway) to the importer. `rewritten` names,
    per module, the imports the crop removes from it when staging it."""
    rewritten = rewritten or {}
    packages = {n for n, p in files.items() if p.name == "__init__.py"}
    shipped: set[str] = set()
    forced: dict[str, str] = {}
    todo = [r for r in roots if r in files]
    while todo:
        name = todo.pop()
        if name in shipped:
            continue
        shipped.add(name)
        parent = name.rpartition(".")[0]
        if parent in files:  # a module's package (its __init__) is imported first
            if left_out(parent) and parent not in shipped:
                forced.setdefault(parent, name)
            todo.append(parent)
        for imp in imports_of(name, files[name], name in packages):
            if imp.module not in files or imp.module in shipped:
                continue
            if imp.module in rewritten.get(name, ()):
                continue
            if left_out(imp.module):
                if not imp.top_level:
                    continue
                forced.setdefault(imp.module, name)
            todo.append(imp.module)
    return shipped, forced
