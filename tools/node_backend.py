"""Which backend computed an executed node: the one the placement chose, the backend of a fused
partition, or the reference where the chosen backend's kernel declined the call at run time."""

from __future__ import annotations

from ..refimpl.ir import PARTITION_DOMAIN, Node
from ..session import Session

REFERENCE = "reference"


def placed_backend(sess: Session, node: Node) -> str:
    """The backend the placement gave `node` (a fused node is named "<backend>_partition_<i>")."""
    backend = sess.placement.backend_of.get(node.name)
    if backend is None and node.domain == PARTITION_DOMAIN:
        backend = node.name.rpartition("_partition_")[0]
    return backend or REFERENCE


class NodeBackends:
    """Called from an observer's `after_node`, once per executed node: (backend that computed
    this call, reason if the placed backend declined it at run time and the reference ran it)."""

    def __init__(self, sess: Session) -> None:
        self._sess = sess
        self._seen = {name: calls for name, (calls, _) in sess.runtime_fallbacks.items()}

    def __call__(self, node: Node) -> tuple[str, str | None]:
        placed = placed_backend(self._sess, node)
        calls, reason = self._sess.runtime_fallbacks.get(node.name, (0, ""))
        if calls > self._seen.get(node.name, 0):
            self._seen[node.name] = calls
            return REFERENCE, reason
        return placed, None
