"""The op table behind `gossamer ops`: what each backend implements, read from the op registry and
the backends' kernel tables, never guessed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gossamer.plugins import Backend, Claim, Decline, KernelBackend, kernel
from gossamer.plugins.manager import op_registry
from gossamer.plugins.op_support import (
    backend_ops,
    describe_dtypes,
    format_ops_json,
    format_ops_markdown,
    format_ops_text,
    op_table,
)
from gossamer.refimpl.dtypes import ALL, FLOAT, INT, NUMERIC
from gossamer.refimpl.errors import InputError
from gossamer.refimpl.ir import Graph
from gossamer.refimpl.ops.op_clip import clip_6, clip_11
from gossamer.refimpl.ops.op_relu import relu_6
from gossamer.refimpl.registry import spec_of


def _clip6(x, *, min=clip_6.__kwdefaults__["min"], max=clip_6.__kwdefaults__["max"]):
    return x


class FastOps(KernelBackend):
    name = "fastops"
    priority = 5
    relu = kernel(relu_6, dtypes=["float32", "float16"])(lambda x: np.maximum(x, 0))
    clip6 = kernel(clip_6, dtypes=["float32"])(_clip6)
    clip11 = kernel(clip_11, supports=lambda node, inputs: True)(lambda x, min=None, max=None: x)


class Delegate(Backend):
    name = "npu"
    priority = 50

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        return []


class CustomCompile(FastOps):
    """A kernel backend with its own compile: its kernels no longer bound what it runs."""

    name = "custom"

    def compile(self, graph, claim):
        raise NotImplementedError


def test_the_reference_lists_every_version_in_the_registry_with_its_declared_dtypes():
    reference = op_table(["reference"]).backends[0]
    registry = op_registry()
    assert reference.ops is not None
    assert sorted(reference.ops) == sorted(registry.op_types())
    for fn in registry.functions():
        spec = spec_of(fn)
        (entry,) = [v for v in reference.ops[(spec.domain, spec.op_type)] if v.since == spec.since]
        assert entry.dtypes == spec.dtypes and not entry.conditional


def test_a_kernel_backend_lists_exactly_its_kernels_within_the_reference_dtypes(use_backends):
    use_backends(FastOps())
    ops = backend_ops(FastOps()).ops
    assert ops is not None and sorted(ops) == [("", "Clip"), ("", "Relu")]
    (relu,) = ops[("", "Relu")]
    assert (relu.since, relu.dtypes, relu.conditional) == (6, {"float32", "float16"}, False)
    clip6, clip11 = ops[("", "Clip")]
    assert (clip6.since, clip6.dtypes) == (6, {"float32"})
    # no dtypes on the kernel: it takes what the reference takes; a supports predicate is marked
    assert (clip11.since, clip11.dtypes, clip11.conditional) == (11, spec_of(clip_11).dtypes, True)


@pytest.mark.parametrize("backend", [Delegate(), CustomCompile()])
def test_a_backend_that_claims_per_model_is_not_enumerated_and_says_so(use_backends, backend):
    use_backends(backend)
    listed = op_table([backend.name]).backends[0]
    assert not listed.enumerable and listed.ops is None
    assert "cannot list its ops without one" in listed.note
    assert f"gossamer explain MODEL --backends {backend.name}" in listed.note
    assert f"{backend.name} (priority {backend.priority}, available): claims subgraphs" in (
        format_ops_text(op_table([backend.name]))
    )


def test_the_table_lists_the_reference_first_then_by_priority(use_backends):
    use_backends(FastOps(), Delegate())
    assert [b.name for b in op_table().backends] == ["reference", "npu", "fastops"]


def test_an_unknown_backend_is_an_input_error_naming_the_registered_ones():
    with pytest.raises(InputError, match=r"unknown backend\(s\) \['nope'\]; registered: "):
        op_table(["nope"])


@pytest.mark.parametrize(
    ("dtypes", "text"),
    [
        (None, "any"),
        (ALL, "all"),
        (ALL - {"string"}, "all but string"),
        (NUMERIC, "float, int"),
        (NUMERIC | {"bool"}, "float, int, bool"),
        (FLOAT | {"int64", "int32"}, "float, int32, int64"),
        (INT - {"int8"}, "int16, int32, int64, uint8, uint16, uint32, uint64"),
        (frozenset({"float32"}), "float32"),
        (frozenset(), "none"),
    ],
)
def test_dtype_sets_are_written_with_named_groups(dtypes, text):
    assert describe_dtypes(frozenset(dtypes) if dtypes is not None else None) == text


def test_text_has_a_row_per_op_and_backend_marking_conditional_kernels(use_backends):
    use_backends(FastOps())
    rows = [" ".join(line.split()) for line in format_ops_text(op_table()).splitlines()]
    at = rows.index("Clip reference 6 float")
    assert rows[at + 1 : at + 4] == [
        "reference 11 float, int",
        "fastops 6 float32",
        "fastops 11 float, int *",
    ]


def test_filtering_by_backend_lists_only_its_ops(use_backends):
    use_backends(FastOps())
    text = format_ops_text(op_table(["fastops"]))
    assert "2 op types (3 versions) in 1 domain(s); backends: fastops" in text
    rows = [" ".join(line.split()) for line in text.splitlines()]
    assert "fastops (priority 5, available): 3 versions of 2 op types" in rows
    assert rows[rows.index("op backend versions dtypes (input 0)") + 1 :] == [
        "Clip fastops 6 float32",
        "fastops 11 float, int *",
        "Relu fastops 6 float32, float16",
    ]


def test_markdown_has_a_column_per_backend_and_says_how_to_regenerate(use_backends):
    use_backends(FastOps())
    page = format_ops_markdown(op_table(), "gossamer ops --markdown").splitlines()
    assert page[2].startswith(
        "Generated by `gossamer ops --markdown`: regenerate with `gossamer ops --markdown > "
        "docs/ops.md`"
    )
    assert "| op | reference | fastops |" in page
    assert "| Clip | 6: float<br>11: float, int | 6: float32<br>11: float, int * |" in page
    assert "| Abs | 6: float, int | – |" in page
    assert not any(line.startswith("* ") for line in page)  # the legend's marker is escaped


def test_json_lists_backends_and_per_op_versions_with_full_dtype_names(use_backends):
    use_backends(FastOps(), Delegate())
    data = json.loads(format_ops_json(op_table()))
    backends = {b["name"]: b for b in data["backends"]}
    assert backends["npu"]["enumerable"] is False and backends["fastops"]["enumerable"] is True
    relu = next(op for op in data["ops"] if op["op_type"] == "Relu")
    assert relu["domain"] == "ai.onnx"
    assert relu["backends"]["fastops"] == [
        {"since": 6, "dtypes": ["float32", "float16"], "conditional": False}
    ]
    assert "npu" not in relu["backends"]
    constant = next(op for op in data["ops"] if op["op_type"] == "Constant")
    assert constant["backends"]["reference"][0]["dtypes"] is None
