"""Registers the `ethos-u` backend (entry point `ethos-u`). Cheap: Vela is imported only when it
runs, in its own process."""

from __future__ import annotations

from typing import Any

from ..plugins import hookimpl
from .backend import EthosUBackend


@hookimpl
def gossamer_register_backends(register: Any) -> None:
    register(EthosUBackend())
