"""Shared checks of the Sequence* ops. A sequence value is a Python list of arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import OpArgumentError


def as_sequence(value: Any, what: str) -> list[np.ndarray]:
    if not isinstance(value, list):
        raise OpArgumentError(f"{what} must be a sequence, got {type(value).__name__}")
    return value


def resolve_position(
    pos: np.ndarray | None, length: int, *, default: int, inclusive_end: bool
) -> int:
    """A position in [-length, length) (or up to length itself for inserts), made non-negative."""
    if pos is None:
        return default
    p = int(np.asarray(pos).reshape(-1)[0])
    hi = length if inclusive_end else length - 1
    if not -length <= p <= hi:
        raise OpArgumentError(f"position {p} is out of range for a sequence of length {length}")
    return p + length if p < 0 else p
