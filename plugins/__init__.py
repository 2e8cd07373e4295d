"""The plugin host: hookspecs, the Backend contract, the plugin manager and the planner.

Public API for backend authors (stable names):

    from gossamer.plugins import Backend, KernelBackend, kernel, Claim, Decline, hookimpl
    from gossamer.plugins import DeferredBackend  # a backend imported only when selected
    from gossamer.plugins import BackendOption    # an option a session may give the backend
    from gossamer.plugins import RuntimeDecline   # a kernel declining one call at run time
    from gossamer.plugins import output_array     # where a kernel writes an output (the arena)
    from gossamer.plugins import output_is_view   # the arena makes an output a view of an input
    from gossamer.plugins import check_allocation # before a work buffer a model sizes
    from gossamer.plugins import Graph, Node, Value, infer_shapes   # the IR a backend is given

See docs/writing-a-backend.md.
"""

from ..refimpl.arena import output_array, output_is_view
from ..refimpl.errors import RuntimeDecline
from ..refimpl.ir import Graph, Node, Value
from ..refimpl.shape_inference import infer_shapes
from .backend import (
    Backend,
    BackendOption,
    BackendOptionError,
    Claim,
    CompiledPartition,
    Decline,
    DeferredBackend,
    KernelBackend,
    kernel,
)
from .hookspecs import hookimpl
from .run_context import check_allocation

__all__ = [
    "Backend",
    "BackendOption",
    "BackendOptionError",
    "Claim",
    "CompiledPartition",
    "Decline",
    "DeferredBackend",
    "Graph",
    "KernelBackend",
    "Node",
    "RuntimeDecline",
    "Value",
    "check_allocation",
    "hookimpl",
    "infer_shapes",
    "kernel",
    "output_array",
    "output_is_view",
]
