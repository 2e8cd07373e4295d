"""The cropper reads and rewrites the cython backend's kernel tables (backend.py's TABLES)."""

from __future__ import annotations

import ast
from pathlib import Path

from gossamer.cython_kernels.backend import TABLES
from gossamer.tools.cropper.selection import kernel_table_modules
from gossamer.tools.cropper.staging import cropped_backend

ROOT = Path(__file__).resolve().parents[2]
KERNELS = "gossamer.cython_kernels"


def test_the_cropper_finds_every_kernel_table_of_the_backend():
    assert kernel_table_modules(ROOT) == {f"{KERNELS}.{m}": c for m, c in TABLES}


def test_a_cropped_backend_lists_only_the_kept_tables_in_order():
    dropped = {f"{KERNELS}.grad_kernels", f"{KERNELS}.rnn_kernels"}
    source = cropped_backend((ROOT / "cython_kernels/backend.py").read_text(), dropped, ROOT)
    (kept,) = [
        ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "TABLES"
    ]
    assert list(kept) == [t for t in TABLES if t[0] not in {"grad_kernels", "rnn_kernels"}]
