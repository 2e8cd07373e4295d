"""Typed errors. Every user-facing failure is one of these and says what to do next."""

from __future__ import annotations


class GossamerError(Exception):
    """Base of every error Gossamer raises on purpose."""


class GraphValidationError(GossamerError):
    """The graph is malformed: dangling names, cycles, duplicate outputs, bad attributes."""


class UnsupportedModelError(GossamerError):
    """The model uses ops, domains or opsets Gossamer does not implement (all are listed)."""

    def __init__(self, message: str, unsupported: list[dict] | None = None) -> None:
        super().__init__(message)
        self.unsupported = unsupported or []


class CroppedBuildError(UnsupportedModelError):
    """A cropped build (`gossamer crop`) lacks ops or features this model needs: `missing` lists
    each, `command` is the `gossamer crop` command that re-crops with this model too."""

    def __init__(
        self,
        message: str,
        unsupported: list[dict] | None = None,
        *,
        missing: list[str] | None = None,
        command: str = "",
    ) -> None:
        super().__init__(message, unsupported)
        self.missing = missing or []
        self.command = command


class ModelFormatError(GossamerError):
    """A model file is corrupt, truncated, hostile or of an unknown version."""


class InputError(GossamerError, ValueError):
    """A feed does not match the model: unknown name, missing input, wrong dtype or shape."""


class CalibrationDataError(InputError):
    """Calibration data for quantisation does not fit the model: a missing input, a wrong shape
    or dtype, NaN or infinity, no samples, or inputs with different sample counts."""


class MemoryBudgetError(GossamerError, MemoryError):
    """A tensor, the arena or a kernel's work buffer would exceed the session's memory budget
    (`max_memory`); raised before anything that large is allocated."""

    def __init__(self, message: str, tensor: str = "", nbytes: int = 0, budget: int = 0) -> None:
        super().__init__(message)
        self.tensor = tensor
        self.nbytes = nbytes
        self.budget = budget


class NodeExecutionError(GossamerError):
    """An op raised while running a node; names the node, op, input dtypes and shapes."""

    def __init__(self, message: str, node_name: str = "", op_type: str = "") -> None:
        super().__init__(message)
        self.node_name = node_name
        self.op_type = op_type


class RunTimeoutError(NodeExecutionError, TimeoutError):
    """A run passed its `timeout`; names the node it stopped before (runs stop between nodes,
    Loop iterations included, never inside a kernel)."""


class OpArgumentError(GossamerError, ValueError):
    """An op received inputs or attributes outside its specification."""


class RuntimeDecline(Exception):
    """Raised by a backend kernel when this call's run-time shapes or dtypes fall outside what it
    handles (knowable only at run time, e.g. for a symbolic dim). The host then runs the reference
    function for this call and counts it in `Session.runtime_fallbacks`; a kernel never computes
    the reference's answer itself."""


class PerformanceWarning(UserWarning):
    """A model will run much slower than it could: e.g. most of its estimated FLOPs fall back to
    the reference although a faster backend was selected (warned once, at load)."""
