"""The `precision` session option (like OpenVINO's inference precision hint): "fp32" (the default)
or "bf16", which puts the `cython-bf16` backend (bfloat16 products, float32 accumulation) in front
of the float32 kernels where the CPU has AVX512_BF16. Where it cannot run, the session runs in
fp32 and says so: one warning at load, `Session.precision_note`, and `gossamer explain`'s line
"backend cython-bf16 took no part: ...".
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from .refimpl.errors import InputError

PRECISIONS = ("fp32", "bf16")
BF16_BACKEND = "cython-bf16"


@dataclass(frozen=True)
class PrecisionChoice:
    """What a `precision` argument resolves to."""

    backends: list[str] | None  # for the session (None: the default choice)
    precision: str  # what the session computes its products in: "fp32" or "bf16"
    note: str | None  # why "bf16" was asked for and not given, else None


def resolve_precision(backends: Sequence[str] | None, precision: str) -> PrecisionChoice:
    """The backends that run `precision`; warns (once) where bf16 cannot run here."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise InputError(
            f"precision must be one of {', '.join(map(repr, PRECISIONS))}, got {precision!r}"
        )
    named = list(backends) if backends is not None else None
    from .plugins.manager import BackendSelectionError, select_backends

    if precision == "fp32":  # bf16 only where its backend is named by hand and can run
        if not named or BF16_BACKEND not in named:
            return PrecisionChoice(named, "fp32", None)
        try:
            select_backends([BF16_BACKEND])
        except BackendSelectionError:  # the session's own selection says why, as for any backend
            return PrecisionChoice(named, "fp32", None)
        return PrecisionChoice(named, "bf16", None)

    try:
        select_backends([BF16_BACKEND])
    except BackendSelectionError as err:
        note = f"precision='bf16' asked for, but {err}; the model runs in fp32"
        warnings.warn(note, UserWarning, stacklevel=3)
        return PrecisionChoice(named, "fp32", note)
    if named is None:
        named = [b.name for b in select_backends(None)[0]]
    if BF16_BACKEND not in named:
        named.append(BF16_BACKEND)
    return PrecisionChoice(named, "bf16", None)
