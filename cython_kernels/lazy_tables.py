"""The cython backend's kernels, imported one kernel table at a time.

`LazyKernels` is the backend's `kernels` mapping (reference function -> Kernel). A lookup of a
reference imports only the tables that declare kernels for its (domain, op type), found in the
static index kernel_index.py; listing every kernel (`gossamer ops`, conformance, a subclass)
imports them all. The mapping equals the eager composition of the tables (a class with the
tables as bases, in `tables` order: an earlier table's kernel wins where two declare one).

A table is a (module, class) pair. One module may hold several, one per op family, built on
first access (`tables_on_access`): importing the module then imports no reference-op module,
and a lookup imports only its family's (copy_kernels: five ops in five reference modules).

Regenerate the index after adding or moving a kernel (tests/cython_kernels/test_lazy_tables.py
fails until then):

    python -m gossamer.cython_kernels.backend
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from ..plugins.backend import Kernel, KernelBackend
from ..refimpl.registry import OpFunction, spec_of
from .kernel_index import TABLES_OF

_DELETED = object()  # an override that removes a kernel


def table_name(module: str, cls: str) -> str:
    """How the index names the table `cls` of `module`."""
    return f"{module}.{cls}"


class LazyKernels(MutableMapping[OpFunction, Kernel]):
    """reference function -> Kernel, importing the kernel tables as their ops are asked for."""

    def __init__(self, package: str, tables: tuple[tuple[str, str], ...]) -> None:
        self._package = package
        self._tables = tables  # (module, class), highest priority first
        self._names = {table_name(m, c): (m, c) for m, c in tables}  # a cropped build ships fewer
        self._loaded: dict[tuple[str, str], type[KernelBackend]] = {}  # (module, class) -> class
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
        names = self._names
        self._load([names[n] for n in TABLES_OF.get(key, ()) if n in names], key)

    def _load(self, tables: list[tuple[str, str]], key: tuple[str, str] | None = None) -> None:
        with self._lock:
            missing = [t for t in tables if t not in self._loaded]
            for module, cls in missing:
                found = importlib.import_module(f"{self._package}.{module}")
                self._loaded[(module, cls)] = getattr(found, cls)
            if missing:
                self._table = self._compose()  # swapped whole: readers never see it half-built
            if key is not None:
                self._ready.add(key)

    def _compose(self) -> dict[OpFunction, Kernel]:
        """What a class with the loaded tables as bases would collect (KernelBackend's rule)."""
        found: dict[OpFunction, Kernel] = {}
        for table in reversed(self._tables):
            if table in self._loaded:
                found.update(self._loaded[table].kernels)
        for reference, value in self._overrides.items():
            if value is _DELETED:
                found.pop(reference, None)
            else:
                found[reference] = value
        return found

    def load_all(self) -> None:
        """Imports every table (listing the kernels needs them all)."""
        if len(self._loaded) < len(self._tables):
            self._load(list(self._tables))

    def loaded_modules(self) -> list[str]:
        """The table modules imported so far, in priority order (each once)."""
        return list(dict.fromkeys(m for m, c in self._tables if (m, c) in self._loaded))

    def loaded_tables(self) -> list[str]:
        """The tables loaded so far ("module.Class"), in priority order."""
        return [table_name(*t) for t in self._tables if t in self._loaded]

    def all_tables(self) -> dict[str, type[KernelBackend]]:
        """Every table, loaded: "module.Class" -> class, in priority order."""
        self.load_all()
        return {table_name(*t): self._loaded[t] for t in self._tables}

    def module_of(self, reference: OpFunction) -> str | None:
        """The full name of the table module whose kernel serves `reference`, if one does."""
        self._load_op(reference)
        for table in self._tables:
            cls = self._loaded.get(table)
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
        return f"<LazyKernels: {len(self._loaded)} of {len(self._tables)} tables loaded>"


def tables_on_access(
    module: str, families: Mapping[str, Callable[[], dict[str, Kernel]]]
) -> Callable[[str], type[KernelBackend]]:
    """A module-level `__getattr__` for `module` that builds its table class `name` (a
    KernelBackend holding the kernels `families[name]()` returns: that function imports its
    reference ops) on first access, and keeps it as a module attribute."""
    lock = threading.RLock()

    def __getattr__(name: str) -> type[KernelBackend]:
        build = families.get(name)
        if build is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        namespace = vars(sys.modules[module])
        with lock:  # two threads asking at once get one class
            if name not in namespace:
                doc = f"{name} of {module} (mixed into CythonBackend)."
                body = {"__module__": module, "__qualname__": name, "__doc__": doc, **build()}
                namespace[name] = type(name, (KernelBackend,), body)
        return namespace[name]  # type: ignore[no-any-return]

    return __getattr__


def index_of(tables: dict[str, type[KernelBackend]]) -> dict[tuple[str, str], tuple[str, ...]]:
    """(domain, op type) -> the tables (of `tables`, "module.Class" -> class) declaring a kernel
    for it."""
    index: dict[tuple[str, str], list[str]] = {}
    for name, cls in tables.items():
        for reference in cls.kernels:
            spec = spec_of(reference)
            owners = index.setdefault((spec.domain, spec.op_type), [])
            if name not in owners:
                owners.append(name)
    return {key: tuple(sorted(index[key])) for key in sorted(index)}


def index_text(index: dict[tuple[str, str], tuple[str, ...]]) -> str:
    """kernel_index.py's source."""
    lines = [
        '"""Generated by `python -m gossamer.cython_kernels.backend`; do not edit.',
        "(domain, op type) -> the kernel tables (module.Class) of the cython backend declaring a",
        'kernel for it (tests/cython_kernels/test_lazy_tables.py checks it against the tables)."""',
        "",
        "TABLES_OF: dict[tuple[str, str], tuple[str, ...]] = {",
    ]
    # double quotes, as ruff format writes them (op and module names hold no quotes)
    lines += [f"    {key!r}: {modules!r},".replace("'", '"') for key, modules in index.items()]
    return "\n".join([*lines, "}"]) + "\n"
