"""The graph section's JSON: the schema's limits, canonical writing and strict, bounded parsing.

Shared by the writer and the reader so both agree on what a valid document is: int64 attribute
ints, non-finite floats as the strings "NaN"/"Infinity"/"-Infinity", value kinds, nesting depth.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from typing import Any

from ..errors import ModelFormatError

MAX_GRAPH_DEPTH = 64  # subgraph nesting levels
MAX_RANK = 64  # numpy's own limit
# A node's JSON is longer than MIN_NODE_BYTES, so more nodes than that allows means a hostile file.
MIN_NODE_BYTES = 32
# Python spends ~70 bytes on an empty list or dict: capping their density caps the parse's memory.
MIN_CONTAINER_CHARS = 6  # a valid document has fewer: `"a":{"ints":[]},` is 16 characters for 2
VALUE_KINDS = ("tensor", "sequence", "optional")
INT64 = (-(2**63), 2**63 - 1)
MAX_NBYTES = 2**63 - 1  # numpy refuses arrays whose size (zeros counted as 1) exceeds this
MAX_FLOAT_INT = 2**1023  # larger JSON integers do not fit a float
NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# A JSON string, or an unterminated one running to the end: always matching keeps re.sub linear.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)

JsonPath = str | tuple  # a place in the JSON document: a root name or (parent, suffix)


def json_bytes(document: dict) -> bytes:
    """The compact, ASCII-only text of a document (NaN and infinities are refused)."""
    return json.dumps(document, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def float_doc(value: Any) -> float | str:
    """A float as the schema stores it: a JSON number, or the name of a non-finite value."""
    number = float(value)
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def json_type(value: Any) -> str:
    """What a parsed JSON value is, in words for error messages."""
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer",
             float: "a number", bool: "a boolean", type(None): "null"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def parse_json(where: str, raw: memoryview) -> Any:
    """The graph section parsed as strict JSON: UTF-8, no duplicate keys, no bare NaN/Infinity,
    bounded nesting and container density; ModelFormatError otherwise."""
    try:
        text = str(raw, "utf-8")
    except UnicodeDecodeError as err:
        raise ModelFormatError(f"{where}: graph section is not UTF-8 text: {err}") from None
    containers = text.count("{") + text.count("[")
    if containers * MIN_CONTAINER_CHARS > len(text):  # recount without brackets inside strings
        containers = sum(map(_JSON_STRING.sub("", text).count, "{["))
        if containers * MIN_CONTAINER_CHARS > len(text):
            raise ModelFormatError(
                f"{where}: graph section has {containers} JSON objects and lists in "
                f"{len(text)} characters, denser than any valid graph (hostile file)"
            )
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except RecursionError:
        raise ModelFormatError(f"{where}: graph section JSON nests too deeply") from None
    except ValueError as err:  # JSONDecodeError, duplicate keys, NaN tokens, huge integers
        raise ModelFormatError(f"{where}: graph section is not valid JSON: {err}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        counts = Counter(k for k, _ in pairs)
        dupes = sorted(k for k, n in counts.items() if n > 1)
        raise ValueError(f"duplicate key(s) {[d[:40] for d in dupes[:5]]} in one object")
    return result


def _no_constants(token: str) -> Any:
    raise ValueError(f"bare {token} is not plain JSON")
