"""A backend registered as a DeferredBackend is imported only when a session selects it or a
caller asks about every backend."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from gossamer.plugins import Backend, Claim, DeferredBackend
from gossamer.plugins import manager as plugin_manager
from gossamer.plugins.manager import BackendSelectionError, all_backends, select_backends

from .conftest import BackendsPlugin

MODULE = """
from gossamer.plugins import Backend, Claim

class LazyBackend(Backend):
    name = "lazy"
    priority = 5
    default_selected = {default}

    def get_capability(self, graph):
        return [Claim((n.name,)) for n in graph.nodes]
"""


@pytest.fixture
def lazy_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Writes module `deferred_target_<n>` defining LazyBackend; returns a factory of its name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(default: bool = False, body: str = MODULE) -> str:
        name = f"deferred_target_{len(written)}_{default}"
        (tmp_path / f"{name}.py").write_text(body.format(default=default))
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


def test_an_opt_in_deferred_backend_is_not_imported_by_a_default_selection(lazy_module, use_plugin):
    module = lazy_module(default=False)
    use_plugin(BackendsPlugin(DeferredBackend("lazy", f"{module}:LazyBackend", 5, False)), "p")
    chosen, excluded = select_backends(None)
    assert [b.name for b in chosen] == ["reference"]
    assert excluded["lazy"] == "not selected (runs only when named)"
    assert module not in sys.modules


def test_naming_a_deferred_backend_imports_it(lazy_module, use_plugin):
    module = lazy_module(default=False)
    use_plugin(BackendsPlugin(DeferredBackend("lazy", f"{module}:LazyBackend", 5, False)), "p")
    chosen, _ = select_backends(["lazy"])
    assert [b.name for b in chosen] == ["lazy", "reference"]
    assert type(chosen[0]).__name__ == "LazyBackend"
    assert module in sys.modules


def test_a_default_selected_deferred_backend_is_imported_by_the_default_selection(
    lazy_module, use_plugin
):
    module = lazy_module(default=True)
    use_plugin(BackendsPlugin(DeferredBackend("lazy", f"{module}:LazyBackend", 5, True)), "p")
    chosen, _ = select_backends(None)
    assert [b.name for b in chosen] == ["lazy", "reference"]


def test_asking_for_every_backend_imports_the_deferred_ones(lazy_module, use_plugin):
    module = lazy_module(default=False)
    use_plugin(BackendsPlugin(DeferredBackend("lazy", f"{module}:LazyBackend", 5, False)), "p")
    assert isinstance(all_backends()["lazy"], Backend)
    assert module in sys.modules


def test_a_deferred_backend_that_misstates_its_class_is_refused(lazy_module, use_plugin):
    module = lazy_module(default=False)
    wrong = DeferredBackend("lazy", f"{module}:LazyBackend", 99, False)  # the class says 5
    use_plugin(BackendsPlugin(wrong), "p")
    with pytest.raises(BackendSelectionError, match="priority"):
        select_backends(["lazy"])
    assert "lazy" not in all_backends()
    assert "BackendContractError" in plugin_manager.plugin_state().failures["lazy"]


def test_a_deferred_backend_whose_module_fails_to_import_is_skipped(lazy_module, use_plugin):
    module = lazy_module(body="raise RuntimeError('no driver')\n")
    use_plugin(BackendsPlugin(DeferredBackend("lazy", f"{module}:LazyBackend", 5, True)), "p")
    chosen, _ = select_backends(None)
    assert [b.name for b in chosen] == ["reference"]
    assert "no driver" in plugin_manager.plugin_state().failures["lazy"]


def test_a_deferred_name_clashing_with_a_backend_is_rejected(lazy_module, use_plugin):
    class Eager(Backend):
        name = "lazy"

        def get_capability(self, graph):
            return [Claim((n.name,)) for n in graph.nodes]

    module = lazy_module()
    use_plugin(BackendsPlugin(Eager()), "a")
    use_plugin(BackendsPlugin(DeferredBackend("lazy", f"{module}:LazyBackend", 5, False)), "b")
    assert "already registered" in plugin_manager.plugin_state().failures["b"]
    assert type(all_backends()["lazy"]) is Eager


def test_a_blocked_deferred_backend_is_never_imported(lazy_module, use_plugin, monkeypatch):
    monkeypatch.setenv("GOSSAMER_BLOCK", "lazy")
    module = lazy_module(default=True)
    use_plugin(BackendsPlugin(DeferredBackend("lazy", f"{module}:LazyBackend", 5, True)), "p")
    assert "lazy" not in all_backends()
    assert module not in sys.modules


def test_a_deferred_backend_asking_for_plugins_while_imported_does_not_deadlock(
    lazy_module, use_plugin
):
    body = "from gossamer.plugins.manager import op_registry\nop_registry()\n" + MODULE
    module = lazy_module(default=False, body=body)
    use_plugin(BackendsPlugin(DeferredBackend("lazy", f"{module}:LazyBackend", 5, False)), "p")
    done: list[list[str]] = []
    worker = threading.Thread(
        target=lambda: done.append([b.name for b in select_backends(["lazy"])[0]]), daemon=True
    )
    worker.start()
    worker.join(timeout=30)
    assert done == [["lazy", "reference"]]
