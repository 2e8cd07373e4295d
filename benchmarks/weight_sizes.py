"""Weight storage: .gsm size and output accuracy of float32, float16 and 8/4/2-bit weight-only.

For each benchmark model (and the shared real models that are cached): the .gsm file size at each
storage choice, and the cosine similarity of the outputs to the float32 model's on random feeds
(two samples), run by gossamer.load (-O3, every backend). Weight-only rows use per-channel
symmetric scales; "4-bit g32" uses blocks of 32 along the reduction axis. Not a test.

    .venv/bin/python benchmarks/weight_sizes.py [model ...]
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.quantization.weight_only import quantize_weights
from gossamer.converter.quantization.weight_sweep import (
    SweepRow,
    output_cosines,
    random_feeds,
    weight_sweep,
)
from gossamer.refimpl.ir import Graph
from gossamer.refimpl.model_format import dump_gsm

import gossamer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_models import BUILTIN, MODELS_DIR, REAL_SHAPES, _builtin  # noqa: E402

MODELS = ["mobilenet_v2", "resnet18", "resnet50", "minilm", "lstm"]
REAL = ["ppocr_mobile_v2_cls", "mtcnn_rnet", "nudenet_320n_yolov8n"]
OUT = Path(__file__).resolve().parent / "results" / "weight_sizes.md"
NOTES = """
## Notes

- Weights with fewer than 1024 elements (biases, BatchNorm parameters, most depthwise kernels)
  stay float32, as does everything that is not a weight: small models like ppocr_mobile_v2_cls
  (many depthwise layers) shrink less than the bit width suggests.
- `.gsm` packs N bits per code; an ONNX export keeps 4-bit codes as int4 but 2-, 3-, 5-7-bit
  codes in int8 (no ONNX type is narrower), so the 2-bit rows are about twice as large as ONNX.
- ppocr_mobile_v2_cls (opset 11) and mtcnn_rnet (opset 12) cannot be raised to opset 21 without
  changing their Softmax/BatchNormalization: their blocks are written as Cast/Reshape/Mul, and
  channels the group size does not divide stay per channel (ppocr: all of them).
- Built-in models have random weights, so their low-bit cosines say little about trained models;
  2 bits needs calibration-aware methods (GPTQ/AWQ-style), which this weight-only mode does not do.
"""


def run(graph: Graph, feeds: dict) -> list[np.ndarray]:
    return gossamer.load(graph).run(None, feeds)


def feeds_of(name: str, graph: Graph) -> list[dict]:
    if name in BUILTIN:
        first = BUILTIN[name]()
        second = {k: _perturbed(v) for k, v in first.items()}
        return [first, second]
    return random_feeds(graph, 2, 0, REAL_SHAPES.get(name))


def _perturbed(v: np.ndarray) -> np.ndarray:
    if v.dtype.kind == "f":
        return np.random.default_rng(1).standard_normal(v.shape).astype(v.dtype)
    return v


def measure(name: str, graph: Graph) -> list[SweepRow]:
    feeds = feeds_of(name, graph)
    rows = weight_sweep(graph, bits=(8, 4, 2), feeds=feeds, run=run)
    blocked, report = quantize_weights(graph, bits=4, group_size=32)
    reference = [run(graph, f) for f in feeds]
    row = SweepRow("4-bit g32", 4, len(dump_gsm(blocked)), report=report)
    row.cosine = output_cosines(graph, reference, [run(blocked, f) for f in feeds])
    rows.insert(4, row)
    return rows


def main(names: list[str]) -> None:
    warnings.simplefilter("ignore")
    results: dict[str, list[SweepRow]] = {}
    for name in names:
        if name in MODELS:
            graph = graph_from_onnx(_builtin(name)())
        else:
            path = MODELS_DIR / f"{name}.onnx"
            if not path.exists():
                print(f"{name}: not cached in {MODELS_DIR}, skipped")
                continue
            graph = graph_from_onnx(path)
        start = time.perf_counter()
        results[name] = measure(name, graph)
        print(f"{name}: {time.perf_counter() - start:.0f} s")
        for r in results[name]:
            print(f"  {r.label:10} {r.file_bytes / 1e6:8.2f} MB  cosine {r.min_cosine:.6f}")
    OUT.write_text(render(results))
    print(f"wrote {OUT}")


def render(results: dict[str, list[SweepRow]]) -> str:
    labels = [r.label for r in next(iter(results.values()))] if results else []
    lines = [
        "# Weight storage: .gsm size and output cosine to float32",
        "",
        "`benchmarks/weight_sizes.py`: each model stored as float32, float16 (weights only) and "
        "weight-only N-bit (per-channel symmetric; `g32`: blocks of 32 along the reduction axis), "
        ".gsm packing N bits per code. Cosine: the worst float output's cosine similarity to the "
        "float32 model on two random feeds, run with `gossamer.load` (-O3; stored weights are "
        "expanded to float32 once at load). Built-in models have random (He-initialised) "
        "weights; the real models are trained.",
        "",
        "## File size (MB) and size relative to float32",
        "",
        "| model | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    for name, rows in results.items():
        base = rows[0].file_bytes
        cells = [f"{r.file_bytes / 1e6:.2f} ({r.file_bytes / base:.3f})" for r in rows]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Output cosine to float32", "", "| model | " + " | ".join(labels) + " |",
              "|---|" + "---:|" * len(labels)]  # fmt: skip
    for name, rows in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{r.min_cosine:.6f}" for r in rows) + " |")
    quantised = labels[2:]
    lines += ["", "## Weight SQNR (dB, all quantised weights together)", ""]
    lines += ["| model | " + " | ".join(quantised) + " |", "|---|" + "---:|" * len(quantised)]
    for name, rows in results.items():
        cells = [f"{r.report.sqnr_db:.1f}" if r.report else "" for r in rows[2:]]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" + NOTES


if __name__ == "__main__":
    main(sys.argv[1:] or MODELS + REAL)
