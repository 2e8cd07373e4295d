"""Device choice (GOSSAMER_OPENCL_DEVICE), and what happens where there is no usable device."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from gossamer.opencl_plugin import device as device_mod
from gossamer.plugins.manager import BackendSelectionError
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer


def relu_graph() -> Graph:
    return Graph(
        nodes=[Node("Relu", ["x"], ["y"], name="relu")],
        inputs=[Value("x", "float32", (2, 3))],
        outputs=[Value("y")],
        opsets={"": 17},
    )


def test_without_pyopencl_the_backend_says_so(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyopencl" else real(name)
    )
    assert "pyopencl is not installed" in device_mod.unavailable_reason()


def test_without_an_icd_the_backend_says_so():
    """The ICD loader finds no vendor file: no platform (in a subprocess, as the loader reads its
    vendors once per process)."""
    import os
    import subprocess
    import sys

    pytest.importorskip("pyopencl")
    code = (
        "from gossamer.opencl_plugin.device import unavailable_reason; print(unavailable_reason())"
    )
    # and no pip-installed runtime listed beside it (runtimes.py; test_runtimes.py)
    env = {
        **os.environ,
        "OCL_ICD_VENDORS": "/nonexistent-icd-folder",
        "GOSSAMER_OPENCL_PIP_RUNTIMES": "0",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.startswith("no OpenCL platform (no ICD installed?"), out.stderr


NO_DEVICE = "no OpenCL device on 1 platform(s)"


@pytest.fixture
def no_device(monkeypatch):
    """The backend finds no device (whatever this machine has)."""
    from gossamer.opencl_plugin import backend

    monkeypatch.delenv("GOSSAMER_OPENCL_DEVICE", raising=False)  # the reason unprefixed
    monkeypatch.setattr(backend, "unavailable_reason", lambda choice=None: NO_DEVICE)


def test_an_unavailable_backend_takes_no_part_and_the_session_falls_back(monkeypatch, no_device):
    from gossamer.plugins.manager import all_backends, availability

    monkeypatch.delenv("GOSSAMER_BACKENDS")
    assert availability(all_backends()["opencl"]) == NO_DEVICE
    sess = gossamer.load(relu_graph(), backends=None, optimize=0)
    assert "opencl" not in sess.placement.backend_of.values()
    x = np.array([[-1, 2, -3], [4, -5, 6]], np.float32)
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], np.maximum(x, 0))


def test_naming_an_unavailable_backend_is_an_error_that_says_why(no_device):
    with pytest.raises(BackendSelectionError, match="unavailable: no OpenCL device on 1 platform"):
        gossamer.load(relu_graph(), backends=["opencl"], optimize=0)


def test_a_device_name_that_matches_nothing_lists_the_devices(device):
    reason = device_mod.unavailable_reason("no such device anywhere")
    assert reason is not None and "matches no device; devices: 0:0" in reason


def test_the_backend_runs_only_when_named(device, monkeypatch):
    monkeypatch.delenv("GOSSAMER_BACKENDS")
    sess = gossamer.load(relu_graph(), backends=None, optimize=0)
    assert "opencl" not in sess.placement.backend_of.values()
    assert sess.placement.excluded["opencl"] == "not selected (runs only when named)"


@pytest.mark.parametrize("choice", ["0:0", "pthread", ""])
def test_a_device_is_chosen_by_index_or_name(device, choice):
    assert device_mod.unavailable_reason(choice) is None
    dev = device_mod.open_device(choice)
    assert dev.device_name


def test_a_device_index_out_of_range_lists_the_devices(device):
    reason = device_mod.unavailable_reason("7:3")
    assert reason is not None and "no such device; devices: 0:0" in reason


def test_the_device_choice_reaches_the_session(device, monkeypatch):
    monkeypatch.setenv("GOSSAMER_OPENCL_DEVICE", "0:0")
    sess = gossamer.load(relu_graph(), backends=["opencl"], optimize=0)
    assert sess.placement.backend_of == {"relu": "opencl"}
