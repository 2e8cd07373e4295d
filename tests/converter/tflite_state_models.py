"""Writes .tflite flatbuffers with several subgraphs (IF/WHILE bodies, CALL_ONCE init subgraphs)
and resource variables, for the state and control-flow tests, with the exporter's writer (as
tflite_models.py does for one subgraph).

`build(subgraphs)` takes `Sub`s: subgraph 0 is the main one (with a serving_default signature).
Tensor types: FLOAT32, INT32, BOOL, RESOURCE; `T.variable` marks TFLite's `is_variable`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from gossamer.converter.tflite_export.flatbuffer import OpSpec, TensorSpec

from .tflite_models import DTYPES, ServingWriter

FLOAT32, INT32, BOOL, RESOURCE = 0, 2, 6, 13
ADD, MUL, SUB, LESS, GREATER = 0, 18, 41, 58, 61
IF, WHILE, CALL_ONCE = 118, 119, 129
VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE = 142, 143, 144


@dataclass
class T:
    name: str
    type: int
    shape: tuple[int, ...]
    data: np.ndarray | None = None
    variable: bool = False


@dataclass
class Op:
    code: int
    inputs: list[int]
    outputs: list[int]
    options: tuple[str, dict] | None = None


@dataclass
class Sub:
    tensors: list[T]
    ops: list[Op]
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    name: str = ""


def build(subgraphs: list[Sub]) -> bytes:
    main, *others = [_writer(sg) for sg in subgraphs]
    main.others = others
    return main.finish(prune=False)


def _writer(sg: Sub) -> ServingWriter:
    return ServingWriter(
        [TensorSpec(t.name, DTYPES[t.type], tuple(t.shape), data=t.data, variable=t.variable)
         for t in sg.tensors],
        [OpSpec(op.code, op.inputs, op.outputs, op.options) for op in sg.ops],
        list(sg.inputs),
        list(sg.outputs),
        description="gossamer test model",
        name=sg.name,
    )  # fmt: skip


def handle(shared_name: str) -> tuple[str, dict]:
    return ("VarHandleOptions", {"container": "", "shared_name": shared_name})


# ---- the models the tests use -------------------------------------------------------------------
def accumulator(init: float | None = 1.0, shape: tuple[int, ...] = (1, 4)) -> bytes:
    """acc += x; out = acc * 2 (read after the assign). CALL_ONCE sets acc = init first (no
    CALL_ONCE when init is None: the variable then has no value, and reading it fails)."""
    main = Sub(
        [
            T("serving_default_x:0", FLOAT32, shape),
            T("acc", RESOURCE, ()),
            T("acc_read", FLOAT32, shape),
            T("acc_sum", FLOAT32, shape),
            T("acc_read2", FLOAT32, shape),
            T("two", FLOAT32, (), np.array(2.0, np.float32)),
            T("StatefulPartitionedCall:0", FLOAT32, shape),
        ],
        [
            Op(VAR_HANDLE, [], [1], handle("acc")),
            Op(READ_VARIABLE, [1], [2]),
            Op(ADD, [2, 0], [3]),
            Op(ASSIGN_VARIABLE, [1, 3], []),
            Op(READ_VARIABLE, [1], [4]),
            Op(MUL, [4, 5], [6]),
        ],
        [0],
        [6],
        "main",
    )
    subs = [main]
    if init is not None:
        main.ops.insert(0, Op(CALL_ONCE, [], [], ("CallOnceOptions", {"init_subgraph_index": 1})))
        subs.append(_init({"acc": np.full(shape, init, np.float32)}))
    return build(subs)


def _init(values: dict[str, np.ndarray]) -> Sub:
    tensors, ops = [], []
    for name, value in values.items():
        tensors += [T(f"{name}_h", RESOURCE, ()), T(f"{name}_v", FLOAT32, value.shape, value)]
        h = len(tensors) - 2
        ops += [Op(VAR_HANDLE, [], [h], handle(name)), Op(ASSIGN_VARIABLE, [h, h + 1], [])]
    return Sub(tensors, ops, [], [], "init")


def two_handles() -> bytes:
    """Two VAR_HANDLEs of one variable: assign through one, read through the other; the output
    is the value before this run's assign (a streaming delay line: out = previous x)."""
    main = Sub(
        [
            T("serving_default_x:0", FLOAT32, (3,)),
            T("h1", RESOURCE, ()),
            T("h2", RESOURCE, ()),
            T("StatefulPartitionedCall:0", FLOAT32, (3,)),
        ],
        [
            Op(CALL_ONCE, [], [], ("CallOnceOptions", {"init_subgraph_index": 1})),
            Op(VAR_HANDLE, [], [1], handle("delay")),
            Op(VAR_HANDLE, [], [2], handle("delay")),
            Op(READ_VARIABLE, [2], [3]),
            Op(ASSIGN_VARIABLE, [1, 0], []),
        ],
        [0],
        [3],
        "main",
    )
    return build([main, _init({"delay": np.array([-1.0, -2.0, -3.0], np.float32)})])


def if_model() -> bytes:
    """out = x + y if flag else x * y."""
    main = Sub(
        [
            T("serving_default_flag:0", BOOL, (1,)),
            T("serving_default_x:0", FLOAT32, (2, 3)),
            T("serving_default_y:0", FLOAT32, (2, 3)),
            T("StatefulPartitionedCall:0", FLOAT32, (2, 3)),
        ],
        [
            Op(
                IF,
                [0, 1, 2],
                [3],
                ("IfOptions", {"then_subgraph_index": 1, "else_subgraph_index": 2}),
            )
        ],
        [0, 1, 2],
        [3],
        "main",
    )
    return build([main, _binary("then", ADD), _binary("else", MUL)])


def _binary(name: str, code: int) -> Sub:
    tensors = [T("a", FLOAT32, (2, 3)), T("b", FLOAT32, (2, 3)), T("r", FLOAT32, (2, 3))]
    return Sub(tensors, [Op(code, [0, 1], [2])], [0, 1], [2], name)


def while_model() -> bytes:
    """i, acc = 0, x; while i < n: i, acc = i + 1, acc * 2 + 1; outputs acc and i (float32
    counters: the float importer has no int32 ADD yet)."""
    main = Sub(
        [
            T("serving_default_n:0", FLOAT32, ()),
            T("serving_default_x:0", FLOAT32, (4,)),
            T("zero", FLOAT32, (), np.array(0, np.float32)),
            T("StatefulPartitionedCall:0", FLOAT32, ()),
            T("StatefulPartitionedCall:1", FLOAT32, (4,)),
            T("n_out", FLOAT32, ()),
        ],
        [
            Op(
                WHILE,
                [2, 1, 0],
                [3, 4, 5],
                ("WhileOptions", {"cond_subgraph_index": 1, "body_subgraph_index": 2}),
            )
        ],
        [0, 1],
        [4, 3],
        "main",
    )
    cond = Sub(
        [T("i", FLOAT32, ()), T("acc", FLOAT32, (4,)), T("n", FLOAT32, ()), T("go", BOOL, ())],
        [Op(LESS, [0, 2], [3])],
        [0, 1, 2],
        [3],
        "cond",
    )
    body = Sub(
        [
            T("i", FLOAT32, ()),
            T("acc", FLOAT32, (4,)),
            T("n", FLOAT32, ()),
            T("one_i", FLOAT32, (), np.array(1, np.float32)),
            T("two", FLOAT32, (), np.array(2, np.float32)),
            T("one_f", FLOAT32, (), np.array(1, np.float32)),
            T("i1", FLOAT32, ()),
            T("acc2", FLOAT32, (4,)),
            T("acc3", FLOAT32, (4,)),
        ],  # fmt: skip
        [Op(ADD, [0, 3], [6]), Op(MUL, [1, 4], [7]), Op(ADD, [7, 5], [8])],
        [0, 1, 2],
        [6, 8, 2],
        "body",
    )
    return build([main, cond, body])


def if_with_variable() -> bytes:
    """c = [10, 20] at init; y = (c += x) if flag else x * 2 (the then branch assigns c);
    out = y + c, read after the IF: the value the branch left, or the kept one."""
    main = Sub(
        [
            T("serving_default_flag:0", BOOL, (1,)),
            T("serving_default_x:0", FLOAT32, (2,)),
            T("y", FLOAT32, (2,)),
            T("c", RESOURCE, ()),
            T("c_now", FLOAT32, (2,)),
            T("StatefulPartitionedCall:0", FLOAT32, (2,)),
        ],
        [
            Op(CALL_ONCE, [], [], ("CallOnceOptions", {"init_subgraph_index": 1})),
            Op(
                IF, [0, 1], [2], ("IfOptions", {"then_subgraph_index": 2, "else_subgraph_index": 3})
            ),
            Op(VAR_HANDLE, [], [3], handle("c")),
            Op(READ_VARIABLE, [3], [4]),
            Op(ADD, [2, 4], [5]),
        ],
        [0, 1],
        [5],
        "main",
    )
    then = Sub(
        [T("a", FLOAT32, (2,)), T("h", RESOURCE, ()), T("r", FLOAT32, (2,)), T("s", FLOAT32, (2,))],
        [
            Op(VAR_HANDLE, [], [1], handle("c")),
            Op(READ_VARIABLE, [1], [2]),
            Op(ADD, [2, 0], [3]),
            Op(ASSIGN_VARIABLE, [1, 3], []),
        ],
        [0],
        [3],
        "then",
    )
    other = Sub(
        [
            T("a", FLOAT32, (2,)),
            T("two", FLOAT32, (), np.array(2, np.float32)),
            T("r", FLOAT32, (2,)),
        ],
        [Op(MUL, [0, 1], [2])],
        [0],
        [2],
        "else",
    )
    return build([main, _init({"c": np.array([10, 20], np.float32)}), then, other])


def while_with_variable() -> bytes:
    """total = [0] at init; i = 0; while i < n: total += i; i += 1 (the body assigns the
    variable on every iteration); out = total, kept for the next run."""
    main = Sub(
        [
            T("serving_default_n:0", FLOAT32, (1,)),
            T("zero", FLOAT32, (1,), np.zeros(1, np.float32)),
            T("i_end", FLOAT32, (1,)),
            T("n_end", FLOAT32, (1,)),
            T("h", RESOURCE, ()),
            T("StatefulPartitionedCall:0", FLOAT32, (1,)),
        ],
        [
            Op(CALL_ONCE, [], [], ("CallOnceOptions", {"init_subgraph_index": 1})),
            Op(
                WHILE,
                [1, 0],
                [2, 3],
                ("WhileOptions", {"cond_subgraph_index": 2, "body_subgraph_index": 3}),
            ),
            Op(VAR_HANDLE, [], [4], handle("total")),
            Op(READ_VARIABLE, [4], [5]),
        ],
        [0],
        [5],
        "main",
    )
    cond = Sub(
        [T("i", FLOAT32, (1,)), T("n", FLOAT32, (1,)), T("go", BOOL, (1,))],
        [Op(LESS, [0, 1], [2])],
        [0, 1],
        [2],
        "cond",
    )
    body = Sub(
        [
            T("i", FLOAT32, (1,)),
            T("n", FLOAT32, (1,)),
            T("h", RESOURCE, ()),
            T("r", FLOAT32, (1,)),
            T("s", FLOAT32, (1,)),
            T("one", FLOAT32, (1,), np.ones(1, np.float32)),
            T("i1", FLOAT32, (1,)),
        ],  # fmt: skip
        [
            Op(VAR_HANDLE, [], [2], handle("total")),
            Op(READ_VARIABLE, [2], [3]),
            Op(ADD, [3, 0], [4]),
            Op(ASSIGN_VARIABLE, [2, 4], []),
            Op(ADD, [0, 5], [6]),
        ],
        [0, 1],
        [6, 1],
        "body",
    )
    return build([main, _init({"total": np.zeros(1, np.float32)}), cond, body])


def variable_program(steps: list[tuple], variables: int) -> bytes:
    """A main subgraph that runs `steps` in order over `variables` float [2] variables (each set
    to [k + 1, -(k + 1)] by CALL_ONCE, reached through two handles): ("read", v, h) appends the
    value of variable v read through handle h; ("assign", v, h, i) assigns value i to it;
    ("add", i, j) appends value i + value j. Values start with the input x; the output is the
    sum of all values (so every read shows)."""
    tensors = [T("serving_default_x:0", FLOAT32, (2,))]
    ops: list[Op] = [Op(CALL_ONCE, [], [], ("CallOnceOptions", {"init_subgraph_index": 1}))]
    handles = {}
    for v in range(variables):
        for h in range(2):
            tensors.append(T(f"v{v}_h{h}", RESOURCE, ()))
            handles[v, h] = len(tensors) - 1
            ops.append(Op(VAR_HANDLE, [], [handles[v, h]], handle(f"v{v}")))
    values = [0]

    def new(name: str) -> int:
        tensors.append(T(name, FLOAT32, (2,)))
        values.append(len(tensors) - 1)
        return values[-1]

    for k, step in enumerate(steps):
        if step[0] == "read":
            ops.append(Op(READ_VARIABLE, [handles[step[1], step[2]]], [new(f"read{k}")]))
        elif step[0] == "assign":
            ops.append(Op(ASSIGN_VARIABLE, [handles[step[1], step[2]], values[step[3]]], []))
        else:
            a, b = values[step[1]], values[step[2]]
            ops.append(Op(ADD, [a, b], [new(f"add{k}")]))
    if len(values) == 1:
        ops.append(Op(ADD, [0, 0], [new("twice")]))
    total = values[0]
    for i, value in enumerate(values[1:]):
        tensors.append(T(f"sum{i}", FLOAT32, (2,)))
        ops.append(Op(ADD, [total, value], [len(tensors) - 1]))
        total = len(tensors) - 1
    tensors[total].name = "StatefulPartitionedCall:0"
    main = Sub(tensors, ops, [0], [total], "main")
    init = _init({f"v{v}": np.array([v + 1, -(v + 1)], np.float32) for v in range(variables)})
    return build([main, init])
