"""`gossamer ops`: every operator, the versions and dtypes each backend implements; docs/ops.md is
its Markdown output and must stay current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gossamer.cython_kernels.backend import CythonBackend
from gossamer.plugins import manager as plugin_manager
from gossamer.refimpl.registry import spec_of

from gossamer.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "ops.md"


@pytest.fixture
def in_tree_plugins(monkeypatch):
    """Only the backends this repository ships (what docs/ops.md documents)."""
    installed = plugin_manager.entry_points

    def in_tree(group):
        return [ep for ep in installed(group=group) if ep.value.startswith("gossamer.")]

    monkeypatch.setattr(plugin_manager, "entry_points", in_tree)
    monkeypatch.delenv("GOSSAMER_BLOCK", raising=False)
    plugin_manager.reset_plugins()
    yield
    plugin_manager.reset_plugins()


def ops_output(capsys, *argv: str) -> str:
    assert main(["ops", *argv]) == 0
    return capsys.readouterr().out


def test_docs_ops_md_is_current(in_tree_plugins, capsys):
    generated = ops_output(capsys, "--markdown")
    assert DOC.read_text(encoding="utf-8") == generated, (
        "docs/ops.md is out of date: regenerate it with `gossamer ops --markdown > docs/ops.md`"
    )


def test_docs_say_how_to_regenerate_them():
    assert "regenerate with `gossamer ops --markdown > docs/ops.md`" in DOC.read_text()


def test_text_lists_conv_for_the_reference_and_cython(in_tree_plugins, capsys):
    rows = [" ".join(line.split()) for line in ops_output(capsys).splitlines()]
    at = rows.index("Conv reference 1 float")
    assert "cython 1 float32, float16 *" in rows[at + 1 : at + 3]  # after cython-bf16's row
    assert "ConvInteger reference 10 int8, uint8" in rows
    assert rows[rows.index("ConvInteger reference 10 int8, uint8") + 1] == "cython 10 int8, uint8 *"


def test_json_for_cython_matches_its_kernel_table(in_tree_plugins, capsys):
    data = json.loads(ops_output(capsys, "--json", "--backend", "cython"))
    assert [b["name"] for b in data["backends"]] == ["cython"]
    listed = {(op["op_type"], v["since"]) for op in data["ops"] for v in op["backends"]["cython"]}
    kernels = {(spec_of(fn).op_type, spec_of(fn).since) for fn in CythonBackend.kernels}
    assert listed == kernels
    conv = next(op for op in data["ops"] if op["op_type"] == "Conv")
    assert conv["backends"]["cython"] == [
        {"since": 1, "dtypes": ["float32", "float16"], "conditional": True}
    ]


def test_backend_filter_takes_a_comma_list(in_tree_plugins, capsys):
    text = ops_output(capsys, "--backend", "cython,reference")
    assert "backends: cython, reference" in text.splitlines()[0]


def test_an_unknown_backend_is_a_one_line_error(in_tree_plugins, capsys):
    assert main(["ops", "--backend", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    registered = sorted(plugin_manager.all_backends())  # the in-tree backends
    assert {"cython", "reference"} <= set(registered)
    assert err == [f"gossamer ops: error: unknown backend(s) ['nope']; registered: {registered}"]
