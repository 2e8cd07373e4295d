"""The crop's size report: installed size, import and load time, cropped vs full, and what the
crop kept; written as DIR/crop_report.json and DIR/crop_report.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def format_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown (what `gossamer crop` prints and writes to crop_report.md)."""
    c, f = report["cropped"], report["full"]
    lines = [
        f"# Cropped build {report['crop_id']}",
        "",
        f"Models: {', '.join(m['name'] for m in report['models'])}",
        f"Formats: {', '.join(report['formats'])}; optimiser: "
        f"{'yes (-O' + str(report['optimize']) + ')' if report['optimizer'] else 'no'}",
        f"Ops: {report['ops']['shipped']} of {report['ops']['full']} op modules "
        f"({report['ops']['indexed']} ops indexed; the models resolve "
        f"{report['ops']['models']})",
        f"Kernel families: {', '.join(report['kernel_families']) or 'none (no cython backend)'}"
        f" of {len(report['all_kernel_families'])}",
        f"Kernel tables: {', '.join(report['kernel_tables']) or 'none'}",
        "",
        "| | cropped | full | cropped / full |",
        "|---|---:|---:|---:|",
        f"| installed size | {_mib(c['installed_bytes'])} | {_mib(f['installed_bytes'])} | "
        f"{_ratio(c['installed_bytes'], f['installed_bytes'])} |",
        f"| extension (.so{', stripped' if report.get('stripped') else ''}) | "
        f"{_mib(c['extension_bytes'])} | {_mib(f['extension_bytes'])} | "
        f"{_ratio(c['extension_bytes'], f['extension_bytes'])} |",
        f"| `import gossamer` | {c['import_s'] * 1e3:.0f} ms | {f['import_s'] * 1e3:.0f} ms | "
        f"{_ratio(c['import_s'], f['import_s'])} |",
    ]
    for i, m in enumerate(report["models"]):
        lines.append(
            f"| load {m['name']} | {c['load_s'][i] * 1e3:.0f} ms | {f['load_s'][i] * 1e3:.0f} ms"
            f" | {_ratio(c['load_s'][i], f['load_s'][i])} |"
        )
    if report["forced"]:
        lines += [
            "",
            f"Shipped although a crop leaves them out ({len(report['forced'])} modules): a shipped "
            "module imports them at its top. First few:",
        ]
        forced = report["forced"]  # the modules that pull the others in first
        first = sorted(forced.items(), key=lambda kv: (kv[1] in forced, kv[0]))
        lines += [f"- {m} (imported by {by})" for m, by in first[:5]]
    same = report["identical_outputs"]
    lines += [
        "",
        "Outputs on seeded random inputs: "
        + ("identical to the full build (bit for bit)." if same else "DIFFER from the full build."),
        f"Wheel: {report['wheel'] or 'not kept (use --wheel)'}",
        f"Source tree: {report['source']}",
        "",
        "Times: best of "
        f"{report['repeats']} fresh process(es); import and load include the first imports of "
        "numpy and the op modules. The crop runs installed alone (python -S, only it and its "
        "dependencies on the path), the full build in this environment.",
    ]
    return "\n".join(lines) + "\n"


def write_report(out: Path, report: dict[str, Any]) -> str:
    """Writes crop_report.json and crop_report.md into `out`; returns the Markdown."""
    text = format_markdown(report)
    (out / "crop_report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "crop_report.md").write_text(text)
    return text
