"""OpRegistry.resolve remembers its answers (a load asks ~3 times per node) and forgets them when
a registration or a deferral may change one."""

from __future__ import annotations

import sys
import types

import numpy as np
from gossamer.refimpl.registry import OpRegistry, reference_op


@reference_op("Twice", since=1, domain="test.memo")
def twice_1(x: np.ndarray) -> np.ndarray:
    """y = 2x"""
    return 2 * x


@reference_op("Twice", since=5, domain="test.memo")
def twice_5(x: np.ndarray) -> np.ndarray:
    """y = x + x"""
    return x + x


def test_a_later_version_registered_after_a_resolve_is_found():
    registry = OpRegistry()
    registry.register(twice_1)
    assert registry.resolve("test.memo", "Twice", 7) is twice_1
    assert registry.resolve("test.memo", "Twice", 7) is twice_1  # (remembered)
    registry.register(twice_5)
    assert registry.resolve("test.memo", "Twice", 7) is twice_5
    assert registry.resolve("test.memo", "Twice", 3) is twice_1


def test_an_op_deferred_after_it_resolved_to_nothing_is_found(monkeypatch):
    registry = OpRegistry()
    assert registry.resolve("test.memo", "Twice", 1) is None
    module = types.ModuleType("memo_twice_ops")
    module.twice_1 = twice_1
    monkeypatch.setattr(twice_1, "__module__", module.__name__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    registry.defer(("test.memo", "Twice"), module.__name__)
    assert registry.resolve("test.memo", "Twice", 1) is twice_1


def test_a_copy_answers_from_its_own_registrations():
    registry = OpRegistry()
    registry.register(twice_1)
    assert registry.resolve("test.memo", "Twice", 7) is twice_1
    other = registry.copy()
    other.register(twice_5)
    assert other.resolve("test.memo", "Twice", 7) is twice_5
    assert registry.resolve("test.memo", "Twice", 7) is twice_1
