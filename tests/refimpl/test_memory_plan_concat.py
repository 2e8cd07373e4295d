"""The memory plan's Concat parts: the inputs of a Concat of one image (every axis before the
concatenated one of size 1) live at their places inside the output's buffer, so their producers
write the concatenated output and the Concat copies nothing (refimpl/memory_plan.py)."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.memory_plan import plan_memory

F32 = "float32"


def fire(batch: int = 1, channels: tuple[int, int] = (16, 32), *, extra: list[Node] = (),
         outputs: tuple[str, ...] = ("y",), axis: int = 1, inputs: tuple[str, ...] = ("a", "b")
         ) -> Graph:  # fmt: skip
    """x -> conv a (c0 ch), conv b (c1 ch) -> Concat(inputs) -> Relu -> y."""
    rng = np.random.default_rng(0)
    inits = {
        "wa": rng.standard_normal((channels[0], 8, 1, 1)).astype(np.float32),
        "wb": rng.standard_normal((channels[1], 8, 3, 3)).astype(np.float32),
    }
    nodes = [
        Node("Conv", ["x", "wa"], ["a"], name="ca"),
        Node("Conv", ["x", "wb"], ["b"], {"pads": [1, 1, 1, 1]}, name="cb"),
        Node("Concat", list(inputs), ["cat"], {"axis": axis}, name="cat"),
        Node("Relu", ["cat"], ["y"], name="relu"),
        *extra,
    ]
    return Graph(nodes, [Value("x", F32, (batch, 8, 6, 6))], [Value(o) for o in outputs], inits)


def test_channel_concat_inputs_are_parts_of_its_output():
    plan = plan_memory(fire())
    plan.verify()
    a, b, cat = plan.tensors["a"], plan.tensors["b"], plan.tensors["cat"]
    assert (a.how, a.shares, b.how, b.shares) == ("part", "cat", "part", "cat")
    assert a.buffer == b.buffer == cat.buffer
    assert a.offset == cat.offset and b.offset == cat.offset + a.nbytes
    assert plan.tensors["y"].how == "inplace"  # the Relu over the assembled output, as before


def test_a_batch_of_images_keeps_its_copies():
    plan = plan_memory(fire(batch=2))
    plan.verify()
    assert all(t.how != "part" for t in plan.tensors.values())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"inputs": ("a", "a")},  # one value twice
        {"outputs": ("y", "a")},  # an input handed back to the caller
        {"channels": (3, 5)},  # 3 * 36 floats: the second part's place is not 64-byte aligned
        {"axis": 2},  # rows of each channel interleave
    ],
)
def test_concats_whose_inputs_cannot_be_parts_copy(kwargs):
    plan = plan_memory(fire(**kwargs))
    plan.verify()
    assert all(t.how != "part" for t in plan.tensors.values())


def test_a_part_read_after_the_concat_keeps_its_bytes_until_then():
    extra = [Node("Sigmoid", ["a"], ["s"], name="late")]
    plan = plan_memory(fire(extra=extra, outputs=("y", "s")))
    plan.verify()
    a, cat, y, s = (plan.tensors[n] for n in ("a", "cat", "y", "s"))
    assert a.how == "part"
    assert plan.buffers[cat.buffer].last >= a.last == plan.steps.index("late")
    assert y.how == "own"  # the Relu may not write over cat: its part a is read later
    # the Sigmoid writes over a where a dies, at a's place in the buffer
    assert (s.how, s.shares, s.offset, s.buffer) == ("inplace", "a", a.offset, a.buffer)
