"""The per-layer quantisation report: per quantised node its op, bits, output range, the share of
float values the range clips, and the cosine and SQNR of its output against the float model on
the calibration data; which nodes stayed float and why; the model outputs' agreement.
Printed as a table (`format`), written as Markdown or JSON (`save`), charted (`plot`, needs
matplotlib: the `plot` extra).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...refimpl.errors import InputError

REPORT_SUFFIXES = (".md", ".json")


@dataclass
class LayerStats:
    node: str
    op: str
    bits: int
    tensor: str  # the output the statistics are of
    low: float | None = None  # the quantised output's range (None: output kept float)
    high: float | None = None
    clipped_pct: float | None = None
    cosine: float | None = None
    sqnr_db: float | None = None


@dataclass
class QuantReport:
    """What a quantisation did and how close the result stays to the float model."""

    mode: str
    settings: dict[str, Any] = field(default_factory=dict)
    layers: list[LayerStats] = field(default_factory=list)
    kept_float: dict[str, str] = field(default_factory=dict)  # node -> why it stayed float
    sixteen_bit: dict[str, str] = field(default_factory=dict)  # node -> why it got 16 bits
    outputs: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> cosine, sqnr_db
    sizes: dict[str, int] = field(default_factory=dict)  # "float", "quantized" bytes of weights
    notes: list[str] = field(default_factory=list)

    def format(self, top: int | None = None) -> str:
        """The terminal table; `top` shows only the worst rows by SQNR."""
        lines = [
            f"quantize: mode {self.mode}"
            + "".join(f", {k} {v}" for k, v in self.settings.items() if v not in (None, False))
        ]
        rows = self.layers
        if top is not None:
            rows = sorted(rows, key=lambda r: _key(r.sqnr_db))[:top]
        if rows:
            header = ("node", "op", "bits", "range", "clipped %", "cosine", "SQNR dB")
            table = [header] + [
                (
                    r.node,
                    r.op,
                    str(r.bits),
                    self._range(r),
                    _num(r.clipped_pct, ".3f"),
                    _num(r.cosine, ".5f"),
                    _num(r.sqnr_db, ".1f"),
                )
                for r in rows
            ]
            widths = [min(40, max(len(row[i]) for row in table)) for i in range(len(header))]
            for row in table:
                lines.append("  ".join(c[:40].ljust(w) for c, w in zip(row, widths)).rstrip())
        for node, why in self.sixteen_bit.items():
            lines.append(f"16-bit: {node} ({why})")
        for node, why in self.kept_float.items():
            lines.append(f"kept float: {node} ({why})")
        for name, agree in self.outputs.items():
            lines.append(
                f"output {name}: cosine {agree['cosine']:.5f}, SQNR {agree['sqnr_db']:.1f} dB"
            )
        if self.sizes:
            lines.append("weights: " + ", ".join(f"{k} {v:,} bytes" for k, v in self.sizes.items()))
        lines.extend(self.notes)
        return "\n".join(lines)

    def _range(self, r: LayerStats) -> str:
        if r.low is None:
            return "dynamic" if self.mode == "dynamic" else "float"
        return f"[{r.low:.4g}, {r.high:.4g}]"

    def to_json(self) -> dict[str, Any]:
        return _finite(asdict(self))

    def to_markdown(self) -> str:
        out = [f"# Quantisation report ({self.mode})", ""]
        if self.settings:
            out += ["| setting | value |", "|---|---|"]
            out += [f"| {k} | {v} |" for k, v in self.settings.items()]
            out.append("")
        if self.layers:
            out += [
                "| node | op | bits | range | clipped % | cosine | SQNR dB |",
                "|---|---|---|---|---|---|---|",
            ]
            for r in self.layers:
                rng = self._range(r)
                out.append(
                    f"| {r.node} | {r.op} | {r.bits} | {rng} | {_num(r.clipped_pct, '.3f')}"
                    f" | {_num(r.cosine, '.5f')} | {_num(r.sqnr_db, '.1f')} |"
                )
            out.append("")
        if self.sixteen_bit:
            out += ["## 16-bit activations and weights", ""]
            out += [f"- {n}: {w}" for n, w in self.sixteen_bit.items()]
            out.append("")
        if self.kept_float:
            out += ["## Kept float", ""] + [f"- {n}: {w}" for n, w in self.kept_float.items()]
            out.append("")
        if self.outputs:
            out += ["## Model outputs", "", "| output | cosine | SQNR dB |", "|---|---|---|"]
            out += [
                f"| {n} | {a['cosine']:.5f} | {a['sqnr_db']:.1f} |" for n, a in self.outputs.items()
            ]
            out.append("")
        out += [f"- {k} weights: {v:,} bytes" for k, v in self.sizes.items()]
        out += [f"- {n}" for n in self.notes]
        return "\n".join(out).rstrip() + "\n"

    def save(self, path: str | os.PathLike) -> None:
        """Writes the report as Markdown (.md) or JSON (.json)."""
        p = Path(path)
        check_report_path(p)
        if p.suffix.lower() == ".json":
            p.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        else:
            p.write_text(self.to_markdown())

    def plot(self, path: str | os.PathLike) -> None:
        """A chart of each layer's SQNR (bars) and cosine (line) along the graph order."""
        from .report_plot import plot_layers

        plot_layers(self, Path(path))


def check_report_path(path: str | os.PathLike) -> None:
    p = Path(path)
    if p.suffix.lower() not in REPORT_SUFFIXES:
        raise InputError(f"--report {path}: use a .md or .json file name")
    if not (p.parent if str(p.parent) else Path(".")).is_dir():
        raise InputError(f"--report {path}: folder {str(p.parent)!r} does not exist")


def _num(x: float | None, fmt: str) -> str:
    if x is None:
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(x, fmt)


def _key(x: float | None) -> float:
    return math.inf if x is None else x


def _finite(obj: Any) -> Any:
    """JSON has no infinity: an exact layer's SQNR is written as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj
