"""blas_threads: which loaded shared objects are taken for BLAS libraries."""

from __future__ import annotations

import io

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
