"""Builds a staged crop into a wheel with the standard tools (`pip wheel` on the staged tree's
setup.py + pyproject.toml, without build isolation: the build needs only setuptools and Cython,
which this environment has, and no network), and installs a wheel into a folder for measuring.

GOSSAMER_KERNEL_FAMILIES tells setup.py which C kernel families to compile; a crop without any
sets GOSSAMER_NO_EXTENSIONS (no extension, no cython backend).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from ...refimpl.errors import GossamerError
from .python_modules import tomllib


class CropError(GossamerError):
    """A crop could not be made: a model that does not load, or a build that failed."""


def build_wheel(staged: Path, families: set[str], dest: Path, *, strip: bool = False) -> Path:
    """Builds the staged tree's wheel into `dest`; returns its path. `strip` links the
    extension without symbols (-s: about 5x smaller; no native debugging)."""
    if families and importlib.util.find_spec("Cython") is None:
        raise CropError(
            "the crop needs the C kernels of the cython backend, and building them needs Cython "
            "in this environment (pip install 'Cython>=3.0'; the build runs without isolation)"
        )
    dest.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("GOSSAMER_KERNEL_FAMILIES", None)
    env.pop("GOSSAMER_NO_EXTENSIONS", None)
    if families:
        env["GOSSAMER_KERNEL_FAMILIES"] = ",".join(sorted(families))
    else:
        env["GOSSAMER_NO_EXTENSIONS"] = "1"
    if strip:  # setuptools appends LDFLAGS to the link command
        env["LDFLAGS"] = f"{env.get('LDFLAGS', '')} -s".strip()
    before = set(dest.glob("*.whl"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps"]
    command += ["--no-index", "-q", "-w", str(dest), str(staged)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=staged)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise CropError(f"building the cropped wheel failed (pip wheel {staged}):\n{tail}")
    built = sorted(set(dest.glob("*.whl")) - before) or sorted(dest.glob("gossamer-*.whl"))
    if not built:
        raise CropError(f"pip wheel {staged} wrote no wheel into {dest}")
    return built[-1]


def install_wheel(wheel: Path, target: Path) -> None:
    """Unpacks `wheel` into the folder `target` as pip installs it (no dependencies, no index)."""
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q"]
    command += ["--target", str(target), str(wheel)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise CropError(f"installing {wheel.name} failed:\n{done.stderr.strip()[-2000:]}")


def runtime_requirements(staged: Path, formats: list[str]) -> list[str]:
    """The staged project's dependencies plus the extras named like its formats (onnx, tflite):
    what running its models needs."""
    project = tomllib.loads((staged / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return list(project.get("dependencies", [])) + [r for f in formats for r in extras.get(f, [])]


def link_dependencies(folder: Path, requirements: list[str]) -> Path:
    """A folder of links to this environment's installs of `requirements` and what they
    require (packages, bundled libraries, metadata) and nothing else: what a cropped install is
    put beside when it is run without network access, instead of installing them again."""
    folder.mkdir(parents=True, exist_ok=True)
    todo, seen = [_name(r) for r in requirements], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # an optional dependency this environment lacks: the run will say so
        todo += [_name(r) for r in dist.requires or () if "extra ==" not in r]
        tops = {Path(str(f)).parts[0] for f in dist.files or ()} - {".."}
        base = Path(str(dist.locate_file("")))
        for top in sorted(tops):
            link = folder / top
            if not link.exists() and not link.is_symlink() and (base / top).exists():
                link.symlink_to(base / top)
    return folder


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return match.group(1).lower().replace("_", "-") if match else requirement
