"""The installed plugins' entry points, without scanning every distribution on each start.

`importlib.metadata.entry_points(group=...)` imports `importlib.metadata` (email, csv, zipfile:
about 20 ms) and reads the metadata of every installed distribution. Its answer for our group is
kept in a small JSON file, together with a fingerprint of what it was computed from: every
`sys.path` entry that is not a folder (a zip: its own stat covers its contents) or is a folder
holding metadata and, in each such folder, the names of the `*.dist-info` / `*.egg-info` /
`EGG-INFO` metadata folders with the stat (modification time, size, inode) of their
`entry_points.txt`. Installing or removing a distribution adds or removes a name; a reinstall or
an edit changes the stat; so the fingerprint changes and the next start scans again: a stale list
is never used. Other files coming and going (the current folder is on sys.path for `python -c`)
do not matter, nor does a folder holding no metadata at all (a folder that gains some adds its
rows): scripts started from different folders (sys.path[0]) share one fingerprint, where each
folder would otherwise make its own and evict the others' from the cache (a test run starting
scripts from many temporary folders did). The fingerprint costs a directory listing per path
entry and a `stat` per distribution (about 1 ms).

A file changed within the last few seconds of the scan is not trusted to show a later change in
its timestamp (a coarse file-system clock), so no cache is written then. `GOSSAMER_PLUGIN_CACHE=0`
turns the cache off; it lives in `$GOSSAMER_CACHE_DIR/plugins` (else ~/.cache/gossamer/plugins),
one file per Python environment; an unreadable or malformed file is ignored and rewritten.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any

log = logging.getLogger("gossamer.plugins")

FORMAT = 2
MAX_ENTRIES = 8  # fingerprints kept: one per sys.path (script folder) seen lately
# files modified this recently (seconds) when scanned make the scan racy: not cached
RACY_SECONDS = 3.0
_METADATA_SUFFIXES = (".dist-info", ".egg-info", "EGG-INFO")


class PluginEntryPoint:
    """One entry point: `name = module[:attr]` in a group, loaded by importing the module."""

    def __init__(self, name: str, value: str, group: str) -> None:
        self.name = name
        self.value = value
        self.group = group

    def load(self) -> Any:
        """The module (or the attribute `module:attr.sub` names), as EntryPoint.load does."""
        module_name, _, attrs = self.value.partition(":")
        found: Any = importlib.import_module(module_name.strip())
        for attr in filter(None, attrs.split("[")[0].strip().split(".")):
            found = getattr(found, attr)
        return found

    def __repr__(self) -> str:
        return f"PluginEntryPoint({self.name!r}, {self.value!r}, {self.group!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PluginEntryPoint) and (
            (self.name, self.value, self.group) == (other.name, other.value, other.group)
        )

    def __hash__(self) -> int:
        return hash((self.name, self.value, self.group))


def cache_path() -> Path:
    """This Python environment's cache file (environments differ by sys.prefix)."""
    base = os.environ.get("GOSSAMER_CACHE_DIR", "").strip()
    root = (Path(base) if base else Path.home() / ".cache" / "gossamer") / "plugins"
    tag = zlib.crc32(f"{sys.prefix}|{sys.executable}|{sys.version}".encode())
    return root / f"entry-points-{tag:08x}.json"


def fingerprint() -> list[list[Any]] | None:
    """What the installed distributions' entry points depend on, as JSON-able rows; None where it
    cannot be told (a distribution finder other than the standard path finder is installed)."""
    import importlib.machinery

    finders = [f for f in sys.meta_path if hasattr(f, "find_distributions")]
    if any(f is not importlib.machinery.PathFinder for f in finders):
        return None
    rows: list[list[Any]] = []
    for entry in sys.path:
        folder = entry or os.getcwd()
        if not os.path.isdir(folder):  # a zip (its own stat covers its contents), or nothing
            rows.append([entry, *_stat_row(folder)])
            continue
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return None
        found = [name for name in names if name.endswith(_METADATA_SUFFIXES)]
        if not found:  # no distribution here (a script's folder): where it is does not matter
            continue
        rows.append([entry, "dir"])  # what it holds besides metadata does not matter
        for name in found:
            rows.append([name, *_stat_row(os.path.join(folder, name, "entry_points.txt"))])
    return rows


def _stat_row(path: str) -> list[Any]:
    try:
        st = os.stat(path)
    except OSError:
        return [None]
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _newest_ns(rows: list[list[Any]]) -> int:
    return max((r[1] for r in rows if len(r) > 1 and isinstance(r[1], int)), default=0)


def entry_points(group: str) -> list[PluginEntryPoint]:
    """The entry points of `group` in the installed distributions (cached, see the module doc)."""
    use_cache = os.environ.get("GOSSAMER_PLUGIN_CACHE", "1").strip() != "0"
    print_ = fingerprint() if use_cache else None
    if print_ is not None:
        cached = _read(cache_path(), group, print_)
        if cached is not None:
            return cached
    found = _scan(group)
    if print_ is not None and _newest_ns(print_) < time.time_ns() - int(RACY_SECONDS * 1e9):
        _write(cache_path(), group, print_, found)
    return found


def _scan(group: str) -> list[PluginEntryPoint]:
    from importlib.metadata import entry_points as metadata_entry_points

    return [PluginEntryPoint(ep.name, ep.value, group) for ep in metadata_entry_points(group=group)]


def _entries(path: Path) -> list[dict[str, Any]]:
    """The cache file's entries (fingerprint + groups), most recent first; [] if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return []
    entries = data.get("entries")
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("groups"), dict)]


def _read(path: Path, group: str, print_: list[list[Any]]) -> list[PluginEntryPoint] | None:
    for entry in _entries(path):
        if entry.get("fingerprint") != print_:
            continue
        rows = entry["groups"].get(group)
        if not isinstance(rows, list) or not all(
            isinstance(r, list) and len(r) == 2 and all(isinstance(x, str) for x in r) for r in rows
        ):
            return None
        return [PluginEntryPoint(name, value, group) for name, value in rows]
    return None


def _write(path: Path, group: str, print_: list[list[Any]], found: list[PluginEntryPoint]) -> None:
    """Adds `group` under this fingerprint (its other groups kept) as the most recent of at most
    MAX_ENTRIES fingerprints (one per sys.path seen lately: scripts in different folders);
    atomic."""
    entries = _entries(path)
    same = next((e for e in entries if e.get("fingerprint") == print_), None)
    groups: dict[str, Any] = same["groups"] if same is not None else {}
    groups[group] = [[ep.name, ep.value] for ep in found]
    rest = [e for e in entries if e is not same]
    data = {
        "format": FORMAT,
        "entries": [{"fingerprint": print_, "groups": groups}, *rest][:MAX_ENTRIES],
    }
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:  # a read-only home: scanning each time is still correct
        log.debug("plugin entry-point cache not written: %s", err)
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
