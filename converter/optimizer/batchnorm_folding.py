"""Conv + BatchNormalization folding (O2).

Rewrite: BatchNormalization(Conv(x, W, b), scale, bias, mean, var) becomes Conv(x, W', b') with
k = scale / sqrt(var + epsilon), W'[m] = W[m] * k[m], b' = (b - mean) * k + bias (in float64,
rounded once to W's dtype; the result differs from the unfused pair only by rounding).
Preconditions: W, b and the four BN parameters are constants; W is float32 or float64; the Conv's
output feeds only this BN; the BN is in inference mode (training_mode 0, spatial 1) and only its
first output is used; each BN parameter has one value per output channel.
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node
from .rewrite import GraphView, conv_weights, iter_ops

NAME = "batchnorm_folding"
LEVEL = 2


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    folded: list[str] = []
    for bn in iter_ops(graph, "BatchNormalization"):
        conv = view.producer_of(bn.inputs[0], "Conv")
        if conv is None or view.sole_consumer(bn.inputs[0]) is not bn:
            continue
        if bn.attrs.get("training_mode", 0) or not bn.attrs.get("spatial", 1):
            continue
        if any(view.is_used(o) for o in bn.outputs[1:] if o):
            continue
        weights = conv_weights(view, conv)
        params = [view.constant(n) for n in bn.inputs[1:5]]
        if weights is None or len(params) != 4 or any(p is None for p in params):
            continue
        w, b = weights
        if any(p.size != w.shape[0] for p in params):
            continue
        scale, bias, mean, var = (p.astype(np.float64).reshape(-1) for p in params)
        k = scale / np.sqrt(var + float(bn.attrs.get("epsilon", 1e-5)))
        w_new = (w.astype(np.float64) * k.reshape((-1,) + (1,) * (w.ndim - 1))).astype(w.dtype)
        b_new = ((b.astype(np.float64) - mean) * k + bias).astype(w.dtype)
        new_conv = Node(
            "Conv",
            [
                conv.inputs[0],
                view.add_initializer(f"{conv.inputs[1]}_bn", w_new),
                view.add_initializer(f"{conv.name}_bias_bn", b_new),
            ],
            [bn.outputs[0]],
            dict(conv.attrs),
            conv.name,
            conv.domain,
        )
        view.replace([conv, bn], [new_conv])
        folded.append(f"{conv.name} <- {bn.name}")
    return folded
