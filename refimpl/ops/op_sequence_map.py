from typing import Any

from ..errors import OpArgumentError
from ..registry import reference_op
from ._control_flow import check_count
from ._sequence import as_sequence


@reference_op("SequenceMap", since=17)
def sequence_map_17(input_sequence: list, *additional_inputs: Any, body: Any) -> tuple[list, ...]:
    """out_k[i] = body(seq[i], *(a[i] if a is a sequence else a))[k]"""
    seq = as_sequence(input_sequence, "SequenceMap's input")
    for a in additional_inputs:
        if isinstance(a, list) and len(a) != len(seq):
            raise OpArgumentError(f"sequence inputs have lengths {len(seq)} and {len(a)}")
    n_out = len(getattr(body, "output_names", []))
    outs: list[list] = [[] for _ in range(n_out)]
    for i, item in enumerate(seq):
        extra = [a[i] if isinstance(a, list) else a for a in additional_inputs]
        results = body(item, *extra)
        check_count(results, n_out, "SequenceMap's body")
        for acc, value in zip(outs, results, strict=True):
            acc.append(value)
    return tuple(outs)
