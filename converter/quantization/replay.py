"""Recomputing one node as its quantised form computes it: inputs and weights fake-quantised
(rounded to what Q -> DQ gives), the reference function applied. Used to measure a layer's own
quantisation error on float inputs (layer sensitivity, bias correction), apart from the error
carried in from the layers before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...refimpl.errors import OpArgumentError
from ...refimpl.ir import Node, QuantParams
from ...refimpl.registry import default_registry
from .qparams import fake_quantize


class Replayer:
    def __init__(
        self,
        params: dict[str, QuantParams],
        weights: dict[tuple[str, int], QuantParams],
        act_type: type,
        opset: int,
    ) -> None:
        self.params = params
        self.weights = weights
        self.act_type = act_type
        self.opset = opset
        self.registry = default_registry()

    def fake(self, name: str, value: Any) -> Any:
        p = self.params.get(name)
        if p is None or not isinstance(value, np.ndarray):
            return value
        return fake_quantize(value, p)  # in the value's own code type (8 or 16 bits)

    def call(
        self, node: Node, inputs: Sequence[Any], *, quantized: bool = True, drop: Sequence[int] = ()
    ) -> np.ndarray:
        """The node's first output on fake-quantised (or, quantized=False, float) inputs;
        inputs at the indices in `drop` are left out (e.g. a bias)."""
        fn = self.registry.resolve(node.domain, node.op_type, self.opset)
        if fn is None:
            raise OpArgumentError(f"no reference function for {node.label()}")
        args = []
        for idx, (name, value) in enumerate(zip(node.inputs, inputs)):
            if idx in drop:
                args.append(None)
                continue
            w = self.weights.get((node.name, idx)) if quantized else None
            if w is not None:
                args.append(fake_quantize(value, w, symmetric=True))
            else:
                args.append(self.fake(name, value) if quantized else value)
        while args and args[-1] is None:
            args.pop()
        result = fn(*args, **node.attrs)
        return result[0] if isinstance(result, (tuple, list)) else result
