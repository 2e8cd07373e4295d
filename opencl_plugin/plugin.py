"""Entry point `opencl` (group `gossamer`): registers the OpenCL backend. Cheap to import: no
pyopencl import, no device probing (that happens in `is_available`)."""

from __future__ import annotations

from collections.abc import Callable

from ..plugins import Backend, DeferredBackend, hookimpl


@hookimpl
def gossamer_register_backends(register: Callable[[Backend | DeferredBackend], None]) -> None:
    # opt-in backends: .backend (kernels, fusion, builder) is imported only when one is named
    register(DeferredBackend("opencl", f"{__package__}.backend:OpenCLBackend", 200, False))
    register(DeferredBackend("opencl-fp16", f"{__package__}.backend:OpenCLFp16Backend", 190, False))
