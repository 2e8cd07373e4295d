"""`gossamer crop`: from a list of models to a minimal installable Gossamer that runs exactly them.

1. model_needs: load each model in this (full) build as the crop will load it; record its ops,
   format and the kernel tables its nodes are placed on.
2. selection: the modules, op index and C kernel families to ship.
3. staging: a copy of just those files as a buildable source tree (DIR/source).
4. wheel_build: `pip wheel` on it; install it into a scratch folder.
5. measure + report: sizes, import and load times, outputs compared with the full build.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...refimpl.cropped_build import MODEL_PLACEHOLDER
from ...session import DEFAULT_OPTIMIZE
from . import kernel_families
from .measure import (
    best_of,
    folder_size,
    full_install_size,
    isolated_python,
    same_outputs,
    this_python,
)
from .model_needs import model_format_of, model_needs
from .report import write_report
from .selection import KERNELS, OPS, CropPlan, plan_crop
from .staging import stage
from .wheel_build import (
    CropError,
    build_wheel,
    install_wheel,
    link_dependencies,
    runtime_requirements,
)


@dataclass
class CropResult:
    plan: CropPlan
    source: Path  # the staged tree (pip install DIR/source builds the same crop)
    wheel: Path | None  # DIR/<wheel> with --wheel
    report: dict[str, Any]
    markdown: str


def tree_root() -> Path:
    """The source tree this gossamer runs from (a crop is made from sources, not an install)."""
    import gossamer

    root = Path(gossamer.__file__).resolve().parent.parent
    if not (root / "setup.py").exists() or not (root / "refimpl").is_dir():
        raise CropError(
            f"gossamer crop needs gossamer's source tree (setup.py, refimpl/, ...); this gossamer "
            f"runs from {root}, which is an installed copy: run it from a checkout "
            "(pip install -e .)"
        )
    return root


def recrop_argv(
    models: list[str], out: Path, *, wheel: bool, optimize: int, pre: bool, strip: bool
) -> list[str]:
    """The command line that makes this crop again with one more model (MODEL_PLACEHOLDER)."""
    argv = ["gossamer", "crop", *models, MODEL_PLACEHOLDER, "-o", str(out)]
    if optimize != DEFAULT_OPTIMIZE:
        argv += ["-O", str(optimize)]
    if pre:
        argv.append("--preoptimized")
    if strip:
        argv.append("--strip")
    if wheel:
        argv.append("--wheel")
    return argv


def crop(
    models: list[str | Path],
    out: str | Path,
    *,
    wheel: bool = False,
    optimize: int = DEFAULT_OPTIMIZE,
    preoptimized: bool = False,
    strip: bool = False,
    repeats: int = 3,
) -> CropResult:
    """Crops Gossamer to `models` into the folder `out` (see the module docstring)."""
    root = tree_root()
    out = Path(out).resolve()
    paths = [str(Path(m).resolve()) for m in models]
    if not paths:
        raise CropError("name at least one model to crop for")
    if (out / "source") == root or root.is_relative_to(out / "source"):
        raise CropError(f"-o {out} would stage the crop over gossamer's own tree ({root})")
    for p in paths:
        if not Path(p).is_file():
            raise CropError(f"model file {p!r} does not exist")
    if preoptimized:
        others = [Path(p).name for p in paths if model_format_of(p) != "gsm"]
        if others:
            raise CropError(
                "--preoptimized promises optimised .gsm files (the crop has no optimiser and no "
                f"importer), but {', '.join(others)} {'is' if len(others) == 1 else 'are'} not "
                ".gsm: convert them first with `gossamer optimize M -o M.gsm`"
            )
    needs = [model_needs(p, 0 if preoptimized else optimize) for p in paths]
    plan = plan_crop(root, needs, optimizer=not preoptimized)
    out.mkdir(parents=True, exist_ok=True)
    source = out / "source"
    argv = recrop_argv(paths, out, wheel=wheel, optimize=optimize, pre=preoptimized, strip=strip)
    crop_id = stage(root, plan, source, argv)
    level = 0 if preoptimized else optimize
    with tempfile.TemporaryDirectory(prefix="gossamer-crop-") as scratch:
        tmp = Path(scratch)
        built = build_wheel(source, plan.families, tmp / "dist", strip=strip)
        site = tmp / "site"
        install_wheel(built, site)
        deps = link_dependencies(tmp / "deps", runtime_requirements(source, plan.formats))
        python, env = isolated_python(site, deps)
        cropped = best_of(repeats, python, env, paths, level, tmp / "cropped.npz")
        if not cropped["module"].startswith(str(site)):
            raise CropError(f"the cropped run imported gossamer from {cropped['module']}")
        full = best_of(repeats, *this_python(), paths, level, tmp / "f.npz")
        differ = same_outputs(tmp / "cropped.npz", tmp / "f.npz")
        kept = None
        if wheel:
            kept = out / built.name
            for old in out.glob("gossamer-*.whl"):
                old.unlink()
            shutil.copy2(built, kept)
        report = _report(root, plan, crop_id, site, cropped, full, differ, kept, source)
        report.update(optimize=optimize, repeats=repeats, stripped=strip)
    markdown = write_report(out, report)
    if differ:
        raise CropError(
            f"the cropped build's outputs differ from the full build's ({', '.join(differ)}); "
            f"see {out / 'crop_report.md'}"
        )
    return CropResult(plan, source, kept, report, markdown)


def _report(
    root: Path, plan: CropPlan, crop_id: str, site: Path, cropped: dict, full: dict,
    differ: list[str], wheel: Path | None, source: Path,
) -> dict[str, Any]:  # fmt: skip
    from ...refimpl.ops._index import OP_MODULES

    ext_cropped = sum(p.stat().st_size for p in (site / "gossamer").rglob("_ext*.so"))
    ext_full = sum(p.stat().st_size for p in (root / "cython_kernels").glob("_ext*.so"))
    all_families = kernel_families.discover(root / "cython_kernels")
    return {
        "crop_id": crop_id,
        "models": [
            {
                "name": Path(m.path).name,
                "path": m.path,
                "format": m.format,
                "nodes": m.nodes,
                "placed": m.placed,
                "ops": sorted(f"{d or 'ai.onnx'}::{o}" for d, o in m.ops),
            }
            for m in plan.models
        ],  # fmt: skip
        "formats": plan.formats,
        "optimizer": plan.optimizer,
        "ops": {
            "shipped": sum(1 for m in plan.modules if m.startswith(OPS + ".op_")),
            "full": len(set(OP_MODULES.values())),
            "indexed": len(plan.op_index),
            "models": len(plan.model_ops),
        },
        "kernel_families": sorted(plan.families),
        "all_kernel_families": sorted(all_families),
        "kernel_tables": sorted(m.rpartition(".")[2] for m in plan.kernel_modules),
        "modules": sorted(plan.modules),
        "forced": plan.forced,
        "cython": bool(plan.families) and any(m.startswith(KERNELS) for m in plan.modules),
        "cropped": {
            "installed_bytes": folder_size(site / "gossamer"),
            "extension_bytes": ext_cropped,
            "import_s": cropped["import_s"],
            "load_s": cropped["load_s"],
        },
        "full": {
            "installed_bytes": full_install_size(root),
            "extension_bytes": ext_full,
            "import_s": full["import_s"],
            "load_s": full["load_s"],
        },
        "identical_outputs": not differ,
        "differing_outputs": differ,
        "wheel": str(wheel) if wheel else None,
        "source": str(source),
    }
