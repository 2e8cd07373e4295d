"""Training checkpoints: one `.npz` (no pickle) of named arrays plus a JSON header, written
atomically (a temporary file in the same folder, fsync, rename), so a crash during a save leaves
the previous checkpoints intact and never a half-written one under a checkpoint's name.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError

META = "__meta__"
_NAME = re.compile(r"^epoch-(\d{6})\.npz$")


def save_checkpoint(
    folder: str | os.PathLike, epoch: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]
) -> Path:
    """Writes `<folder>/epoch-<epoch>.npz` atomically; returns its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"epoch-{epoch:06d}.npz"
    header = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".partial-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            contents: dict[str, Any] = {META: header, **arrays}
            np.savez(f, **contents)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, meta) of a checkpoint written by `save_checkpoint`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.array(data[k]) for k in data.files}
        meta = json.loads(arrays.pop(META).tobytes().decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ModelFormatError(f"checkpoint {os.fspath(path)!r} cannot be read: {err}") from err
    return arrays, meta


def checkpoints(folder: str | os.PathLike) -> list[Path]:
    """The complete checkpoints in `folder`, oldest first (partial files are ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _NAME.match(p.name))


def prune(folder: str | os.PathLike, keep: int) -> None:
    """Deletes all but the newest `keep` checkpoints, and partial files a crash left behind."""
    for path in checkpoints(folder)[:-keep] if keep > 0 else []:
        path.unlink(missing_ok=True)
    for path in Path(folder).glob(".partial-*.npz"):
        path.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Makes the rename itself durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
