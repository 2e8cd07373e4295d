"""Why Gossamer and onnxruntime disagree on a deep all-int8 model, measured: ppocrv4_rec quantised
by Gossamer (static int8 QDQ, defaults), run by four engines on rendered text lines.

    .venv/bin/python benchmarks/quantization_ort_agreement.py [--lines 60] [--trace 6]

1. Per line (the first --trace lines), Gossamer's reference (backends=[], optimize=0) against
   onnxruntime with graph optimisations off, every QuantizeLinear output compared: the first one
   that differs, and how close its float input is to a rounding boundary (x / scale = k + 0.5).
   Then the reference is run again with onnxruntime's codes written into each such flipped
   element (one at a time, in graph order, until no QuantizeLinear differs): if the outputs then
   agree, those few near-tie flips are the whole difference.
2. Over --lines lines: output differences in steps of 1/255 and CTC greedy decodings, for every
   pair of: Gossamer reference -O0, Gossamer -O3 cython (fused integer kernels), onnxruntime
   optimisations off, onnxruntime default (fused QLinearConv etc.), the float model; for the
   model with full-range int8 weights (the default) and with 7-bit weights (--reduce-range).
Results: benchmarks/results/quantization_ort_agreement.{json,md}. Needs the `bench` extra.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quantization_accuracy import MODELS, RESULTS, ctc_greedy, datasets, gossamer_int8  # noqa: E402

ENGINES = ("gossamer ref -O0", "gossamer -O3 cython", "ort opt off", "ort default opt", "float")


class _Patch:
    """Observer writing given codes into QuantizeLinear outputs (a diagnostic, not a backend)."""

    def __init__(self, codes: dict[str, np.ndarray]) -> None:
        self.codes = codes

    def before_node(self, node, inputs) -> None:  # noqa: ANN001 - NodeObserver protocol
        pass

    def after_node(self, node, inputs, outputs) -> None:  # noqa: ANN001
        if node.op_type == "QuantizeLinear" and node.outputs[0] in self.codes:
            outputs[0][...] = self.codes[node.outputs[0]]


def trace_line(sess, model: bytes, x: np.ndarray) -> dict:
    """First flipped QuantizeLinear, and the output difference left once every flip is patched."""
    from gossamer.tools.first_divergence import _Recorder
    from gossamer.tools.ort_intermediates import run_onnxruntime

    theirs = run_onnxruntime(model, {"x": x})
    out = sess.get_outputs()[0].name
    inits = sess.graph.initializers
    patched: dict[str, np.ndarray] = {}
    row: dict = {"flips": []}
    for _ in range(200):
        rec = _Recorder(copy=True)
        got = sess.run(None, {"x": x}, observers=[_Patch(dict(patched)), rec])[0]
        steps = float(np.abs(got - theirs[out]).max() * 255)
        row.setdefault("unpatched_steps", round(steps, 2))
        qs = [n for n in rec.order if n.op_type == "QuantizeLinear"]
        flip = next(
            (
                (i, n)
                for i, n in enumerate(qs, 1)
                if (rec.values[n.outputs[0]] != theirs[n.outputs[0]]).any()
            ),
            None,
        )
        if flip is None:
            row["patched_steps"] = round(steps, 3)
            return row
        i, node = flip
        name, src = node.outputs[0], node.inputs[0]
        differ = rec.values[name] != theirs[name]
        scale = np.float64(inits[node.inputs[1]])
        both = np.concatenate([rec.values[src][differ], theirs[src][differ]]).astype(np.float64)
        frac = both / scale - np.floor(both / scale)
        row["flips"].append(
            {
                "q_index": i,
                "of": len(qs),
                "tensor": src,
                "producer": rec.producer[src].op_type,
                "codes": int(differ.sum()),
                "size": int(differ.size),
                "max_distance_from_tie": float(np.abs(frac - 0.5).max()),
            }
        )
        patched[name] = theirs[name]
    raise RuntimeError("more than 200 flipped tensors: not a near-tie effect")


def engine_outputs(model: bytes, test: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    import onnxruntime as ort

    import gossamer

    def ort_fn(source, level):  # noqa: ANN001, ANN202
        options = ort.SessionOptions()
        options.graph_optimization_level = level
        options.log_severity_level = 3
        s = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        return lambda x: s.run(None, {"x": x})[0]

    ref = gossamer.load(model, backends=[], optimize=0)
    fused = gossamer.load(model, optimize=3)
    level = ort.GraphOptimizationLevel
    fns = {
        ENGINES[0]: lambda x: ref.run(None, {"x": x})[0],
        ENGINES[1]: lambda x: fused.run(None, {"x": x})[0],
        ENGINES[2]: ort_fn(model, level.ORT_DISABLE_ALL),
        ENGINES[3]: ort_fn(model, level.ORT_ENABLE_ALL),
        ENGINES[4]: ort_fn(str(MODELS / "ppocrv4_rec.onnx"), level.ORT_ENABLE_ALL),
    }
    return {k: [f(x) for x in test] for k, f in fns.items()}


def pairs(outs: dict[str, list[np.ndarray]]) -> dict:
    rows = {}
    for a, b in itertools.combinations(ENGINES, 2):
        steps = [float(np.abs(p - q).max() * 255) for p, q in zip(outs[a], outs[b])]
        every = np.concatenate([np.abs(p - q).ravel() * 255 for p, q in zip(outs[a], outs[b])])
        same = sum(ctc_greedy(p) == ctc_greedy(q) for p, q in zip(outs[a], outs[b]))
        rows[f"{a} vs {b}"] = {
            "max_steps": round(max(steps), 1),
            "median_line_max_steps": round(float(np.median(steps)), 1),
            "elements_over_1_step_pct": round(100.0 * float((every > 1).mean()), 4),
            "same_decoding": same,
        }
    return rows


def main(argv: list[str] | None = None) -> int:
    import gossamer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=60, help="test lines for the engine table")
    parser.add_argument("--trace", type=int, default=6, help="lines traced tensor by tensor")
    args = parser.parse_args(argv)
    cal, test = datasets("ppocrv4_rec", 24, args.lines)
    path = MODELS / "ppocrv4_rec.onnx"
    results: dict = {"calibration_samples": 24, "lines": args.lines, "models": {}}
    for label, options in (("int8 (default)", {}), ("int8, 7-bit weights", {"reduce_range": True})):
        model, _, _ = gossamer_int8(path, "x", cal, **options)
        entry: dict = {"engines": pairs(engine_outputs(model, test))}
        if not options:
            sess = gossamer.load(model, backends=[], optimize=0)
            entry["trace"] = [trace_line(sess, model, x) for x in test[: args.trace]]
        results["models"][label] = entry
        print(label, json.dumps(entry, indent=1), file=sys.stderr, flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "quantization_ort_agreement.json").write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / "quantization_ort_agreement.md").write_text(markdown(results))
    print(markdown(results))
    return 0


def markdown(results: dict) -> str:
    lines = [
        "# ppocrv4_rec int8: Gossamer vs onnxruntime, engine by engine",
        "",
        f"Quantised by Gossamer (static, defaults, {results['calibration_samples']} calibration "
        f"lines); {results['lines']} rendered test lines. Steps of 1/255 on the output "
        "probabilities. Written by benchmarks/quantization_ort_agreement.py.",
    ]
    for label, entry in results["models"].items():
        lines += [
            "",
            f"## {label}",
            "",
            "| pair | max steps | median per-line max | elements > 1 step % | same CTC decoding |",
            "|---|---|---|---|---|",
        ]
        for pair, r in entry["engines"].items():
            lines.append(
                f"| {pair} | {r['max_steps']} | {r['median_line_max_steps']} | "
                f"{r['elements_over_1_step_pct']} | {r['same_decoding']}/{results['lines']} |"
            )
        if "trace" in entry:
            lines += [
                "",
                "Gossamer reference -O0 vs onnxruntime optimisations off, per line: "
                "the QuantizeLinear outputs that differ (in graph order, each found after "
                "patching the earlier ones), and the output difference once all are "
                "patched.",
                "",
                "| line | unpatched steps | flipped tensors (Q index: "
                "codes / size) | max distance of x/scale from k+0.5 | patched steps |",
                "|---|---|---|---|---|",
            ]
            for i, t in enumerate(entry["trace"]):
                flips = ", ".join(f"#{f['q_index']}: {f['codes']}/{f['size']}" for f in t["flips"])
                tie = max((f["max_distance_from_tie"] for f in t["flips"]), default=0.0)
                lines.append(
                    f"| {i} | {t['unpatched_steps']} | {flips} | {tie:.1e} | {t['patched_steps']} |"
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
