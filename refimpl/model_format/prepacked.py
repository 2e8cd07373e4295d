"""Pre-packed forms of weights: arrays a backend derived once from a weight, kept with the weight.

A backend's kernels pack constant weights into their own layouts (GEMM panels, Winograd
transforms). `attach(weight, key, packed)` files such a form under an opaque `key` that names
everything the layout depends on (backend, packing format version, SIMD level, parameters);
`find(weight, key)` returns it when the same weight *object* asks under the same key. save_gsm
stores the forms of every tensor it writes (the document's "prepacked" list); load_gsm attaches
them again to the loaded tensors, so a kernel finds them without packing.

Forms are bound to the array object, not its name: an optimiser pass that replaces a weight (a
folded BatchNorm) makes a new array with no forms, so nothing stale is ever found. The table holds
weak references only: a form lives as long as its weight does.
"""

from __future__ import annotations

import threading
import weakref
from functools import partial

import numpy as np

MAX_KEY_CHARS = 512  # keys are short descriptions; longer ones in a file are refused

# id(weight) -> (weak reference to the weight, {key: packed array})
_FORMS: dict[int, tuple[weakref.ref, dict[str, np.ndarray]]] = {}
# reentrant: a weak reference's callback (_forget) runs in whichever thread frees the object,
# which may be this module's own, holding the lock, when an allocation in it starts a collection
_LOCK = threading.RLock()


def attach(weight: np.ndarray, key: str, packed: np.ndarray) -> None:
    """Files `packed` as the form of `weight` under `key` (replacing one with the same key)."""
    if not isinstance(weight, np.ndarray) or not isinstance(packed, np.ndarray):
        raise TypeError("attach() takes numpy arrays")
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_CHARS:
        raise ValueError(f"a pre-packed key is a string of 1..{MAX_KEY_CHARS} characters")
    ident = id(weight)
    with _LOCK:
        entry = _FORMS.get(ident)
        if entry is None or entry[0]() is not weight:
            ref = weakref.ref(weight, partial(_forget, ident))
            entry = (ref, {})
            _FORMS[ident] = entry
        entry[1][key] = packed


def find(weight: np.ndarray, key: str) -> np.ndarray | None:
    """The form of `weight` filed under exactly `key`, or None."""
    entry = _FORMS.get(id(weight))
    if entry is None or entry[0]() is not weight:
        return None
    return entry[1].get(key)


def forms(weight: np.ndarray) -> dict[str, np.ndarray]:
    """Every form of `weight`, by key (a copy of the table's entry)."""
    entry = _FORMS.get(id(weight))
    if entry is None or entry[0]() is not weight:
        return {}
    return dict(entry[1])


def detach(weight: np.ndarray) -> None:
    """Drops every form of `weight` (e.g. to save a file without them)."""
    with _LOCK:
        entry = _FORMS.get(id(weight))
        if entry is not None and entry[0]() is weight:
            del _FORMS[id(weight)]


def _forget(ident: int, ref: weakref.ref) -> None:
    with _LOCK:
        entry = _FORMS.get(ident)
        if entry is not None and entry[0] is ref:
            del _FORMS[ident]
