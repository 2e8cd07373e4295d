"""UNIQUE and BUCKETIZE against LiteRT's reference kernels (exact)."""

import numpy as np
import pytest

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from tests.converter.tflite_int8_models import CODES as INT_CODES  # noqa: E402
from tests.converter.tflite_int8_models import T, q_model, run_litert  # noqa: E402

UNIQUE, BUCKETIZE = 103, 147
CODES = {**INT_CODES, "float64": 10}  # TensorType FLOAT64


def _exact(model: bytes, feeds: list[np.ndarray]) -> None:
    session = gossamer.load(model, optimize=0, backends=["reference"])
    names = [v.name for v in session.get_inputs()]
    got = session.run(None, dict(zip(names, feeds)))
    for a, b in zip(got, run_litert(model, feeds, "reference")):
        a = np.asarray(a)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float32", "int32", "int64", "int8", "uint8", "int16"])
@pytest.mark.parametrize("idx_type", ["int32", "int64"])
def test_unique_matches_litert(dtype, idx_type):
    rng = np.random.default_rng(1)
    x = rng.integers(-4, 5, 40).astype(dtype) if dtype != "uint8" else rng.integers(0, 9, 40)
    x = np.asarray(x, dtype)
    uniques = len(np.unique(x))
    model = q_model(UNIQUE, [T("x", CODES[dtype], (40,))],
                    [T("y", CODES[dtype], (uniques,)), T("idx", CODES[idx_type], (40,))],
                    ("UniqueOptions", {"idx_out_type": CODES[idx_type]}))  # fmt: skip
    _exact(model, [x])


def test_unique_of_a_multi_dimensional_input_is_refused():
    model = q_model(UNIQUE, [T("x", CODES["int32"], (2, 3))],
                    [T("y", CODES["int32"], (6,)), T("idx", CODES["int32"], (2, 3))],
                    ("UniqueOptions", {"idx_out_type": CODES["int32"]}))  # fmt: skip
    with pytest.raises(gossamer.UnsupportedModelError, match="UNIQUE.*rank-2"):
        gossamer.load(model)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
@pytest.mark.parametrize(
    "boundaries", [[-1.0, 0.0, 0.5, 2.0], [0.1], [], [1.0, 1.0, 3.5]], ids=["4", "1", "0", "dup"]
)
def test_bucketize_matches_litert(dtype, boundaries):
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(3, 17)) * 2).astype(dtype)
    if dtype.startswith("float"):
        x.reshape(-1)[:4] = [-1.0, 0.5, 2.0, np.nan]  # values on a boundary, and NaN
    else:
        x.reshape(-1)[:2] = [1, 3]
    model = q_model(BUCKETIZE, [T("x", CODES[dtype], (3, 17))], [T("y", CODES["int32"], (3, 17))],
                    ("BucketizeOptions", {"boundaries": boundaries}))  # fmt: skip
    _exact(model, [x])


def test_bucketize_with_unsorted_boundaries_is_refused_as_by_litert():
    model = q_model(BUCKETIZE, [T("x", CODES["float32"], (4,))], [T("y", CODES["int32"], (4,))],
                    ("BucketizeOptions", {"boundaries": [1.0, 0.0]}))  # fmt: skip
    with pytest.raises(gossamer.UnsupportedModelError, match="not sorted"):
        gossamer.load(model)
