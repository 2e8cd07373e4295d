from typing import Any

from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op("OptionalGetElement", since=15)
def optional_get_element_15(input: Any) -> Any:
    """y = the tensor or sequence inside input (from opset 18 a plain tensor or sequence passes)"""
    if input is None:
        raise OpArgumentError("OptionalGetElement got an empty optional")
    return input
