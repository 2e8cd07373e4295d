"""Model inputs from the command line: feeds from --input NAME=FILE.npy, seeded --random values,
and --shape NAME=D0,D1,... for inputs with symbolic dims."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..refimpl.dtypes import to_numpy
from ..refimpl.errors import InputError
from ..refimpl.ir import Value
from ..session import Session


def feeds_from_args(sess: Session, args: argparse.Namespace) -> dict[str, Any]:
    """A value for every input of `sess`: --input files first, then (with --random) seeded random
    values shaped by --shape; InputError names what is missing or wrong."""
    feeds: dict[str, Any] = {}
    known = {v.name: v for v in sess.inputs}
    for item in args.input:
        name, sep, file = item.partition("=")
        if not sep:
            raise InputError(f"--input expects NAME=FILE.npy, got {item!r}")
        if name not in known:
            raise InputError(
                f"--input {name!r}: the model has no such input; inputs: {sorted(known)}"
            )
        feeds[name] = np.load(file, allow_pickle=False)
    shapes = parse_shapes(args.shape)
    missing = [v for v in sess.inputs if v.name not in feeds]
    if missing and not args.random:
        raise InputError(
            "no value for input(s) "
            + ", ".join(f"{v.name}: {v.describe()}" for v in missing)
            + "; give --input NAME=FILE.npy or --random"
        )
    rng = np.random.default_rng(args.seed)
    for v in missing:
        feeds[v.name] = random_input(v, shapes.get(v.name), rng)
    return feeds


def parse_shapes(items: list[str]) -> dict[str, tuple[int, ...]]:
    """--shape NAME=D0,D1,... items as {name: shape}; InputError on a malformed item."""
    shapes = {}
    for item in items:
        name, sep, dims = item.partition("=")
        try:
            shapes[name] = tuple(int(d) for d in dims.split(",") if d.strip())
        except ValueError:
            sep = ""
        if not sep:
            raise InputError(f"--shape expects NAME=D0,D1,..., got {item!r}")
    return shapes


def random_input(v: Value, shape: tuple[int, ...] | None, rng: np.random.Generator) -> np.ndarray:
    """Seeded random values for an input (integers 0 or 1, floats in [0, 1)): symbolic dims
    become 1 on axis 0 and 64 elsewhere."""
    if v.kind != "tensor" or v.dtype is None:
        raise InputError(f"input {v.name!r} ({v.describe()}) needs an explicit --input")
    if shape is None:
        if v.shape is None:
            raise InputError(f"input {v.name!r} has unknown rank; give --shape {v.name}=D0,D1,...")
        shape = tuple(
            d if isinstance(d, int) else (1 if i == 0 else 64) for i, d in enumerate(v.shape)
        )
    dtype = to_numpy(v.dtype)
    if v.dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(0, 2, size=shape).astype(dtype)  # 0/1: valid ids, masks and segment ids
    if v.dtype == "string":
        return np.array(["x"] * int(np.prod(shape)), dtype=object).reshape(shape)
    return rng.random(shape, dtype=np.float32).astype(dtype)
