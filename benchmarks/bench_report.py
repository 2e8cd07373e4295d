"""side_by_side.py's outputs: a markdown table of medians and ratios, the raw JSON, a PNG chart."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

PEERS = ["onnxruntime", "openvino", "mnn", "litert"]
AGREE = 1e-3  # max |diff| / max |onnxruntime| above this is flagged in the notes


def write_reports(prefix: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> list[str]:
    """Writes PREFIX.md, PREFIX.json and (with matplotlib) PREFIX.png; returns the paths."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    md, js, png = (prefix.with_suffix(s) for s in (".md", ".json", ".png"))
    md.write_text(markdown(rows, meta))
    js.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    written = [str(md), str(js)]
    if chart(rows, png):
        written.append(str(png))
    return written


def _index(rows: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, dict[str, Any]]]:
    table: dict[tuple[str, int], dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        table[(r["model"], r["threads"])][r["engine"]] = r
    return table


def _ms(row: dict[str, Any] | None) -> float | None:
    return row["median_ms"] if row and row.get("status") == "ok" else None


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    engines = [e for e in meta["engines"] if any(r["engine"] == e for r in rows)]
    ours = [e for e in engines if e.startswith("gossamer")]
    peers = [e for e in engines if e in PEERS]
    table = _index(rows)
    m = meta["machine"]
    out = [
        "# Side-by-side latency",
        "",
        f"{meta['date']}; {m['cpu']}, {m['cores']} cores; Python {m['python']}. Median of "
        f"{meta['runs']} interleaved runs after {meta['warmup']} warm-up, each engine in its own "
        f"process, {_turns(meta)}; Gossamer runs the -O{meta['opt_level']} .gsm. Single runs on a "
        "shared machine move by tens of percent: compare ratios within one run.",
    ]
    versions = {r["engine"]: r["version"] for r in rows if r.get("version")}
    out.append("Versions: " + ", ".join(f"{e} {v}" for e, v in versions.items()) + ".")
    for threads in meta["threads"]:
        keys = [k for k in table if k[1] == threads]
        out += ["", f"## {threads} thread(s): median latency (ms)", ""]
        ratio_heads = [f"{e.removeprefix('gossamer-')} / {p}" for e in ours
                       for p in ("best peer", "onnxruntime")]  # fmt: skip
        head = ["model", *engines, "best peer", *ratio_heads]
        out += ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
        for key in keys:
            cells = table[key]
            line = [key[0]] + [_cell(cells.get(e)) for e in engines]
            timed = [(ms, p) for p in peers if (ms := _ms(cells.get(p))) is not None]
            best = min(timed) if timed else None
            line.append(f"{best[1]} {best[0]:.2f}" if best else "—")
            ort = _ms(cells.get("onnxruntime"))
            for e in ours:
                mine = _ms(cells.get(e))
                for ref in (best[0] if best else None, ort):
                    line.append(f"{mine / ref:.2f}x" if mine and ref else "—")
            out.append("| " + " | ".join(line) + " |")
    out += [
        "",
        f"## Load time (+ first run) (ms) / peak RSS (MB), {max(meta['threads'])} thread(s)",
        "",
    ]
    out.append(
        "Load: model file to ready session (Gossamer: the .gsm; MNN and LiteRT: their converted "
        "file), the library import excluded; in parentheses the first run, which includes work an "
        "engine defers to it (Gossamer packs each conv's weights for the path the first input "
        "shape picks). Peak RSS of the whole worker process (Python and the "
        "engine's libraries included)." + _init_sentence(rows)
    )
    out += ["", "| model | " + " | ".join(engines) + " |", "|---" + "|---:" * len(engines) + "|"]
    for key in [k for k in table if k[1] == max(meta["threads"])]:
        cells = [table[key].get(e) for e in engines]
        out.append(f"| {key[0]} | " + " | ".join(_load_cell(c) for c in cells) + " |")
    notes = _notes(rows, meta)
    if notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def _cell(row: dict[str, Any] | None) -> str:
    if row is None or row.get("status") == "skipped":
        return "—"
    if row.get("status") != "ok":
        return "error"
    return f"{row['median_ms']:.2f}"


def _init_sentence(rows: list[dict[str, Any]]) -> str:
    """How long Gossamer's one-time plugin discovery took (counted with the import, not the load;
    kernel tables the backends' modules do not import are imported at a model's first load)."""
    ms = [r["init_ms"] for r in rows if r.get("init_ms") and r["engine"].startswith("gossamer")]
    if not ms:
        return ""
    return (
        f" Gossamer's import includes its one-time plugin discovery (entry points, the registered "
        f"backends' modules, some kernel tables among them): {min(ms):.0f}-{max(ms):.0f} ms per "
        "process, not in the load; the other kernel tables (layout, pooling, recurrent, ...) are "
        "imported per op by the first load that needs them, in its load time."
    )


def _load_cell(row: dict[str, Any] | None) -> str:
    if row is None or row.get("status") != "ok":
        return "—"
    rss = row.get("peak_rss_mb")
    first = row.get("first_run_ms")
    load = f"{row['load_ms']:.0f}" + (f" (+{first:.0f})" if first is not None else "")
    return f"{load} / {rss:.0f}" if rss else f"{load} / ?"


def _notes(rows: list[dict[str, Any]], meta: dict[str, Any]) -> list[str]:
    notes: dict[str, list[str]] = defaultdict(list)  # note -> models
    for r in rows:
        if r.get("status") in ("skipped", "error"):
            notes[f"{r['engine']} {r['status']}: {r['reason']}"].append(r["model"])
        err = r.get("max_rel_err_vs_ort")
        if err is not None and err > AGREE:
            notes[f"{r['engine']} differs from onnxruntime by {err:.1e} (max rel)"].append(
                r["model"]
            )
        if r.get("note") and r["engine"] == "litert":
            notes[f"litert inputs: {r['note']}"].append(r["model"])
    for name, m in meta.get("models", {}).items():
        for key, value in m.items():
            if value and key == "gsm_note" and not value.startswith("-O"):
                notes[f"gossamer .gsm {value}"].append(name)
    return [f"{n} ({', '.join(dict.fromkeys(models))})" for n, models in notes.items()]


def chart(rows: list[dict[str, Any]], path: Path) -> bool:
    """Grouped bars: each engine's median relative to onnxruntime, per model, one panel per
    thread count (log scale; below 1 is faster than onnxruntime)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return False
    table = _index(rows)
    threads = sorted({k[1] for k in table})
    engines = list(dict.fromkeys(r["engine"] for r in rows if r.get("status") == "ok"))
    fig, axes = plt.subplots(len(threads), 1, figsize=(12, 4 * len(threads)), squeeze=False)
    for ax, n in zip(axes[:, 0], threads):
        models = [k[0] for k in table if k[1] == n]
        width = 0.8 / max(1, len(engines))
        for i, engine in enumerate(engines):
            xs, ys = [], []
            for j, model in enumerate(models):
                mine, ort = (
                    _ms(table[(model, n)].get(engine)),
                    _ms(table[(model, n)].get("onnxruntime")),
                )
                if mine and ort:
                    xs.append(j + (i - (len(engines) - 1) / 2) * width)
                    ys.append(mine / ort)
            ax.bar(xs, ys, width, label=engine)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ticks = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x")
        ax.yaxis.set_major_formatter(ticks)
        ax.yaxis.set_minor_formatter(ticks)
        ax.set_xticks(range(len(models)), models, rotation=20, ha="right")
        ax.set_ylabel("median / onnxruntime")
        ax.set_title(f"{n} thread(s): latency relative to onnxruntime (lower is faster)")
        ax.legend(fontsize=8, ncols=3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _turns(meta: dict) -> str:
    block = meta.get("block", 0)
    if not block:
        return "one run per turn after an idle gap (thread wake-up included)"
    return f"{block} timed runs per turn after one untimed wake-up run (steady state)"
