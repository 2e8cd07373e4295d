"""refimpl/int8_codes.py's registry: remember() files a form for one array object, known() gives
it back for that object only and forgets it with the array; only forms int8_form could find."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from gossamer.refimpl import int8_codes
from gossamer.refimpl.int8_codes import int8_form, known, remember

Q = np.array([[1, -2, 127], [-127, 127, -6]], np.int8)  # each column's peak at 127
S = np.array([0.5, 0.25, 0.125], np.float32)


def _w(scale=S):
    return Q.astype(np.float32) * scale


def test_a_remembered_form_is_known_for_that_array_only():
    w = _w()
    assert remember(w, Q, S)
    q, s = known(w)
    assert q is Q and np.array_equal(s, S)
    assert known(w.copy()) is None and known(w[:]) is None
    assert int8_form(w)[0].tobytes() == q.tobytes()  # what a search finds


def test_a_form_goes_with_its_array():
    w = _w()
    remember(w, Q, S)
    key = id(w)
    assert key in int8_codes._KNOWN
    del w
    gc.collect()
    assert key not in int8_codes._KNOWN


@pytest.mark.parametrize("scale", [np.float32(0.5), S.reshape(1, 3), np.full((1,), 0.25, "f")])
def test_a_tensor_or_row_shaped_scale_is_kept_per_column(scale):
    w = _w(scale)
    assert remember(w, Q, scale)
    assert known(w)[1].shape == (3,)
    assert np.array_equal(Q.astype(np.float32) * known(w)[1], w)


@pytest.mark.parametrize(
    "scale",
    [
        np.array([0.5, -0.25, 0.125], np.float32),  # negative
        np.array([0.5, 0.0, 0.125], np.float32),  # zero
        np.array([0.5, 1e-40, 0.125], np.float32),  # subnormal
        np.array([0.5, np.inf, 0.125], np.float32),
        np.array([0.5, 0.25, 0.125], np.float64),  # not float32
        np.array([0.5, 0.25], np.float32),  # not a column's
    ],
)
def test_forms_int8_form_would_not_give_are_not_filed(scale):
    w = np.zeros((2, 3), np.float32)
    assert not remember(w, Q, scale)
    assert known(w) is None
