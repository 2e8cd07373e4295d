"""Entry point `opencl` (group `gossamer`): registers the OpenCL backend. Cheap to import: no
pyopencl import, no device probing (that happens in `is_available`)."""

from __future__ import annotations

from collections.abc import Callable

from ..plugins import Backend, hookimpl


@hookimpl
def gossamer_register_backends(register: Callable[[Backend], None]) -> None:
    from .backend import OpenCLBackend, OpenCLFp16Backend

    register(OpenCLBackend())
    register(OpenCLFp16Backend())
