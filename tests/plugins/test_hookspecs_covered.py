"""Meta-test: every hook a plugin may implement is exercised by the plugin tests."""

from __future__ import annotations

import inspect
from pathlib import Path

from gossamer.plugins import hookspecs


def test_every_hookspec_is_exercised_by_a_plugin_test():
    hooks = [
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("gossamer_")
    ]
    here = Path(__file__)
    text = "\n".join(p.read_text() for p in here.parent.glob("test_*.py") if p != here)
    assert hooks, "no hookspecs found"
    assert [h for h in hooks if h not in text] == []
