"""Fixtures for the planted-bug tests: isolated plugin state with every planted backend
registered, and `conformance(backend, ops)`, which runs `gossamer conformance` in-process and
returns its JSON report.

Same isolation as tests/plugins/conftest.py: installed entry points are hidden, the env selection
is cleared, and the plugin state is rebuilt before and after each test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gossamer.plugins import manager as plugin_manager

from gossamer.cli import main

from .backends import register_all

# None: the CLI default (the default preset: fixed edges and extremes plus a few drawn examples,
# derandomised, so the verdicts are reproducible).
MAX_EXAMPLES = None


@pytest.fixture(autouse=True)
def planted_backends(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No installed entry points, no env selection; the planted backends registered."""
    monkeypatch.setattr(plugin_manager, "entry_points", lambda group: [])
    monkeypatch.delenv("GOSSAMER_BACKENDS", raising=False)
    monkeypatch.delenv("GOSSAMER_BLOCK", raising=False)
    before = list(plugin_manager._extra_plugins)
    plugin_manager.reset_plugins()
    names = register_all()
    yield
    for name in names:
        plugin_manager.unregister_plugin(name)
    plugin_manager._extra_plugins[:] = before
    plugin_manager.reset_plugins()


@pytest.fixture
def conformance(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """`conformance(backend, ops)`: the CLI's JSON report (plus its exit status under "rc")."""

    def run(
        backend: str, ops: list[str], max_examples: int | None = MAX_EXAMPLES
    ) -> dict[str, Any]:
        report = tmp_path / f"{backend}.json"
        argv = ["conformance", "--backend", backend, "--ops", ",".join(ops), "-q",
                "--report", str(report)]  # fmt: skip
        if max_examples is not None:
            argv += ["--max-examples", str(max_examples)]
        rc = main(argv)
        doc = json.loads(report.read_text())
        doc["rc"] = rc
        return doc

    return run


def verdicts(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(case id, dtype) -> status."""
    return {(c["case_id"], c["dtype"]): c["status"] for c in doc["cells"]}


def cell(doc: dict[str, Any], case_id: str, dtype: str) -> dict[str, Any]:
    return next(c for c in doc["cells"] if c["case_id"] == case_id and c["dtype"] == dtype)
