"""The built-in models: networks built in code with fixed seeds (no downloads), for the demo,
tests and benchmarks (`examples/` at the repository root is something else: a sample backend
package).

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

    def conv_bn_act(
        self,
        x: str,
        cin: int,
        cout: int,
        k: int,
        stride: int = 1,
        group: int = 1,
        act: str | None = "Relu",
    ) -> str:
        w = self.weight("w", (cout, cin // group, k, k), cin // group * k * k)
        y = self.node(
            "Conv",
            [x, w],
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[k // 2] * 4,
            group=group,
        )
        scale = self.const(
            "bn_scale", (1 + 0.1 * self.rng.standard_normal(cout)).astype(np.float32)
        )
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
    """A small MobileNet-style classifier: stem, two inverted residuals, pool, Gemm, Softmax."""
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


def _image_model(b: _Builder, name: str, x: str, channels: int, classes: int, size: int) -> Any:
    from onnx import TensorProto, helper

    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x], axis=1)
    w = b.weight("fc_w", (classes, channels), channels)
    bias = b.const("fc_b", np.zeros(classes, np.float32))
    b.node("Gemm", [x, w, bias], transB=1)
    b.nodes[-1].output[0] = "logits"
    return b.model(
        name,
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
    )


def mobilenet_v2(seed: int = 0, size: int = 224, classes: int = 1000) -> Any:
    """MobileNetV2 (width 1.0): 17 inverted-residual blocks, ReLU6 as Clip, BatchNorm unfused."""
    b = _Builder(seed)
    x = b.conv_bn_act("image", 3, 32, 3, stride=2, act="Relu6")
    cin = 32
    for t, c, n, s in [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            y = x if t == 1 else b.conv_bn_act(x, cin, hidden, 1, act="Relu6")
            y = b.conv_bn_act(y, hidden, hidden, 3, stride=stride, group=hidden, act="Relu6")
            y = b.conv_bn_act(y, hidden, c, 1, act=None)
            x = b.node("Add", [x, y]) if stride == 1 and cin == c else y
            cin = c
    x = b.conv_bn_act(x, cin, 1280, 1, act="Relu6")
    return _image_model(b, "mobilenet_v2", x, 1280, classes, size)


def resnet18(seed: int = 0, size: int = 224, classes: int = 1000) -> Any:
    """ResNet-18: 7x7 stem, max pool, four stages of two basic blocks, BatchNorm unfused."""
    b = _Builder(seed)
    x = b.conv_bn_act("image", 3, 64, 7, stride=2)
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512]):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            y = b.conv_bn_act(x, cin, cout, 3, stride=stride)
            y = b.conv_bn_act(y, cout, cout, 3, act=None)
            shortcut = (
                x
                if stride == 1 and cin == cout
                else b.conv_bn_act(x, cin, cout, 1, stride, act=None)
            )
            x = b.node("Relu", [b.node("Add", [shortcut, y])])
            cin = cout
    return _image_model(b, "resnet18", x, 512, classes, size)


def minilm_encoder(
    seed: int = 0,
    layers: int = 6,
    hidden: int = 384,
    heads: int = 12,
    seq: int = 128,
    vocab: int = 1000,
) -> Any:
    """A MiniLM-style BERT encoder: embeddings, `layers` x (attention, GELU(erf) FFN), post-LN."""
    from onnx import TensorProto, helper

    b = _Builder(seed)
    head_dim = hidden // heads

    def linear(x: str, fan_in: int, fan_out: int) -> str:
        w = b.weight("w", (fan_in, fan_out), fan_in)
        bias = b.const("b", (0.02 * b.rng.standard_normal(fan_out)).astype(np.float32))
        return b.node("Add", [b.node("MatMul", [x, w]), bias])

    def layer_norm(x: str) -> str:
        gamma = b.const("ln_g", np.ones(hidden, np.float32))
        beta = b.const("ln_b", np.zeros(hidden, np.float32))
        return b.node("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=1e-12)

    table = b.const("word_emb", (0.02 * b.rng.standard_normal((vocab, hidden))).astype(np.float32))
    pos = b.const("pos_emb", (0.02 * b.rng.standard_normal((1, seq, hidden))).astype(np.float32))
    x = layer_norm(b.node("Add", [b.node("Gather", [table, "input_ids"]), pos]))
    # additive mask: (1 - mask) * -10000, shaped [batch, 1, 1, seq]
    mask = b.node(
        "Cast", [b.node("Unsqueeze", ["attention_mask", b.const("ax", np.array([1, 2]))])], to=1
    )
    mask = b.node(
        "Mul",
        [
            b.node("Sub", [b.const("one", np.array(1, np.float32)), mask]),
            b.const("neg", np.array(-10000, np.float32)),
        ],
    )
    split_heads = b.const("shape", np.array([1, seq, heads, head_dim], np.int64))
    merge_heads = b.const("shape", np.array([1, seq, hidden], np.int64))
    scale = b.const("scale", np.array(1 / np.sqrt(head_dim), np.float32))
    for _ in range(layers):
        q, k, v = (b.node("Reshape", [linear(x, hidden, hidden), split_heads]) for _ in range(3))
        q = b.node("Transpose", [q], perm=[0, 2, 1, 3])
        k = b.node("Transpose", [k], perm=[0, 2, 3, 1])
        v = b.node("Transpose", [v], perm=[0, 2, 1, 3])
        scores = b.node("Add", [b.node("Mul", [b.node("MatMul", [q, k]), scale]), mask])
        ctx = b.node("MatMul", [b.node("Softmax", [scores], axis=-1), v])
        ctx = b.node("Reshape", [b.node("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_heads])
        x = layer_norm(b.node("Add", [x, linear(ctx, hidden, hidden)]))
        h = linear(x, hidden, 4 * hidden)
        erf = b.node(
            "Erf", [b.node("Div", [h, b.const("sqrt2", np.array(np.sqrt(2), np.float32))])]
        )
        gelu = b.node(
            "Mul",
            [
                b.node("Mul", [h, b.node("Add", [erf, b.const("one", np.array(1, np.float32))])]),
                b.const("half", np.array(0.5, np.float32)),
            ],
        )
        x = layer_norm(b.node("Add", [x, linear(gelu, 4 * hidden, hidden)]))
    b.node("Identity", [x])
    b.nodes[-1].output[0] = "last_hidden_state"
    return b.model(
        "minilm_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, seq]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, seq]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, seq, hidden])],
    )


def resnet50(seed: int = 0, size: int = 224, classes: int = 1000) -> Any:
    """ResNet-50 (v1.5): 7x7 stem, max pool, [3, 4, 6, 3] bottleneck blocks (stride on the 3x3)."""
    b = _Builder(seed)
    x = b.conv_bn_act("image", 3, 64, 7, stride=2)
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, (width, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]):
        cout = 4 * width
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            y = b.conv_bn_act(x, cin, width, 1)
            y = b.conv_bn_act(y, width, width, 3, stride=stride)
            y = b.conv_bn_act(y, width, cout, 1, act=None)
            shortcut = (
                x
                if cin == cout and stride == 1
                else b.conv_bn_act(x, cin, cout, 1, stride, act=None)
            )
            x = b.node("Relu", [b.node("Add", [shortcut, y])])
            cin = cout
    return _image_model(b, "resnet50", x, cin, classes, size)


def squeezenet1_1(seed: int = 0, size: int = 224, classes: int = 1000) -> Any:
    """SqueezeNet 1.1: conv stem, eight Fire modules (squeeze 1x1, expand 1x1 + 3x3, Concat),
    ceil-mode max pools, a 1x1 conv classifier and global average pooling; biases, no BatchNorm."""
    from onnx import TensorProto, helper

    b = _Builder(seed)

    def conv_relu(x: str, cin: int, cout: int, k: int, stride: int = 1, pad: int = 0) -> str:
        w = b.weight("w", (cout, cin, k, k), cin * k * k)
        bias = b.const("b", (0.01 * b.rng.standard_normal(cout)).astype(np.float32))
        y = b.node("Conv", [x, w, bias], kernel_shape=[k, k], strides=[stride] * 2, pads=[pad] * 4)
        return b.node("Relu", [y])

    def fire(x: str, cin: int, squeeze: int, expand: int) -> str:
        s = conv_relu(x, cin, squeeze, 1)
        return b.node(
            "Concat",
            [conv_relu(s, squeeze, expand, 1), conv_relu(s, squeeze, expand, 3, pad=1)],
            axis=1,
        )

    def pool(x: str) -> str:
        return b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)

    x = pool(conv_relu("image", 3, 64, 3, stride=2))
    x = pool(fire(fire(x, 64, 16, 64), 128, 16, 64))
    x = pool(fire(fire(x, 128, 32, 128), 256, 32, 128))
    for cin, squeeze, expand in [(256, 48, 192), (384, 48, 192), (384, 64, 256), (512, 64, 256)]:
        x = fire(x, cin, squeeze, expand)
    x = b.node("GlobalAveragePool", [conv_relu(x, 512, classes, 1)])
    b.node("Flatten", [x], axis=1)
    b.nodes[-1].output[0] = "logits"
    return b.model(
        "squeezenet1_1",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
    )


def lstm(
    seed: int = 0, layers: int = 2, hidden: int = 256, steps: int = 50, features: int = 64
) -> Any:
    """A stacked LSTM over a [steps, 1, features] sequence: `layers` ONNX LSTM nodes (forward,
    gates iofc), each output squeezed of its direction axis; weights uniform in +-1/sqrt(hidden)."""
    from onnx import TensorProto, helper

    b = _Builder(seed)
    bound = 1 / np.sqrt(hidden)

    def uniform(shape: tuple[int, ...]) -> np.ndarray:
        return b.rng.uniform(-bound, bound, shape).astype(np.float32)

    x, cin = "x", features
    axis = b.const("axis", np.array([1], np.int64))
    for _ in range(layers):
        w = b.const("W", uniform((1, 4 * hidden, cin)))
        r = b.const("R", uniform((1, 4 * hidden, hidden)))
        bias = b.const("B", uniform((1, 8 * hidden)))
        y = b.node("LSTM", [x, w, r, bias], hidden_size=hidden)
        x, cin = b.node("Squeeze", [y, axis]), hidden
    b.nodes[-1].output[0] = "y"
    return b.model(
        "lstm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [steps, 1, features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [steps, 1, hidden])],
    )
