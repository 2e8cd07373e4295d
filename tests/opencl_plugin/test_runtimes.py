"""Pip-installed OpenCL runtimes (runtimes.py): found in the environment, listed for the ICD loader
beside the system's, nothing changed when none is installed, a specific reason when one is
half-installed. Fake library files stand in for the runtime (no device needed); the test with the
real Intel runtime runs where it is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from gossamer.opencl_plugin import runtimes

NEEDS = runtimes.INTEL_CPU.needs


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake environment prefix (nothing of the real one is searched), a system vendors folder
    with one ICD, a cache; the module's once-per-process state reset."""
    prefix = tmp_path / "prefix"
    (prefix / "lib").mkdir(parents=True)
    vendors = tmp_path / "vendors"
    vendors.mkdir()
    (vendors / "pocl.icd").write_text("libpocl.so.2\n")
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setattr(runtimes, "SYSTEM_VENDORS", str(vendors))
    monkeypatch.setenv("OCL_ICD_VENDORS", "")  # so that monkeypatch undoes what prepare() sets
    monkeypatch.delenv("OCL_ICD_VENDORS")
    monkeypatch.delenv(runtimes.ENV_PATH, raising=False)
    monkeypatch.delenv(runtimes.ENV_SWITCH, raising=False)
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(runtimes, "_PREPARED", None)
    return prefix / "lib"


def install(lib: Path, names: tuple[str, ...] = ("libintelocl.so", *NEEDS)) -> None:
    for name in names:
        (lib / name).write_bytes(b"not a library")


def test_nothing_changes_when_no_runtime_is_installed(env):
    assert runtimes.prepare() == []
    assert "OCL_ICD_VENDORS" not in os.environ
    assert runtimes.problems() == [] and runtimes.added_platforms() == set()


def test_a_complete_runtime_is_listed_beside_the_system_icds(env):
    install(env)
    (found,) = runtimes.prepare()
    assert found.problem is None and found.library == env / "libintelocl.so"
    folder = Path(os.environ["OCL_ICD_VENDORS"])
    listed = {p.name: p.read_text() for p in folder.iterdir()}
    assert listed == {
        "pocl.icd": "libpocl.so.2\n",
        "gossamer-intel-cpu.icd": f"{env / 'libintelocl.so'}\n",
    }
    assert runtimes.added_platforms() == {"Intel(R) OpenCL"}


def test_a_half_installed_runtime_says_what_is_missing_and_is_not_listed(env):
    install(env, ("libintelocl.so", "libtbb.so.12"))
    (found,) = runtimes.prepare()
    assert found.missing == ("libimf.so", "libsvml.so", "libirng.so", "libintlc.so.5")
    (problem,) = runtimes.problems()
    assert "missing libimf.so, libsvml.so, libirng.so, libintlc.so.5" in problem
    assert "gossamer[opencl-intel]" in problem
    assert "OCL_ICD_VENDORS" not in os.environ


def test_libraries_in_other_search_folders_count(env, tmp_path, monkeypatch):
    """An unpacked layout (each wheel's lib folder apart): the runtime is complete; its
    dependencies are preloaded (here they are not loadable, which is not an error here: the
    ICD loader then skips the platform and device.py reports no such device)."""
    install(env, ("libintelocl.so",))
    other = tmp_path / "deps"
    other.mkdir()
    install(other, NEEDS)
    monkeypatch.setenv(runtimes.ENV_PATH, str(other))
    (found,) = runtimes.prepare()
    assert found.problem is None and found.found["libtbb.so.12"] == other / "libtbb.so.12"
    assert "OCL_ICD_VENDORS" in os.environ


def test_a_runtime_the_base_folder_lists_is_not_listed_twice(env, tmp_path, monkeypatch):
    install(env)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "intel.icd").write_text("/opt/intel/lib/libintelocl.so\n")
    monkeypatch.setenv("OCL_ICD_VENDORS", str(mine))
    runtimes.prepare()
    folder = Path(os.environ["OCL_ICD_VENDORS"])
    assert [p.name for p in folder.iterdir()] == ["intel.icd"]


def test_the_switch_turns_it_off(env, monkeypatch):
    install(env)
    monkeypatch.setenv(runtimes.ENV_SWITCH, "0")
    assert runtimes.prepare() == []
    assert "OCL_ICD_VENDORS" not in os.environ


def test_an_unwritable_cache_falls_back_to_the_temporary_folder(env, tmp_path, monkeypatch):
    install(env)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(blocked))
    runtimes.prepare()
    assert Path(os.environ["OCL_ICD_VENDORS"]).is_dir()


def test_the_installed_intel_runtime_lists_after_the_system_platforms():
    """Where the Intel runtime is installed (sys.prefix/lib or GOSSAMER_OPENCL_RUNTIME_PATH),
    a fresh process lists its device after the system's, so the default device is unchanged."""
    complete = [r for r in runtimes.find() if r.problem is None]
    if not complete:
        pytest.skip("the Intel OpenCL CPU runtime is not installed (gossamer[opencl-intel])")
    code = (
        "from gossamer.opencl_plugin.device import _devices\n"
        "print([label for _, _, label, _ in _devices()[1]])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    labels = eval(out)  # a printed list of strings
    intel = [i for i, label in enumerate(labels) if label.startswith("Intel(R) OpenCL")]
    assert intel, labels
    assert all(not label.startswith("Intel(R) OpenCL") for label in labels[: intel[0]])
    assert intel[0] == len(labels) - len(intel)  # after every system platform


@pytest.mark.usefixtures("device")
def test_a_missing_device_reason_names_the_half_installed_runtime(env):
    """is_available()'s reason (device.unavailable_reason) for a device that is not there says
    what the half-installed runtime lacks and how to install it."""
    from gossamer.opencl_plugin import device as device_mod

    install(env, ("libintelocl.so",))
    device_mod._FOUND.pop("Intel(R) OpenCL / nowhere", None)
    reason = device_mod.unavailable_reason("Intel(R) OpenCL / nowhere")
    assert reason is not None and "matches no device" in reason
    assert "missing libtbb.so.12, libimf.so" in reason and "gossamer[opencl-intel]" in reason
