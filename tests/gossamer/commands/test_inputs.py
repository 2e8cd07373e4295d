"""Feeds from the command line: files, images, --random, and --shape with shared symbolic dims."""

import numpy as np
import pytest
from gossamer.refimpl.errors import InputError
from gossamer.refimpl.ir import Value
from onnx import helper
from PIL import Image

from gossamer.cli import main
from gossamer.commands.inputs import bind_dims, concrete_shapes, hint_shapes, parse_shapes
from tests.conftest import make_model, tensor_info


@pytest.fixture
def pair_path(tmp_path):
    """z = a + b with a, b: float32[batch, seq] (one symbolic dim pair, shared)."""
    model = make_model(
        [helper.make_node("Add", ["a", "b"], ["z"], name="add")],
        [
            tensor_info("a", np.float32, ["batch", "seq"]),
            tensor_info("b", np.float32, ["batch", "seq"]),
        ],
        [tensor_info("z", np.float32, ["batch", "seq"])],
    )
    path = tmp_path / "pair.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_run_random_prints_the_shape_and_dtype_it_fed(model_path, capsys):
    assert main(["run", str(model_path), "--random", "--seed", "3"]) == 0
    assert "# input x: float32[1, 4] random (seed 3)" in capsys.readouterr().out


def test_run_prints_the_file_each_input_came_from(tmp_path, model_path, capsys):
    np.save(tmp_path / "x.npy", np.ones((2, 4), np.float32))
    assert main(["run", str(model_path), "-i", f"x={tmp_path / 'x.npy'}"]) == 0
    assert f"# input x: float32[2, 4] from {tmp_path / 'x.npy'}" in capsys.readouterr().out


def test_a_shape_fixes_a_dim_for_every_input_that_names_it(pair_path, tmp_path):
    out = tmp_path / "o.npz"
    assert main(["run", str(pair_path), "--random", "--shape", "a=3,5", "-o", str(out)]) == 0
    assert np.load(out)["z"].shape == (3, 5)


def test_a_file_binds_the_dims_of_the_random_inputs(pair_path, tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.zeros((2, 7), np.float32))
    argv = ["run", str(pair_path), "-i", f"a={tmp_path / 'a.npy'}", "--random"]
    assert main(argv) == 0
    assert "# input b: float32[2, 7] random (seed 0)" in capsys.readouterr().out


def test_an_npz_feeds_inputs_by_name(pair_path, tmp_path):
    a, b = np.ones((1, 3), np.float32), np.full((1, 3), 2, np.float32)
    np.savez(tmp_path / "in.npz", a=a, b=b)
    out = tmp_path / "o.npz"
    assert main(["run", str(pair_path), "-i", str(tmp_path / "in.npz"), "-o", str(out)]) == 0
    np.testing.assert_array_equal(np.load(out)["z"], a + b)


def test_an_npz_with_arrays_of_other_names_is_refused(pair_path, tmp_path, capsys):
    np.savez(tmp_path / "in.npz", q=np.ones((1, 3), np.float32))
    assert main(["run", str(pair_path), "-i", str(tmp_path / "in.npz")]) == 2
    assert "['q'] name no input" in capsys.readouterr().err


def test_a_shape_that_disagrees_with_the_file_is_refused(model_path, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.ones((2, 4), np.float32))
    argv = ["run", str(model_path), "-i", f"x={tmp_path / 'x.npy'}", "--shape", "x=3,4"]
    assert main(argv) == 2
    assert "disagrees with --input x" in capsys.readouterr().err


def test_parse_shapes_refuses_a_name_given_twice():
    with pytest.raises(InputError, match="more than once"):
        parse_shapes(["x=1", "x=2"])


def test_a_scalar_shape_is_an_empty_list():
    assert parse_shapes(["s="]) == {"s": ()}


def test_concrete_shapes_fill_every_input_a_shape_determines():
    inputs = [Value("a", "float32", ("batch", "seq")), Value("m", "int64", ("batch", "seq", 4))]
    assert concrete_shapes(inputs, {"a": (2, 9)}) == {"a": (2, 9), "m": (2, 9, 4)}
    assert bind_dims(inputs, {"a": (2, 9)}, {}) == {"batch": 2, "seq": 9}


def test_hint_shapes_names_one_input_per_new_dim_name():
    inputs = {
        "ids": ("batch", "seq"),
        "mask": ("batch", "seq"),
        "img": (None, 3, "h", "w"),
    }
    assert hint_shapes(inputs) == {"ids": (1, 64), "img": (1, 3, 64, 64)}


# ---- images ------------------------------------------------------------------------------------
@pytest.fixture
def png(tmp_path):
    """A 6x4 RGB image whose pixel (row r, col c) is (10r, 20c, 255)."""
    rows, cols = np.mgrid[0:4, 0:6]
    pixels = np.stack([10 * rows, 20 * cols, np.full_like(rows, 255)], axis=-1).astype(np.uint8)
    path = tmp_path / "img.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


def _image_model(tmp_path, shape, dtype=np.float32):
    model = make_model(
        [helper.make_node("Identity", ["img"], ["out"], name="id")],
        [tensor_info("img", dtype, shape)],
        [tensor_info("out", dtype, shape)],
    )
    path = tmp_path / "image_model.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def _fed(tmp_path, model, *args):
    out = tmp_path / "fed.npz"
    assert main(["run", str(model), *args, "-o", str(out)]) == 0
    return np.load(out)["out"]


def test_an_image_feeds_nchw_scaled_to_0_1_by_default(tmp_path, png):
    path, pixels = png
    got = _fed(tmp_path, _image_model(tmp_path, ["N", 3, "H", "W"]), "-i", f"img={path}")
    want = (pixels.astype(np.float32) * np.float32(1 / 255)).transpose(2, 0, 1)[None]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_an_nhwc_input_gets_channels_last(tmp_path, png):
    path, pixels = png
    got = _fed(tmp_path, _image_model(tmp_path, [1, "H", "W", 3]), "-i", f"img={path}")
    assert got.shape == (1, 4, 6, 3)
    np.testing.assert_allclose(got[0] * 255, pixels, atol=1e-3)


def test_a_uint8_input_gets_raw_pixels(tmp_path, png):
    path, pixels = png
    got = _fed(tmp_path, _image_model(tmp_path, [1, 4, 6, 3], np.uint8), "-i", f"img={path}")
    np.testing.assert_array_equal(got[0], pixels)


def test_the_declared_size_resizes_the_image(tmp_path, png):
    path, _ = png
    got = _fed(tmp_path, _image_model(tmp_path, [1, 3, 8, 12]), "-i", f"img={path}")
    assert got.shape == (1, 3, 8, 12)


def test_the_preprocess_spec_applies_mean_std_bgr_and_size(tmp_path, png):
    path, pixels = png
    spec = "size=6x4,layout=nchw,color=bgr,scale=1/255,mean=0.5/0.25/0,std=0.5/0.5/2,dtype=float32"
    got = _fed(tmp_path, _image_model(tmp_path, ["N", 3, "H", "W"]), "-i", f"img={path}",
               "--preprocess", spec)  # fmt: skip
    bgr = pixels[:, :, ::-1].astype(np.float32) / 255
    want = ((bgr - np.array([0.5, 0.25, 0])) / np.array([0.5, 0.5, 2])).transpose(2, 0, 1)[None]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_one_channel_input_gets_a_gray_image(tmp_path, png):
    path, _ = png
    got = _fed(tmp_path, _image_model(tmp_path, [1, 1, 4, 6]), "-i", f"img={path}")
    assert got.shape == (1, 1, 4, 6)
    white_blue = np.asarray(Image.open(path).convert("L"), np.float32) / 255
    np.testing.assert_allclose(got[0, 0], white_blue, rtol=1e-6)


def test_run_says_how_the_image_was_prepared(tmp_path, png, capsys):
    path, _ = png
    model = _image_model(tmp_path, [1, 3, 8, 8])
    assert main(["run", str(model), "-i", f"img={path}"]) == 0
    out = capsys.readouterr().out
    assert f"# input img: float32[1, 3, 8, 8] from {path} (6x4 RGB -> 8x8 rgb, scale 1/255" in out


def test_run_help_documents_images_and_preprocess(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "NAME=IMAGE" in out and "--preprocess" in out and "mean=0.485/0.456/0.406" in out
