"""Entry point `cython` (group `gossamer`): registers the Cython CPU backend and its bf16 variant
`cython-bf16` (precision="bf16"; imported only when a session names it). Cheap to import."""

from __future__ import annotations

from collections.abc import Callable

from ..plugins import Backend, DeferredBackend, hookimpl


@hookimpl
def gossamer_register_backends(register: Callable[[Backend | DeferredBackend], None]) -> None:
    from .backend import CythonBackend

    register(CythonBackend())
    register(
        DeferredBackend("cython-bf16", f"{__package__}.bf16_backend:CythonBf16Backend", 110, False)
    )
