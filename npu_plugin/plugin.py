"""Registers the `ethos-u` backend (entry point `ethos-u`). Cheap: Vela is imported only when it
runs, in its own process."""

from __future__ import annotations

from typing import Any

from ..plugins import DeferredBackend, hookimpl


@hookimpl
def gossamer_register_backends(register: Any) -> None:
    # opt-in: its module (partitioning, cache, simulation) is imported only when named
    register(DeferredBackend("ethos-u", f"{__package__}.backend:EthosUBackend", 300, False))
