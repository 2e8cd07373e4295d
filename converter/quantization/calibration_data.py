"""Calibration data: the sample feeds a static quantiser runs the float model on.

An `.npz` holds one array per model input whose first axis indexes samples: `DATA[name][i]` is
one feed of that input's declared shape (an input [1,3,48,320] takes an array (N,1,3,48,320)).
Where the input's first dimension is symbolic (a batch), an array of the samples themselves,
(N, 3, 48, 320), is accepted too: sample i is then `DATA[name][i:i+1]`. Samples are grouped into
feeds of up to `batch` samples where every input's first dimension is a symbolic batch.
Everything that does not fit the model is refused with CalibrationDataError, naming the input.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...refimpl.dtypes import name_of
from ...refimpl.errors import CalibrationDataError, GraphValidationError
from ...refimpl.ir import Value

CalibrationSource = str | os.PathLike | Mapping[str, np.ndarray]


@dataclass
class CalibrationData:
    """Samples for every model input, `samples[name][i]` one feed of input `name`."""

    samples: dict[str, list[np.ndarray]]
    count: int
    source: str
    batchable: bool  # every input's first dim is a symbolic batch: samples concatenate

    def feeds(self, batch: int = 8) -> Iterator[tuple[dict[str, np.ndarray], int]]:
        """(feed, samples in it) for every run, `batch` samples per run where batchable."""
        step = max(1, batch) if self.batchable else 1
        for start in range(0, self.count, step):
            stop = min(start + step, self.count)
            yield (
                {
                    name: arrays[start]
                    if stop - start == 1
                    else np.concatenate(arrays[start:stop], axis=0)
                    for name, arrays in self.samples.items()
                },
                stop - start,
            )

    def split(self, first: int) -> tuple[CalibrationData, CalibrationData]:
        """The first `first` samples and the rest (e.g. calibration and held-out data)."""
        head = {k: v[:first] for k, v in self.samples.items()}
        tail = {k: v[first:] for k, v in self.samples.items()}
        return (
            CalibrationData(head, min(first, self.count), self.source, self.batchable),
            CalibrationData(tail, max(0, self.count - first), self.source, self.batchable),
        )


def load_calibration(source: CalibrationSource, inputs: Sequence[Value]) -> CalibrationData:
    """Checked calibration samples for the model inputs `inputs` (initializer-backed inputs
    excluded) from an .npz path or a mapping of name -> array."""
    label = "calibration data" if isinstance(source, Mapping) else str(source)
    arrays = source if isinstance(source, Mapping) else _read_npz(source)
    wanted = {v.name: v for v in inputs}
    unknown = sorted(set(arrays) - set(wanted))
    missing = [n for n in wanted if n not in arrays]
    if missing:
        raise CalibrationDataError(
            f"{label}: no array for model input(s) {missing}; the model's inputs are "
            + ", ".join(f"{v.name}: {v.describe()}" for v in inputs)
            + (f" (the file has {unknown})" if unknown else "")
        )
    if unknown:
        raise CalibrationDataError(
            f"{label}: array(s) {unknown} name no model input; inputs are {sorted(wanted)}"
        )
    samples = {name: _samples(label, wanted[name], np.asarray(arrays[name])) for name in wanted}
    counts = {name: len(s) for name, s in samples.items()}
    if len(set(counts.values())) > 1:
        raise CalibrationDataError(
            f"{label}: inputs have different sample counts {counts}; every input needs one "
            "array entry per sample"
        )
    count = next(iter(counts.values()), 0)
    if count == 0:
        raise CalibrationDataError(f"{label}: holds no samples (the first axis of each array is 0)")
    batchable = bool(inputs) and all(
        v.shape is not None and len(v.shape) > 0 and not isinstance(v.shape[0], int) for v in inputs
    )
    return CalibrationData(samples, count, label, batchable)


def _read_npz(path: str | os.PathLike) -> Mapping[str, np.ndarray]:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"calibration file {str(p)!r} does not exist")
    if p.is_dir():
        raise CalibrationDataError(f"{p}: is a folder; give an .npz with one array per model input")
    try:
        data = np.load(p, allow_pickle=False)
        if not hasattr(data, "files"):
            raise CalibrationDataError(
                f"{p}: holds a single array; calibration data is an .npz with one array per "
                "model input (np.savez(path, **{input_name: samples}))"
            )
        with data:
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise CalibrationDataError(f"{p}: not a readable .npz file ({err})") from None


def _samples(label: str, spec: Value, array: np.ndarray) -> list[np.ndarray]:
    """The samples of one input, each of the input's shape; batch form split per sample."""
    where = f"{label}: input {spec.name!r} ({spec.describe()})"
    try:
        got = name_of(array.dtype)
    except GraphValidationError:
        got = str(array.dtype)
    if spec.dtype is not None and got != spec.dtype:
        raise CalibrationDataError(
            f"{where}: array has dtype {got}, the input takes {spec.dtype} (save it with "
            f".astype(np.{spec.dtype}))"
        )
    if array.ndim == 0:
        raise CalibrationDataError(f"{where}: got a scalar; the first axis must index samples")
    if spec.shape is None:  # rank unknown: the first axis indexes samples
        samples = list(array)
    elif array.ndim == len(spec.shape) + 1:
        samples = list(array)
    elif array.ndim == len(spec.shape) and spec.shape and not isinstance(spec.shape[0], int):
        samples = [array[i : i + 1] for i in range(array.shape[0])]
    else:
        batch_form = (
            f" or (N, {', '.join(_dim(d) for d in spec.shape[1:])})"
            if spec.shape and not isinstance(spec.shape[0], int)
            else ""
        )
        raise CalibrationDataError(
            f"{where}: array of shape {list(array.shape)} does not hold samples of the input; "
            f"expected (N, {', '.join(_dim(d) for d in spec.shape)}){batch_form}"
        )
    if spec.shape is not None and samples:
        first = samples[0]
        for axis, (want, have) in enumerate(zip(spec.shape, first.shape)):
            if isinstance(want, int) and want >= 0 and want != have:
                raise CalibrationDataError(
                    f"{where}: samples have shape {list(first.shape)}, but axis {axis} must be "
                    f"{want}"
                )
    if array.dtype.kind in "fc" and array.size and not np.isfinite(array).all():
        bad = int(np.argmin([bool(np.isfinite(s).all()) for s in samples]))
        kind = "NaN" if np.isnan(samples[bad]).any() else "infinity"
        raise CalibrationDataError(
            f"{where}: sample {bad} holds {kind}; calibration needs finite values"
        )
    return samples


def _dim(d: object) -> str:
    return str(d) if isinstance(d, int) and d >= 0 else "?" if d is None else str(d)
