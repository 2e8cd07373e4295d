"""The op registry: which reference function defines (domain, op_type) at a given opset.

An op is a plain function marked with `@reference_op(op_type, since=N)`; the mark only attaches
metadata, so op modules stay pure. `default_registry()` imports every `refimpl/ops/op_*.py` once and
collects the marked functions; for a node at opset V the highest `since <= V` wins.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
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
    """Maps (domain, op_type) to its versioned reference functions."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], dict[int, OpFunction]] = {}

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

    def resolve(self, domain: str, op_type: str, opset: int) -> OpFunction | None:
        """The function with the highest `since <= opset`, or None if none applies."""
        versions = self._versions.get((_canonical_domain(domain), op_type))
        if not versions:
            return None
        eligible = [v for v in versions if v <= opset]
        return versions[max(eligible)] if eligible else None

    def versions(self, domain: str, op_type: str) -> list[int]:
        return sorted(self._versions.get((_canonical_domain(domain), op_type), {}))

    def op_types(self) -> list[tuple[str, str]]:
        return sorted(self._versions)

    def functions(self) -> list[OpFunction]:
        return [fn for vs in self._versions.values() for fn in vs.values()]

    def copy(self) -> OpRegistry:
        other = OpRegistry()
        other._versions = {k: dict(v) for k, v in self._versions.items()}
        return other


def _canonical_domain(domain: str) -> str:
    return "" if domain in ("", "ai.onnx") else domain


@lru_cache(maxsize=1)
def default_registry() -> OpRegistry:
    """The registry of every op in `refimpl/ops` (imported once, then cached)."""
    from . import ops

    registry = OpRegistry()
    for info in sorted(pkgutil.iter_modules(ops.__path__), key=lambda m: m.name):
        if not info.name.startswith("op_"):
            continue
        module = importlib.import_module(f"{ops.__name__}.{info.name}")
        for _, fn in inspect.getmembers(module, inspect.isfunction):
            if (
                isinstance(getattr(fn, "__gossamer_op__", None), OpSpec)
                and fn.__module__ == module.__name__
            ):
                registry.register(fn)
    return registry
