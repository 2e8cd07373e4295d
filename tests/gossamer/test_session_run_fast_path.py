"""Session.run's steady-state path (gossamer/session.py): a feed signature that passed the checks
is remembered, yet every bad feed after it still gets its typed error, and the run settings
(threads, memory budget, BLAS cap) are set and undone per run without context managers."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.plugins.run_context import current_threads
from gossamer.refimpl.errors import InputError
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer


def _model(shape_x=("N", 4), shape_y=("N", 4)) -> Graph:
    return Graph(
        [Node("Add", ["x", "y"], ["z"], name="add")],
        [Value("x", "float32", shape_x), Value("y", "float32", shape_y)],
        [Value("z", "float32", shape_x)],
        name="pair",
        opsets={"": 17},
    )


@pytest.fixture
def session() -> gossamer.Session:
    s = gossamer.load(_model(), optimize=0)
    good = {"x": np.ones((2, 4), np.float32), "y": np.ones((2, 4), np.float32)}
    for _ in range(2):
        s.run(None, good)  # the signature is now remembered
    return s


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        ({"x": np.ones((2, 4), np.float64), "y": np.ones((2, 4), np.float32)}, "expects dtype"),
        ({"x": np.ones((2, 5), np.float32), "y": np.ones((2, 5), np.float32)}, "axis 1 must be 4"),
        ({"x": np.ones((2, 4), np.float32), "y": np.ones((3, 4), np.float32)}, "dimension 'N'"),
        ({"x": np.ones((2, 4), np.float32)}, "needs input"),
        (
            {
                "x": np.ones((2, 4), np.float32),
                "y": np.ones((2, 4), np.float32),
                "w": np.ones(1, np.float32),
            },
            "has no input",
        ),  # fmt: skip
        ({"x": np.ones((2, 4), np.float32), "y": "text"}, "must be a numpy array"),
        ({"x": np.ones((2, 4, 1), np.float32), "y": np.ones((2, 4), np.float32)}, "rank"),
    ],
)
def test_bad_feeds_after_a_remembered_signature_are_still_refused(session, feeds, message):
    with pytest.raises(InputError, match=message):
        session.run(None, feeds)


def test_feeds_must_be_a_dict(session):
    with pytest.raises(InputError, match="feeds must be a dict"):
        session.run(None, [("x", np.ones((2, 4), np.float32))])  # type: ignore[arg-type]


def test_converted_feeds_are_never_remembered_as_valid(session):
    """A big-endian array or a list is converted on every run (not cached as it came)."""
    x = np.arange(8, dtype=">f4").reshape(2, 4)
    y = [[1.0] * 4, [2.0] * 4]
    for _ in range(3):
        (z,) = session.run(None, {"x": x, "y": y})
        np.testing.assert_array_equal(z, x.astype(np.float32) + np.array(y, np.float32))
    assert all(all(dtype.isnative for _, dtype, _ in key) for key in session._valid_feeds)


def test_the_remembered_signatures_are_bounded(session):
    for n in range(40):
        a = np.ones((n + 1, 4), np.float32)
        session.run(None, {"x": a, "y": a})
    assert len(session._valid_feeds) <= 16


def test_run_settings_are_set_during_the_run_and_undone_after():
    seen = []

    class Probe:
        def before_node(self, node, inputs):
            seen.append(current_threads())

        def after_node(self, node, inputs, outputs):
            pass

    s = gossamer.load(_model((2, 4), (2, 4)), optimize=0, threads=3)
    outside = current_threads()
    a = np.ones((2, 4), np.float32)
    for _ in range(2):
        s.run(None, {"x": a, "y": a}, observers=[Probe()])
    assert seen == [3, 3]
    assert current_threads() == outside
