"""How many threads numpy's BLAS may use, set for the duration of a run.

The reference's MatMul, Gemm and Einsum run on numpy, whose BLAS (OpenBLAS in numpy's wheels)
starts its own thread team, which joins at the end of every call, while a native backend's
kernels run on their own workers (the cython backend's thread pool, whose idle workers spin
briefly after each kernel). In a model that mixes reference and native nodes both teams then fight
for the same cores, and a run becomes erratic (measured on a 2-core machine with the earlier
OpenMP kernels: 16 ms, then 144 ms, against 3.2 ms with one thread). A session
whose nodes run partly on a native backend therefore runs the reference's BLAS on one thread
(`blas_thread_limit(1)`), and puts the previous setting back after the run.

Only the BLAS libraries numpy loads are handled: OpenBLAS under its usual symbol names (numpy's
own `scipy_openblas64_`, a system `openblas`) and MKL. First the BLAS numpy's own extension
(`_multiarray_umath`) links: its symbols are looked up through that extension's handle (`dlopen`
with RTLD_NOLOAD, which loads nothing new; `dlsym` on a handle searches the object and the
libraries it depends on), ~0.05-0.1 ms of a process's first run. Then a numpy wheel's bundled BLAS
(in the `numpy.libs` folder beside the package) when it is loaded, ~0.25 ms; otherwise the BLAS
libraries are found among the loaded shared objects (Linux: /proc/self/maps), ~1 ms (the kernel
writing the maps file, ~35 KB, and scanning it). Where none is found (another platform or BLAS),
the limit does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

# (getter, setter) symbol names per BLAS flavour, in the order tried
_SYMBOLS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
    ("MKL_Get_Max_Threads", "MKL_Set_Num_Threads"),
)
_LOCK = threading.Lock()


class _Blas:
    """One loaded BLAS library's thread-count getter and setter; `path`: the shared object they
    were looked up in (the library, or numpy's extension that links it)."""

    def __init__(self, get: Callable[[], int], set_: Callable[[int], None], path: str) -> None:
        self.get, self.set, self.path = get, set_, path


def _is_blas(path: str) -> bool:
    low = path.lower()
    return ("blas" in low or "mkl" in low) and ".so" in low


def _bundled_libraries(numpy_file: str | None) -> list[str]:
    """The BLAS shared objects in the `numpy.libs` folder of the numpy at `numpy_file` (its
    __init__.py), loaded or not; [] where there is no such folder."""
    if not numpy_file:
        return []
    folder = os.path.join(os.path.dirname(os.path.dirname(numpy_file)), "numpy.libs")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, n) for n in names if _is_blas(n))


def _loaded_libraries() -> list[str]:
    # bytes, and only the lines naming blas or mkl split: a process's first run pays for this
    try:
        with open("/proc/self/maps", "rb") as f:
            maps = f.read()
    except OSError:
        return []
    lowered = maps.lower()
    names = set()
    for key in (b"blas", b"mkl"):
        at = lowered.find(key)
        while at >= 0:
            end = maps.find(b"\n", at)
            end = len(maps) if end < 0 else end
            fields = maps[maps.rfind(b"\n", 0, at) + 1 : end].split()
            path = fields[-1].decode(errors="replace") if fields else ""
            if path.startswith("/") and _is_blas(path):
                names.add(path)
            at = lowered.find(key, end)
    return sorted(names)


@cache
def loaded_blas() -> tuple[_Blas, ...]:
    """The BLAS libraries loaded in this process whose thread count can be set: the one numpy's
    extension links, else numpy's bundled one where it is loaded, else those among the process's
    loaded shared objects."""
    import numpy  # (numpy loads its BLAS on import)

    no_load = getattr(os, "RTLD_NOLOAD", None)
    if no_load is not None:  # dlopen fails for a library not loaded already
        mode = no_load | os.RTLD_NOW
        found = _usable(_numpy_extension(), mode)  # the BLAS numpy links
        if found:
            return found
        found = _usable(_bundled_libraries(getattr(numpy, "__file__", None)), mode)
        if found:
            return found
    return _usable(_loaded_libraries(), ctypes.DEFAULT_MODE)


def _numpy_extension() -> list[str]:
    """The file of numpy's loaded `_multiarray_umath` extension (numpy 2's `numpy._core`, 1's
    `numpy.core`), which links its BLAS; [] when neither is loaded or it has no file."""
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        path = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(path, str) and path:
            return [path]
    return []


def _usable(paths: list[str], mode: int) -> tuple[_Blas, ...]:
    """The libraries of `paths` that open with `mode` and have a known thread-count getter and
    setter."""
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=mode)
        except OSError:
            continue
        for get_name, set_name in _SYMBOLS:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                getter, setter = getattr(lib, get_name), getattr(lib, set_name)
                getter.restype, getter.argtypes = ctypes.c_int, []
                setter.restype, setter.argtypes = None, [ctypes.c_int]
                found.append(_Blas(getter, setter, path))
                break
    return tuple(found)


_active = 0  # runs inside a limit now (runs may overlap in several Python threads)
_saved: list[int] = []


@contextmanager
def blas_thread_limit(threads: int | None) -> Iterator[None]:
    """Caps every loaded BLAS at `threads` inside the block (None: leaves them as they are). The
    first block to enter sets the cap and the last to leave restores the previous counts, so
    overlapping runs in several threads share one cap (the first one's)."""
    entered = enter_limit(threads)
    try:
        yield
    finally:
        leave_limit(entered)


def enter_limit(threads: int | None) -> bool:
    """What entering `blas_thread_limit(threads)` does, as a plain call (a Session's run makes it
    without a generator); returns whether a cap was entered: pass that to `leave_limit`. A BLAS
    already at `threads` is not set again."""
    global _active, _saved
    libs = loaded_blas() if threads is not None else ()
    if not libs:
        return False
    with _LOCK:
        if _active == 0:
            _saved = [lib.get() for lib in libs]
            for lib, was in zip(libs, _saved):
                if was != threads:
                    lib.set(threads)  # type: ignore[arg-type]
        _active += 1
    return True


def leave_limit(entered: bool) -> None:
    """Undoes `enter_limit` (the last run to leave restores the previous counts)."""
    global _active
    if not entered:
        return
    libs = loaded_blas()
    with _LOCK:
        _active -= 1
        if _active == 0:
            for lib, was in zip(libs, _saved):
                if lib.get() != was:
                    lib.set(was)
