"""`gossamer crop MODEL [MODEL ...] -o DIR [--wheel]`: the minimal install that runs those models
(tools/cropper; docs/cropper.md)."""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..session import DEFAULT_OPTIMIZE

    p.add_argument("models", nargs="+", metavar="MODEL", help="models to crop for (.onnx, "
                   ".tflite, .gsm; told by content)")  # fmt: skip
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder for the staged source tree (DIR/source), the size report "
                   "(crop_report.md, .json) and, with --wheel, the wheel")  # fmt: skip
    p.add_argument("--wheel", action="store_true",
                   help="keep the built wheel in DIR (pip install DIR/gossamer-*.whl)")  # fmt: skip
    p.add_argument("-O", "--optimize", type=int, choices=range(4), default=DEFAULT_OPTIMIZE,
                   metavar="LEVEL", help="the optimisation level the cropped build will load "
                   f"the models at (default {DEFAULT_OPTIMIZE}, load()'s)")  # fmt: skip
    p.add_argument("--preoptimized", action="store_true",
                   help="the models are .gsm files already optimised (gossamer optimize): the "
                   "crop ships no optimiser and no importer and loads them as saved")  # fmt: skip
    p.add_argument("--strip", action="store_true",
                   help="link the C extension without symbols (about 5x smaller; no native "
                   "debugging)")  # fmt: skip
    p.add_argument("--repeats", type=int, default=3, metavar="N",
                   help="fresh processes timed for the report (default 3; the best "
                   "counts)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def cmd_crop(args: Any) -> int:
    import json

    from ..tools.cropper import crop

    result = crop(
        args.models,
        args.output,
        wheel=args.wheel,
        optimize=args.optimize,
        preoptimized=args.preoptimized,
        strip=args.strip,
        repeats=args.repeats,
    )
    if args.json:
        print(json.dumps(result.report, indent=2))
    else:
        print(result.markdown, end="")
    return 0
