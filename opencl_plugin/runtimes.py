"""OpenCL runtimes installed by pip (Intel's CPU runtime, `pip install 'gossamer[opencl-intel]'`),
made visible to the ICD loader before pyopencl's first platform query.

The ICD loader (ocl-icd, inside pyopencl's wheel) lists the runtimes named by the `.icd` files of
one folder: `$OCL_ICD_VENDORS`, else /etc/OpenCL/vendors. A pip-installed runtime is not there
(the `intel-opencl-rt` wheel's own `.icd` names a placeholder conda path), so `prepare()` writes a
folder holding the base folder's `.icd` files plus one per runtime found in the environment, and
points `OCL_ICD_VENDORS` at it. Libraries the runtime needs that are not beside it (an unpacked
layout) are loaded first with RTLD_GLOBAL, so the runtime's own load finds them.

Where it looks: `$GOSSAMER_OPENCL_RUNTIME_PATH` (folders, `:`-separated), then `sys.prefix/lib`
(where pip puts the wheels' libraries). `GOSSAMER_OPENCL_PIP_RUNTIMES=0` turns all of this off.
No runtime found: nothing changes. A runtime found with libraries missing is not listed, and its
`problem` says which (device.py adds it to every "no such device" reason).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

ENV_PATH = "GOSSAMER_OPENCL_RUNTIME_PATH"
ENV_SWITCH = "GOSSAMER_OPENCL_PIP_RUNTIMES"
SYSTEM_VENDORS = "/etc/OpenCL/vendors"


@dataclass(frozen=True)
class Spec:
    """A runtime a wheel installs: its ICD library and the libraries it needs at load time."""

    name: str  # the .icd file written for it
    platform: str  # its platform's name (how device.py tells it from the system's)
    library: str
    needs: tuple[str, ...]
    wheels: str  # what to install when something is missing


INTEL_CPU = Spec(
    name="gossamer-intel-cpu",
    platform="Intel(R) OpenCL",
    library="libintelocl.so",
    needs=("libtbb.so.12", "libimf.so", "libsvml.so", "libirng.so", "libintlc.so.5"),
    wheels="pip install 'gossamer[opencl-intel]' (intel-opencl-rt, intel-cmplr-lib-rt, tbb)",
)
SPECS = (INTEL_CPU,)


@dataclass(frozen=True)
class Runtime:
    spec: Spec
    library: Path
    found: dict[str, Path]  # needed library -> where it is
    missing: tuple[str, ...]

    @property
    def problem(self) -> str | None:
        if not self.missing:
            return None
        return (
            f"the {self.spec.platform} runtime at {self.library} is missing "
            f"{', '.join(self.missing)} (searched {', '.join(str(d) for d in search_dirs())}; "
            f"{self.spec.wheels})"
        )


def search_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get(ENV_PATH, "").split(":") if p.strip()]
    dirs.append(Path(sys.prefix) / "lib")
    return [d for i, d in enumerate(dirs) if d not in dirs[:i]]


def find() -> list[Runtime]:
    """The pip-installed runtimes in the search folders (complete or not)."""
    dirs = [d for d in search_dirs() if d.is_dir()]
    found = []
    for spec in SPECS:
        library = next((d / spec.library for d in dirs if (d / spec.library).is_file()), None)
        if library is None:
            continue
        # beside the library first (its RUNPATH finds those itself), then the other folders
        order = [library.parent] + [d for d in dirs if d != library.parent]
        where = {}
        for need in spec.needs:
            hit = next((d / need for d in order if (d / need).exists()), None)
            if hit is not None:
                where[need] = hit
        missing = tuple(n for n in spec.needs if n not in where)
        found.append(Runtime(spec, library, where, missing))
    return found


_LOCK = threading.Lock()
_PREPARED: list[Runtime] | None = None


def prepare() -> list[Runtime]:
    """Once per process, before the first platform query: lists the complete runtimes for the
    ICD loader (and preloads their libraries); returns every runtime found."""
    global _PREPARED
    with _LOCK:
        if _PREPARED is None:
            _PREPARED = _prepare()
        return _PREPARED


def _prepare() -> list[Runtime]:
    if os.environ.get(ENV_SWITCH, "").strip() == "0":
        return []
    runtimes = find()
    usable = [r for r in runtimes if r.problem is None]
    if not usable:
        return runtimes
    base = os.environ.get("OCL_ICD_VENDORS", "").strip() or SYSTEM_VENDORS
    if not Path(base).is_dir():  # a single .icd file, or nothing: list it as it is
        entries = {Path(base).name: Path(base).read_text()} if Path(base).is_file() else {}
    else:
        entries = {p.name: p.read_text() for p in sorted(Path(base).glob("*.icd")) if p.is_file()}
    listed = {Path(text.strip()).name for text in entries.values()}
    for runtime in usable:
        if runtime.spec.library in listed:  # the base folder lists one already
            continue
        for path in runtime.found.values():
            if path.parent != runtime.library.parent:  # not found by the runtime's own RUNPATH
                try:
                    ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
                except OSError:
                    pass  # the platform then fails to load; device.py says so
        entries[f"{runtime.spec.name}.icd"] = f"{runtime.library}\n"
    folder = _write_folder(entries)
    if folder is not None:
        os.environ["OCL_ICD_VENDORS"] = str(folder)
    return runtimes


def _write_folder(entries: dict[str, str]) -> Path | None:
    """A folder holding exactly `entries` (name -> text), shared by processes that need the same
    one (named by a hash of the entries); None when no folder can be written."""
    digest = hashlib.sha256(repr(sorted(entries.items())).encode()).hexdigest()[:16]
    cache = os.environ.get("GOSSAMER_CACHE_DIR", "").strip()
    roots = [Path(cache) / "opencl" if cache else Path.home() / ".cache" / "gossamer" / "opencl"]
    roots.append(Path(tempfile.gettempdir()) / f"gossamer-{os.getuid()}")
    for root in roots:
        folder = root / f"icd-{digest}"
        try:
            if _holds(folder, entries):
                return folder
            root.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix="icd-", dir=root))
            for name, text in entries.items():
                (work / name).write_text(text)
            try:
                work.rename(folder)
            except OSError:  # another process wrote it first
                for p in work.iterdir():
                    p.unlink()
                work.rmdir()
            if _holds(folder, entries):
                return folder
        except OSError:
            continue
    return None


def _holds(folder: Path, entries: dict[str, str]) -> bool:
    if not folder.is_dir():
        return False
    try:
        have = {p.name: p.read_text() for p in folder.iterdir()}
    except OSError:
        return False
    return have == entries


def problems() -> list[str]:
    """Why a pip-installed runtime found here is not listed (empty when none is broken)."""
    return [r.problem for r in prepare() if r.problem]


def added_platforms() -> set[str]:
    """The platform names of the runtimes found here (device.py lists them last, so the default
    device stays the system's)."""
    return {r.spec.platform for r in prepare() if r.problem is None}
