"""Fixtures for the plugin-host tests: isolated plugin state, test plugins, small graphs.

Unit tests never load real entry points: `entry_points` is replaced by an empty list (tests that
simulate an installed plugin put a fake one there), and every test plugin is added with
`register_plugin` and removed afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from gossamer.plugins import Backend, hookimpl
from gossamer.plugins import manager as plugin_manager
from gossamer.refimpl.ir import Graph, Node, Value


class BackendsPlugin:
    """A plugin object whose hook registers the given backends."""

    def __init__(self, *backends: Backend) -> None:
        self.backends = backends

    @hookimpl
    def gossamer_register_backends(self, register: Callable[[Backend], None]) -> None:
        for backend in self.backends:
            register(backend)


@pytest.fixture(autouse=True)
def isolated_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No installed entry points, no env selection; plugin state rebuilt before and after."""
    monkeypatch.setattr(plugin_manager, "entry_points", lambda group: [])
    monkeypatch.delenv("GOSSAMER_BACKENDS", raising=False)
    monkeypatch.delenv("GOSSAMER_BLOCK", raising=False)
    before = list(plugin_manager._extra_plugins)
    plugin_manager.reset_plugins()
    yield
    plugin_manager._extra_plugins[:] = before
    plugin_manager.reset_plugins()


@pytest.fixture
def use_plugin() -> Iterator[Callable[[Any, str], None]]:
    """`use_plugin(obj, name)` registers a plugin for this test only."""
    names: list[str] = []

    def add(plugin: Any, name: str) -> None:
        plugin_manager.register_plugin(plugin, name)
        names.append(name)

    yield add
    for name in names:
        plugin_manager.unregister_plugin(name)


@pytest.fixture
def use_backends(use_plugin) -> Callable[..., None]:
    """`use_backends(b1, b2, ...)` registers one plugin per backend, named after it."""

    def add(*backends: Backend) -> None:
        for backend in backends:
            use_plugin(BackendsPlugin(backend), f"plugin_{backend.name}")

    return add


def tensor(name: str, dtype: str = "float32", shape=(2, 3)) -> Value:
    return Value(name, dtype, tuple(shape))


def chain_graph(dtype: str = "float32") -> Graph:
    """x -> add (x + x) -> relu -> y."""
    return Graph(
        nodes=[
            Node("Add", ["x", "x"], ["s"], name="add"),
            Node("Relu", ["s"], ["y"], name="relu"),
        ],
        inputs=[tensor("x", dtype)],
        outputs=[tensor("y", dtype)],
        opsets={"": 17},
    )


def feeds_for(graph: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        v.name: rng.standard_normal(v.shape).astype(v.dtype)
        for v in graph.inputs
        if v.name not in graph.initializers
    }
