"""The hooks a Gossamer plugin may implement. The docstrings are the contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT = "gossamer"
ENTRY_POINT_GROUP = "gossamer"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def gossamer_register_backends(register: Callable[[Any], None]) -> None:
    """Register backends: call `register(backend)` once per `gossamer.plugins.Backend` instance.

    Called once per process, when backends are first listed. Must be cheap: no device probing, no
    compiling, no import of heavy SDKs (do those in `Backend.is_available()` / `compile()`). A
    backend's `name` must be unique; a second backend with a taken name is rejected with a logged
    error.
    """


@hookspec
def gossamer_register_ops(register: Callable[[Any], None]) -> None:
    """Register reference ops by calling `register(fn)` for functions marked with `@reference_op`.

    This is how a plugin brings a custom-domain op (e.g. `com.vendor::FusedGelu`): it must come with
    its reference semantics, written as a plain numpy function like those in `refimpl/ops`. A
    backend may then override it with a kernel. Redefining an existing (domain, op_type, since) is
    an error: plugins add ops, they never change what a standard op means.
    """
