"""refimpl/ops/_window.Window behaves as the frozen value it was as a dataclass."""

from __future__ import annotations

import copy
import pickle

import pytest
from gossamer.refimpl.ops._window import Window, window


def _win(out=(5, 5)):
    return Window((3, 3), (1, 1), (1, 1), (1, 1), (1, 1), out)


def test_windows_with_equal_fields_are_equal_and_hash_alike():
    assert _win() == _win() and hash(_win()) == hash(_win())
    assert _win() != _win(out=(4, 5)) and _win() != "Window"
    assert len({_win(), _win(), _win(out=(1, 1))}) == 2  # usable as a cache key


def test_a_window_cannot_be_changed():
    win = _win()
    with pytest.raises(AttributeError):
        win.kernel = (1, 1)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del win.out


def test_a_window_survives_pickle_and_copy_and_says_what_it_holds():
    win = window((7, 7), (3, 3), pads=[1, 1, 1, 1])
    assert pickle.loads(pickle.dumps(win)) == win and copy.deepcopy(win) == win
    assert repr(win) == (
        "Window(kernel=(3, 3), strides=(1, 1), dilations=(1, 1), pads_begin=(1, 1), "
        "pads_end=(1, 1), out=(7, 7))"
    )
    assert win.extent == (3, 3)
