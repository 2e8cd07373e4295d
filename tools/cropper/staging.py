"""Stages a crop's source tree: a copy of the shipped files (at their paths in the tree), the op
index restricted to the shipped op modules, the crop manifest the cropped build reads
(refimpl/_crop_manifest.py), CythonBackend without the dropped kernel tables, the C sources of
the extension (setup.py compiles only the chosen families), and the cropped pyproject.toml. The
tree itself is only read."""

from __future__ import annotations

import ast
import hashlib
import shutil
from pathlib import Path

from .pyproject_writer import cropped_pyproject
from .selection import KERNELS, OPS, CropPlan, assigned_names

# copied whole when the crop has the extension: what setup.py compiles (sources, not modules)
EXTENSION_SOURCES = ("cython_kernels/_ext.pyx", "cython_kernels/src", "cython_kernels/wrappers")
# setup.py reads this to build a family subset (GOSSAMER_KERNEL_FAMILIES)
FAMILY_TOOL = "tools/cropper/kernel_families.py"


def stage(root: Path, plan: CropPlan, out: Path, command: list[str]) -> str:
    """Writes the staged tree into `out` (emptied first); returns the crop's id (a short hash of
    what it ships), also its version's local label."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for path in sorted(plan.files.values()):
        _copy(root, path, out)
    _copy(root, root / "setup.py", out)
    for extra in ("README.md", "LICENSE"):
        if (root / extra).exists():
            _copy(root, root / extra, out)
    if plan.cython:
        for rel in (*EXTENSION_SOURCES, FAMILY_TOOL):
            src = root / rel
            if src.is_dir():
                shutil.copytree(src, out / rel, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                _copy(root, src, out)
        backend = root / "cython_kernels/backend.py"
        (out / "cython_kernels/backend.py").write_text(
            cropped_backend(backend.read_text(), plan.dropped_kernel_modules, root)
        )
    ops_dir = out / plan.files[OPS].parent.relative_to(root)
    sizes = {m: (ops_dir / f"{m}.py").stat().st_size for m in set(plan.op_index.values())}
    (ops_dir / "_index.py").write_text(op_index_text(plan.op_index, sizes))
    crop_id = _crop_id(out, plan)
    manifest = out / plan.files[OPS].parent.parent.relative_to(root) / "_crop_manifest.py"
    manifest.write_text(manifest_text(plan, command, crop_id))
    pyproject = (root / "pyproject.toml").read_text()
    (out / "pyproject.toml").write_text(cropped_pyproject(pyproject, plan, crop_id))
    return crop_id


def _copy(root: Path, path: Path, out: Path) -> None:
    target = out / path.relative_to(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target)


def _crop_id(out: Path, plan: CropPlan) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        digest.update(path.relative_to(out).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(",".join(sorted(plan.families)).encode())
    return digest.hexdigest()[:10]


def op_index_text(index: dict[tuple[str, str], str], sizes: dict[str, int]) -> str:
    """refimpl/ops/_index.py in write_op_index's format, with only these entries (and the shipped
    op files' sizes, which the registry checks the index by: refimpl/op_index.py)."""
    lines = [
        '"""(domain, op_type) -> the op module defining it, so a session imports only the ops its',
        "model uses. Restricted by `gossamer crop` to the op modules this cropped build ships",
        '(see _crop_manifest.py)."""',
        "",
        "OP_MODULES: dict[tuple[str, str], str] = {",
    ]
    lines += [f"    {key!r}: {module!r}," for key, module in sorted(index.items())]
    lines += ["}", "", "OP_FILE_SIZES: dict[str, int] = {"]
    lines += [f"    {module!r}: {size}," for module, size in sorted(sizes.items())]
    lines.append("}")
    return "\n".join(lines) + "\n"


def manifest_text(plan: CropPlan, command: list[str], crop_id: str) -> str:
    """refimpl/_crop_manifest.py: what refimpl/cropped_build.py reads."""
    from ...refimpl.ops._index import OP_MODULES

    omitted = sorted(set(OP_MODULES) - set(plan.op_index))
    models = [Path(m.path).name for m in plan.models]
    return "\n".join(
        [
            '"""Written by `gossamer crop`: this install is a cropped build',
            '(refimpl/cropped_build.py reads it). Do not edit."""',
            "",
            f"CROP_ID = {crop_id!r}",
            f"MODELS = {models!r}",
            "# the command that re-crops with one more model (MODEL: its path)",
            f"COMMAND = {command!r}",
            f"FORMATS = {plan.formats!r}",
            f"OPTIMIZER = {plan.optimizer!r}",
            f"KERNEL_FAMILIES = {sorted(plan.families)!r}",
            "# the ops of the full build this crop left out",
            f"OMITTED_OPS = {omitted!r}",
            "",
        ]
    )


def cropped_backend(source: str, dropped: set[str], root: Path) -> str:
    """cython_kernels/backend.py without the dropped modules in its kernel tables (TABLES)."""
    dropped_names = {m.rpartition(".")[2] for m in dropped}
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and "TABLES" in assigned_names(node):
            assert node.value is not None
            kept = [t for t in ast.literal_eval(node.value) if t[0] not in dropped_names]
            node.value = ast.Constant(tuple(kept))
    return (
        f"# Generated by `gossamer crop` from {KERNELS}.backend without the kernel tables of "
        f"{', '.join(sorted(dropped_names)) or 'no module'}.\n" + ast.unparse(tree) + "\n"
    )
