"""A plugin raising SystemExit (or any BaseException but KeyboardInterrupt) is contained exactly
like one raising Exception: at import, in its hooks, in capability, compile and run."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.plugins import Backend, Claim, KernelBackend, hookimpl, kernel
from gossamer.plugins.manager import plugin_state
from gossamer.refimpl.errors import NodeExecutionError
from gossamer.refimpl.ops.op_relu import relu_6

import gossamer

from .conftest import chain_graph, feeds_for
from .test_loading import FakeEntryPoint, FastRelu, install_fake_entry_points


class PluginBaseError(BaseException):
    """Not an Exception: what a careless vendor SDK might raise."""


@pytest.mark.parametrize("raised", [SystemExit(3), PluginBaseError("sdk abort")])
def test_plugin_raising_a_base_exception_at_import_is_skipped(monkeypatch, raised):
    def boom():
        raise raised

    install_fake_entry_points(monkeypatch, FakeEntryPoint("vendor", boom))
    sess = gossamer.load(chain_graph())  # the host survives and runs on the reference
    assert sess.placement.backend_of["relu"] == "reference"
    assert (
        plugin_state().failures["vendor"].startswith(f"failed to import: {type(raised).__name__}")
    )


def test_hook_raising_system_exit_is_skipped(use_plugin, use_backends):
    class Exiting:
        @hookimpl
        def gossamer_register_backends(self, register):
            raise SystemExit("exit from a hook")

    use_plugin(Exiting(), "exiting")
    use_backends(FastRelu())
    state = plugin_state()
    assert state.failures["exiting"].startswith("gossamer_register_backends raised SystemExit")
    assert "fastrelu" in state.backends


def test_keyboard_interrupt_in_a_plugin_still_stops_the_host(monkeypatch):
    def interrupted():
        raise KeyboardInterrupt

    install_fake_entry_points(monkeypatch, FakeEntryPoint("vendor", interrupted))
    with pytest.raises(KeyboardInterrupt):
        gossamer.load(chain_graph())


class ExitingCapability(Backend):
    name = "exiting_capability"

    def get_capability(self, graph):
        raise SystemExit(1)

    def compile(self, graph, claim):  # pragma: no cover - never claimed
        raise AssertionError


class ExitingCompile(Backend):
    name = "exiting_compile"

    def get_capability(self, graph):
        return [Claim(tuple(n.name for n in graph.nodes))]

    def compile(self, graph, claim):
        raise SystemExit("compiler quit")


class ExitingKernel(KernelBackend):
    name = "exiting_kernel"

    @kernel(relu_6)
    def relu(x: np.ndarray) -> np.ndarray:
        raise SystemExit("kernel quit")


def test_capability_raising_system_exit_leaves_the_backend_out(use_backends):
    use_backends(ExitingCapability())
    sess = gossamer.load(chain_graph())
    assert set(sess.placement.backend_of.values()) == {"reference"}
    assert "SystemExit" in sess.placement.excluded["exiting_capability"]


def test_compile_raising_system_exit_falls_back_to_the_reference(use_backends):
    use_backends(ExitingCompile())
    graph = chain_graph()
    sess = gossamer.load(graph)
    assert set(sess.placement.backend_of.values()) == {"reference"}
    reasons = sess.placement.declined["relu"]["exiting_compile"]
    assert "SystemExit: compiler quit" in reasons
    assert sess.run(None, feeds_for(graph))[0].shape == (2, 3)


def test_kernel_raising_system_exit_is_a_node_error_naming_the_backend(use_backends):
    use_backends(ExitingKernel())
    graph = chain_graph()
    sess = gossamer.load(graph)
    with pytest.raises(NodeExecutionError, match="backend 'exiting_kernel' failed.*kernel quit"):
        sess.run(None, feeds_for(graph))
