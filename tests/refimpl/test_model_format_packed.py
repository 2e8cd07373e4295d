"""Pre-packed weight forms in .gsm (minor 3): the table bound to array objects, the "prepacked"
list written and read back, and a typed error for every hostile entry."""

from __future__ import annotations

import gc
import json
import struct
import zlib

import numpy as np
import pytest
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.errors import ModelFormatError
from gossamer.refimpl.ir import Graph, Node, QuantParams, Value
from gossamer.refimpl.model_format import prepacked as pp

KEY = "test/pack_b/v1/simd=generic/k=3,n=4"


def matmul_graph(w: np.ndarray | None = None) -> Graph:
    w = np.arange(12, dtype=np.float32).reshape(3, 4) if w is None else w
    return Graph(
        nodes=[Node("MatMul", ["x", "w"], ["y"], name="mm")],
        inputs=[Value("x", "float32", (2, 3))],
        outputs=[Value("y", "float32", (2, 4))],
        initializers={"w": w},
    )


def split_file(data: bytes) -> tuple[dict, bytes]:
    header = mf.HEADER.unpack(data[: mf.HEADER.size])
    g_off, g_len, d_off, d_len = header[4:8]
    return json.loads(data[g_off : g_off + g_len]), data[d_off : d_off + d_len]


def packed_file() -> bytes:
    graph = matmul_graph()
    pp.attach(graph.initializers["w"], KEY, np.full(8, 7.0, np.float32))
    return mf.dump_gsm(graph)


def test_forms_round_trip_bound_to_the_loaded_weight() -> None:
    data = packed_file()
    document, _ = split_file(data)
    (entry,) = document["prepacked"]
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert entry["key"] == KEY and entry["crc32"] == zlib.crc32(w.tobytes())
    assert struct.unpack("<H", data[10:12])[0] == mf.FORMAT_MINOR >= 3  # (minor 3: the forms)
    graph = mf.load_gsm(data)
    form = pp.find(graph.initializers["w"], KEY)
    assert form is not None and form.tolist() == [7.0] * 8 and not form.flags.writeable
    assert pp.find(graph.initializers["w"], KEY + "x") is None  # keys match exactly
    assert pp.find(np.array(graph.initializers["w"]), KEY) is None  # a copy has no forms


def test_forms_of_a_mapped_file_are_views_of_the_file(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "m.gsm"
    path.write_bytes(packed_file())
    graph = mf.load_gsm(path)
    form = pp.find(graph.initializers["w"], KEY)
    assert form is not None and not form.flags.owndata  # memory-mapped, not copied


def test_a_file_without_forms_has_no_prepacked_key_and_loads_without_them() -> None:
    document, _ = split_file(mf.dump_gsm(matmul_graph()))
    assert "prepacked" not in document
    graph = mf.load_gsm(mf.dump_gsm(matmul_graph()))
    assert pp.forms(graph.initializers["w"]) == {}


def test_a_replaced_weight_loses_its_forms_and_the_table_forgets_dead_weights() -> None:
    w = np.ones((3, 4), np.float32)
    pp.attach(w, KEY, np.zeros(8, np.float32))
    graph = matmul_graph(w)
    graph.initializers["w"] = w * 2  # as an optimiser fold would
    assert "prepacked" not in split_file(mf.dump_gsm(graph))[0]
    ident = id(w)
    del w, graph
    gc.collect()
    assert ident not in pp._FORMS


def test_detach_and_attach_checks() -> None:
    w = np.ones(3, np.float32)
    pp.attach(w, KEY, np.zeros(2, np.float32))
    pp.detach(w)
    assert pp.forms(w) == {}
    with pytest.raises(ValueError):
        pp.attach(w, "", np.zeros(2, np.float32))
    with pytest.raises(TypeError):
        pp.attach(w, KEY, [1.0])  # type: ignore[arg-type]


def test_forms_of_bit_packed_weights_are_written() -> None:
    codes = np.array([[1, -2], [3, 0]], np.int8)
    graph = Graph(
        nodes=[Node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dq")],
        inputs=[], outputs=[Value("y", "float32", (2, 2))],
        initializers={"q": codes, "s": np.float32(0.5).reshape(()), "z": np.int8(0).reshape(())},
        quant={"q": QuantParams(np.float32(0.5), np.int8(0), bits=3)},
    )  # fmt: skip
    pp.attach(codes, KEY, np.arange(4, dtype=np.float32))
    loaded = mf.load_gsm(mf.dump_gsm(graph))
    form = pp.find(loaded.initializers["q"], KEY)
    assert form is not None and form.tolist() == [0.0, 1.0, 2.0, 3.0]


def edit(data: bytes, change) -> bytes:  # noqa: ANN001
    document, section = split_file(data)
    change(document)
    return mf.pack_gsm(document, section)


def _set(key: str, value: object):  # noqa: ANN202
    return lambda d: d["prepacked"][0].__setitem__(key, value)


def _string_tensor(d: dict) -> None:
    d["tensors"].append({"dtype": "string", "shape": [1], "strings": ["x"]})
    d["prepacked"][0]["array"] = len(d["tensors"]) - 1


def _bit_packed_array(d: dict) -> None:
    d["tensors"].append({"dtype": "int8", "shape": [2], "offset": 0, "nbytes": 1, "bits": 3})
    d["prepacked"][0]["array"] = len(d["tensors"]) - 1


HOSTILE = {
    "not a list": (lambda d: d.__setitem__("prepacked", {}), "prepacked must be a list"),
    "entry not an object": (lambda d: d.__setitem__("prepacked", [3]), "must be an object"),
    "no source": (lambda d: d["prepacked"][0].pop("source"), "lacks the required key 'source'"),
    "no array": (lambda d: d["prepacked"][0].pop("array"), "lacks the required key 'array'"),
    "no key": (lambda d: d["prepacked"][0].pop("key"), "lacks the required key 'key'"),
    "no crc": (lambda d: d["prepacked"][0].pop("crc32"), "lacks the required key 'crc32'"),
    "source out of range": (_set("source", 99), "refers to tensor 99"),
    "negative array": (_set("array", -1), "refers to tensor -1"),
    "source a string": (_set("source", "0"), "must be an integer"),
    "key a number": (_set("key", 5), ".key must be a string"),
    "empty key": (_set("key", ""), "has 0 characters"),
    "huge key": (_set("key", "k" * 600), "has 600 characters"),
    "crc negative": (_set("crc32", -1), "not an unsigned 32-bit"),
    "crc too big": (_set("crc32", 2**32), "not an unsigned 32-bit"),
    "crc a bool": (_set("crc32", True), "must be an integer"),
    "string array": (_string_tensor, "is a string tensor"),
    "bit-packed array": (_bit_packed_array, "is stored bit-packed"),
    "duplicate key": (
        lambda d: d["prepacked"].append(dict(d["prepacked"][0])),
        "repeats key",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_prepacked_entries_are_refused(name: str) -> None:
    change, message = HOSTILE[name]
    with pytest.raises(ModelFormatError, match="prepacked") as info:
        mf.load_gsm(edit(packed_file(), change))
    assert message in str(info.value)


def test_a_form_past_the_data_section_is_refused() -> None:
    def grow(d: dict) -> None:
        d["tensors"][d["prepacked"][0]["array"]]["shape"] = [10**6]
        d["tensors"][d["prepacked"][0]["array"]]["nbytes"] = 4 * 10**6

    with pytest.raises(ModelFormatError, match="needs data bytes"):
        mf.load_gsm(edit(packed_file(), grow))


def test_a_refused_file_attaches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from gossamer.refimpl.model_format import reader

    blob = packed_file()
    calls: list[str] = []
    monkeypatch.setattr(reader, "attach", lambda w, key, form: calls.append(key))

    def broken(d: dict) -> None:
        d["graph"]["nodes"][0]["inputs"] = ["x", "nowhere"]  # the graph fails validation

    with pytest.raises(ModelFormatError):
        mf.load_gsm(edit(blob, broken))
    assert calls == []
    mf.load_gsm(blob)
    assert calls == [KEY]
