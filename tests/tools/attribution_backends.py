"""Test backends whose placement a report must attribute correctly: a Relu kernel that declines
batches above 1 at run time (the reference runs those calls), and a subgraph backend that fuses
Relu + Add into one partition. Shared by the benchmark and dump tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
from gossamer.plugins import (
    Backend,
    Claim,
    Decline,
    KernelBackend,
    RuntimeDecline,
    hookimpl,
    kernel,
)
from gossamer.plugins import manager as plugin_manager
from gossamer.refimpl.ops.op_relu import relu_6
from onnx import helper

from tests.conftest import make_model, tensor_info


class PickyRelu(KernelBackend):
    """Runs Relu for batch 1 only; a larger batch is declined at run time."""

    name = "picky_relu"
    priority = 10

    @kernel(relu_6)
    def relu(x: np.ndarray) -> np.ndarray:
        if x.shape[0] > 1:
            raise RuntimeDecline("batch above 1")
        return np.maximum(x, np.zeros((), x.dtype))


class ReluAddFuser(Backend):
    """Claims the nodes named relu and double together, as one compiled partition."""

    name = "relu_add_fuser"
    priority = 20

    def get_capability(self, graph):
        names = [n.name for n in graph.nodes]
        if {"relu", "double"} <= set(names):
            return [Claim(("relu", "double"))]
        return [Decline(n, "not fusable") for n in names]

    def compile(self, graph, claim):
        def run(h):
            r = np.maximum(h, np.zeros((), h.dtype))
            return r + r

        return run


class _Registers:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @hookimpl
    def gossamer_register_backends(self, register):
        register(self.backend)


@contextlib.contextmanager
def registered() -> Iterator[None]:
    """PickyRelu and ReluAddFuser registered for the duration."""
    names = []
    for backend in (PickyRelu(), ReluAddFuser()):
        name = f"test_attribution_{backend.name}"
        plugin_manager.register_plugin(_Registers(backend), name)
        names.append(name)
    try:
        yield
    finally:
        for name in names:
            plugin_manager.unregister_plugin(name)


def project_relu_double(path):
    """x[N,4] -> MatMul (project) -> Relu (relu) -> Add r+r (double) -> y[N,3], saved to path."""
    w = helper.make_tensor("w", 1, [4, 3], np.linspace(-0.5, 1, 12).tolist())
    model = make_model(
        [
            helper.make_node("MatMul", ["x", "w"], ["h"], name="project"),
            helper.make_node("Relu", ["h"], ["r"], name="relu"),
            helper.make_node("Add", ["r", "r"], ["y"], name="double"),
        ],
        [tensor_info("x", np.float32, ["N", 4])],
        [tensor_info("y", np.float32, ["N", 3])],
        [w],
    )
    path.write_bytes(model.SerializeToString())
    return path
