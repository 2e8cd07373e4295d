"""Discovering plugins: entry points, failures that are skipped, availability, selection."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import numpy as np
import pytest
from gossamer.plugins import KernelBackend, hookimpl, kernel
from gossamer.plugins import manager as plugin_manager
from gossamer.plugins.manager import BackendSelectionError, all_backends, plugin_state
from gossamer.refimpl.ops.op_relu import relu_6

import gossamer

from .conftest import BackendsPlugin, chain_graph


class FastRelu(KernelBackend):
    name = "fastrelu"
    priority = 1
    relu = kernel(relu_6)(lambda x: np.maximum(x, x.dtype.type(0)))


class OtherRelu(KernelBackend):
    name = "otherrelu"
    relu = kernel(relu_6)(lambda x: np.maximum(x, x.dtype.type(0)))


class FakeEntryPoint:
    """Stands for an installed plugin's entry point (group `gossamer`)."""

    group = "gossamer"

    def __init__(self, name: str, load) -> None:
        self.name = name
        self.value = f"{name}_module"
        self._load = load
        self.loaded = False

    def load(self):
        self.loaded = True
        return self._load()


def install_fake_entry_points(monkeypatch, *eps: FakeEntryPoint) -> None:
    monkeypatch.setattr(plugin_manager, "entry_points", lambda group: list(eps))
    plugin_manager.reset_plugins()


def test_reference_entry_point_is_declared_in_installed_metadata():
    found = {ep.name: ep.value for ep in entry_points(group="gossamer")}
    assert found.get("reference") == "gossamer.plugins.reference_backend"


def test_reference_backend_is_always_registered():
    assert list(all_backends()) == ["reference"]


def test_registered_plugin_backend_is_listed(use_backends):
    use_backends(FastRelu())
    assert sorted(all_backends()) == ["fastrelu", "reference"]


def test_unregistering_a_plugin_removes_its_backend(use_backends):
    plugin_manager.register_plugin(BackendsPlugin(FastRelu()), "temp")
    plugin_manager.unregister_plugin("temp")
    assert "fastrelu" not in all_backends()


def test_plugin_failing_to_import_is_skipped_with_the_reason(monkeypatch, use_backends):
    def boom():
        raise ImportError("No module named 'vendor_sdk'")

    install_fake_entry_points(monkeypatch, FakeEntryPoint("vendor", boom))
    use_backends(FastRelu())
    state = plugin_state()
    assert state.failures["vendor"] == "failed to import: ImportError: No module named 'vendor_sdk'"
    assert sorted(state.backends) == ["fastrelu", "reference"]


def test_entry_point_plugin_is_loaded_and_registered(monkeypatch):
    install_fake_entry_points(
        monkeypatch, FakeEntryPoint("vendor", lambda: BackendsPlugin(FastRelu()))
    )
    assert "fastrelu" in all_backends()


def test_hook_raising_is_skipped_and_other_backends_still_load(use_plugin, use_backends):
    class Exploding:
        @hookimpl
        def gossamer_register_backends(self, register):
            raise RuntimeError("license server down")

    use_plugin(Exploding(), "exploding")
    use_backends(FastRelu())
    state = plugin_state()
    assert state.failures["exploding"] == (
        "gossamer_register_backends raised RuntimeError: license server down"
    )
    assert sorted(state.backends) == ["fastrelu", "reference"]


def test_duplicate_backend_name_is_rejected_and_recorded(use_plugin):
    use_plugin(BackendsPlugin(FastRelu()), "first")
    use_plugin(BackendsPlugin(FastRelu()), "second")
    state = plugin_state()
    assert "already registered" in state.failures["second"]
    assert isinstance(state.backends["fastrelu"], FastRelu)


def test_registering_a_non_backend_is_rejected(use_plugin):
    use_plugin(BackendsPlugin(object()), "junk")  # type: ignore[arg-type]
    assert "is not a named gossamer.plugins.Backend" in plugin_state().failures["junk"]


def test_is_available_reason_excludes_the_backend(use_backends):
    class NoDevice(FastRelu):
        name = "nodevice"

        def is_available(self):
            return "no OpenCL device found"

    use_backends(NoDevice())
    sess = gossamer.load(chain_graph())
    assert sess.placement.backend_of["relu"] == "reference"
    assert sess.placement.excluded["nodevice"] == "unavailable: no OpenCL device found"


def test_is_available_raising_counts_as_unavailable(use_backends):
    class Crashing(FastRelu):
        name = "crashing"

        def is_available(self):
            raise OSError("driver missing")

    use_backends(Crashing())
    sess = gossamer.load(chain_graph())
    assert sess.placement.backend_of["relu"] == "reference"
    assert sess.placement.excluded["crashing"] == (
        "unavailable: is_available() raised OSError: driver missing"
    )


def test_requesting_an_unavailable_backend_is_an_error(use_backends):
    class NoDevice(FastRelu):
        name = "nodevice"

        def is_available(self):
            return "no OpenCL device found"

    use_backends(NoDevice())
    with pytest.raises(BackendSelectionError, match="'nodevice' is unavailable: no OpenCL"):
        gossamer.load(chain_graph(), backends=["nodevice"])


def test_unknown_backend_is_an_error_listing_registered_names(use_backends):
    use_backends(FastRelu())
    with pytest.raises(BackendSelectionError) as info:
        gossamer.load(chain_graph(), backends=["nope"])
    message = str(info.value)
    assert "unknown backend(s) ['nope']" in message
    assert "registered: ['fastrelu', 'reference']" in message


def test_unknown_backend_error_says_why_a_failed_plugin_is_missing(monkeypatch):
    def boom():
        raise ImportError("No module named 'vendor_sdk'")

    install_fake_entry_points(monkeypatch, FakeEntryPoint("vendor", boom))
    with pytest.raises(BackendSelectionError, match="vendor: failed to import"):
        gossamer.load(chain_graph(), backends=["vendor"])


def test_backends_argument_restricts_the_backends_used(use_backends):
    use_backends(FastRelu(), OtherRelu())
    placement = gossamer.load(chain_graph(), backends=["otherrelu"]).placement
    assert placement.backend_of["relu"] == "otherrelu"
    assert placement.excluded["fastrelu"] == "not selected"


def test_gossamer_backends_env_restricts_the_default_selection(monkeypatch, use_backends):
    use_backends(FastRelu(), OtherRelu())
    monkeypatch.setenv("GOSSAMER_BACKENDS", "otherrelu")
    placement = gossamer.load(chain_graph()).placement
    assert placement.backend_of["relu"] == "otherrelu"
    assert placement.excluded["fastrelu"] == "not selected"


def test_explicit_backends_argument_overrides_the_env(monkeypatch, use_backends):
    use_backends(FastRelu(), OtherRelu())
    monkeypatch.setenv("GOSSAMER_BACKENDS", "otherrelu")
    placement = gossamer.load(chain_graph(), backends=["fastrelu"]).placement
    assert placement.backend_of["relu"] == "fastrelu"


def test_gossamer_block_removes_a_backend_by_name(monkeypatch, use_backends):
    monkeypatch.setenv("GOSSAMER_BLOCK", "fastrelu")
    use_backends(FastRelu(), OtherRelu())
    state = plugin_state()
    assert "fastrelu" not in state.backends
    assert state.failures["fastrelu"] == "blocked by GOSSAMER_BLOCK"
    assert gossamer.load(chain_graph()).placement.backend_of["relu"] == "otherrelu"


def test_gossamer_block_does_not_import_a_blocked_entry_point(monkeypatch):
    ep = FakeEntryPoint("vendor", lambda: BackendsPlugin(FastRelu()))
    monkeypatch.setenv("GOSSAMER_BLOCK", " vendor , other")
    install_fake_entry_points(monkeypatch, ep)
    assert plugin_state().failures["vendor"] == "blocked by GOSSAMER_BLOCK"
    assert not ep.loaded
    assert "fastrelu" not in all_backends()


def test_gossamer_block_cannot_remove_the_reference(monkeypatch):
    monkeypatch.setenv("GOSSAMER_BLOCK", "reference")
    plugin_manager.reset_plugins()
    assert "reference" in all_backends()
    (y,) = gossamer.load(chain_graph()).run(None, {"x": np.ones((2, 3), np.float32)})
    np.testing.assert_array_equal(y, np.full((2, 3), 2, np.float32))


def test_importing_gossamer_loads_no_plugins():
    code = (
        "import sys, gossamer; "
        "print('gossamer.plugins.manager' in sys.modules); "
        "import gossamer.plugins.manager as m; print(m._state is None)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]  # no discovery until a session or listing


def test_hookimpl_with_wrong_argument_name_is_skipped_with_the_reason(use_plugin, use_backends):
    class Misnamed:
        @hookimpl
        def gossamer_register_backends(self, registr):
            registr(FastRelu())

    use_plugin(Misnamed(), "misnamed")
    use_backends(OtherRelu())
    state = plugin_state()
    assert state.failures["misnamed"].startswith("failed to register: PluginValidationError")
    assert sorted(state.backends) == ["otherrelu", "reference"]


def test_misspelt_hook_name_is_reported_not_silently_ignored(use_plugin, use_backends):
    class Misspelt:
        @hookimpl
        def gossamer_register_backend(self, register):
            register(FastRelu())

    use_plugin(Misspelt(), "misspelt")
    use_backends(OtherRelu())
    state = plugin_state()
    assert "unknown hook 'gossamer_register_backend'" in state.failures["misspelt"]
    assert sorted(state.backends) == ["otherrelu", "reference"]
