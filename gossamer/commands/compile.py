"""`gossamer compile MODEL --backends NAME -o OUT`: the whole model as the file the named backend's
target runs (for ethos-u: the Vela-compiled .tflite an Ethos-U board runs with TFLite Micro).

Generic: any backend that offers `deploy(graph, path, options) -> str` (docs/writing-an-npu-
delegate.md) can be named; the CLI knows no backend. The graph is the one a session would give
the backend: read, then optimised at -O (default 3, the level sessions use).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..refimpl.errors import InputError
from ..session import DEFAULT_OPTIMIZE, read_model
from .model_io import check_output_path

# option -> the backend option it sets (each deploying backend says which ones it reads)
TARGET_OPTIONS = {
    "accelerator": "the accelerator configuration (ethos-u: ethos-u55-128 default, "
    "ethos-u55-256, ethos-u65-256/512, ethos-u85-*; GOSSAMER_ETHOSU_ACCELERATOR)",
    "system_config": "the system configuration (ethos-u: a System_Config of Vela's vela.ini; "
    "GOSSAMER_ETHOSU_SYSTEM_CONFIG)",
    "memory_mode": "the memory mode (ethos-u: a Memory_Mode of vela.ini; "
    "GOSSAMER_ETHOSU_MEMORY_MODE)",
    "clock": "the accelerator clock, e.g. 500e6 or 400MHz (GOSSAMER_ETHOSU_CLOCK)",
}


class DeployError(InputError):
    """The named backend cannot write a deployable model here."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="input model (.onnx, .gsm or .tflite); an NPU needs it "
                   "quantised (gossamer quantize --mode static)")  # fmt: skip
    p.add_argument("-o", "--output", required=True, help="the file to write (ethos-u: .tflite)")
    p.add_argument("--backends", required=True, metavar="NAME",
                   help="the backend whose target file to write (one that can deploy: see "
                   "the error for the list)")  # fmt: skip
    for option, text in TARGET_OPTIONS.items():
        p.add_argument(f"--{option.replace('_', '-')}", dest=option, metavar="VALUE", help=text)
    p.add_argument("-O", "--optimize", type=int, choices=range(4), default=DEFAULT_OPTIMIZE,
                   metavar="LEVEL", help=f"graph optimisation level before compiling "
                   f"(default {DEFAULT_OPTIMIZE})")  # fmt: skip


def deploying_backends() -> dict[str, Any]:
    """Registered backends that can write a deployable model (they have a `deploy` method)."""
    from ..plugins.manager import all_backends

    return {n: b for n, b in all_backends().items() if callable(getattr(b, "deploy", None))}


def cmd_compile(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    able = deploying_backends()
    offer = ", ".join(sorted(able)) or "none is installed"
    if len(names) != 1:
        raise DeployError(f"--backends {args.backends!r}: name exactly one backend to compile "
                          f"for (backends that can deploy: {offer})")  # fmt: skip
    (name,) = names
    from ..plugins.manager import all_backends

    if name not in all_backends():
        raise DeployError(f"--backends {name}: no such backend (backends that can deploy: "
                          f"{offer})")  # fmt: skip
    backend = able.get(name)
    if backend is None:
        raise DeployError(f"backend {name!r} runs models but writes no deployable file "
                          f"(backends that can deploy: {offer})")  # fmt: skip
    why = backend.is_available()
    if why:
        raise DeployError(f"backend {name!r} is not available here: {why}")
    check_output_path(args.output, "-o")
    graph = read_model(args.model)
    if args.optimize:
        from ..converter.optimizer import optimize

        graph, _ = optimize(graph, args.optimize)
    options = {k: getattr(args, k) for k in TARGET_OPTIONS if getattr(args, k, None)}
    print(backend.deploy(graph, args.output, options))
    return 0
