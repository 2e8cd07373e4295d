"""A minimal Gossamer backend package (the template to copy; see docs/writing-a-backend.md).

Gossamer imports this module through the entry point `example` in the group `gossamer` and calls
the hook below. Keep this module cheap to import: no device probing, no SDK import, no compiling.
"""

from __future__ import annotations

from collections.abc import Callable

from gossamer.plugins import Backend, hookimpl

from .backends import ExampleFusedBackend, ExampleKernels

__all__ = ["ExampleFusedBackend", "ExampleKernels", "gossamer_register_backends"]


@hookimpl
def gossamer_register_backends(register: Callable[[Backend], None]) -> None:
    register(ExampleKernels())
    register(ExampleFusedBackend())
