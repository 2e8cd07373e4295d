"""Image feeds: `-i NAME=photo.png` read with Pillow and shaped for the input by a preprocess spec
(`--preprocess size=224x224,layout=nchw,scale=1/255,mean=...,std=...,dtype=float32`).

Whatever the spec leaves out comes from the input's declared shape and dtype: the layout from where
its channel axis (1, 3 or 4) sits, the size from its fixed height and width (else the image's
own), colours from its channel count (1 gray, 3 RGB, 4 RGBA), and for float inputs scale 1/255
(values in [0, 1]); no mean/std unless given. Resizing stretches the whole image (bilinear).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..refimpl.dtypes import to_numpy
from ..refimpl.errors import GraphValidationError, InputError
from ..refimpl.ir import Dim

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm"}
)
LAYOUTS = ("nchw", "nhwc", "chw", "hwc", "hw")
COLORS = {"rgb": "RGB", "bgr": "RGB", "gray": "L", "rgba": "RGBA"}
PREPROCESS_HELP = (
    "how -i images become tensors, as KEY=VALUE,...: size=WxH (width x height), "
    "layout=nchw|nhwc|chw|hwc|hw, color=rgb|bgr|gray|rgba, scale=1/255 (a number or fraction), "
    "mean=0.485/0.456/0.406, std=0.229/0.224/0.225 (per channel, applied after scale: "
    "(x*scale-mean)/std), dtype=float32|uint8|...; unset keys follow the input's declared shape "
    "and dtype (float inputs: scale 1/255)"
)


@dataclass(frozen=True)
class Preprocess:
    """A parsed --preprocess spec; None fields follow the model input."""

    size: tuple[int, int] | None = None  # (width, height)
    layout: str | None = None
    color: str | None = None
    scale: float | None = None
    scale_text: str | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    dtype: str | None = None


def parse_preprocess(text: str | None) -> Preprocess:
    """`KEY=VALUE,...` as a Preprocess; InputError names the key or value that is wrong."""
    spec = Preprocess()
    if not text:
        return spec
    for item in text.split(","):
        key, sep, value = (s.strip() for s in item.partition("="))
        if not item.strip():
            continue
        if not sep or not value:
            raise InputError(f"--preprocess expects KEY=VALUE,..., got {item.strip()!r}")
        spec = replace(spec, **_preprocess_field(key.lower(), value))
    return spec


def _preprocess_field(key: str, value: str) -> dict:
    if key == "size":
        w, sep, h = value.lower().partition("x")
        if not (sep and w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0):
            raise InputError(f"--preprocess size={value}: expected WIDTHxHEIGHT, e.g. 224x224")
        return {"size": (int(w), int(h))}
    if key == "layout":
        if value.lower() not in LAYOUTS:
            raise InputError(f"--preprocess layout={value}: expected one of {', '.join(LAYOUTS)}")
        return {"layout": value.lower()}
    if key == "color":
        if value.lower() not in COLORS:
            raise InputError(f"--preprocess color={value}: expected one of {', '.join(COLORS)}")
        return {"color": value.lower()}
    if key == "scale":
        return {"scale": _number(key, value), "scale_text": value}
    if key in ("mean", "std"):
        numbers = tuple(_number(key, v) for v in value.split("/"))
        if key == "std" and any(s == 0 for s in numbers):
            raise InputError(f"--preprocess std={value}: a standard deviation cannot be 0")
        return {key: numbers}
    if key == "dtype":
        try:
            to_numpy(value.lower())
        except GraphValidationError:
            raise InputError(
                f"--preprocess dtype={value}: not a tensor dtype (e.g. float32, uint8)"
            ) from None
        return {"dtype": value.lower()}
    raise InputError(
        f"--preprocess: unknown key {key!r}; keys: size, layout, color, scale, mean, std, dtype"
    )


def _number(key: str, text: str) -> float:
    try:
        return float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise InputError(f"--preprocess {key}: {text!r} is not a number or fraction") from None


def is_image(path: str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def image_input(
    path: str, name: str, dtype: str | None, shape: tuple[Dim, ...] | None, spec: Preprocess
) -> tuple[np.ndarray, str]:
    """The tensor for input `name` (declared `dtype` and `shape`, symbolic dims as str) from the
    image at `path`, and a one-line account of what was done to it."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            f"-i {name}={path}: reading images needs Pillow: pip install 'gossamer[image]'"
        ) from None
    layout = spec.layout or _layout_of(shape)
    if not layout or (shape is not None and len(shape) != len(layout)):
        declared = "unknown" if shape is None else f"{len(shape)} {list(shape)}"
        raise InputError(
            f"-i {name}={path}: an image feeds an input of rank 2 to 4 in layout "
            f"{layout or 'nchw'}, but input {name!r} has rank {declared}"
            + ("" if layout else "; give --preprocess layout=...")
        )
    dims = dict(zip(layout, shape)) if shape is not None else {}
    channels = dims.get("c") if isinstance(dims.get("c"), int) else None
    color = spec.color or {1: "gray", 4: "rgba"}.get(channels or 3, "rgb")
    mode_channels = {"RGB": 3, "L": 1, "RGBA": 4}[COLORS[color]]
    if "c" not in layout and mode_channels != 1:
        color, mode_channels = "gray", 1  # layout hw has no channel axis
    if channels is not None and channels != mode_channels:
        raise InputError(
            f"-i {name}={path}: input {name!r} has {channels} channel(s) but color={color} gives "
            f"{mode_channels}"
        )
    try:
        with Image.open(path) as img:
            original = f"{img.width}x{img.height} {img.mode}"
            size = spec.size or _declared_size(dims, img.width, img.height)
            pixels = img.convert(COLORS[color]).resize(size, Image.Resampling.BILINEAR)
            arr = np.asarray(pixels, dtype=np.float32)
    except FileNotFoundError:
        raise
    except (OSError, Image.DecompressionBombError) as err:  # not an image, truncated, too large
        raise InputError(f"-i {name}={path}: not an image Pillow can read ({err})") from None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if color == "bgr":
        arr = arr[:, :, ::-1]
    dtype = spec.dtype or dtype or "float32"
    np_dtype = to_numpy(dtype)
    is_float = dtype.startswith(("float", "bfloat"))
    scale = spec.scale if spec.scale is not None else (1 / 255 if is_float else 1.0)
    arr = arr * np.float32(scale)
    steps = [f"{original} -> {size[0]}x{size[1]} {color}"]
    steps.append(f"scale {spec.scale_text or _frac(scale)}")
    if spec.mean is not None or spec.std is not None:
        mean = _per_channel("mean", spec.mean or (0.0,), mode_channels)
        std = _per_channel("std", spec.std or (1.0,), mode_channels)
        arr = (arr - mean) / std
        steps.append("mean/std")
    arr = _to_layout(arr, layout)
    if not is_float and np_dtype.kind in "iub":
        info = np.iinfo(np_dtype) if np_dtype.kind != "b" else None
        arr = np.rint(arr)
        if info is not None:
            arr = np.clip(arr, info.min, info.max)
    steps += [layout, dtype]
    return np.ascontiguousarray(arr.astype(np_dtype)), ", ".join(steps)


def _layout_of(shape: tuple[Dim, ...] | None) -> str:
    """Channels first unless the declared shape says last (a 3, else 1, else 4 there and not
    first); "" for ranks no image can feed."""
    if shape is None:
        return "nchw"
    if len(shape) == 2:
        return "hw"
    if len(shape) not in (3, 4):
        return ""
    first, last = shape[-3], shape[-1]
    for channels in (3, 1, 4):
        if first == channels or last == channels:
            channels_last = first != channels
            break
    else:
        channels_last = False
    return ("n" if len(shape) == 4 else "") + ("hwc" if channels_last else "chw")


def _declared_size(dims: dict[str, Dim], width: int, height: int) -> tuple[int, int]:
    """The input's fixed width and height; the image's own where a dim is symbolic."""
    w, h = dims.get("w"), dims.get("h")
    return (
        w if isinstance(w, int) and w > 0 else width,
        h if isinstance(h, int) and h > 0 else height,
    )


def _per_channel(key: str, values: tuple[float, ...], channels: int) -> np.ndarray:
    if len(values) not in (1, channels):
        raise InputError(
            f"--preprocess {key}: {len(values)} values for an image of {channels} channel(s)"
        )
    return np.asarray(values, dtype=np.float32)


def _to_layout(hwc: np.ndarray, layout: str) -> np.ndarray:
    if layout == "hw":
        return hwc[:, :, 0]
    chw = hwc.transpose(2, 0, 1) if layout in ("nchw", "chw") else hwc
    return chw[None] if layout.startswith("n") else chw


def _frac(x: float) -> str:
    f = Fraction(x).limit_denominator(1000)
    return str(f) if abs(float(f) - x) < 1e-9 else f"{x:g}"
