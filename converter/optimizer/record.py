"""Whether a graph is already optimised: the record `optimize` leaves in the graph's metadata.

    metadata["gossamer.optimized"] = {"level": 3, "optimizer": "...", "graph": "..."} (JSON)

`optimize` writes it whenever it runs a level's whole pipeline, so a `.gsm` written by
`gossamer convert` / `gossamer optimize` carries it (an ordinary metadata entry: older readers
ignore it, older files lack it and are optimised at load as before). `gossamer.load` skips the
optimiser for a graph whose record is valid at >= the requested level. Valid means all of:
- "optimizer" equals this installation's optimiser (a checksum of the optimiser's sources, so
  any change to a pass counts; cached while their stat is unchanged: `folder_version`): a file
  optimised by another version is optimised again;
- "graph" equals the fingerprint of the graph as it is now (every node's op, domain, inputs,
  outputs and attribute names, the initializer names, in order): a graph edited after it was
  optimised (by hand, by another tool, by the quantiser) is optimised again;
- the entry is small, well-formed JSON with an integer level in 1..3;
- "weights" is "expanded" exactly where the caller asks about the graph its stored weights
  expand to: `gossamer convert` / `optimize` save a model that stores its weights as int8 codes
  optimised as the load runs it, its new weights compacted again (weight_compaction.py), and
  such a record says that graph is optimised once expanded (and not as it is).
Anything else counts as "not optimised". Skipping the optimiser never skips validation (the
session validates every graph it is given) and never changes results: an optimised graph computes
what the original computes, and the optimiser is run at load only to be faster.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from functools import lru_cache
from typing import Any

from ...refimpl.ir import Graph

KEY = "gossamer.optimized"
_MAX_LEVEL = 3
_MAX_TEXT = 1024  # a record is ~100 characters; anything much longer is not one of ours


# source files changed this recently (seconds) may change again within the file system's clock
# step without a new timestamp: their checksum is not cached
RACY_SECONDS = 3.0


@lru_cache(maxsize=1)
def optimizer_version() -> str | None:
    """This installation's optimiser: a checksum of the optimiser's source files (None where
    they cannot be read: then no record is trusted)."""
    return folder_version(os.path.dirname(os.path.abspath(__file__)))


def folder_version(folder: str, names: list[str] | None = None) -> str | None:
    """The checksum of the `.py` files of `folder` (or of exactly the files `names`, in that
    order: names and contents), read from a small cache file while their stat (size,
    modification and change times, inode) is the one it was computed for: the stat costs ~0.15
    ms, reading the sources ~0.45 (every process that loads an optimised .gsm pays one of them).
    The checksum itself is of the contents, so a file optimised elsewhere with the same sources is
    trusted; the cache lives in `$GOSSAMER_CACHE_DIR/optimizer` (else ~/.cache/gossamer/optimizer),
    one line per folder (and list of names); unreadable, unwritable or malformed, it is ignored."""
    try:
        if names is None:
            with os.scandir(folder) as found:
                stats = sorted((e.name, e.stat()) for e in found if e.name.endswith(".py"))
        else:
            stats = [(n, os.stat(os.path.join(folder, n))) for n in names]
    except OSError:
        return None
    # the stamp: the names' crc32 and the hash of the stats' integers (an int tuple's hash is
    # the same in every process, unlike a str's; formatting them as text cost ~0.05 ms)
    ints = tuple([v for _, s in stats for v in (s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino)])
    names_crc = zlib.crc32("/".join([n for n, _ in stats]).encode())
    stamp = f"{len(stats)}-{names_crc:08x}{hash(ints) & 0xFFFFFFFFFFFFFFFF:016x}"
    cache = _cache_file(folder if names is None else f"{folder}:{'|'.join(names)}")
    cached = _read_cache(cache, stamp)
    if cached is not None:
        return cached
    version = sources_checksum(folder, [n for n, _ in stats])
    newest = max((max(s.st_mtime_ns, s.st_ctime_ns) for _, s in stats), default=0)
    if version is not None and newest < time.time_ns() - int(RACY_SECONDS * 1e9):
        _write_cache(cache, f"{stamp} {version}\n")
    return version


def sources_checksum(folder: str, names: list[str]) -> str | None:
    """crc32 + adler32 of each named file's name and bytes, in order (None if one is unreadable
    or there are none)."""
    crc, adler = 0, 1
    # plain os calls, not file objects (28 files: ~0.4 ms; open() ~0.55, Path ~0.7)
    try:
        for name in names:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                chunks = [name.encode(), b"\0"]
                while chunk := os.read(fd, 1 << 20):
                    chunks.append(chunk)
            finally:
                os.close(fd)
            data = b"".join(chunks)
            crc, adler = zlib.crc32(data, crc), zlib.adler32(data, adler)
    except OSError:
        return None
    if crc == 0:  # no source files (a frozen install)
        return None
    return f"{crc:08x}{adler:08x}"


def _cache_file(folder: str) -> str:
    base = os.environ.get("GOSSAMER_CACHE_DIR", "").strip()
    root = base or os.path.join(os.path.expanduser("~"), ".cache", "gossamer")
    return os.path.join(root, "optimizer", f"version-{zlib.crc32(folder.encode()):08x}.txt")


def _read_cache(path: str, stamp: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            text = os.read(fd, 256).decode("ascii")
        finally:
            os.close(fd)
    except (OSError, UnicodeDecodeError):
        return None
    parts = text.split()
    if len(parts) != 2 or parts[0] != stamp or len(parts[1]) != 16:
        return None
    try:
        int(parts[1], 16)
    except ValueError:
        return None
    return parts[1]


def _write_cache(path: str, line: str) -> None:
    """Atomic; a failure (a read-only home) leaves the checksum computed each time."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="ascii") as out:
            out.write(line)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _attr_text(value: Any) -> str:
    if isinstance(value, (int, float, str, bytes)):
        return repr(value)
    if isinstance(value, (list, tuple)) and len(value) <= 64:
        if all(isinstance(v, (int, float, str, bytes)) for v in value):
            return repr(list(value))
    return type(value).__name__  # an array or a subgraph: its kind only (cheap)


def graph_fingerprint(graph: Graph) -> str:
    """A checksum of the graph's structure: nodes (op, domain, inputs, outputs, attributes:
    scalars and short lists by value, arrays and subgraphs by kind) and initializer names, in
    order."""
    parts = [
        f"{n.domain}::{n.op_type}({','.join(n.inputs)})->{','.join(n.outputs)}"
        f"[{','.join(f'{k}={_attr_text(n.attrs[k])}' for k in sorted(n.attrs))}]"
        for n in graph.nodes
    ]
    parts.append("|".join(graph.initializers))
    parts.append(
        "|".join(v.name for v in graph.inputs) + ">" + "|".join(v.name for v in graph.outputs)
    )
    data = "\n".join(parts).encode()
    return f"{len(graph.nodes)}:{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def record(graph: Graph, level: int, expanded: bool = False) -> str:
    """The metadata value saying `graph` (as it is now) was optimised at `level`; `expanded`:
    optimised once its stored weights are expanded (weight_compaction.py), not as it is."""
    data = {"level": level, "optimizer": optimizer_version(), "graph": graph_fingerprint(graph)}
    if expanded:
        data["weights"] = EXPANDED
    return json.dumps(data, sort_keys=True)


EXPANDED = "expanded"  # a record's "weights": the graph is optimised once they are expanded


def optimized_level(graph: Graph, expanded: bool = False) -> int:
    """The level `graph` is known to be optimised at by this optimiser (0: not known to be);
    `expanded`: the level of the graph its stored weights expand to (weight_expansion.py), which a
    record made by weight_compaction.py says, and only such a record."""
    text = graph.metadata.get(KEY)
    version = optimizer_version()
    if not isinstance(text, str) or len(text) > _MAX_TEXT or version is None:
        return 0
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return 0
    if not isinstance(data, dict):
        return 0
    level = data.get("level")
    if type(level) is not int or not 1 <= level <= _MAX_LEVEL:
        return 0
    if data.get("optimizer") != version or data.get("graph") != graph_fingerprint(graph):
        return 0
    if (data.get("weights") == EXPANDED) != expanded:
        return 0
    return level
