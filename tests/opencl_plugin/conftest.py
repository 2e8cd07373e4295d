"""Fixtures for the OpenCL backend's tests: the backend registered without entry points; tests
that need a device skip (with the reason) where there is none; compiled programs go to a cache
shared by the test session (PoCL compiles are slow), tests of the cache itself take a fresh one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gossamer.opencl_plugin import plugin as opencl_plugin
from gossamer.opencl_plugin.device import unavailable_reason
from gossamer.plugins import manager as plugin_manager
from gossamer.refimpl.ir import Graph

import gossamer

TEST_DEVICE = "GOSSAMER_TEST_OPENCL_DEVICE"


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("opencl-cache")


@pytest.fixture(autouse=True)
def opencl_settings(shared_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The opencl plugin registered by hand, no device choice from outside (but the one
    GOSSAMER_TEST_OPENCL_DEVICE names, to run the whole suite on another device), the shared
    cache."""
    monkeypatch.delenv("GOSSAMER_OPENCL_DEVICE", raising=False)
    if os.environ.get(TEST_DEVICE, "").strip():
        monkeypatch.setenv("GOSSAMER_OPENCL_DEVICE", os.environ[TEST_DEVICE].strip())
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(shared_cache))
    monkeypatch.setattr(plugin_manager, "entry_points", lambda group: [])
    plugin_manager.reset_plugins()
    plugin_manager.register_plugin(opencl_plugin, "opencl")
    yield
    plugin_manager.unregister_plugin("opencl")


@pytest.fixture(scope="session")
def device() -> None:
    """Skips the test where no OpenCL device can be opened, saying why."""
    reason = unavailable_reason(os.environ.get(TEST_DEVICE, "").strip() or None)
    if reason:
        pytest.skip(f"no OpenCL device: {reason}")


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty program cache for this test (and no programs kept in memory); its folder."""
    from gossamer.opencl_plugin import program_cache

    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(tmp_path / "cache"))
    program_cache.clear_memory()
    return tmp_path / "cache" / "opencl"


def check_against_reference(
    graph: Graph, feeds: dict[str, np.ndarray], *, rtol: float = 1e-5, atol: float = 1e-6
) -> gossamer.Session:
    """Runs `graph` on opencl (every node must run there) and on the reference; outputs agree."""
    sess = gossamer.load(graph, backends=["opencl"], optimize=0)
    placed = sess.placement.backend_of
    assert set(placed.values()) == {"opencl"}, sess.placement.declined
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, feeds)
    got = sess.run(None, feeds)
    for e, g in zip(expected, got):
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
    return sess
