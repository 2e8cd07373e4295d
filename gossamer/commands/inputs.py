"""Model inputs from the command line: feeds from --input NAME=FILE (.npy, .npz or an image),
seeded --random values, and --shape NAME=D0,D1,... for inputs with symbolic dims.

A symbolic dim takes one size everywhere: once a file or a --shape fixes `batch` for one input,
every other input that names `batch` gets the same size.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..refimpl.dtypes import to_numpy
from ..refimpl.errors import InputError
from ..refimpl.ir import Dim, Value
from ..session import Session
from .images import image_input, is_image, parse_preprocess

INPUT_HELP = (
    "feed an input: NAME=FILE.npy, NAME=FILE.npz (its one array, or the one named NAME), "
    "NAME=IMAGE (.png, .jpg, ...; read with Pillow and shaped by --preprocess), or FILE.npz "
    "alone (its arrays by input name); repeatable"
)


def feeds_from_args(sess: Session, args: argparse.Namespace) -> dict[str, Any]:
    """A value for every input of `sess`: --input files first, then (with --random) seeded random
    values shaped by --shape; InputError names what is missing or wrong."""
    return feeds_with_sources(sess, args)[0]


def feeds_with_sources(
    sess: Session, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, str]]:
    """feeds_from_args's feeds, and for each input where its value came from (a file, an image
    and its preprocessing, or "random (seed N)")."""
    inputs = {v.name: v for v in sess.inputs}
    shapes = parse_shapes(args.shape)
    check_shapes(shapes, sess.inputs)
    feeds: dict[str, Any] = {}
    sources: dict[str, str] = {}
    images: list[tuple[str, str]] = []
    for item in args.input:
        for name, file, key in _input_items(item, inputs):
            if name in feeds or any(name == n for n, _ in images):
                raise InputError(f"--input {name!r} is given more than once")
            if is_image(file):
                images.append((name, file))  # shaped once the other inputs have bound the dims
                continue
            feeds[name] = _load_array(name, file, key)
            sources[name] = file if key is None else f"{file}[{key}]"
            if name in shapes and tuple(np.shape(feeds[name])) != shapes[name]:
                raise InputError(
                    f"--shape {name}={_dims(shapes[name])} disagrees with --input {name}={file}, "
                    f"whose shape is {list(np.shape(feeds[name]))}"
                )
    bindings = bind_dims(sess.inputs, shapes, feeds)
    if getattr(args, "preprocess", None) and not images:
        raise InputError("--preprocess shapes images given with -i NAME=IMAGE; none was given")
    if images:
        spec = parse_preprocess(getattr(args, "preprocess", None))
        for name, file in images:
            v = inputs[name]
            declared = shapes[name] if name in shapes else resolve_shape(v, bindings)
            feeds[name], how = image_input(file, name, v.dtype, declared, spec)
            sources[name] = f"{file} ({how})"
            bindings = bind_dims(sess.inputs, shapes, feeds)
    missing = [v for v in sess.inputs if v.name not in feeds]
    if missing and not args.random:
        raise InputError(
            "no value for input(s) "
            + ", ".join(f"{v.name}: {v.describe()}" for v in missing)
            + "; give --input NAME=FILE.npy or --random"
        )
    rng = np.random.default_rng(args.seed)
    for v in missing:
        shape = shapes[v.name] if v.name in shapes else _default_shape(resolve_shape(v, bindings))
        feeds[v.name] = random_input(v, shape, rng)
        sources[v.name] = f"random (seed {args.seed})"
        bindings = bind_dims(sess.inputs, shapes, feeds)
    return feeds, sources


def _input_items(item: str, inputs: dict[str, Value]) -> list[tuple[str, str, str | None]]:
    """(input name, file, .npz key or None) for one --input item."""
    name, sep, file = item.partition("=")
    if not sep:
        if Path(item).suffix.lower() != ".npz":
            raise InputError(
                f"--input expects NAME=FILE (or FILE.npz holding arrays named after the inputs), "
                f"got {item!r}; inputs: {_list_inputs(inputs.values())}"
            )
        with _open_npz(item) as npz:
            keys = list(npz.files)
        unknown = [k for k in keys if k not in inputs]
        if unknown or not keys:
            raise InputError(
                f"--input {item}: array(s) {unknown or '(none)'} name no input of the model; "
                f"inputs: {_list_inputs(inputs.values())}"
            )
        return [(k, item, k) for k in keys]
    if name not in inputs:
        raise InputError(
            f"--input {name!r}: the model has no such input; "
            f"inputs: {_list_inputs(inputs.values())}"
        )
    if not file:
        raise InputError(f"--input {name}=: give a file after the '='")
    return [(name, file, None)]


def _load_array(name: str, file: str, key: str | None) -> np.ndarray:
    if Path(file).suffix.lower() == ".npz":
        with _open_npz(file) as npz:
            if key is None:
                if name in npz.files:
                    key = name
                elif len(npz.files) == 1:
                    key = npz.files[0]
                else:
                    raise InputError(
                        f"--input {name}={file}: the file holds {len(npz.files)} arrays "
                        f"{npz.files} and none is named {name!r}"
                    )
            return _checked_load(lambda: npz[key], file)
    return _checked_load(lambda: np.load(file, allow_pickle=False), file)


def _open_npz(file: str) -> Any:
    npz = _checked_load(lambda: np.load(file, allow_pickle=False), file)
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise InputError(f"--input {file}: not an .npz archive")
    return npz


def _checked_load(read: Any, file: str) -> Any:
    """Runs a numpy read; a file numpy cannot read as plain arrays is an InputError."""
    try:
        return read()
    except OSError:
        raise
    except (ValueError, EOFError, KeyError) as err:
        reason = "it holds pickled Python objects" if "pickle" in str(err) else str(err)
        raise InputError(
            f"--input {file}: cannot read it as a numpy array ({reason}); give a .npy/.npz "
            "file of plain arrays or an image"
        ) from None


def parse_shapes(items: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """--shape NAME=D0,D1,... items as {name: shape}; InputError on a malformed item."""
    shapes: dict[str, tuple[int, ...]] = {}
    for item in items:
        name, sep, dims = item.partition("=")
        try:
            shape = tuple(int(d) for d in dims.split(",") if d.strip())
        except ValueError:
            sep = ""
        if not sep or not name or any(d < 0 for d in shape):
            raise InputError(
                f"--shape expects NAME=D0,D1,... with sizes >= 0 (e.g. x=1,3,224,224), got {item!r}"
            )
        if name in shapes:
            raise InputError(f"--shape {name} is given more than once")
        shapes[name] = shape
    return shapes


def check_shapes(shapes: dict[str, tuple[int, ...]], inputs: Sequence[Value]) -> None:
    """InputError unless every --shape names an input and agrees with its rank and fixed dims."""
    known = {v.name: v for v in inputs}
    for name, shape in shapes.items():
        v = known.get(name)
        if v is None:
            raise InputError(
                f"--shape {name}: the model has no input {name!r}; inputs: {_list_inputs(inputs)}"
            )
        if v.shape is None:
            continue
        if len(shape) != len(v.shape):
            raise InputError(
                f"--shape {name}={_dims(shape)} has rank {len(shape)}, but input {name!r} is "
                f"{v.describe()} (rank {len(v.shape)})"
            )
        for axis, (want, got) in enumerate(zip(v.shape, shape)):
            if isinstance(want, int) and want != got:
                raise InputError(
                    f"--shape {name}={_dims(shape)}: axis {axis} of input {name!r} is fixed at "
                    f"{want} ({v.describe()})"
                )


def bind_dims(
    inputs: Sequence[Value], shapes: dict[str, tuple[int, ...]], feeds: dict[str, Any]
) -> dict[str, int]:
    """Symbolic dim name -> size, from the --shape items and the arrays already fed."""
    bindings: dict[str, int] = {}
    for v in inputs:
        concrete = shapes.get(v.name)
        if concrete is None and isinstance(feeds.get(v.name), np.ndarray):
            concrete = feeds[v.name].shape
        if concrete is None or v.shape is None or len(concrete) != len(v.shape):
            continue
        for want, got in zip(v.shape, concrete):
            if isinstance(want, str):
                bindings.setdefault(want, int(got))
    return bindings


def resolve_shape(v: Value, bindings: dict[str, int]) -> tuple[Dim, ...] | None:
    """v's declared shape with the bound symbolic dims replaced by their sizes."""
    if v.shape is None:
        return None
    return tuple(bindings.get(d, d) if isinstance(d, str) else d for d in v.shape)


def concrete_shapes(
    inputs: Sequence[Value], shapes: dict[str, tuple[int, ...]]
) -> dict[str, tuple[int, ...]]:
    """Every input whose shape --shape fixes, directly or through the symbolic dims it binds."""
    bindings = bind_dims(inputs, shapes, {})
    out = dict(shapes)
    for v in inputs:
        shape = resolve_shape(v, bindings)
        if v.name not in out and shape is not None and all(isinstance(d, int) for d in shape):
            out[v.name] = tuple(int(d) for d in shape)  # type: ignore[arg-type]
    return out


def symbolic_inputs(
    inputs: Sequence[Value], shapes: dict[str, tuple[int, ...]]
) -> dict[str, tuple[Dim, ...] | None]:
    """The inputs --shape leaves (partly) symbolic: name -> shape with the bound dims filled in."""
    bindings = bind_dims(inputs, shapes, {})
    out = {}
    for v in inputs:
        if v.kind != "tensor" or v.name in shapes:
            continue
        shape = resolve_shape(v, bindings)
        if shape is None or not all(isinstance(d, int) for d in shape):
            out[v.name] = shape
    return out


def hint_shapes(
    symbolic: dict[str, tuple[Dim, ...] | None],
) -> dict[str, tuple[int, ...] | None]:
    """Shapes for --shape that fix every symbolic dim (one input per new dim name), with the sizes
    --random would use; None where the rank is unknown."""
    named: set[str] = set()
    out: dict[str, tuple[int, ...] | None] = {}
    for name, shape in symbolic.items():
        dims = [d for d in shape or () if isinstance(d, str)]
        if shape is not None and dims and all(d in named for d in dims) and None not in shape:
            continue  # fixed already by an earlier item that binds the same names
        named.update(dims)
        out[name] = _default_shape(shape)
    return out


def shape_hint(hints: dict[str, tuple[int, ...] | None]) -> str:
    """hint_shapes as command-line options."""
    return " ".join(
        f"--shape {name}={'D0,D1,...' if shape is None else _dims(shape)}"
        for name, shape in hints.items()
    )


def describe_dims(symbolic: dict[str, tuple[Dim, ...] | None]) -> str:
    """The symbolic dims by name ('?' for unnamed ones and unknown ranks), for messages."""
    names: list[str] = []
    for name, shape in symbolic.items():
        if shape is None:
            names.append(f"the rank of {name}")
            continue
        for axis, d in enumerate(shape):
            label = d if isinstance(d, str) else f"axis {axis} of {name} (unnamed)"
            if not isinstance(d, int) and label not in names:
                names.append(label)  # type: ignore[arg-type]
    return ", ".join(names)


def _default_shape(shape: tuple[Dim, ...] | None) -> tuple[int, ...] | None:
    """Symbolic dims become 1 on axis 0 and 64 elsewhere (what random_input uses)."""
    if shape is None:
        return None
    return tuple(d if isinstance(d, int) else (1 if i == 0 else 64) for i, d in enumerate(shape))


def random_input(v: Value, shape: tuple[int, ...] | None, rng: np.random.Generator) -> np.ndarray:
    """Seeded random values for an input (integers 0 or 1, floats in [0, 1)): symbolic dims
    become 1 on axis 0 and 64 elsewhere."""
    if v.kind != "tensor" or v.dtype is None:
        raise InputError(f"input {v.name!r} ({v.describe()}) needs an explicit --input")
    if shape is None:
        if v.shape is None:
            raise InputError(f"input {v.name!r} has unknown rank; give --shape {v.name}=D0,D1,...")
        shape = _default_shape(v.shape)
    dtype = to_numpy(v.dtype)
    if v.dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(0, 2, size=shape).astype(dtype)  # 0/1: valid ids, masks and segment ids
    if v.dtype == "string":
        return np.array(["x"] * int(np.prod(shape)), dtype=object).reshape(shape)
    return rng.random(shape, dtype=np.float32).astype(dtype)


def describe_feed(value: Any) -> str:
    """dtype[shape] of a fed value, as Value.describe() writes it."""
    if isinstance(value, np.ndarray):
        dtype = "string" if value.dtype == object else str(value.dtype)
        return f"{dtype}[{', '.join(str(d) for d in value.shape)}]"
    return type(value).__name__


def _list_inputs(inputs: Any) -> str:
    return ", ".join(f"{v.name}: {v.describe()}" for v in inputs) or "(none)"


def _dims(shape: Sequence[int]) -> str:
    return ",".join(str(d) for d in shape)
