"""The plugin host: hookspecs, the Backend contract, the plugin manager and the planner.

Public API for backend authors (stable names):

    from gossamer.plugins import Backend, KernelBackend, kernel, Claim, Decline, hookimpl
    from gossamer.plugins import RuntimeDecline   # a kernel declining one call at run time

See docs/writing-a-backend.md.
"""

from ..refimpl.errors import RuntimeDecline
from .backend import Backend, Claim, CompiledPartition, Decline, KernelBackend, kernel
from .hookspecs import hookimpl

__all__ = [
    "Backend",
    "Claim",
    "CompiledPartition",
    "Decline",
    "KernelBackend",
    "RuntimeDecline",
    "hookimpl",
    "kernel",
]
