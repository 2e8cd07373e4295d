"""blas_threads: which loaded shared objects are taken for BLAS libraries."""

from __future__ import annotations

import io

import pytest
from gossamer.refimpl import blas_threads

MAPS = b"""\
55d0c000-55d0d000 r--p 00000000 08:01 1 /usr/bin/python3.11
7f00a000-7f00b000 r-xp 00000000 08:01 2 /site/numpy.libs/libscipy_openblas64_-32a4.so
7f00b000-7f00c000 r--p 00001000 08:01 2 /site/numpy.libs/libscipy_openblas64_-32a4.so
7f00c000-7f00d000 r-xp 00000000 08:01 3 /opt/intel/lib/libMKL_rt.so.2
7f00d000-7f00e000 r-xp 00000000 08:01 4 /data/blas_notes.txt
7f00e000-7f00f000 rw-p 00000000 00:00 0 [anon:libblas.so]
7f00f000-7f010000 rw-p 00000000 00:00 0
7f010000-7f011000 r-xp 00000000 08:01 5 /usr/lib/libopenblas.so.0"""


def test_the_blas_and_mkl_shared_objects_are_found_once_each(monkeypatch):
    monkeypatch.setattr(blas_threads, "open", lambda *a, **k: io.BytesIO(MAPS), raising=False)
    assert blas_threads._loaded_libraries() == [
        "/opt/intel/lib/libMKL_rt.so.2",
        "/site/numpy.libs/libscipy_openblas64_-32a4.so",
        "/usr/lib/libopenblas.so.0",
    ]


def test_no_maps_file_means_no_libraries(monkeypatch):
    def missing(*args, **kwargs):
        raise FileNotFoundError("/proc/self/maps")

    monkeypatch.setattr(blas_threads, "open", missing, raising=False)
    assert blas_threads._loaded_libraries() == []


def test_the_bundled_blas_is_looked_for_beside_the_numpy_package(tmp_path):
    (tmp_path / "numpy").mkdir()
    libs = tmp_path / "numpy.libs"
    libs.mkdir()
    for name in ("libscipy_openblas64_-32a4.so", "libgfortran-040039e1.so.5.0.0", "blas.txt"):
        (libs / name).write_bytes(b"")
    found = blas_threads._bundled_libraries(str(tmp_path / "numpy" / "__init__.py"))
    assert found == [str(libs / "libscipy_openblas64_-32a4.so")]
    assert blas_threads._bundled_libraries(str(tmp_path / "a" / "numpy" / "__init__.py")) == []
    assert blas_threads._bundled_libraries(None) == []  # a numpy without a file: no guess


def test_the_bundled_path_opens_no_library_that_is_not_loaded(tmp_path):
    """RTLD_NOLOAD: a shared object not in the process is skipped, and stays out of it."""
    import _ctypes
    import os
    import shutil

    if not hasattr(os, "RTLD_NOLOAD") or not _ctypes.__file__.endswith(".so"):
        pytest.skip("no RTLD_NOLOAD, or _ctypes is not a shared object")
    fake = tmp_path / "libnotloadedblas.so"  # a copy: another file, so not loaded
    shutil.copy(_ctypes.__file__, fake)
    assert blas_threads._usable([str(fake)], os.RTLD_NOLOAD | os.RTLD_NOW) == ()
    with open("/proc/self/maps", "rb") as maps:
        assert str(fake).encode() not in maps.read()


def test_the_bundled_blas_is_the_one_the_maps_scan_finds():
    """Where numpy's wheel bundles its BLAS, the quick path takes what scanning the loaded shared
    objects takes (numpy's BLAS is the only one in this process)."""
    import ctypes
    import os

    import numpy

    if not blas_threads._bundled_libraries(numpy.__file__) or not os.path.exists("/proc/self/maps"):
        pytest.skip("numpy without a bundled BLAS, or no /proc/self/maps")
    scanned = blas_threads._usable(blas_threads._loaded_libraries(), ctypes.DEFAULT_MODE)
    assert [_address(b) for b in blas_threads.loaded_blas()] == [_address(b) for b in scanned]
    assert scanned


def _address(blas) -> tuple[int | None, int | None]:
    """Where a _Blas's getter and setter are in memory (the same functions, however found)."""
    import ctypes

    return (
        ctypes.cast(blas.get, ctypes.c_void_p).value,
        ctypes.cast(blas.set, ctypes.c_void_p).value,
    )


def test_numpys_extension_finds_the_bundled_blas_through_its_handle():
    """dlsym on numpy's extension's handle reaches the BLAS it links: the same functions as
    opening the bundled library itself; without the extension loaded nothing is looked up."""
    import os

    import numpy

    bundled = blas_threads._bundled_libraries(numpy.__file__)
    if not bundled or not hasattr(os, "RTLD_NOLOAD"):
        pytest.skip("numpy without a bundled BLAS, or no RTLD_NOLOAD")
    mode = os.RTLD_NOLOAD | os.RTLD_NOW
    via_extension = blas_threads._usable(blas_threads._numpy_extension(), mode)
    assert via_extension
    assert [_address(b) for b in via_extension] == [
        _address(b) for b in blas_threads._usable(bundled, mode)
    ]
    assert via_extension[0].get() >= 1


def test_no_numpy_extension_module_means_no_path(monkeypatch):
    import sys

    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert blas_threads._numpy_extension() == []
