"""The op registry: which reference function defines (domain, op_type) at a given opset.

An op is a plain function marked with `@reference_op(op_type, since=N)`; the mark only attaches
metadata, so op modules stay pure. `default_registry()` knows every `refimpl/ops/op_*.py` from the
index `ops/_index.py` and imports an op's module the first time the op is resolved; for a node at
opset V the highest `since <= V` wins.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import GraphValidationError

OpFunction = Callable[..., Any]
log = logging.getLogger(__name__)
# op types whose outputs are not a function of their inputs alone (random draws; Dropout, random
# in training mode): never folded into constants or computed ahead of a run
NONDETERMINISTIC_OPS = frozenset(
    "RandomNormal RandomUniform RandomNormalLike RandomUniformLike Multinomial Bernoulli "
    "Dropout".split()
)


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
    is imported the first time the op is resolved (so loading a model imports only its ops);
    `defer_domain(domain, entries)` defers reading a whole domain's list of such modules. A
    registry built from an index that may be out of date is given `when_stale(recheck)`: called
    once, the first time the index fails it (an op it does not list is asked for, a module it names
    is gone or does not define its op, or every op is listed), to register what the index missed.
    """

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], dict[int, OpFunction]] = {}
        self._deferred: dict[tuple[str, str], str] = {}  # op -> module not imported yet
        # domain -> its (op -> module) list, not read yet
        self._deferred_domains: dict[str, Callable[[], dict[tuple[str, str], str]]] = {}
        self._recheck: Callable[[OpRegistry], None] | None = None
        # (domain, op_type, opset) -> what resolve gave: a load asks ~3 times per node; cleared
        # (and its generation moved on) by anything that may change an answer
        self._resolved: dict[tuple[str, str, int], OpFunction | None] = {}
        self._generation = 0
        self._memo_lock = threading.Lock()

    def _forget_resolved(self) -> None:
        with self._memo_lock:
            self._generation += 1
            self._resolved.clear()

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
        self._forget_resolved()  # after the change: an answer read before it is not kept

    def defer(self, key: tuple[str, str], module: str) -> None:
        """Records that `module` defines op `key`; it is imported when the op is first needed."""
        if key not in self._versions:
            self._deferred[key] = module
        self._forget_resolved()

    def defer_domain(self, domain: str, entries: Callable[[], dict[tuple[str, str], str]]) -> None:
        """Records that `entries()` lists the ops of `domain` (op -> module, as `defer` takes);
        it is called when an op of that domain is first asked for, or every op is listed."""
        self._deferred_domains[_canonical_domain(domain)] = entries
        self._forget_resolved()

    def when_stale(self, recheck: Callable[[OpRegistry], None]) -> None:
        """Sets what registers the ops a deferral index missed (see the class docstring)."""
        self._recheck = recheck

    def import_module(self, module: str) -> None:
        """Imports `module` now and registers its ops (dropping deferrals that name it)."""
        with _LOAD_LOCK:
            for fn in marked_functions(importlib.import_module(module)):
                self.register(fn)
            for key in [k for k, m in self._deferred.items() if m == module]:
                del self._deferred[key]

    def _load_domain(self, domain: str) -> None:
        if domain not in self._deferred_domains:
            return
        with _LOAD_LOCK:
            entries = self._deferred_domains.get(domain)
            if entries is not None:
                for key, module in entries().items():
                    self.defer(key, module)
                del self._deferred_domains[domain]  # only once deferred: see _load

    def _load(self, key: tuple[str, str]) -> None:
        self._load_domain(key[0])
        if key not in self._deferred:
            if key not in self._versions:
                self._stale()  # an op the index does not list: it may be out of date
            return
        # one thread imports; another asking meanwhile waits instead of seeing no op
        with _LOAD_LOCK:
            module = self._deferred.get(key)
            if module is None:
                return
            try:
                found = importlib.import_module(module)
            except ModuleNotFoundError as err:
                if err.name != module:  # the op module exists but imports something missing
                    raise
                found = None  # removed since the index was written
            for fn in marked_functions(found) if found is not None else ():
                self.register(fn)
            del self._deferred[key]  # only once registered: the check above skips the lock
            if key not in self._versions:  # the index named a module that no longer defines it
                self._stale()

    def _stale(self) -> None:
        if self._recheck is None:  # checked already (or nothing to check)
            return
        with _LOAD_LOCK:
            recheck, self._recheck = self._recheck, None
            if recheck is not None:
                recheck(self)

    def resolve(self, domain: str, op_type: str, opset: int) -> OpFunction | None:
        """The function with the highest `since <= opset`, or None if none applies."""
        asked = (domain, op_type, opset)
        found = self._resolved.get(asked, _UNKNOWN)
        if found is not _UNKNOWN:
            return found  # type: ignore[return-value]
        key = (_canonical_domain(domain), op_type)
        self._load(key)  # (may register: the generation is read after it)
        generation = self._generation
        versions = self._versions.get(key)
        eligible = [v for v in versions if v <= opset] if versions else None
        fn = versions[max(eligible)] if eligible else None  # type: ignore[index]
        with self._memo_lock:  # not an answer from before a registration that changed it
            if self._generation == generation:
                self._resolved[asked] = fn
        return fn

    def versions(self, domain: str, op_type: str) -> list[int]:
        key = (_canonical_domain(domain), op_type)
        self._load(key)
        return sorted(self._versions.get(key, {}))

    def knows(self, domain: str, op_type: str) -> bool:
        """Whether any version of the op is registered (importing its module if deferred)."""
        key = (_canonical_domain(domain), op_type)
        self._load(key)
        return key in self._versions

    def op_types(self) -> list[tuple[str, str]]:
        self._complete()
        return sorted(set(self._versions) | set(self._deferred))

    def functions(self) -> list[OpFunction]:
        self._complete()
        for key in list(self._deferred):
            self._load(key)
        return [fn for vs in self._versions.values() for fn in vs.values()]

    def _complete(self) -> None:
        """Every domain's list read and the index checked: a listing must not miss an op."""
        for domain in list(self._deferred_domains):
            self._load_domain(domain)
        self._stale()

    def copy(self) -> OpRegistry:
        other = OpRegistry()
        other._versions = {k: dict(v) for k, v in self._versions.items()}
        other._deferred = dict(self._deferred)
        other._deferred_domains = dict(self._deferred_domains)
        other._recheck = self._recheck
        return other


_LOAD_LOCK = threading.RLock()  # guards the import of deferred op modules
_UNKNOWN = object()  # not resolved yet


def _canonical_domain(domain: str) -> str:
    return "" if domain in ("", "ai.onnx") else domain


def marked_functions(module: ModuleType) -> list[OpFunction]:
    """The @reference_op functions a module defines (not those it imports)."""
    return [  # inspect.getmembers' order (by name), at a third of its cost
        fn
        for _, fn in sorted(vars(module).items())
        if inspect.isfunction(fn)
        and isinstance(getattr(fn, "__gossamer_op__", None), OpSpec)
        and fn.__module__ == module.__name__
    ]


def indexed_registry(
    package: ModuleType | None = None,
    modules: dict[tuple[str, str], str] | None = None,
    sizes: dict[str, int] | None = None,
) -> OpRegistry:
    """A registry of the `op_*` modules of `package` (default `refimpl.ops`), found from the index
    `modules` (op -> module) and `sizes` (module -> its file's size when indexed), default the
    generated `ops/_index.py`; refimpl/op_index.py says what is checked and when."""
    from .op_index import op_files

    if package is None or modules is None or sizes is None:
        from . import ops
        from .ops._index import OP_FILE_SIZES, OP_MODULES

        package, modules, sizes = ops, OP_MODULES, OP_FILE_SIZES
    registry = OpRegistry()
    name = package.__name__
    present = op_files(package)
    if present is None:  # not files in a folder: trust nothing, import every op module
        import pkgutil

        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("op_"):
                registry.import_module(f"{name}.{info.name}")
        return registry
    for key, module in modules.items():
        if module in present:
            registry.defer(key, f"{name}.{module}")
    for module in sorted(set(present) - set(sizes)):  # added since the index was written
        log.debug("op module %s is not in the op index: imported now", module)
        registry.import_module(f"{name}.{module}")
    registry.when_stale(functools.partial(_recheck, name, present, sizes))
    return registry


def _recheck(
    name: str, present: dict[str, str], sizes: dict[str, int], registry: OpRegistry
) -> None:
    """Imports (and registers the ops of) every indexed op module whose file changed size."""
    from .op_index import changed_modules

    for module in changed_modules(present, sizes):
        log.debug("op module %s changed since the op index was written: imported now", module)
        try:
            registry.import_module(f"{name}.{module}")
        except Exception as err:  # its own op, resolved, raises this; an unrelated lookup must not
            log.warning("op module %s failed to import: %s: %s", module, type(err).__name__, err)


def scan_op_index(package: ModuleType | None = None) -> dict[tuple[str, str], str]:
    """(domain, op_type) -> defining module, found by importing every `op_*` module of `package`
    (default `refimpl.ops`); an op defined in two modules is refused."""
    import pkgutil

    if package is None:
        from . import ops

        package = ops
    index: dict[tuple[str, str], str] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("op_"):
            found = importlib.import_module(f"{package.__name__}.{info.name}")
            for fn in marked_functions(found):
                spec = spec_of(fn)
                key = (spec.domain, spec.op_type)
                if index.setdefault(key, info.name) != info.name:
                    raise GraphValidationError(
                        f"op {spec.domain or 'ai.onnx'}::{spec.op_type} is defined in two modules, "
                        f"{index[key]} and {info.name}: keep every version of an op in one module"
                    )
    return index


@lru_cache(maxsize=1)
def default_registry() -> OpRegistry:
    """The registry of every op in `refimpl/ops` and every VJP in `refimpl/grad`, imported on
    first use. The op modules are found from the generated index `ops/_index.py`, trusted only as
    far as refimpl/op_index.py checks it: an out-of-date index costs time, never an op."""
    from .op_index import GRAD_DOMAIN, grad_entries

    registry = indexed_registry()
    registry.defer_domain(GRAD_DOMAIN, grad_entries)  # VJPs are reference ops too (refimpl/grad/)
    return registry


def write_op_index(path: str | None = None) -> str:
    """Regenerates `refimpl/ops/_index.py` from a full scan; returns its text."""
    from . import ops
    from .op_index import index_text, op_file_sizes

    text = index_text(scan_op_index(), op_file_sizes(ops))
    Path(path or Path(ops.__file__).parent / "_index.py").write_text(text)
    return text


if __name__ == "__main__":  # run as a script, this file is a second copy: use the package's
    import importlib as _importlib

    _importlib.import_module("gossamer.refimpl.registry").write_op_index()
