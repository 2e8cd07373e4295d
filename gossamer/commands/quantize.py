"""`gossamer quantize MODEL -o OUT [--mode static|dynamic|weight|fp16]`: post-training
quantisation (see gossamer/quantization.py and docs/quantization.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..refimpl.errors import InputError
from ..refimpl.ir import Graph
from .model_io import MODEL_FORMATS, check_output_path

MODE_HELP = (
    "static: full int8 with calibration (needs --calibration); dynamic: int8 MatMul/Gemm "
    "weights, activations quantised at run time; weight: weight-only, --bits 1..16, for size; "
    "fp16: float16 weights (default static)"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="float model (.onnx, .gsm or .tflite)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="quantised model; its extension names the format: .onnx or .gsm",
    )
    p.add_argument(
        "--mode", choices=["static", "dynamic", "weight", "fp16"], default="static", help=MODE_HELP
    )
    p.add_argument(
        "--calibration",
        metavar="DATA.npz|FOLDER",
        help="calibration samples: an .npz with one array per model input, first axis = samples "
        "(an input [1,3,H,W] takes (N,1,3,H,W); with a symbolic batch also "
        "(N,3,H,W)), or a folder of images for a one-input model (see --preprocess)",
    )
    p.add_argument(
        "--preprocess",
        metavar="KEY=VALUE,...",
        help="for --calibration FOLDER of images: how each image becomes a sample (as for "
        "`gossamer run -i NAME=IMAGE`: size=WxH, layout, color, scale, mean, std, dtype)",
    )
    p.add_argument(
        "--method",
        choices=["minmax", "percentile", "kl", "mse"],
        default="minmax",
        help="how calibration picks activation ranges (default minmax; mse: the range with "
        "the least quantisation error)",
    )
    p.add_argument(
        "--percentile",
        type=float,
        default=99.99,
        help="for --method percentile: the percentile kept (default 99.99)",
    )
    p.add_argument(
        "--per-channel",
        action="store_true",
        default=None,
        help="one weight scale per output channel (the default)",
    )
    p.add_argument(
        "--per-tensor",
        dest="per_channel",
        action="store_false",
        help="one weight scale per tensor (onnxruntime's default; coarser)",
    )
    p.add_argument(
        "--activation-type",
        choices=["uint8", "int8"],
        default="uint8",
        help="static: activation code type (default uint8, as onnxruntime)",
    )
    p.add_argument(
        "--reduce-range",
        action="store_true",
        help="static, dynamic: 7-bit weights (codes -63..63), so that onnxruntime's AVX2 "
        "u8s8 kernels (vpmaddubsw) cannot saturate on CPUs without VNNI",
    )
    p.add_argument(
        "--bias-correction",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="static: fold each Conv/Gemm output channel's mean quantisation error "
        "on the calibration data into its bias (default on, as MindSpore Lite)",
    )
    p.add_argument(
        "--equalize",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="static: rescale the input channels of Conv/MatMul layers whose channel ranges "
        "differ widely, the weights taking the inverse (same float model; default on)",
    )
    p.add_argument(
        "--skip",
        type=_names,
        default=[],
        metavar="NODE,...",
        help="nodes to keep float (repeatable)",
        action="extend",
    )
    p.add_argument(
        "--target-cosine",
        type=float,
        metavar="C",
        help="static: give the most sensitive layers 16-bit activations and weights, then "
        "keep them float, until the output cosine to float on the calibration data reaches "
        "C (e.g. 0.99)",
    )
    p.add_argument(
        "--16-bit",
        dest="sixteen_bit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="static, with --target-cosine: try 16-bit layers (opset 21 QDQ) before float "
        "ones (default on)",
    )
    p.add_argument(
        "--auto-precision",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="static, without --target-cosine: where the all-int8 model's output cosine to "
        "float on the calibration data is below 0.99, give its first layers 16-bit "
        "codes until it reaches 0.9995 (default on; the report names them)",
    )
    p.add_argument(
        "--format",
        choices=["qdq", "qoperator"],
        default="qdq",
        help="static: QuantizeLinear/DequantizeLinear pairs (default) or QLinear* operators",
    )
    p.add_argument("--bits", type=int, default=8, help="weight mode: bits per weight, 1..16")
    p.add_argument(
        "--group-size",
        type=int,
        default=0,
        metavar="G",
        help="weight mode: one scale per block of G weights along the reduction axis",
    )
    p.add_argument(
        "--asymmetric", action="store_true", help="weight mode: asymmetric codes with a zero point"
    )
    p.add_argument(
        "--float16-io",
        action="store_true",
        help="fp16 mode: make the model inputs and outputs float16 too",
    )
    p.add_argument(
        "--fp16-activations",
        action="store_true",
        help="fp16 mode: compute activations in float16 too",
    )
    p.add_argument("--report", metavar="FILE", help="also write the report (.md or .json)")
    p.add_argument(
        "--plot",
        metavar="FILE.png",
        help="chart of the per-layer error (.png, .svg or .pdf; needs matplotlib)",
    )
    p.add_argument("--top", type=int, metavar="N", help="print only the N worst layers")
    p.add_argument(
        "--backends",
        type=_names,
        help="backends that run calibration (default: every available one)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_quantize(args: argparse.Namespace) -> int:
    from ..quantization import quantize, save_model

    check_output_path(args.output, "-o", suffixes=MODEL_FORMATS)
    if args.report:
        from ..converter.quantization.layer_report import check_report_path

        check_report_path(args.report)
    if args.plot:
        from ..converter.quantization.report_plot import check_plot_file

        check_plot_file(args.plot)
    if args.calibration and args.mode in ("weight", "fp16"):
        raise InputError(f"--calibration is for --mode static or dynamic, not {args.mode}")
    if args.top is not None and args.top < 1:
        raise InputError(f"--top must be at least 1, got {args.top}")
    model = args.model
    calibration = args.calibration
    if args.preprocess and not (calibration and Path(calibration).is_dir()):
        raise InputError("--preprocess shapes a --calibration FOLDER of images; none was given")
    if calibration and Path(calibration).is_dir():
        from ..session import read_model

        model = read_model(args.model)
        calibration = image_folder(calibration, model, args.preprocess)
    result = quantize(
        model,
        mode=args.mode,
        calibration=calibration,
        method=args.method,
        percentile=args.percentile,
        per_channel=args.per_channel,
        activation_type=args.activation_type,
        reduce_range=args.reduce_range,
        bias_correction=args.bias_correction,
        equalize=args.equalize,
        skip=args.skip,
        target_cosine=args.target_cosine,
        sixteen_bit=args.sixteen_bit,
        auto_precision=args.auto_precision,
        format=args.format,
        bits=args.bits,
        group_size=args.group_size,
        symmetric=not args.asymmetric,
        keep_io_types=not args.float16_io,
        fp16_activations=args.fp16_activations,
        backends=args.backends,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    report = result.report
    print(report.format(top=args.top) if _takes_top(report) else report.format())
    if args.report:
        _save_report(report, args.report)
        print(f"report: {args.report}")
    if args.plot:
        if not hasattr(report, "plot"):
            raise InputError(f"--plot: mode {args.mode} has no per-layer chart")
        report.plot(args.plot)
        print(f"plot: per-layer error written to {args.plot}")
    save_model(result.graph, args.output)
    size = Path(args.output).stat().st_size
    checked = ", passes onnx.checker" if args.output.lower().endswith(".onnx") else ""
    print(f"wrote {args.output} ({size:,} bytes, {len(result.graph.nodes)} nodes{checked})")
    return 0


def _takes_top(report: object) -> bool:
    import inspect

    return "top" in inspect.signature(report.format).parameters  # type: ignore[attr-defined]


def _save_report(report: object, path: str) -> None:
    if hasattr(report, "save"):
        report.save(path)
        return
    import json

    if path.lower().endswith(".json"):
        Path(path).write_text(json.dumps(report.to_json(), indent=2) + "\n")  # type: ignore[attr-defined]
    else:
        Path(path).write_text("# Quantisation report\n\n```\n" + report.format() + "\n```\n")  # type: ignore[attr-defined]


def image_folder(folder: str, graph: Graph, preprocess: str | None) -> dict[str, np.ndarray]:
    """Calibration samples from every image in `folder` (sorted by name), each read and shaped
    for the model's one input by the --preprocess spec (see images.py)."""
    from ..refimpl.errors import CalibrationDataError
    from .images import image_input, is_image, parse_preprocess

    inputs = [v for v in graph.inputs if v.name not in graph.initializers]
    if len(inputs) != 1:
        raise InputError(
            f"--calibration {folder}: a folder of images calibrates a model with one input; "
            f"this one has {len(inputs)} ({', '.join(v.name for v in inputs)}): give an .npz"
        )
    spec = parse_preprocess(preprocess)
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and is_image(str(p)))
    if not files:
        raise CalibrationDataError(f"--calibration {folder}: holds no images (.png, .jpg, ...)")
    v = inputs[0]
    samples = [image_input(str(f), v.name, v.dtype, v.shape, spec)[0] for f in files]
    shapes = {s.shape for s in samples}
    if len(shapes) > 1:
        raise CalibrationDataError(
            f"--calibration {folder}: the images give samples of different shapes "
            f"{sorted(shapes)}; fix their size with --preprocess size=WxH"
        )
    return {v.name: np.stack(samples)}


def _names(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]
