"""`gossamer benchmark`: the estimate a backend gives for each compiled partition on its target
(e.g. the Ethos-U cycles Vela predicts) beside the host time measured for that partition here."""

from __future__ import annotations

from typing import Any


def estimate_table(estimates: dict[str, Any], nodes: list[Any] | None, loops: int) -> str:
    """One line per partition: its target estimate and the measured host time per run."""
    host = {n.name: n.total_s / max(n.calls, 1) for n in nodes or []}
    rows = []
    for name, estimate in estimates.items():
        info = estimate.as_dict() if hasattr(estimate, "as_dict") else dict(vars(estimate))
        measured = host.get(name)
        rows.append(
            (
                name,
                str(info.get("target", "?")),
                f"{info.get('ms', float('nan')):.4f}",
                str(info.get("cycles", "")),
                _kib(info.get("sram_bytes")),
                _kib(info.get("flash_bytes")),
                _kib(info.get("dram_bytes")),
                f"{measured * 1e3:.4f}" if measured is not None else "-",
            )
        )
    header = ("partition", "target", "est. ms", "cycles", "SRAM KiB", "flash KiB", "DRAM KiB",
              "host ms")  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["", "partition estimates (the target's time per run, from its compiler) vs host:"]
    for row in [header, *rows]:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in
                               enumerate(zip(row, widths))))  # fmt: skip
    total_est = sum(float(r[2]) for r in rows if r[2] != "nan")
    total_host = sum(float(r[7]) for r in rows if r[7] != "-")
    lines.append(f"total: estimated {total_est:.4f} ms on the target, {total_host:.4f} ms here "
                 f"(host time of the partitions, mean over {loops} run(s))")  # fmt: skip
    return "\n".join(lines)


def estimate_records(estimates: dict[str, Any], nodes: list[Any] | None) -> list[dict[str, Any]]:
    """The table as JSON records (`gossamer benchmark --json`'s "partition_estimates"): the
    backend's figures per partition (`as_dict()`), its name and the measured host ms per run."""
    host = {n.name: n.total_s / max(n.calls, 1) for n in nodes or []}
    records = []
    for name, estimate in estimates.items():
        info = estimate.as_dict() if hasattr(estimate, "as_dict") else dict(vars(estimate))
        measured = host.get(name)
        host_ms = measured * 1e3 if measured is not None else None
        records.append({"partition": name, **info, "host_ms": host_ms})
    return records


def _kib(value: Any) -> str:
    return f"{value / 1024:.1f}" if isinstance(value, int | float) else "-"
