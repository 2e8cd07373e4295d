from typing import Any

import numpy as np

from ..registry import reference_op
from ._control_flow import truth


@reference_op("If", since=1, dtypes={"bool"})
def if_1(cond: np.ndarray, *, then_branch: Any, else_branch: Any) -> tuple[Any, ...]:
    """outputs = then_branch() if cond else else_branch()"""
    branch = then_branch if truth(cond, "If's condition") else else_branch
    return tuple(branch())
