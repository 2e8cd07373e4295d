"""TFLite resource variables and CALL_ONCE -> Graph.state, and the subgraph plumbing that IF and
WHILE (ops_control_flow.py) share.

LiteRT's semantics (lite/kernels/var_handle.cc, read_variable.cc, assign_variable.cc,
call_once.cc): VAR_HANDLE names a variable by (container, shared_name); every handle with the same
pair, in any subgraph, is the same variable, and its value lives in the interpreter, so it
survives from one invoke() to the next. READ_VARIABLE copies the variable's current value (it
fails while the variable has none); ASSIGN_VARIABLE replaces it. Operators run in the subgraph's
order, so a read after an assign in the same invoke sees the assigned value. CALL_ONCE runs its
init subgraph (no inputs, no outputs) the first time the interpreter reaches it, never again.

Here the main subgraph becomes a pure function (inputs, state) -> (outputs, new state): the ops are
walked in order keeping each variable's *current value name* (SSA), a read before any assign reads
the state input, and the last assigned value becomes the state output. CALL_ONCE's init subgraph
has no inputs, so it is evaluated at import with the reference interpreter: its assignments are
the states' initial values (what the first invoke sees; Session.reset_state restores them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...refimpl.errors import GossamerError, UnsupportedModelError
from ...refimpl.interpreter import Program
from ...refimpl.ir import Graph, Node, StateBinding, Value
from .context import Context, Converter, Unsupported
from .reader import DTYPES, Operator, Subgraph, TFLiteModel

# what a subgraph converts as: the main one, a CALL_ONCE init, an IF/WHILE body
MAIN, INIT, BODY = "main", "init", "body"


@dataclass
class Variable:
    """One resource variable of the model (all handles of one (container, shared_name))."""

    name: str
    initial: np.ndarray | None = None
    input: str | None = None  # the main graph's state input, once main reads the kept value
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    seen_as: str | None = None  # a main-graph value holding it (its quantisation is the state's)

    def note(self, dtype: str | None, shape: tuple[int, ...] | None) -> None:
        if self.dtype is None:
            self.dtype, self.shape = dtype, shape
        elif self.shape != shape:
            self.shape = None  # assigned values of different shapes: rank/dims vary


@dataclass
class Control:
    """Per converted subgraph: the model-wide variables and subgraph converter, and this
    subgraph's own view (its handles, each variable's current value name)."""

    model: TFLiteModel
    convert: Callable[[Context], None]  # converts a Context's operators (import_graph)
    kind: str = MAIN
    variables: dict[tuple[str, str], Variable] = field(default_factory=dict)
    handles: dict[int, Variable] = field(default_factory=dict)  # tensor index -> variable
    current: dict[str, str] = field(default_factory=dict)  # variable name -> value name
    initialised: set[int] = field(default_factory=set)  # subgraphs CALL_ONCE has run
    found: dict = field(default_factory=dict)  # the importer's unmapped ops, by op type
    parent: Context | None = None  # a body's host: where a variable's incoming value is
    assigned: set[str] = field(default_factory=set)  # variables this subgraph assigns
    # `is_variable` tensors an op updates in place (LSTM, RNN): tensor index -> (its new value,
    # the index of the operator that updates it)
    updated: dict[int, tuple[str, int]] = field(default_factory=dict)

    def child(self, kind: str, parent: Context) -> Control:
        return Control(
            self.model, self.convert, kind, self.variables,
            initialised=self.initialised, found=self.found, parent=parent,
        )  # fmt: skip

    def variable(self, container: str, shared: str, fallback: str) -> Variable:
        """The variable of (container, shared_name); an unnamed handle is its own variable."""
        key = (container, shared or fallback)
        if key not in self.variables:
            self.variables[key] = Variable(f"{container}/{shared}" if container else key[1])
        return self.variables[key]

    def assigned_in(self, index: int, seen: set[int] | None = None) -> list[Variable]:
        """The variables subgraph `index` (or an IF/WHILE body inside it) assigns, found by
        scanning its operators: a WHILE must carry them before its body is converted."""
        seen = set() if seen is None else seen
        seen.add(index)
        sg = self.model.subgraphs[index]
        handles = {op.outputs[0]: op for op in sg.operators if op.opcode == "VAR_HANDLE"}
        found: list[Variable] = []
        for op in sg.operators:
            if op.opcode == "ASSIGN_VARIABLE" and op.inputs and op.inputs[0] in handles:
                h = handles[op.inputs[0]]
                found.append(self.variable(*_key(h.options), f"{index}/{h.outputs[0]}"))
            for option in _BODIES.get(op.opcode, ()):
                sub = op.options.get(option)
                if isinstance(sub, int) and 0 <= sub < len(self.model.subgraphs):
                    if sub not in seen:
                        found += self.assigned_in(sub, seen)
        return list({id(v): v for v in found}.values())

    def complete(self, sg: Subgraph) -> bool:
        """Whether every op of `sg` was converted (none is listed as unmapped)."""
        where = f"subgraph {sg.index} op "
        return not any(n.startswith(where) for it in self.found.values() for n in it["nodes"])


def subgraph(ctx: Context, index: object, what: str) -> Subgraph:
    subgraphs = ctx.control.model.subgraphs
    if not isinstance(index, int) or not 0 <= index < len(subgraphs):
        raise Unsupported(f"its {what} {index!r} is not a subgraph of the model")
    return subgraphs[index]


_BODIES = {
    "IF": ("then_subgraph_index", "else_subgraph_index"),
    "WHILE": ("cond_subgraph_index", "body_subgraph_index"),
}


def _key(options: dict) -> tuple[str, str]:
    return str(options.get("container") or ""), str(options.get("shared_name") or "")


def convert_subgraph(
    ctx: Context, sg: Subgraph, kind: str, preset: dict[str, str] | None = None
) -> Context | None:
    """A Context holding `sg` converted (names unique across the model) inside `ctx` (a body
    reads a variable it has not assigned from there; `preset` gives variables' values at its
    start, e.g. loop-carried ones); None when the subgraph uses an op or variant that is not
    mapped (listed by the importer, which then refuses the model)."""
    child = ctx.nested(sg)
    child.control = ctx.control.child(kind, ctx)
    child.control.current.update(preset or {})
    ctx.control.convert(child)
    return child if ctx.control.complete(sg) else None


def value_of(ctx: Context, index: int, name: str | None = None, shape: bool = True) -> Value:
    t = ctx.tensor(index)
    dims = t.shape_signature if t.shape_signature is not None else t.shape
    dtype = t.dtype if t.dtype in DTYPES.values() else None
    return Value(
        name or ctx.names[index],
        dtype,
        tuple(None if d < 0 else d for d in dims) if shape else None,
    )


# ---- resource variables -----------------------------------------------------------------------
def var_handle(ctx: Context, op: Operator) -> None:
    control: Control = ctx.control
    fallback = f"{ctx.subgraph.index}/{op.outputs[0]}"
    control.handles[op.outputs[0]] = control.variable(*_key(op.options), fallback)


def current_value(ctx: Context, var: Variable) -> str:
    """The name of the variable's value at this point of `ctx`'s op order: what this subgraph
    last assigned, else its host's value (a body), the state input (main: the value kept from
    the previous run), or the value an earlier init subgraph set (init)."""
    control: Control = ctx.control
    if var.name not in control.current:
        if control.kind == MAIN:
            if var.input is None:
                var.input = ctx.claim(f"{var.name}/kept")
            control.current[var.name] = var.input
        elif control.kind == BODY:
            assert control.parent is not None
            control.current[var.name] = current_value(control.parent, var)
        elif var.initial is not None:
            control.current[var.name] = ctx.add_const(var.name, var.initial)
        else:
            raise Unsupported(f"it reads variable {var.name!r} before anything assigns it")
    return control.current[var.name]


def set_value(ctx: Context, var: Variable, name: str) -> None:
    ctx.control.current[var.name] = name
    ctx.control.assigned.add(var.name)


def _variable(ctx: Context, index: int) -> Variable:
    control: Control = ctx.control
    if index not in control.handles:
        raise Unsupported(f"its resource {ctx.names[index]!r} does not come from a VAR_HANDLE")
    return control.handles[index]


def read_variable(ctx: Context, op: Operator) -> None:
    """output = the variable's value at this point of the op order."""
    var = _variable(ctx, op.inputs[0])
    out = value_of(ctx, op.outputs[0])
    var.note(out.dtype, ctx.tensor(op.outputs[0]).shape)
    if ctx.control.kind == MAIN:
        var.seen_as = var.seen_as or out.name
    ctx.emit("Identity", [current_value(ctx, var)], [out.name])


def assign_variable(ctx: Context, op: Operator) -> None:
    """The variable's value from here on (and at the end of the run) is the input's."""
    var = _variable(ctx, op.inputs[0])
    t = ctx.tensor(op.inputs[1])
    var.note(t.dtype if t.dtype in DTYPES.values() else None, t.shape)
    set_value(ctx, var, ctx.name(op.inputs[1]))


def call_once(ctx: Context, op: Operator) -> None:
    """Runs the init subgraph now, at import: it has no inputs, so its result is the same on
    every interpreter; the values it assigns are the variables' initial values."""
    control: Control = ctx.control
    if control.kind != MAIN:
        raise Unsupported("CALL_ONCE outside the main subgraph is not imported yet")
    index = op.options.get("init_subgraph_index")
    sg = subgraph(ctx, index, "init_subgraph_index")
    if sg.index in control.initialised:
        return  # LiteRT runs each init subgraph once per interpreter
    control.initialised.add(sg.index)
    if sg.inputs or sg.outputs:
        raise Unsupported(f"its init subgraph {sg.index} has inputs or outputs (LiteRT refuses it)")
    init = convert_subgraph(ctx, sg, INIT)
    if init is None:
        return
    touched = [v for v in init.control.variables.values() if v.name in init.control.assigned]
    early = [v.name for v in touched if v.name in control.current]
    if early:
        raise Unsupported(f"variable(s) {early} are used before CALL_ONCE initialises them")
    names = [init.control.current[v.name] for v in touched]
    graph = Graph(init.nodes, [], [Value(n) for n in names], dict(init.initializers))
    try:
        env = Program(graph).run({})
    except GossamerError as err:
        raise Unsupported(f"its init subgraph {sg.index} cannot run at import: {err}") from err
    for var, name in zip(touched, names):
        var.initial = np.array(env[name])


def add_state(ctx: Context, graph: Graph) -> None:
    """The variables the main subgraph uses become Graph.state: a state input where main reads
    the kept value, a state output (an Identity of the last assigned value) where it assigns."""
    control: Control = ctx.control
    for var in control.variables.values():
        current = control.current.get(var.name)
        if current is None:
            continue  # main never touches it (e.g. only an init subgraph does)
        if var.initial is not None and var.dtype is None:
            var.dtype, var.shape = str(var.initial.dtype), var.initial.shape
        shape = var.shape
        output = None
        if current != var.input:
            output = ctx.claim(f"{var.name}/new")
            graph.nodes.append(Node("Identity", [current], [output], {}, ctx.fresh("state_out")))
            graph.outputs.append(Value(output, var.dtype, shape))
        if var.input is not None:
            graph.inputs.append(Value(var.input, var.dtype, shape))
        initial = var.initial
        if initial is not None and var.dtype is not None and str(initial.dtype) != var.dtype:
            raise UnsupportedModelError(
                f"TFLite variable {var.name!r} is initialised with {initial.dtype} values but "
                f"read or assigned as {var.dtype}"
            )
        graph.state.append(StateBinding(var.name, var.input, output, initial))
        quant = graph.quant.get(var.seen_as or current)  # an int8 variable's scale, zero point
        for name in (var.input, output):
            if quant is not None and name is not None:
                graph.quant[name] = quant
    _variable_tensors(ctx, graph)


def update_variable_tensor(ctx: Context, index: int, value: str) -> None:
    """For the converter of an op that updates an `is_variable` tensor in place (the sequence
    LSTM/RNN ops' output and cell state): `value` is the tensor's value after the run, which
    LiteRT keeps for the next invoke (the state output of the tensor's binding). A tensor that
    is not `is_variable` is not kept: nothing to do."""
    control: Control = ctx.control
    if not ctx.tensor(index).is_variable:
        return
    if control.kind != MAIN:
        raise Unsupported("it updates a variable tensor inside a body subgraph (not imported yet)")
    if index in control.updated:
        raise Unsupported(f"variable tensor {ctx.names[index]!r} is updated by two operators")
    assert ctx.op is not None
    control.updated[index] = (value, ctx.op.index)


def _variable_tensors(ctx: Context, graph: Graph) -> None:
    """Tensors flagged `is_variable` (older stateful models) that ops read but nothing computes:
    LiteRT allocates them once and resets them to zeros (int8: the zero point; lite/kernels/
    kernel_util.cc ResetVariableTensor); only the ops that update such a tensor in place (the
    sequence LSTM/RNN ops, through update_variable_tensor) change it. So each is a state, read
    each run (and written back where an op updates it), reset by Session.reset_state as by the
    interpreter's reset_all_variables."""
    sg = ctx.subgraph
    read = {i for op in sg.operators for i in op.inputs} - {
        o for op in sg.operators for o in op.outputs
    }
    taken = {b.name for b in graph.state}
    for t in sg.tensors:
        if not t.is_variable or t.data is not None or t.index not in read or t.index in sg.inputs:
            continue
        if t.dtype not in DTYPES.values():
            raise UnsupportedModelError(f"TFLite variable tensor {t.name!r} has type {t.dtype}")
        fill = 0
        if t.dtype == "int8" and t.quantization is not None:
            fill = int(t.quantization.zero_points.reshape(-1)[0])
        name = t.name if t.name not in taken else ctx.fresh(t.name)
        taken.add(name)
        graph.inputs.append(value_of(ctx, t.index))
        initial = np.full(t.shape, fill, dtype=t.dtype)
        output = None
        if t.index in ctx.control.updated:
            new, by = ctx.control.updated[t.index]
            later = [op.index for op in sg.operators if op.index > by and t.index in op.inputs]
            if later:  # they would see the updated value (not imported yet)
                raise UnsupportedModelError(
                    f"TFLite variable tensor {t.name!r} is read by operator(s) {later} after "
                    f"operator {by} updates it in place; the importer does not map that yet"
                )
            output = ctx.claim(f"{name}/new")
            graph.nodes.append(Node("Identity", [new], [output], {}, ctx.fresh("state_out")))
            graph.outputs.append(value_of(ctx, t.index, output))
        graph.state.append(StateBinding(name, ctx.names[t.index], output, initial))


CONVERTERS: dict[str, Converter] = {
    "VAR_HANDLE": var_handle,
    "READ_VARIABLE": read_variable,
    "ASSIGN_VARIABLE": assign_variable,
    "CALL_ONCE": call_once,
}
