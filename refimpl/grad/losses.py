"""Training losses as graph fragments built from ops that have VJPs, so the forward model, the
loss and the backward program stay one graph (`build_backward` differentiates straight through).

A `Loss` appends nodes reading the model output `z` and writes the scalar `loss`. What depends only
on the labels (one-hot, class weights, label smoothing, the mean's divisor) is computed in numpy by
`Loss.feeds` and fed as graph inputs named `loss/...`: labels are data, never differentiated.
Semantics follow PyTorch's `torch.nn.functional` losses of the same names (reduction "mean" or
"sum"; class axis 1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..dtypes import to_numpy
from ..errors import InputError, UnsupportedModelError
from ..ir import Graph, Node, Value

LOSSES = ("cross_entropy", "sparse_cross_entropy", "mse", "l1", "huber", "bce_with_logits")
PREFIX = "loss/"


@dataclass(frozen=True)
class Loss:
    """One loss: `kind` (see LOSSES) and its options.

    cross_entropy:        -Σ_nk w_k t'_nk log softmax(z)_nk / N, t' = (1-ε)t + ε/C
                          (labels: probabilities, e.g. one-hot, of the output's shape)
    sparse_cross_entropy: -Σ_nk w_k ((1-ε)[k=y_n] + ε/C) log softmax(z)_nk / Σ_n w_{y_n}
                          (labels: class indices; `ignore_index` rows count for nothing)
    mse:                  mean (z - t)²;  l1: mean |z - t|
    huber:                mean of ½d² if |d| ≤ δ else δ(|d| - ½δ), d = z - t
    bce_with_logits:      mean of w(-p t log σ(z) - (1-t) log(1-σ(z))), p = pos_weight
    """

    kind: str = "cross_entropy"
    reduction: str = "mean"
    class_weights: Any = None
    label_smoothing: float = 0.0
    ignore_index: int = -100
    delta: float = 1.0
    pos_weight: Any = None

    def __post_init__(self) -> None:
        if self.kind not in LOSSES:
            raise InputError(f"unknown loss {self.kind!r}; the losses are {', '.join(LOSSES)}")
        if self.reduction not in ("mean", "sum"):
            raise InputError(f"reduction must be 'mean' or 'sum', got {self.reduction!r}")
        if not 0.0 <= self.label_smoothing <= 1.0:
            raise InputError(f"label_smoothing must be in [0, 1], got {self.label_smoothing}")
        if self.delta <= 0:
            raise InputError(f"huber delta must be positive, got {self.delta}")

    @property
    def is_classification(self) -> bool:
        return self.kind in ("cross_entropy", "sparse_cross_entropy")

    def feeds(self, labels: np.ndarray, z_shape: tuple[int, ...], dtype: Any) -> dict[str, Any]:
        """The `loss/...` graph inputs for a batch whose model output has shape `z_shape`."""
        labels = np.asarray(labels)
        dt = np.dtype(dtype)
        if self.kind == "sparse_cross_entropy":
            return {PREFIX + "coef": (-_sparse_coefficients(self, labels, z_shape)).astype(dt)}
        _same_shape(self.kind, labels, z_shape)
        t = labels.astype(np.float64)
        if self.kind == "cross_entropy":
            c = z_shape[1]
            t = t * (1.0 - self.label_smoothing) + self.label_smoothing / c
            w = _class_axis(self.class_weights, c, len(z_shape))
            divisor = t.size / c if self.reduction == "mean" else 1.0
            return {PREFIX + "coef": (-(w * t) / divisor).astype(dt)}
        if self.kind == "bce_with_logits":
            bw = np.asarray(1.0 if self.class_weights is None else self.class_weights, np.float64)
            p = np.asarray(1.0 if self.pos_weight is None else self.pos_weight, np.float64)
            scale = bw / (t.size if self.reduction == "mean" else 1.0)
            a = np.broadcast_to(scale * (p * t + 1.0 - t), t.shape)
            b = np.broadcast_to(scale * p * t, t.shape)
            return {PREFIX + "a": a.astype(dt), PREFIX + "b": b.astype(dt)}
        return {PREFIX + "target": t.astype(dt)}

    def append_to(self, graph: Graph, output: str | None = None, loss: str = "loss") -> Graph:
        """`graph` with this loss on `output` (default: the first output) as its only output."""
        z = output or graph.outputs[0].name
        dt = _dtype_of(graph, z)
        opset = graph.opsets.get("", graph.opsets.get("ai.onnx", 21))
        nodes, consts, inputs = self._fragment(z, loss, dt, opset)
        feeds = [Value(PREFIX + n, dt.name, None) for n in inputs]
        return replace(
            graph,
            nodes=list(graph.nodes) + nodes,
            inputs=list(graph.inputs) + feeds,
            outputs=[Value(loss, dt.name, ())],
            initializers={
                **graph.initializers,
                **{PREFIX + k: v.astype(dt) for k, v in consts.items()},
            },
        )

    def _fragment(
        self, z: str, loss: str, dt: np.dtype, opset: int
    ) -> tuple[list[Node], dict[str, np.ndarray], list[str]]:
        f = _Fragment(z)
        reduce = "ReduceMean" if self.reduction == "mean" else "ReduceSum"
        if self.is_classification:
            lp = f.node("LogSoftmax", [z], axis=1)
            f.node("ReduceSum", [f.node("Mul", [lp, f.name("coef")])], out=loss, keepdims=0)
            return f.nodes, {}, ["coef"]
        if (
            self.kind == "bce_with_logits"
        ):  # a·softplus(z) - b·z, softplus = relu(z) + log(1+e^-|z|)
            tail = f.node(
                "Log",
                [
                    f.node(
                        "Add",
                        [
                            f.const("one", 1.0),
                            f.node("Exp", [f.node("Sub", [f.const("zero", 0.0), _abs(f, z)])]),
                        ],
                    )
                ],
            )
            soft = f.node("Add", [f.node("Relu", [z]), tail])
            terms = f.node(
                "Sub", [f.node("Mul", [f.name("a"), soft]), f.node("Mul", [f.name("b"), z])]
            )
            f.node("ReduceSum", [terms], out=loss, keepdims=0)
            return f.nodes, f.consts, ["a", "b"]
        d = f.node("Sub", [z, f.name("target")])
        if self.kind == "mse":
            f.node(reduce, [f.node("Mul", [d, d])], out=loss, keepdims=0)
        elif self.kind == "l1":
            f.node(reduce, [_abs(f, d)], out=loss, keepdims=0)
        else:  # huber = ½q² + δ(a - q), q = min(|d|, δ)
            a = _abs(f, d)
            if opset >= 11:
                q = f.node("Clip", [a, "", f.const("delta", self.delta)])
            else:
                q = f.node("Clip", [a], max=float(self.delta), min=-3.4e38)
            quad = f.node("Mul", [f.const("half", 0.5), f.node("Mul", [q, q])])
            lin = f.node("Mul", [f.const("delta", self.delta), f.node("Sub", [a, q])])
            f.node(reduce, [f.node("Add", [quad, lin])], out=loss, keepdims=0)
        return f.nodes, f.consts, ["target"]


class _Fragment:
    def __init__(self, z: str) -> None:
        self.nodes: list[Node] = []
        self.consts: dict[str, np.ndarray] = {}
        self.count = 0

    def name(self, base: str) -> str:
        return PREFIX + base

    def const(self, base: str, value: float) -> str:
        self.consts[base] = np.array(value)
        return PREFIX + base

    def node(self, op: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        self.count += 1
        result = out or f"{PREFIX}{op.lower()}{self.count}"
        self.nodes.append(Node(op, inputs, [result], attrs, name=f"{PREFIX}{op}{self.count}"))
        return result


def _abs(f: _Fragment, x: str) -> str:
    """|x| = relu(x) + relu(0 - x), from ops with VJPs (the cotangent at 0 is 0, as sign(0))."""
    return f.node(
        "Add", [f.node("Relu", [x]), f.node("Relu", [f.node("Sub", [f.const("zero", 0.0), x])])]
    )


def _sparse_coefficients(loss: Loss, labels: np.ndarray, z_shape: tuple[int, ...]) -> np.ndarray:
    if labels.dtype.kind not in "iu":
        raise InputError(f"sparse_cross_entropy takes integer class labels, got {labels.dtype}")
    want = (z_shape[0], *z_shape[2:])
    if labels.shape != want:
        raise InputError(
            f"sparse_cross_entropy labels must have shape {list(want)} for output "
            f"{list(z_shape)}, got {list(labels.shape)}"
        )
    c = z_shape[1]
    keep = labels != loss.ignore_index
    bad = keep & ((labels < 0) | (labels >= c))
    if bad.any():
        raise InputError(f"class labels must be in [0, {c}), got {labels[bad][:5].tolist()}")
    safe = np.where(keep, labels, 0)
    onehot = np.moveaxis(np.eye(c)[safe], -1, 1)  # (N, C, ...)
    w = np.ones(c) if loss.class_weights is None else np.asarray(loss.class_weights, np.float64)
    eps = loss.label_smoothing
    coef = _class_axis(w, c, len(z_shape)) * ((1.0 - eps) * onehot + eps / c)
    coef = coef * np.expand_dims(keep, 1)
    if loss.reduction == "mean":
        coef = coef / max(float(np.sum(w[safe] * keep)), np.finfo(np.float64).tiny)
    return coef


def _class_axis(w: Any, c: int, rank: int) -> np.ndarray:
    if w is None:
        return np.ones([1] * rank)
    w = np.asarray(w, np.float64)
    if w.shape != (c,):
        raise InputError(
            f"class_weights must have shape [{c}] (one per class), got {list(w.shape)}"
        )
    return w.reshape([1, c] + [1] * (rank - 2))


def _same_shape(kind: str, labels: np.ndarray, z_shape: tuple[int, ...]) -> None:
    if labels.shape != tuple(z_shape):
        raise InputError(
            f"{kind} labels must have the model output's shape {list(z_shape)}, "
            f"got {list(labels.shape)}"
        )


def _dtype_of(graph: Graph, name: str) -> np.dtype:
    for v in [*graph.outputs, *graph.value_info.values()]:
        if v.name == name and v.dtype:
            dt = to_numpy(v.dtype)  # np.dtype('bfloat16') needs ml_dtypes imported
            if dt.kind != "f":
                raise UnsupportedModelError(f"the loss needs a float output; {name!r} is {dt}")
            return dt
    return np.dtype(np.float32)
