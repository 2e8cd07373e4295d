"""Gradient ops (`ai.gossamer.grad::<Op>Grad`, the VJPs of refimpl/grad/): one case per VJP
version, derived from a case of its forward op.

A gradient case draws exactly what the forward case draws (shapes, attributes, edges), builds the
forward inputs with the forward case's own value makers, runs the forward reference, and draws a
cotangent for each output; its inputs are then what the VJP `takes` (dy, forward inputs, forward
outputs) and its outputs the input cotangents. So `gossamer conformance --backend X` checks X's
backward kernels exactly as it checks its forward ones.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ...refimpl.grad import GRAD_DOMAIN, VARIADIC, grad_spec_of, gradient_functions, vjp_for
from ...refimpl.registry import OpFunction, default_registry
from .. import values
from ..case import Arg, Case, Ctx, opset_of

_NOTE = "_forward"  # where the first maker leaves the forward example (stripped from attributes)


def _forward_example(case: Case, forward: OpFunction, ctx: Ctx) -> dict[str, Any]:
    """The forward inputs (drawn as `case` draws them), outputs and output cotangents."""
    fwd = Ctx(ctx.shapes, ctx.attrs, ctx.dtype, ctx.rng, ctx.draw)
    for i, arg in enumerate(case.args):
        if callable(arg.domain):
            value = arg.domain(fwd)
        else:
            shape = ctx.shapes[i] if i < len(ctx.shapes) else None
            value = None if shape is None else values.make(
                arg.domain, shape, arg.dtype or ctx.dtype, ctx.rng)  # fmt: skip
        fwd.inputs.append(value)
    inputs = list(fwd.inputs)
    while inputs and inputs[-1] is None:
        inputs.pop()
    attrs = {k: v for k, v in ctx.attrs.items() if not k.startswith("_")}
    if "num_outputs" in inspect.signature(forward).parameters and "num_outputs" not in attrs:
        attrs["num_outputs"] = case.outputs  # as the interpreter fills it from the node
    ys = forward(*inputs, **attrs)
    ys = ys if isinstance(ys, tuple) else (ys,)
    dtype = np.dtype(ys[0].dtype)
    cots = [values.make("any", np.shape(y), ctx.dtype, ctx.rng).astype(dtype) for y in ys]
    return {"x": inputs, "y": list(ys), "dy": cots}


def _args(case: Case, forward: OpFunction, vjp: OpFunction) -> tuple[Arg, ...]:
    """One maker per VJP input; the first one runs the forward example."""
    spec = grad_spec_of(vjp)
    picks: list[tuple[str, int]] = []
    for t in spec.takes:
        if t in ("dys", "xs"):
            count = case.outputs if t == "dys" else len(case.args)
            picks += [(t[:-1], k) for k in range(count)]
        else:
            kind = t.rstrip("0123456789")
            picks.append((kind, int(t[len(kind) :] or 0)))

    def maker(position: int, kind: str, k: int):
        def make(ctx: Ctx) -> np.ndarray | None:
            if position == 0:
                ctx.attrs[_NOTE] = _forward_example(case, forward, ctx)
            found = ctx.attrs[_NOTE][kind]
            return found[k] if k < len(found) else None

        return make

    consts = {k for k, a in enumerate(case.args) if a.const}
    return tuple(
        Arg(maker(p, kind, k), const=kind == "x" and k in consts, special=False)
        for p, (kind, k) in enumerate(picks)
    )


def _outputs(case: Case, vjp: OpFunction) -> int:
    wrt = grad_spec_of(vjp).wrt
    return len(case.args) if wrt == VARIADIC else 1 + max(wrt)


def _all_present(n: int):
    """Whether drawn shapes give all n inputs (a variadic VJP's node names one output each)."""
    return lambda shapes: len(shapes) >= n and all(isinstance(s, tuple) for s in shapes[:n])


def gradient_case(case: Case, vjp: OpFunction, forward: OpFunction) -> Case:
    shapes, edges = case.shapes, case.edges
    if grad_spec_of(vjp).wrt == VARIADIC:
        full = _all_present(len(case.args))
        shapes, edges = shapes.filter(full), tuple(e for e in edges if full(e[0]))
    return Case(
        f"{grad_spec_of(vjp).forward}Grad",
        _args(case, forward, vjp),
        ("float32",),
        shapes=shapes,
        attrs=case.attrs,
        domain=GRAD_DOMAIN,
        opset=opset_of(case),
        variant=case.variant,
        outputs=_outputs(case, vjp),
        tol="transcendental" if case.tol in ("exact", "default") else case.tol,
        reduced=lambda ex: max(1, max((v.size for v in ex.inputs if v is not None), default=1)),
        special=False,
        edges=edges,
    )


def _forward_cases() -> list[Case]:
    import importlib

    from . import MODULES

    cases: list[Case] = []
    for name in MODULES:
        if name != "gradients":
            cases += importlib.import_module(f"{__package__}.{name}").CASES
    return cases


def _cases() -> list[Case]:
    """For every VJP version, the first float32 forward case whose op version maps to it."""
    registry = default_registry()
    out: list[Case] = []
    wanted = {fn: grad_spec_of(fn) for fn in gradient_functions()}
    done: set[tuple[OpFunction, bool]] = set()
    for case in _forward_cases():
        if case.domain or "float32" not in case.dtypes:
            continue
        forward = registry.resolve("", case.op, opset_of(case))
        vjp = vjp_for(forward) if forward is not None else None
        # a training-mode variant (BatchNormalization) gets its own VJP case: another formula
        key = (vjp, case.variant == "training")
        if vjp is None or key in done or vjp not in wanted:
            continue
        done.add(key)
        out.append(gradient_case(case, vjp, forward))
    return out


CASES: list[Case] = _cases()
