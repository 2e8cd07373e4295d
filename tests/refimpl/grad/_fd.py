"""The oracle of every gradient test: central finite differences in float64.

`check_vjp` runs the forward reference function, draws a random cotangent for each output the VJP
reads, calls the VJP as its `GradSpec` says (takes/wrt), and compares each returned cotangent with
the central difference of L(x) = Σ_k <dy_k, forward(x)_k> along every element of that input.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gossamer.refimpl.grad import VARIADIC, grad_spec_of, vjp_for
from gossamer.refimpl.registry import OpFunction

H = 1e-6


def outputs_of(forward: OpFunction, inputs: list[Any], attrs: dict[str, Any]) -> tuple:
    ys = forward(*inputs, **attrs)
    return ys if isinstance(ys, tuple) else (ys,)


def vjp_args(takes, cots, inputs, ys) -> list[Any]:
    """The VJP's positional arguments, as its `takes` names them."""
    args: list[Any] = []
    for t in takes:
        if t == "dys":
            args += cots
        elif t == "xs":
            args += inputs
        else:
            source = {"dy": cots, "x": inputs, "y": ys}[t.rstrip("0123456789")]
            k = int(t.lstrip("dyx") or 0)
            args.append(source[k] if k < len(source) else None)
    while args and args[-1] is None:
        args.pop()
    return args


def wanted(spec, n_inputs: int) -> list[int]:
    return list(range(n_inputs)) if spec.wrt == VARIADIC else list(spec.wrt)


def check_vjp(
    forward: OpFunction,
    inputs: list[Any],
    attrs: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    skip: tuple[int, ...] = (),
) -> dict[int, np.ndarray]:
    """Asserts the VJP of `forward` equals finite differences at `inputs`; returns its cotangents.
    `skip`: inputs not to difference (e.g. a flag), though the VJP may return one."""
    attrs = dict(attrs or {})
    vjp = vjp_for(forward)
    assert vjp is not None, f"{forward.__name__} has no VJP"
    spec = grad_spec_of(vjp)
    rng = np.random.default_rng(seed)
    ys = outputs_of(forward, inputs, attrs)
    n_cots = len(ys) if "dys" in spec.takes else 1
    cots = [rng.standard_normal(np.shape(y)) for y in ys[:n_cots]]
    got = vjp(*vjp_args(spec.takes, cots, inputs, ys), **attrs)
    assert isinstance(got, tuple) and all(g is None for g in got[len(inputs) :])

    def loss(values: list[Any]) -> float:
        out = outputs_of(forward, values, attrs)
        return float(sum(np.sum(c * o) for c, o in zip(cots, out)))

    checked: dict[int, np.ndarray] = {}
    for i in wanted(spec, len(inputs)):
        x = inputs[i] if i < len(inputs) else None
        if i in skip or x is None or not np.issubdtype(np.asarray(x).dtype, np.floating):
            continue
        mine = got[i] if i < len(got) else None  # None: the VJP says the cotangent is 0
        if mine is not None:
            assert mine.shape == np.shape(x) and mine.dtype == np.asarray(x).dtype
        fd = np.zeros(np.shape(x))
        for j in np.ndindex(np.shape(x)):
            values = list(inputs)
            for sign in (1, -1):
                bumped = np.array(x, dtype=np.float64, copy=True)
                bumped[j] += sign * H
                values[i] = bumped
                fd[j] += sign * loss(values)
        fd /= 2 * H
        want = np.zeros_like(fd) if mine is None else mine
        np.testing.assert_allclose(want, fd, rtol=rtol, atol=atol, err_msg=f"input {i}")
        if mine is not None:
            checked[i] = mine
    return checked


def values(rng: np.random.Generator, shape, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return rng.uniform(low, high, shape)


def away_from(x: np.ndarray, kinks, gap: float = 0.05) -> np.ndarray:
    """x with every element at least `gap` from each kink (finite differences must not cross)."""
    x = np.array(x, dtype=np.float64)
    for k in np.atleast_1d(kinks):
        near = np.abs(x - k) < gap
        x[near] = k + np.where(x[near] >= k, gap, -gap) * 2
    return x


def distinct(rng: np.random.Generator, shape, spacing: float = 0.1) -> np.ndarray:
    """Values at least `spacing` apart (no ties for a max to break)."""
    n = int(np.prod(shape, dtype=np.int64))
    return (rng.permutation(n) * spacing - n * spacing / 2).reshape(shape).astype(np.float64)
