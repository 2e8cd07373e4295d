"""Which OpenCL device the backend runs on, and why there is none.

A session's `device` option (`backend_options={"opencl": {"device": ...}}`), else
`GOSSAMER_OPENCL_DEVICE`, chooses: `P:D` (platform index, device index) or a case-insensitive
substring of "platform name / device name"; neither: the first device of the first platform that
has one. Platforms of runtimes installed by pip (runtimes.py: Intel's CPU runtime) are listed
after the system's, so they never become the default where a system runtime exists. One context
and in-order queue per device per process, created on first use (sessions on one device share
them).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from typing import Any

ENV_DEVICE = "GOSSAMER_OPENCL_DEVICE"


class NoDeviceError(RuntimeError):
    """No usable OpenCL device (the message says why)."""


@dataclass
class Device:
    """A chosen device with its context and queue, and the identity that keys every cache."""

    cl: Any  # the pyopencl module
    device: Any
    context: Any
    queue: Any
    platform_name: str
    device_name: str
    driver_version: str
    host_unified_memory: bool
    is_cpu: bool = False
    has_fp16: bool = False  # cl_khr_fp16: half arithmetic in kernels

    @property
    def zero_copy(self) -> bool:
        """Whether buffers may be read and written through their host memory between commands:
        a CPU device runs kernels on that very memory (USE_HOST_PTR), so no copy commands."""
        return self.is_cpu and self.host_unified_memory

    @property
    def identity(self) -> str:
        return f"{self.platform_name} | {self.device_name} | {self.driver_version}"


_LOCK = threading.Lock()
_DEVICES: dict[str, Device] = {}


def unavailable_reason(choice: str | None = None) -> str | None:
    """None if a device can be opened here, else why not (pyopencl missing, no ICD, no platform,
    no device, or the chosen device does not exist)."""
    if importlib.util.find_spec("pyopencl") is None:
        return "pyopencl is not installed (pip install 'gossamer[opencl]')"
    try:
        _find(choice)
    except NoDeviceError as err:
        return str(err)
    return None


def open_device(choice: str | None = None) -> Device:
    """The device `choice` (default: GOSSAMER_OPENCL_DEVICE) names, opened once per process."""
    with _LOCK:
        cl, dev = _find(choice)
        key = str(dev.int_ptr)  # one context per physical device, however it was named
        found = _DEVICES.get(key)
        if found is None:
            ctx = cl.Context([dev])
            found = Device(
                cl=cl,
                device=dev,
                context=ctx,
                queue=cl.CommandQueue(ctx),
                platform_name=dev.platform.name.strip(),
                device_name=dev.name.strip(),
                driver_version=dev.driver_version.strip(),
                host_unified_memory=bool(dev.host_unified_memory),
                is_cpu=bool(dev.type & cl.device_type.CPU),
                has_fp16="cl_khr_fp16" in dev.extensions.split(),
            )
            _DEVICES[key] = found
        return found


def _choice(choice: str | None) -> str:
    return (choice if choice is not None else os.environ.get(ENV_DEVICE, "")).strip()


_FOUND: dict[str, tuple[Any, Any]] = {}  # choice -> (pyopencl, device): enumerate once


def _find(choice: str | None) -> tuple[Any, Any]:
    key = _choice(choice)
    found = _FOUND.get(key)
    if found is None:
        found = _FOUND[key] = _enumerate(key)
    return found


def _enumerate(key: str) -> tuple[Any, Any]:
    cl, devices = _devices()
    if not key:
        return cl, devices[0][3]
    listing = "; ".join(f"{p}:{d} {label}" for p, d, label, _ in devices)
    if ":" in key and all(part.strip().isdigit() for part in key.split(":", 1)):
        p, d = (int(part) for part in key.split(":", 1))
        for dp, dd, _, dev in devices:
            if (dp, dd) == (p, d):
                return cl, dev
        raise NoDeviceError(f"OpenCL device {key!r}: no such device; devices: {listing}{_broken()}")
    for _, _, label, dev in devices:
        if key.lower() in label.lower():
            return cl, dev
    raise NoDeviceError(f"OpenCL device {key!r} matches no device; devices: {listing}{_broken()}")


def _broken() -> str:
    from . import runtimes

    return "".join(f"; {p}" for p in runtimes.problems())


def _devices() -> tuple[Any, list[tuple[int, int, str, Any]]]:
    """pyopencl and every device: (platform index, device index, "platform / device", device)."""
    from . import runtimes

    runtimes.prepare()  # before the first platform query: pip-installed runtimes listed
    broken = _broken()
    import pyopencl as cl

    try:
        platforms = cl.get_platforms()
    except cl.Error as err:  # ocl-icd says PLATFORM_NOT_FOUND_KHR when no ICD is installed
        raise NoDeviceError(
            "no OpenCL platform (no ICD installed? e.g. apt-get install pocl-opencl-icd): "
            f"{err}{broken}"
        ) from None
    if not platforms:
        raise NoDeviceError(f"no OpenCL platform (no ICD installed?){broken}")
    added = runtimes.added_platforms()  # a pip-installed runtime comes after the system's
    platforms = sorted(platforms, key=lambda p: p.name.strip() in added)
    devices = []
    for p_index, platform in enumerate(platforms):
        try:
            found = platform.get_devices()
        except cl.Error:
            found = []
        for d_index, dev in enumerate(found):
            label = f"{platform.name.strip()} / {dev.name.strip()}"
            devices.append((p_index, d_index, label, dev))
    if not devices:
        raise NoDeviceError(f"no OpenCL device on {len(platforms)} platform(s){broken}")
    return cl, devices
