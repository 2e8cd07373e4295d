"""Which pair step the bf16 kernels use (src/bf16.h): GOSSAMER_BF16 "auto" (the default: vdpbf16ps
where the CPU has AVX512_BF16, else none), "native" (the same), "emulate" (the bit-exact emulation:
a testing aid, slower than float32, that runs on any CPU) or "off"."""

from __future__ import annotations

import os

ENV_BF16 = "GOSSAMER_BF16"
MODES = ("auto", "native", "emulate", "off")
NO_AVX512_BF16 = (
    "this CPU has no AVX512_BF16 (vdpbf16ps); GOSSAMER_BF16=emulate runs its bit-exact "
    "emulation instead (a testing aid, slower than float32)"
)


def bf16_mode() -> str:
    """GOSSAMER_BF16 as given ("auto" when unset)."""
    return os.environ.get(ENV_BF16, "").strip().lower() or "auto"


def bf16_unavailable() -> str | None:
    """Why the bf16 kernels cannot run here (None: they can). Cheap; selects nothing."""
    from ._native import IMPORT_ERROR, ext

    if IMPORT_ERROR:
        return IMPORT_ERROR
    mode = bf16_mode()
    if mode not in MODES:
        return f"{ENV_BF16}={mode!r}: use one of {', '.join(MODES)}"
    if mode == "off":
        return f"turned off by {ENV_BF16}=off"
    if mode != "emulate" and not ext().bf16_cpu_native():
        return NO_AVX512_BF16
    return None


def select_bf16_impl() -> str:
    """Sets the kernels' pair step as GOSSAMER_BF16 says and returns it: "native", "emulated",
    or "none" where bf16_unavailable() gives a reason (the kernels then refuse to run)."""
    from ._native import ext

    if bf16_unavailable() is not None:
        return str(ext().bf16_set_impl("none"))
    return str(ext().bf16_set_impl("emulated" if bf16_mode() == "emulate" else "native"))
