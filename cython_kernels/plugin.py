"""Entry point `cython` (group `gossamer`): registers the Cython CPU backend. Cheap to import."""

from __future__ import annotations

from collections.abc import Callable

from ..plugins import Backend, hookimpl


@hookimpl
def gossamer_register_backends(register: Callable[[Backend], None]) -> None:
    from .backend import CythonBackend

    register(CythonBackend())
