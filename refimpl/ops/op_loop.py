from typing import Any

import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._control_flow import check_count, stack_scan_output, truth


@reference_op("Loop", since=1)
def loop_1(m: np.ndarray | None, cond: np.ndarray | None, *v_initial: Any, body: Any) -> tuple:
    """for i < M while cond: cond, v, *scans = body(i, cond, *v); outputs = (*v, *stacked scans)

    An absent M loops until cond is false; with M given and cond absent, the body's cond output is
    ignored (a plain for loop). Scan outputs are stacked along a new axis 0.
    """
    trip = None if m is None else int(np.asarray(m).reshape(-1)[0])
    going = True if cond is None else truth(cond, "Loop's cond input")
    use_cond_out = cond is not None or trip is None  # both absent: only cond_out can stop the loop
    carried = list(v_initial)
    n = len(carried)
    scans: list[list[np.ndarray]] | None = None
    i = 0
    while going and (trip is None or i < trip):
        outs = body(np.array(i, dtype=np.int64), np.array(going), *carried)
        if len(outs) < 1 + n:
            raise OpArgumentError(f"Loop's body returned {len(outs)} outputs, needs {1 + n}+")
        carried = list(outs[1 : 1 + n])
        if scans is None:
            scans = [[] for _ in outs[1 + n :]]
        check_count(outs[1 + n :], len(scans), "Loop's body (scan outputs)")
        for acc, value in zip(scans, outs[1 + n :], strict=True):
            acc.append(value)
        if use_cond_out:
            going = truth(outs[0], "Loop's body cond output")
        i += 1
    if scans is None:  # no iteration: the scan-output count comes from the body's declaration
        scans = [[] for _ in range(len(getattr(body, "output_names", [])) - 1 - n)]
    stacked = [stack_scan_output(body, 1 + n + k, items) for k, items in enumerate(scans)]
    return (*carried, *stacked)
