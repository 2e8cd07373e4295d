"""The cython backend's kernels, imported one kernel table at a time.

`LazyKernels` is the backend's `kernels` mapping (reference function -> Kernel). A lookup of a
reference imports only the tables that declare kernels for its (domain, op type), found in the
static index kernel_index.py; listing every kernel (`gossamer ops`, conformance, a subclass)
imports them all. The mapping equals the eager composition of the tables (a class with the
tables as bases, in `tables` order: an earlier table's kernel wins where two declare one).

Regenerate the index after adding or moving a kernel (tests/cython_kernels/test_lazy_tables.py
fails until then):

    python -m gossamer.cython_kernels.backend
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

from ..plugins.backend import Kernel, KernelBackend
from ..refimpl.registry import OpFunction, spec_of
from .kernel_index import TABLES_OF

_DELETED = object()  # an override that removes a kernel


class LazyKernels(MutableMapping[OpFunction, Kernel]):
    """reference function -> Kernel, importing the kernel tables as their ops are asked for."""

    def __init__(self, package: str, tables: tuple[tuple[str, str], ...]) -> None:
        self._package = package
        self._tables = tables  # (module, class), highest priority first
        self._known = {module for module, _ in tables}  # a cropped build ships fewer
        self._loaded: dict[str, type[KernelBackend]] = {}  # module -> its table class
        self._ready: set[tuple[str, str]] = set()  # (domain, op_type) whose tables are loaded
        self._table: dict[OpFunction, Kernel] = {}
        self._overrides: dict[OpFunction, Any] = {}  # set or deleted by a caller
        self._lock = threading.RLock()

    def _load_op(self, reference: OpFunction) -> None:
        spec = getattr(reference, "__gossamer_op__", None)
        if spec is None:  # not a reference function: no kernel
            return
        key = (spec.domain, spec.op_type)
        if key in self._ready:
            return
        self._load([m for m in TABLES_OF.get(key, ()) if m in self._known], key)

    def _load(self, modules: list[str], key: tuple[str, str] | None = None) -> None:
        with self._lock:
            missing = [m for m in modules if m not in self._loaded]
            for module in missing:
                cls = dict(self._tables)[module]
                found = importlib.import_module(f"{self._package}.{module}")
                self._loaded[module] = getattr(found, cls)
            if missing:
                self._table = self._compose()  # swapped whole: readers never see it half-built
            if key is not None:
                self._ready.add(key)

    def _compose(self) -> dict[OpFunction, Kernel]:
        """What a class with the loaded tables as bases would collect (KernelBackend's rule)."""
        found: dict[OpFunction, Kernel] = {}
        for module, _ in reversed(self._tables):
            if module in self._loaded:
                found.update(self._loaded[module].kernels)
        for reference, value in self._overrides.items():
            if value is _DELETED:
                found.pop(reference, None)
            else:
                found[reference] = value
        return found

    def load_all(self) -> None:
        """Imports every table (listing the kernels needs them all)."""
        if len(self._loaded) < len(self._tables):
            self._load([module for module, _ in self._tables])

    def loaded_modules(self) -> list[str]:
        """The table modules imported so far, in priority order."""
        return [module for module, _ in self._tables if module in self._loaded]

    def all_tables(self) -> dict[str, type[KernelBackend]]:
        """Every table, imported: module -> class, in priority order."""
        self.load_all()
        return {module: self._loaded[module] for module, _ in self._tables}

    def module_of(self, reference: OpFunction) -> str | None:
        """The full name of the table module whose kernel serves `reference`, if one does."""
        self._load_op(reference)
        for module, _ in self._tables:
            cls = self._loaded.get(module)
            if cls is not None and reference in cls.kernels:
                return cls.__module__
        return None

    def __getitem__(self, reference: OpFunction) -> Kernel:
        self._load_op(reference)
        return self._table[reference]

    def __setitem__(self, reference: OpFunction, value: Kernel) -> None:
        self._load_op(reference)
        with self._lock:
            self._overrides[reference] = value
            self._table = self._compose()

    def __delitem__(self, reference: OpFunction) -> None:
        self._load_op(reference)
        with self._lock:
            if reference not in self._table:
                raise KeyError(reference)
            self._overrides[reference] = _DELETED
            self._table = self._compose()

    def __iter__(self) -> Iterator[OpFunction]:
        self.load_all()
        return iter(self._table)

    def __len__(self) -> int:
        self.load_all()
        return len(self._table)

    def __repr__(self) -> str:
        return f"<LazyKernels: {len(self._loaded)} of {len(self._tables)} tables imported>"


def index_of(tables: dict[str, type[KernelBackend]]) -> dict[tuple[str, str], tuple[str, ...]]:
    """(domain, op type) -> the modules (of `tables`, module -> class) declaring a kernel for it."""
    index: dict[tuple[str, str], list[str]] = {}
    for module, cls in tables.items():
        for reference in cls.kernels:
            spec = spec_of(reference)
            owners = index.setdefault((spec.domain, spec.op_type), [])
            if module not in owners:
                owners.append(module)
    return {key: tuple(sorted(index[key])) for key in sorted(index)}


def index_text(index: dict[tuple[str, str], tuple[str, ...]]) -> str:
    """kernel_index.py's source."""
    lines = [
        '"""Generated by `python -m gossamer.cython_kernels.backend`; do not edit.',
        "(domain, op type) -> the kernel-table modules of the cython backend declaring a kernel",
        'for it (tests/cython_kernels/test_lazy_tables.py checks it against the tables)."""',
        "",
        "TABLES_OF: dict[tuple[str, str], tuple[str, ...]] = {",
    ]
    # double quotes, as ruff format writes them (op and module names hold no quotes)
    lines += [f"    {key!r}: {modules!r},".replace("'", '"') for key, modules in index.items()]
    return "\n".join([*lines, "}"]) + "\n"
