"""Test-only backends with planted mistakes: the conformance suite must flag each, on that op only.

Every kernel backend pairs one buggy kernel with correct ones (thin wrappers over the reference
function), so "fails on that op only" is a real claim: the correct kernels are claimed and pass.

- `pad_bug`: Conv drops the end pad of the last spatial axis (pads[-1] read as 0).
- `pad_shift`: Conv pads the last spatial axis one too many at the start and one too few at the
  end (same output shape, values one position off).
- `relu_leak`: Relu keeps x where x > -0.5 (negatives in (-0.5, 0) leak through).
- `keepdims_bug`: ReduceSum (both the axes-attribute and the axes-input versions) always keeps the
  reduced axes; ReduceMean, next to it, is correct.
- `inplace_abs`: Abs computes in place (np.abs(x, out=x)): the right output, a clobbered input.
- mutants_compute.py / mutants_layout.py: one realistic kernel bug per backend across every case
  family (mutants.py tables the bug class and the cases each must fail).
- `swapped_outputs` / `dropped_outputs`: subgraph backends fusing elementwise chains whose
  compiled partition returns its outputs in reverse order / forgets the outputs that are also read
  inside the partition; `correct_fuser` is the same fuser without the bug (the control).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gossamer.plugins import Backend, Claim, Decline, KernelBackend, hookimpl, kernel
from gossamer.refimpl.dtypes import FLOAT, SIGNED_INT
from gossamer.refimpl.ir import Graph
from gossamer.refimpl.ops.op_abs import abs_6
from gossamer.refimpl.ops.op_add import add_7
from gossamer.refimpl.ops.op_conv import conv_1
from gossamer.refimpl.ops.op_reduce_mean import reduce_mean_1, reduce_mean_18
from gossamer.refimpl.ops.op_reduce_sum import reduce_sum_1, reduce_sum_13
from gossamer.refimpl.ops.op_relu import relu_6


class _CorrectReluAdd(KernelBackend):
    """Correct kernels every planted kernel backend also claims."""

    @kernel(relu_6)
    def relu(x: np.ndarray) -> np.ndarray:
        return relu_6(x)

    @kernel(add_7)
    def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return add_7(a, b)


class ConvPadBug(_CorrectReluAdd):
    """Planted: the last explicit pad (end of the last spatial axis) is dropped."""

    name = "pad_bug"
    priority = 50

    @kernel(conv_1)
    def conv(x, w, b=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
             pads=None, strides=None):  # fmt: skip
        if pads is not None:
            pads = [*pads[:-1], 0]
        return conv_1(x, w, b, auto_pad=auto_pad, dilations=dilations, group=group,
                      kernel_shape=kernel_shape, pads=pads, strides=strides)  # fmt: skip


class ConvPadShift(_CorrectReluAdd):
    """Planted: on the last spatial axis the padding is shifted by one (begin + 1, end - 1 when the
    end pad is at least 1): the output shape is right, the values are one position off."""

    name = "pad_shift"
    priority = 50

    @kernel(conv_1)
    def conv(x, w, b=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
             pads=None, strides=None):  # fmt: skip
        if pads is not None and pads[-1] >= 1:
            half = len(pads) // 2
            pads = list(pads)
            pads[half - 1] += 1
            pads[-1] -= 1
        return conv_1(x, w, b, auto_pad=auto_pad, dilations=dilations, group=group,
                      kernel_shape=kernel_shape, pads=pads, strides=strides)  # fmt: skip


class ReluLeak(_CorrectReluAdd):
    """Planted: Relu lets small negatives through (zeroes only x <= -0.5). Float dtypes only:
    for integers the test x > -0.5 is x >= 0, i.e. correct."""

    name = "relu_leak"
    priority = 50

    @kernel(relu_6, dtypes=FLOAT)
    def relu(x: np.ndarray) -> np.ndarray:
        return np.where(x <= -0.5, np.zeros((), x.dtype), x)  # NaN passes, like the reference

    @kernel(abs_6)
    def abs(x: np.ndarray) -> np.ndarray:
        return abs_6(x)


class KeepdimsBug(_CorrectReluAdd):
    """Planted: ReduceSum ignores keepdims=0 (always keeps the reduced axes)."""

    name = "keepdims_bug"
    priority = 50

    @kernel(reduce_sum_13)
    def reduce_sum(data, axes=None, *, keepdims=1, noop_with_empty_axes=0):
        return reduce_sum_13(data, axes, keepdims=1, noop_with_empty_axes=noop_with_empty_axes)

    @kernel(reduce_sum_1)
    def reduce_sum_old(data, *, axes=None, keepdims=1):
        return reduce_sum_1(data, axes=axes, keepdims=1)

    @kernel(reduce_mean_18)
    def reduce_mean(data, axes=None, *, keepdims=1, noop_with_empty_axes=0):
        return reduce_mean_18(
            data, axes, keepdims=keepdims, noop_with_empty_axes=noop_with_empty_axes
        )

    @kernel(reduce_mean_1)
    def reduce_mean_old(data, *, axes=None, keepdims=1):
        return reduce_mean_1(data, axes=axes, keepdims=keepdims)


class InplaceAbs(_CorrectReluAdd):
    """Planted: Abs overwrites its input (the output itself is right). Floats and signed ints:
    for unsigned ints |x| = x and the write changes nothing."""

    name = "inplace_abs"
    priority = 50

    @kernel(abs_6, dtypes=FLOAT | SIGNED_INT)
    def abs(x: np.ndarray) -> np.ndarray:
        return np.abs(x, out=x)


FUSABLE = frozenset({"Relu", "Sigmoid", "Tanh", "Exp", "Add", "Mul", "Neg", "Abs", "MatMul",
                     "ReduceSum"})  # fmt: skip


class _Fuser(Backend):
    """Claims every fusable node of a graph as one partition (when that is convex: the planner
    checks) and runs the partition with the reference interpreter; `_finish` plants the bug."""

    priority = 60

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        fused = tuple(n.name for n in graph.nodes if n.op_type in FUSABLE)
        out: list[Claim | Decline] = [Claim(fused, note="fused")] if fused else []
        out += [Decline(n.name, "not fusable") for n in graph.nodes if n.op_type not in FUSABLE]
        return out

    def compile(self, graph: Graph, claim: Claim) -> Callable[..., Any]:
        from gossamer.session import Session

        session = Session(graph, backends=[])
        names = [v.name for v in graph.inputs]
        consumed = {i for n in graph.nodes for i in n.inputs}
        internal = [v.name in consumed for v in graph.outputs]

        def run(*values: np.ndarray) -> Any:
            outs = session.run(None, dict(zip(names, values)))
            return self._finish(outs, internal)

        return run

    def _finish(self, outs: list[np.ndarray], internal: list[bool]) -> Any:
        return tuple(outs)


class CorrectFuser(_Fuser):
    name = "correct_fuser"


class SwappedOutputs(_Fuser):
    """Planted: a partition returns its outputs in reverse order."""

    name = "swapped_outputs"

    def _finish(self, outs: list[np.ndarray], internal: list[bool]) -> Any:
        return tuple(reversed(outs))


class DroppedOutputs(_Fuser):
    """Planted: a partition forgets the outputs that are also read inside it (graph outputs that
    are intermediates), returning only the terminal ones."""

    name = "dropped_outputs"

    def _finish(self, outs: list[np.ndarray], internal: list[bool]) -> Any:
        kept = tuple(o for o, inner in zip(outs, internal) if not inner)
        return kept if len(kept) != 1 else kept[0]


class Registers:
    """A plugin object registering one backend through the ordinary hook."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @hookimpl
    def gossamer_register_backends(self, register: Callable[[Backend], None]) -> None:
        register(self.backend)


def _mutant_classes() -> tuple[type[Backend], ...]:
    from .mutants_compute import CLASSES as COMPUTE
    from .mutants_integer import CLASSES as INTEGER
    from .mutants_layout import CLASSES as LAYOUT

    return COMPUTE + LAYOUT + INTEGER


ALL: dict[str, type[Backend]] = {
    cls.name: cls
    for cls in (
        ConvPadBug,
        ConvPadShift,
        ReluLeak,
        KeepdimsBug,
        InplaceAbs,
        CorrectFuser,
        SwappedOutputs,
        DroppedOutputs,
        *_mutant_classes(),  # one planted kernel bug each: mutants.py lists what each must fail
    )  # fmt: skip
}


def register_all() -> list[str]:
    """Registers every planted backend (also for a repro in a fresh process); the plugin names."""
    from gossamer.plugins import manager

    names = []
    for name, cls in ALL.items():
        manager.register_plugin(Registers(cls()), f"planted_{name}")
        names.append(f"planted_{name}")
    return names
