"""Per-node profiles as Chrome / Perfetto trace JSON (chrome://tracing, ui.perfetto.dev).

    recorder = TraceRecorder(sess)
    sess.run(None, feeds, observers=[recorder])   # as many runs as wanted
    recorder.write("trace.json")

Every executed node becomes one complete event ("ph": "X") with its start and duration in
microseconds, on one track per run; `args` carry what a profile reader asks next: the op type
(with its domain), the backend that ran it (a call its kernel declined at run time shows as
"reference (declined by <backend>: <reason>)"), the input and output shapes and dtypes, and for a
fused partition the nodes it stands for. Each run is also one enclosing event on its own track.
Observers run every node one at a time, so a profiled run is what the engine does node by node
(a compiled partition still shows as one node).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .refimpl.ir import PARTITION_DOMAIN, Node

if TYPE_CHECKING:
    from .session import Session

_PID = 1  # one process in the trace


def describe_value(value: Any) -> str:
    """`float32[1,3,224,224]` for an array, the type name otherwise, `-` for an absent input."""
    if value is None:
        return "-"
    if isinstance(value, np.ndarray):
        return f"{value.dtype}[{','.join(str(d) for d in value.shape)}]"
    if isinstance(value, (list, tuple)):
        return f"sequence[{len(value)}]"
    return type(value).__name__


class TraceRecorder:
    """A node observer that records one trace event per executed node."""

    def __init__(self, session: Session | None = None, *, name: str = "gossamer") -> None:
        self.name = name
        self._backend_of = dict(session.placement.backend_of) if session is not None else {}
        self._covers = session.fused_partitions if session is not None else {}
        # node -> (calls, reason) of calls a kernel declined at run time (the reference ran
        # them): the live record, read around each node
        self._declined = session._program.runtime_fallbacks if session is not None else {}
        self._declines_before: dict[str, int] = {}
        self.events: list[dict[str, Any]] = []
        self._origin = time.perf_counter_ns()
        self._started: dict[str, int] = {}
        self._run = 0
        self._run_start: int | None = None

    # ---- NodeObserver -------------------------------------------------------------------------
    def before_node(self, node: Node, inputs: Sequence[Any]) -> None:
        now = time.perf_counter_ns()
        if self._run_start is None:
            self._run_start = now
        self._started[node.name] = now
        self._declines_before[node.name] = self._declined.get(node.name, (0, ""))[0]

    def after_node(self, node: Node, inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
        end = time.perf_counter_ns()
        start = self._started.pop(node.name, end)
        op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
        backend = self._backend(node)
        calls, reason = self._declined.get(node.name, (0, ""))
        if calls > self._declines_before.pop(node.name, calls):
            backend = f"reference (declined by {reason})"
        args: dict[str, Any] = {
            "op_type": "Partition" if node.domain == PARTITION_DOMAIN else op,
            "backend": backend,
            "inputs": [describe_value(v) for v in inputs],
            "outputs": [describe_value(v) for v in outputs],
        }
        covers = self._covers.get(node.name)
        if covers:
            args["partition_of"] = list(covers)
        self.events.append(
            {
                "name": node.name,
                "cat": args["op_type"],
                "ph": "X",
                "ts": (start - self._origin) / 1000.0,
                "dur": (end - start) / 1000.0,
                "pid": _PID,
                "tid": self._run + 1,
                "args": args,
            }
        )

    # ---- runs ---------------------------------------------------------------------------------
    def end_run(self) -> None:
        """Closes the current run (its nodes so far) as one enclosing event; the next nodes
        start a new run track. Call after each `Session.run` when recording several runs."""
        if self._run_start is None:
            return
        end = time.perf_counter_ns()
        self.events.append(
            {
                "name": f"run {self._run}",
                "cat": "run",
                "ph": "X",
                "ts": (self._run_start - self._origin) / 1000.0,
                "dur": (end - self._run_start) / 1000.0,
                "pid": _PID,
                "tid": 0,
                "args": {},
            }
        )
        self._run += 1
        self._run_start = None

    def chrome_trace(self) -> dict[str, Any]:
        """The trace as a Chrome trace-event document (JSON object format)."""
        self.end_run()
        meta = [
            {"name": "process_name", "ph": "M", "pid": _PID, "args": {"name": self.name}},
            {"name": "thread_name", "ph": "M", "pid": _PID, "tid": 0, "args": {"name": "runs"}},
        ]
        meta += [
            {"name": "thread_name", "ph": "M", "pid": _PID, "tid": r + 1,
             "args": {"name": f"run {r}"}}
            for r in range(self._run)
        ]  # fmt: skip
        return {"traceEvents": meta + self.events, "displayTimeUnit": "ms"}

    def write(self, path: str | os.PathLike[str]) -> str:
        """Writes the trace JSON to `path`; returns the path written."""
        out = Path(path)
        out.write_text(json.dumps(self.chrome_trace()), encoding="utf-8")
        return str(out)

    def _backend(self, node: Node) -> str:
        backend = self._backend_of.get(node.name)
        if backend is None and node.domain == PARTITION_DOMAIN:
            backend = node.name.rpartition("_partition_")[0]  # "<backend>_partition_<index>"
        return backend or "reference"
