"""The memory plan's blocks: the outputs of a Split of one image (every axis before the split one
of size 1), and a Slice's output that is one block of its input, are views of their blocks of the
input, so the Split or Slice copies nothing (refimpl/memory_plan.py)."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.memory_plan import plan_memory

F32 = "float32"


def c2f(batch: int = 1, sizes: tuple[int, int] = (16, 16), *, axis: int = 1,
        outputs: tuple[str, ...] = ("y",), extra: list[Node] = ()) -> Graph:  # fmt: skip
    """x -> conv (c0 + c1 ch) -> Split(sizes) -> a, b; Relu(b) -> r; Concat(a, r) -> y."""
    rng = np.random.default_rng(0)
    c = sum(sizes)
    inits = {
        "w": rng.standard_normal((c, 8, 1, 1)).astype(np.float32),
        "sizes": np.array(sizes, np.int64),
    }
    nodes = [
        Node("Conv", ["x", "w"], ["t"], name="conv"),
        Node("Split", ["t", "sizes"], ["a", "b"], {"axis": axis}, name="split"),
        Node("Relu", ["b"], ["r"], name="relu"),
        Node("Concat", ["a", "r"], ["y"], {"axis": axis}, name="cat"),
        *extra,
    ]
    shape = (batch, 8, 6, 6) if axis == 1 else (batch, 8, 6, 6 * 4)
    return Graph(
        nodes, [Value("x", F32, shape)], [Value(o) for o in outputs], inits, opsets={"": 18}
    )


def test_channel_split_outputs_are_views_of_the_input_blocks():
    plan = plan_memory(c2f())
    plan.verify()
    t, a, b = (plan.tensors[n] for n in ("t", "a", "b"))
    assert (a.how, a.shares, b.how, b.shares) == ("view", "t", "view", "t")
    assert a.buffer == b.buffer == t.buffer
    assert a.offset == t.offset and b.offset == t.offset + a.nbytes
    assert plan.buffers[t.buffer].last >= plan.steps.index("cat")  # t's bytes live while a does


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch": 2},  # each image's channels: the blocks interleave
        {"axis": 2},  # rows of each channel interleave
        {"outputs": ("y", "a")},  # a piece handed back to the caller
        {"sizes": (3, 5)},  # 3 * 36 floats: the second block's place is not 64-byte aligned
    ],
)
def test_splits_whose_outputs_cannot_be_views_copy(kwargs):
    plan = plan_memory(c2f(**kwargs))
    plan.verify()
    assert plan.tensors["a"].how != "view" and plan.tensors["b"].how != "view"


def test_nothing_writes_in_place_over_a_block_while_another_is_read():
    # the Relu may not overwrite b while a (the same buffer) is read later, by the Concat
    plan = plan_memory(c2f())
    plan.verify()
    assert plan.tensors["r"].how == "own"
    late = [Node("Sigmoid", ["a"], ["s"], name="late")]
    plan = plan_memory(c2f(outputs=("y", "s"), extra=late))
    plan.verify()
    assert plan.buffers[plan.tensors["t"].buffer].last >= plan.steps.index("late")


def qkv(
    batch: int = 1, bounds: tuple[tuple[int, int], ...] = ((0, 8), (8, 16), (16, 24)),
    *, axis: int = 1, step: int = 1, constant: bool = True, outputs: tuple[str, ...] = ("y",),
) -> Graph:  # fmt: skip
    """x -> conv (24 ch) -> t; q, k, v = Slices of t; y = (q + k) * v."""
    rng = np.random.default_rng(0)
    inits: dict[str, np.ndarray] = {"w": rng.standard_normal((24, 8, 1, 1)).astype(np.float32)}
    nodes = [Node("Conv", ["x", "w"], ["t"], name="conv")]
    inputs = [Value("x", F32, (batch, 8, 6, 6))]
    for name, (lo, hi) in zip("qkv", bounds):
        inits.update({f"{name}0": np.array([lo]), f"{name}1": np.array([hi]),
                      "ax": np.array([axis]), "st": np.array([step])})  # fmt: skip
        if not constant:  # the start from a Constant node: known to shape inference only
            nodes.append(
                Node(
                    "Constant", [], [f"{name}0"], {"value": inits.pop(f"{name}0")}, name=f"c{name}"
                )
            )
        nodes.append(
            Node("Slice", ["t", f"{name}0", f"{name}1", "ax", "st"], [name], name=f"slice_{name}")
        )
    nodes += [
        Node("Add", ["q", "k"], ["s"], name="add"),
        Node("Mul", ["s", "v"], ["y"], name="mul"),
    ]
    return Graph(nodes, inputs, [Value(o) for o in outputs], inits, opsets={"": 18})


def test_slices_of_one_block_each_are_views_of_the_input():
    plan = plan_memory(qkv())
    plan.verify()
    t = plan.tensors["t"]
    for k, name in enumerate("qkv"):
        v = plan.tensors[name]
        assert (v.how, v.shares, v.buffer) == ("view", "t", t.buffer)
        assert v.offset == t.offset + k * v.nbytes


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch": 2},  # the channels of each image: not one block
        {"step": 2, "bounds": ((0, 16), (1, 17), (8, 24))},  # every other channel
        {"axis": 2, "bounds": ((0, 2), (2, 4), (4, 6))},  # rows of every channel
        {"constant": False},  # bounds known only when running
        {"outputs": ("y", "q")},  # handed back to the caller
    ],
)
def test_slices_that_are_not_one_block_copy(kwargs):
    plan = plan_memory(qkv(**kwargs))
    plan.verify()
    copied = "q" if "outputs" in kwargs else "qkv"  # k and v of that one stay views
    assert all(plan.tensors[n].how != "view" for n in copied)
