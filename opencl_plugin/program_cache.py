"""Built OpenCL programs: in memory per process, and as binaries on disk across processes.

A binary is keyed by the device identity (platform, device, driver version), a hash of the kernel
source and the build options. An entry is a header (magic, sha256 of the payload) and the payload;
one that is corrupt, truncated, stale or rejected by the driver is rebuilt from source and
rewritten (written to a temporary file and renamed, so a crash mid-write leaves no half entry).
Root: $GOSSAMER_CACHE_DIR/opencl, else ~/.cache/gossamer/opencl.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .device import Device

log = logging.getLogger("gossamer.opencl")

MAGIC = b"GSMOCL1\n"
BUILD_OPTIONS = "-cl-std=CL1.2"


def cache_root() -> Path:
    base = os.environ.get("GOSSAMER_CACHE_DIR", "").strip()
    root = Path(base) if base else Path.home() / ".cache" / "gossamer"
    return root / "opencl"


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


@dataclass
class CacheStats:
    """How programs were obtained in this process (what cold vs warm session creation differ in)."""

    memory_hits: int = 0
    disk_hits: int = 0
    builds: int = 0
    rebuilt_corrupt: int = 0
    build_seconds: float = 0.0
    events: list[str] = field(default_factory=list)


STATS = CacheStats()
_LOCK = threading.Lock()
_PROGRAMS: dict[tuple[int, str], Any] = {}  # (id of the context, key) -> built program


def entry_key(device: Device, source: str, options: str = BUILD_OPTIONS) -> str:
    ident = "\0".join([device.identity, source_hash(source), options])
    return hashlib.sha256(ident.encode()).hexdigest()


def entry_path(device: Device, source: str, options: str = BUILD_OPTIONS) -> Path:
    return cache_root() / f"{entry_key(device, source, options)}.bin"


def get_program(device: Device, source: str, options: str = BUILD_OPTIONS) -> Any:
    """The built program for `source` on `device`: from memory, else from disk, else compiled
    (and stored)."""
    import time

    key = entry_key(device, source, options)
    with _LOCK:
        found = _PROGRAMS.get((id(device.context), key))
        if found is not None:
            STATS.memory_hits += 1
            return found
        path = cache_root() / f"{key}.bin"
        program = _from_disk(device, path, options)
        if program is not None:
            STATS.disk_hits += 1
        else:
            start = time.perf_counter()
            with warnings.catch_warnings():  # PoCL's build log is not the user's business
                warnings.simplefilter("ignore")
                program = device.cl.Program(device.context, source).build(options=options)
            STATS.build_seconds += time.perf_counter() - start
            STATS.builds += 1
            _to_disk(path, program.get_info(device.cl.program_info.BINARIES)[0])
        _PROGRAMS[(id(device.context), key)] = program
        return program


def clear_memory() -> None:
    """Forgets the in-process programs (the disk cache stays): the next session is a warm start."""
    with _LOCK:
        _PROGRAMS.clear()


def _from_disk(device: Device, path: Path, options: str) -> Any:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    payload = data[len(MAGIC) + 32 :]
    ok = data[: len(MAGIC)] == MAGIC and data[len(MAGIC) : len(MAGIC) + 32] == (
        hashlib.sha256(payload).digest()
    )
    if ok and payload:
        try:
            cl = device.cl
            program = cl.Program(device.context, [device.device], [payload])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return program.build(options=options)
        except Exception as err:  # a driver that rejects the binary: rebuild from source
            log.info("OpenCL binary %s rejected (%s); rebuilding", path.name, err)
    STATS.rebuilt_corrupt += 1
    STATS.events.append(f"corrupt or stale cache entry {path.name} rebuilt")
    log.warning("OpenCL program cache entry %s is corrupt or stale; rebuilding", path)
    return None


def _to_disk(path: Path, binary: bytes) -> None:
    if not binary:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".bin")
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + hashlib.sha256(binary).digest() + bytes(binary))
        os.replace(tmp, path)
    except OSError as err:  # a read-only cache costs speed, never correctness
        log.warning("cannot write the OpenCL program cache %s: %s", path, err)
