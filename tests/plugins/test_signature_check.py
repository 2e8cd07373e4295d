"""check_kernel_signature reads a plain function's code object instead of inspect.signature (it
runs for every kernel when a backend is imported): it must agree with inspect in every case."""

from __future__ import annotations

import functools
import inspect
from typing import Any

import pytest
from gossamer.plugins.backend import BackendContractError, check_kernel_signature
from gossamer.refimpl.ops.op_add import add_7
from gossamer.refimpl.ops.op_softmax import softmax_13


def _ref(x, y=None, *, axis=1, keepdims=0):  # noqa: ANN001, ANN202
    return x


def _same(x, y=None, *, axis=1, keepdims=0):  # noqa: ANN001, ANN202
    return x


def _renamed(a, y=None, *, axis=1, keepdims=0):  # noqa: ANN001, ANN202
    return a


def _other_default(x, y=None, *, axis=0, keepdims=0):  # noqa: ANN001, ANN202
    return x


def _positional_axis(x, y=None, axis=1, *, keepdims=0):  # noqa: ANN001, ANN202
    return x


def _extra(x, y=None, *, axis=1, keepdims=0, extra=None):  # noqa: ANN001, ANN202
    return x


def _varargs(x, *y, axis=1, keepdims=0):  # noqa: ANN001, ANN202
    return x


def _varkw(x, y=None, *, axis=1, keepdims=0, **kw):  # noqa: ANN001, ANN202, ANN003
    return x


def _posonly(x, y=None, /, *, axis=1, keepdims=0):  # noqa: ANN001, ANN202
    return x


def _required_y(x, y, *, axis=1, keepdims=0):  # noqa: ANN001, ANN202
    return x


def _stub_of(reference: Any) -> Any:
    def stub(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError

    stub.__wrapped__ = reference  # type: ignore[attr-defined]
    return stub


def _wrapping_ref_with_signature_of(other: Any) -> Any:
    stub = _stub_of(_ref)
    stub.__signature__ = inspect.signature(other)  # what inspect reads before __wrapped__
    return stub


CANDIDATES = [
    _same,
    _renamed,
    _other_default,
    _positional_axis,
    _extra,
    _varargs,
    _varkw,
    _posonly,
    _required_y,
    _stub_of(_ref),
    _stub_of(_renamed),
    functools.partial(_same),
    functools.wraps(_ref)(lambda *a, **k: None),
    _wrapping_ref_with_signature_of(_ref),
    _wrapping_ref_with_signature_of(_renamed),
]


def _inspect_agrees(reference: Any, fn: Any) -> bool:
    def params(f: Any) -> list:
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]

    return params(reference) == params(fn)


@pytest.mark.parametrize("fn", CANDIDATES, ids=lambda f: getattr(f, "__name__", type(f).__name__))
def test_the_check_agrees_with_inspect_signature(fn):
    if _inspect_agrees(_ref, fn):
        check_kernel_signature(_ref, fn)
    else:
        with pytest.raises(BackendContractError):
            check_kernel_signature(_ref, fn)


@pytest.mark.parametrize("reference", [add_7, softmax_13])
def test_a_stub_standing_for_a_reference_op_passes(reference):
    check_kernel_signature(reference, _stub_of(reference))


def test_a_kernel_of_another_op_fails():
    with pytest.raises(BackendContractError, match="signature of the reference"):
        check_kernel_signature(softmax_13, _stub_of(add_7))
