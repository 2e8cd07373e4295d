"""The memory plan's Concat groups: a Concat input that shares its buffer (a block of a Split or a
Slice, an in-place write over a conv's output) moves into the Concat's output with that buffer
when a run of consecutive inputs covers the buffer exactly at its places: YOLOv8n's C2f writes
cv1's output (whose Split halves are the Concat's first inputs) and the bottleneck outputs
straight into the Concat (refimpl/memory_plan.py); the plan checker checks each part's bytes as a
region of their own (refimpl/memory_plan_check.py) and still catches wrong placements."""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pytest
from gossamer.refimpl.interpreter import Program
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.memory_plan import MemoryPlan, plan_memory
from gossamer.refimpl.memory_plan_check import plan_problems
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.refimpl.test_memory_plan import run_in_arena
from tests.refimpl.test_memory_plan_concat import fire

F32 = "float32"


def c2f(*, batch: int = 1, halves: tuple[int, int] = (16, 16), order: str = "abr",
        shortcut: bool = True, slices: bool = False, outputs: tuple[str, ...] = ("y",),
        extra: list[Node] = (), blocked: bool = False) -> Graph:  # fmt: skip
    """x -> conv cv1 -> t; Split(t) -> a, b (or two Slices); conv m1(b) -> conv m2 -> h;
    r = b + h (shortcut: in place over h) or r = h; Concat(inputs in `order`) -> cat;
    conv cv2 -> y. blocked: (N, C/8, H, W, 8) tensors, convs as element-wise stand-ins."""
    rng = np.random.default_rng(0)
    c = sum(halves)
    inits = {
        "w1": rng.standard_normal((c, 8, 1, 1)).astype(np.float32),
        "wm1": rng.standard_normal((halves[1], halves[1], 3, 3)).astype(np.float32),
        "wm2": rng.standard_normal((halves[1], halves[1], 3, 3)).astype(np.float32),
        "sizes": np.array(halves, np.int64),
    }
    if blocked:
        inits["sizes"] //= 8
    pad = {"pads": [1, 1, 1, 1]}
    if blocked:  # shapes stay with the element-wise ops: Sigmoid for the convs
        cv1 = Node("Sigmoid", ["x"], ["t"], name="cv1")
        m1 = Node("Sigmoid", ["b"], ["m"], name="m1")
        m2 = Node("Tanh", ["m"], ["h"], name="m2")
    else:
        cv1 = Node("Conv", ["x", "w1"], ["t"], name="cv1")
        m1 = Node("Conv", ["b", "wm1"], ["m"], pad, name="m1")
        m2 = Node("Conv", ["m", "wm2"], ["h"], pad, name="m2")
    nodes = [cv1]
    if slices:
        inits.update(lo=np.array([0]), mid=np.array([halves[0]]), hi=np.array([c]),
                     ax=np.array([1]))  # fmt: skip
        nodes += [Node("Slice", ["t", "lo", "mid", "ax"], ["a"], name="slice_a"),
                  Node("Slice", ["t", "mid", "hi", "ax"], ["b"], name="slice_b")]  # fmt: skip
    else:
        nodes.append(Node("Split", ["t", "sizes"], ["a", "b"], {"axis": 1}, name="split"))
    nodes += [m1, m2]
    nodes.append(
        Node("Add", ["b", "h"], ["r"], name="add") if shortcut else Node("Relu", ["h"], ["r"])
    )
    ins = [{"a": "a", "b": "b", "r": "r", "x": "x2"}[k] for k in order]
    nodes.append(Node("Concat", ins, ["cat"], {"axis": 1}, name="cat"))
    if blocked:
        nodes.append(Node("Sigmoid", ["cat"], ["y"], name="cv2"))
    else:
        cin = sum(halves[0] if k == "a" else halves[1] for k in order)
        inits["w2"] = rng.standard_normal((8, cin, 1, 1)).astype(np.float32)
        if "x" in order:  # x2: another conv of x
            inits["wx"] = rng.standard_normal((halves[1], 8, 1, 1)).astype(np.float32)
            nodes.insert(1, Node("Conv", ["x", "wx"], ["x2"], name="cx"))
        nodes.append(Node("Conv", ["cat", "w2"], ["y"], name="cv2"))
    nodes += list(extra)
    shape = (batch, 4, 6, 6, 8) if blocked else (batch, 8, 6, 6)
    return Graph(
        nodes, [Value("x", F32, shape)], [Value(o) for o in outputs], inits, opsets={"": 18}
    )


def assembled(plan: MemoryPlan, g: Graph) -> list[str]:
    """The Concats whose inputs lie at their places in the output (the Concat copies nothing)."""
    done = []
    for node in g.nodes:
        if node.op_type == "Concat":
            at = plan.tensors[node.outputs[0]].offset
            for name in node.inputs:
                if plan.tensors[name].offset != at:
                    break
                at += plan.tensors[name].nbytes
            else:
                done.append(node.name)
    return done


def replay_contents(g: Graph, plan: MemoryPlan, values: dict[str, Value] | None = None) -> None:
    """Runs the graph on byte ids instead of numbers: every written tensor gets fresh ids, a
    Split/Slice/view op's output is its input's ids rearranged as the op does, a Concat's the
    inputs' ids concatenated; writes land at the planned bytes (views write nothing, a Concat
    writes its whole output, as its kernel does when an input is not in place), and every read
    (and each graph output at the end) must find the ids its value holds."""
    from gossamer.refimpl.shape_inference import infer_shapes

    values = values or infer_shapes(g)
    arena = np.full(plan.arena_bytes, -1, np.int64)
    ids: dict[str, np.ndarray] = {}
    fresh = iter(range(1 << 62))

    def cells(name: str) -> np.ndarray:  # ids shaped (*shape, itemsize)
        v = values[name]
        return np.array([next(fresh) for _ in range(math.prod(v.shape) * 4)]).reshape((*v.shape, 4))

    def span(name: str) -> slice:
        t = plan.tensors[name]
        return slice(t.offset, t.offset + t.nbytes)

    def check(name: str, when: str) -> None:
        if name in plan.tensors:
            assert (arena[span(name)] == ids[name].ravel()).all(), f"{name} clobbered {when}"

    for v in g.inputs:
        ids[v.name] = cells(v.name)
    for step, node in enumerate(g.topological_nodes()):
        read = list(node.inputs) + [n for body in node.subgraphs() for n in body.free_names()]
        for name in read:
            check(name, f"before step {step} ({node.name})")
        ins = [ids.get(i) for i in node.inputs]
        op, axis = node.op_type, node.attrs.get("axis", 0)
        if op == "Split":
            sizes = np.cumsum(g.initializers[node.inputs[1]])[:-1]
            outs = np.split(ins[0], sizes, axis=axis)
        elif op == "Slice":
            lo, hi, ax = (int(g.initializers[n][0]) for n in node.inputs[1:4])
            index = [slice(None)] * ins[0].ndim
            index[ax] = slice(lo, hi)
            outs = [ins[0][tuple(index)]]
        elif op == "Concat":
            outs = [np.concatenate(ins, axis=axis)]
        elif op in ("Reshape", "Identity"):
            outs = [ins[0].reshape((*values[node.outputs[0]].shape, 4))]
        else:
            outs = [cells(o) for o in node.outputs]
        for name, value in zip(node.outputs, outs):
            ids[name] = value
            if name in plan.tensors and plan.tensors[name].how != "view":
                arena[span(name)] = value.ravel()
    for v in g.outputs:
        check(v.name, "at the end")


def run_checked(g: Graph) -> MemoryPlan:
    """The plan of g, verified, replayed on ids, and run by the reference in its arena: the same
    outputs as without one."""
    plan = plan_memory(g)
    plan.verify()
    replay_contents(g, plan)
    x = np.random.default_rng(1).standard_normal(g.inputs[0].shape).astype(np.float32)
    expected = Program(g).run({"x": x})
    for got, v in zip(run_in_arena(g, plan, {"x": x}), g.outputs):
        np.testing.assert_array_equal(got, expected[v.name])
    return plan


# ---- the rule --------------------------------------------------------------------------------
@pytest.mark.parametrize("shortcut", [True, False])
def test_c2f_writes_cv1_and_the_bottleneck_into_the_concat(shortcut):
    g = c2f(shortcut=shortcut)
    plan = run_checked(g)
    t, a, b, h, r, cat = (plan.tensors[n] for n in ("t", "a", "b", "h", "r", "cat"))
    assert (t.how, t.shares, t.offset) == ("part", "cat", cat.offset)
    assert (a.how, a.shares, a.offset) == ("view", "t", cat.offset)
    assert (b.how, b.offset) == ("view", cat.offset + a.nbytes)
    assert h.how == "part" and h.offset == r.offset == cat.offset + t.nbytes
    assert (r.how, r.shares) == ("inplace", "h")
    assert t.buffer == h.buffer == r.buffer == cat.buffer
    assert assembled(plan, g) == ["cat"]


@pytest.mark.parametrize(
    "kwargs, where",
    [
        ({"slices": True}, 0),  # q/k-style Slices of t instead of a Split
        ({"order": "rab"}, 1),  # t's blocks after r: t at r's end
        ({"order": "xabr"}, 1),  # another conv first
        ({"blocked": True}, 0),  # NCHW8c: axis 1 is the blocks' axis
    ],
)
def test_the_blocks_of_one_value_may_sit_anywhere_in_the_concat(kwargs, where):
    g = c2f(**kwargs)
    plan = run_checked(g)
    t, cat = plan.tensors["t"], plan.tensors["cat"]
    first = plan.tensors[next(n for n in g.nodes if n.name == "cat").inputs[0]]
    assert (t.how, t.shares) == ("part", "cat")
    assert t.offset == cat.offset + (first.nbytes if where else 0)
    assert assembled(plan, g) == ["cat"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"order": "bar"},  # the blocks in the other order: not t's bytes
        {"order": "arb"},  # t's blocks apart
        {"order": "ar"},  # b not in the Concat: t's bytes not covered
        {"outputs": ("y", "t")},  # t handed back to the caller
        {"outputs": ("y", "a")},  # a block handed back: not a view, so a's own buffer
        {"batch": 2},  # channels of each image: not one block
        {"halves": (3, 5)},  # 3 * 36 floats: b's place is not 64-byte aligned
    ],
)
def test_concats_whose_groups_do_not_fit_copy_them(kwargs):
    g = c2f(**kwargs)
    plan = run_checked(g) if "order" not in kwargs or kwargs["order"] != "ar" else None
    if plan is None:
        plan = plan_memory(g)
        plan.verify()
        replay_contents(g, plan)
    assert plan.tensors["t"].how != "part"
    if "outputs" not in kwargs and kwargs.get("halves") is None:
        assert "cat" not in assembled(plan, g)


def test_the_switch_keeps_the_one_buffer_rule(monkeypatch):
    monkeypatch.setenv("GOSSAMER_CONCAT_GROUPS", "0")
    g = c2f()
    plan = run_checked(g)
    assert plan.num_parts == 0 and assembled(plan, g) == []
    g = fire()  # two convs with buffers of their own: parts as before
    plan = run_checked(g)
    assert plan.tensors["a"].how == plan.tensors["b"].how == "part"


def test_one_group_goes_into_one_concat_only():
    other = [Node("Concat", ["a", "b"], ["cat2"], {"axis": 1}, name="cat2"),
             Node("Sigmoid", ["cat2"], ["z"], name="z")]  # fmt: skip
    g = c2f(outputs=("y", "z"), extra=other)
    plan = run_checked(g)
    assert plan.tensors["t"].shares == "cat" and assembled(plan, g) == ["cat"]


def test_a_block_read_after_the_concat_keeps_the_output_from_in_place_writes():
    late = [Node("Relu", ["cat"], ["c2"], name="relu_cat"),
            Node("Sigmoid", ["a"], ["s"], name="late")]  # fmt: skip
    g = c2f(outputs=("y", "c2", "s"), extra=late)
    plan = run_checked(g)
    assert plan.tensors["t"].how == "part"
    assert plan.tensors["c2"].how == "own"  # cat's bytes still hold a, read by `late`


def test_in_place_writes_over_the_group_wait_for_the_concat():
    # Relu over a (a dies there, before the Concat reads b) may not write t's bytes: cat is live
    late = [Node("Relu", ["cat"], ["c2"], name="relu_cat")]
    g = c2f(outputs=("y", "c2"), extra=late)
    plan = run_checked(g)
    assert plan.tensors["c2"].how == "inplace"  # every member of cat's buffer dies at the Relu


def test_a_block_read_in_a_body_after_the_concat_keeps_its_bytes():
    # the If's body reads b after the Relu over cat: the Relu may not write over cat's buffer
    body = Graph([Node("Sigmoid", ["b"], ["inner"])], [], [Value("inner")], name="body")
    late = [
        Node("Relu", ["cat"], ["c2"], name="relu_cat"),
        Node("If", ["cond"], ["s"], {"then_branch": body, "else_branch": body}, name="if"),
    ]
    g = c2f(outputs=("y", "c2", "s"), extra=late)
    g.initializers["cond"] = np.array(True)
    plan = run_checked(g)
    assert plan.tensors["t"].how == "part" and plan.tensors["c2"].how == "own"
    assert plan.buffers[plan.tensors["cat"].buffer].last >= plan.steps.index("if")


def test_dynamic_dims_plan_nothing_until_fixed():
    g = c2f()
    g.inputs[0] = Value("x", F32, ("N", 8, 6, 6))
    assert "cat" in plan_memory(g).unplanned
    plan = plan_memory(g, input_shapes={"x": (1, 8, 6, 6)})
    plan.verify()
    assert plan.tensors["t"].how == "part"
    assert plan_memory(g, input_shapes={"x": (2, 8, 6, 6)}).num_parts == 0


# ---- the checker catches wrong placements ----------------------------------------------------
def _moved(plan: MemoryPlan, **changes: dict) -> MemoryPlan:
    tensors = dict(plan.tensors)
    for name, fields in changes.items():
        tensors[name] = dataclasses.replace(tensors[name], **fields)
    return dataclasses.replace(plan, tensors=tensors)


def test_the_checker_accepts_the_c2f_plan_and_catches_wrong_placements():
    plan = plan_memory(c2f())
    assert plan_problems(plan) == []
    t, a, b, h, r, cat = (plan.tensors[n] for n in ("t", "a", "b", "h", "r", "cat"))
    wrong = {
        # the bottleneck written over b, which the Add and the Concat still read
        "over b": {"h": {"offset": b.offset}, "r": {"offset": b.offset}},
        # the in-place Add writes somewhere else than over h
        "add elsewhere": {"r": {"offset": t.offset}},
        # h's part overlaps t's
        "parts overlap": {"h": {"offset": t.offset + 64}, "r": {"offset": t.offset + 64}},
        # a block outside its value's bytes
        "view outside": {"b": {"offset": h.offset}},
        # h kept live past the Add that writes over it
        "read after overwrite": {"h": {"last": r.first + 1}},
        # h's part written after the Concat's step: into the live output
        "late part": {"h": {"first": cat.first + 1, "last": cat.first + 1}},
        # a part past the output's end
        "outside": {"h": {"offset": cat.offset + cat.nbytes}},
    }
    for what, changes in wrong.items():
        assert plan_problems(_moved(plan, **changes)), what


def test_the_checker_catches_a_part_read_while_the_output_is_overwritten():
    late = [Node("Relu", ["cat"], ["c2"], name="relu_cat")]
    plan = plan_memory(c2f(outputs=("y", "c2"), extra=late))
    assert plan_problems(plan) == [] and plan.tensors["c2"].how == "inplace"
    # a read of a after the Relu has written over cat's bytes
    bad = _moved(plan, a={"last": plan.tensors["c2"].first + 1})
    assert any("live with" in p for p in plan_problems(bad))


def test_the_checker_catches_a_value_over_a_part_while_the_output_is_live():
    late = [Node("Sigmoid", ["cat"], ["c2"], name="after")]
    plan = plan_memory(c2f(outputs=("y", "c2"), extra=late))
    assert plan_problems(plan) == []
    h = plan.tensors["h"]
    # r made an in-place write over h that happens after the Concat, while cat is read
    r = plan.tensors["r"]
    bad = _moved(plan, r={"first": plan.tensors["cat"].first + 1, "last": r.last + 2})
    assert plan_problems(bad)
    assert h.how == "part"


# ---- random channel graphs -------------------------------------------------------------------
@st.composite
def channel_graphs(draw):
    """Random graphs of (1, C, 2, 2) float32 tensors: element-wise ops (in place where they
    may), channel Splits (views), Concats of 1-3 values, Reshape/Identity views."""
    values = {"x": Value("x", F32, (1, 8 * draw(st.integers(1, 4)), 2, 2))}
    inits: dict[str, np.ndarray] = {}
    names, nodes = ["x"], []

    def pick() -> str:  # a recent value or any
        return draw(st.sampled_from(names[-5:] if draw(st.booleans()) else names))

    for k in range(draw(st.integers(1, 18))):
        op = draw(st.sampled_from(["Relu", "Sigmoid", "Add", "Split", "Concat", "Concat",
                                   "Identity", "Conv"]))  # fmt: skip
        x = pick()
        c = values[x].shape[1]
        if op == "Split":
            if c < 16:
                continue
            cut = 8 * draw(st.integers(1, c // 8 - 1))
            inits[f"s{k}"] = np.array([cut, c - cut])
            outs = [f"v{k}_0", f"v{k}_1"]
            nodes.append(Node(op, [x, f"s{k}"], outs, {"axis": 1}, name=f"n{k}"))
            values[outs[0]] = Value(outs[0], F32, (1, cut, 2, 2))
            values[outs[1]] = Value(outs[1], F32, (1, c - cut, 2, 2))
            names += outs
            continue
        out = f"v{k}"
        if op == "Concat":
            ins = list(dict.fromkeys([x] + [pick() for _ in range(draw(st.integers(0, 2)))]))
            c = sum(values[i].shape[1] for i in ins)
            nodes.append(Node(op, ins, [out], {"axis": 1}, name=f"n{k}"))
        elif op == "Add":
            y = draw(st.sampled_from([n for n in names if values[n].shape[1] == c]))
            nodes.append(Node(op, [x, y], [out], name=f"n{k}"))
        elif op == "Conv":  # a fresh value (Sigmoid of x, another node kind for the plan)
            nodes.append(Node("Tanh", [x], [out], name=f"n{k}"))
        else:
            nodes.append(Node(op, [x], [out], name=f"n{k}"))
        values[out] = Value(out, F32, (1, c, 2, 2))
        names.append(out)
    produced = [n for n in names if n != "x"]
    if not produced:
        return None
    extra = draw(st.lists(st.sampled_from(produced), max_size=3, unique=True))
    outputs = list(dict.fromkeys([produced[-1], *extra]))
    g = Graph(nodes, [values["x"]], [Value(o) for o in outputs], inits, opsets={"": 18})
    return g, values


@settings(max_examples=300, deadline=None)
@given(channel_graphs(), st.booleans())
def test_random_channel_graphs_plan_validly(dag, grouped):
    if dag is None:
        return
    g, values = dag
    saved = os.environ.get("GOSSAMER_CONCAT_GROUPS")
    os.environ["GOSSAMER_CONCAT_GROUPS"] = "1" if grouped else "0"
    try:
        plan = plan_memory(g, values=values)
    finally:
        if saved is None:
            os.environ.pop("GOSSAMER_CONCAT_GROUPS")
        else:
            os.environ["GOSSAMER_CONCAT_GROUPS"] = saved
    assert plan_problems(plan) == []
    replay_contents(g, plan, values)
