"""The VJP contract: how a gradient op is declared, and the helpers every VJP shares.

A gradient op is a reference op like any other (`@reference_op` under the hood), in the domain
`GRAD_DOMAIN`, named `<Forward>Grad`, with the forward op's attributes (same names, same defaults)
and `since` equal to the first forward version whose semantics it differentiates. So a backend
overrides `ConvGrad` with `@kernel(conv_grad_1)` exactly as it overrides `Conv`, and conformance
checks it against the reference the same way.

`@gradient_op(...)` also records a `GradSpec`: which tensors the VJP takes, in order (`takes`:
"dy0" the cotangent of forward output 0, "x1" forward input 1, "y0" forward output 0, and the
variadic "dys" / "xs" for every output cotangent / every forward input), and which forward inputs
it differentiates (`wrt`). A VJP returns one array per forward input (None for an input it does not
differentiate, or one that was absent; trailing Nones may be left off), so output i of a
`<Forward>Grad` node is the cotangent of input i of the forward node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dtypes import FLOAT
from ..registry import OpFunction, reference_op

GRAD_DOMAIN = "ai.gossamer.grad"
VARIADIC = "variadic"  # `wrt` of an op whose every input is differentiated (Concat)


@dataclass(frozen=True)
class GradSpec:
    """What a VJP differentiates and what it reads."""

    forward: str  # forward op_type
    forward_domain: str
    since: int  # first forward version this VJP differentiates
    takes: tuple[str, ...]  # positional inputs: "dy<i>", "x<i>", "y<i>", "dys", "xs"
    wrt: tuple[int, ...] | str  # forward inputs that get a cotangent, or VARIADIC


def gradient_op(
    forward: str,
    *,
    since: int,
    takes: Iterable[str],
    wrt: Iterable[int] | str,
    forward_domain: str = "",
    dtypes: Iterable[str] | None = FLOAT,
) -> Callable[[OpFunction], OpFunction]:
    """Marks fn as the VJP of `forward_domain::forward` from forward opset `since` on; fn is also
    registered as the reference op `GRAD_DOMAIN::<forward>Grad` (since `since`)."""
    spec = GradSpec(
        forward,
        forward_domain,
        since,
        tuple(takes),
        wrt if isinstance(wrt, str) else tuple(wrt),
    )

    def mark(fn: OpFunction) -> OpFunction:
        fn = reference_op(f"{forward}Grad", since=since, domain=GRAD_DOMAIN, dtypes=dtypes)(fn)
        fn.__gossamer_grad__ = spec  # type: ignore[attr-defined]
        return fn

    return mark


def grad_spec_of(fn: OpFunction) -> GradSpec:
    spec = getattr(fn, "__gossamer_grad__", None)
    if not isinstance(spec, GradSpec):
        raise TypeError(f"{fn!r} is not marked with @gradient_op")
    return spec


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The cotangent of an operand of `shape` that numpy broadcast to g.shape: g summed over the
    axes broadcasting added or stretched."""
    shape = tuple(shape)
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    out = g.sum(axis=axes, keepdims=True) if axes else g
    return out.reshape(shape)


def like(g: Any, x: np.ndarray) -> np.ndarray:
    """g as an array of x's dtype (a VJP's cotangents have the type of what they differentiate)."""
    return np.asarray(g).astype(x.dtype, copy=False)


def work(x: np.ndarray) -> np.ndarray:
    """x in the precision gradients compute in: float64 stays, every other float is float32."""
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)
