"""The optimised-level record `optimize` leaves in the metadata (converter/optimizer/record.py):
written for a level's whole pipeline, trusted only while the graph and the optimiser are the ones
it names."""

from __future__ import annotations

import itertools
import json
import os

import pytest
from gossamer.converter.optimizer import optimize, record
from gossamer.refimpl.ir import Graph, Node, Value

from tests.conftest import matmul_relu_graph


@pytest.mark.parametrize("level", [1, 2, 3])
def test_optimize_records_the_level_it_ran(level):
    optimized, _ = optimize(matmul_relu_graph(), level)
    assert record.optimized_level(optimized) == level


def test_an_unoptimised_graph_has_no_level():
    assert record.optimized_level(matmul_relu_graph()) == 0


def test_level_zero_writes_no_record():
    optimized, _ = optimize(matmul_relu_graph(), 0)
    assert record.KEY not in optimized.metadata


def test_a_chosen_list_of_passes_writes_no_record():
    optimized, _ = optimize(matmul_relu_graph(), 3, passes=["dead_node_elimination"])
    assert record.optimized_level(optimized) == 0


def test_a_graph_edited_after_optimisation_is_not_trusted():
    optimized, _ = optimize(matmul_relu_graph(), 3)
    optimized.nodes.append(Node("Relu", ["y"], ["y2"], {}, "extra"))
    assert record.optimized_level(optimized) == 0


def test_an_attribute_edited_after_optimisation_is_not_trusted():
    graph = matmul_relu_graph()
    graph.nodes.append(Node("Softmax", ["y"], ["z"], {"axis": 1}, "sm"))
    graph.outputs = [Value("z", "float32", (2, 3))]
    optimized, _ = optimize(graph, 3)
    assert record.optimized_level(optimized) == 3
    next(n for n in optimized.nodes if n.op_type == "Softmax").attrs["axis"] = 0
    assert record.optimized_level(optimized) == 0


def test_a_record_of_another_optimiser_is_not_trusted(monkeypatch):
    optimized, _ = optimize(matmul_relu_graph(), 3)
    data = json.loads(optimized.metadata[record.KEY])
    data["optimizer"] = "0" * 16
    optimized.metadata[record.KEY] = json.dumps(data)
    assert record.optimized_level(optimized) == 0


def _forged(graph: Graph, **fields: object) -> str:
    data = {"level": 3, "optimizer": record.optimizer_version()}
    data["graph"] = record.graph_fingerprint(graph)
    data.update(fields)
    return json.dumps(data)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[3]",
        "3",
        '{"level": 3}',
        "[" * 5000 + "]" * 5000,
        "FORGED_LEVEL_STR",
        "FORGED_LEVEL_7",
        "FORGED_LEVEL_TRUE",
        "FORGED_LEVEL_FLOAT",
        "FORGED_HUGE",
    ],
)
def test_malformed_or_hostile_records_count_as_not_optimised(text):
    graph = matmul_relu_graph()
    forged = {
        "FORGED_LEVEL_STR": _forged(graph, level="3"),
        "FORGED_LEVEL_7": _forged(graph, level=7),
        "FORGED_LEVEL_TRUE": _forged(graph, level=True),
        "FORGED_LEVEL_FLOAT": _forged(graph, level=3.0),
        "FORGED_HUGE": _forged(graph, padding="x" * 5000),
    }
    graph.metadata[record.KEY] = forged.get(text, text)
    assert record.optimized_level(graph) == 0


def test_a_well_formed_record_of_the_graph_as_it_is_is_trusted():
    graph = matmul_relu_graph()
    graph.metadata[record.KEY] = _forged(graph, level=2)
    assert record.optimized_level(graph) == 2


def test_optimizer_version_is_a_checksum_of_the_sources():
    version = record.optimizer_version()
    assert isinstance(version, str) and len(version) == 16


# ---- the checksum's cache (folder_version) ---------------------------------------------------


_WRITES = itertools.count(1)


def _sources(folder, **files):
    """Writes the files, each with a modification time of its own (a rewrite within one tick of
    a coarse file-system clock would keep the time: the case RACY_SECONDS guards)."""
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
        stamp = 10**18 + next(_WRITES) * 10**9
        os.utime(folder / name, ns=(stamp, stamp))
    return str(folder)


def _cached(monkeypatch, tmp_path):
    """A private cache folder, and files counted as settled however recent."""
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(record, "RACY_SECONDS", 0.0)


def test_the_folder_version_is_the_checksum_of_its_sources(monkeypatch, tmp_path):
    _cached(monkeypatch, tmp_path)
    folder = _sources(tmp_path / "passes", **{"a.py": "x = 1\n", "b.py": "y = 2\n", "c.txt": "-"})
    expected = record.sources_checksum(folder, ["a.py", "b.py"])
    assert record.folder_version(folder) == expected  # computed, then cached
    assert record.folder_version(folder) == expected  # from the cache
    assert record.optimizer_version() == record.sources_checksum(
        os.path.dirname(record.__file__),
        sorted(n for n in os.listdir(os.path.dirname(record.__file__)) if n.endswith(".py")),
    )


def test_an_unchanged_folder_is_not_read_again(monkeypatch, tmp_path):
    _cached(monkeypatch, tmp_path)
    folder = _sources(tmp_path / "passes", **{"a.py": "x = 1\n"})
    first = record.folder_version(folder)

    def unread(*args):
        raise AssertionError("the sources were read again")

    monkeypatch.setattr(record, "sources_checksum", unread)
    assert record.folder_version(folder) == first


def test_an_edited_source_gives_a_new_version_however_its_cache_says(monkeypatch, tmp_path):
    _cached(monkeypatch, tmp_path)
    folder = _sources(tmp_path / "passes", **{"a.py": "x = 1\n"})
    first = record.folder_version(folder)
    _sources(tmp_path / "passes", **{"a.py": "x = 2\n"})  # same size, another content
    assert record.folder_version(folder) == record.sources_checksum(folder, ["a.py"]) != first
    _sources(tmp_path / "passes", **{"new.py": ""})  # a file added
    assert record.folder_version(folder) == record.sources_checksum(folder, ["a.py", "new.py"])


def test_named_files_are_checked_alone_and_cached_apart_from_their_folder(monkeypatch, tmp_path):
    _cached(monkeypatch, tmp_path)
    folder = _sources(tmp_path / "passes", **{"a.py": "x = 1\n", "b.py": "y = 2\n"})
    whole = record.folder_version(folder)
    assert record.folder_version(folder, ["b.py"]) == record.sources_checksum(folder, ["b.py"])
    assert record.folder_version(folder) == whole  # the two entries do not overwrite each other
    _sources(tmp_path / "passes", **{"a.py": "x = 3\n"})  # a file not named changes nothing
    assert record.folder_version(folder, ["b.py"]) == record.sources_checksum(folder, ["b.py"])
    _sources(tmp_path / "passes", **{"b.py": "y = 4\n"})
    assert record.folder_version(folder, ["b.py"]) == record.sources_checksum(folder, ["b.py"])
    assert record.folder_version(folder, ["gone.py"]) is None  # a named file missing: no version


def test_recently_changed_sources_are_not_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(tmp_path / "cache"))
    folder = _sources(tmp_path / "passes", **{"a.py": "x = 1\n"})
    assert record.folder_version(folder) == record.sources_checksum(folder, ["a.py"])
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("text", ["", "garbage", "1-0 zz\n", "1-0 0123456789abcdef extra\n"])
def test_a_malformed_or_foreign_cache_file_is_ignored_and_rewritten(monkeypatch, tmp_path, text):
    _cached(monkeypatch, tmp_path)
    folder = _sources(tmp_path / "passes", **{"a.py": "x = 1\n"})
    expected = record.folder_version(folder)
    (cache,) = (tmp_path / "cache" / "optimizer").iterdir()
    cache.write_text(text)
    assert record.folder_version(folder) == expected
    assert cache.read_text().split()[1] == expected


def test_an_unwritable_cache_still_gives_the_version(monkeypatch, tmp_path):
    monkeypatch.setattr(record, "RACY_SECONDS", 0.0)
    blocker = tmp_path / "file"
    blocker.write_text("")  # the cache folder cannot be made under a file
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(blocker))
    folder = _sources(tmp_path / "passes", **{"a.py": "x = 1\n"})
    assert record.folder_version(folder) == record.sources_checksum(folder, ["a.py"])
