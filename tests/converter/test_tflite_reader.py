"""The TFLite flatbuffer reader: what it reads from valid files, and typed errors (never a crash,
hang or huge allocation) for corrupt and hostile ones."""

import random
import struct
import time

import numpy as np
import pytest

pytest.importorskip("tflite")

from gossamer.converter.tflite.reader import read_tflite  # noqa: E402
from gossamer.refimpl.errors import MemoryBudgetError, ModelFormatError  # noqa: E402

from tests.conftest import MODELS_DIR  # noqa: E402
from tests.converter.tflite_models import FLOAT32, INT8, Op, Spec, T, add_model, build_model  # noqa: E402

SHARED = [
    "mp_face_detection_short_range.tflite",
    "mp_hand_landmark_lite.tflite",
    "mww_okay_nabu_int8.tflite",
    "oww_embedding.tflite",
    "oww_melspectrogram.tflite",
]


def test_reads_tensors_operators_signature_and_metadata():
    m = read_tflite(add_model())
    assert m.version == 3 and m.description == "gossamer test model"
    (sg,) = m.subgraphs
    assert [t.name for t in sg.tensors] == ["serving_default_x:0", "c", "Identity"]
    assert sg.inputs == [0] and sg.outputs == [2]
    x, c, _ = sg.tensors
    assert x.data is None and x.dtype == "float32" and x.shape == (1, 4)
    np.testing.assert_array_equal(c.data, np.arange(4, dtype=np.float32).reshape(1, 4))
    assert not c.data.flags.writeable  # a view of the file's bytes
    (op,) = sg.operators
    assert (op.opcode, op.custom, op.inputs, op.outputs) == ("ADD", False, [0, 1], [2])
    (sig,) = m.signatures
    assert sig.key == "serving_default" and sig.inputs == [("serving_default_x", 0)]
    assert sig.outputs == [("Identity", 2)]
    assert m.metadata == {"min_runtime_version": b"1.5.0\0"}
    assert m.op_names() == ["ADD"]


def test_reads_quantisation_and_custom_ops():
    spec = Spec(
        tensors=[
            T("x", INT8, (1, 3), scales=(0.5,), zero_points=(-3,)),
            T("w", INT8, (2, 3), np.ones((2, 3), np.int8), scales=(0.1, 0.2), zero_points=(0, 0)),
            T("y", FLOAT32, (1, 2)),
        ],
        ops=[Op("MyCustomOp", [0, 1], [2])],
        inputs=[0],
        outputs=[2],
    )
    (sg,) = read_tflite(build_model(spec)).subgraphs
    q = sg.tensors[0].quantization
    assert q.scales.tolist() == [0.5] and q.zero_points.tolist() == [-3]
    w = sg.tensors[1].quantization
    assert w.scales.tolist() == pytest.approx([0.1, 0.2]) and w.quantized_dimension == 0
    assert sg.tensors[2].quantization is None
    assert (sg.operators[0].opcode, sg.operators[0].custom) == ("MyCustomOp", True)


def test_per_channel_scales_must_match_the_quantised_dimension():
    spec = Spec(
        tensors=[T("w", INT8, (2, 3), np.ones((2, 3), np.int8), (0.1, 0.2, 0.3), (0, 0, 0))],
        ops=[],
        inputs=[],
        outputs=[0],
    )
    with pytest.raises(ModelFormatError, match="TFLite flatbuffer.*3 per-channel scales"):
        read_tflite(build_model(spec))


def test_constant_whose_buffer_is_too_small_is_refused():
    spec = Spec(
        tensors=[T("c", FLOAT32, (2, 4), np.zeros(3, np.float32))], ops=[], inputs=[], outputs=[0]
    )
    with pytest.raises(ModelFormatError, match=r"'c'.*needs 32 bytes but its buffer holds 12"):
        read_tflite(build_model(spec))


def test_huge_activation_is_refused_by_the_memory_budget():
    spec = Spec(tensors=[T("big", FLOAT32, (1 << 20, 1 << 20))], ops=[], inputs=[0], outputs=[0])
    with pytest.raises(MemoryBudgetError):
        read_tflite(build_model(spec), max_memory="1G")


def _patch_int32(data: bytes, old: int, new: int, nth: int = 0) -> bytes:
    """Replaces the nth little-endian int32 `old` after the header with `new`."""
    needle = struct.pack("<i", old)
    at = -1
    for _ in range(nth + 1):
        at = data.index(needle, at + 1 if at >= 0 else 8)
    return data[:at] + struct.pack("<i", new) + data[at + 4 :]


def test_out_of_range_tensor_index_in_an_operator_is_refused():
    spec = Spec(
        tensors=[T("x", FLOAT32, (1,)), T("y", FLOAT32, (1,))],
        ops=[Op(0, [0, 0], [1])],
        inputs=[0],
        outputs=[1],
        signature=False,
    )
    data = build_model(spec)
    # the operator's input vector [0, 0] is "len 2, 0, 0": make the second input 77
    vec = struct.pack("<iii", 2, 0, 0)
    at = data.index(vec)
    bad = data[: at + 8] + struct.pack("<i", 77) + data[at + 12 :]
    with pytest.raises(ModelFormatError, match="input is 77, outside 0..1"):
        read_tflite(bad)


def test_missing_identifier_and_wrong_version_are_named():
    with pytest.raises(ModelFormatError, match="not a TFLite flatbuffer"):
        read_tflite(b"\0" * 64)
    data = add_model()
    m = read_tflite(data)
    assert m.version == 3
    # version is the first scalar in the model table: find and patch the int32 3 after the vtable
    for nth in range(8):
        try:
            bad = _patch_int32(data, 3, 9, nth)
        except ValueError:
            break
        try:
            if read_tflite(bad).version == 3:
                continue
        except ModelFormatError as err:
            if "schema version 9" in str(err):
                return
    pytest.fail("could not patch the schema version")


def test_truncated_files_raise_model_format_error():
    data = add_model()
    for n in [0, 4, 8, 12, 30, len(data) // 2, len(data) - 1]:
        with pytest.raises(ModelFormatError, match="TFLite flatbuffer"):
            read_tflite(data[:n] if n >= 8 else b"\0\0\0\0TFL3"[:n])


@pytest.mark.parametrize("seed", range(4))
def test_random_corruption_gives_typed_errors_quickly(seed):
    rng = random.Random(seed)
    sources = [add_model()]
    real = MODELS_DIR / "oww_melspectrogram.tflite"
    if real.exists():
        sources.append(real.read_bytes())
    for _ in range(150):
        data = bytearray(rng.choice(sources))
        if rng.random() < 0.2:
            data = data[: rng.randrange(8, len(data))]
        else:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(8, len(data))] = rng.choice([rng.randrange(256), 0xFF, 0x7F])
        start = time.perf_counter()
        try:
            read_tflite(bytes(data), max_memory="1G")
        except (ModelFormatError, MemoryBudgetError):
            pass
        assert time.perf_counter() - start < 5  # no hang on a corrupt length


@pytest.mark.models
@pytest.mark.parametrize("name", SHARED)
def test_reads_the_shared_tflite_models(name):
    path = MODELS_DIR / name
    if not path.exists():
        pytest.skip(f"{name} is not in {MODELS_DIR}")
    m = read_tflite(path)
    assert m.subgraphs and m.subgraphs[0].operators
    sg = m.subgraphs[0]
    for t in sg.tensors:
        if t.data is not None and t.dtype in ("float32", "float16", "int8", "int32"):
            assert t.data.shape == t.shape
    for sig in m.signatures:
        assert all(0 <= i < len(m.subgraphs[sig.subgraph].tensors) for _, i in sig.inputs)
