"""onnxruntime's SessionOptions and RunOptions, for `gossamer.InferenceSession`.

The attribute names, defaults and enum values are onnxruntime's, so option-setting code runs
unchanged; an attribute onnxruntime lacks raises AttributeError, as there. What each option does
in Gossamer (some are accepted and have no effect) is in docs/onnxruntime-compat.md.
"""

from __future__ import annotations

import enum
import os
from typing import Any

from .refimpl.errors import GossamerError


class SessionConfigError(GossamerError, ValueError):
    """An InferenceSession argument or option is wrong: an unknown provider, malformed providers
    or provider_options, a session config key that was never set, an output file format Gossamer
    cannot write."""


class GraphOptimizationLevel(enum.IntEnum):
    """onnxruntime's optimisation levels (same values); each maps to a Gossamer -O level."""

    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_LAYOUT = 3
    ORT_ENABLE_ALL = 99


# -O level per onnxruntime level; Gossamer has no layout-only passes, so LAYOUT is EXTENDED's.
OPTIMIZE_LEVEL: dict[GraphOptimizationLevel, int] = {
    GraphOptimizationLevel.ORT_DISABLE_ALL: 0,
    GraphOptimizationLevel.ORT_ENABLE_BASIC: 1,
    GraphOptimizationLevel.ORT_ENABLE_EXTENDED: 2,
    GraphOptimizationLevel.ORT_ENABLE_LAYOUT: 2,
    GraphOptimizationLevel.ORT_ENABLE_ALL: 3,
}


class ExecutionMode(enum.IntEnum):
    """onnxruntime's execution modes; Gossamer runs nodes in sequence either way."""

    ORT_SEQUENTIAL = 0
    ORT_PARALLEL = 1


class _Option:
    """One typed attribute: `kind` is int, bool, str, "path" or an enum class."""

    def __init__(self, kind: Any, default: Any) -> None:
        self.kind = kind
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._values.get(self.name, self.default)

    def __set__(self, obj: Any, value: Any) -> None:
        obj._values[self.name] = self._convert(value)

    def _convert(self, value: Any) -> Any:
        kind = self.kind
        if kind is bool and isinstance(value, (bool, int)):
            return bool(value)
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        if kind is str and isinstance(value, str):
            return value
        if kind == "path" and isinstance(value, (str, os.PathLike)):
            return os.fspath(value)
        if isinstance(kind, type) and issubclass(kind, enum.Enum) and isinstance(value, kind):
            return value
        want = kind if isinstance(kind, str) else kind.__name__
        raise TypeError(f"{self.name} must be {want}, got {type(value).__name__} {value!r}")


class _Options:
    __slots__ = ("_values", "_config")

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._config: dict[str, str] = {}

    def _set_entry(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(
                f"config entries are str -> str, got {type(key).__name__} -> {type(value).__name__}"
            )
        self._config[key] = value

    def _get_entry(self, key: str) -> str:
        try:
            return self._config[key]
        except KeyError:
            raise SessionConfigError(
                f"{type(self).__name__} has no configuration entry {key!r}; set ones: "
                f"{sorted(self._config) or 'none'}"
            ) from None

    def _copy(self) -> Any:
        copy = type(self)()
        copy._values = dict(self._values)
        copy._config = dict(self._config)
        return copy


class SessionOptions(_Options):
    """Options for one InferenceSession (onnxruntime.SessionOptions' names and defaults).

    Gossamer uses: intra_op_num_threads (0: every core this process may use),
    graph_optimization_level (-O0..-O3), enable_profiling and profile_file_prefix,
    log_severity_level (the `gossamer` logger's level), optimized_model_filepath (.onnx or
    .gsm), and the config entry "gossamer.max_memory" (a size such as "4G"). Accepted with no
    effect: inter_op_num_threads, execution_mode, log_verbosity_level, enable_mem_pattern,
    enable_cpu_mem_arena, enable_mem_reuse, use_deterministic_compute, logid and any other
    config entry.
    """

    __slots__ = ()

    intra_op_num_threads = _Option(int, 0)
    inter_op_num_threads = _Option(int, 0)
    graph_optimization_level = _Option(
        GraphOptimizationLevel, GraphOptimizationLevel.ORT_ENABLE_ALL
    )
    execution_mode = _Option(ExecutionMode, ExecutionMode.ORT_SEQUENTIAL)
    enable_profiling = _Option(bool, False)
    profile_file_prefix = _Option("path", "gossamer_profile_")
    log_severity_level = _Option(int, -1)  # -1: leave the logger as it is; 0..4 verbose..fatal
    log_verbosity_level = _Option(int, 0)
    logid = _Option(str, "")
    optimized_model_filepath = _Option("path", "")
    enable_mem_pattern = _Option(bool, True)
    enable_cpu_mem_arena = _Option(bool, True)
    enable_mem_reuse = _Option(bool, True)
    use_deterministic_compute = _Option(bool, False)

    def add_session_config_entry(self, key: str, value: str) -> None:
        """Sets a "key" -> "value" entry (both strings), as onnxruntime's session config."""
        self._set_entry(key, value)

    def get_session_config_entry(self, key: str) -> str:
        """The value set for `key`; SessionConfigError if it was never set."""
        return self._get_entry(key)


class RunOptions(_Options):
    """Options for one `InferenceSession.run` (onnxruntime.RunOptions' names and defaults).

    Gossamer uses the run config entry "gossamer.timeout" (seconds: the run stops with
    RunTimeoutError once it passes them). Accepted with no effect: log_severity_level,
    log_verbosity_level, logid, only_execute_path_to_fetches and any other entry. onnxruntime's
    `terminate` is missing: a Gossamer run cannot be stopped from another thread.
    """

    __slots__ = ()

    log_severity_level = _Option(int, -1)
    log_verbosity_level = _Option(int, 0)
    logid = _Option(str, "")
    only_execute_path_to_fetches = _Option(bool, False)

    def add_run_config_entry(self, key: str, value: str) -> None:
        """Sets a "key" -> "value" entry (both strings), as onnxruntime's run config."""
        self._set_entry(key, value)

    def get_run_config_entry(self, key: str) -> str:
        """The value set for `key`; SessionConfigError if it was never set."""
        return self._get_entry(key)
