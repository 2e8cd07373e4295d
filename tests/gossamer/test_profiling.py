"""gossamer.profiling.TraceRecorder: one trace event per executed node and run, with the backend
that really ran each call (a call its kernel declined at run time is the reference's), shapes,
and the members of a fused partition."""

from __future__ import annotations

import json

import numpy as np

import gossamer
from gossamer.profiling import TraceRecorder
from tests.tools.attribution_backends import project_relu_double, registered


def _events(recorder: TraceRecorder) -> list[dict]:
    return [e for e in recorder.chrome_trace()["traceEvents"] if e["ph"] == "X"]


def test_a_declined_call_is_the_references_and_a_partition_lists_its_nodes(tmp_path):
    path = project_relu_double(tmp_path / "m.onnx")
    with registered():
        picky = gossamer.load(path, backends=["picky_relu"], optimize=0)
        fused = gossamer.load(path, backends=["relu_add_fuser"], optimize=0)
    recorder = TraceRecorder(picky)
    for batch in (1, 2):  # batch 2 is declined by the kernel at run time
        picky.run(None, {"x": np.ones((batch, 4), np.float32)}, observers=[recorder])
        recorder.end_run()
    relu = [e for e in _events(recorder) if e["name"] == "relu"]
    assert [e["args"]["backend"] for e in relu] == [
        "picky_relu",
        "reference (declined by picky_relu: batch above 1)",
    ]
    assert [e["args"]["inputs"] for e in relu] == [["float32[1,3]"], ["float32[2,3]"]]
    assert [e["tid"] for e in relu] == [1, 2]  # one track per run

    recorder = TraceRecorder(fused)
    fused.run(None, {"x": np.ones((1, 4), np.float32)}, observers=[recorder])
    (partition,) = [e for e in _events(recorder) if e["args"].get("op_type") == "Partition"]
    assert partition["args"]["backend"] == "relu_add_fuser"
    assert partition["args"]["partition_of"] == ["relu (Relu)", "double (Add)"]
    recorder.write(tmp_path / "t.json")
    written = json.loads((tmp_path / "t.json").read_text())
    assert {e["name"] for e in written["traceEvents"] if e["ph"] == "X"} >= {"project", "run 0"}
