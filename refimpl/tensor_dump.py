"""Dump mode: an observer that writes every tensor a run produces to a folder, for debugging.

Each tensor becomes `<index>_<safe name>.npy` (written with allow_pickle=False; strings are stored
as unicode arrays); `index.json` lists, in execution order, the node, op, and for every output its
original name, file, dtype and shape. Sequences write one file per element.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .interpreter import describe_value
from .ir import Node

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class TensorDumper:
    """Writes inputs and every node output of a run into `folder`."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.entries: list[dict[str, Any]] = []
        self._count = 0

    def dump_feeds(self, feeds: dict[str, Any]) -> None:
        files = [self._write(name, value) for name, value in feeds.items()]
        self.entries.append({"node": None, "op_type": "<input>", "outputs": files})
        self._flush()

    def before_node(self, node: Node, inputs: Sequence[Any]) -> None:
        pass

    def after_node(self, node: Node, inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
        files = [self._write(name, value) for name, value in zip(node.outputs, outputs) if name]
        self.entries.append({"node": node.name, "op_type": node.op_type, "outputs": files})
        self._flush()

    def _write(self, name: str, value: Any) -> dict[str, Any]:
        self._count += 1
        stem = f"{self._count:05d}_{_UNSAFE.sub('_', name)[:80]}"
        entry: dict[str, Any] = {"name": name, "type": describe_value(value)}
        if isinstance(value, np.ndarray):
            entry["file"] = self._save(stem, value)
        elif isinstance(value, list):
            entry["files"] = [self._save(f"{stem}.{i}", v) for i, v in enumerate(value)]
        return entry

    def _save(self, stem: str, array: np.ndarray) -> str:
        if array.dtype == object:
            array = array.astype(str)
        elif array.dtype.kind == "V":  # ml_dtypes (bfloat16, float8, int4): .npy cannot name them
            array = array.astype(np.float32)
        np.save(self.folder / f"{stem}.npy", array, allow_pickle=False)
        return f"{stem}.npy"

    def _flush(self) -> None:
        (self.folder / "index.json").write_text(json.dumps(self.entries, indent=1))
