"""Commands that write model files: convert, optimize, export (the -o extension names the format:
.gsm, .onnx, or for export also .tflite), and view (Netron)."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from ..refimpl.errors import InputError
from ..refimpl.ir import Graph
from ..session import Session, read_model

MODEL_FORMATS = {".gsm": "Gossamer .gsm", ".onnx": "ONNX"}


def cmd_convert(args: argparse.Namespace) -> int:
    check_output_path(args.output, "-o", suffixes=MODEL_FORMATS)
    graph = read_model(args.model)
    if args.optimize:  # fused ops go to ONNX as model-local functions: other engines run them
        from ..converter.optimizer.weight_compaction import optimize_for_saving

        graph, _ = optimize_for_saving(graph, args.optimize)
    Session(graph)  # refuse to write a model we cannot run
    _prepack(graph, args)
    print(write_model(graph, args.output))
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    from ..converter.optimizer import optimize
    from ..converter.optimizer.weight_compaction import optimize_for_saving

    check_output_path(args.output, "-o", suffixes=MODEL_FORMATS)
    model = read_model(args.model)
    if args.passes is None:  # a level's whole pipeline: as the load would run it
        graph, report = optimize_for_saving(model, args.optimize)
    else:
        graph, report = optimize(model, args.optimize, passes=args.passes)
    Session(graph)  # refuse to write a model we cannot run
    print(report.format(details=args.details))
    _prepack(graph, args)
    print(write_model(graph, args.output))
    return 0


def _prepack(graph: Graph, args: argparse.Namespace) -> None:
    """--pack BACKEND: the backend's packed weights go into the .gsm (commands/packing.py)."""
    backend = getattr(args, "pack", None)
    if backend is None:
        return
    if Path(args.output).suffix.lower() != ".gsm":
        raise InputError(f"--pack stores packed weights in a .gsm file, not {args.output}")
    from .inputs import parse_shapes
    from .packing import prepack

    print(prepack(graph, backend, parse_shapes(getattr(args, "shape", None) or [])))


def cmd_export(args: argparse.Namespace) -> int:
    fmt = getattr(args, "format", None)
    if fmt == "tflite" or (fmt is None and Path(args.output).suffix.lower() == ".tflite"):
        return _export_tflite(args)
    if fmt is not None and Path(args.output).suffix.lower() != f".{fmt}":
        raise InputError(f"-o {args.output}: --format {fmt} writes a .{fmt} file")
    check_output_path(args.output, "-o", suffixes={**MODEL_FORMATS, ".tflite": "TFLite"})
    print(write_model(read_model(args.model), args.output))
    return 0


def _export_tflite(args: argparse.Namespace) -> int:
    """`export --format tflite` (converter/tflite_export, docs/tflite-export.md)."""
    from ..converter.tflite_export import write_tflite
    from .inputs import parse_shapes

    check_output_path(args.output, "-o")
    shapes = parse_shapes(getattr(args, "shape", []))
    options = {"nhwc_io": bool(getattr(args, "nhwc_io", False)), "input_shapes": shapes or None}
    size = write_tflite(read_model(args.model), args.output, **options)
    print(f"wrote {args.output} ({size:,} bytes, TFLite)")
    return 0


def write_model(graph: Graph, output: str | os.PathLike) -> str:
    """Writes `graph` in the format its extension names; the line that says what was written."""
    path = Path(output)
    if path.suffix.lower() == ".onnx":
        from ..converter.onnx_export import save_onnx

        save_onnx(graph, path)
        checked = ", passes onnx.checker"
    else:
        from ..refimpl.model_format import save_gsm

        save_gsm(graph, path)
        checked = ""
    size = path.stat().st_size
    return f"wrote {output} ({size:,} bytes, {len(graph.nodes)} nodes{checked})"


def check_output_path(
    output: str | os.PathLike, option: str, suffixes: dict[str, str] | None = None
) -> None:
    """Refuses, before any work, an output path that cannot be written: a folder that does not
    exist or is not writable, an existing folder in its place, or (with `suffixes`) an extension
    that names no format we write."""
    path = Path(output)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        formats = ", ".join(f"{s} ({name})" for s, name in suffixes.items())
        raise InputError(
            f"{option} {output}: the extension names the format to write; use one of {formats}"
        )
    if path.is_dir():
        raise InputError(f"{option} {output}: is a folder; give a file path")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{option} {output}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise PermissionError(13, "Permission denied (cannot write there)", str(output))


def cmd_view(args: argparse.Namespace) -> int:
    from ..refimpl.model_format import MAGIC

    path = Path(args.model)
    if not path.is_file():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    try:
        import netron
    except ImportError:
        raise ImportError("install the view extra: pip install 'gossamer[view]'") from None
    with open(path, "rb") as f:
        is_gsm = f.read(len(MAGIC)) == MAGIC
    with tempfile.TemporaryDirectory() as tmp:
        if is_gsm:  # Netron reads ONNX, so a .gsm is exported first
            from ..converter.onnx_export import save_onnx

            onnx_path = Path(tmp) / (path.stem + ".onnx")
            save_onnx(read_model(path), onnx_path)
            path = onnx_path
        browse = not args.no_browser and _browser_available()
        address = None if args.port is None else ("localhost", args.port)
        served = netron.start(str(path), address=address, browse=browse)
        url = _url(served, args.port)
        if args.no_browser:
            print(f"serving {args.model} at {url} (Ctrl-C stops)", flush=True)
        elif not browse:
            print(
                f"no web browser found: open {url} to see {args.model} (Ctrl-C stops)", flush=True
            )
        else:
            print(f"opened {url} in a browser (Ctrl-C stops the server)", flush=True)
        wait = getattr(netron, "wait", None)
        if wait is not None:
            wait()  # serve until Ctrl-C; the exported file must outlive the server
    return 0


def _browser_available() -> bool:
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def _url(served: object, port: int | None) -> str:
    """http://host:port from what netron.start returned ((host, port), or a port)."""
    if isinstance(served, tuple) and len(served) == 2:
        host, served_port = served
    else:
        host, served_port = "localhost", served if isinstance(served, int) else port
    return f"http://{host}:{served_port}" if served_port else f"http://{host}"
