from typing import Any

import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._control_flow import check_count, pad_stack_batches, stack_scan_output
from ._reduce import normalize_axes


@reference_op("Scan", since=9)
def scan_9(
    *inputs: np.ndarray,
    body: Any,
    num_scan_inputs: int,
    scan_input_axes: list[int] | None = None,
    scan_input_directions: list[int] | None = None,
    scan_output_axes: list[int] | None = None,
    scan_output_directions: list[int] | None = None,
) -> tuple[np.ndarray, ...]:
    """for t: *state, *y_t = body(*state, *(x[t] for x in xs)); outputs = (*state, *stacked y)"""
    n_state = len(inputs) - num_scan_inputs
    if n_state < 0 or num_scan_inputs < 1:
        raise OpArgumentError(
            f"num_scan_inputs={num_scan_inputs} does not fit {len(inputs)} inputs"
        )
    state, raw = list(inputs[:n_state]), inputs[n_state:]
    in_axes = scan_input_axes or [0] * len(raw)
    in_dirs = scan_input_directions or [0] * len(raw)
    _check_len(in_axes, len(raw), "scan_input_axes")
    _check_len(in_dirs, len(raw), "scan_input_directions")
    xs = [_to_front(x, a, d) for x, a, d in zip(raw, in_axes, in_dirs, strict=True)]
    steps = {x.shape[0] for x in xs}
    if len(steps) != 1:
        raise OpArgumentError(f"scan inputs disagree on the sequence length: {sorted(steps)}")
    n_out = len(getattr(body, "output_names", [])) - n_state
    ys: list[list[np.ndarray]] = [[] for _ in range(max(n_out, 0))]
    for t in range(steps.pop()):
        outs = body(*state, *(x[t] for x in xs))
        check_count(outs, n_state + len(ys), "Scan's body")
        state = list(outs[:n_state])
        for acc, y in zip(ys, outs[n_state:], strict=True):
            acc.append(y)
    out_axes = scan_output_axes or [0] * len(ys)
    out_dirs = scan_output_directions or [0] * len(ys)
    _check_len(out_axes, len(ys), "scan_output_axes")
    _check_len(out_dirs, len(ys), "scan_output_directions")
    stacked = []
    for k, (items, axis, direction) in enumerate(zip(ys, out_axes, out_dirs, strict=True)):
        y = stack_scan_output(body, n_state + k, items[::-1] if direction else items)
        stacked.append(np.moveaxis(y, 0, normalize_axes(y.ndim, [axis])[0]))
    return (*state, *stacked)


@reference_op("Scan", since=8)
def scan_8(
    sequence_lens: np.ndarray | None,
    *inputs: np.ndarray,
    body: Any,
    num_scan_inputs: int,
    directions: list[int] | None = None,
) -> tuple[np.ndarray, ...]:
    """Scan 9 per batch item b (axis 0), scanning axis 1 for sequence_lens[b] steps; zero padding"""
    n_state = len(inputs) - num_scan_inputs
    if n_state < 0 or num_scan_inputs < 1:
        raise OpArgumentError(
            f"num_scan_inputs={num_scan_inputs} does not fit {len(inputs)} inputs"
        )
    states, xs = inputs[:n_state], inputs[n_state:]
    dirs = directions or [0] * len(xs)
    _check_len(dirs, len(xs), "directions")
    batch, steps = xs[0].shape[:2]
    lens = np.full(batch, steps) if sequence_lens is None else sequence_lens.astype(np.int64)
    if lens.shape != (batch,) or (lens < 0).any() or (lens > steps).any():
        raise OpArgumentError(
            f"sequence_lens {lens.tolist()} must be {batch} values in [0, {steps}]"
        )
    n_out = len(getattr(body, "output_names", [])) - n_state
    finals: list[list[np.ndarray]] = [[] for _ in range(n_state)]
    ys: list[list[list[np.ndarray]]] = [[] for _ in range(max(n_out, 0))]
    for b in range(batch):
        state = [s[b] for s in states]
        per_b: list[list[np.ndarray]] = [[] for _ in ys]
        for t in range(int(lens[b])):
            idx = [int(lens[b]) - 1 - t if d else t for d in dirs]
            outs = body(*state, *(x[b, i] for x, i in zip(xs, idx, strict=True)))
            check_count(outs, n_state + len(ys), "Scan's body")
            state = list(outs[:n_state])
            for acc, y in zip(per_b, outs[n_state:], strict=True):
                acc.append(y)
        for final, s in zip(finals, state, strict=True):
            final.append(s)
        for per_batch, items in zip(ys, per_b, strict=True):
            per_batch.append(items)
    stacked = [
        pad_stack_batches(body, n_state + k, per_batch, steps) for k, per_batch in enumerate(ys)
    ]
    return (*(np.stack(f) for f in finals), *stacked)


def _to_front(x: np.ndarray, axis: int, direction: int) -> np.ndarray:
    x = np.moveaxis(x, normalize_axes(x.ndim, [axis])[0], 0)
    return x[::-1] if direction else x


def _check_len(values: list[int], n: int, name: str) -> None:
    if len(values) != n:
        raise OpArgumentError(f"{name} has {len(values)} entries, expected {n}")
