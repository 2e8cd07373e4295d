"""The pre-packed forms' and stored layouts' tables under a collection: an object freed while its
table's lock is held (an allocation inside attach() starting the collector) drops its entry
in the same thread, without deadlock (loading one .gsm again and again in a process hung so)."""

from __future__ import annotations

import threading

import numpy as np
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.model_format import layouts, prepacked


def _freed_under_lock(lock: object, holder: list) -> bool:
    """Frees the one object `holder` keeps while `lock` is held, in a thread; whether it ended."""
    done = threading.Event()

    def body() -> None:
        with lock:  # type: ignore[attr-defined]
            holder.clear()  # the last reference: the weak reference's callback runs here
        done.set()

    worker = threading.Thread(target=body, daemon=True)
    worker.start()
    worker.join(10)
    return done.is_set()


def _graph() -> Graph:
    return Graph([Node("Relu", ["x"], ["y"])], [Value("x", "float32", (2,))],
                 [Value("y", "float32", (2,))])  # fmt: skip


def test_a_weight_freed_while_the_forms_table_is_locked_drops_its_forms() -> None:
    weight = np.ones(4, np.float32)
    prepacked.attach(weight, "k", np.zeros(4, np.float32))
    before = len(prepacked._FORMS)
    holder = [weight]
    del weight
    assert _freed_under_lock(prepacked._LOCK, holder)
    assert len(prepacked._FORMS) == before - 1


def test_a_graph_freed_while_the_layouts_table_is_locked_drops_its_layouts() -> None:
    graph = _graph()
    layouts.attach(graph, "k", None)
    before = len(layouts._LAYOUTS)
    holder = [graph]
    del graph
    assert _freed_under_lock(layouts._LOCK, holder)
    assert len(layouts._LAYOUTS) == before - 1
