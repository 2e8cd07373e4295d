"""Hostile .gsm bytes: load_gsm returns a Graph or raises ModelFormatError, in bounded memory.

Every test mutates a real file (a graph with several initializers, attributes and an If body) and
checks the law: nothing but a Graph or a ModelFormatError comes out, and the peak Python/numpy
allocation stays below MEMORY_FACTOR × file size + MEMORY_SLACK. The data section is mapped, not
read, so that bound is set by the JSON graph section: Python objects cost up to ~12× the JSON text
of a real graph (measured), up to ~26× for the worst JSON the density check lets through.
"""

from __future__ import annotations

import copy
import json
import re
import tracemalloc
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.dtypes import DTYPE_NAMES
from gossamer.refimpl.errors import ModelFormatError
from gossamer.refimpl.ir import Graph, Node, Value
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

MEMORY_FACTOR = 16
WORST_JSON_FACTOR = 32
MEMORY_SLACK = 128 * 1024
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _seed_graph() -> Graph:
    then_g = Graph([Node("Add", ["x", "w"], ["t"])], [], [Value("t", "float32", (4,))], name="then")
    else_g = Graph([Node("Relu", ["x"], ["e"])], [], [Value("e", "float32", (4,))], name="else")
    attrs = {"ints": [1, 2], "floats": [0.5], "s": "a", "t": np.arange(3, dtype=np.int32)}
    return Graph(
        nodes=[
            Node("Add", ["x", "w"], ["s"], attrs, name="add"),
            Node("If", ["c"], ["y"], {"then_branch": then_g, "else_branch": else_g}, name="if"),
        ],
        inputs=[Value("x", "float32", ("N", 4)), Value("c", "bool", ())],
        outputs=[Value("s", "float32", ("N", 4)), Value("y", "float32", (4,))],
        initializers={
            "w": np.linspace(-1, 1, 4, dtype=np.float32),
            "m": np.arange(12, dtype=np.int64).reshape(3, 4),
            "h": np.array([1.5, -2.0], ml_dtypes.bfloat16),
            "q": np.array([1, -8, 7], ml_dtypes.int4),
            "flags": np.array([True, False, True]),
            "vocab": np.array(["a", "bc"], dtype=object),
            "none": np.zeros((0, 2), np.float64),
            "scalar": np.array(3, np.int8),
        },
        name="seed",
        metadata={"k": "v"},
    )


SEED = mf.dump_gsm(_seed_graph())
_FIELDS = mf.HEADER.unpack(SEED[: mf.HEADER.size])
GRAPH_TEXT = SEED[_FIELDS[4] : _FIELDS[4] + _FIELDS[5]]
DOCUMENT = json.loads(GRAPH_TEXT)
DATA = SEED[_FIELDS[6] : _FIELDS[6] + _FIELDS[7]]


def check_load(blob: bytes, factor: int = MEMORY_FACTOR) -> Graph | ModelFormatError:
    """The law: a Graph or ModelFormatError, never anything else, and no outsized allocation."""
    tracemalloc.start()
    try:
        result: Graph | ModelFormatError = mf.load_gsm(blob)
        assert isinstance(result, Graph)
        outcome = "loaded"
    except ModelFormatError as err:
        result = err
        outcome = re.sub(r"\d+|'[^']*'|\[[^]]*\]", "_", str(err))[:50]
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak <= factor * len(blob) + MEMORY_SLACK, (peak, len(blob))
    if _in_hypothesis():
        event(outcome)  # --hypothesis-show-statistics lists how far the mutants got
    return result


def _in_hypothesis() -> bool:
    from hypothesis.control import currently_in_test_context

    return currently_in_test_context()


def test_the_seed_file_loads() -> None:
    assert mf.load_gsm(SEED).name == "seed"
    check_load(SEED)


# ---- byte-level mutations ------------------------------------------------------------------------
positions = st.integers(0, len(SEED) - 1)


@FUZZ
@given(st.lists(st.tuples(positions, st.integers(1, 255)), min_size=1, max_size=8))
def test_flipped_bytes(flips: list[tuple[int, int]]) -> None:
    blob = bytearray(SEED)
    for pos, mask in flips:
        blob[pos] ^= mask
    check_load(bytes(blob))


@FUZZ
@given(positions, st.binary(min_size=1, max_size=64))
def test_overwritten_range(pos: int, chunk: bytes) -> None:
    check_load(SEED[:pos] + chunk + SEED[pos + len(chunk) :])


@FUZZ
@given(st.integers(0, len(SEED)), st.binary(max_size=16))
def test_truncated_or_extended(cut: int, tail: bytes) -> None:
    check_load(SEED[:cut] + tail)


@FUZZ
@given(positions, positions, st.integers(1, 256), st.booleans())
def test_spliced_ranges(src: int, dst: int, length: int, insert: bool) -> None:
    piece = SEED[src : src + length]
    end = dst if insert else dst + len(piece)
    check_load(SEED[:dst] + piece + SEED[end:])


# ---- header fields -------------------------------------------------------------------------------
HOSTILE_U64 = [0, 1, 8, 63, 64, 65, 128, len(SEED), len(SEED) + 1, 2**31, 2**32, 2**63, 2**64 - 1]


header_values = st.one_of(st.sampled_from(HOSTILE_U64), st.integers(0, 2**64 - 1), st.just(0))


@FUZZ
@given(st.dictionaries(st.integers(2, 8), header_values, min_size=1))  # 1 (major) is unit-tested
def test_rewritten_header_fields(changes: dict[int, int]) -> None:
    fields = list(_FIELDS)
    limits = {1: 2**16, 2: 2**16, 3: 2**32, 8: 2**32}  # u16 version, u32 flags and CRC
    for index, value in changes.items():
        fields[index] = value % limits.get(index, 2**64)
    check_load(mf.HEADER.pack(*fields) + SEED[mf.HEADER.size :])


# ---- graph-section mutations with a valid checksum -----------------------------------------------
text_positions = st.integers(0, len(GRAPH_TEXT) - 1)
JSON_TOKENS = [b"{", b"}", b"[", b"]", b'"', b",", b":", b"-", b"1e999", b"null", b"true", b"0",
               b"NaN", b"\\u0000", b"\xff", b"99999999999999999999999"]  # fmt: skip


ascii_chunks = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=8)
json_edits = st.tuples(
    text_positions, st.one_of(st.sampled_from(JSON_TOKENS), ascii_chunks.map(str.encode))
)


@FUZZ
@given(st.lists(json_edits, min_size=1, max_size=6))
def test_mutated_json_text(edits: list[tuple[int, bytes]]) -> None:
    text = bytearray(GRAPH_TEXT)
    for pos, token in edits:
        text[pos : pos + len(token)] = token
    check_load(mf.pack_gsm(bytes(text), DATA))


HUGE = [-1, -64, 2**31, 2**32, 2**53 + 1, 2**62, 2**63 - 1, 2**63, 2**64, -(2**63), 10**100]
_DEEP = "__gsm_fuzz_deep_{}__"  # longer than any st.text() drawn here


def _nested_graphs(depth: int) -> dict:
    graph = {"name": "g", "opsets": {}, "metadata": {}, "inputs": [], "outputs": [],
             "value_info": [], "initializers": [], "nodes": []}  # fmt: skip
    for _ in range(depth):
        node = {"op_type": "If", "domain": "", "name": "", "inputs": [], "outputs": [],
                "attrs": {"then_branch": {"graph": graph}}}  # fmt: skip
        graph = dict(graph, nodes=[node])
    return graph


hostile_values = st.one_of(
    st.sampled_from(HUGE),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["", "float32", "string", "bool", "int4", "NaN", "Infinity", "tensor", "If"]),
    st.none(),
    st.booleans(),
    st.lists(st.sampled_from([*HUGE, 0, 1, 2]), max_size=70),
    st.integers(1, 4000).map(_DEEP.format),  # replaced by that many nested [] after encoding
    st.sampled_from(
        [
            {},
            [],
            {"int": 1},
            {"graph": {}},
            {"tensor": 0},
            {"tensors": [0] * 50},
            {"floats": ["NaN", "Infinity"]},
            {"strings": [1]},
        ]
    ),  # fmt: skip
    st.integers(mf.MAX_GRAPH_DEPTH - 2, mf.MAX_GRAPH_DEPTH + 3).map(_nested_graphs),
    st.fixed_dictionaries(
        {
            "dtype": st.sampled_from(sorted(DTYPE_NAMES)),
            "shape": st.lists(st.sampled_from([*HUGE, 0, 1, 2]), max_size=4),
            "offset": st.sampled_from([0, 1, 64, -64, len(DATA), 2**63]),
            "nbytes": st.sampled_from([0, 1, 8, len(DATA), 2**62, 2**64]),
        }
    ),  # fmt: skip
)


def _all_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    items = node.items() if isinstance(node, dict) else enumerate(node)
    paths = []
    for key, child in items:
        paths.append((*prefix, key))
        if isinstance(child, (dict, list)):
            paths.extend(_all_paths(child, (*prefix, key)))
    return paths


PATHS = _all_paths(DOCUMENT)  # every place in the document, so edits hit deep fields as often


def _locate(doc: Any, path: tuple) -> tuple[Any, Any]:
    """The (container, key) at path, or (None, None) where an earlier edit removed it."""
    parent = doc
    for key in path[:-1]:
        try:
            parent = parent[key]
        except (KeyError, IndexError, TypeError):
            return None, None
    if isinstance(parent, dict) and path[-1] in parent:
        return parent, path[-1]
    if isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
        return parent, path[-1]
    return None, None


def _encode(doc: Any) -> bytes:
    text = json.dumps(doc, separators=(",", ":"))
    deep = re.compile('"' + _DEEP.format(r"(\d+)") + '"')
    return deep.sub(lambda m: "[" * int(m.group(1)) + "]" * int(m.group(1)), text).encode()


@FUZZ
@given(st.data())
def test_hostile_json_values(data: st.DataObject) -> None:
    doc = copy.deepcopy(DOCUMENT)
    for _ in range(data.draw(st.integers(1, 3))):
        parent, key = _locate(doc, data.draw(st.sampled_from(PATHS)))
        action = data.draw(st.sampled_from(["replace", "delete", "duplicate"]))
        if action == "delete" and parent is not None:
            del parent[key]
        elif action == "duplicate" and isinstance(parent, list):
            parent.extend([parent[key]] * data.draw(st.integers(1, 300)))
        elif parent is not None:
            parent[key] = data.draw(hostile_values)
    check_load(mf.pack_gsm(_encode(doc), DATA))


# ---- targeted bombs ------------------------------------------------------------------------------
def _refused(blob: bytes, pattern: str, factor: int = MEMORY_FACTOR) -> None:
    result = check_load(blob, factor)
    assert isinstance(result, ModelFormatError) and re.search(pattern, str(result)), result


def test_a_tensor_claiming_exabytes_is_refused_without_allocating() -> None:
    doc = copy.deepcopy(DOCUMENT)
    doc["tensors"][0].update(shape=[2**30, 2**30, 4], nbytes=2**64)
    _refused(mf.pack_gsm(doc, DATA), r"too large for any array")
    doc["tensors"][0].update(shape=[2**20, 2**20, 2**10], nbytes=2**50 * 4)
    _refused(mf.pack_gsm(doc, DATA), r"needs data bytes \[0, 4503599627370496\)")


def test_a_string_tensor_claiming_billions_of_elements_is_refused() -> None:
    doc = copy.deepcopy(DOCUMENT)
    strings = next(t for t in doc["tensors"] if t["dtype"] == "string")
    strings["shape"] = [2**40]
    _refused(mf.pack_gsm(doc, DATA), r"\(1099511627776 elements\) but 2 strings")


def test_deeply_nested_subgraphs_are_refused() -> None:
    doc = copy.deepcopy(DOCUMENT)
    doc["graph"]["nodes"][0]["attrs"]["deep"] = {"graph": _nested_graphs(mf.MAX_GRAPH_DEPTH + 1)}
    _refused(mf.pack_gsm(doc, DATA), "deeper than 64 levels")


def _big_json(item: str, count: int = 50_000) -> bytes:
    return ('{"schema":1,"graph":{"name":"g","nodes":[' + ",".join([item] * count) + "]}}").encode()


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (_big_json("{}"), "denser than any valid graph"),
        (_big_json("[]"), "denser than any valid graph"),
        (_big_json("[     "[:1] * 2000 + "]" * 2000, 1), "denser than any valid graph"),
        (_big_json("{    }  "), "lacks the required key 'tensors'"),
        (_big_json('"ab"'), "lacks the required key 'tensors'"),
        (_big_json("1.5"), "lacks the required key 'tensors'"),
        (('{"m":{' + ",".join(f'"{i}":[]' for i in range(50_000)) + "}}").encode(), "schema"),
        (('{"m":{' + ",".join(f'"{i}":{i}' for i in range(50_000)) + "}}").encode(), "schema"),
    ],
    ids=["objects", "lists", "deep", "padded-objects", "strings", "floats", "keys", "keys-ints"],
)
def test_worst_case_json_is_parsed_or_refused_in_bounded_memory(text: bytes, pattern: str) -> None:
    _refused(mf.pack_gsm(text, b""), pattern, WORST_JSON_FACTOR)


def test_many_tiny_nodes_are_refused_in_bounded_memory() -> None:
    doc = copy.deepcopy(DOCUMENT)
    doc["graph"]["nodes"] = [{}] * 200_000
    _refused(mf.pack_gsm(doc, DATA), "denser than any valid graph")


def test_many_minimal_nodes_are_refused_before_they_are_built() -> None:
    doc = copy.deepcopy(DOCUMENT)
    doc["graph"]["nodes"] = [0] * 100_000
    _refused(mf.pack_gsm(doc, DATA), "more nodes than a graph section of its size can hold")
