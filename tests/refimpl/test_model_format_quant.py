"""Quantisation parameters in .gsm: lossless round trips, N-bit packing, typed errors."""

from __future__ import annotations

import json
import logging
import re
import struct

import ml_dtypes
import numpy as np
import pytest
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.errors import ModelFormatError
from gossamer.refimpl.ir import Graph, Node, QuantParams, Value
from gossamer.refimpl.model_format.packing import code_range, pack_codes, unpack_codes
from hypothesis import given, settings
from hypothesis import strategies as st

CONTAINERS = [np.int8, np.uint8, np.int16, np.uint16, ml_dtypes.int4, ml_dtypes.uint4]


def width(dtype) -> int:  # noqa: ANN001
    return {"int4": 4, "uint4": 4}.get(np.dtype(dtype).name, np.dtype(dtype).itemsize * 8)


def signed(dtype) -> bool:  # noqa: ANN001
    return np.dtype(dtype).name in ("int4",) or np.dtype(dtype).kind == "i"


def random_codes(rng, shape, bits, dtype) -> np.ndarray:  # noqa: ANN001
    low, high = code_range(bits, signed(dtype))
    if signed(dtype) and bits == 1:
        return rng.choice([-1, 1], size=shape).astype(dtype)
    return rng.integers(low, high + 1, size=shape).astype(dtype)


def dq_graph(codes: np.ndarray, qp: QuantParams, opset: int = 21) -> Graph:
    """codes -> DequantizeLinear -> y, with codes annotated by `qp`."""
    attrs = {} if qp.axis is None else {"axis": qp.axis}
    if qp.block_size:
        attrs["block_size"] = qp.block_size
    graph = Graph(
        nodes=[Node("DequantizeLinear", ["w", "s"], ["y"], attrs, "dq")],
        inputs=[],
        outputs=[Value("y")],
        initializers={"w": codes, "s": np.asarray(qp.scale)},
        opsets={"": opset},
    )
    graph.quant["w"] = qp
    return graph


def split_file(data: bytes) -> tuple[dict, bytes, int]:
    """(graph section document, data section, flags) of a .gsm file."""
    _, _, _, flags, g_off, g_len, d_off, d_len, _ = mf.HEADER.unpack(data[: mf.HEADER.size])
    return json.loads(data[g_off : g_off + g_len]), data[d_off : d_off + d_len], flags


def repack(data: bytes, edit) -> bytes:  # noqa: ANN001
    document, section, flags = split_file(data)
    edit(document)
    return mf.pack_gsm(document, section, flags=flags)


def three_bit_file() -> bytes:
    codes = np.array([[-4, 3, 0, 1, -1], [2, -3, 1, 0, 3]], dtype=np.int8)
    qp = QuantParams(np.array([0.5, 0.25], np.float32), np.zeros(2, np.int8), axis=0, bits=3)
    return mf.dump_gsm(dq_graph(codes, qp))


# ---- round trips ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "qp",
    [
        QuantParams(np.array(0.1, np.float32), np.array(3, np.uint8), bits=8),
        QuantParams(np.array([0.1, 0.2, 0.3], np.float32), np.zeros(3, np.int8), axis=0, bits=5),
        QuantParams(np.full((3, 2), 0.5, np.float32), np.zeros((3, 2), np.int8), 1, 2, bits=4),
    ],
    ids=["per-tensor", "per-channel", "blocked"],
)
def test_quant_params_survive_a_round_trip(qp: QuantParams) -> None:
    codes = random_codes(np.random.default_rng(0), (3, 4), qp.bits, np.asarray(qp.zero_point).dtype)
    loaded = mf.load_gsm(mf.dump_gsm(dq_graph(codes, qp)))
    got = loaded.quant["w"]
    assert (got.axis, got.block_size, got.bits) == (qp.axis, qp.block_size, qp.bits)
    assert got.scale.tobytes() == np.asarray(qp.scale).tobytes()
    assert got.zero_point.dtype == np.asarray(qp.zero_point).dtype
    assert np.array_equal(got.zero_point, qp.zero_point)
    assert np.array_equal(loaded.initializers["w"], codes)


def test_quant_of_an_activation_round_trips() -> None:
    graph = Graph(
        nodes=[Node("Relu", ["x"], ["y"], {}, "relu")],
        inputs=[Value("x", "uint8", (2,))],
        outputs=[Value("y", "uint8", (2,))],
    )
    graph.quant["y"] = QuantParams(np.array(0.02, np.float32), np.array(128, np.uint8))
    loaded = mf.load_gsm(mf.dump_gsm(graph))
    assert loaded.quant["y"].bits == 8 and int(loaded.quant["y"].zero_point) == 128


def test_a_file_without_quant_has_no_quant_key_and_no_packed_flag() -> None:
    graph = Graph([Node("Relu", ["x"], ["y"])], [Value("x", "float32", (1,))], [Value("y")])
    document, _, flags = split_file(mf.dump_gsm(graph))
    assert "quant" not in document["graph"] and flags & mf.FLAG_PACKED == 0


def test_a_minor_1_file_still_loads() -> None:
    graph = Graph([Node("Relu", ["x"], ["y"])], [Value("x", "float32", (1,))], [Value("y")])
    document, section, _ = split_file(mf.dump_gsm(graph))
    assert mf.load_gsm(mf.pack_gsm(document, section, minor=1)).quant == {}


# ---- packing -------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    bits=st.integers(1, 16),
    container=st.sampled_from(CONTAINERS),
    count=st.integers(0, 70),
    seed=st.integers(0, 2**32 - 1),
)
def test_codes_pack_to_n_bits_and_unpack_unchanged(bits, container, count, seed) -> None:
    if bits > width(container):
        return
    codes = random_codes(np.random.default_rng(seed), (count,), bits, container)
    packed = pack_codes(codes, bits)
    assert packed.size == -(-count * bits // 8)
    assert np.array_equal(unpack_codes(packed, (count,), codes.dtype, bits), codes)


@pytest.mark.parametrize("bits", range(1, 17))
def test_every_bit_width_round_trips_through_a_file_packed(bits: int) -> None:
    dtype = np.int8 if bits <= 8 else np.int16
    codes = random_codes(np.random.default_rng(bits), (7, 13), bits, dtype)
    qp = QuantParams(np.full(7, 0.1, np.float32), np.zeros(7, dtype), axis=0, bits=bits)
    data = mf.dump_gsm(dq_graph(codes, qp))
    document, _, flags = split_file(data)
    entry = document["tensors"][document["graph"]["initializers"][0]["tensor"]]
    packed = bits < np.dtype(dtype).itemsize * 8
    assert entry["nbytes"] == (-(-codes.size * bits // 8) if packed else codes.nbytes)
    assert bool(flags & mf.FLAG_PACKED) == packed
    loaded = mf.load_gsm(data)
    assert loaded.initializers["w"].dtype == dtype
    assert np.array_equal(loaded.initializers["w"], codes)
    assert not loaded.initializers["w"].flags.writeable


def test_int4_containers_are_packed_two_codes_a_byte() -> None:
    codes = np.arange(-8, 8, dtype=np.int8).astype(ml_dtypes.int4).reshape(4, 4)
    qp = QuantParams(np.array(1.0, np.float32), np.array(0, ml_dtypes.int4), bits=4)
    data = mf.dump_gsm(dq_graph(codes, qp))
    document, _, _ = split_file(data)
    assert document["tensors"][0]["nbytes"] == 8
    assert np.array_equal(mf.load_gsm(data).initializers["w"], codes)


def test_signed_one_bit_codes_are_signs() -> None:
    codes = np.array([[1, -1, -1, 1, 1, 1, -1, -1, 1]], dtype=np.int8)
    qp = QuantParams(np.array([0.5], np.float32), np.zeros(1, np.int8), axis=0, bits=1)
    loaded = mf.load_gsm(mf.dump_gsm(dq_graph(codes, qp)))
    assert np.array_equal(loaded.initializers["w"], codes)


# ---- the writer drops what the reader would refuse -------------------------------------------
@pytest.mark.parametrize(
    ("codes", "qp", "message"),
    [
        (
            np.array([5], np.int8),
            QuantParams(np.array(1.0, np.float32), np.array(0, np.int8), bits=3),
            "outside the 3-bit range",
        ),  # noqa: E501
        (
            np.array([0], np.int8),
            QuantParams(np.array(1.0, np.float32), np.array(0, np.int8), bits=1),
            r"-1 and \+1",
        ),  # noqa: E501
        (
            np.array([1], np.int8),
            QuantParams(np.array(np.nan, np.float32), np.array(0, np.int8)),
            "finite and positive",
        ),  # noqa: E501
        (
            np.array([1], np.int8),
            QuantParams(np.array(1.0, np.float32), np.array(0, np.int8), bits=12),
            "wider than",
        ),  # noqa: E501
    ],
    ids=["code-range", "one-bit-zero", "nan-scale", "bits-over-container"],
)
def test_writer_drops_invalid_quant_with_a_warning(codes, qp, message, caplog) -> None:
    # quant is an annotation: a stale or wrong entry must not make a model unsavable
    with caplog.at_level(logging.WARNING):
        loaded = mf.load_gsm(mf.dump_gsm(dq_graph(codes, qp)))
    assert re.search(message, caplog.text) and loaded.quant == {}
    assert np.array_equal(loaded.initializers["w"], codes)  # stored unpacked, as it is


def test_writer_drops_entries_for_values_a_pass_removed(caplog) -> None:
    graph = Graph([Node("Relu", ["x"], ["y"])], [Value("x", "float32", (1,))], [Value("y")])
    graph.quant["gone"] = QuantParams(np.array(1.0, np.float32), np.array(0, np.int8))
    with caplog.at_level(logging.WARNING):
        assert mf.load_gsm(mf.dump_gsm(graph)).quant == {}
    assert "'gone'" in caplog.text


# ---- hostile files -------------------------------------------------------------------------------
def _quant(document: dict) -> dict:
    return document["graph"]["quant"][0]


HOSTILE = {
    "bits-zero": (lambda d: _quant(d).update(bits=0), "bits"),
    "bits-17": (lambda d: _quant(d).update(bits=17), "bits 17"),
    "bits-string": (lambda d: _quant(d).update(bits="3"), "bits must be an integer"),
    "bits-mismatch": (lambda d: _quant(d).update(bits=4), "packed at 3 bits"),
    "axis-out-of-range": (lambda d: _quant(d).update(axis=5), "axis 5"),
    "negative-block": (lambda d: _quant(d).update(block_size=-1), "block_size"),
    "unknown-name": (lambda d: _quant(d).update(name="nope"), "no value of the graph"),
    "duplicate": (lambda d: d["graph"]["quant"].append(dict(_quant(d))), "twice"),
    "bad-scale-ref": (lambda d: _quant(d).update(scale=99), "refers to tensor 99"),
    "quant-not-list": (lambda d: d["graph"].update(quant={}), "quant must be a list"),
    "truncated-packed": (lambda d: d["tensors"][0].update(nbytes=3), "4 bytes, but nbytes says 3"),
    "packed-bits-too-wide": (lambda d: d["tensors"][0].update(bits=8), "narrower than"),
    "packed-bits-zero": (lambda d: d["tensors"][0].update(bits=0), "bits is 0"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_quant_sections_get_a_typed_error(case: str) -> None:
    edit, message = HOSTILE[case]
    data = repack(three_bit_file(), edit)
    with pytest.raises(ModelFormatError, match=message):
        mf.load_gsm(data)


def _scale_bytes(data: bytes, value: float) -> bytes:
    """The file with its first scale element replaced by `value` (the data section is not
    covered by the checksum, as a corrupted disk would leave it)."""
    document, section, flags = split_file(data)
    entry = document["tensors"][_quant(document)["scale"]]
    patched = bytearray(section)
    patched[entry["offset"] : entry["offset"] + 4] = struct.pack("<f", value)
    return mf.pack_gsm(document, bytes(patched), flags=flags)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -1.0])
def test_a_scale_that_is_not_finite_and_positive_is_refused(value: float) -> None:
    with pytest.raises(ModelFormatError, match="finite and positive"):
        mf.load_gsm(_scale_bytes(three_bit_file(), value))


def test_nonzero_padding_bits_are_refused() -> None:
    document, section, flags = split_file(three_bit_file())
    entry = document["tensors"][0]  # 10 codes x 3 bits = 30 bits: 2 padding bits
    patched = bytearray(section)
    patched[entry["offset"] + entry["nbytes"] - 1] |= 0x80
    with pytest.raises(ModelFormatError, match="padding bits"):
        mf.load_gsm(mf.pack_gsm(document, bytes(patched), flags=flags))


def test_unpacked_codes_out_of_their_bit_range_are_refused() -> None:
    # a hand-written file may keep 3-bit codes unpacked; they must still be 3-bit codes
    codes = np.array([[1, 2, 3, 9]], dtype=np.int8)
    qp = QuantParams(np.array([0.5], np.float32), np.zeros(1, np.int8), axis=0, bits=8)
    document, section, flags = split_file(mf.dump_gsm(dq_graph(codes, qp)))
    _quant(document)["bits"] = 3
    with pytest.raises(ModelFormatError, match="outside the 3-bit range"):
        mf.load_gsm(mf.pack_gsm(document, section, flags=flags))


def test_zero_points_outside_the_bit_range_are_refused() -> None:
    codes = np.array([[1, 2]], dtype=np.uint8)
    qp = QuantParams(np.array(0.5, np.float32), np.array(200, np.uint8), bits=8)
    document, section, flags = split_file(mf.dump_gsm(dq_graph(codes, qp)))
    _quant(document)["bits"] = 4
    with pytest.raises(ModelFormatError, match=r"zero points in \[200, 200\], outside \[0, 15\]"):
        mf.load_gsm(mf.pack_gsm(document, section, flags=flags))


def test_per_channel_scales_must_match_the_axis() -> None:
    codes = np.zeros((2, 3), np.int8)
    qp = QuantParams(np.full(2, 0.5, np.float32), np.zeros(2, np.int8), axis=0, bits=8)
    document, section, flags = split_file(mf.dump_gsm(dq_graph(codes, qp)))
    _quant(document)["axis"] = 1
    with pytest.raises(ModelFormatError, match=r"scale shape \[2\], not \[3\]"):
        mf.load_gsm(mf.pack_gsm(document, section, flags=flags))
