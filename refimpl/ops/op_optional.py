from typing import Any

from ..registry import reference_op


@reference_op("Optional", since=15)
def optional_15(input: Any = None, *, type: str | None = None) -> Any:
    """y = input wrapped as an optional (None, the empty optional, when the input is absent)"""
    return input
