"""Classes a first load defines are plain classes, not dataclasses (defining a dataclass costs
0.7-1.5 ms of a fresh process's first load): they still hold what the dataclasses held."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from gossamer.cython_kernels import rnn_kernels, segments
from gossamer.refimpl.ir import Node


def test_a_record_starts_with_its_own_empty_lists_and_defaults():
    node = Node("Relu", ["x"], ["y"], name="r")
    a = segments._Record(node, [1], [2], [3])
    b = segments._Record(node, [], [], [], alias=True)
    assert (a.node, a.args, a.results, a.calls) == (node, [1], [2], [3])
    assert (a.alias, a.assembled, a.why, a.pointers, a.held) == (False, False, "", [], [])
    assert b.alias is True
    a.pointers.append([(0, 1)])
    a.held.append(object())
    assert b.pointers == [] and b.held == []  # not shared between records
    with pytest.raises(AttributeError):  # a misspelt field is an error, as on the dataclass
        a.pionters = []  # type: ignore[attr-defined]


def test_packed_rnn_weights_keep_their_fields_in_order():
    arrays = [np.zeros(i + 1, np.float32) for i in range(5)]
    w = rnn_kernels._Weights(4, 3, arrays[0], "ep", *arrays[1:])
    assert (w.hidden, w.inputs, w.ep) == (4, 3, "ep") and w.packed_w is arrays[0]
    fields = [w.bias_col, w.rp, w.rh, w.extra]
    assert all(got is want for got, want in zip(fields, arrays[1:], strict=True))
    assert rnn_kernels._Weights(1, 0, None, None, *arrays[1:]).packed_w is None


def test_the_load_path_classes_are_not_dataclasses():
    assert not dataclasses.is_dataclass(segments._Record)
    assert not dataclasses.is_dataclass(rnn_kernels._Weights)
