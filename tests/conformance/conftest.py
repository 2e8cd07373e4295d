"""Fixtures for the conformance tests: a test backend registered for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gossamer.plugins.manager import register_plugin, unregister_plugin

from tests.plugins.conftest import BackendsPlugin


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Registers the backend class given by indirect parametrisation; yields its name."""
    cls = request.param
    register_plugin(BackendsPlugin(cls()), cls.name)
    yield cls.name
    unregister_plugin(cls.name)
