"""The inference driver: walks a graph's nodes in order, applying the rule for each op.

The rule table maps ONNX op types (and com.microsoft ones) to rule functions; each `rules_*`
module contributes its part. A node with no rule, or whose rule fails on a model it does not
understand, gets unknown outputs; inference never raises on a model.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import GraphValidationError
from ..ir import Graph, Node, Value
from . import (
    rules_constants,
    rules_control,
    rules_elementwise,
    rules_misc,
    rules_nchwc,
    rules_nn,
    rules_shape,
    rules_tflite,
)
from .content_key import arrays, content_key
from .scope import Rule, Scope, array_dtype, clean_shape
from .shape_values import FOLDERS, fold_node

log = logging.getLogger(__name__)


def _merge(*tables: dict[str, Rule]) -> dict[str, Rule]:
    """One table from several; an op ruled twice is a programming error."""
    merged: dict[str, Rule] = {}
    for table in tables:
        twice = merged.keys() & table.keys()
        if twice:
            raise RuntimeError(f"ops with two shape rules: {sorted(twice)}")
        merged.update(table)
    return merged


RULES: dict[str, Rule] = _merge(
    rules_elementwise.RULES,
    rules_constants.RULES,
    rules_shape.RULES,
    rules_nn.RULES,
    rules_misc.RULES,
    rules_control.RULES,
    rules_nchwc.RULES,
)
MS_RULES: dict[str, Rule] = rules_misc.MS_RULES  # com.microsoft ops that differ from ONNX's


def infer_shapes(graph: Graph, order: list[Node] | None = None) -> dict[str, Value]:
    """Inferred Value (dtype, shape) for every name in the graph and its subgraphs. `order`: the
    graph's nodes in topological order, where the caller has it (`graph.topological_nodes()`,
    a Program's steps: not sorted again; a graph from `with_input_shapes` has its source's)."""
    memo = getattr(_memo, "graphs", None)
    if memo is not None and id(graph) in memo and memo[id(graph)][0] is graph:
        return dict(memo[id(graph)][1])
    by_content = getattr(_memo, "by_content", None)
    if by_content is not None:
        key = content_key(graph)
        if key in by_content:
            return dict(by_content[key][1])
    result: dict[str, Value] = {}
    infer_graph(graph, None, result, itertools.count(), {}, order)
    if memo is not None:
        memo[id(graph)] = (graph, dict(result))
    if by_content is not None:
        if len(by_content) >= CONTENT_MEMO_SIZE:  # the oldest goes (dicts keep insertion order)
            del by_content[next(iter(by_content))]
        by_content[key] = (arrays(graph), dict(result))
    return result


_memo = threading.local()


@contextmanager
def inference_cache() -> Iterator[None]:
    """Inside the block infer_shapes runs once per graph object (as a session load asks for the
    same graph's shapes several times), and memory_plan.with_input_shapes gives one graph per
    graph and input shapes (a run's size checks and its arena plan infer the same); the caller
    must not change those graphs in the block."""
    outer = getattr(_memo, "graphs", None)
    if outer is None:
        _memo.graphs, _memo.derived = {}, {}
    try:
        yield
    finally:
        if outer is None:
            _memo.graphs = _memo.derived = None


CONTENT_MEMO_SIZE = 4  # graphs remembered by shapes_by_content (a pass infers one or two)


@contextmanager
def shapes_by_content() -> Iterator[None]:
    """Inside the block infer_shapes remembers its last few results by the graph's content
    (content_key: nodes, attributes, inputs, initializers' shapes and small values), for a caller
    that edits one graph in place between inferences: the optimiser, whose passes mostly find the
    graph as the previous pass's inference saw it (at a load, 4 of 8 inferences). Any edit that
    can change a shape changes the key, so the inference is made again."""
    outer = getattr(_memo, "by_content", None)
    if outer is None:
        _memo.by_content = {}
    try:
        yield
    finally:
        if outer is None:
            _memo.by_content = None


def derived_graphs() -> dict[Any, Any] | None:
    """The open inference_cache block's memo of derived graphs (None outside one)."""
    return getattr(_memo, "derived", None)


def infer_graph(
    graph: Graph,
    parent: Scope | None,
    result: dict[str, Value],
    fresh: Iterator[int],
    bound_inputs: dict[str, Value],
    order: list[Node] | None = None,
) -> Scope:
    """Infers one graph in a scope nested in `parent`; subgraph inputs take `bound_inputs`;
    `order`: the graph's nodes sorted (None: sorted here)."""
    scope = Scope(graph, parent, fresh, result, infer_graph)
    for v in graph.inputs:
        bound = bound_inputs.get(v.name)
        if bound is not None and (v.dtype is None or v.shape is None):
            scope.values[v.name] = Value(v.name, v.dtype or bound.dtype, bound.shape, v.kind)
        else:
            scope.values[v.name] = Value(v.name, v.dtype, clean_shape(v.shape), v.kind)
    values, consts = scope.values, scope.consts
    for name, arr in graph.initializers.items():
        arr = np.asarray(arr)
        values[name] = Value(name, array_dtype(arr), arr.shape)  # (a tuple of Python ints)
        consts[name] = arr
    if order is None:
        try:
            order = graph.topological_nodes(frozenset(_outer_names(parent)))
        except (GraphValidationError, RecursionError):
            order = list(graph.nodes)
    for node in order:
        rule = _rule_for(node)
        if rule is not None:
            try:
                rule(scope, node)
                if node.op_type in FOLDERS and node.domain in ("", "ai.onnx"):
                    fold_node(scope, node)
            except Exception as err:  # a model we do not understand: leave its outputs unknown
                log.debug("shape inference gave up on %s: %s", node.label(), err)
        for out in node.outputs:
            if out and out not in scope.values:
                scope.values[out] = Value(out)
    for name, value in scope.values.items():
        if parent is None:
            result[name] = value
        else:
            result.setdefault(name, value)
    for v in graph.outputs:
        if v.name not in scope.values:
            result.setdefault(v.name, scope.value(v.name))
    return scope


def _outer_names(scope: Scope | None) -> set[str]:
    names: set[str] = set()
    while scope is not None:
        names |= scope.graph.produced_names() | set(scope.values)
        scope = scope.parent
    return names


def _rule_for(node: Node) -> Rule | None:
    if node.domain in ("", "ai.onnx"):
        return RULES.get(node.op_type)
    if node.domain == "com.microsoft":
        return MS_RULES.get(node.op_type) or RULES.get(node.op_type)
    if node.domain == "gossamer":  # fused ops shape like the op they extend
        return RULES.get(_GOSSAMER_FUSED.get(node.op_type, node.op_type))
    if node.domain == "tflite":  # TFLite's integer ops (refimpl/ops/op_tfl_*.py)
        return rules_tflite.RULES.get(node.op_type)
    if node.domain == "ai.gossamer.grad":  # a VJP's cotangents have its forward inputs' types
        from ..grad.shape_rule import infer_gradient

        return infer_gradient
    return None


_GOSSAMER_FUSED = {"FusedConv": "Conv", "FusedGemm": "Gemm", "FusedMatMul": "MatMul"}
