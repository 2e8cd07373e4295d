"""The program-binary cache: written once, read back by the next session; a corrupt, truncated or
stale entry is rebuilt (never a crash); cold vs warm session creation."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin import program_cache
from gossamer.opencl_plugin.device import open_device
from gossamer.opencl_plugin.kernels import library_source

from .test_kernels import one_node, rand

pytestmark = pytest.mark.usefixtures("device")
SOURCE = "__kernel void twice(__global float* x) { x[get_global_id(0)] *= 2.0f; }\n"


def run_twice(program) -> np.ndarray:
    dev = open_device()
    cl = dev.cl
    host = np.arange(4, dtype=np.float32)
    buf = cl.Buffer(dev.context, cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR, hostbuf=host)
    program.twice(dev.queue, (4,), None, buf)
    cl.enqueue_copy(dev.queue, host, buf)
    return host


def test_a_built_program_is_stored_and_read_back(fresh_cache):
    dev = open_device()
    program_cache.get_program(dev, SOURCE)
    path = program_cache.entry_path(dev, SOURCE)
    assert path.exists() and path.read_bytes().startswith(program_cache.MAGIC)
    program_cache.clear_memory()
    before = program_cache.STATS.disk_hits
    np.testing.assert_array_equal(run_twice(program_cache.get_program(dev, SOURCE)), [0, 2, 4, 6])
    assert program_cache.STATS.disk_hits == before + 1


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"garbage",  # not an entry at all
        lambda data: data[: len(data) // 2],  # truncated: checksum mismatch
        lambda data: data[:-8] + bytes(b ^ 0xFF for b in data[-8:]),  # payload changed later
        lambda data: program_cache.MAGIC + b"\0" * 32,  # empty payload
    ],
)
def test_a_corrupt_entry_is_rebuilt_and_rewritten(fresh_cache, damage):
    dev = open_device()
    program_cache.get_program(dev, SOURCE)
    path = program_cache.entry_path(dev, SOURCE)
    path.write_bytes(damage(path.read_bytes()))
    program_cache.clear_memory()
    rebuilt = program_cache.STATS.rebuilt_corrupt
    np.testing.assert_array_equal(run_twice(program_cache.get_program(dev, SOURCE)), [0, 2, 4, 6])
    assert program_cache.STATS.rebuilt_corrupt == rebuilt + 1
    program_cache.clear_memory()
    program_cache.get_program(dev, SOURCE)  # the rewritten entry is good again
    assert program_cache.STATS.rebuilt_corrupt == rebuilt + 1


def test_a_binary_the_driver_rejects_is_rebuilt(fresh_cache):
    """A well-formed entry whose payload is not a program (a stale entry from another driver)."""
    dev = open_device()
    path = program_cache.entry_path(dev, SOURCE)
    path.parent.mkdir(parents=True)
    payload = b"not an ELF at all" * 10
    import hashlib

    path.write_bytes(program_cache.MAGIC + hashlib.sha256(payload).digest() + payload)
    np.testing.assert_array_equal(run_twice(program_cache.get_program(dev, SOURCE)), [0, 2, 4, 6])


def test_the_key_covers_device_source_and_options():
    dev = open_device()
    key = program_cache.entry_key(dev, SOURCE)
    assert key != program_cache.entry_key(dev, SOURCE + " ")
    assert key != program_cache.entry_key(dev, SOURCE, "-cl-std=CL2.0")


def test_an_unwritable_cache_costs_speed_not_correctness(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(blocker))
    program_cache.clear_memory()
    np.testing.assert_array_equal(
        run_twice(program_cache.get_program(open_device(), SOURCE)), [0, 2, 4, 6]
    )


def test_a_warm_session_builds_nothing(fresh_cache):
    import gossamer

    graph, feeds = one_node("Conv", {"x": rand(1, 3, 8, 8)}, {"w": rand(4, 3, 3, 3)})
    builds = program_cache.STATS.builds
    cold = gossamer.load(graph, backends=["opencl"], optimize=0).run(None, feeds)
    assert program_cache.STATS.builds > builds  # the library, from source
    program_cache.clear_memory()  # as a new process would start: only the disk cache is left
    builds, hits = program_cache.STATS.builds, program_cache.STATS.disk_hits
    warm = gossamer.load(graph, backends=["opencl"], optimize=0).run(None, feeds)
    assert program_cache.STATS.builds == builds
    assert program_cache.STATS.disk_hits > hits
    np.testing.assert_array_equal(cold[0], warm[0])
    assert library_source()  # the package data is installed
