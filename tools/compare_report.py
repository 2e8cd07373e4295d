"""The text and JSON reports of `gossamer compare` (tools/first_divergence.py computes them):
the header with the mismatch definition, the first divergence with its inputs and the verdict of
its replay, and the worst nodes by error / tolerance."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .tensor_diff import TensorDiff

if TYPE_CHECKING:
    from .first_divergence import Comparison, ValueDiff


def format_comparison(c: Comparison, top: int = 10) -> str:
    lines = [
        f"compare {c.model}: {c.side_a} vs {c.side_b}",
        f"mismatch: |a - b| > max(atol, rtol * median|b|) + rtol * |b|  (rtol {c.rtol:g}, "
        f"atol {c.atol:g}); NaN/inf must agree, integers exactly",
        f"compared {len(c.values)} values"
        + (f"; {len(c.skipped)} skipped (visible on one side only)" if c.skipped else "")
        + ("; -O0 compares every node" if c.skipped and " -O0 " not in c.side_a else ""),
    ]
    if c.first is None:
        worst = c.worst(1)
        tail = (
            f"; closest to tolerance: {worst[0].node} at {worst[0].diff.tol_ratio:.2g} x tolerance"
            if worst
            else ""
        )
        lines.append(f"all values agree within tolerance{tail}")
    else:
        f = c.first
        lines += [
            "",
            f"FIRST DIVERGENCE: node {f.node!r} ({f.op_type}), #{f.index} in execution order, "
            f"ran on {f.ran_on}",
            f"  output {f.value!r}: {f.type_a}"
            + ("" if f.type_a == f.type_b else f" vs {f.type_b}"),
            "  " + _metrics(f.diff),
        ]
        lines += ["  input " + n for n in c.input_notes]
        lines.append("  " + _replay_verdict(c))
        bad = sum(v.diff.diverges for v in c.values)
        lines.append(f"  {bad} of {len(c.values)} compared values diverge")
    if top > 0 and c.values:
        lines += [
            "",
            f"worst {min(top, len(c.worst(top)))} nodes by error / tolerance:",
            _table(c.worst(top)),
        ]
    if c.repro_dir:
        lines += ["", f"repro: {c.repro_dir}  ({c.repro_note})"]
    elif c.repro_note:
        lines += ["", f"repro: {c.repro_note}"]
    return "\n".join(lines)


def _replay_verdict(c: Comparison) -> str:
    """What replaying the divergent node alone on side B's inputs says about whose fault it is."""
    if c.local is None:
        return f"replayed alone on {c.side_b}'s inputs: {c.local_note or 'not replayed'}"
    d = c.local
    if d.diverges:
        how = d.problem or (
            f"error/tolerance {d.tol_ratio:.3g}, outside tolerance {d.mismatches}/{d.size}"
        )
        return (
            f"replayed alone on {c.side_b}'s inputs it still diverges ({how}): "
            "the node itself computes differently"
        )
    exact = "bit-exact" if d.max_abs == 0 and not d.nonfinite else f"{d.tol_ratio:.2g} x tolerance"
    return (
        f"replayed alone on {c.side_b}'s inputs it agrees ({exact}): the difference was carried "
        "in by its inputs (see the input lines above), not made by this node"
    )


def _metrics(d: TensorDiff) -> str:
    if d.problem:
        return f"MISMATCH: {d.problem}"
    text = (
        f"max-abs {d.max_abs:.3g}  max-rel {d.max_rel:.3g}  mean-rel {d.mean_rel:.3g}  "
        f"cosine {d.cosine:.6f}  error/tolerance {d.tol_ratio:.3g}  "
        f"outside tolerance {d.mismatches}/{d.size} "
        f"({_percent(d.mismatches, d.size)}, atol applied {d.atol_eff:.2g})"
    )
    return text + (f"  NaN/inf disagree at {d.nonfinite}" if d.nonfinite else "")


def _percent(part: int, whole: int) -> str:
    share = 100 * part / max(1, whole)
    if share == 0 or share >= 1:
        return f"{share:.0f} %"
    return f"{share:.1f} %" if share >= 0.1 else "< 0.1 %"


def _table(rows: list[ValueDiff]) -> str:
    width = max([len(r.node) for r in rows] + [4])
    ran = max([len(r.ran_on) for r in rows] + [6])
    head = (
        f"  {'#':>4}  {'node':<{width}}  {'op':<14} {'ran on':<{ran}}  {'max-abs':>9} "
        f"{'max-rel':>9} {'cosine':>9} {'err/tol':>9}  outside"
    )
    out = [head]
    for r in rows:
        d = r.diff
        mark = "!" if d.diverges else " "
        if d.problem:
            stats = f"MISMATCH: {d.problem}"
        else:
            stats = (
                f"{d.max_abs:9.3g} {d.max_rel:9.3g} {d.cosine:9.6f} {d.tol_ratio:9.3g}  "
                f"{d.mismatches}/{d.size}"
            )
        out.append(
            f"{mark} {r.index:>4}  {r.node:<{width}}  {r.op_type:<14} {r.ran_on:<{ran}}  {stats}"
        )
    return "\n".join(out)


def comparison_json(c: Comparison, top: int = 10) -> str:
    return json.dumps(c.as_dict(top), indent=1)
