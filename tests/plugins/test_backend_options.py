"""Backend options (`backend_options=` on load / Session, provider options on InferenceSession):
a backend declares what it takes; the host checks names and values and hands each session its
own configured copy of the backend."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gossamer.plugins import Backend, BackendOption, BackendOptionError, Claim, Decline
from gossamer.plugins.executor import build_program
from gossamer.refimpl.ir import Graph

import gossamer

from .conftest import chain_graph, feeds_for


def _positive(value: Any) -> float:
    number = float(value)  # a string from provider options too; ValueError if not a number
    if not number > 0:
        raise ValueError("must be > 0")
    return number


class ScaledRelu(Backend):
    """Claims every Relu and computes relu(x) * scale: `scale` is a per-session option (so a
    session's output shows which options its partition got); `mode` checks `choices`."""

    name = "scaled"
    priority = 10
    options = (
        BackendOption("scale", "what relu's output is multiplied by (default 1)", _positive),
        BackendOption("mode", "how it runs (default fast)", choices=("fast", "exact")),
    )

    def __init__(self) -> None:
        self.configured: list[dict[str, Any]] = []

    def configure(self, values: dict[str, Any]) -> Backend:
        if values.get("mode") == "exact" and values.get("scale", 1.0) != 1.0:
            raise ValueError("mode 'exact' takes no scale")
        self.configured.append(dict(values))
        return super().configure(values)

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        return [Claim((n.name,)) for n in graph.nodes if n.op_type == "Relu"]

    def compile(self, graph: Graph, claim: Claim):
        scale = np.float32(self.option_values.get("scale", 1.0))
        return lambda x: np.maximum(x, 0) * scale


class Plain(Backend):
    """A backend that declares no options (every backend written before options existed)."""

    name = "plain"
    priority = 5

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        return []


@pytest.fixture
def scaled(use_backends) -> ScaledRelu:
    backend = ScaledRelu()
    use_backends(backend, Plain())
    return backend


def _run(sess: gossamer.Session, graph: Graph) -> np.ndarray:
    return sess.run(None, feeds_for(graph))[0]


def test_options_reach_only_the_session_that_gave_them(scaled):
    graph = chain_graph()
    x = feeds_for(graph)["x"]
    plain = gossamer.load(graph, backends=["scaled"], optimize=0)
    doubled = gossamer.load(
        graph, backends=["scaled"], optimize=0, backend_options={"scaled": {"scale": 2}}
    )
    tripled = gossamer.Session(graph, backends=["scaled"], backend_options={"scaled": {"scale": 3}})
    assert doubled.placement.backend_of["relu"] == "scaled"
    np.testing.assert_allclose(_run(plain, graph), np.maximum(2 * x, 0))
    np.testing.assert_allclose(_run(doubled, graph), 2 * np.maximum(2 * x, 0))
    np.testing.assert_allclose(_run(tripled, graph), 3 * np.maximum(2 * x, 0))
    np.testing.assert_allclose(_run(doubled, graph), 2 * np.maximum(2 * x, 0))  # still its own
    assert scaled.option_values == {}  # the registered instance is never configured
    assert scaled.configured == [{"scale": 2.0}, {"scale": 3.0}]  # parsed values


def test_no_options_and_backends_without_options_work_as_before(scaled):
    graph = chain_graph()
    for options in (None, {}):
        sess = gossamer.load(
            graph, backends=["scaled", "plain"], optimize=0, backend_options=options
        )
        assert sess.placement.backend_of["relu"] == "scaled"
    program, placement = build_program(graph, ["scaled"])  # the old call shape
    assert placement.backend_of["relu"] == "scaled"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"nope": {}}, r"unknown backend 'nope'; registered: \['plain', 'reference', 'scaled'\]"),
        ({"plain": {"x": 1}}, "'plain' has no option 'x'; accepted: it takes no options"),
        ({"scaled": {"speed": 1}}, "'scaled' has no option 'speed'; accepted: scale: what"),
        ({"scaled": {"scale": "big"}}, "option 'scale': bad value 'big'"),
        ({"scaled": {"scale": -1}}, r"option 'scale': bad value -1 \(must be > 0\)"),
        ({"scaled": {"mode": "slow"}}, r"bad value 'slow'; mode \(one of fast, exact\)"),
        ({"scaled": {"mode": "exact", "scale": 2}}, "refused options .*: mode 'exact' takes no"),
        ({"scaled": ["scale"]}, r"backend_options\['scaled'\] must be a dict"),
        (["scaled"], "backend_options must be a dict of backend name"),
    ],
)
def test_a_bad_option_is_a_typed_error_naming_what_is_accepted(scaled, options, message):
    with pytest.raises(BackendOptionError, match=message) as caught:
        gossamer.load(
            chain_graph(), backends=["scaled", "plain"], optimize=0, backend_options=options
        )
    assert isinstance(caught.value, gossamer.InputError)


def test_options_for_a_backend_not_in_the_session_are_an_error(scaled):
    with pytest.raises(BackendOptionError, match="'plain', which is not in this session"):
        gossamer.load(chain_graph(), backends=["scaled"], optimize=0, backend_options={"plain": {}})


def test_provider_options_of_a_backend_with_options_are_its_backend_options(scaled):
    graph = chain_graph()
    x = feeds_for(graph)["x"]
    sess = gossamer.InferenceSession(graph, providers=[("scaled", {"scale": "2.5"})])
    np.testing.assert_allclose(sess.run(None, {"x": x})[0], 2.5 * np.maximum(2 * x, 0))
    assert sess.get_provider_options()["scaled"] == {"scale": "2.5"}
    with pytest.raises(BackendOptionError, match="has no option 'speed'"):
        gossamer.InferenceSession(graph, providers=["scaled"], provider_options=[{"speed": "1"}])
    with pytest.warns(UserWarning, match="have no effect: it takes no options"):
        gossamer.InferenceSession(graph, providers=[("plain", {"x": "1"})])


class Buggy(ScaledRelu):
    """A configure that fails with an error of its own (a plugin bug), or returns no Backend."""

    name = "buggy"

    def configure(self, values: dict[str, Any]) -> Backend:
        if values.get("mode") == "fast":
            raise RuntimeError("driver exploded")
        return None  # type: ignore[return-value]


def test_a_failing_configure_is_a_typed_error_not_a_crash(use_backends):
    use_backends(Buggy())
    with pytest.raises(BackendOptionError, match="configure\\(\\) raised RuntimeError: driver"):
        gossamer.load(
            chain_graph(),
            backends=["buggy"],
            optimize=0,
            backend_options={"buggy": {"mode": "fast"}},
        )
    with pytest.raises(BackendOptionError, match="returned NoneType, not a Backend"):
        gossamer.load(
            chain_graph(), backends=["buggy"], optimize=0, backend_options={"buggy": {"scale": 2}}
        )
