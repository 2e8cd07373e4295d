"""The op registry: which reference function defines (domain, op_type) at a given opset.

An op is a plain function marked with `@reference_op(op_type, since=N)`; the mark only attaches
metadata, so op modules stay pure. `default_registry()` knows every `refimpl/ops/op_*.py` from the
index `ops/_index.py` and imports an op's module the first time the op is resolved; for a node at
opset V the highest `since <= V` wins.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import GraphValidationError

OpFunction = Callable[..., Any]


@dataclass(frozen=True)
class OpSpec:
    """What the mark records about one versioned reference function."""

    op_type: str
    since: int
    domain: str
    dtypes: frozenset[str] | None  # allowed dtypes of input 0; None = any


def reference_op(
    op_type: str, *, since: int, domain: str = "", dtypes: Iterable[str] | None = None
) -> Callable[[OpFunction], OpFunction]:
    """Marks a function as the reference semantics of `domain::op_type` from opset `since` on."""

    def mark(fn: OpFunction) -> OpFunction:
        fn.__gossamer_op__ = OpSpec(  # type: ignore[attr-defined]
            op_type, since, domain, frozenset(dtypes) if dtypes is not None else None
        )
        return fn

    return mark


def spec_of(fn: OpFunction) -> OpSpec:
    spec = getattr(fn, "__gossamer_op__", None)
    if not isinstance(spec, OpSpec):
        raise TypeError(f"{fn!r} is not marked with @reference_op")
    return spec


class OpRegistry:
    """Maps (domain, op_type) to its versioned reference functions.

    Ops may be registered lazily: `defer(key, module)` names the module that defines an op, which
    is imported the first time the op is resolved (so loading a model imports only its ops).
    """

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], dict[int, OpFunction]] = {}
        self._deferred: dict[tuple[str, str], str] = {}  # op -> module not imported yet

    def register(self, fn: OpFunction) -> None:
        spec = spec_of(fn)
        versions = self._versions.setdefault((spec.domain, spec.op_type), {})
        if spec.since in versions and versions[spec.since] is not fn:
            raise GraphValidationError(
                f"op {spec.domain or 'ai.onnx'}::{spec.op_type} since {spec.since} is defined "
                "twice: "
                f"{versions[spec.since].__module__} and {fn.__module__}"
            )
        versions[spec.since] = fn

    def defer(self, key: tuple[str, str], module: str) -> None:
        """Records that `module` defines op `key`; it is imported when the op is first needed."""
        if key not in self._versions:
            self._deferred[key] = module

    def _load(self, key: tuple[str, str]) -> None:
        if key not in self._deferred:
            return
        # one thread imports; another asking meanwhile waits instead of seeing no op
        with _LOAD_LOCK:
            module = self._deferred.get(key)
            if module is not None:
                for fn in marked_functions(importlib.import_module(module)):
                    self.register(fn)
                del self._deferred[key]  # only once registered: the check above skips the lock

    def resolve(self, domain: str, op_type: str, opset: int) -> OpFunction | None:
        """The function with the highest `since <= opset`, or None if none applies."""
        key = (_canonical_domain(domain), op_type)
        self._load(key)
        versions = self._versions.get(key)
        if not versions:
            return None
        eligible = [v for v in versions if v <= opset]
        return versions[max(eligible)] if eligible else None

    def versions(self, domain: str, op_type: str) -> list[int]:
        key = (_canonical_domain(domain), op_type)
        self._load(key)
        return sorted(self._versions.get(key, {}))

    def op_types(self) -> list[tuple[str, str]]:
        return sorted(set(self._versions) | set(self._deferred))

    def functions(self) -> list[OpFunction]:
        for key in list(self._deferred):
            self._load(key)
        return [fn for vs in self._versions.values() for fn in vs.values()]

    def copy(self) -> OpRegistry:
        other = OpRegistry()
        other._versions = {k: dict(v) for k, v in self._versions.items()}
        other._deferred = dict(self._deferred)
        return other


_LOAD_LOCK = threading.RLock()  # guards the import of deferred op modules


def _canonical_domain(domain: str) -> str:
    return "" if domain in ("", "ai.onnx") else domain


def marked_functions(module: ModuleType) -> list[OpFunction]:
    """The @reference_op functions a module defines (not those it imports)."""
    return [
        fn
        for _, fn in inspect.getmembers(module, inspect.isfunction)
        if isinstance(getattr(fn, "__gossamer_op__", None), OpSpec)
        and fn.__module__ == module.__name__
    ]


def scan_op_index() -> dict[tuple[str, str], str]:
    """(domain, op_type) -> defining module, found by importing every `refimpl/ops/op_*.py`."""
    from . import ops

    index: dict[tuple[str, str], str] = {}
    for info in sorted(pkgutil.iter_modules(ops.__path__), key=lambda m: m.name):
        if info.name.startswith("op_"):
            for fn in marked_functions(importlib.import_module(f"{ops.__name__}.{info.name}")):
                spec = spec_of(fn)
                index[(spec.domain, spec.op_type)] = info.name
    return index


@lru_cache(maxsize=1)
def default_registry() -> OpRegistry:
    """The registry of every op in `refimpl/ops`. Op modules listed in `ops/_index.py` are imported
    on first use; any op module the index does not list is imported now (the index only saves
    time; tests/refimpl/test_op_index.py keeps it complete)."""
    from . import ops
    from .ops._index import OP_MODULES

    registry = OpRegistry()
    listed = set(OP_MODULES.values())
    for key, module in OP_MODULES.items():
        registry.defer(key, f"{ops.__name__}.{module}")
    for info in pkgutil.iter_modules(ops.__path__):
        if info.name.startswith("op_") and info.name not in listed:
            for fn in marked_functions(importlib.import_module(f"{ops.__name__}.{info.name}")):
                registry.register(fn)
    from .grad._index import GRAD_MODULES  # VJPs are reference ops too (refimpl/grad/)

    for key, module in GRAD_MODULES.items():
        registry.defer(key, f"{__name__.rpartition('.')[0]}.grad.{module}")
    return registry


def write_op_index(path: str | None = None) -> str:
    """Regenerates `refimpl/ops/_index.py` from a full scan; returns its text."""
    from . import ops

    lines = [
        '"""(domain, op_type) -> the op module defining it, so a session imports only the ops its',
        "model uses. Generated by `python -m gossamer.refimpl.registry`; tests/refimpl/",
        'test_op_index.py fails when it is out of date."""',
        "",
        "OP_MODULES: dict[tuple[str, str], str] = {",
    ]
    lines += [  # the quotes ruff format would choose, so a regenerated file stays formatted
        f'    ("{domain}", "{op}"): "{module}",'
        for (domain, op), module in sorted(scan_op_index().items())
    ]
    lines.append("}")
    text = "\n".join(lines) + "\n"
    target = path or str(Path(ops.__file__).parent / "_index.py")
    Path(target).write_text(text)
    return text


if __name__ == "__main__":  # run as a script, this file is a second copy: use the package's
    import importlib as _importlib

    _importlib.import_module("gossamer.refimpl.registry").write_op_index()
