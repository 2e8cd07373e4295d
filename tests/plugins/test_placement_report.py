"""The placement report: shares of nodes and estimated FLOPs per backend, the decline reasons of
the nodes that fell back, and the one PerformanceWarning a session gives at load."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from gossamer.plugins import Backend, Claim, Decline, KernelBackend, kernel
from gossamer.plugins.explain import NodeFilter, format_explanation, format_op_summary
from gossamer.plugins.placement_report import FALLBACK_WARN_SHARE, placement_report
from gossamer.refimpl.errors import InputError
from gossamer.refimpl.ir import Graph, Node
from gossamer.refimpl.ops.op_mat_mul import mat_mul_1
from gossamer.refimpl.ops.op_relu import relu_6

import gossamer

from .conftest import tensor

MATMUL_FLOPS = 2 * 4 * 64 * 64  # x[4, 64] @ w[64, 64]
RELU_FLOPS = 4 * 64


class FastRelu(KernelBackend):
    name = "fastrelu"
    priority = 5
    relu = kernel(relu_6, dtypes=["float32"])(lambda x: np.maximum(x, np.float32(0)))


class FastMatMul(KernelBackend):
    name = "fastmatmul"
    priority = 5
    matmul = kernel(mat_mul_1, dtypes=["float32"])(lambda a, b: a @ b)


class DeclinesAll(Backend):
    """A delegate that declines every node with a reason naming its op."""

    name = "npu"
    priority = 50

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        return [Decline(n.name, f"{n.op_type} is not int8") for n in graph.nodes]


def matmul_relu(
    batch: int | str = 4, dtype: str = "float32", reshapes: int = 0, tail: str = "Identity"
) -> Graph:
    """x[batch, 64] -> MatMul (w[64, 64]) -> Relu -> `reshapes` Reshape nodes -> `tail` -> y."""
    nodes = [Node("MatMul", ["x", "w"], ["m"], name="mm"), Node("Relu", ["m"], ["r0"], name="relu")]
    for i in range(reshapes):
        nodes.append(Node("Reshape", [f"r{i}", "shape"], [f"r{i + 1}"], name=f"reshape{i}"))
    nodes.append(Node(tail, [f"r{reshapes}"], ["y"], name="out"))
    return Graph(
        nodes=nodes,
        inputs=[tensor("x", dtype, (batch, 64))],
        outputs=[tensor("y", dtype, (batch, 64))],
        initializers={
            "w": np.ones((64, 64), dtype),
            "shape": np.array([-1, 64], np.int64),
        },
        opsets={"": 17},
        name="mlp",
    )


def load_quietly(graph: Graph, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sess = gossamer.load(graph, **options)
    perf = [w for w in caught if issubclass(w.category, gossamer.PerformanceWarning)]
    return sess, perf


def test_performance_warning_is_a_public_user_warning():
    assert issubclass(gossamer.PerformanceWarning, UserWarning)
    assert "PerformanceWarning" in gossamer.__all__


def test_report_counts_nodes_and_flops_per_backend_with_the_decline_reasons(use_backends):
    use_backends(FastRelu())
    sess, _ = load_quietly(matmul_relu(), backends=["fastrelu"], optimize=0)
    report = sess.placement_report()
    by_node = {n.node: n for n in report.nodes}
    assert by_node["mm"].backend == "reference" and by_node["mm"].flops == MATMUL_FLOPS
    assert by_node["relu"].backend == "fastrelu" and by_node["relu"].flops == RELU_FLOPS
    assert report.accelerated == ("fastrelu",)
    assert [n.node for n in report.fallback] == ["mm", "out"]
    assert report.flops_share(report.on("reference")) == pytest.approx(
        MATMUL_FLOPS / (MATMUL_FLOPS + RELU_FLOPS)
    )
    assert report.decline_reasons() == {
        "fastrelu": {"no kernel for MatMul": 1, "no kernel for Identity": 1}
    }


def test_mostly_reference_session_warns_once_with_shares_and_reasons(use_backends):
    use_backends(FastRelu())
    _, perf = load_quietly(matmul_relu(), backends=["fastrelu"], optimize=0)
    assert len(perf) == 1
    message = str(perf[0].message)
    assert message.startswith("model 'mlp': 99 % of estimated FLOPs (2 of 3 nodes) run on the ref")
    assert "fastrelu declined 2 nodes: no kernel for Identity (1), no kernel for MatMul (1) (`" in (
        message
    )


def test_the_warning_points_at_the_code_that_loaded_the_model(use_backends):
    use_backends(FastRelu())
    _, perf = load_quietly(matmul_relu(), backends=["fastrelu"], optimize=0)
    assert perf[0].filename == __file__


def test_no_warning_when_the_accelerated_backend_takes_most_flops(use_backends):
    use_backends(FastMatMul())
    sess, perf = load_quietly(matmul_relu(), backends=["fastmatmul"], optimize=0)
    assert perf == []
    report = sess.placement_report()
    assert report.reference_share() < FALLBACK_WARN_SHARE
    assert report.share_line().startswith("1 % of estimated FLOPs (2 of 3 nodes) run on the ref")


@pytest.mark.parametrize("backends", [["reference"], []])
def test_no_warning_when_the_user_asked_for_the_reference_only(use_backends, backends):
    use_backends(FastRelu())
    sess, perf = load_quietly(matmul_relu(), backends=backends, optimize=0)
    assert perf == []
    report = sess.placement_report()
    assert report.accelerated == () and report.fallback == []
    assert report.share_line() == "all 3 nodes run on the reference (no other backend took part)"


def test_no_warning_when_gossamer_backends_selects_the_reference_only(use_backends, monkeypatch):
    use_backends(FastRelu())
    monkeypatch.setenv("GOSSAMER_BACKENDS", "reference")
    assert load_quietly(matmul_relu(), optimize=0)[1] == []


def test_a_delegate_that_declines_everything_is_named_with_its_reasons(use_backends):
    use_backends(DeclinesAll(), FastMatMul())
    sess, perf = load_quietly(matmul_relu(), backends=["npu", "fastmatmul"], optimize=0)
    assert perf == []  # fastmatmul took the FLOPs
    reasons = sess.placement_report().decline_reasons()
    assert reasons["npu"] == {"Relu is not int8": 1, "Identity is not int8": 1}
    assert reasons["fastmatmul"] == {"no kernel for Relu": 1, "no kernel for Identity": 1}


def test_symbolic_input_dims_make_flops_unknown_and_shares_count_nodes(use_backends):
    use_backends(FastRelu())
    graph = matmul_relu(batch="N", tail="Neg")
    sess, perf = load_quietly(graph, backends=["fastrelu"], optimize=0)
    report = sess.placement_report()
    assert not report.flops_known and report.dynamic_inputs == ("x",)
    assert report.flops_share(report.nodes) is None
    assert len(perf) == 1
    assert str(perf[0].message).startswith(
        "model 'mlp': 2 of 3 nodes (2 of 3 computing nodes) run on the reference; FLOPs unknown "
        "(input(s) x have symbolic dims): fastrelu declined 2 nodes: "
    )


def test_with_unknown_flops_nodes_that_cost_nothing_do_not_count_toward_the_threshold(
    use_backends,
):
    use_backends(FastMatMul())
    graph = matmul_relu(batch="N", reshapes=6)  # Relu, 6 Reshape and Identity on the reference
    sess, perf = load_quietly(graph, backends=["fastmatmul"], optimize=0)
    report = sess.placement_report()
    assert len(report.on("reference")) == 8 and len(report.nodes) == 9
    assert report.reference_share() == pytest.approx(1 / 2)  # Relu of MatMul and Relu
    assert perf == []  # half is not most
    graph = matmul_relu(batch="N", reshapes=6, tail="Neg")
    sess, perf = load_quietly(graph, backends=["fastmatmul"], optimize=0)
    assert sess.placement_report().reference_share() == pytest.approx(2 / 3)
    assert len(perf) == 1


def test_the_threshold_is_a_strict_majority(use_backends):
    use_backends(FastMatMul())
    report = load_quietly(matmul_relu(), backends=["fastmatmul"], optimize=0)[0].placement_report()
    # the same placement with equal FLOPs on both sides: 50 % is not more than half
    report.nodes = [replace(n, flops=100 if n.node in ("mm", "relu") else 0) for n in report.nodes]
    assert report.reference_share() == pytest.approx(FALLBACK_WARN_SHARE)
    assert not report.should_warn()
    report.nodes = [replace(n, flops=101 if n.node == "relu" else n.flops) for n in report.nodes]
    assert report.should_warn()


def test_a_partition_whose_compile_fails_falls_back_with_that_reason(use_backends):
    class BrokenMatMul(Backend):
        name = "broken"

        def get_capability(self, graph: Graph) -> list[Claim | Decline]:
            return [Claim((n.name,)) for n in graph.nodes if n.op_type == "MatMul"]

        def compile(self, graph, claim):
            raise RuntimeError("out of device memory")

    use_backends(BrokenMatMul())
    sess, perf = load_quietly(matmul_relu(), backends=["broken"], optimize=0)
    reasons = sess.placement_report().decline_reasons()["broken"]
    assert reasons == {
        "compile failed: RuntimeError: out of device memory": 1,
        "not claimed": 2,
    }
    assert len(perf) == 1


def test_report_from_a_placement_matches_the_session_method(use_backends):
    use_backends(FastRelu())
    sess, _ = load_quietly(matmul_relu(), backends=["fastrelu"], optimize=0)
    assert placement_report(sess.graph, sess.placement) == sess.placement_report()


def test_explanation_starts_with_the_summary_and_every_reason(use_backends):
    use_backends(FastRelu())
    sess, _ = load_quietly(matmul_relu(), backends=["fastrelu"], optimize=0)
    lines = format_explanation(sess.graph, sess.placement).splitlines()
    assert lines[0] == "99 % of estimated FLOPs (2 of 3 nodes) run on the reference"
    assert lines[1] == "  fastrelu declined 2 of them:"
    assert {line.split(None, 1)[1] for line in lines[2:4]} == {
        "no kernel for MatMul",
        "no kernel for Identity",
    }


def test_op_summary_has_a_row_per_op_type_and_backend_with_flops_share(use_backends):
    use_backends(FastRelu())
    sess, _ = load_quietly(matmul_relu(), backends=["fastrelu"], optimize=0)
    report = sess.placement_report()
    rows = [line.split() for line in format_op_summary(report, report.nodes).splitlines()]
    assert rows[0] == ["op", "type", "backend", "nodes", "FLOPs", "declined", "by"]
    assert rows[1][:4] == ["MatMul", "reference", "1", "99.2"]
    assert " ".join(rows[1][5:]) == "fastrelu: no kernel for MatMul (1)"
    assert rows[2][:4] == ["Relu", "fastrelu", "1", "0.8"]
    assert rows[3][:4] == ["Identity", "reference", "1", "0.0"]


@pytest.mark.parametrize(
    ("only", "shown"),
    [
        (NodeFilter(ops=("MatMul",)), ["mm"]),
        (NodeFilter(ops=("MatMul", "Relu")), ["mm", "relu"]),
        (NodeFilter(backends=("fastrelu",)), ["relu"]),
        (NodeFilter(fallback=True), ["mm", "out"]),
        (NodeFilter(ops=("Relu",), fallback=True), []),
    ],
)
def test_filters_select_nodes_by_op_backend_and_fallback(use_backends, only, shown):
    use_backends(FastRelu())
    sess, _ = load_quietly(matmul_relu(), backends=["fastrelu"], optimize=0)
    assert [n.node for n in only.select(sess.placement_report())] == shown


def test_fallback_filter_is_empty_when_no_other_backend_took_part(use_backends):
    use_backends(FastRelu())
    sess, _ = load_quietly(matmul_relu(), backends=["reference"], optimize=0)
    text = format_explanation(sess.graph, sess.placement, only=NodeFilter(fallback=True))
    assert "no node matches --fallback" in text


def test_filtering_by_an_unknown_backend_is_an_input_error(use_backends):
    use_backends(FastRelu())
    sess, _ = load_quietly(matmul_relu(), backends=["fastrelu"], optimize=0)
    with pytest.raises(InputError, match=r"unknown backend\(s\) \['nope'\]; registered: "):
        NodeFilter(backends=("nope",)).select(sess.placement_report())
