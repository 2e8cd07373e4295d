"""Whether this install is a cropped build (made by `gossamer crop`, tools/cropper) and, if it is,
the errors that say what it left out and the command that re-crops with it.

A cropped build carries `refimpl/_crop_manifest.py` (written by the cropper; absent from the full
build): the models it was cropped for, the command that made it, the ops of the full build it
left out, the model formats it imports and whether it has the graph optimiser.
"""

from __future__ import annotations

import importlib
import shlex
from functools import lru_cache
from types import ModuleType
from typing import Any

from .errors import CroppedBuildError

MODEL_PLACEHOLDER = "MODEL"


@lru_cache(maxsize=1)
def manifest() -> ModuleType | None:
    """The crop manifest, or None in the full build."""
    try:
        return importlib.import_module(f"{__package__}._crop_manifest")
    except ModuleNotFoundError:
        return None


def has_optimizer() -> bool:
    """False only in a crop made for pre-optimised .gsm models (it ships no optimiser)."""
    m = manifest()
    return m is None or bool(m.OPTIMIZER)


def recrop_command(model: str | None = None) -> str:
    """The `gossamer crop` command (run with the full gossamer) that adds `model` to this crop."""
    m = manifest()
    if m is None:
        raise RuntimeError("not a cropped build")
    argv = list(m.COMMAND)
    at = argv.index(MODEL_PLACEHOLDER)
    argv[at] = model if model is not None else MODEL_PLACEHOLDER
    return shlex.join(argv)


def _cropped_for() -> str:
    m = manifest()
    assert m is not None
    return ", ".join(m.MODELS)


def missing_ops_error(
    graph_name: str, unsupported: list[dict[str, Any]], model: str | None = None
) -> CroppedBuildError | None:
    """The error for a model whose ops include some this crop left out (None in the full build,
    or when every missing op is one Gossamer does not implement at all)."""
    m = manifest()
    if m is None:
        return None
    omitted = {tuple(key) for key in m.OMITTED_OPS}
    left_out = [it for it in unsupported if _key(it) in omitted]
    if not left_out:
        return None
    lines = [
        f"  {it['domain']}::{it['op_type']} (opset {it['opset']}): {it['count']} node(s), e.g. "
        + ", ".join(repr(n) for n in it["nodes"][:3])
        + ("" if _key(it) in omitted else " (not implemented by Gossamer at all)")
        for it in unsupported
    ]
    command = recrop_command(model)
    return CroppedBuildError(
        f"model {graph_name!r} uses {len(left_out)} op(s) this cropped build of Gossamer left "
        f"out (it was cropped for {_cropped_for()}):\n"
        + "\n".join(lines)
        + f"\nRe-crop with the full gossamer to run this model too: {command}",
        unsupported,
        missing=[f"{it['domain']}::{it['op_type']}" for it in left_out],
        command=command,
    )


def missing_feature_error(
    feature: str, model: str | None = None, *, recrop: bool = True
) -> CroppedBuildError | None:
    """The error for a feature this crop left out (an importer: `recrop` names the command that
    adds it; a tool: never in a crop); None in the full build."""
    if manifest() is None:
        return None
    head = f"{feature} is not part of this cropped build of Gossamer (cropped for {_cropped_for()})"
    if not recrop:
        return CroppedBuildError(
            f"{head}: a cropped build only loads and runs its models; use the full gossamer "
            "for this (pip install gossamer)",
            missing=[feature],
        )
    command = recrop_command(model)
    return CroppedBuildError(
        f"{head}; re-crop with the full gossamer: {command}", missing=[feature], command=command
    )


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return ("" if item["domain"] in ("", "ai.onnx") else item["domain"], item["op_type"])


def for_model(err: CroppedBuildError, model: str) -> CroppedBuildError:
    """`err` with its re-crop command naming the model file (the loader knows it, the
    interpreter only knows the graph)."""
    if manifest() is None or not err.command:
        return err
    command = recrop_command(model)
    message = str(err).replace(err.command, command)
    return CroppedBuildError(message, err.unsupported, missing=err.missing, command=command)
