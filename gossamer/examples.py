"""Example networks built in code with fixed seeds (no downloads): for the demo, tests and benchmarks.

Each builder returns an `onnx.ModelProto` (needs the `onnx` extra) whose weights come from
`numpy.random.default_rng(seed)`, so every run builds the same model bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class _Builder:
    """Accumulates nodes and initializers with unique names."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._n = 0

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, base: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        n = self.name(base)
        self.inits.append(numpy_helper.from_array(array, n))
        return n

    def weight(self, base: str, shape: tuple[int, ...], fan_in: int) -> str:
        w = self.rng.standard_normal(shape).astype(np.float32) * np.float32(np.sqrt(2.0 / fan_in))
        return self.const(base, w)

    def node(self, op: str, inputs: list[str], n_out: int = 1, **attrs: Any) -> Any:
        from onnx import helper

        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=self.name(op), **attrs))
        return outs[0] if n_out == 1 else outs

    def conv_bn_act(self, x: str, cin: int, cout: int, k: int, stride: int = 1, group: int = 1,
                    act: str | None = "Relu") -> str:  # fmt: skip
        w = self.weight("w", (cout, cin // group, k, k), cin // group * k * k)
        y = self.node("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride],
                      pads=[k // 2] * 4, group=group)  # fmt: skip
        scale = self.const("bn_scale", (1 + 0.1 * self.rng.standard_normal(cout)).astype(np.float32))
        bias = self.const("bn_bias", (0.1 * self.rng.standard_normal(cout)).astype(np.float32))
        mean = self.const("bn_mean", (0.1 * self.rng.standard_normal(cout)).astype(np.float32))
        var = self.const("bn_var", (1 + 0.1 * self.rng.random(cout)).astype(np.float32))
        y = self.node("BatchNormalization", [y, scale, bias, mean, var], epsilon=1e-5)
        if act == "Relu":
            y = self.node("Relu", [y])
        elif act == "Relu6":
            lo = self.const("lo", np.array(0, np.float32))
            hi = self.const("hi", np.array(6, np.float32))
            y = self.node("Clip", [y, lo, hi])
        return y

    def model(self, name: str, inputs: list[Any], outputs: list[Any], opset: int = 17) -> Any:
        from onnx import helper

        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        return model


def tiny_cnn(seed: int = 0, size: int = 64, classes: int = 10) -> Any:
    """A small MobileNet-style classifier: conv stem, two inverted residual blocks, pool, Gemm, Softmax."""
    from onnx import TensorProto, helper

    b = _Builder(seed)
    x = b.conv_bn_act("image", 3, 16, 3, stride=2, act="Relu6")
    for expand in (4, 4):
        y = b.conv_bn_act(x, 16, 16 * expand, 1, act="Relu6")
        y = b.conv_bn_act(y, 16 * expand, 16 * expand, 3, group=16 * expand, act="Relu6")
        y = b.conv_bn_act(y, 16 * expand, 16, 1, act=None)
        x = b.node("Add", [x, y])
    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x], axis=1)
    w = b.weight("fc_w", (classes, 16), 16)
    bias = b.const("fc_b", np.zeros(classes, np.float32))
    x = b.node("Gemm", [x, w, bias], transB=1)
    b.node("Softmax", [x], axis=-1)
    b.nodes[-1].output[0] = "probabilities"
    return b.model(
        "tiny_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", classes])],
    )
