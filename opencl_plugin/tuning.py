"""Local work sizes (searched per kernel x global size x device) and kernel variants (searched per
site, e.g. a convolution's algorithm per layer shape), persisted as JSON.

The table file is keyed by the device identity (platform, device, driver version) and the hash of
the kernel library source, so a driver update or a kernel change starts a fresh table. Without an
entry a fixed default per kernel shape is used (`default_local`): few distinct local sizes, because
PoCL compiles a work-group function per (kernel, local size) at the first launch — letting the
driver choose per global size made a first MobileNetV2 run take 17.7 s instead of 3.1 s here.
Root: $GOSSAMER_CACHE_DIR/opencl, else ~/.cache/gossamer/opencl. A corrupt table is ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .program_cache import cache_root

log = logging.getLogger("gossamer.opencl")

LocalSize = tuple[int, ...] | None
_LOCK = threading.Lock()
_TABLES: dict[str, TuningTable] = {}


class TuningTable:
    """launch key -> best local size, and site key -> chosen kernel variant (e.g. a convolution's
    algorithm), for one device and kernel source."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, list[int] | None] = {}
        self.choices: dict[str, str] = {}
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and isinstance(data.get("entries"), dict):
                self.entries = data["entries"]
            if isinstance(data, dict) and isinstance(data.get("choices"), dict):
                self.choices = {k: v for k, v in data["choices"].items() if isinstance(v, str)}
        except (OSError, ValueError):
            pass

    def local_size(self, key: str) -> LocalSize:
        found = self.entries.get(key)
        return tuple(found) if found else None

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                table = {"entries": self.entries, "choices": self.choices}
                json.dump(table, f, indent=0, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as err:
            log.warning("cannot write the OpenCL tuning table %s: %s", self.path, err)


def table_for(identity: str, source_hash: str) -> TuningTable:
    key = hashlib.sha256(f"{identity}\0{source_hash}".encode()).hexdigest()[:24]
    path = cache_root() / f"tuning-{key}.json"
    with _LOCK:
        if str(path) not in _TABLES:
            _TABLES[str(path)] = TuningTable(path)
        return _TABLES[str(path)]


_GEMM_TILES = ("gemm_f32", "gemm_float_f32", "gemm_wide_f32", "gemm_float_wide_f32")


def default_local(kernel: str, gsize: tuple[int, ...]) -> tuple[int, ...]:
    """The local size used without a tuned entry (global sizes are rounded up to it): groups of
    some size (PoCL pays per work-group), shrunk along axes that are short, so rounding the
    global size up idles few work-items; powers of two, so few variants are compiled."""
    if len(gsize) == 1:
        if kernel == "reduce_f32" and gsize[0] >= 64:  # long rows each: 4+ groups, both cores
            return (min(256, max(16, _pow2(gsize[0]) // 4)),)
        return (min(256, _pow2(gsize[0])),)
    target, first = (16, 4) if kernel in _GEMM_TILES else (64, 16)
    lx = min(first, _pow2(gsize[0]))
    ly = min(max(1, target // lx), _pow2(gsize[1]))
    if len(gsize) < 3:
        return (lx, ly)
    # short rows over many channels (a depthwise 5x5 on a 2x96 map, 200 channels): a group per
    # channel made PoCL's per-group cost the kernel's; take several channels per group while the
    # launch still has 32 groups. Kernels do not bound-check axis 2: lz divides it.
    items = gsize[0] * gsize[1] * gsize[2]
    cap = max(1, min(256, max(target, _pow2(items // 32))) // (lx * ly))
    lz = 1
    while lz * 2 <= cap and gsize[2] % (lz * 2) == 0:
        lz *= 2
    return (lx, ly, lz)


def _pow2(n: int) -> int:
    return 1 << max(0, (max(n, 1) - 1).bit_length())


def candidates(kernel: str, gsize: tuple[int, ...], max_wg: int) -> list[LocalSize]:
    """The default, then power-of-two local sizes along the first two axes."""
    out: list[LocalSize] = [default_local(kernel, gsize)]
    for lx in (1, 2, 4, 8, 16, 32, 64):
        for ly in (1, 2, 4, 8) if len(gsize) > 1 else (1,):
            if lx * ly > max_wg or lx > gsize[0] * 2 or (len(gsize) > 1 and ly > gsize[1] * 2):
                continue
            option = (lx, ly, 1)[: len(gsize)]
            if option not in out:
                out.append(option)
    return out


MARGIN = 0.9  # another option must beat the first (the default) by 10 %: timing noise is not a win


def search(run: Callable[[LocalSize], None], options: list[LocalSize], budget: float) -> LocalSize:
    """The option with the least time (best of five runs), the first one unless another is at
    least 10 % faster; every option is tried while `budget` seconds last."""
    best: tuple[float, LocalSize] | None = None
    deadline = time.perf_counter() + budget
    for option in options:
        run(option)  # warm-up: PoCL compiles the work-group function per local size
        times = []
        for _ in range(5):
            start = time.perf_counter()
            run(option)
            times.append(time.perf_counter() - start)
        t = min(times)
        if best is None:
            best = (t * MARGIN, option)
        elif t < best[0]:
            best = (t, option)
        if time.perf_counter() > deadline:
            break
    return best[1] if best else None


def rounded(gsize: tuple[int, ...], local: LocalSize) -> tuple[int, ...]:
    """gsize rounded up to a multiple of local (kernels check their bounds)."""
    if local is None:
        return gsize
    return tuple(-(-g // max(lz, 1)) * lz for g, lz in zip(gsize, local))
