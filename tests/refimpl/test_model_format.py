"""The .gsm format: lossless round trips, alignment, zero-copy loads, a typed error per defect."""

from __future__ import annotations

import io
import json
import math
import mmap
import os
import struct
import time
import zlib
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.dtypes import DTYPE_NAMES, NUMPY_DTYPES
from gossamer.refimpl.errors import GraphValidationError, ModelFormatError
from gossamer.refimpl.ir import Graph, Node, Value
from onnx import TensorProto, helper, numpy_helper

import gossamer


# ---- helpers -------------------------------------------------------------------------------------
def assert_same_array(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype == object:
        assert a.tolist() == b.tolist()
    else:
        assert a.tobytes() == b.tobytes()


def assert_same_value(a, b) -> None:  # noqa: ANN001
    if isinstance(a, Graph):
        assert_same_graph(a, b)
    elif isinstance(a, np.ndarray):
        assert_same_array(a, b)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_value(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b)
    else:
        assert type(a) is type(b) and a == b


def assert_same_graph(a: Graph, b: Graph) -> None:
    assert (a.name, a.opsets, a.metadata) == (b.name, b.opsets, b.metadata)
    assert (a.inputs, a.outputs, a.value_info) == (b.inputs, b.outputs, b.value_info)
    assert list(a.initializers) == list(b.initializers)
    for name in a.initializers:
        assert_same_array(a.initializers[name], b.initializers[name])
    assert len(a.nodes) == len(b.nodes)
    for m, n in zip(a.nodes, b.nodes):
        assert (m.op_type, m.domain, m.name, m.inputs, m.outputs) == (
            n.op_type, n.domain, n.name, n.inputs, n.outputs,
        )  # fmt: skip
        assert list(m.attrs) == list(n.attrs)
        for key in m.attrs:
            assert_same_value(m.attrs[key], n.attrs[key])


def round_trip(graph: Graph) -> Graph:
    loaded = mf.load_gsm(mf.dump_gsm(graph))
    assert_same_graph(graph, loaded)
    return loaded


def sections(blob: bytes) -> tuple[tuple, dict, bytes]:
    fields = mf.HEADER.unpack(blob[: mf.HEADER.size])
    _, _, _, _, g_off, g_len, d_off, d_len, _ = fields
    return fields, json.loads(blob[g_off : g_off + g_len]), blob[d_off : d_off + d_len]


def rewrite(blob: bytes, edit) -> bytes:  # noqa: ANN001
    """The file with its JSON document edited by `edit(doc)`, checksum and offsets kept valid."""
    _, doc, data = sections(blob)
    edit(doc)
    return mf.pack_gsm(doc, data)


def pack_text(text: bytes, data: bytes = b"") -> bytes:
    """A file whose graph section is exactly `text` (with a correct checksum)."""
    return mf.pack_gsm(text, data)


def patch_header(blob: bytes, **fields: int) -> bytes:
    names = ["magic", "major", "minor", "flags", "g_off", "g_len", "d_off", "d_len", "crc"]
    values = dict(zip(names, mf.HEADER.unpack(blob[: mf.HEADER.size])))
    values.update(fields)
    return mf.HEADER.pack(*values.values()) + blob[mf.HEADER.size :]


def small_graph() -> Graph:
    """y = relu(x + w) with a bias initializer, a tensor attribute and an If body."""
    body = Graph([Node("Add", ["x", "w"], ["t"])], [], [Value("t", "float32", (3,))], name="then")
    other = Graph([Node("Relu", ["x"], ["e"])], [], [Value("e", "float32", (3,))], name="else")
    return Graph(
        nodes=[
            Node("Add", ["x", "w"], ["s"], name="add"),
            Node("Relu", ["s"], ["y"], name="relu"),
            Node("If", ["c"], ["z"], {"then_branch": body, "else_branch": other}, name="if"),
        ],
        inputs=[Value("x", "float32", (3,)), Value("c", "bool", ())],
        outputs=[Value("y", "float32", (3,)), Value("z", "float32", (3,))],
        initializers={
            "w": np.array([1.0, -2.0, 3.0], np.float32),
            "k": np.arange(6, dtype=np.int64).reshape(2, 3),
        },
        name="small",
    )


@pytest.fixture
def blob() -> bytes:
    return mf.dump_gsm(small_graph())


# ---- round trips ---------------------------------------------------------------------------------
def test_round_trip_keeps_every_attribute_kind() -> None:
    sub = Graph([Node("Relu", ["x"], ["r"])], [], [Value("r")], name="sub")
    attrs = {
        "i": 7, "neg": -(2**63), "f": 0.1, "inf": float("inf"), "ninf": float("-inf"),
        "nan": float("nan"), "s": "héllo \udcff", "ints": [1, -2, 2**63 - 1], "empty": [],
        "floats": [1.5, -0.0, float("nan")], "strings": ["a", "", "ü"],
        "t": np.arange(4, dtype=np.float16).reshape(2, 2), "g": sub, "gs": [sub, sub],
        "ts": [np.ones(2), np.array(["z"], object)],
    }  # fmt: skip
    graph = Graph([Node("Custom", ["x"], ["y"], attrs, domain="my.domain")], [Value("x")],
                  [Value("y")], opsets={"": 21, "my.domain": 1})  # fmt: skip
    loaded = round_trip(graph)
    assert math.copysign(1.0, loaded.nodes[0].attrs["floats"][1]) == -1.0


@pytest.mark.parametrize("dtype", sorted(DTYPE_NAMES))
@pytest.mark.parametrize(
    "shape", [(2, 3), (0,), (4, 0, 2), ()], ids=["2x3", "empty", "0-in-3d", "0d"]
)
def test_round_trip_keeps_every_dtype_bit_for_bit(dtype: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    count = math.prod(shape)
    if dtype == "string":
        array = np.array([f"s{i}é" for i in range(count)], dtype=object).reshape(shape)
    elif dtype == "bool":
        array = rng.integers(0, 2, count).astype(bool).reshape(shape)
    else:
        npdt = NUMPY_DTYPES[dtype]
        array = (
            rng.integers(0, 256, count * npdt.itemsize, dtype=np.uint8).view(npdt).reshape(shape)
        )
    graph = Graph([], [], [Value("w")], initializers={"w": array})
    loaded = round_trip(graph)
    assert loaded.initializers["w"].dtype == NUMPY_DTYPES[dtype]


def test_round_trip_keeps_nested_bodies_with_outer_scope_references() -> None:
    inner_if = Graph([Node("Add", ["acc", "bias"], ["o"])], [], [Value("o")], name="inner_then")
    inner_else = Graph([Node("Relu", ["acc"], ["o2"])], [], [Value("o2")], name="inner_else")
    loop_body = Graph(
        nodes=[
            Node("Add", ["v", "x"], ["acc"]),  # x and bias come from the outer graph
            Node("If", ["cond"], ["v_out"], {"then_branch": inner_if, "else_branch": inner_else}),
            Node("Identity", ["cond"], ["cond_out"]),
        ],
        inputs=[Value("i", "int64", ()), Value("cond", "bool", ()), Value("v", "float32", (2,))],
        outputs=[Value("cond_out"), Value("v_out")],
        name="body",
    )
    graph = Graph(
        [Node("Loop", ["n", "", "v0"], ["v_final"], {"body": loop_body})],
        [Value("n", "int64", ()), Value("v0", "float32", (2,)), Value("x", "float32", (2,))],
        [Value("v_final", "float32", (2,))],
        initializers={"bias": np.array([0.5, 1.5], np.float32)},
    )
    loaded = round_trip(graph)
    assert loaded.nodes[0].attrs["body"].free_names() == {"x", "bias"}


def test_round_trip_keeps_metadata_opsets_value_info_and_symbolic_dims() -> None:
    graph = small_graph()
    graph.metadata = {"producer": "test", "ünïcode": "✓"}
    graph.opsets = {"": 13, "ai.onnx.ml": 3, "com.example": 0}
    graph.value_info = {
        "s": Value("s", "float32", ("N", None, 3)),
        "q": Value("q", None, None, "sequence"),
    }
    graph.inputs[0] = Value("x", "float32", ("batch", None, 3), "tensor")
    graph.inputs.append(Value("opt", "int8", None, "optional"))
    round_trip(graph)


def test_initializer_order_and_dict_order_survive() -> None:
    graph = Graph([], [], [Value("b")], initializers={"b": np.ones(1), "a": np.zeros(1)})
    assert list(round_trip(graph).initializers) == ["b", "a"]


# ---- layout --------------------------------------------------------------------------------------
def test_every_tensor_and_the_data_section_are_64_byte_aligned() -> None:
    graph = Graph([], [], [Value("t0")], initializers={
        f"t{i}": np.ones(n, np.uint8) for i, n in enumerate([1, 3, 0, 65, 7, 128, 2])})  # fmt: skip
    fields, doc, _ = sections(mf.dump_gsm(graph))
    assert fields[6] % 64 == 0
    offsets = [t["offset"] for t in doc["tensors"]]
    assert len(offsets) == 7 and all(o % 64 == 0 for o in offsets)


def test_header_is_64_bytes_with_magic_and_version(blob: bytes) -> None:
    magic, major, minor, flags, g_off, g_len, _, _, crc = mf.HEADER.unpack(blob[:64])
    assert (mf.HEADER.size, magic, major, minor, flags, g_off) == (
        64,
        b"GOSSAMER",
        1,
        mf.FORMAT_MINOR,
        0,
        64,
    )
    assert zlib.crc32(blob[g_off : g_off + g_len]) == crc


def test_dump_is_deterministic_and_equals_save(tmp_path, blob: bytes) -> None:  # noqa: ANN001
    path = tmp_path / "m.gsm"
    mf.save_gsm(small_graph(), path)
    out = io.BytesIO()
    mf.save_gsm(small_graph(), out)
    assert path.read_bytes() == blob == out.getvalue() == mf.dump_gsm(small_graph())
    assert os.listdir(tmp_path) == ["m.gsm"]


def test_an_array_used_twice_is_stored_once() -> None:
    shared = np.arange(100, dtype=np.float32)
    graph = Graph(
        [Node("Foo", [], ["y"], {"t": shared})], [], [Value("y")], initializers={"w": shared}
    )
    _, doc, _ = sections(mf.dump_gsm(graph))
    assert len(doc["tensors"]) == 1


def test_big_endian_arrays_are_stored_little_endian() -> None:
    graph = Graph([], [], [Value("w")], initializers={"w": np.array([1, 2], dtype=">i4")})
    loaded = mf.load_gsm(mf.dump_gsm(graph))
    assert loaded.initializers["w"].tolist() == [1, 2]
    assert loaded.initializers["w"].dtype == np.dtype("int32")


# ---- zero copy -----------------------------------------------------------------------------------
def _bases(array: np.ndarray) -> list:
    chain = []
    while array is not None:
        chain.append(array)
        nxt = getattr(array, "base", None)
        array = array.obj if isinstance(array, memoryview) else nxt  # (np.frombuffer's base)
    return chain


def test_path_load_maps_initializers_without_copying(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from gossamer.refimpl.model_format import reader

    mf.save_gsm(small_graph(), tmp_path / "m.gsm")
    monkeypatch.setattr(reader, "READ_BELOW", 0)  # (a file this small is read, not mapped)
    w = mf.load_gsm(tmp_path / "m.gsm").initializers["w"]
    assert not w.flags.owndata and not w.flags.writeable
    assert any(isinstance(b, (np.memmap, mmap.mmap)) for b in _bases(w))
    assert w.ctypes.data % 64 == 0  # the mapping is page-aligned, so file alignment carries over


def test_a_small_file_is_read_into_one_aligned_read_only_buffer(tmp_path) -> None:  # noqa: ANN001
    from gossamer.refimpl.model_format import reader

    graph = small_graph()
    mf.save_gsm(graph, tmp_path / "m.gsm")
    assert (tmp_path / "m.gsm").stat().st_size <= reader.READ_BELOW
    loaded = mf.load_gsm(tmp_path / "m.gsm")
    w, k = loaded.initializers["w"], loaded.initializers["k"]
    assert not any(isinstance(b, (np.memmap, mmap.mmap)) for b in _bases(w))
    assert _bases(w)[-1] is _bases(k)[-1]  # views of one buffer, not a copy per tensor
    assert not w.flags.writeable and not k.flags.writeable
    assert w.ctypes.data % 64 == 0  # the file's tensor alignment carries over
    for name, array in graph.initializers.items():
        np.testing.assert_array_equal(loaded.initializers[name], array)


def test_a_file_shorter_than_its_size_when_read_is_refused(tmp_path) -> None:  # noqa: ANN001
    from gossamer.refimpl.model_format import reader

    mf.save_gsm(small_graph(), tmp_path / "m.gsm")
    data = (tmp_path / "m.gsm").read_bytes()
    shrunk = io.BytesIO(data[:-64])  # the file lost its tail between the size check and the read
    buf = reader._read_aligned(shrunk, len(data))
    assert buf.size == len(data) - 64  # what was read, never the buffer's unread tail
    with pytest.raises(ModelFormatError):
        reader._load(buf, "m.gsm")


def test_bytes_load_views_the_buffer(blob: bytes) -> None:
    k = mf.load_gsm(blob).initializers["k"]
    assert np.shares_memory(k, np.frombuffer(blob, dtype=np.uint8))
    assert not k.flags.writeable


def test_loaded_views_of_a_bytearray_are_read_only(blob: bytes) -> None:
    w = mf.load_gsm(bytearray(blob)).initializers["w"]
    with pytest.raises(ValueError):
        w[0] = 5


def test_saving_over_a_mapped_file_leaves_the_old_mapping_intact(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "m.gsm"
    mf.save_gsm(small_graph(), path)
    old = mf.load_gsm(path).initializers["w"]
    changed = small_graph()
    changed.initializers["w"] = np.zeros(3, np.float32)
    mf.save_gsm(changed, path)
    assert old.tolist() == [1.0, -2.0, 3.0]
    assert mf.load_gsm(path).initializers["w"].tolist() == [0.0, 0.0, 0.0]


def test_a_graph_loaded_from_a_path_saves_back_over_that_path(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "m.gsm"
    mf.save_gsm(small_graph(), path)
    loaded = mf.load_gsm(path)
    mf.save_gsm(loaded, path)
    assert_same_graph(mf.load_gsm(path), small_graph())
    assert_same_graph(loaded, small_graph())


def test_the_format_document_states_the_header_struct() -> None:
    text = (Path(__file__).parents[2] / "docs" / "gsm-format.md").read_text()
    assert f'`"{mf.HEADER.format}"`' in text


# ---- saving bad graphs ---------------------------------------------------------------------------
def test_save_rejects_an_attribute_it_cannot_store_and_keeps_the_old_file(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "m.gsm"
    path.write_bytes(b"old")
    graph = Graph([Node("Foo", [], ["y"], {"bad": {"a": 1}})], [], [Value("y")])
    with pytest.raises(GraphValidationError, match="attribute 'bad' has type dict"):
        mf.save_gsm(graph, path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["m.gsm"]


def test_save_rejects_a_graph_that_load_would_refuse() -> None:
    with pytest.raises(GraphValidationError, match="reads \\['ghost'\\]"):
        mf.dump_gsm(Graph([Node("Relu", ["ghost"], ["y"])], [], [Value("y")]))
    with pytest.raises(GraphValidationError, match="kind 'map'"):
        mf.dump_gsm(Graph([], [Value("x", kind="map")], [Value("x")]))
    with pytest.raises(GraphValidationError, match="negative dimension"):
        mf.dump_gsm(Graph([], [Value("x", "float32", (-1,))], [Value("x")]))


def test_save_rejects_an_int_attribute_beyond_int64() -> None:
    graph = Graph([Node("Foo", [], ["y"], {"big": 2**64})], [], [Value("y")])
    with pytest.raises(GraphValidationError, match="overflows int64"):
        mf.dump_gsm(graph)


# ---- running through gossamer.load ---------------------------------------------------------------
def _onnx_add_relu_constant() -> onnx.ModelProto:
    nodes = [
        helper.make_node(
            "Constant",
            [],
            ["c"],
            value=numpy_helper.from_array(np.array([0.5, -1.0, 2.0], np.float32)),
        ),  # fmt: skip
        helper.make_node("Add", ["x", "w"], ["s"]),
        helper.make_node("Add", ["s", "c"], ["t"]),
        helper.make_node("Relu", ["t"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "arc",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(np.array([1.0, -2.0, 3.0], np.float32), "w")],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_gsm_from_onnx_runs_like_the_onnx_model(tmp_path) -> None:  # noqa: ANN001
    model = _onnx_add_relu_constant()
    path = tmp_path / "arc.gsm"
    mf.save_gsm(graph_from_onnx(model), path)
    x = np.linspace(-3, 3, 6, dtype=np.float32).reshape(2, 3)
    want = gossamer.load(model.SerializeToString()).run(None, {"x": x})[0]
    for source in (path, str(path), path.read_bytes()):
        got = gossamer.load(source).run(None, {"x": x})[0]
        assert got.dtype == np.float32 and got.tobytes() == want.tobytes()
    expected = np.maximum(x + np.array([1.5, -3.0, 5.0], np.float32), 0)
    np.testing.assert_array_equal(want, expected)


def test_onnx_to_gsm_to_graph_is_bit_for_bit() -> None:
    rng = np.random.default_rng(1)
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float16), "B16"),
        numpy_helper.from_array(np.array([1.5, -2, 3e38], ml_dtypes.bfloat16), "bf"),
        numpy_helper.from_array(np.array([1, -8, 7], ml_dtypes.int4), "q4"),
        numpy_helper.from_array(np.array([0.5, 448], ml_dtypes.float8_e4m3fn), "f8"),
        numpy_helper.from_array(np.array(["tok", "ën"], dtype=object), "vocab"),
        numpy_helper.from_array(np.array(True), "flag"),
        numpy_helper.from_array(np.zeros((0, 3), np.int64), "nothing"),
    ]
    then_g = helper.make_graph(
        [helper.make_node("Relu", ["conv"], ["r"])],
        "then",
        [],
        [helper.make_tensor_value_info("r", TensorProto.FLOAT, None)],
    )
    else_g = helper.make_graph(
        [helper.make_node("Identity", ["W"], ["e"])],
        "else",
        [],
        [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)],
    )
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[1, 1], auto_pad="NOTSET", group=1, name="conv0"),
        helper.make_node("If", ["c"], ["branch"], then_branch=then_g, else_branch=else_g),
        helper.make_node("LeakyRelu", ["branch"], ["y"], alpha=0.1),
        helper.make_node("Constant", [], ["k"], value_floats=[0.25, float("inf")]),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes, "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8]),
         helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("k", TensorProto.FLOAT, [2])],
        inits,
        value_info=[helper.make_tensor_value_info("conv", TensorProto.FLOAT, ["N", 4, 8, 8])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    helper.set_model_props(model, {"author": "me", "license": "MIT"})
    before = graph_from_onnx(model.SerializeToString())
    after = round_trip(before)
    assert after.metadata["author"] == "me"
    assert after.initializers["q4"].dtype == np.dtype(ml_dtypes.int4)


# ---- corrupt files: one specific error per defect ------------------------------------------------
def _raises(blob: bytes, pattern: str) -> None:
    with pytest.raises(ModelFormatError, match=pattern):
        mf.load_gsm(blob)


def test_wrong_magic_is_refused(blob: bytes) -> None:
    _raises(b"NOTAGSM!" + blob[8:], "not a .gsm file")


def test_an_onnx_file_is_not_a_gsm_file() -> None:
    _raises(_onnx_add_relu_constant().SerializeToString(), "not a .gsm file")


def test_newer_major_version_is_refused(blob: bytes) -> None:
    _raises(patch_header(blob, major=2), r"format version 2\.\d+; this Gossamer reads version 1\.x")


def test_newer_minor_version_is_accepted(blob: bytes) -> None:
    assert_same_graph(mf.load_gsm(patch_header(blob, minor=9)), small_graph())


def test_unknown_required_flag_is_refused_but_optional_flags_are_ignored(blob: bytes) -> None:
    _raises(patch_header(blob, flags=0x4), r"flag bits 0x0004")
    assert mf.load_gsm(patch_header(blob, flags=0x10000)).name == "small"


@pytest.mark.parametrize("size", [0, 5, 8, 40, 63])
def test_a_file_shorter_than_the_header_is_truncated(blob: bytes, size: int) -> None:
    _raises(blob[:size], "truncated")


def test_a_file_cut_inside_the_data_section_is_truncated(blob: bytes) -> None:
    _raises(blob[:-8], r"truncated: the data section needs bytes")


def test_a_file_cut_inside_the_graph_section_is_truncated(blob: bytes) -> None:
    _raises(blob[:100], r"truncated: the graph section needs bytes")


def test_an_empty_file_on_disk_is_truncated(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "e.gsm").write_bytes(b"")
    _raises(tmp_path / "e.gsm", "truncated")  # type: ignore[arg-type]


def test_section_offset_outside_the_file_is_refused(blob: bytes) -> None:
    _raises(patch_header(blob, d_off=2**64 - 64), r"data section offset \d+ is outside the file")
    _raises(patch_header(blob, g_off=len(blob) + 64), r"graph section offset \d+ is outside")


def test_section_length_past_the_end_is_refused(blob: bytes) -> None:
    _raises(patch_header(blob, d_len=2**64 - 1), "truncated: the data section needs")


def test_section_inside_the_header_is_refused(blob: bytes) -> None:
    _raises(patch_header(blob, g_off=8), "lies inside the 64-byte header")


def test_misaligned_data_section_is_refused(blob: bytes) -> None:
    fields = mf.HEADER.unpack(blob[:64])
    _raises(patch_header(blob, d_off=fields[6] + 8, d_len=0), "not 64-byte aligned")


def test_overlapping_sections_are_refused(blob: bytes) -> None:
    fields = mf.HEADER.unpack(blob[:64])
    _raises(patch_header(blob, d_off=64, d_len=fields[5]), "overlaps data section")


def test_checksum_mismatch_is_refused(blob: bytes) -> None:
    corrupt = bytearray(blob)
    corrupt[80] ^= 0x01
    _raises(bytes(corrupt), "checksum mismatch")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (b'{"schema": 1,', "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"a": NaN}', "not valid JSON: bare NaN"),
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b"[     " * 100_000 + b"]" * 100_000, "nests too deeply"),
        (b"[" * 100_000 + b"]" * 100_000, "100000 JSON objects and lists in 200000 characters"),
        (b'{"a": [{}, {}, {}, []]}', "denser than any valid graph"),
        (b"1" * 5000, "not valid JSON"),
        (b"[1, 2, 3]", "graph section must be an object, got a list"),
        (b'{"schema": 2, "graph": {}, "tensors": []}', "schema 2, expected 1"),
        (b'{"graph": {}, "tensors": []}', "lacks the required key 'schema'"),
    ],
    ids=[
        "cut",
        "utf8",
        "nan",
        "dupkey",
        "deep",
        "dense",
        "dense2",
        "bigint",
        "list",
        "schema",
        "noschema",
    ],
)
def test_graph_section_that_is_not_the_expected_json_is_refused(text: bytes, pattern: str) -> None:
    _raises(pack_text(text), pattern)


def _node(doc: dict, i: int = 0) -> dict:
    return doc["graph"]["nodes"][i]


def _tensor(doc: dict, i: int = 0, **fields: object) -> None:
    doc["tensors"][i].update(fields)


def _attr(doc: dict, value: object) -> None:
    _node(doc, 2)["attrs"]["x"] = value


def _input(doc: dict, **fields: object) -> None:
    doc["graph"]["inputs"][0].update(fields)


_VI = {"name": "a", "dtype": None, "shape": None, "kind": "tensor"}
SCHEMA_DEFECTS = {
    "missing_key": (
        lambda d: _node(d).pop("op_type"),
        r"nodes\[0\] lacks the required key 'op_type'",
    ),
    "wrong_type": (
        lambda d: _node(d).update(inputs="x"),
        r"nodes\[0\]\.inputs must be a list, got a",
    ),
    "bool_not_int": (lambda d: d["graph"]["opsets"].update({"": True}), "integer, got a bool"),
    "empty_op": (lambda d: _node(d).update(op_type=""), r"op_type is empty"),
    "unknown_dtype": (lambda d: _tensor(d, dtype="float128"), "unknown dtype 'float128'"),
    "negative_dim": (lambda d: _tensor(d, shape=[-3]), r"shape\[0\] is -3, outside \[0,"),
    "nbytes": (lambda d: _tensor(d, nbytes=8), r"float32\[3\], 12 bytes, but nbytes says 8"),
    "huge_dims": (lambda d: _tensor(d, shape=[2**40, 2**40, 0]), "too large for any array"),
    "huge_dim": (lambda d: _tensor(d, shape=[2**64]), r"is 18446744073709551616, outside"),
    "rank": (lambda d: _tensor(d, shape=[1] * 65), "rank 65, more than 64"),
    "outside_data": (lambda d: _tensor(d, offset=2**20), r"needs data bytes \[1048576,"),
    "neg_offset": (lambda d: _tensor(d, offset=-64), r"offset is -64, outside \[0,"),
    "misaligned": (lambda d: _tensor(d, 1, offset=8), "offset 8 is not 64-byte aligned"),
    "tensor_index": (lambda d: d["graph"]["initializers"][0].update(tensor=99), "to tensor 99"),
    "attr_kind": (lambda d: _attr(d, {"complex": 1}), "unknown attribute kind 'complex'"),
    "attr_keys": (lambda d: _attr(d, {"int": 1, "float": 2.0}), "exactly one kind key"),
    "attr_int": (lambda d: _attr(d, {"int": 2**63}), r"\.int is 9223372036854775808, outside"),
    "attr_float": (lambda d: _attr(d, {"float": "nan"}), "must be a number or one of"),
    "attr_float_big": (lambda d: _attr(d, {"floats": [10**400]}), r"floats\[0\] must be a number"),
    "dup_init": (
        lambda d: d["graph"]["initializers"].append({"name": "w", "tensor": 1}),
        "'w' twice",
    ),
    "dup_value_info": (lambda d: d["graph"].update(value_info=[_VI, _VI]), "lists 'a' twice"),
    "value_kind": (lambda d: _input(d, kind="map"), r"kind is 'map', not one of"),
    "value_dtype": (lambda d: _input(d, dtype="f32"), "not a known dtype name"),
    "value_dim": (lambda d: _input(d, shape=[1.5]), r"shape\[0\] must be an integer"),
    "metadata": (lambda d: d["graph"].update(metadata={"k": 1}), r"metadata\['k'\] must be a str"),
    "too_many_nodes": (lambda d: d["graph"].update(nodes=[0] * 5000), "more nodes than a graph"),
    "dangling": (lambda d: _node(d).update(inputs=["x", "no"]), r"invalid graph: .*reads \['no'\]"),
    "cycle": (lambda d: _node(d).update(inputs=["y", "w"]), "invalid graph: .*cycle"),
}


@pytest.mark.parametrize("defect", sorted(SCHEMA_DEFECTS))
def test_schema_defect_is_refused_with_a_specific_message(blob: bytes, defect: str) -> None:
    edit, pattern = SCHEMA_DEFECTS[defect]
    _raises(rewrite(blob, edit), pattern)


def test_string_tensor_with_wrong_count_or_items_is_refused() -> None:
    graph = Graph([], [], [Value("s")], initializers={"s": np.array(["a", "b"], dtype=object)})
    blob = mf.dump_gsm(graph)
    _raises(
        rewrite(blob, lambda d: d["tensors"][0].update(shape=[3])), r"\(3 elements\) but 2 strings"
    )
    _raises(
        rewrite(blob, lambda d: d["tensors"][0].update(strings=["a", 2])), r"strings\[1\] must be"
    )


def test_bool_tensor_with_bytes_other_than_0_and_1_is_refused() -> None:
    blob = mf.dump_gsm(Graph([], [], [Value("b")], initializers={"b": np.array([True, False])}))
    _, _, data = sections(blob)
    corrupt = blob[: len(blob) - len(data)] + b"\x02" + data[1:]
    _raises(corrupt, "is bool but holds bytes other than 0 and 1")


def test_dense_json_with_an_unterminated_escaped_string_is_refused_in_linear_time() -> None:
    start = time.perf_counter()
    _raises(pack_text(b"[" * 100_000 + b'"' + b'\\"' * 200_000), "denser than any valid graph")
    assert time.perf_counter() - start < 2.0


def test_brackets_inside_strings_do_not_count_as_dense_json() -> None:
    graph = Graph([], [], [Value("w")], initializers={"w": np.ones(1)}, metadata={"m": "[{" * 500})
    assert mf.load_gsm(mf.dump_gsm(graph)).metadata["m"] == "[{" * 500


def _nested(depth: int) -> dict:
    graph = {"name": "g", "opsets": {}, "metadata": {}, "inputs": [], "outputs": [],
             "value_info": [], "initializers": [], "nodes": []}  # fmt: skip
    for _ in range(depth):
        node = {"op_type": "If", "domain": "", "name": "", "inputs": [], "outputs": [],
                "attrs": {"then_branch": {"graph": graph}}}  # fmt: skip
        graph = dict(graph, nodes=[node])
    return {"schema": 1, "graph": graph, "tensors": []}


def test_subgraphs_nested_deeper_than_the_limit_are_refused() -> None:
    assert mf.load_gsm(mf.pack_gsm(_nested(mf.MAX_GRAPH_DEPTH), b"")).name == "g"
    _raises(mf.pack_gsm(_nested(mf.MAX_GRAPH_DEPTH + 1), b""), "deeper than 64 levels")


def test_writer_refuses_to_nest_deeper_than_the_reader_accepts() -> None:
    graph = Graph([], [], [])
    for _ in range(mf.MAX_GRAPH_DEPTH + 1):
        graph = Graph([Node("If", [], [], {"then_branch": graph})], [], [])
    with pytest.raises(GraphValidationError, match="deeper than 64"):
        mf.dump_gsm(graph)


def test_missing_path_raises_file_not_found(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(FileNotFoundError):
        mf.load_gsm(tmp_path / "absent.gsm")


def test_header_layout_matches_the_documented_struct() -> None:
    assert mf.HEADER.format == "<8sHHIQQQQI12x"
    assert struct.calcsize(mf.HEADER.format) == 64


def test_model_info_round_trips_and_a_minor_0_file_without_it_loads():
    graph = small_graph()
    graph.model_info = {"producer_name": "pytorch", "model_version": "7", "doc_string": "d"}
    assert round_trip(graph).model_info == graph.model_info
    older = rewrite(mf.dump_gsm(graph), lambda doc: doc["graph"].pop("model_info"))
    assert mf.load_gsm(patch_header(older, minor=0)).model_info == {}
    bad = rewrite(mf.dump_gsm(graph), lambda doc: doc["graph"].update(model_info={"a": 1}))
    _raises(bad, r"model_info\['a'\]")
