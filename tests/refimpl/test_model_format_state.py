"""Graph.state in .gsm: bindings and initial values round-trip, the required FLAG_STATE bit keeps an
older reader from running a stateful model as a stateless one, and bad state entries are refused."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.errors import ModelFormatError
from gossamer.refimpl.ir import Graph, Node, StateBinding, Value

from tests.refimpl.test_model_format import patch_header, rewrite, sections


def stateful() -> Graph:
    """s' = s + x (state s, initial 0..2); w is write-only (no input, no initial value)."""
    return Graph(
        nodes=[
            Node("Add", ["s", "x"], ["s_new"], name="add"),
            Node("Identity", ["s_new"], ["s_new_again"], name="copy"),
        ],
        inputs=[Value("x", "float32", (3,)), Value("s", "float32", (3,))],
        outputs=[Value("s_new", "float32", (3,)), Value("s_new_again", "float32", (3,))],
        state=[
            StateBinding("s", "s", "s_new", np.arange(3, dtype=np.float32)),
            StateBinding("w", None, "s_new_again", None),
        ],
    )


def test_state_round_trips_with_its_initial_value():
    graph = stateful()
    loaded = mf.load_gsm(mf.dump_gsm(graph))
    assert [(b.name, b.input, b.output) for b in loaded.state] == [
        ("s", "s", "s_new"),
        ("w", None, "s_new_again"),
    ]
    np.testing.assert_array_equal(loaded.state[0].initial, np.arange(3, dtype=np.float32))
    assert loaded.state[1].initial is None


def test_a_stateful_file_sets_the_required_state_flag_and_a_stateless_one_does_not():
    flags = sections(mf.dump_gsm(stateful()))[0][3]
    assert flags & mf.FLAG_STATE and mf.FLAG_STATE & mf.REQUIRED_FLAGS
    assert mf.FLAG_STATE & mf.KNOWN_FLAGS
    plain = Graph([Node("Relu", ["x"], ["y"])], [Value("x", "float32")], [Value("y")])
    assert sections(mf.dump_gsm(plain))[0][3] == 0


def test_a_reader_without_the_state_feature_refuses_the_file(monkeypatch):
    blob = mf.dump_gsm(stateful())
    monkeypatch.setattr(mf.header, "KNOWN_FLAGS", 0)  # what a reader before state sees
    with pytest.raises(ModelFormatError, match="needs format features"):
        mf.load_gsm(blob)


def _edited(edit) -> bytes:  # noqa: ANN001
    blob = rewrite(mf.dump_gsm(stateful()), edit)
    return patch_header(blob, flags=mf.FLAG_STATE)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["graph"].__setitem__("state", {}), "must be a list"),
        (lambda d: d["graph"]["state"][0].__setitem__("initial", 99), "refers to tensor 99"),
        (lambda d: d["graph"]["state"][0].__setitem__("input", 5), "must be a string"),
        (lambda d: d["graph"]["state"][0].pop("name"), "lacks the required key 'name'"),
        (lambda d: d["graph"]["state"][0].__setitem__("input", "zz"), "not a graph input"),
    ],
)
def test_broken_state_entries_are_refused(edit, message):
    with pytest.raises(ModelFormatError, match=message):
        mf.load_gsm(_edited(edit))


def test_state_in_a_nested_graph_is_refused():
    body = Graph([], [], [Value("x")], name="body")
    graph = Graph(
        [Node("If", ["c"], ["y"], {"then_branch": body, "else_branch": body}, name="if")],
        [Value("c", "bool", ()), Value("x", "float32", ())],
        [Value("y")],
    )

    def edit(doc):  # noqa: ANN001
        doc["graph"]["nodes"][0]["attrs"]["then_branch"]["graph"]["state"] = [
            {"name": "s", "input": None, "output": "x", "initial": None}
        ]

    with pytest.raises(ModelFormatError, match="top-level graph only"):
        mf.load_gsm(rewrite(mf.dump_gsm(graph), edit))
