"""The ethos-u delegate's closing figures: per model, the NPU/CPU split Vela decides, SRAM and
flash use, Vela's estimated NPU latency on an Ethos-U55-128 and an Ethos-U65-256, beside
Gossamer's measured cython latency of the same int8 model on this machine at 1 thread (and the
host time of the bit-exact NPU simulation). Not a test: nothing is asserted. The machine is shared:
each host figure is a median, and the load average while it was measured is recorded.

Models: the shared int8 wake-word model (TFLite), and MobileNetV2, ResNet-18 (224x224) and the
shared ppocr_mobile_v2_cls and mtcnn_rnet quantised by Gossamer (static int8, random calibration:
the figures do not depend on the values).

    .venv/bin/python benchmarks/npu_report.py                 # all models, 50 timed runs each
    .venv/bin/python benchmarks/npu_report.py --models mww_okay_nabu_int8 --runs 20
Writes benchmarks/results/npu_delegate.md (and .json) unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np

MODELS = Path.home() / ".cache" / "gossamer" / "models"
HERE = Path(__file__).resolve().parent
TARGETS = ["ethos-u55-128", "ethos-u65-256"]
SHAPES = {"ppocr_mobile_v2_cls": (1, 3, 48, 192)}  # symbolic dims: the size PaddleOCR feeds


def load_model(name: str):
    """(graph or path, feeds) for one model."""
    from gossamer.converter.quantization import quantize_static
    from gossamer.refimpl.ir import Value

    from gossamer.builtin_models import mobilenet_v2, resnet18
    from gossamer.session import read_model

    rng = np.random.default_rng(0)
    if name == "mww_okay_nabu_int8":
        x = rng.integers(-128, 128, (1, 3, 40)).astype(np.int8)
        return MODELS / f"{name}.tflite", {"serving_default_input_audio:0": x}
    if name in ("mobilenet_v2", "resnet18"):
        graph = read_model((mobilenet_v2 if name == "mobilenet_v2" else resnet18)(size=224))
    else:
        graph = read_model(str(MODELS / f"{name}.onnx"))
    (inp,) = [v for v in graph.inputs if v.name not in graph.initializers]
    shape = SHAPES.get(name) or tuple(d if isinstance(d, int) else 1 for d in inp.shape)
    # a fixed input size, as a board has: TFLite (and Vela) want static shapes
    graph.inputs = [Value(v.name, v.dtype, shape) if v is inp else v for v in graph.inputs]
    calib = {inp.name: rng.uniform(0, 1, (2, *shape)).astype(np.float32)}
    quantized, _ = quantize_static(graph, calib, activation_type="int8")
    return quantized, {inp.name: calib[inp.name][0]}


def latency_ms(sess, feeds, runs: int) -> float:
    for _ in range(3):
        sess.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def figures(name: str, runs: int) -> dict:
    import gossamer

    model, feeds = load_model(name)
    out: dict = {"model": name}
    cython = gossamer.load(model, backends=["cython"], threads=1)
    out["nodes"] = len(cython.graph.nodes)
    out["cython_ms"] = latency_ms(cython, feeds, runs)
    out["cython_load"] = os.getloadavg()[0]  # the 1-minute load average while it ran
    for target in TARGETS:
        os.environ["GOSSAMER_ETHOSU_ACCELERATOR"] = target
        start = time.perf_counter()
        sess = gossamer.load(model, backends=["ethos-u"])
        load_s = time.perf_counter() - start
        placement = sess.placement
        estimates = list(sess.partition_estimates.values())
        out[target] = {
            "npu_nodes": sum(1 for b in placement.backend_of.values() if b == "ethos-u"),
            "cpu_nodes": sum(1 for b in placement.backend_of.values() if b != "ethos-u"),
            "partitions": len(estimates),
            "npu_operators": sum(e.npu_operators for e in estimates),
            "est_ms": sum(e.seconds for e in estimates) * 1e3,
            "cycles": sum(e.cycles for e in estimates),
            "clock_mhz": estimates[0].clock_hz / 1e6 if estimates else None,
            "sram_kib": max((e.sram_bytes for e in estimates), default=0) / 1024,
            "flash_kib": sum(e.flash_bytes for e in estimates) / 1024,
            "dram_kib": sum(e.dram_bytes for e in estimates) / 1024,
            "target": estimates[0].target if estimates else target,
            "load_s": load_s,
            "simulated_ms": latency_ms(sess, feeds, max(3, runs // 5)),
            "cpu_reasons": sorted(
                d.get("ethos-u", "")
                for n, d in placement.declined.items()
                if placement.backend_of[n] != "ethos-u"
            ),
        }
    os.environ.pop("GOSSAMER_ETHOSU_ACCELERATOR", None)
    return out


def markdown(rows: list[dict]) -> str:
    from gossamer.npu_plugin.vela_runner import vela_version

    lines = [
        "# ethos-u delegate: NPU/CPU split, memory and estimated latency",
        "",
        f"Vela {vela_version()}; estimates are Vela's (cycles at the system config's clock); "
        "host latencies are medians measured here (a shared 2-core machine). `sim ms`: the "
        "host time of the bit-exact NPU simulation (cython kernels + reference ops), not a "
        "speed target. `cython ms`: the same int8 model on the cython backend at 1 thread, "
        "median of the timed runs; `load`: the 1-minute load average right after them "
        f"(2 cores). Load average at the end: {os.getloadavg()[0]:.1f}.",
        "",
        "| model | nodes | target | NPU / CPU nodes | partitions | NPU ops (Vela) | SRAM KiB "
        "| flash KiB | DRAM KiB | est. NPU ms | cycles | cython ms (1 thread) | load | sim ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for target in TARGETS:
            t = r[target]
            lines.append(
                f"| {r['model']} | {r['nodes']} | {t['target']} | {t['npu_nodes']} / "
                f"{t['cpu_nodes']} | {t['partitions']} | {t['npu_operators']} | "
                f"{t['sram_kib']:.1f} | {t['flash_kib']:.1f} | {t['dram_kib']:.1f} | "
                f"{t['est_ms']:.3f} | {t['cycles']} | "
                f"{r['cython_ms']:.3f} | {r.get('cython_load', float('nan')):.1f} | "
                f"{t['simulated_ms']:.2f} |"
            )
    lines += ["", "Nodes left on the CPU, by reason (Vela's words; tensor names dropped):", ""]
    for r in rows:
        for target in TARGETS:
            counts = Counter(re.sub(r"\s*\(.*\)$", "", why) for why in r[target]["cpu_reasons"])
            reasons = "; ".join(f"{why} ({n}x)" for why, n in counts.most_common()) or "none"
            lines.append(f"- {r['model']} on {target}: {reasons}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mww_okay_nabu_int8,mobilenet_v2,resnet18,"
                        "ppocr_mobile_v2_cls,mtcnn_rnet")  # fmt: skip
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "npu_delegate.md")
    args = parser.parse_args()
    rows = []
    for name in args.models.split(","):
        print(f"{name} ...", flush=True)
        try:
            rows.append(figures(name, args.runs))
        except Exception as err:  # noqa: BLE001 - one model's failure is reported, not fatal
            print(f"{name}: skipped: {type(err).__name__}: {err}", flush=True)
    text = markdown(rows)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
