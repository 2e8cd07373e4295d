"""The cython backend as a plugin: registration, SIMD dispatch, availability, explain."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from gossamer.cython_kernels import _native, set_simd_level, simd_level
from gossamer.cython_kernels.backend import CythonBackend

import gossamer
from gossamer.builtin_models import tiny_cnn

from ._helpers import one_node


def test_backend_is_registered_by_entry_point_above_the_reference():
    from gossamer.plugins.manager import all_backends

    backend = all_backends()["cython"]
    assert isinstance(backend, CythonBackend) and backend.priority == 100
    assert backend.is_available() is None


def test_simd_level_names_the_active_path_and_can_be_forced_generic():
    before = simd_level()
    try:
        assert set_simd_level("generic") == "generic"
        e = _native.ext()
        expected = (
            "avx512f" if e.cpu_has_avx512f() else "avx2+fma" if e.cpu_has_avx2_fma() else "generic"
        )
        assert set_simd_level("auto") == expected
    finally:
        set_simd_level(before)


def test_gossamer_simd_env_var_forces_the_generic_kernels_at_import():
    code = "from gossamer.cython_kernels import simd_level; print(simd_level())"
    env = {**os.environ, "GOSSAMER_SIMD": "generic"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "generic", out.stderr


def test_a_missing_extension_makes_the_backend_unavailable_with_the_reason(monkeypatch):
    monkeypatch.setattr(_native, "IMPORT_ERROR", "the compiled extension is missing (test)")
    assert CythonBackend().is_available() == "the compiled extension is missing (test)"


def test_whole_cnn_runs_on_cython_and_matches_the_reference():
    model = tiny_cnn().SerializeToString()
    x = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    ours = gossamer.load(model, backends=["cython"], threads=2)
    ref = gossamer.load(model, backends=[])
    name = ours.get_inputs()[0].name
    np.testing.assert_allclose(ours.run(None, {name: x})[0], ref.run(None, {name: x})[0],
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    assert "cython" in ours.placement.summary()


def test_explain_shows_claimed_nodes_and_reasons_for_declined_ones(tmp_path):
    x = np.ones((2, 3), np.float32)
    path = tmp_path / "m.onnx"
    path.write_bytes(
        one_node(
            "LayerNormalization", {"x": x}, {"scale": np.ones((2, 3), np.float32)}, opset=17, axis=0
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "gossamer.cli", "explain", str(path), "--backends", "cython"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert "not the last axis" in out.stdout, out.stdout + out.stderr
