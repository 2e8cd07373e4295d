"""File size and output accuracy per bit width: what weight-only quantisation costs a model.

`weight_sweep(graph, bits=(8, 4, 2))` quantises the model at each width (quantize_weights), and
for float32, float16 and each width reports the .gsm file size and the cosine similarity of each
float output to the float model's, on the given feeds or on random ones. Models run through
`run(graph, feeds) -> outputs` (default: the reference interpreter; the CLI passes a Session).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ...refimpl.dtypes import to_numpy
from ...refimpl.interpreter import Program
from ...refimpl.ir import Graph
from ...refimpl.model_format import dump_gsm
from .fp16 import quantize_fp16
from .weight_only import WeightReport, quantize_weights

Feeds = dict[str, np.ndarray]
Runner = Callable[[Graph, Feeds], list[np.ndarray]]


@dataclass
class SweepRow:
    """One storage choice: "float32", "float16" or "N-bit" (with its quantisation report)."""

    label: str
    bits: int
    file_bytes: int
    cosine: dict[str, float] = field(default_factory=dict)  # per float output
    report: WeightReport | None = None

    @property
    def min_cosine(self) -> float:
        return min(self.cosine.values(), default=1.0)


def weight_sweep(
    graph: Graph, bits: Sequence[int] = (8, 4, 2), *, per_channel: bool = True,
    group_size: int = 0, symmetric: bool = True, feeds: Sequence[Feeds] | None = None,
    samples: int = 2, seed: int = 0, shapes: dict[str, tuple[int, ...]] | None = None,
    run: Runner | None = None,
) -> list[SweepRow]:  # fmt: skip
    """Rows for float32, float16 and each bit width, in that order."""
    run = run or run_reference
    feeds = list(feeds) if feeds is not None else random_feeds(graph, samples, seed, shapes)
    reference = [run(graph, f) for f in feeds]
    rows = [SweepRow("float32", 32, len(dump_gsm(graph)))]
    rows[0].cosine = output_cosines(graph, reference, reference)
    half = quantize_fp16(graph)
    rows.append(SweepRow("float16", 16, len(dump_gsm(half))))
    rows[-1].cosine = output_cosines(graph, reference, [run(half, f) for f in feeds])
    for n in bits:
        quantized, report = quantize_weights(
            graph, bits=n, per_channel=per_channel, group_size=group_size, symmetric=symmetric
        )
        row = SweepRow(f"{n}-bit", n, len(dump_gsm(quantized)), report=report)
        row.cosine = output_cosines(graph, reference, [run(quantized, f) for f in feeds])
        rows.append(row)
    return rows


def format_sweep(rows: list[SweepRow]) -> str:
    """A Markdown table: storage, file size, ratio to float32, weight SQNR, worst output cosine."""
    base = rows[0].file_bytes if rows else 1
    lines = ["| weights | file bytes | vs float32 | weight SQNR dB | output cosine |",
             "|---|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        sqnr = "" if r.report is None else f"{r.report.sqnr_db:.1f}"
        lines.append(
            f"| {r.label} | {r.file_bytes:,} | {r.file_bytes / base:.3f} | {sqnr} | "
            f"{r.min_cosine:.6f} |"
        )
    return "\n".join(lines)


def run_reference(graph: Graph, feeds: Feeds) -> list[np.ndarray]:
    env = Program(graph).run(feeds)
    return [np.asarray(env[v.name]) for v in graph.outputs]


def random_feeds(
    graph: Graph, samples: int = 2, seed: int = 0, shapes: dict[str, tuple[int, ...]] | None = None
) -> list[Feeds]:
    """Random feeds for the graph's inputs: floats standard normal, integers 0/1 (safe as token
    ids and masks), booleans random; symbolic dimensions 1 unless `shapes` says otherwise."""
    rng = np.random.default_rng(seed)
    result = []
    for _ in range(samples):
        feeds: Feeds = {}
        for v in graph.inputs:
            if v.name in graph.initializers:
                continue
            shape = (shapes or {}).get(v.name) or tuple(
                d if isinstance(d, int) else 1 for d in (v.shape or ())
            )
            dtype = to_numpy(v.dtype or "float32")
            if dtype.kind == "f":
                feeds[v.name] = rng.standard_normal(shape).astype(dtype)
            elif dtype.kind == "b":
                feeds[v.name] = rng.integers(0, 2, shape).astype(bool)
            else:
                feeds[v.name] = rng.integers(0, 2, shape).astype(dtype)
        result.append(feeds)
    return result


def output_cosines(
    graph: Graph, reference: list[list[np.ndarray]], got: list[list[np.ndarray]]
) -> dict[str, float]:
    result = {}
    for k, v in enumerate(graph.outputs):
        if not all(np.asarray(r[k]).dtype.kind == "f" for r in reference):
            continue
        a = np.concatenate([np.asarray(r[k], np.float64).reshape(-1) for r in reference])
        b = np.concatenate([np.asarray(g[k], np.float64).reshape(-1) for g in got])
        result[v.name] = cosine(a, b)
    return result


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two arrays (1.0 when both are zero, NaN when not finite)."""
    a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    value = float(a @ b) / (na * nb)
    return value if math.isfinite(value) else math.nan
