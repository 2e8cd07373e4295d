"""Helpers for writing mutant backends: a correct neighbour kernel, and a kernel that calls the
reference with some attributes forced (the "ignored attribute" bug class)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from gossamer.plugins import KernelBackend, kernel
from gossamer.refimpl.ops.op_relu import relu_6


class Neighbour(KernelBackend):
    """Every mutant also claims a correct Relu: its cells must pass (the suite blames the buggy
    op only)."""

    priority = 50

    @kernel(relu_6)
    def relu(x: np.ndarray) -> np.ndarray:
        return relu_6(x)


def forcing(reference: Callable[..., Any], **forced: Any) -> Callable[..., Any]:
    """A kernel function with the reference's signature that calls it with `forced` attributes,
    whatever the node says."""

    @functools.wraps(reference)
    def run(*args: Any, **attrs: Any) -> Any:
        return reference(*args, **{**attrs, **forced})

    return run


def altering(
    reference: Callable[..., Any], change: Callable[[tuple, dict], tuple[tuple, dict]]
) -> Callable[..., Any]:
    """A kernel function with the reference's signature that calls it on change(inputs, attrs)."""

    @functools.wraps(reference)
    def run(*args: Any, **attrs: Any) -> Any:
        args, attrs = change(args, dict(attrs))
        return reference(*args, **attrs)

    return run
