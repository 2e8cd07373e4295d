"""Commands that write model files: convert, optimize (to .gsm), export (to ONNX), view (Netron)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ..session import Session, read_model


def cmd_convert(args: argparse.Namespace) -> int:
    from ..refimpl.model_format import save_gsm

    graph = read_model(args.model)
    Session(graph)  # refuse to write a model we cannot run
    save_gsm(graph, args.output)
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size:,} bytes, {len(graph.nodes)} nodes)")
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    from ..converter.optimizer import optimize
    from ..refimpl.model_format import save_gsm

    graph, report = optimize(read_model(args.model), args.level, passes=args.passes)
    Session(graph)  # refuse to write a model we cannot run
    save_gsm(graph, args.output)
    print(report.format(details=args.details))
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size:,} bytes, {len(graph.nodes)} nodes)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..converter.onnx_export import save_onnx

    graph = read_model(args.model)
    save_onnx(graph, args.output)
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size:,} bytes, {len(graph.nodes)} nodes, passes onnx.checker)")
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    from ..refimpl.model_format import MAGIC

    try:
        import netron
    except ImportError:
        raise ImportError("install the view extra: pip install 'gossamer[view]'") from None
    path = Path(args.model)
    if not path.exists():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    with open(path, "rb") as f:
        is_gsm = f.read(len(MAGIC)) == MAGIC
    with tempfile.TemporaryDirectory() as tmp:
        if is_gsm:  # Netron reads ONNX, so a .gsm is exported first
            from ..converter.onnx_export import save_onnx

            onnx_path = Path(tmp) / (path.stem + ".onnx")
            save_onnx(read_model(path), onnx_path)
            path = onnx_path
        address = None if args.port is None else ("localhost", args.port)
        netron.start(str(path), address=address, browse=not args.no_browser)
        wait = getattr(netron, "wait", None)
        if wait is not None:
            wait()  # serve until Ctrl-C; the exported file must outlive the server
    return 0
