"""What an op converter sees while one TFLite subgraph becomes Gossamer IR: the tensors (names
made unique, constants as numpy arrays), and helpers to emit nodes and new constants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...refimpl.ir import Node
from .reader import Operator, Subgraph


class Unsupported(Exception):
    """An operator of a mapped op type uses a variant the importer does not handle yet (e.g. a
    quantized input); the message says which."""


# TFLite ActivationFunctionType -> how the importer applies it
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


class Context:
    def __init__(self, subgraph: Subgraph, taken: set[str] | None = None) -> None:
        self.subgraph = subgraph
        self.nodes: list[Node] = []
        self.initializers: dict[str, np.ndarray] = {}
        self.constants: dict[int, np.ndarray] = {}  # by tensor index, incl. folded ones
        self.names: list[str] = []
        # names in use; a body's Context shares its host's, so no name is defined twice
        self._taken: set[str] = taken if taken is not None else set()
        # ops_control.Control: the model's variables and other subgraphs (set by the importer)
        self.control: Any = None
        self._counter = 0
        reserved = {subgraph.tensors[i].name for i in subgraph.inputs + subgraph.outputs}
        for t in subgraph.tensors:
            name = t.name
            if (
                not name
                or name in self._taken
                or (name in reserved and t.index not in subgraph.inputs + subgraph.outputs)
            ):
                name = self.fresh(name or f"tensor_{t.index}")
            self._taken.add(name)
            self.names.append(name)
            if t.data is not None and t.dtype in _NUMERIC:
                self.constants[t.index] = t.data
        self.op: Operator | None = None

    # ---- names and constants -------------------------------------------------------------------
    def nested(self, subgraph: Subgraph) -> Context:
        """A Context for another subgraph (an IF/WHILE body, a CALL_ONCE init) converted inside
        this one: it shares the names in use, so no name is defined twice in nested scopes."""
        return Context(subgraph, taken=self._taken)

    def claim(self, base: str) -> str:
        """`base` itself while no value has that name, else a fresh variant of it."""
        if base and base not in self._taken:
            self._taken.add(base)
            return base
        return self.fresh(base or "value")

    def fresh(self, base: str) -> str:
        while True:
            self._counter += 1
            name = f"{base}__{self._counter}"
            if name not in self._taken:
                self._taken.add(name)
                return name

    def name(self, index: int) -> str:
        """The Value name of a tensor; a constant becomes an initializer on first use."""
        if index in self.constants and self.names[index] not in self.initializers:
            self.initializers[self.names[index]] = self.constants[index]
        return self.names[index]

    def const(self, index: int, what: str) -> np.ndarray:
        """A constant input's value (shape operands, weights); Unsupported when it is computed."""
        if index not in self.constants:
            raise Unsupported(f"its {what} (tensor {self.names[index]!r}) is not a constant")
        return self.constants[index]

    def add_const(self, base: str, value: np.ndarray) -> str:
        name = self.fresh(base)
        self.initializers[name] = value
        return name

    def tensor(self, index: int) -> Any:
        return self.subgraph.tensors[index]

    # ---- nodes -----------------------------------------------------------------------------------
    def emit(self, op_type: str, inputs: list[str], outputs: list[str] | None = None,
             **attrs: Any) -> str:  # fmt: skip
        """Adds a node; returns its (first) output name, fresh unless given."""
        assert self.op is not None
        label = f"{self.op.opcode.lower()}_{self.op.index}"
        outs = outputs if outputs is not None else [self.fresh(f"{label}_{op_type.lower()}")]
        self.nodes.append(Node(op_type, inputs, outs, attrs, self.fresh(label)))
        return outs[0]

    def activate(self, value: str, activation: int, output: str | None = None) -> str:
        """`value` through a fused activation (TFLite's ActivationFunctionType), into `output`
        (fresh unless given). As TFLite's float kernels compute it (CalculateActivationRange in
        lite/kernels/kernel_util.h, a clamp): RELU clamps to [0, inf), RELU6 to [0, 6],
        RELU_N1_TO_1 to [-1, 1]; every other value (NONE, and TANH and SIGN_BIT, which those
        kernels do not apply) leaves `value` as it is."""
        if activation not in ACTIVATIONS:
            raise Unsupported(f"unknown fused activation {activation}")
        kind = ACTIVATIONS[activation]
        outs = None if output is None else [output]
        if kind == "RELU":
            return self.emit("Relu", [value], outs)
        if kind in ("RELU6", "RELU_N1_TO_1"):
            low, high = (-1.0, 1.0) if kind == "RELU_N1_TO_1" else (0.0, 6.0)
            return self.emit("Clip", [value, self.scalar(low), self.scalar(high)], outs)
        return value if output is None else self.emit("Identity", [value], outs)

    def finish(self, op_type: str, inputs: list[str], output: int, activation: int = 0,
               **attrs: Any) -> None:  # fmt: skip
        """Emits the operator's last node into its output tensor, through its fused activation
        (the activation node, when there is one, writes the output tensor)."""
        target = self.names[output]
        if ACTIVATIONS.get(activation) not in ("RELU", "RELU6", "RELU_N1_TO_1"):
            self.activate(target, activation)  # refuses an unknown code
            self.emit(op_type, inputs, [target], **attrs)
            return
        self.activate(self.emit(op_type, inputs, **attrs), activation, target)

    def scalar(self, value: float) -> str:
        return self.add_const("c", np.array(value, np.float32))

    def int64s(self, values: Any) -> str:
        return self.add_const("c", np.asarray(values, np.int64).reshape(-1))


_NUMERIC = {
    "float32", "float16", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8",
    "uint16", "uint32", "uint64", "bool",
}  # fmt: skip

Converter = Callable[[Context, Operator], None]


def arity(
    inputs: int, outputs: int = 1, required: tuple[int, ...] | None = None
) -> Callable[[Converter], Converter]:
    """Wraps a converter so that an operator with fewer than `inputs` inputs or `outputs`
    outputs, or with one of the `required` inputs (default: all `inputs`) or of those outputs
    left out (-1), is Unsupported (a malformed or hostile file) rather than an IndexError or a
    wrong tensor."""
    needed = tuple(range(inputs)) if required is None else required

    def wrap(convert: Converter) -> Converter:
        def checked(ctx: Context, op: Operator) -> None:
            if len(op.inputs) < inputs or any(op.inputs[k] < 0 for k in needed):
                raise Unsupported(f"it needs {inputs} input(s), got {op.inputs}")
            if len(op.outputs) < outputs or min(op.outputs[:outputs], default=0) < 0:
                raise Unsupported(f"it needs {outputs} output(s), got {op.outputs}")
            convert(ctx, op)

        checked.__doc__ = convert.__doc__
        return checked

    return wrap
