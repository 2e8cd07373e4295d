"""GATHER with batch_dims, SELECT (v1), MIRROR_PAD SYMMETRIC, FLOOR_MOD and integer FLOOR_DIV
against LiteRT's reference kernels, on single-op models."""

import numpy as np
import pytest

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from tests.converter.test_tflite_ops_misc import BOOL, F32, I32, _check, _model  # noqa: E402

litert = pytest.importorskip("ai_edge_litert.interpreter")


@pytest.mark.parametrize(
    "params,indices,axis,batch_dims,out",
    [
        ((2, 5, 3), (2, 4), 1, 1, (2, 4, 3)),
        ((2, 3, 5, 4), (2, 3, 2), 2, 2, (2, 3, 2, 4)),
        ((2, 3, 5, 4), (2, 6), 2, 1, (2, 3, 6, 4)),
        ((2, 3, 5, 4), (2, 2, 3), 3, 1, (2, 3, 5, 2, 3)),
        ((2, 3, 5), (2, 3, 4), -1, -1, (2, 3, 4)),
    ],
)
def test_gather_batch_dims(params, indices, axis, batch_dims, out):
    rng = np.random.default_rng(0)
    size = params[axis]
    idx = rng.integers(0, size, indices).astype(np.int32)
    options = ("GatherOptions", {"axis": axis, "batch_dims": batch_dims})
    _check(_model("GATHER", [(F32, params), idx], [(F32, out)], options))


def test_gather_batch_dims_matches_numpy():
    # the same rule stated with numpy: out[b, m, i, r] = params[b, m, indices[b, i], r]
    rng = np.random.default_rng(1)
    params = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    idx = rng.integers(0, 5, (2, 6)).astype(np.int32)
    options = ("GatherOptions", {"axis": 2, "batch_dims": 1})
    model = _model("GATHER", [(F32, params.shape), idx], [(F32, (2, 3, 6, 4))], options)
    (y,) = gossamer.load(model, optimize=0).run(None, {"serving_default_in0:0": params})
    want = np.stack([params[b][:, idx[b]] for b in range(2)])
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize(
    "cond,x",
    [((2, 3), (2, 3)), ((3,), (3, 2, 2)), ((4,), (4,))],
)
def test_select_v1(cond, x):
    _check(_model("SELECT", [(BOOL, cond), (F32, x), (F32, x)], [(F32, x)]))


def test_select_v1_refuses_broadcasting():
    model = _model("SELECT", [(BOOL, (2, 1)), (F32, (2, 3)), (F32, (2, 3))], [(F32, (2, 3))])
    with pytest.raises(gossamer.UnsupportedModelError, match="SELECT.*does not broadcast"):
        gossamer.load(model)


@pytest.mark.parametrize(
    "shape,pads,out",
    [((4, 3), [[1, 2], [0, 1]], (7, 4)), ((2, 3, 4), [[2, 2], [3, 0], [1, 4]], (6, 6, 9))],
)
@pytest.mark.parametrize("mode", [0, 1])
def test_mirror_pad(shape, pads, out, mode):
    pads = np.array(pads, np.int32)
    if mode == 0:
        pads = np.minimum(pads, np.array(shape)[:, None] - 1)
        out = tuple(d + int(p.sum()) for d, p in zip(shape, pads))
    options = ("MirrorPadOptions", {"mode": mode})
    _check(_model("MIRROR_PAD", [(F32, shape), pads], [(F32, out)], options))


def test_mirror_pad_beyond_the_input_refused():
    pads = np.array([[5, 0], [0, 0]], np.int32)
    options = ("MirrorPadOptions", {"mode": 1})
    model = _model("MIRROR_PAD", [(F32, (4, 3)), pads], [(F32, (9, 3))], options)
    with pytest.raises(gossamer.UnsupportedModelError, match="MIRROR_PAD.*beyond"):
        gossamer.load(model)


def _run_both(model: bytes, feeds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    it = litert.Interpreter(
        model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
    )
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], x)
    it.invoke()
    (theirs,) = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    sess = gossamer.load(model, optimize=0)
    (ours,) = sess.run(None, dict(zip([v.name for v in sess.inputs], feeds)))
    return ours, theirs


@pytest.mark.parametrize("code", ["FLOOR_DIV", "FLOOR_MOD"])
@pytest.mark.parametrize("kind", [F32, I32])
def test_floor_div_and_mod_signs(code, kind):
    rng = np.random.default_rng(2)
    dtype = np.float32 if kind == F32 else np.int32
    x = rng.integers(-40, 41, (4, 6)).astype(dtype)
    if kind == F32:
        x = x * np.float32(0.37)
    y = rng.choice([-7, -3, -2, -1, 1, 2, 3, 5], (4, 6)).astype(dtype)
    x[0, :4] = [0, -6, 6, 7]  # exact multiples and a zero remainder
    y[0, :4] = [3, 3, -3, -7]
    model = _model(code, [(kind, x.shape), (kind, y.shape)], [(kind, x.shape)])
    ours, theirs = _run_both(model, [x, y])
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_floor_mod_broadcasts():
    x = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    y = np.array([4, -3, 5, -2], np.int32)
    model = _model("FLOOR_MOD", [(I32, (3, 4)), (I32, (4,))], [(I32, (3, 4))])
    ours, theirs = _run_both(model, [x, y])
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, np.mod(x, y))
