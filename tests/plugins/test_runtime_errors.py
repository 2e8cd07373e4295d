"""A kernel that raises at run time: the error names backend, node and op, and the way out."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.plugins import KernelBackend, kernel
from gossamer.refimpl.errors import NodeExecutionError
from gossamer.refimpl.ops.op_relu import relu_6

import gossamer

from .conftest import chain_graph, feeds_for


class FaultyRelu(KernelBackend):
    name = "faulty"

    @kernel(relu_6)
    def relu(x):
        raise RuntimeError("kernel launch failed")


class ShortRelu(KernelBackend):
    name = "short"

    @kernel(relu_6)
    def relu(x):
        return ()


def test_kernel_raising_gives_node_execution_error_naming_backend_node_and_op(use_backends):
    use_backends(FaultyRelu())
    graph = chain_graph()
    sess = gossamer.load(graph)
    with pytest.raises(NodeExecutionError) as info:
        sess.run(None, feeds_for(graph))
    err = info.value
    message = str(err)
    assert "backend 'faulty' failed" in message
    assert "relu (Relu)" in message
    assert "RuntimeError: kernel launch failed" in message
    assert "GOSSAMER_BLOCK=faulty" in message
    assert (err.node_name, err.op_type) == ("relu", "Relu")
    assert isinstance(err.__cause__, RuntimeError)


def test_session_without_the_faulty_backend_runs(use_backends):
    use_backends(FaultyRelu())
    graph = chain_graph()
    feeds = feeds_for(graph)
    (y,) = gossamer.load(graph, backends=[]).run(None, feeds)
    np.testing.assert_array_equal(y, np.maximum(2 * feeds["x"], 0))


def test_blocking_the_faulty_backend_by_env_runs(monkeypatch, use_backends):
    monkeypatch.setenv("GOSSAMER_BLOCK", "faulty")
    use_backends(FaultyRelu())
    graph = chain_graph()
    feeds = feeds_for(graph)
    (y,) = gossamer.load(graph).run(None, feeds)
    np.testing.assert_array_equal(y, np.maximum(2 * feeds["x"], 0))


def test_kernel_returning_too_few_outputs_is_a_node_error(use_backends):
    use_backends(ShortRelu())
    graph = chain_graph()
    with pytest.raises(NodeExecutionError, match="short returned 0 outputs"):
        gossamer.load(graph).run(None, feeds_for(graph))


def test_compiled_partition_raising_names_the_backend_and_the_partition(use_backends):
    from gossamer.plugins import Backend, Claim

    class Crashing(Backend):
        name = "crashing"

        def get_capability(self, graph):
            return [Claim(("add", "relu"))]

        def compile(self, graph, claim):
            def run(x):
                raise RuntimeError("device lost")

            return run

    use_backends(Crashing())
    graph = chain_graph()
    with pytest.raises(NodeExecutionError) as info:
        gossamer.load(graph).run(None, feeds_for(graph))
    message = str(info.value)
    assert "backend 'crashing' failed" in message
    assert "crashing_partition_0 (Partition)" in message
    assert "GOSSAMER_BLOCK=crashing" in message


def test_runtime_decline_runs_the_reference_for_that_call_and_counts_it(use_backends):
    from gossamer.plugins import RuntimeDecline

    class Picky(KernelBackend):
        name = "picky"

        @kernel(relu_6, dtypes={"float32"})
        def relu(x):
            if x.shape[1] != 4:
                raise RuntimeDecline(f"only 4 columns, got {x.shape[1]}")
            return np.maximum(x, np.float32(0))

    use_backends(Picky())
    sess = gossamer.load(chain_graph(), backends=["picky"])
    x = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0]], np.float32)
    (y,) = sess.run(None, {"x": x})
    np.testing.assert_array_equal(
        y, gossamer.load(chain_graph(), backends=[]).run(None, {"x": x})[0]
    )
    assert sess.placement.backend_of["relu"] == "picky"
    assert sess.runtime_fallbacks == {"relu": (1, "picky: only 4 columns, got 3")}
