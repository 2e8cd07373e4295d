"""The .gsm model file: a fixed header, a JSON graph section, 64-byte-aligned raw tensor data.

The exact layout and schema are in docs/gsm-format.md. `load_gsm` checks every field before it
builds anything, maps tensor data without copying (an mmap of a path, a small file read whole
into one buffer; np.frombuffer views of bytes) and raises ModelFormatError for any corrupt,
truncated or hostile file. Nothing is ever unpickled.

header.py holds the byte layout (header, flags, sections, CRC), schema.py the graph section's JSON
(limits, canonical writing, strict parsing), writer.py Graph -> file, reader.py file -> Graph,
prepacked.py the table of pre-packed forms of weights (a backend's packed layouts, stored in the
file's optional "prepacked" list and attached to the loaded weight arrays), layouts.py the table of
stored layouts (the graph a session plans at -O3, stored in the optional "layouts" list and built
when a session asks for its key), mapped_pages.py the release of a mapped weight's pages once a
backend has packed it.
"""

from .header import (
    ALIGNMENT,
    FLAG_PACKED,
    FLAG_STATE,
    FORMAT_MAJOR,
    FORMAT_MINOR,
    HEADER,
    KNOWN_FLAGS,
    MAGIC,
    REQUIRED_FLAGS,
)
from .reader import PathLike, load_gsm
from .schema import (
    MAX_GRAPH_DEPTH,
    MAX_RANK,
    MIN_CONTAINER_CHARS,
    MIN_NODE_BYTES,
    VALUE_KINDS,
    JsonPath,
)
from .writer import dump_gsm, pack_gsm, save_gsm

__all__ = [
    "ALIGNMENT",
    "FLAG_PACKED",
    "FLAG_STATE",
    "FORMAT_MAJOR",
    "FORMAT_MINOR",
    "HEADER",
    "KNOWN_FLAGS",
    "MAGIC",
    "MAX_GRAPH_DEPTH",
    "MAX_RANK",
    "MIN_CONTAINER_CHARS",
    "MIN_NODE_BYTES",
    "REQUIRED_FLAGS",
    "VALUE_KINDS",
    "JsonPath",
    "PathLike",
    "dump_gsm",
    "load_gsm",
    "pack_gsm",
    "save_gsm",
]
